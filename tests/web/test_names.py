"""People, not logins: on the demo shop, every page that names someone (an appraisal's
history, the what-if, HR's overdue list and appeal desk, the team board) shows their name;
no bare login (``hr``, ``sup1``) is left in the text a person reads."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kaohe.demo import write_inputs
from kaohe.store.db import Database
from kaohe.store.models import AuditEvent, Cycle
from kaohe.web.app import create_app
from kaohe.workflow.demo_load import DEMO_PASSWORD, STAFF, load_demo

from .test_access import login
from .test_journeys import token

#: the staff logins of the demo and the names the pages must show instead
LOGINS = {login: name for login, (name, _mobile) in STAFF.items()}
BARE = re.compile(r"(?<![\w.@/-])(" + "|".join(map(re.escape, [*LOGINS, "demo-loader"]))
                  + r")(?![\w.@/-])")

#: an agent shown by name beside the id, in either order (王芳 KF001, 王芳（KF001）)
NAMED = re.compile(r"KF\d{3}\s+[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{2,4}\s*[（(]?\s*KF\d{3}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    folder = tmp_path_factory.mktemp("names")
    db = Database(f"sqlite:///{folder / 'demo.db'}")
    load_demo(db, write_inputs(folder / "inputs.csv"), folder / "work")
    yield db
    db.dispose()


def text_of(page: str) -> str:
    """What a person reads: the main part, without tags, scripts or attributes."""
    main = page.split("<main>", 1)[-1].split("</main>", 1)[0]
    main = re.sub(r"<(script|style)\b.*?</\1>", " ", main, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", main))


def no_bare_logins(page: str, where: str) -> None:
    found = BARE.findall(text_of(page))
    assert not found, f"{where}: logins shown instead of names: {sorted(set(found))}"


def client(db: Database, user: str) -> TestClient:
    c = TestClient(create_app(db, secret="names"))
    c.__enter__()
    login(c, user, DEMO_PASSWORD)
    return c


def test_history_names_the_people_who_acted(demo: Database) -> None:
    with demo.read() as s:
        rated = s.scalar(select(AuditEvent.target_id).where(
            AuditEvent.action == "rating.saved",
            AuditEvent.actor["username"].as_string() == "sup1").order_by(AuditEvent.seq.desc()))
    assert rated is not None
    for user in ("hr", "sup1", "manager"):
        c = client(demo, user)
        page = c.get(f"/appraisals/{rated}").text
        history = text_of(page.split('id="history"', 1)[1])
        assert LOGINS["hr"] in history and LOGINS["sup1"] in history, user
        no_bare_logins(page, f"appraisal {rated} as {user}")


def test_what_if_lists_names(demo: Database) -> None:
    with demo.read() as s:
        cid = s.scalar(select(Cycle.id).where(Cycle.state == "published")
                       .order_by(Cycle.period.desc()))
    preset = Path(__file__).resolve().parents[2] / "src/kaohe/presets/taobao-presales.yaml"
    edited = preset.read_text("utf-8").replace('"[90%,100%)": 85', '"[90%,100%)": 60', 1)
    c = client(demo, "hr")
    r = c.post(f"/hr/cycles/{cid}/what-if", headers={"HX-Request": "true"},
               data={"csrf": token(c, "/hr/cycles"), "content": edited})
    assert r.status_code == 200
    rows = re.findall(r"<tr><td>(.*?)</td>", r.text)
    assert rows, r.text[:500]
    for cell in rows:  # 王小明 <small>KF001</small>: the name, then the id
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4} <small class=\"muted\">KF\d{3}</small>",
                            cell), cell


def test_hr_pages_and_the_team_board_name_people(demo: Database) -> None:
    with demo.read() as s:
        cids = list(s.scalars(select(Cycle.id)))
    hr = client(demo, "hr")
    for path in ("/hr/cycles", "/hr/appeals", "/team", *(f"/hr/cycles/{c}" for c in cids),
                 f"/hr/cycles/{cids[-1]}/scheme"):
        page = hr.get(path).text
        no_bare_logins(page, path)
    appeals = text_of(hr.get("/hr/appeals").text)
    assert NAMED.search(appeals)
    console = hr.get("/hr/cycles").text
    if 'id="overdue"' in console or "逾期" in console:
        lines = re.findall(r'<a href="/appraisals/\d+">([^<]*)<small', console)
        assert all(re.search(r"[\u4e00-\u9fff]", x) for x in lines), lines
    sup = client(demo, "sup1")
    board = sup.get("/team").text
    no_bare_logins(board, "/team as sup1")
    assert NAMED.search(text_of(board))
