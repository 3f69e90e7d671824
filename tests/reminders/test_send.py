"""Sending the day's reminders over real channels: a local SMTP server and a local webhook
receiver standing in for the 企业微信 and 钉钉 robots."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from email.headerregistry import Address
from typing import Any

import pytest
from sqlalchemy import select

from kaohe.reminders import send
from kaohe.reminders.config import DingTalk, Email, RemindConfig, WeCom
from kaohe.store.models import Appraisal, AuditEvent, Employee, ReminderDelivery, User
from kaohe.workflow.audit import Actor

from .conftest import SMTP_PASSWORD, SMTP_USER, TODAY, Inbox, Robots, Shop

LINK = "https://kaohe.shop.example"
SECRET = "SEC0123456789abcdef"
SENDER = "绩效考核 <kaohe@shop.example>"


def config(smtp: Inbox, robots: Robots, **kw: Any) -> RemindConfig:
    return RemindConfig(
        wecom=WeCom(webhook=f"{robots.base}/wecom?key=k-123"),
        dingtalk=DingTalk(webhook=f"{robots.base}/ding?access_token=t-456", secret=SECRET),
        email=Email(host=smtp.host, port=smtp.port, security="none", user=SMTP_USER,
                    password=SMTP_PASSWORD, sender=SENDER),
        link=LINK, **{"retry_wait_s": 0, "timeout_s": 5, **kw})


def hr(shop: Shop) -> Actor:
    with shop.db.read() as s:
        u = s.scalars(select(User).where(User.username == "hr")).one()
        return Actor(u.username, tuple(u.roles), u.id)


def appraisal_of(shop: Shop, code: str, cycle: int) -> int:
    with shop.db.read() as s:
        return s.scalars(select(Appraisal.id).join(Employee).where(
            Appraisal.cycle_id == cycle, Employee.code == code)).one()


def reminder_events(shop: Shop) -> list[AuditEvent]:
    with shop.db.transaction() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action.like("reminder.%"))
                              .order_by(AuditEvent.seq)))


SELF = "2026年10月 的自评尚未提交；截止 2026年11月5日（周四），还剩 1 个工作日"


def test_every_due_reminder_goes_out_by_mail_and_both_robots(shop: Shop, smtp: Inbox,
                                                            robots: Robots) -> None:
    report = send.run(shop.db, config(smtp, robots), actor=hr(shop), today=TODAY)

    # e-mail: 员工2–4 (员工5 has no address, 员工6 opted out), both supervisors twice
    # (review, meetings), HR twice (answers, resolutions); logged in every time
    assert sorted(a for m in smtp.mails for a in m.rcpt_tos) == sorted(
        ["e2@shop.example", "e3@shop.example", "e4@shop.example", "hr@shop.example",
         "hr@shop.example", "sup1@shop.example", "sup1@shop.example", "sup2@shop.example",
         "sup2@shop.example"])
    assert smtp.logins and all(m.mail_from == "kaohe@shop.example" for m in smtp.mails)
    [mail] = smtp.to("e2@shop.example")
    msg = mail.message
    assert msg["Subject"] == "【绩效考核】自评：截止 2026年11月5日（周四）"
    assert mail.raw.startswith(b"Subject: =?utf-8?")  # RFC 2047: a UTF-8 subject any server takes
    assert msg["To"].addresses == (Address("员工2", addr_spec="e2@shop.example"),)
    assert msg["From"].addresses == (Address("绩效考核", addr_spec="kaohe@shop.example"),)
    body = msg.get_content()
    assert body.startswith("员工2，您好：\n\n" + SELF + "。\n")
    aid = appraisal_of(shop, "E002", shop.cycle)
    assert f"打开：{LINK}/appraisals/{aid}\n" in body
    assert "“接收提醒”" in body
    answers = [m.message for m in smtp.to("hr@shop.example")
               if "申诉待受理" in m.message["Subject"]]
    assert [m["Subject"] for m in answers] == ["【绩效考核】申诉待受理：截止 2026年10月16日（周五）"]
    assert (f"- 员工2（E002），2026年9月，申诉 {shop.appeal_filed}：请于 2026年10月16日（周五） "
            "前答复，已逾期 13 个工作日\n") in answers[0].get_content()
    meetings = next(m.message for m in smtp.to("sup1@shop.example")
                if "绩效面谈" in m.message["Subject"]).get_content()
    assert "2 场绩效面谈尚未记录；最早截止 2026年10月19日（周一），已逾期 12 个工作日。" in meetings
    assert "- 员工3（E003），2026年9月" in meetings and "- 员工5（E005），2026年9月" in meetings
    assert "员工1" not in meetings  # held

    # 企业微信: one text message per kind, @-mentioning by mobile
    wecom = robots.at("/wecom")
    assert len(wecom) == 5 and all(h.query == {"key": "k-123"} for h in wecom)
    assert all(h.content_type.startswith("application/json") for h in wecom)
    assert wecom[0].json == {"msgtype": "text", "text": {
        "content": "【绩效考核提醒】自评\n"
                   f"员工2：{SELF}\n员工3：{SELF}\n员工4：{SELF}\n员工5：{SELF}\n{LINK}/me",
        "mentioned_mobile_list": ["13800000002", "13800000003", "13800000004",
                                  "13800000005"]}}
    assert wecom[1].json == {"msgtype": "text", "text": {
        "content": "【绩效考核提醒】主管评分\n"
                   "何静：2026年10月 团队中有 1 人待您评分；截止 2026年11月9日（周一），还剩 3 个工作日\n"
                   "林晓：2026年10月 团队中有 1 人待您评分；截止 2026年11月9日（周一），还剩 3 个工作日\n"
                   f"{LINK}/team",
        "mentioned_mobile_list": ["13900000011"]}}  # 何静 has no mobile

    # 钉钉: signed, text with at.atMobiles and the @mobile in the text
    ding = robots.at("/ding")
    assert len(ding) == 5
    for hit in ding:
        assert set(hit.query) == {"access_token", "timestamp", "sign"}
        assert hit.query["access_token"] == "t-456"
        ts = hit.query["timestamp"]
        assert abs(int(ts) / 1000 - dt.datetime.now().timestamp()) < 60
        want = base64.b64encode(hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
        assert hit.query["sign"] == want  # parse_qs has undone the URL encoding
    assert ding[2].json == {"msgtype": "text", "text": {
        "content": "【绩效考核提醒】申诉待受理\n"
                   "周敏：1 项申诉待受理或驳回；最早截止 2026年10月16日（周五），已逾期 13 个工作日"
                   f" @13900000001\n{LINK}/hr/appeals"},
        "at": {"atMobiles": ["13900000001"], "isAtAll": False}}

    # the report and the audit log: who, what, which channel, the outcome
    events = reminder_events(shop)
    sent = [e for e in events if e.action == "reminder.sent"]
    assert len(sent) == report.count(send.SENT) == len(smtp.mails) + 10 * 2  # ten reminders on each robot
    skipped = [e for e in events if e.action == "reminder.skipped"]
    assert [(e.details["to"], e.details["channel"], e.details["error"]) for e in skipped] == [
        ("员工5", "email", "no e-mail address")]
    e2_mail = [e for e in sent if e.details["to"] == "员工2" and e.details["channel"] == "email"]
    assert len(e2_mail) == 1
    d = e2_mail[0].details
    assert (d["kind"], d["outcome"], d["address"], d["due"], d["attempts"], e2_mail[0].actor[
        "username"]) == ("self_review", "sent", "e2@shop.example", "2026-11-05", 1, "hr")
    assert not any(e.details["to"] == "员工6" for e in events)  # opted out
    assert report.count(send.OPTED_OUT) == 1


def test_a_rerun_the_same_day_sends_nothing_new_the_next_day_again(shop: Shop, smtp: Inbox,
                                                                   robots: Robots) -> None:
    cfg = config(smtp, robots)
    send.run(shop.db, cfg, actor=hr(shop), today=TODAY)
    mails, hits, events = len(smtp.mails), len(robots.hits), len(reminder_events(shop))
    again = send.run(shop.db, cfg, actor=hr(shop), today=TODAY)
    assert (len(smtp.mails), len(robots.hits), len(reminder_events(shop))) == (mails, hits, events)
    assert {d.state for d in again.deliveries} == {send.ALREADY, send.OPTED_OUT}
    # Thursday: the self-reviews are still due (today), so they go out again
    send.run(shop.db, cfg, actor=hr(shop), today=TODAY + dt.timedelta(days=1))
    assert len(smtp.to("e2@shop.example")) == 2
    assert "今天截止" in smtp.to("e2@shop.example")[1].message.get_content()


def test_a_failing_webhook_is_retried_a_bounded_number_of_times_and_recorded(
        shop: Shop, smtp: Inbox, robots: Robots) -> None:
    robots.fail["/wecom"] = 500
    cfg = config(smtp, robots, attempts=3)
    report = send.run(shop.db, cfg, actor=hr(shop), today=TODAY)
    assert len(robots.at("/wecom")) == 5 * 3  # five messages, three attempts each
    assert len(robots.at("/ding")) == 5 and len(smtp.mails) == 9  # the others went out
    failed = [e for e in reminder_events(shop) if e.action == "reminder.failed"]
    assert len(failed) == report.count(send.FAILED) == 10
    assert {(e.details["channel"], e.details["attempts"], e.details["error"]) for e in failed} \
        == {("wecom", 3, "the robot answered HTTP 500")}
    with shop.db.read() as s:
        states = {r.state for r in s.scalars(select(ReminderDelivery).where(
            ReminderDelivery.channel == "wecom"))}
    assert states == {"failed"}
    # the robot is back: a re-run the same day sends only what failed
    robots.fail.clear()
    before_ding, before_mail = len(robots.at("/ding")), len(smtp.mails)
    again = send.run(shop.db, cfg, actor=hr(shop), today=TODAY)
    assert len(robots.at("/wecom")) == 15 + 5
    assert (len(robots.at("/ding")), len(smtp.mails)) == (before_ding, before_mail)
    assert again.count(send.SENT) == 10


@pytest.mark.parametrize(("errcode", "tries"), [(310000, 1), (130101, 3)])
def test_a_robot_refusal_fails_at_once_unless_it_asks_to_slow_down(
        shop: Shop, smtp: Inbox, robots: Robots, errcode: int, tries: int) -> None:
    robots.answer["/ding"] = {"errcode": errcode, "errmsg": "refused"}
    send.run(shop.db, config(smtp, robots), actor=hr(shop), today=TODAY)
    assert len(robots.at("/ding")) == 5 * tries
    failed = [e for e in reminder_events(shop) if e.action == "reminder.failed"]
    assert {e.details["error"] for e in failed} == {
        f"the robot refused: errcode {errcode} refused"}


def test_a_mail_server_that_refuses_the_login_fails_every_mail_not_the_robots(
        shop: Shop, smtp: Inbox, robots: Robots) -> None:
    cfg = config(smtp, robots).model_copy(update={"email": Email(
        host=smtp.host, port=smtp.port, security="none", user=SMTP_USER, password="wrong",
        sender=SENDER)})
    report = send.run(shop.db, cfg, actor=hr(shop), today=TODAY)
    assert smtp.mails == [] and len(robots.hits) == 10
    mail = [d for d in report.deliveries if d.channel == "email" and d.state == send.FAILED]
    assert len(mail) == 9 and all(d.attempts == 1 and "535" in d.note for d in mail)


def test_only_hr_and_admins_send(shop: Shop, smtp: Inbox, robots: Robots) -> None:
    from kaohe.workflow.errors import NotAllowed

    with shop.db.read() as s:
        u = s.scalars(select(User).where(User.username == "sup1")).one()
        sup = Actor(u.username, tuple(u.roles), u.id)
    with pytest.raises(NotAllowed, match="sup1 may not send reminders"):
        send.run(shop.db, config(smtp, robots), actor=sup, today=TODAY)
    assert smtp.mails == [] and robots.hits == []


def test_a_time_budget_bounds_the_run_and_leaves_the_rest_to_the_next(
        shop: Shop, smtp: Inbox, robots: Robots) -> None:
    import time

    from kaohe.reminders.channels import OUT_OF_TIME

    robots.delay.update({"/wecom": 0.5, "/ding": 0.5})  # slow robots
    robots.fail["/wecom"] = 500
    cfg = config(smtp, robots, attempts=5, retry_wait_s=1).model_copy(update={"email": None})
    started = time.monotonic()
    report = send.run(shop.db, cfg, actor=hr(shop), today=TODAY, budget_s=2.5)
    assert time.monotonic() - started < 2.5 + 3  # the budget, one slow answer, a loaded machine
    # the first messages were tried while a next attempt could start in time, then none was
    # started: the deliveries left are recorded as failed, for the next run to send
    assert 2 <= len(robots.hits) <= 6
    failed = [d for d in report.deliveries if d.state == send.FAILED]
    assert {d.note for d in failed} == {"the robot answered HTTP 500", OUT_OF_TIME}
    assert len(failed) + report.count(send.SENT) == 20 == len(reminder_events(shop))
    robots.delay.clear()
    robots.fail.clear()
    again = send.run(shop.db, cfg, actor=hr(shop), today=TODAY)
    assert again.count(send.SENT) == len(failed)


def test_two_runs_at_once_send_each_reminder_once(shop: Shop, smtp: Inbox,
                                                  robots: Robots) -> None:
    """The cron run and the HR button at the same moment: every delivery is claimed by one."""
    import threading

    robots.delay.update({"/wecom": 0.2, "/ding": 0.2})
    cfg = config(smtp, robots)
    reports: list[send.Report] = []
    runs = [threading.Thread(target=lambda: reports.append(
        send.run(shop.db, cfg, actor=hr(shop), today=TODAY))) for _ in range(2)]
    for t in runs:
        t.start()
    for t in runs:
        t.join(timeout=60)
    assert len(reports) == 2
    assert len(smtp.mails) == 9 and len(robots.at("/wecom")) == 5 and len(robots.at("/ding")) == 5
    assert sum(r.count(send.SENT) for r in reports) == 29
    assert len([e for e in reminder_events(shop) if e.action == "reminder.sent"]) == 29


@pytest.mark.parametrize("status", [302, 404])
def test_a_wrong_robot_address_fails_at_once(shop: Shop, smtp: Inbox, robots: Robots,
                                             status: int) -> None:
    robots.fail["/wecom"] = status
    report = send.run(shop.db, config(smtp, robots), actor=hr(shop), today=TODAY)
    assert len(robots.at("/wecom")) == 5  # one attempt per message
    failed = [d for d in report.deliveries if d.state == send.FAILED]
    assert {(d.channel, d.attempts, d.note) for d in failed} == {
        ("wecom", 1, f"the robot answered HTTP {status}")}
