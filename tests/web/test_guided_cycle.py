"""The guided cycle on HR's console (HTTP, forms and CSRF tokens): progress per team and
step with deadlines, the pre-check of missing inputs before scoring (by name, 工号 and
team, in Chinese, with links), and the confirmation every bulk or final move asks for,
with the number of people it moves, and the undo of the last bulk move."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kaohe.store.db import Database
from kaohe.store.models import Appraisal, AppraisalState, AuditEvent, Cycle, Result
from kaohe.web.app import create_app
from kaohe.workflow import cycles

from ..store.factories import ADMIN, input_row, write_inputs
from .test_access import login, shop  # noqa: F401 - the fixture is shared
from .test_browser import CHROMIUM, _go, _login, _shot, browser, expect, server  # noqa: F401


def token(client: TestClient, path: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert m, path
    return m.group(1)


def november(db: Database, tmp: Path, blanks: dict[int, int]) -> int:
    """A November cycle whose sheet leaves column ``blanks[row]`` of some rows empty."""
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-11",
                                actor=ADMIN).id
    rows = [input_row(f"E{i:03d}", "2026-11") for i in range(1, 7)]
    for row, col in blanks.items():
        rows[row][col] = ""
    with db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=write_inputs(tmp / "nov.csv", rows),
                             actor=ADMIN)
    return cid


def states_of(db: Database, cid: int) -> list[str]:
    with db.read() as s:
        return sorted(st.value for st in s.scalars(
            select(Appraisal.state).where(Appraisal.cycle_id == cid)))


def test_score_now_lists_every_missing_input_by_person_instead_of_a_row_number(
        shop: Database, tmp_path: Path) -> None:  # noqa: F811
    # E002 (二组) has no 执行力, E004 (二组) no 差评数
    cid = november(shop, tmp_path, {1: 10, 3: 12})
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        page = hr.get(f"/hr/cycles/{cid}/precheck").text
        assert "评分被拒绝：缺少 2 项必填输入" in page
        assert "员工2" in page and "E002" in page and "执行力" in page
        assert "员工4" in page and "E004" in page and "差评数" in page
        assert "二组" in page and "row" not in page.lower().replace("rows", "")
        with shop.read() as s:
            a2 = s.scalar(select(Appraisal.id).where(Appraisal.cycle_id == cid,
                                                     Appraisal.employee_id == 2))
        assert f'href="/appraisals/{a2}#rating"' in page  # 执行力 is the supervisor's
        # the button posts anyway (an old page): refused with the same list, nothing scored
        r = hr.post(f"/hr/cycles/{cid}/step/score", data={"csrf": token(hr, page_url(cid))})
        assert r.status_code == 409 and "员工2" in r.text and "E004" in r.text
        assert "the value is missing" not in r.text and "缺少" in r.text
        with shop.read() as s:
            assert not s.scalar(select(Result.id).join(Appraisal).where(
                Appraisal.cycle_id == cid))
        # the console says how many are missing per team, and sends HR to the list
        console = hr.get(page_url(cid)).text
        assert "缺少 2 项必填输入" in console and f"/hr/cycles/{cid}/precheck" in console


def page_url(cid: int) -> str:
    return f"/hr/cycles/{cid}"


def test_complete_inputs_are_scored_from_the_precheck_page(
        shop: Database, tmp_path: Path) -> None:  # noqa: F811
    cid = november(shop, tmp_path, {})
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        page = hr.get(f"/hr/cycles/{cid}/precheck").text
        assert "6 人可以评分" in page
        r = hr.post(f"/hr/cycles/{cid}/step/score",
                    data={"csrf": token(hr, f"/hr/cycles/{cid}/precheck")},
                    follow_redirects=False)
        assert r.status_code == 303
    with shop.read() as s:
        assert s.scalar(select(Cycle.state).where(Cycle.id == cid)).value == "reviewing"


def test_progress_per_team_and_step_with_working_day_deadlines(
        shop: Database, tmp_path: Path) -> None:  # noqa: F811
    cid = november(shop, tmp_path, {})
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        html = hr.get(page_url(cid)).text
    progress = html[html.index('id="progress"'):html.index("</table>", html.index(
        'id="progress"'))]
    for head in ("自评", "主管", "经理复核", "HR 审批", "已发布", "已确认", "申诉"):
        assert head in progress, head
    assert "一组" in progress and "二组" in progress
    assert re.search(r"个工作日", progress)  # deadlines in working days
    # the next step names what to do: 6 people are in self-review
    nxt = html[html.index('id="next-step"'):html.index("</section>")]
    assert "6 人仍在自评" in nxt and f"/hr/cycles/{cid}/confirm/submit_self_review" in nxt


def test_bulk_moves_ask_first_with_the_count_and_can_be_undone(
        shop: Database, tmp_path: Path) -> None:  # noqa: F811
    cid = november(shop, tmp_path, {})
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        # a post without the confirmation moves nobody: it leads to the confirmation
        r = hr.post(f"/hr/cycles/{cid}/step/submit_self_review",
                    data={"csrf": token(hr, page_url(cid))}, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == f"/hr/cycles/{cid}/confirm/submit_self_review"
        assert states_of(shop, cid) == ["self_review"] * 6
        confirm = hr.get(r.headers["location"]).text
        assert "将移动 6 人" in confirm and "自评中 → 主管评分中" in confirm
        assert "一组" in confirm and "二组" in confirm
        r = hr.post(f"/hr/cycles/{cid}/step/submit_self_review",
                    data={"csrf": token(hr, r.headers["location"]), "confirm": "yes"},
                    follow_redirects=False)
        assert r.status_code == 303
        assert states_of(shop, cid) == ["supervisor_review"] * 6
        # the console offers the undo of exactly that move
        console = hr.get(page_url(cid)).text
        assert "撤销“结束自评”（6 人）" in console
        with shop.read() as s:
            event = s.scalar(select(AuditEvent.id).where(
                AuditEvent.action == "cycle.bulk_submit_self_review"))
        page = f"/hr/cycles/{cid}/confirm/undo?event={event}"
        assert "将移动 6 人" in hr.get(page).text
        r = hr.post(f"/hr/cycles/{cid}/undo/{event}", data={"csrf": token(hr, page),
                                                            "confirm": "yes"},
                    follow_redirects=False)
        assert r.status_code == 303
        assert states_of(shop, cid) == ["self_review"] * 6
        # undone once: not offered again, and a replay is refused
        assert "撤销“结束自评”" not in hr.get(page_url(cid)).text
        r = hr.post(f"/hr/cycles/{cid}/undo/{event}", data={"csrf": token(hr, page_url(cid)),
                                                            "confirm": "yes"})
        assert r.status_code == 409
    with shop.read() as s:
        undo = s.scalar(select(AuditEvent).where(AuditEvent.action == "cycle.bulk_undo"))
        assert undo is not None and undo.details["appraisals"] == 6
        assert undo.actor["username"] == "hr"


def test_publish_asks_first_and_there_is_no_step_back_after_it(shop: Database) -> None:  # noqa: F811
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        for step in ("submit_self_review", "submit_supervisor_review",
                     "approve_second_review", "approve"):
            r = hr.post(f"/hr/cycles/1/step/{step}",
                        data={"csrf": token(hr, "/hr/cycles/1"), "confirm": "yes"},
                        follow_redirects=False)
            assert r.status_code == 303, step
        html = hr.get("/hr/cycles/1").text
        assert "/hr/cycles/1/confirm/unapprove" in html  # approved: the approval can go back
        confirm = hr.get("/hr/cycles/1/confirm/publish").text
        assert "将移动 6 人" in confirm and "已发布" in confirm
        r = hr.post("/hr/cycles/1/step/publish", data={"csrf": token(hr, "/hr/cycles/1"),
                                                       "confirm": "yes"},
                    follow_redirects=False)
        assert r.status_code == 303
        html = hr.get("/hr/cycles/1").text
        assert "confirm/unapprove" not in html and "confirm/undo" not in html
        assert "confirm/reopen" not in html
        assert hr.get("/hr/cycles/1/confirm/unapprove").status_code == 409
    with shop.read() as s:
        assert set(s.scalars(select(Appraisal.state))) == {AppraisalState.published}


# -- in a real browser (Debian's Chromium), with and without JavaScript --------------------


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_guided_cycle_in_the_browser(server: str, browser: Any, shop: Database,  # noqa: F811
                                     tmp_path: Path) -> None:
    cid = november(shop, tmp_path, {1: 10})  # E002 (二组) has no 执行力
    with shop.read() as s:
        a2 = s.scalar(select(Appraisal.id).where(Appraisal.cycle_id == cid,
                                                 Appraisal.employee_id == 2))
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    _login(page, server, "hr")
    page.goto(f"{server}/hr/cycles/{cid}")
    expect(page.locator("#next-step")).to_contain_text("6 人仍在自评")
    expect(page.locator("#next-step")).to_contain_text("缺少 1 项必填输入")
    progress = page.locator("table.progress")
    expect(progress).to_contain_text("二组")
    expect(progress).to_contain_text("个工作日")
    _shot(page, "hr-cycle-progress")
    # 立即评分 leads to the pre-check: who is missing what, with a link to rate it
    _go(page, page.locator("a:text-is('立即评分')"))
    main = page.locator("main")
    expect(main).to_contain_text("评分被拒绝：缺少 1 项必填输入")
    row = page.locator("table.missing tr", has_text="E002")
    expect(row).to_contain_text("员工2")
    expect(row).to_contain_text("执行力")
    expect(row).to_contain_text("主管")
    assert page.locator("button:text-matches('^立即评分')").count() == 0  # refused, no button
    _shot(page, "hr-precheck-missing")
    _go(page, row.locator("a:text-is('去评分')"))
    assert page.url.endswith(f"/appraisals/{a2}#rating")
    ctx.close()
    # the confirmations work without JavaScript: a page with the count, then the move
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    _login(page, server, "hr")
    page.goto(f"{server}/hr/cycles/{cid}")
    _go(page, page.locator("#next-step button"))
    expect(page.locator("main")).to_contain_text("将移动 6 人")
    expect(page.locator("main")).to_contain_text("自评中 → 主管评分中")
    _shot(page, "hr-confirm-bulk-move")
    _go(page, page.locator("button:text-matches('^确认：')"))
    expect(page.locator(".flash")).to_contain_text("6")
    assert states_of(shop, cid) == ["supervisor_review"] * 6
    # and the undo of exactly that move, asked for in the same way
    _go(page, page.locator("button:text-matches('^撤销“结束自评”')"))
    expect(page.locator("main")).to_contain_text("将移动 6 人")
    _go(page, page.locator("button:text-matches('^确认：')"))
    expect(page.locator(".flash")).to_contain_text("已撤销：6 人已退回")
    assert states_of(shop, cid) == ["self_review"] * 6
    _shot(page, "hr-bulk-move-undone")
    ctx.close()
