"""Journeys in a real browser: Debian's Chromium driven by Playwright (never downloaded).
Screenshots of each journey's end are saved under test-output/screenshots/."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kaohe.store.db import Database
from kaohe.store.models import Appraisal, Cycle, Employee
from kaohe.web.app import create_app

from .test_access import ids, shop  # noqa: F401 - the fixture is shared

CHROMIUM = os.environ.get("KAOHE_CHROMIUM", "/usr/bin/chromium")
OUT = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or shutil.which("true") is None,
                                reason="Debian's chromium is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(shop: Database) -> Iterator[str]:  # noqa: F811
    import uvicorn

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(shop, secret="browser-test"),
                                        host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def _login(page: Any, base: str, user: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")


def _shot(page: Any, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(locator)


def _go(page: Any, locator: Any) -> None:
    """Click something that submits a form, and wait for the page it leads to."""
    with page.expect_navigation():
        locator.click()


def _sheet(path: Path, rows: list[list[str]]) -> str:
    from ..store.factories import write_inputs

    return str(write_inputs(path, rows))


# a whole month in one browser, on a machine busy with the other test workers: one retry
# when a step times out or the page lags (a second failure fails the build)
@pytest.mark.flaky(reruns=1)
def test_month_in_the_browser(server: str, browser: Any, shop: Database,  # noqa: F811
                              tmp_path: Path) -> None:
    from ..store.factories import input_row

    base = server
    # HR opens November, uploads a sheet with mistakes (every one is listed, nothing is
    # saved), then the corrected sheet
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, base, "hr")
    page.goto(f"{base}/hr/cycles")
    page.select_option("select[name=scheme]", "taobao-presales")
    page.fill("input[name=period]", "2026-11")
    _go(page, page.locator("button:text-is('开启')"))
    cycle_url = page.url
    bad = [input_row(f"E{i:03d}", "2026-11") for i in range(1, 7)]
    bad[1][2] = "十万"  # sales of E002: not a number
    bad[4][10] = "超级满意"  # execution of E005: not a level
    bad.append(input_row("E999", "2026-11"))  # nobody
    page.set_input_files("input[type=file]", _sheet(tmp_path / "november.csv", bad))
    _go(page, page.locator("button:text-is('校验文件')"))
    text = page.content()
    assert "发现 3 个问题，未保存任何数据。" in text
    assert "十万" in text and "超级满意" in text and "E999" in text
    _shot(page, "hr-import-preview-errors")
    page.goto(cycle_url)
    good = [input_row(f"E{i:03d}", "2026-11") for i in range(1, 7)]
    page.set_input_files("input[type=file]", _sheet(tmp_path / "november.csv", good))
    _go(page, page.locator("button:text-is('校验文件')"))
    expect(page.locator("main")).to_contain_text("全部 6 行校验通过")
    _go(page, page.locator("button:text-is('导入全部 6 行')"))
    expect(page.locator("main")).to_contain_text("已从 november.csv 导入 6 行")
    ctx.close()
    with shop.transaction() as s:
        nov = dict(s.execute(
            select(Employee.code, Appraisal.id).join(Appraisal).join(Cycle)
            .where(Cycle.period == "2026-11")).all())  # type: ignore[arg-type]
    a1 = nov["E001"]
    # agent, on a phone: self-review
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    _login(page, base, "e1")
    page.goto(f"{base}/appraisals/{a1}")
    page.fill("textarea[name=note]", "本月目标完成")
    _go(page, page.locator("button:text-is('提交自评')"))
    expect(page.locator("main")).to_contain_text("主管评分中")
    _shot(page, "agent-self-review-phone")
    phone.close()
    # supervisor: rate from the keyboard (arrow to the next level, Enter), finish the review
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, base, "sup1")
    page.goto(f"{base}/appraisals/{a1}")
    page.locator(".levels button").first.focus()  # 非常满意
    page.keyboard.press("ArrowRight")  # 比较满意
    page.keyboard.press("ArrowLeft")  # back to 非常满意
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("button[aria-pressed=true]").inner_text() == "非常满意"
    _go(page, page.locator("button:text-is('完成主管评分')"))
    _shot(page, "supervisor-rated")
    ctx.close()
    # HR: score, move everyone on, approve and publish
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, base, "hr")
    page.goto(cycle_url)
    # scoring goes through the pre-check; every move through its confirmation
    _go(page, page.locator("a:text-is('立即评分')").first)
    _go(page, page.locator("button:text-matches('^立即评分')"))
    for label in ("结束自评", "结束主管评分", "复核通过", "审批通过", "发布结果"):
        _go(page, page.locator(f"button:text-matches('^{label}')").first)
        _go(page, page.locator("button:text-matches('^确认：')"))
    assert "已发布" in page.locator("h1").inner_text()
    _shot(page, "hr-published")
    ctx.close()
    # one agent acknowledges; another appeals, in English on a phone
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, base, "e3")
    page.goto(f"{base}/appraisals/{nov['E003']}")
    _go(page, page.locator("button:text-is('确认结果')"))
    _go(page, page.locator("button:text-matches('^确认：')"))  # it asks first
    expect(page.locator("main")).to_contain_text("已确认")
    _shot(page, "agent-acknowledged")
    ctx.close()
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    _login(page, base, "e1")
    page.goto(f"{base}/appraisals/{a1}?lang=en")  # the choice is kept in a cookie
    assert "Points and reasons" in page.content() and "10.00" in page.content()
    page.fill("textarea[name=reason]", "Execution was rated too high, to be fair")
    _go(page, page.locator("button:text-is('File the appeal')"))
    page.wait_for_url(f"{base}/appraisals/{a1}#appeals")  # the POST's redirect (slow when
    expect(page.locator("main p.muted").first).to_contain_text(  # the machine is busy)
        "appealed", timeout=20_000)
    _shot(page, "agent-appealed-en-phone")
    phone.close()
    with shop.read() as s:
        assert s.scalar(select(Appraisal.state).where(Appraisal.id == a1)).value == "appealed"
    # HR accepts and resolves at the appeal desk; the appraisal is re-scored
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, base, "hr")
    page.goto(f"{base}/hr/appeals")
    _go(page, page.locator("button:text-is('受理')"))
    # the desk's form: 执行力 by its label, the new level from the scheme's; a preview first
    row = page.locator("table.decision tr", has_text="执行力")
    row.locator("select").select_option("比较满意")
    page.fill("input[name=resolution]", "复核后调整")
    _go(page, page.locator("button:text-is('预览处理结果')"))
    _go(page, page.locator("button:text-is('确认：处理并重新评分')"))
    expect(page.locator("main")).to_contain_text("申诉 1 已处理完毕")
    page.goto(f"{base}/appraisals/{a1}")
    assert "申诉已处理" in page.content() and "复核后调整" in page.content()
    # the granted value counts over the supervisor's rating, and the scorecard says so
    sources = page.locator("#sources + table").inner_text()
    assert "执行力" in sources and "申诉处理" in sources and "复核后调整" in sources
    _shot(page, "hr-resolved")
    ctx.close()


def test_agent_cannot_open_a_colleague_by_changing_the_url(server: str, browser: Any,
                                                            shop: Database) -> None:  # noqa: F811
    page = browser.new_context().new_page()
    _login(page, server, "e1")
    resp = page.goto(f"{server}/appraisals/{ids(shop)['E002']}")
    assert resp is not None and resp.status == 404
    resp = page.goto(f"{server}/api/appraisals/{ids(shop)['E002']}")
    assert resp is not None and resp.status == 404


def test_scheme_editor_checks_as_you_type(server: str, browser: Any,
                                          shop: Database) -> None:  # noqa: F811
    """htmx, served from the package under the page's Content-Security-Policy, swaps in the
    check and the what-if preview without a page load."""
    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, server, "hr")
    page.goto(f"{server}/hr/cycles/1/scheme?lang=en")
    box = page.locator("textarea[name=content]")
    text = box.input_value()
    box.fill(text.replace("{name: 高级, label_en: Senior, min: 90}",
                          "{name: 高级, label_en: Senior, min: 95}"))
    page.keyboard.press("End")  # a keyup: htmx posts after 600 ms
    page.wait_for_selector("#what-if table")
    assert page.locator("#what-if").inner_text().count("高级 → 中级") == 6
    box.fill(text.replace("id: taobao-presales", "idd: taobao-presales"))
    page.keyboard.press("End")
    page.wait_for_selector("#what-if ul.err")
    assert "The scheme has errors" in page.locator("#what-if").inner_text()
    assert page.url.endswith("/hr/cycles/1/scheme?lang=en")  # no page load happened
    _shot(page, "hr-scheme-editor-en")
    # saved as a new version (htmx asks the browser to go to the console)
    box.fill(text.replace("{name: 高级, label_en: Senior, min: 90}",
                          "{name: 高级, label_en: Senior, min: 95}"))
    page.locator("button:text-is('Save as a new version')").click()
    page.wait_for_url(f"{server}/hr/cycles")
    expect(page.locator("main")).to_contain_text("Saved taobao-presales version 2")
    assert page.locator("option", has_text="taobao-presales v2").count() == 1
    assert not errors, errors  # nothing refused by the CSP, no script errors


def test_api_docs_work_offline(server: str, browser: Any) -> None:
    """Swagger UI is served from the package: the page asks nothing of another host."""
    page = browser.new_context().new_page()
    hosts: set[str] = set()
    page.on("request", lambda req: hosts.add(req.url.split("/")[2]))
    page.goto(f"{server}/api/docs")
    page.wait_for_selector(".opblock")
    assert "/api/appraisals/{appraisal_id}" in page.content()
    assert hosts <= {server.split("/")[2]}, hosts
    _shot(page, "api-docs")


def _varied_and_published(shop: Database, tmp_path: Path) -> None:  # noqa: F811
    """Grades 高级 and 不合格 in 一组 and 二组 (bad reviews), an incident, a rating, and the
    cycle published long ago, so every feedback meeting is overdue."""
    import datetime as dt
    from decimal import Decimal

    from kaohe.workflow import cycles

    from ..store.factories import ADMIN, input_row, write_inputs

    rows = [input_row(f"E{i:03d}", "2026-10", bad_reviews="2" if i in (2, 5) else "0")
            for i in range(1, 7)]
    a = ids(shop)
    with shop.transaction() as s:
        cycles.import_inputs(s, cycle_id=1, path=write_inputs(tmp_path / "v.csv", rows),
                             actor=ADMIN)
        cycles.add_incident(s, appraisal_id=a["E001"], input_id="bad_reviews",
                            date=dt.date(2026, 10, 20), count=Decimal(1), note="差评备注",
                            actor=ADMIN)
        cycles.score_cycle(s, cycle_id=1, actor=ADMIN)
        for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=1, trigger=step, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=1, trigger="approve", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=1, trigger="publish", actor=ADMIN,
                                today=dt.date(2026, 11, 2))


def test_pages_in_both_languages(server: str, browser: Any, shop: Database,  # noqa: F811
                                 tmp_path: Path) -> None:
    """Every page in Chinese and English (a screenshot of each in test-output/): times in
    Beijing time in the Chinese date form, never UTC; grades in the scheme's order; the
    overdue list in one language, grouped per team and kind with counts."""
    import datetime as dt
    import re

    from kaohe.store.models import AuditEvent

    _varied_and_published(shop, tmp_path)
    a1 = ids(shop)["E001"]
    with shop.read() as s:
        opened = s.scalars(select(AuditEvent.at).where(AuditEvent.action == "cycle.opened")).one()
    beijing = opened.replace(tzinfo=dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8)))
    pages = {"hr": ["/hr/cycles", "/hr/cycles/1", "/hr/appeals", "/hr/cycles/1/scheme",
                    f"/appraisals/{a1}", "/team", "/team?team=一组"],
             "sup1": ["/team", f"/appraisals/{a1}"], "e1": ["/me", f"/appraisals/{a1}"]}
    seen: dict[tuple[str, str, str], str] = {}
    charts: dict[str, list[str]] = {}
    for user, paths in pages.items():
        for lang in ("zh", "en"):
            ctx = browser.new_context()
            page = ctx.new_page()
            _login(page, server, user)
            for path in paths:
                sep = "&" if "?" in path else "?"
                page.goto(f"{server}{path}{sep}lang={lang}")
                seen[(user, path, lang)] = page.locator("main").inner_text()
                if path == "/team?team=一组":  # the grade chart's labels, left to right
                    labels = page.locator("figure").last.locator("text").all_text_contents()
                    charts[lang] = [t for t in labels if not t.isdigit()]
                name = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "home"
                _shot(page, f"page-{user}-{name}-{lang}")
            ctx.close()
    history = seen[("hr", f"/appraisals/{a1}", "zh")]
    assert "UTC" not in history
    assert (f"{beijing.year}年{beijing.month}月{beijing.day}日 "
            f"{beijing:%H:%M}") in history  # the cycle's opening, in Beijing time
    assert f"{beijing:%Y-%m-%d %H:%M}" in seen[("hr", f"/appraisals/{a1}", "en")]
    # the grade chart in the scheme's order (高级 before 不合格), in both languages
    assert charts == {"zh": ["高级", "不合格"], "en": ["Senior", "Failed"]}
    overview = seen[("hr", "/team", "zh")]
    assert re.search(r"高级 \d+ · 不合格 \d+", overview), overview
    # the overdue list: grouped per team and kind, in one language
    zh = seen[("hr", "/hr/cycles", "zh")]
    assert "Feedback meeting" not in zh and "面谈" in zh
    assert re.search(r"一组\s+绩效面谈未记录\s+3", zh), zh[-600:]
    assert re.search(r"二组\s+绩效面谈未记录\s+3", zh), zh[-600:]
    en = seen[("hr", "/hr/cycles", "en")]
    assert "面谈" not in en and re.search(r"一组\s+Feedback meeting not recorded\s+3", en)
    # the agent: no incident note, no author of the incident
    agent = seen[("e1", f"/appraisals/{a1}", "zh")]
    assert "差评备注" not in agent and "差评扣分" in agent
    assert "差评备注" in seen[("sup1", f"/appraisals/{a1}", "zh")]
