"""`kaohe remind` as cron runs it, and the users' reminder settings from the command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from kaohe.store.models import AuditEvent, ReminderDelivery, User

from .conftest import SMTP_PASSWORD, SMTP_USER, Inbox, Robots, Shop

DAY = "2026-11-04"


def kaohe(shop: Shop, *args: str, env: dict[str, str] | None = None,
          ) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KAOHE_")}
    full = {**base, "KAOHE_DATABASE_URL": shop.db.url, **(env or {})}
    return subprocess.run([sys.executable, "-m", "kaohe", *args], env=full, text=True,
                          capture_output=True, timeout=120)


def counts(shop: Shop) -> tuple[int, int]:
    with shop.db.read() as s:
        return (int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0),
                int(s.scalar(select(func.count()).select_from(ReminderDelivery)) or 0))


#: a reminder's first line: the person's name — what: …
HEAD = re.compile(r"^(\S+) — ([^:]+): ", re.MULTILINE)
CHANNELS = {"KAOHE_SMTP_HOST": "127.0.0.1", "KAOHE_SMTP_SENDER": "kaohe@shop.example",
            "KAOHE_WECOM_WEBHOOK": "http://127.0.0.1:9/never-called"}


def test_dry_run_lists_the_due_reminders_by_name_and_sends_nothing(shop: Shop) -> None:
    before = counts(shop)
    r = kaohe(shop, "remind", "--dry-run", "--today", DAY, env=CHANNELS)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("2026年11月4日（周三）到期的提醒（北京时间）：11 条\n")
    assert sorted(HEAD.findall(out)) == sorted([
        ("员工2", "自评"), ("员工3", "自评"), ("员工4", "自评"), ("员工5", "自评"),
        ("员工6", "自评"), ("林晓", "主管评分"), ("何静", "主管评分"), ("周敏", "申诉待受理"),
        ("周敏", "申诉待处理"), ("林晓", "绩效面谈"), ("何静", "绩效面谈")])
    assert ("员工2 — 自评: 2026年10月 的自评尚未提交；截止 2026年11月5日（周四），还剩 1 个工作日\n"
            "    邮件 e2@shop.example: 将发送\n    企业微信群: 将发送\n") in out
    assert "员工5 — 自评: " in out and "    邮件: 跳过 (没有邮箱地址)\n" in out
    assert re.search(r"员工6 — 自评: [^\n]*\n    已退订提醒：不发送\n", out)
    assert counts(shop) == before  # nothing recorded

    en = kaohe(shop, "remind", "--dry-run", "--today", DAY, "--lang", "en", env=CHANNELS)
    assert ("员工2 — Self-review: the self-review for 2026-10 is not submitted; due Thu 5 Nov "
            "2026, 1 working days left\n") in en.stdout


def test_dry_run_without_channels_says_so_once(shop: Shop) -> None:
    r = kaohe(shop, "remind", "--dry-run", "--today", DAY)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1] == "尚未配置发送渠道：不发送"
    assert r.stdout.count("尚未配置发送渠道") == 1


def test_remind_sends_once_a_day_and_exits_1_when_a_delivery_failed(
        shop: Shop, smtp: Inbox, robots: Robots, tmp_path: Path) -> None:
    cfg = tmp_path / "remind.yaml"
    cfg.write_text(f"""\
wecom:
  webhook: {robots.base}/wecom?key=abc
  format: markdown
email:
  host: {smtp.host}
  port: {smtp.port}
  security: none
  user: {SMTP_USER}
  sender: 绩效考核 <kaohe@shop.example>
attempts: 2
retry_wait_s: 0
""", encoding="utf-8")
    env = {"KAOHE_REMIND_CONFIG": str(cfg), "KAOHE_SMTP_PASSWORD": SMTP_PASSWORD}
    robots.fail["/wecom"] = 503
    r = kaohe(shop, "remind", "--today", DAY, "--as", "hr", env=env)
    assert r.returncode == 1, r.stderr
    assert r.stdout.rstrip().endswith(
        "提醒：已发送 9 条，失败 10 条，跳过 1 条，今日已发送过 0 条，已退订 1 条。")
    assert "企业微信群: 发送失败 (the robot answered HTTP 503)" in r.stdout
    assert len(smtp.mails) == 9 and len(robots.at("/wecom")) == 5 * 2
    robots.fail.clear()
    again = kaohe(shop, "remind", "--today", DAY, "--as", "hr", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.rstrip().endswith(
        "提醒：已发送 10 条，失败 0 条，跳过 0 条，今日已发送过 10 条，已退订 1 条。")
    assert len(smtp.mails) == 9
    first = robots.at("/wecom")[-5].json
    assert first["msgtype"] == "markdown"
    assert first["markdown"]["content"].startswith(
        "**【绩效考核提醒】自评**\n- **员工2**：2026年10月 的自评尚未提交；截止")
    third = kaohe(shop, "remind", "--today", DAY, "--as", "hr", env=env)
    assert third.returncode == 0 and len(robots.hits) == 15 and len(smtp.mails) == 9


def test_only_hr_and_admins_send_from_the_cli(shop: Shop) -> None:
    r = kaohe(shop, "remind", "--today", DAY, "--as", "sup1", env=CHANNELS)
    assert r.returncode == 2
    assert "sup1 may not send reminders" in r.stderr


def test_bad_configuration_names_the_setting(shop: Shop, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("dingtalk:\n  webhook: ftp://robot\n", encoding="utf-8")
    r = kaohe(shop, "remind", "--dry-run", "--config", str(cfg))
    assert r.returncode == 2
    assert f"{cfg}: reminder setting dingtalk.webhook: " in r.stderr
    assert "https://" in r.stderr


def test_remind_off_and_on(shop: Shop) -> None:
    r = kaohe(shop, "user", "remind-off", "e3", "--as", "hr")
    assert r.returncode == 0, r.stderr
    out = kaohe(shop, "remind", "--dry-run", "--today", DAY, env=CHANNELS).stdout
    assert re.search(r"员工3 — 自评: [^\n]*\n    已退订提醒：不发送\n", out)
    refused = kaohe(shop, "user", "remind-on", "e3", "--as", "e4")
    assert refused.returncode == 2 and "e4 may not change the reminders of e3" in refused.stderr
    assert kaohe(shop, "user", "remind-on", "e3", "--as", "e3").returncode == 0
    out = kaohe(shop, "remind", "--dry-run", "--today", DAY, env=CHANNELS).stdout
    assert re.search(r"员工3 — 自评: [^\n]*\n    邮件 e3@shop.example: 将发送\n", out)
    with shop.db.read() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("user.reminders_%")).order_by(AuditEvent.seq)))
    assert actions == ["user.reminders_off", "user.reminders_off", "user.reminders_on"]  # e6 first


def test_user_set_contact_and_name(shop: Shop) -> None:
    r = kaohe(shop, "user", "set", "sup2", "--mobile", "+86 139-0000-0012", "--name", "何静怡",
              "--as", "hr")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "sup2: 何静怡, e-mail sup2@shop.example, mobile 13900000012"
    before = counts(shop)
    bad = kaohe(shop, "user", "set", "sup2", "--email", "not-an-address", "--as", "hr")
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("error: 'not-an-address': expected an e-mail address such as "
                                  "name@example.com")
    assert counts(shop) == before
    agent = kaohe(shop, "user", "set", "e2", "--email", "x@shop.example", "--as", "e2")
    assert agent.returncode == 2 and "e2 may not change a user's contact" in agent.stderr
    # an agent's own setting overrides the org sheet's; clearing it brings that back
    assert kaohe(shop, "user", "set", "e2", "--email", "wang@shop.example", "--as",
                 "hr").returncode == 0
    with shop.db.read() as s:
        u = s.scalars(select(User).where(User.username == "e2")).one()
        assert (u.contact_email, u.employee.email if u.employee else None) == (
            "wang@shop.example", "e2@shop.example")
    assert kaohe(shop, "user", "set", "e2", "--email", "", "--as", "hr").returncode == 0
    with shop.db.read() as s:
        u = s.scalars(select(User).where(User.username == "e2")).one()
        assert u.contact_email == "e2@shop.example"


def test_rest_days_send_nothing_unless_asked(shop: Shop, smtp: Inbox, robots: Robots) -> None:
    env = {"KAOHE_SMTP_HOST": smtp.host, "KAOHE_SMTP_PORT": str(smtp.port),
           "KAOHE_SMTP_SECURITY": "none", "KAOHE_SMTP_USER": SMTP_USER,
           "KAOHE_SMTP_PASSWORD": SMTP_PASSWORD, "KAOHE_SMTP_SENDER": "kaohe@shop.example"}
    for day, label in (("2026-11-07", "2026年11月7日（周六）"), ("2026-10-01", "2026年10月1日（周四）")):
        r = kaohe(shop, "remind", "--today", day, "--as", "hr", env=env)
        assert r.returncode == 0, r.stderr
        assert r.stdout == f"{label} 不是工作日：不发送提醒（加 --any-day 仍可发送）。\n"
    assert smtp.mails == [] and counts(shop)[1] == 0
    r = kaohe(shop, "remind", "--today", "2026-11-07", "--any-day", "--as", "hr", env=env)
    assert r.returncode == 0, r.stderr
    assert len(smtp.mails) == 9
