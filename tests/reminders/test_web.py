"""The HR console's reminder button and the opt-out box on the user's own page, through the
web app."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from kaohe.store.models import AuditEvent, User
from kaohe.web.app import create_app

from ..web.test_matrix import csrf_of, login
from .conftest import Inbox, Robots, Shop
from .test_send import config


def client_for(shop: Shop, smtp: Inbox, robots: Robots, user: str) -> TestClient:
    app = create_app(shop.db, secret="reminders-test")
    app.state.remind_config = config(smtp, robots)
    client = TestClient(app, raise_server_exceptions=False)
    login(client, user)
    return client


def test_hr_sends_the_due_reminders_from_the_console(shop: Shop, smtp: Inbox,
                                                     robots: Robots) -> None:
    hr = client_for(shop, smtp, robots, "hr")
    page = hr.get("/hr/cycles").text
    # whatever today is, after 4 November everything of the shop is due (员工6 opted out)
    assert "今天有 10 条提醒到期。" in page
    assert 'action="/hr/reminders"' in page and "发送到期提醒" in page
    r = hr.post("/hr/reminders", data={"csrf": csrf_of(hr, "hr")}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/hr/cycles#reminders")
    assert len(smtp.mails) == 9 and len(robots.hits) == 10
    assert re.search(r'class="flash"[^>]*>提醒：已发送 29 条，失败 0 条，跳过 1 条，今日已发送过 0 条，'
                     r"已退订 1 条。<", hr.get("/hr/cycles").text)
    again = hr.post("/hr/reminders", data={"csrf": csrf_of(hr, "hr")})
    assert "今日已发送过 30 条" in again.text and len(smtp.mails) == 9


def test_only_hr_sees_and_presses_the_button(shop: Shop, smtp: Inbox, robots: Robots) -> None:
    agent = client_for(shop, smtp, robots, "e2")
    r = agent.post("/hr/reminders", data={"csrf": csrf_of(agent, "e2")}, follow_redirects=False)
    assert r.status_code == 404
    hr = client_for(shop, smtp, robots, "hr")
    assert hr.post("/hr/reminders", follow_redirects=False).status_code == 403  # no token
    assert smtp.mails == [] and robots.hits == []


def test_a_user_turns_their_reminders_off_and_on(shop: Shop, smtp: Inbox,
                                                 robots: Robots) -> None:
    e2 = client_for(shop, smtp, robots, "e2")
    mine = e2.get("/me").text
    assert re.search(r'name="remind" value="1" checked> 接收提醒', mine)
    assert "邮箱：e2@shop.example · 手机：13800000002（如需更改请联系人事）。" in mine
    assert '<a href="/account">员工2</a>' in mine  # the header links to the account page,
    assert 'href="/me#reminders"' in e2.get("/account").text  # which links to the setting
    r = e2.post("/me/reminders", data={"csrf": csrf_of(e2, "e2")}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/me#reminders")
    page = e2.get("/me").text
    assert "已关闭提醒。" in page and re.search(r'name="remind" value="1"> 接收提醒', page)
    with shop.db.read() as s:
        user = s.scalars(select(User).where(User.username == "e2")).one()
        assert user.reminders_off is True
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
        assert (last.action, last.actor["username"]) == ("user.reminders_off", "e2")
    hr = client_for(shop, smtp, robots, "hr")
    hr.post("/hr/reminders", data={"csrf": csrf_of(hr, "hr")})
    assert smtp.to("e2@shop.example") == [] and len(smtp.mails) == 8
    assert all("员工2：" not in h.json["text"]["content"] for h in robots.hits)
    on = e2.post("/me/reminders", data={"csrf": csrf_of(e2, "e2"), "remind": "1"})
    assert "已开启提醒。" in on.text and 'value="1" checked> 接收提醒' in on.text
