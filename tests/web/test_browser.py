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

from kaohe.store.db import Database
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


def test_month_in_the_browser(server: str, browser: Any, shop: Database) -> None:  # noqa: F811
    base = server
    a1 = ids(shop)["E001"]
    # agent, on a phone: self-review
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = phone.new_page()
    _login(page, base, "e1")
    page.goto(f"{base}/appraisals/{a1}")
    page.fill("textarea[name=note]", "本月目标完成")
    page.click("text=提交")
    page.wait_for_url(f"{base}/appraisals/{a1}")
    assert "主管评分中" in page.content()
    _shot(page, "agent-self-review-phone")
    phone.close()
    # supervisor: rate with the level buttons, from the keyboard too
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, base, "sup1")
    page.goto(f"{base}/appraisals/{a1}")
    button = page.locator("button[name=value][value=非常满意]").first
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/appraisals/{a1}")
    page.click("text=主管评分完成")
    page.wait_for_url(f"{base}/appraisals/{a1}")
    _shot(page, "supervisor-rated")
    ctx.close()
    # HR: score, move everyone on, approve, publish
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, base, "hr")
    page.goto(f"{base}/hr/cycles")
    for label in ("评分", "自评完成", "主管评分完成", "复核通过", "审批通过", "发布"):
        page.locator(f"button:text-is('{label}')").first.click()
        page.wait_for_url(f"{base}/hr/cycles")
    assert "published" in page.content()
    _shot(page, "hr-published")
    ctx.close()
    # agent appeals, in English
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, base, "e1")
    page.goto(f"{base}/appraisals/{a1}?lang=en")  # the choice is kept in a cookie
    assert "Total" in page.content() and "Appeal" in page.content()
    page.fill("textarea[name=reason]", "Execution was rated too low")
    page.locator("button:text-is('Appeal')").click()
    page.wait_for_url(f"{base}/appraisals/{a1}")
    assert "appealed" in page.content()
    _shot(page, "agent-appealed-en")
    ctx.close()
    # HR accepts and resolves
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, base, "hr")
    page.goto(f"{base}/hr/cycles")
    page.locator("button:text-is('受理')").click()
    page.wait_for_url(f"{base}/hr/cycles")
    page.fill("textarea[name=changes]", "execution=比较满意")
    page.fill("input[name=resolution]", "复核后调整")
    page.locator("button:text-is('处理完毕')").click()
    page.wait_for_url(f"{base}/hr/cycles")
    page.goto(f"{base}/appraisals/{a1}")
    assert "申诉已处理" in page.content()
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
