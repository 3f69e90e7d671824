"""The rating grid: a team × the inputs its supervisor rates, saved cell by cell through the
rating service; 未评分 counts on the team board and the HR console."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kaohe.store.db import Database
from kaohe.store.models import Rating
from kaohe.web.app import create_app
from kaohe.workflow import cycles
from kaohe.workflow.audit import Actor

from .test_access import ids, login, shop  # noqa: F401 - the fixture is shared
from .test_browser import _login, _shot, browser, expect, server  # noqa: F401 - fixtures shared

ADMIN = Actor("admin", ("admin",))
TEAM = "一组"  # E001, E003, E005: sup1's team


def to_supervisor_review(db: Database) -> None:
    with db.transaction() as s:
        cycles.advance_all(s, cycle_id=1, trigger="submit_self_review", actor=ADMIN)


def cell_save(client: TestClient, aid: int, value: str, version: int = 0) -> tuple[int, str]:
    page = client.get("/cycles/1/grid").text
    token = re.search(r'data-csrf="([^"]+)"', page)
    assert token
    r = client.post(f"/cycles/1/grid/rate/{aid}", data={
        "csrf": token.group(1), "input_id": "execution",
        "role": "supervisor", "value": value, "version": str(version)},
        headers={"HX-Request": "true"})
    return r.status_code, r.text


def test_grid_rows_are_the_team_and_cells_editable_only_in_supervisor_review(
        shop: Database) -> None:  # noqa: F811
    a = ids(shop)
    with TestClient(create_app(shop, secret="s")) as sup:
        login(sup, "sup1")
        html = sup.get("/cycles/1/grid").text
        rows = re.findall(r'<tr data-app="(\d+)">', html)
        assert sorted(int(x) for x in rows) == sorted(a[c] for c in ("E001", "E003", "E005"))
        # self-review state: nothing is the supervisor's to rate yet
        assert 'data-editable="1"' not in html
        assert "只读" in html or "read-only" in html
        to_supervisor_review(shop)
        html = sup.get("/cycles/1/grid").text
        assert html.count('data-editable="1"') == 3
        assert 'data-levels="非常满意|比较满意|一般|不满意"' in html
        assert re.search(r'id="unrated-cells">3<', html)


def test_grid_save_goes_through_the_rating_service(shop: Database) -> None:  # noqa: F811
    a = ids(shop)
    to_supervisor_review(shop)
    with TestClient(create_app(shop, secret="s")) as sup:
        login(sup, "sup1")
        status, cell = cell_save(sup, a["E001"], "比较满意")
        assert status == 200 and "比较满意" in cell and 'data-rated="1"' in cell
        with shop.transaction() as s:
            assert s.scalar(select(Rating.value).where(
                Rating.appraisal_id == a["E001"])) == "比较满意"
        # a level the scheme does not have: refused next to the cell, typed text kept
        status, cell = cell_save(sup, a["E003"], "超级满意")
        assert status == 422 and 'class="err"' in cell and "超级满意" in cell
        assert 'data-typed="超级满意"' in cell
        with shop.transaction() as s:
            assert s.scalar(select(Rating).where(Rating.appraisal_id == a["E003"])) is None
        # someone else's team is not found; a stale version is a conflict shown in the cell
        assert cell_save(sup, a["E002"], "一般")[0] == 404
        status, cell = cell_save(sup, a["E001"], "一般", version=7)
        assert status == 409 and "一般" in cell
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        assert agent.get("/cycles/1/grid").status_code == 404


def test_board_and_console_count_unrated(shop: Database) -> None:  # noqa: F811
    a = ids(shop)
    to_supervisor_review(shop)
    with TestClient(create_app(shop, secret="s")) as sup:
        login(sup, "sup1")
        board = sup.get("/team").text
        # three agents, nobody rated yet (the import's values do not count as a rating)
        assert re.search(r'id="unrated-board">3<', board), board
        assert "/cycles/1/grid?team=" in board
        cell_save(sup, a["E001"], "非常满意")
        board = sup.get("/team").text
        assert re.search(r'id="unrated-board">2<', board)
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        html = hr.get("/hr/cycles/1").text
        # six agents, one rated: five cells, five people
        assert re.search(r'id="unrated-cycle">5<', html), html[:3000]


# -- in a real browser: the supervisor rates the whole team from the keyboard -------------
def test_supervisor_rates_the_team_from_the_keyboard(server: str, browser: Any,  # noqa: F811
                                                     shop: Database) -> None:  # noqa: F811
    a = ids(shop)
    to_supervisor_review(shop)
    base = server
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    # log in with the keyboard
    page.goto(f"{base}/login")
    page.focus("input[name=username]")
    page.keyboard.type("sup1")
    page.keyboard.press("Tab")
    page.keyboard.type("pw")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(f"{base}/team")
    assert page.locator("#unrated-board").inner_text() == "3"
    page.goto(f"{base}/cycles/1/grid")
    _shot(page, "grid-1-before")
    # the first cell still to rate has the focus: E001's 执行力
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused.startswith("E001")
    # 2 = 比较满意, saved at once; the focus stays on the cell
    page.keyboard.press("2")
    expect(page.locator(f"#c-{a['E001']}-execution-supervisor .v")).to_have_text("比较满意")
    expect(page.locator(f"#c-{a['E001']}-execution-supervisor")).to_be_focused()
    expect(page.locator("#unrated-cells")).to_have_text("2")
    # Enter moves down; 1 = 非常满意 for E003
    page.keyboard.press("Enter")
    page.keyboard.press("1")
    expect(page.locator(f"#c-{a['E003']}-execution-supervisor .v")).to_have_text("非常满意")
    # a value that is not a level (typed after F2) is refused in the cell, text kept
    page.keyboard.press("ArrowDown")
    page.keyboard.press("F2")
    page.keyboard.type("超级满意")
    page.keyboard.press("Enter")
    bad = page.locator(f"#c-{a['E005']}-execution-supervisor")
    expect(bad.locator(".err")).to_contain_text("超级满意")
    expect(bad.locator("input")).to_have_value("超级满意")
    _shot(page, "grid-2-refused")
    # Esc drops it; 3 = 一般
    page.keyboard.press("Escape")
    page.keyboard.press("3")
    expect(page.locator(f"#c-{a['E005']}-execution-supervisor .v")).to_have_text("一般")
    expect(page.locator("#unrated-cells")).to_have_text("0")
    expect(page.locator("#unrated-people")).to_have_text("0")
    expect(page.locator(f"#c-{a['E005']}-execution-supervisor")).to_be_focused()
    _shot(page, "grid-3-done")
    with shop.transaction() as s:
        given = dict(s.execute(select(Rating.appraisal_id, Rating.value)).all())
    assert given == {a["E001"]: "比较满意", a["E003"]: "非常满意", a["E005"]: "一般"}
    page.goto(f"{base}/team")
    assert page.locator("#unrated-board").inner_text() == "0"
    _shot(page, "grid-4-board")
    ctx.close()


def test_grid_with_the_mouse_and_in_english(server: str, browser: Any,  # noqa: F811
                                            shop: Database) -> None:  # noqa: F811
    a = ids(shop)
    to_supervisor_review(shop)
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    _login(page, server, "sup1")
    page.goto(f"{server}/cycles/1/grid?lang=en")
    expect(page.locator("h1")).to_contain_text("Rating grid")
    cell = page.locator(f"#c-{a['E003']}-execution-supervisor")
    cell.dblclick()
    box = cell.locator("input")
    assert box.get_attribute("list")  # the levels to pick from
    box.fill("一般")
    box.press("Enter")
    expect(page.locator(f"#c-{a['E003']}-execution-supervisor .v")).to_have_text("一般")
    expect(page.locator("#unrated-cells")).to_have_text("2")
    _shot(page, "grid-5-mouse-en")
    ctx.close()


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rated=st.sets(st.sampled_from(["E001", "E003", "E005"])),
       levels=st.lists(st.sampled_from(["非常满意", "比较满意", "一般", "不满意"]),
                       min_size=3, max_size=3))
def test_unrated_count_is_what_nobody_rated(shop: Database, rated: set[str],  # noqa: F811
                                            levels: list[str]) -> None:
    """Whoever of 一组 the supervisor rates, 未评分 is the rest of the team; the grid says
    the same per row; a team in a later state counts nothing."""
    from sqlalchemy import delete

    from kaohe.store.models import Appraisal, AppraisalState, User
    from kaohe.workflow import ratings

    a = ids(shop)
    with shop.transaction() as s:
        s.execute(delete(Rating))
        for app_ in s.scalars(select(Appraisal)):
            app_.state = AppraisalState.supervisor_review
        sup = s.scalars(select(User).where(User.username == "sup1")).one()
        actor = Actor(sup.username, tuple(sup.roles), sup.id)
    with shop.transaction() as s:
        for code, level in zip(sorted(rated), levels, strict=False):
            cycles.rate(s, appraisal_id=a[code], input_id="execution", value=level,
                        actor=actor, role="supervisor")
    team = [a[c] for c in ("E001", "E003", "E005")]
    with shop.transaction() as s:
        counts = ratings.unrated_counts(s, team)
        assert counts == {a[c]: 1 for c in ("E001", "E003", "E005") if c not in rated}
        apps = list(s.scalars(select(Appraisal).where(Appraisal.id.in_(team))))
        _, rows = ratings.grid(s, actor=actor, apps=apps)
        assert {r.appraisal_id: r.unrated for r in rows if r.unrated} == counts
        assert all(c.editable for r in rows for c in r.cells.values())
        for app_ in apps:
            app_.state = AppraisalState.hr_approval
    with shop.transaction() as s:
        assert ratings.unrated_counts(s, team) == {}


def test_per_agent_rating_keeps_the_focus_and_leads_on(server: str, browser: Any,  # noqa: F811
                                                       shop: Database) -> None:  # noqa: F811
    a = ids(shop)
    to_supervisor_review(shop)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    _login(page, server, "sup1")
    page.goto(f"{server}/appraisals/{a['E001']}#rating")
    page.focus("#rate-execution-supervisor button[value='非常满意']")
    with page.expect_navigation():
        page.keyboard.press("3")  # the third level: 一般, saved
    # back on the page, the focus is on the level just given, ready for the next key
    given = page.locator("#rate-execution-supervisor button[value='一般']")
    expect(given).to_be_focused()
    expect(given).to_have_attribute("aria-pressed", "true")
    nxt = page.locator("#next-agent")
    expect(nxt).to_contain_text("E003")
    _shot(page, "rating-next-agent")
    with page.expect_navigation():
        nxt.click()
    assert page.url.endswith(f"/appraisals/{a['E003']}#rating")
    ctx.close()
