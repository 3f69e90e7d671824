"""A small shop with something due of every kind, a local SMTP server (aiosmtpd) and a local
webhook receiver standing in for the 企业微信 and 钉钉 robots."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select, update

from kaohe.store.db import Database
from kaohe.store.models import Appraisal, Cycle, Employee, User
from kaohe.workflow import appeals, cycles, org
from kaohe.workflow.audit import Actor

from ..store.conftest import db  # noqa: F401 - the same fresh database per test
from ..store.factories import ADMIN, input_row, write_inputs

#: the day the tests run reminders on: Wednesday 4 November 2026 (Beijing)
TODAY = dt.date(2026, 11, 4)
SMTP_USER, SMTP_PASSWORD = "kaohe", "s3cret-pw"


@dataclass(frozen=True)
class Shop:
    db: Database
    cycle: int  # 2026-10, open since Monday 2 November
    published: int  # 2026-09, published on Monday 12 October
    appeal_filed: int
    appeal_accepted: int


def write_org(path: Path) -> Path:
    """Six agents in 一组 (odd) and 二组 (even), with contacts; 员工5 has no e-mail."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["工号", "姓名", "团队", "岗位", "邮箱", "手机"])
        for i in range(1, 7):
            w.writerow([f"E{i:03d}", f"员工{i}", "一组" if i % 2 else "二组", "售前客服",
                        "" if i == 5 else f"e{i}@shop.example", f"+86 138-0000-{i:04d}"])
    return path


def build(database: Database, tmp: Path) -> Shop:
    with database.transaction() as s:
        org.import_employees(s, path=write_org(tmp / "org.csv"), actor=ADMIN)
        org.create_user(s, username="hr", roles=["hr"], actor=ADMIN, password="pw",
                        display_name="周敏", email="hr@shop.example", mobile="13900000001")
        org.create_user(s, username="boss", roles=["manager"], actor=ADMIN, display_name="郑建国")
        org.create_user(s, username="sup1", roles=["supervisor"], actor=ADMIN, teams=["一组"],
                        display_name="林晓", email="sup1@shop.example", mobile="13900000011")
        org.create_user(s, username="sup2", roles=["supervisor"], actor=ADMIN, teams=["一组"],
                        display_name="何静", email="sup2@shop.example")
        for i in range(1, 7):
            org.create_user(s, username=f"e{i}", roles=["agent"], actor=ADMIN,
                            employee_code=f"E{i:03d}", password="pw")
        org.create_user(s, username="admin", roles=["admin"], actor=ADMIN, password="pw")
    # September: published on 12 October; 员工2 appeals on the 13th (answer due the 16th),
    # 员工4 too, accepted on the 14th (resolution due the 27th); feedback meetings due the
    # 19th, held only with 员工1
    rows = [input_row(f"E{i:03d}", "2026-09") for i in range(1, 7)]
    with database.transaction() as s:
        sep = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-09", actor=ADMIN).id
    with database.transaction() as s:
        cycles.import_inputs(s, cycle_id=sep, path=write_inputs(tmp / "sep.csv", rows),
                             actor=ADMIN)
        cycles.score_cycle(s, cycle_id=sep, actor=ADMIN)
    with database.transaction() as s:
        for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=sep, trigger=step, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=sep, trigger="approve", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=sep, trigger="publish", actor=ADMIN,
                                today=dt.date(2026, 10, 12))
    with database.read() as s:
        aid = dict(s.execute(select(Employee.code, Appraisal.id).join(Appraisal)
                             .where(Appraisal.cycle_id == sep)).all())
    filed_on = dt.date(2026, 10, 13)
    with database.transaction() as s:
        filed = appeals.file_appeal(s, appraisal_id=aid["E002"], reason="执行力评级有误",
                                    actor=actor(s, "e2"), today=filed_on).id
        accepted = appeals.file_appeal(s, appraisal_id=aid["E004"], reason="差评不是我的",
                                       actor=actor(s, "e4"), today=filed_on).id
        appeals.decide_appeal(s, appeal_id=accepted, accept=True, note="受理", actor=ADMIN,
                              today=dt.date(2026, 10, 14))
        appeals.record_feedback(s, appraisal_id=aid["E001"], held_on=dt.date(2026, 10, 15),
                                notes="面谈完成", actor=ADMIN)
    # October: opened on Monday 2 November (09:00 in Beijing); 员工1 has done the self-review
    with database.transaction() as s:
        oct_ = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-10",
                                 actor=ADMIN).id
        s.execute(update(Cycle).where(Cycle.id == oct_).values(
            opened_at=dt.datetime(2026, 11, 2, 1, 0)))
    with database.transaction() as s:
        first = s.scalars(select(Appraisal.id).join(Employee).where(
            Appraisal.cycle_id == oct_, Employee.code == "E001")).one()
        cycles.transition(s, appraisal_id=first, trigger="submit_self_review",
                          actor=actor(s, "e1"))
        org.set_reminders(s, username="e6", on=False, actor=actor(s, "e6"))
    return Shop(database, oct_, sep, filed, accepted)


def actor(session: Any, username: str) -> Actor:
    u = session.scalars(select(User).where(User.username == username)).one()
    return Actor(u.username, tuple(u.roles), u.id)


@pytest.fixture
def shop(db: Database, tmp_path: Path) -> Shop:  # noqa: F811
    return build(db, tmp_path)


# -- a local SMTP server -----------------------------------------------------------------------
@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class Inbox:
    host: str
    port: int
    mails: list[Mail] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.rcpt_tos]


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.inbox.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), msg, raw))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    inbox = Inbox("127.0.0.1", free_port())

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        good = (isinstance(data, LoginPassword) and data.login == SMTP_USER.encode()
                and data.password == SMTP_PASSWORD.encode())
        if good:
            inbox.logins.append(SMTP_USER)
        return AuthResult(success=good, handled=False)  # the server answers 235 or 535

    controller = Controller(_Handler(inbox), hostname=inbox.host, port=inbox.port,
                            authenticator=authenticate, auth_required=True,
                            auth_require_tls=False)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
        asyncio.set_event_loop(None)


# -- a local webhook receiver -----------------------------------------------------------------
@dataclass
class Hit:
    path: str
    query: dict[str, str]
    content_type: str
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw.decode("utf-8"))


@dataclass
class Robots:
    base: str
    hits: list[Hit] = field(default_factory=list)
    #: path → HTTP status to answer (200 with {"errcode": 0} otherwise)
    fail: dict[str, int] = field(default_factory=dict)
    #: path → a robot's JSON answer with HTTP 200
    answer: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: path → seconds to wait before answering
    delay: dict[str, float] = field(default_factory=dict)

    def at(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]


@pytest.fixture
def robots() -> Iterator[Robots]:
    state = Robots("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.hits.append(Hit(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                                  self.headers.get("Content-Type", ""), raw))
            time.sleep(state.delay.get(parts.path, 0))
            status = state.fail.get(parts.path, 200)
            body = json.dumps(state.answer.get(parts.path, {"errcode": 0, "errmsg": "ok"}))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
