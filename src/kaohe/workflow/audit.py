"""The append-only, tamper-evident audit log.

Each event stores the SHA-256 of its own canonical content and the hash of the event
before it, so editing a row breaks its own hash, and inserting or deleting a row breaks
the chain (and the contiguous sequence numbers) after it. ``verify`` names every broken
row. Removing the newest rows leaves a shorter valid chain: ``verify`` prints the head
(sequence and hash) so it can be anchored elsewhere and checked with ``--expect-head``: the
noted event must still be in the chain (the log may have grown after it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kaohe.store.models import AuditEvent, utcnow

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did something, as a snapshot kept in the log even if the user is deleted."""

    username: str
    roles: tuple[str, ...] = ()
    user_id: int | None = None

    def snapshot(self) -> dict[str, Any]:
        return {"username": self.username, "roles": list(self.roles), "user_id": self.user_id}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def event_hash(*, seq: int, at: dt.datetime, action: str, actor: dict[str, Any],
               target_type: str, target_id: str, details: dict[str, Any], prev_hash: str) -> str:
    body = json.dumps(
        {"seq": seq, "at": at.isoformat(timespec="microseconds"), "action": action,
         "actor": actor, "target_type": target_type, "target_id": target_id,
         "details": details, "prev_hash": prev_hash},
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record(session: Session, *, action: str, actor: Actor, target_type: str,
           target_id: str | int, details: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event in the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        # one appender at a time, so sequence numbers and the chain never fork
        session.execute(text("SELECT pg_advisory_xact_lock(727274)"))
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq = (last[0] + 1) if last else 1
    prev = last[1] if last else GENESIS
    at = utcnow()
    snap = actor.snapshot()
    plain = _plain(details or {})
    ev = AuditEvent(
        seq=seq, at=at, action=action, actor=snap, target_type=target_type,
        target_id=str(target_id), details=plain, prev_hash=prev,
        hash=event_hash(seq=seq, at=at, action=action, actor=snap, target_type=target_type,
                        target_id=str(target_id), details=plain, prev_hash=prev),
    )
    session.add(ev)
    session.flush()
    return ev


@dataclass(frozen=True)
class Problem:
    seq: int | None
    row_id: int | None
    message: str


@dataclass(frozen=True)
class Verdict:
    events: int
    head_seq: int
    head_hash: str
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, *, expect_head: str | None = None) -> Verdict:
    problems: list[Problem] = []
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    head_seq, head_hash = 0, GENESIS
    anchored = False
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq, AuditEvent.id)).scalars()
    for ev in rows:
        count += 1
        if ev.seq != expected_seq:
            if ev.seq > expected_seq:
                missing = (f"event {expected_seq}" if ev.seq == expected_seq + 1
                           else f"events {expected_seq}–{ev.seq - 1}")
                problems.append(Problem(ev.seq, ev.id, f"{missing} missing before event "
                                        f"{ev.seq} (deleted rows)"))
            else:
                problems.append(Problem(ev.seq, ev.id, f"event {ev.seq} (row id {ev.id}) "
                                        "repeats a sequence number (inserted row)"))
        if ev.prev_hash != prev_hash:
            problems.append(Problem(ev.seq, ev.id, f"event {ev.seq} (row id {ev.id}) does not "
                                    "follow the event before it: the chain is broken here "
                                    "(a row was inserted, deleted or edited before it)"))
        want = event_hash(seq=ev.seq, at=ev.at, action=ev.action, actor=ev.actor,
                          target_type=ev.target_type, target_id=ev.target_id,
                          details=ev.details, prev_hash=ev.prev_hash)
        if want != ev.hash:
            problems.append(Problem(ev.seq, ev.id, f"event {ev.seq} (row id {ev.id}, "
                                    f"{ev.action}) was edited: its content no longer matches "
                                    "its hash"))
        prev_hash = ev.hash
        expected_seq = ev.seq + 1
        # a head noted earlier stays in the chain as the log grows after it
        anchored = anchored or (expect_head is not None and ev.hash.startswith(expect_head))
        head_seq, head_hash = ev.seq, ev.hash
    if expect_head is not None and not (expect_head and anchored):
        problems.append(Problem(head_seq, None, f"the head is event {head_seq} {head_hash[:16]}…, "
                                f"expected {expect_head[:16]}… (or a later event): newest events "
                                "were removed or the log was replaced"))
    return Verdict(count, head_seq, head_hash, problems)
