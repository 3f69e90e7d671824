"""The parts: channel configuration, contacts from the org sheet, robot messages within the
robots' size limits."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kaohe.errors import InputError, KaoheError
from kaohe.reminders import channels
from kaohe.reminders.config import WeCom, load
from kaohe.store.db import Database
from kaohe.store.models import Employee
from kaohe.workflow import org

from ..store.factories import ADMIN
from .conftest import TODAY, Shop, write_org


def test_configuration_from_a_file_with_the_environment_over_it(tmp_path: Path) -> None:
    f = tmp_path / "remind.yaml"
    f.write_text("email:\n  host: smtp.shop.example\n  sender: 绩效 <hr@shop.example>\n"
                 "dingtalk:\n  webhook: https://oapi.dingtalk.com/robot/send?access_token=x\n",
                 encoding="utf-8")
    cfg = load(f, env={"KAOHE_SMTP_PASSWORD": "pw", "KAOHE_SMTP_PORT": "465",
                       "KAOHE_SMTP_SECURITY": "ssl", "KAOHE_DINGTALK_SECRET": "SECx"})
    assert cfg.channels == ["email", "dingtalk"]
    assert cfg.email is not None and cfg.dingtalk is not None
    assert (cfg.email.port, cfg.email.security, cfg.email.password) == (465, "ssl", "pw")
    assert cfg.email.user is None
    assert cfg.dingtalk.secret == "SECx"
    # the environment alone: a password turns nothing on, an address does
    assert load(env={"KAOHE_SMTP_PASSWORD": "pw"}).channels == []
    only = load(env={"KAOHE_WECOM_WEBHOOK": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"})
    assert only.channels == ["wecom"] and only.wecom is not None and only.wecom.format == "text"
    assert load(env={}).channels == []


@pytest.mark.parametrize(("text", "message"), [
    ("wecom:\n  webhook: qyapi.weixin.qq.com\n", "reminder setting wecom.webhook: Value error, "
     "expected the robot's webhook address, starting with https://"),
    ("email:\n  host: smtp\n  sender: nobody\n", "reminder setting email.sender: "),
    ("email:\n  port: 25\n", "reminder setting email.host: Field required"),
    ("wecom:\n  webhook: https://x\n  colour: red\n", "reminder setting wecom.colour: Extra "
     "inputs are not permitted"),
    ("- wecom\n", "expected a mapping of channels"),
    ("attempts: 50\n", "reminder setting attempts: Input should be less than or equal to 10"),
])
def test_a_bad_configuration_names_file_and_setting(tmp_path: Path, text: str,
                                                    message: str) -> None:
    f = tmp_path / "remind.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(KaoheError) as info:
        load(f, env={})
    assert str(info.value).startswith(f"{f}: ")
    assert message in str(info.value)


def test_contacts_come_from_the_org_sheet_and_a_bad_one_is_named(db: Database,
                                                                  tmp_path: Path) -> None:
    with db.transaction() as s:
        org.import_employees(s, path=write_org(tmp_path / "org.csv"), actor=ADMIN)
    with db.read() as s:
        emps = {e.code: (e.email, e.mobile) for e in s.scalars(select(Employee))}
    assert emps["E001"] == ("e1@shop.example", "13800000001")  # +86 138-0000-0001
    assert emps["E005"] == (None, "13800000005")
    bad = tmp_path / "bad.csv"
    with bad.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["工号", "姓名", "邮箱", "手机号"])
        w.writerow(["E001", "员工1", "new@shop.example", "13911112222"])
        w.writerow(["E002", "员工2", "e2@shop.example", "1391111222"])
    with pytest.raises(InputError) as info, db.transaction() as s:
        org.import_employees(s, path=bad, actor=ADMIN)
    text = str(info.value)
    assert "bad.csv" in text and "row 3" in text and "手机号" in text and "1391111222" in text
    assert "11-digit mobile number" in text
    with db.read() as s:  # nothing of the sheet was kept
        e1 = s.scalars(select(Employee).where(Employee.code == "E001")).one()
        assert (e1.email, e1.mobile) == ("e1@shop.example", "13800000001")


def test_dingtalk_signature_matches_the_documented_example() -> None:
    """钉钉's documented algorithm, computed independently with a fixed time."""
    import base64
    import hashlib
    import hmac
    import urllib.parse

    secret, ts = "SECabc", 1700000000000
    raw = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    want = urllib.parse.quote_plus(base64.b64encode(raw))
    assert channels.dingtalk_signed("https://oapi.dingtalk.com/robot/send?access_token=t",
                                    secret, ts) == (
        f"https://oapi.dingtalk.com/robot/send?access_token=t&timestamp={ts}&sign={want}")
    assert "%2B" in want or "%2F" in want or "%3D" in want  # the base64 is URL-encoded


names = st.text(alphabet="张王李赵刘陈杨黄周吴员工一二三", min_size=2, max_size=4)
mobiles = st.one_of(st.none(), st.from_regex(r"1[3-9]\d{9}", fullmatch=True))
lines = st.lists(st.tuples(names, st.text(alphabet="自评尚未提交截止年月日，0123456789",
                                          min_size=1, max_size=200), mobiles),
                 min_size=1, max_size=80)


@settings(max_examples=60, deadline=None)
@given(lines=lines, markdown=st.booleans())
def test_robot_messages_fit_the_robots_limits_and_keep_every_line(
        lines: list[tuple[str, str, str | None]], markdown: bool) -> None:
    cfg = WeCom(webhook="https://x", format="markdown" if markdown else "text")
    header, footer = "【绩效考核提醒】自评", "https://kaohe.shop.example/me"
    for posts, limit in ((channels.wecom_posts(cfg, header, lines, footer),
                          channels.LIMITS["wecom_markdown" if markdown else "wecom_text"]),
                         (channels.dingtalk_posts(header, lines, footer),
                          channels.LIMITS["dingtalk"])):
        assert sum(p.size for p in posts) == len(lines)
        start = 0
        for p in posts:
            mine = lines[start:start + p.size]
            start += p.size
            body = p.payload.get("text") or p.payload["markdown"]
            content = body["content"]
            assert len(content.encode("utf-8")) <= limit
            for name, text, _m in mine:
                assert name in content and text in content
            mentioned = body.get("mentioned_mobile_list") or p.payload.get("at", {}).get(
                "atMobiles", [])
            if not markdown or "at" in p.payload:
                assert sorted(mentioned) == sorted({m for _n, _t, m in mine if m})


def test_a_team_without_a_supervisor_is_its_managers_to_remind(shop: Shop) -> None:
    from kaohe.reminders.due import due_reminders
    from kaohe.store.models import Team, User

    with shop.db.transaction() as s:
        teams = {t.name: t.id for t in s.scalars(select(Team))}
        boss = s.scalars(select(User).where(User.username == "boss")).one()
        boss.team_ids = [teams["一组"], teams["二组"]]
    with shop.db.read() as s:
        found = {(r.kind, r.name): [i.name for i in r.items]
                 for r in due_reminders(s, today=TODAY)
                 if r.kind in ("supervisor_review", "feedback_meeting")}
    assert found == {
        ("supervisor_review", "林晓"): ["员工1"], ("supervisor_review", "何静"): ["员工1"],
        ("feedback_meeting", "林晓"): ["员工3", "员工5"],
        ("feedback_meeting", "何静"): ["员工3", "员工5"],
        ("feedback_meeting", "郑建国"): ["员工2", "员工4", "员工6"]}  # 二组 has no supervisor
