"""Reminders in a real browser (Debian's Chromium): HR presses the console's button, an
agent on a phone turns reminders off. Screenshots under test-output/screenshots/."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kaohe.web.app import create_app

from ..web.test_browser import CHROMIUM, _free_port, _go, _login, _shot, browser, expect  # noqa: F401
from .conftest import Inbox, Robots, Shop
from .test_send import config

pytestmark = pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(),
                                reason="Debian's chromium is not installed")


@pytest.fixture
def server(shop: Shop, smtp: Inbox, robots: Robots) -> Iterator[str]:
    import uvicorn

    app = create_app(shop.db, secret="browser-test")
    app.state.remind_config = config(smtp, robots)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def test_reminders_in_the_browser(server: str, browser: Any, smtp: Inbox,  # noqa: F811
                                  robots: Robots) -> None:
    hr = browser.new_context().new_page()
    _login(hr, server, "hr")
    hr.goto(f"{server}/hr/cycles")
    expect(hr.locator("#reminders + p")).to_contain_text("今天有 10 条提醒到期。")
    _go(hr, hr.locator("button:text-is('发送到期提醒')"))
    expect(hr.locator(".flash")).to_have_text(
        "提醒：已发送 29 条，失败 0 条，跳过 1 条，今日已发送过 0 条，已退订 1 条。")
    assert hr.url.endswith("/hr/cycles#reminders")
    assert len(smtp.mails) == 9 and len(robots.hits) == 10
    _shot(hr, "reminders-hr-console")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True).new_page()
    _login(phone, server, "e3")
    phone.goto(f"{server}/me")
    box = phone.get_by_label("接收提醒")
    expect(box).to_be_checked()
    box.uncheck()
    _go(phone, phone.locator("#reminders + form button"))
    expect(phone.locator(".flash")).to_have_text("已关闭提醒。")
    expect(phone.get_by_label("接收提醒")).not_to_be_checked()
    _shot(phone, "reminders-agent-opt-out")
