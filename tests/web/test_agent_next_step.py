"""The agent's next step on /me and the scorecard: what to do and by when (Chinese working
days, Beijing dates), money as ¥1,972.76, charts legible on a 390-pixel phone."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from itertools import pairwise
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from kaohe.store.db import Database
from kaohe.store.models import Appraisal, Cycle, Employee, Result
from kaohe.web import charts
from kaohe.web.app import create_app

from .test_access import ids, login, publish, shop  # noqa: F401 - the fixture is shared
from .test_browser import _go, _login, _shot, browser, expect, server  # noqa: F401


def opened(db: Database, utc: dt.datetime) -> None:
    with db.transaction() as s:
        cycle = s.get(Cycle, 1)
        assert cycle is not None
        cycle.opened_at = utc


def test_self_review_step_with_a_deadline_in_working_days(shop: Database) -> None:  # noqa: F811
    # opened on Wednesday 30 September 2026 (Beijing): 1–7 October is the National Day
    # holiday and Saturday 10 October a make-up working day (调休), so three working days
    # later is 8, 9, 10 October
    opened(shop, dt.datetime(2026, 9, 30, 2, 0))
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        html = agent.get("/me").text
        assert "去自评" in html and "截止 2026年10月10日" in html
        assert f'href="/appraisals/{ids(shop)["E001"]}#self-review"' in html
        assert "已逾期" in html  # today (2026-11 and later) is past it
        scorecard = agent.get(f"/appraisals/{ids(shop)['E001']}").text
        assert "去自评" in scorecard and "截止 2026年10月10日" in scorecard
        assert 'id="self-review"' in scorecard


def test_deadline_counts_from_the_beijing_day(shop: Database) -> None:  # noqa: F811
    # 17:00 UTC on Friday 9 October is 01:00 on Saturday 10 October in Beijing, a make-up
    # working day that is not counted itself: 12, 13, 14 October (UTC would say the 13th)
    opened(shop, dt.datetime(2026, 10, 9, 17, 0))
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        assert "截止 2026年10月14日" in agent.get("/me").text


def test_published_month_shows_yuan_and_the_appeal_deadline(shop: Database) -> None:  # noqa: F811
    publish(shop)
    with shop.transaction() as s:
        total, due = s.execute(
            select(Result.payload, Appraisal.appeal_due)
            .join(Appraisal, Appraisal.id == Result.appraisal_id)
            .join(Employee, Employee.id == Appraisal.employee_id)
            .where(Employee.code == "E001", Result.is_current.is_(True))).one()
    pay = Decimal(str(total["pay"]["total"])).quantize(Decimal("0.01"))
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        html = agent.get("/me").text
        assert f"¥{pay:,}" in html, pay
        assert f"申诉截止 {due.year}年{due.month}月{due.day}日" in html
        assert "查看结果" in html
        scorecard = agent.get(f"/appraisals/{ids(shop)['E001']}").text
        assert f"¥{pay:,}" in scorecard
        assert re.search(r"¥\d{1,3}(,\d{3})*\.\d{2}", scorecard)


def test_supervisor_sees_the_self_review_and_the_next_agent(shop: Database) -> None:  # noqa: F811
    a = ids(shop)
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        page = f"/appraisals/{a['E001']}"
        tok = re.search(r'name="csrf" value="([^"]+)"', agent.get(page).text)
        assert tok
        agent.post(f"{page}/action", data={"csrf": tok.group(1), "action": "submit_self_review",
                                           "note": "本月询单转化率提高"})
    with TestClient(create_app(shop, secret="s")) as sup:
        login(sup, "sup1")
        html = sup.get(f"/appraisals/{a['E001']}").text
        assert '<p class="self-review">本月询单转化率提高</p>' in html
        # E001 → E003 (the next in 一组), and the team's rating grid
        assert re.search(rf'<a href="/appraisals/{a["E003"]}#rating" id="next-agent"', html)
        assert "/cycles/1/grid?team=" in html
        grid = sup.get("/cycles/1/grid").text
        assert "本月询单转化率提高" in grid


PHONE = 390 - 2 * 8  # the page's padding on a phone


@given(st.lists(st.floats(0, 130, allow_nan=False), min_size=2, max_size=24))
def test_trend_labels_are_legible_and_apart_on_a_phone(values: list[float]) -> None:
    periods = [f"{2025 + i // 12}-{i % 12 + 1:02d}" for i in range(len(values))]
    svg = charts.line(list(zip(periods, values, strict=True)))
    width = float(re.search(r'viewBox="0 0 (\d+)', svg).group(1))  # type: ignore[union-attr]
    scale = PHONE / width
    sizes = [float(x) for x in re.findall(r'font-size="(\d+)"', svg)]
    assert sizes and min(sizes) * scale >= 13  # pixels on the phone
    axis = [float(x) for x in re.findall(r'<text x="([\d.]+)" y="212"', svg)]
    assert axis and all(b - a >= 5 * 15 * 0.62 for a, b in pairwise(axis))


def test_bars_and_grades_are_legible_on_a_phone() -> None:
    for svg in (charts.bars([("E001 张三", 95.5), ("E002 李四", 80.0)]),
                charts.distribution([("高级", 3), ("中级", 2), ("初级", 1)])):
        width = float(re.search(r'viewBox="0 0 (\d+)', svg).group(1))  # type: ignore[union-attr]
        sizes = [float(x) for x in re.findall(r'font-size="(\d+)"', svg)]
        assert min(sizes) * PHONE / width >= 13


# -- in a real browser, on a phone ------------------------------------------------------------
def test_agent_on_a_phone_sees_the_next_step_and_yuan(server: str, browser: Any,  # noqa: F811
                                                      shop: Database) -> None:  # noqa: F811
    opened(shop, dt.datetime(2026, 9, 30, 2, 0))
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                is_mobile=True, has_touch=True)
    page = phone.new_page()
    _login(page, server, "e1")
    page.goto(f"{server}/me")
    step = page.locator(".next-step")
    expect(step).to_contain_text("截止 2026年10月10日")
    button = step.get_by_role("link", name="去自评")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box and box["height"] >= 40 and box["x"] + box["width"] <= 390  # a thumb's target
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    _shot(page, "phone-next-step")
    button.click()
    page.wait_for_load_state()
    page.locator("textarea[name=note]").fill("本月咨询转化率提高，差评为零")
    _go(page, page.get_by_role("button", name="提交自评"))
    expect(page.locator(".next-step")).to_contain_text("主管正在评分")
    publish(shop)
    page.goto(f"{server}/me")
    expect(page.locator(".next-step")).to_contain_text("申诉截止")
    text = page.locator("table.cards").inner_text()
    assert re.search(r"¥\d{1,3}(,\d{3})*\.\d{2}", text), text
    _shot(page, "phone-me-published")
    page.goto(f"{server}/appraisals/{ids(shop)['E001']}")
    assert re.search(r"¥\d{1,3}(,\d{3})*\.\d{2}", page.locator("main").inner_text())
    _shot(page, "phone-scorecard")
    phone.close()
