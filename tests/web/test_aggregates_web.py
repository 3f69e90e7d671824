"""Quarter and year results on the web (rulebook 4.12 foreign-trade, three months of one
team): the agent sees their quarter and year on /me and the scorecard once the month is
published; HR, managers and supervisors see each team's quarter awards and year outcomes;
HR uploads the late-payments item table with a preview like the input sheet. Ends with the
same views in Chromium."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kaohe.store.db import Database
from kaohe.store.models import Appraisal, Employee, User
from kaohe.web.app import create_app
from kaohe.workflow import cycles, items, org
from kaohe.workflow.passwords import hash_password

from ..store.factories import ADMIN, write_org
from ..store.test_aggregates import _deals, _ft_sheet, _publish
from .test_access import login
from .test_journeys import token

PERIODS = ("2026-10", "2026-11", "2026-12")


def _build(db: Database, tmp: Path) -> dict[str, int]:
    """Four sales staff in 一组 (E004 broke the rules every month), two in 二组, and their
    logins; the quarter's three foreign-trade cycles with their inputs, not yet scored."""
    with db.transaction() as s:
        org.import_employees(s, path=write_org(tmp / "org.csv", 4, teams=("一组",)), actor=ADMIN)
        org.create_user(s, username="hr", roles=["hr"], actor=ADMIN)
        org.create_user(s, username="boss", roles=["manager"], actor=ADMIN)
        org.create_user(s, username="sup1", roles=["supervisor"], actor=ADMIN, teams=["一组"])
        for i in range(1, 5):
            org.create_user(s, username=f"e{i}", roles=["agent"], actor=ADMIN,
                            employee_code=f"E{i:03d}")
        for u in s.scalars(select(User)):
            u.password_hash = hash_password("pw")
    ids = {}
    for period in PERIODS:
        with db.transaction() as s:
            cid = cycles.open_cycle(s, scheme_ref="foreign-trade", period=period,
                                    actor=ADMIN).id
            cycles.import_inputs(s, cycle_id=cid, path=_ft_sheet(tmp / f"{period}.csv", period),
                                 actor=ADMIN)
        ids[period] = cid
    return ids


def _score(db: Database, ids: dict[str, int]) -> None:
    for cid in ids.values():
        with db.transaction() as s:
            cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)


def _appraisal(db: Database, cid: int, code: str) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(Appraisal.id).join(Employee).where(
            Appraisal.cycle_id == cid, Employee.code == code)) or 0)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _upload(hr: TestClient, cid: int, data: bytes) -> Any:
    page = f"/hr/cycles/{cid}/items"
    return hr.post(f"{page}/late_payments", data={"csrf": token(hr, page)},
                   files={"file": ("逾期.csv", data, "text/csv")})


def test_hr_uploads_the_item_table_with_a_preview(db: Database, tmp_path: Path) -> None:
    ids = _build(db, tmp_path)
    dec = ids["2026-12"]
    bad = _deals(tmp_path / "bad.csv", [["E001", "2026-12", "A", "100000", "16", "920"],
                                        ["E999", "2026-12", "B", "80000", "60", "100"]])
    good = _deals(tmp_path / "good.csv", [["E001", "2026-12", "A", "100000", "16", "920"],
                                          ["E001", "2026-12", "B", "80000", "60", "100"]])
    with TestClient(create_app(db, secret="s")) as hr:
        login(hr, "hr")
        assert f"/hr/cycles/{dec}/items" in hr.get(f"/hr/cycles/{dec}").text
        page = hr.get(f"/hr/cycles/{dec}/items").text
        assert "逾期未回款" in page and "未回款金额" in page and "已存 0 行。" in page
        r = _upload(hr, dec, bad.read_bytes())
        assert r.status_code == 422
        rows = re.findall(r'<td class="num" data-label="行">(\d+)</td><td data-label="列">'
                          r'([^<]*)</td><td data-label="值">([^<]*)</td>', r.text)
        assert rows == [("3", "工号", "E999")]
        assert "员工 &#39;E999&#39; 在 2026-12 周期没有考核单" in r.text
        assert "导入这些数据" not in r.text
        r = _upload(hr, dec, good.read_bytes())
        assert r.status_code == 200 and "全部 2 行校验通过，可以导入。" in r.text
        m = re.search(r'name="token" value="([^"]+)"', r.text)
        assert m
        r = hr.post(f"/hr/cycles/{dec}/items/late_payments/confirm",
                    data={"csrf": token(hr, f"/hr/cycles/{dec}/items"), "token": m.group(1)},
                    follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, f"/hr/cycles/{dec}/items")
        assert "已存 2 行。" in hr.get(f"/hr/cycles/{dec}/items").text
        # the same token twice imports nothing
        assert hr.post(f"/hr/cycles/{dec}/items/late_payments/confirm",
                       data={"csrf": token(hr, "/hr/cycles"), "token": m.group(1)}
                       ).status_code == 404
        assert _upload(hr, dec, good.read_bytes()).status_code == 200  # not a table: 404 below
        r = hr.post(f"/hr/cycles/{dec}/items/deals", data={"csrf": token(hr, "/hr/cycles")},
                    files={"file": ("d.csv", good.read_bytes(), "text/csv")})
        assert r.status_code == 404
    with db.transaction() as s:
        assert items.item_counts(s, cycle_id=dec) == {"late_payments": 2}


def test_agent_sees_their_quarter_and_year_once_published(db: Database,
                                                          tmp_path: Path) -> None:
    ids = _build(db, tmp_path)
    _score(db, ids)
    with TestClient(create_app(db, secret="s")) as agent:
        login(agent, "e1")
        assert 'id="aggregates"' not in agent.get("/me").text  # nothing published yet
        aid = _appraisal(db, ids["2026-12"], "E001")
        assert 'id="aggregates"' not in agent.get(f"/appraisals/{aid}").text
    _publish(db, ids["2026-12"])
    with TestClient(create_app(db, secret="s")) as agent:
        login(agent, "e1")
        me = _text(agent.get("/me").text)
        # the quarter: mean 84.50, second of three assessed → 1500; the year: 2000
        assert ("2026-Q4 季度个人奖 · 已结束 84.50 - 2 3 quarter_award ¥1,500.00 - -" in me), me
        assert "2026 年度个人奖 · 已结束 84.50 - 2 3 annual_award ¥2,000.00 年度风险保证金 2484 -" in me
        assert "北京时间" in me
        card = _text(agent.get(f"/appraisals/{aid}").text)
        assert "quarter_award ¥1,500.00" in card and "annual_award ¥2,000.00" in card
        # a month's scorecard shows the quarter as of that month (October is not published)
        assert agent.get("/team/results").status_code == 404
        en = _text(agent.get("/me?lang=en").text)
        assert "Quarter and year" in en and "Months counted" in en and "final" in en
        assert "Risk reserve held in the year 2484" in en


def test_hr_and_supervisors_see_each_teams_awards(db: Database, tmp_path: Path) -> None:
    ids = _build(db, tmp_path)
    _score(db, ids)
    for user in ("hr", "boss", "sup1"):
        with TestClient(create_app(db, secret="s")) as client:
            login(client, user)
            html = _text(client.get("/team/results?period=2026-12").text)
            # 2000 + 1500 + 800 for the quarter; 3000 + 2000 + 1000 for the year
            assert ("季度个人奖 2026-Q4 · 一组 已结束 奖励: quarter_award ¥4,300.00 (随 2026-12 "
                    "发放)") in html, html
            assert "年度个人奖 2026 · 一组 已结束 奖励: annual_award ¥6,000.00" in html
            assert html.index("2026-Q4 · 一组") < html.index("2026 · 一组")  # quarter first
            assert "1 E002 员工2 95.00 - 3 quarter_award ¥2,000.00" in html
            assert "E004" not in html  # excluded every month: no quarter, no year
            nov = _text(client.get("/team/results?period=2026-11").text)
            assert "截至 2026-11" in nov and "2 E001 员工1 84.50 - 2" in nov
    with TestClient(create_app(db, secret="s")) as hr:
        login(hr, "hr")
        assert "/team/results?period=2026-12" in hr.get("/team?period=2026-12").text


# -- the same in Chromium ------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
OUT = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.fixture
def served(db: Database, tmp_path: Path) -> Iterator[str]:
    import socket

    import uvicorn

    ids = _build(db, tmp_path)
    with db.transaction() as s:
        items.import_items(s, cycle_id=ids["2026-12"], table="late_payments", actor=ADMIN,
                           path=_deals(tmp_path / "d.csv",
                                       [["E001", "2026-12", "A", "100000", "16", "920"]]))
    _score(db, ids)
    _publish(db, ids["2026-12"])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    srv = uvicorn.Server(uvicorn.Config(create_app(db, secret="browser-test"), host="127.0.0.1",
                                        port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.mark.skipif(not Path(CHROMIUM).exists() or shutil.which("true") is None,
                    reason="Debian's chromium is not installed")
def test_year_and_quarter_awards_in_the_browser(served: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.goto(f"{served}/login")
            page.fill("input[name=username]", "e1")
            page.fill("input[name=password]", "pw")
            page.click("button[type=submit]")
            page.goto(f"{served}/me")
            year = page.locator('#aggregates tr[data-period="2026"]')
            expect(year).to_contain_text("annual_award ¥2,000.00")
            expect(year).to_contain_text("84.50")
            expect(year).to_contain_text("年度风险保证金 2484")
            expect(page.locator('#aggregates tr[data-period="2026-Q4"]')).to_contain_text(
                "quarter_award ¥1,500.00")
            OUT.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUT / "agent-year.png"), full_page=True)
            hr = browser.new_page()
            hr.goto(f"{served}/login")
            hr.fill("input[name=username]", "hr")
            hr.fill("input[name=password]", "pw")
            hr.click("button[type=submit]")
            hr.goto(f"{served}/team")
            hr.get_by_role("link", name="季度奖励与年度结果").click()
            quarter = hr.locator('section[data-period="2026-Q4"][data-team="一组"]')
            expect(quarter).to_contain_text("quarter_award ¥4,300.00")
            expect(quarter.locator("tbody tr").first).to_contain_text("E002")
            hr.screenshot(path=str(OUT / "hr-quarter-awards.png"), full_page=True)
        finally:
            browser.close()
