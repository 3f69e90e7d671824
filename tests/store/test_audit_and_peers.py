"""The audit log finds edited, inserted and deleted rows; peer ratings stay anonymous;
a rating saved from two places at once conflicts instead of being lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from kaohe.store.db import Database
from kaohe.store.models import Appraisal, AuditEvent, Employee, PeerBallot, Rating
from kaohe.workflow import cycles
from kaohe.workflow.audit import Actor, record, verify
from kaohe.workflow.errors import Conflict
from kaohe.workflow.org import actor_for

from .factories import ADMIN, setup_org
from .intrude import intruder


def _log(db: Database, n: int = 5) -> None:
    with db.transaction() as s:
        for i in range(n):
            record(s, action="test.event", actor=Actor("t", ("admin",)), target_type="x",
                   target_id=i, details={"i": i, "金额": "12.30"})


def test_an_untouched_log_verifies(db: Database) -> None:
    _log(db)
    with db.transaction() as s:
        v = verify(s)
    assert v.ok and v.events == 5 and v.head_seq == 5


def test_an_edited_row_is_named(db: Database) -> None:
    _log(db)
    with intruder(db) as c:
        c.execute(text("UPDATE audit_events SET action = 'test.forged' WHERE seq = 3"))
    with db.transaction() as s:
        v = verify(s)
    assert [p.seq for p in v.problems] == [3]
    assert "event 3" in v.problems[0].message and "edited" in v.problems[0].message


def test_a_deleted_row_is_named(db: Database) -> None:
    _log(db)
    with intruder(db) as c:
        c.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    with db.transaction() as s:
        v = verify(s)
    assert any("event 2 missing before event 3" in p.message for p in v.problems)


def test_an_inserted_row_is_named(db: Database) -> None:
    _log(db)
    with intruder(db) as c:
        c.execute(text(
            "INSERT INTO audit_events (seq, at, action, actor, target_type, target_id, details, "
            "prev_hash, hash) SELECT 99, at, action, actor, target_type, target_id, details, "
            "prev_hash, hash FROM audit_events WHERE seq = 4"))
    with db.transaction() as s:
        v = verify(s)
    assert any(p.seq == 99 for p in v.problems)


def test_removing_the_newest_rows_is_found_against_the_anchor(db: Database) -> None:
    _log(db)
    with db.transaction() as s:
        head = verify(s).head_hash
    with intruder(db) as c:
        c.execute(text("DELETE FROM audit_events WHERE seq = 5"))
    with db.transaction() as s:
        v = verify(s, expect_head=head)
    assert not v.ok and "newest events were removed" in v.problems[0].message


PEER_SCHEME = """
id: peer-test
name: 同事评分
inputs:
  teamwork: {type: score, min: 0, max: 100, raters: [supervisor, peer]}
indicators:
  - {id: teamwork, rated: {raters: {supervisor: 60%, peer: 40%}}}
"""


def test_peer_ratings_are_anonymous_and_once_only(db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    src = tmp_path / "peer.yaml"
    src.write_text(PEER_SCHEME, encoding="utf-8")
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref=str(src), period="2026-10", actor=ADMIN).id
        target = s.scalar(select(Appraisal.id).join(Employee).where(
            Appraisal.cycle_id == cid, Employee.code == "E001"))
        assert target is not None
        e2, _ = actor_for(s, "e2")
        cycles.rate(s, appraisal_id=target, input_id="teamwork", value="80", actor=e2,
                    role="peer")
    with pytest.raises(Conflict, match=r"rated teamwork of appraisal \d+ already"), db.transaction() as s:
        e2, _ = actor_for(s, "e2")
        cycles.rate(s, appraisal_id=target, input_id="teamwork", value="90", actor=e2,
                    role="peer")
    with db.transaction() as s:
        ratings = s.scalars(select(Rating).where(Rating.rater_role == "peer")).all()
        assert len(ratings) == 1 and ratings[0].rater_user_id is None
        ballots = s.scalars(select(PeerBallot)).all()
        # the ballot says who has rated, never which rating is theirs
        assert {c.name for c in PeerBallot.__table__.columns} == {
            "id", "appraisal_id", "input_id", "user_id"}
        assert len(ballots) == 1 and ballots[0].id != ratings[0].id
        peer_events = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "rating.peer_given")).all()
        assert peer_events and all(e.actor["user_id"] is None for e in peer_events)


def test_a_rating_saved_twice_from_one_version_conflicts(db: Database, tmp_path: Path) -> None:
    """Both editors read version 1; the second save is refused and the first value kept."""
    setup_org(db, tmp_path)
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-10",
                                actor=ADMIN).id
        app = s.scalar(select(Appraisal.id).join(Employee).where(
            Appraisal.cycle_id == cid, Employee.code == "E001"))
        assert app is not None
        # the supervisor rates during the supervisor review
        cycles.transition(s, appraisal_id=app, trigger="submit_self_review", actor=ADMIN)
        sup1, _ = actor_for(s, "sup1")
        first = cycles.rate(s, appraisal_id=app, input_id="execution", value="一般", actor=sup1,
                            role="supervisor").version
    with db.transaction() as s1:
        a1, _ = actor_for(s1, "sup1")
        cycles.rate(s1, appraisal_id=app, input_id="execution", value="非常满意", actor=a1,
                    role="supervisor", expected_version=first)
    with pytest.raises(Conflict, match=r"saved by someone else \(now '非常满意'"), db.transaction() as s2:
        a2, _ = actor_for(s2, "sup1")
        cycles.rate(s2, appraisal_id=app, input_id="execution", value="不满意", actor=a2,
                    role="supervisor", expected_version=first)
    with db.transaction() as s:
        assert s.scalar(select(Rating.value).where(Rating.appraisal_id == app)) == "非常满意"


def test_a_noted_head_still_anchors_a_log_that_grew(db: Database) -> None:
    _log(db)
    with db.transaction() as s:
        head = verify(s).head_hash
    _log(db, 2)
    with db.transaction() as s:
        assert verify(s, expect_head=head[:16]).ok
        assert not verify(s, expect_head="0" * 16).ok
