"""The web app's access rules: login with CSRF, throttling, and row-level visibility on every
page and API route (a record you may not see is a 404), for every role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kaohe.store.db import Database
from kaohe.store.models import Appraisal, Employee
from kaohe.web.app import create_app
from kaohe.workflow import cycles

from ..store.factories import ADMIN, input_row, setup_org, write_inputs

# setup_org: E001..E006 alternate teams 一组/二组; sup1 and sup2 look after 一组;
# users hr (password pw), boss (manager), e1..e6 (agents, no password) — passwords added below


@pytest.fixture
def shop(db: Database, tmp_path: Path) -> Database:
    from kaohe.store.models import User
    from kaohe.workflow.passwords import hash_password

    setup_org(db, tmp_path)
    with db.transaction() as s:
        for u in s.scalars(select(User)):
            u.password_hash = hash_password("pw")
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-10",
                                actor=ADMIN).id
    rows = [input_row(f"E{i:03d}", "2026-10") for i in range(1, 7)]
    with db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=write_inputs(tmp_path / "i.csv", rows),
                             actor=ADMIN)
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
    return db


def publish(db: Database) -> None:
    """Move the shop's cycle through the reviews and publish it (the agent sees their
    result only from here)."""
    with db.transaction() as s:
        for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=1, trigger=step, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=1, trigger="approve", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=1, trigger="publish", actor=ADMIN)


@pytest.fixture
def app_client(shop: Database) -> Iterator[TestClient]:
    with TestClient(create_app(shop, secret="test-secret")) as client:
        yield client


def ids(db: Database) -> dict[str, int]:
    with db.transaction() as s:
        rows = s.execute(select(Employee.code, Appraisal.id).join(Appraisal)).all()
        return {str(code): int(aid) for code, aid in rows}


def login(client: TestClient, user: str, password: str = "pw") -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    r = client.post("/login", data={"username": user, "password": password,
                                    "csrf": token.group(1)}, follow_redirects=False)
    assert r.status_code == 303, r.text


def test_login_requires_csrf_and_sets_a_safe_cookie(app_client: TestClient) -> None:
    r = app_client.post("/login", data={"username": "hr", "password": "pw"})
    assert r.status_code == 403
    page = app_client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = app_client.post("/login", data={"username": "hr", "password": "pw", "csrf": token},
                        follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_login_is_throttled(app_client: TestClient) -> None:
    for _ in range(5):
        page = app_client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = app_client.post("/login", data={"username": "hr", "password": "no", "csrf": token})
        assert r.status_code == 400
    page = app_client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = app_client.post("/login", data={"username": "hr", "password": "pw", "csrf": token})
    assert r.status_code == 429


ROLE_SEES = {
    # user: (own appraisal code or None, codes they may see)
    "e1": {"E001"},
    "sup1": {"E001", "E003", "E005"},
    "boss": {f"E00{i}" for i in range(1, 7)},
    "hr": {f"E00{i}" for i in range(1, 7)},
}


@pytest.mark.parametrize("user", sorted(ROLE_SEES))
def test_role_route_matrix(shop: Database, app_client: TestClient, user: str) -> None:
    appraisal = ids(shop)
    assert app_client.get("/me", follow_redirects=False).status_code == 303  # not logged in
    assert app_client.get("/api/appraisals").status_code == 401
    login(app_client, user)
    assert app_client.get("/me").status_code == 200
    assert app_client.get("/team").status_code == (404 if user == "e1" else 200)
    listed = {r["code"] for r in app_client.get("/api/appraisals").json()}
    assert listed == ROLE_SEES[user]
    for code, aid in appraisal.items():
        want = 200 if code in ROLE_SEES[user] else 404
        assert app_client.get(f"/appraisals/{aid}").status_code == want, (user, code)
        assert app_client.get(f"/api/appraisals/{aid}").status_code == want, (user, code)
    assert app_client.get("/api/appraisals/999999").status_code == 404


def test_scorecard_shows_points_reasons_and_english(shop: Database,
                                                     app_client: TestClient) -> None:
    login(app_client, "e1")
    aid = ids(shop)["E001"]
    assert "90.00" not in app_client.get(f"/appraisals/{aid}").text  # not published yet
    publish(shop)
    page = app_client.get(f"/appraisals/{aid}")
    assert "90.00" in page.text and "× 权重 30%" in page.text and "总分" in page.text
    assert "成交额完成度：实际销售额" in page.text and "sales / sales_target" not in page.text
    page = app_client.get(f"/appraisals/{aid}?lang=en")
    assert "Total" in page.text and "Sales completion: Sales " in page.text
    assert app_client.get("/me").text.count("Total") >= 1  # the choice is remembered
    doc = app_client.get(f"/api/appraisals/{aid}").json()
    assert doc["result"]["total"] == 90 and doc["employee"] == "E001"


def test_logout_needs_csrf(app_client: TestClient) -> None:
    login(app_client, "hr")
    assert app_client.post("/logout").status_code == 403
    assert app_client.get("/api/me").json()["username"] == "hr"


def test_cookie_is_secure_over_https_and_pages_carry_a_strict_policy(shop: Database) -> None:
    with TestClient(create_app(shop, secret="s", https=True),
                    base_url="https://testserver") as client:
        page = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = client.post("/login", data={"username": "hr", "password": "pw", "csrf": token},
                        follow_redirects=False)
        assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"  # personal results stay unstored
        assert "no-store" not in client.get("/static/kaohe.css").headers.get("cache-control", "")
    with TestClient(create_app(shop, secret="s")) as client:
        assert "secure" not in client.get("/login").headers.get("set-cookie", "").lower()
