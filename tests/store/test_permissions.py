"""Who may set what, when (kaohe.workflow.permissions) through the services: ratings only
from the declared rater in their state, never on one's own appraisal in another role, never
over an imported input; which value counts (import < rating < decision, the latest decision
winning); incidents inside their month, corrected and removed with a reason; a cycle that
cannot close while appeals may still come; peers' marks that no row pairs with a ballot."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kaohe.errors import InputError
from kaohe.store.db import Database
from kaohe.store.models import (
    Appraisal,
    AuditEvent,
    Employee,
    Incident,
    PeerBallot,
    Rating,
    Result,
    User,
)
from kaohe.workflow import appeals, cycles
from kaohe.workflow.audit import Actor
from kaohe.workflow.errors import Invalid, NotAllowed, WorkflowError
from kaohe.workflow.org import actor_for
from kaohe.workflow.permissions import RATING_RULES, Capacity, RaterRole

from .factories import ADMIN, input_row, setup_org, write_inputs

CODES = [f"E{i:03d}" for i in range(1, 7)]


def _cycle(db: Database, tmp: Path, scheme: str = "taobao-presales", *,
           rows: list[list[str]] | None = None) -> int:
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref=scheme, period="2026-10", actor=ADMIN).id
    if rows is not None:
        with db.transaction() as s:
            cycles.import_inputs(s, cycle_id=cid, path=write_inputs(tmp / "in.csv", rows),
                                 actor=ADMIN)
    return cid


def _rows(**kw: str) -> list[list[str]]:
    return [input_row(c, "2026-10", **kw) for c in CODES]


def _app(db: Database, cid: int, code: str) -> int:
    with db.read() as s:
        return int(s.scalar(select(Appraisal.id).join(Employee).where(
            Appraisal.cycle_id == cid, Employee.code == code)) or 0)


def _as(db: Database, username: str) -> Actor:
    with db.read() as s:
        return actor_for(s, username)[0]


def _move(db: Database, app: int, *triggers: str) -> None:
    with db.transaction() as s:
        for t in triggers:
            cycles.transition(s, appraisal_id=app, trigger=t, actor=ADMIN)


def _score(db: Database, cid: int) -> None:
    with db.transaction() as s:
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)


def _result(db: Database, app: int) -> dict[str, object]:
    with db.read() as s:
        payload = s.scalar(select(Result.payload).where(Result.appraisal_id == app,
                                                        Result.is_current.is_(True)))
        assert payload is not None
        return dict(payload)


def _publish(db: Database, cid: int, day: dt.date) -> None:
    with db.transaction() as s:
        for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=cid, trigger=step, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="approve", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="publish", actor=ADMIN, today=day)


def _promote(db: Database, username: str, role: str) -> None:
    """Give an agent a second role (a supervisor of their own team 一组, or HR)."""
    with db.transaction() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        user.roles = [*user.roles, role]
        if role == "supervisor":
            user.team_ids = [s.scalars(select(Employee.team_id).where(
                Employee.id == user.employee_id)).one()]


def _ratings(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Rating)) or 0)


def test_the_rating_table_names_one_capacity_and_its_states_per_rater() -> None:
    assert RATING_RULES[RaterRole.self].capacity is Capacity.own
    assert {s.value for s in RATING_RULES[RaterRole.self].states} == {"self_review"}
    assert {s.value for s in RATING_RULES[RaterRole.supervisor].states} == {"supervisor_review"}
    assert {s.value for s in RATING_RULES[RaterRole.manager].states} == {"second_review"}


def test_an_agent_cannot_rate_an_imported_input_or_one_the_supervisor_rates(
        db: Database, tmp_path: Path) -> None:
    """The review's reproductions: kf001 rating `sales` 99999999 as self, kf002 replacing
    the supervisor's 执行力 with a self-rating."""
    setup_org(db, tmp_path)
    cid = _cycle(db, tmp_path, rows=_rows(execution="不满意"))
    app = _app(db, cid, "E001")
    e1 = _as(db, "e1")
    for input_id, value in (("sales", "99999999"), ("execution", "非常满意")):
        with pytest.raises(NotAllowed), db.transaction() as s:
            cycles.rate(s, appraisal_id=app, input_id=input_id, value=value, actor=e1,
                        role="self")
        with pytest.raises(NotAllowed), db.transaction() as s:  # nor as anybody else
            cycles.rate(s, appraisal_id=app, input_id=input_id, value=value, actor=e1,
                        role="supervisor")
    assert _ratings(db) == 0
    _score(db, cid)
    assert _result(db, app)["indicators"]["execution"] == 0  # type: ignore[index]


def test_self_ratings_only_during_self_review_and_each_rater_in_their_state(
        db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    cid = _cycle(db, tmp_path, "taobao-policy")
    app = _app(db, cid, "E001")
    e1, sup1, boss = _as(db, "e1"), _as(db, "sup1"), _as(db, "boss")

    def rate(actor: Actor, role: str, value: str = "80") -> None:
        with db.transaction() as s:
            cycles.rate(s, appraisal_id=app, input_id="performance", value=value, actor=actor,
                        role=role)

    for actor, role in ((sup1, "supervisor"), (boss, "manager")):
        with pytest.raises(WorkflowError, match="rating is given during"):
            rate(actor, role)
    rate(e1, "self", "95")
    with db.transaction() as s:
        cycles.transition(s, appraisal_id=app, trigger="submit_self_review", actor=e1)
    with pytest.raises(WorkflowError, match="rating is given during"):
        rate(e1, "self", "100")  # the self-review is submitted
    with pytest.raises(NotAllowed):
        rate(e1, "supervisor", "100")
    rate(sup1, "supervisor")
    with pytest.raises(NotAllowed):
        rate(boss, "supervisor")  # a manager is not the team's supervisor
    with db.transaction() as s:
        cycles.transition(s, appraisal_id=app, trigger="submit_supervisor_review", actor=sup1)
    with pytest.raises(WorkflowError):
        rate(sup1, "supervisor", "10")
    rate(boss, "manager", "70")
    with db.read() as s:
        got = dict(s.execute(select(Rating.rater_role, Rating.value)
                             .where(Rating.appraisal_id == app)).all())
    assert got == {"self": "95", "supervisor": "80", "manager": "70"}


def test_a_supervisor_appraised_in_their_own_team_acts_on_it_only_as_themself(
        db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    _promote(db, "e5", "supervisor")  # E005 leads 一组 and is appraised in it
    cid = _cycle(db, tmp_path, rows=_rows())
    own, other = _app(db, cid, "E005"), _app(db, cid, "E003")
    lead = _as(db, "e5")
    _move(db, own, "submit_self_review")
    _move(db, other, "submit_self_review")
    with pytest.raises(NotAllowed), db.transaction() as s:
        cycles.rate(s, appraisal_id=own, input_id="execution", value="非常满意", actor=lead,
                    role="supervisor")
    with pytest.raises(NotAllowed), db.transaction() as s:
        cycles.transition(s, appraisal_id=own, trigger="submit_supervisor_review", actor=lead)
    with pytest.raises(NotAllowed), db.transaction() as s:
        cycles.add_incident(s, appraisal_id=own, input_id="bad_reviews",
                            date=dt.date(2026, 10, 3), count=Decimal(1), note="", actor=lead)
    with db.transaction() as s:  # a teammate's appraisal: yes
        cycles.rate(s, appraisal_id=other, input_id="execution", value="一般", actor=lead,
                    role="supervisor")
        cycles.transition(s, appraisal_id=other, trigger="submit_supervisor_review",
                          actor=lead)
    _promote(db, "e6", "hr")  # HR, appraised too, cannot correct their own result
    _score(db, cid)
    _publish(db, cid, dt.date(2026, 11, 5))
    with pytest.raises(NotAllowed), db.transaction() as s:
        appeals.correct(s, appraisal_id=_app(db, cid, "E006"), changes={"bad_reviews": "0"},
                        reason="自己改", actor=_as(db, "e6"))


def test_which_value_counts_import_then_rating_then_the_latest_decision(
        db: Database, tmp_path: Path) -> None:
    """The supervisor's 不满意 outranks the imported 比较满意; the granted appeal outranks
    the supervisor; a later HR correction outranks the appeal. Each result says which."""
    setup_org(db, tmp_path)
    cid = _cycle(db, tmp_path, rows=_rows(execution="比较满意"))
    app = _app(db, cid, "E001")
    _move(db, app, "submit_self_review")
    with db.transaction() as s:
        cycles.rate(s, appraisal_id=app, input_id="execution", value="不满意",
                    actor=_as(db, "sup1"), role="supervisor")
    _score(db, cid)
    rated = _result(db, app)
    assert rated["indicators"]["execution"] == 0  # type: ignore[index]
    assert rated["sources"] == {"execution": "rating:supervisor"}
    _publish(db, cid, dt.date(2026, 11, 5))
    e1 = _as(db, "e1")
    with db.transaction() as s:
        appeal = appeals.file_appeal(s, appraisal_id=app, reason="执行力评级有误", actor=e1,
                                     today=dt.date(2026, 11, 6))
        appeals.decide_appeal(s, appeal_id=appeal.id, accept=True, note="受理", actor=ADMIN,
                              today=dt.date(2026, 11, 6))
        appeals.resolve_appeal(s, appeal_id=appeal.id, changes={"execution": "非常满意"},
                               resolution="复核后上调", actor=ADMIN, today=dt.date(2026, 11, 9))
        appeal_id = appeal.id
    granted = _result(db, app)
    assert granted["indicators"]["execution"] == 10  # 100 points × 10 %
    assert Decimal(str(granted["total"])) == Decimal(str(rated["total"])) + 10
    assert granted["sources"] == {"execution": f"appeal {appeal_id}: 复核后上调"}
    with db.transaction() as s:
        appeals.correct(s, appraisal_id=app, changes={"execution": "一般"},
                        reason="复查聊天记录", actor=ADMIN)
    corrected = _result(db, app)
    assert corrected["indicators"]["execution"] == 6
    assert corrected["sources"] == {"execution": "correction: 复查聊天记录"}
    with db.read() as s:
        decided = s.scalar(select(Appraisal.decisions).where(Appraisal.id == app))
    assert decided is not None and decided["execution"]["was"] == "非常满意"


def test_incidents_are_dated_in_their_month_corrected_and_removed_with_a_reason(
        db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    cid = _cycle(db, tmp_path, rows=_rows())
    app = _app(db, cid, "E001")
    sup1 = _as(db, "sup1")
    for day in (dt.date(2026, 12, 25), dt.date(2026, 9, 30), dt.date(2026, 11, 1)):
        with pytest.raises(Invalid, match="between 2026-10-01 and 2026-10-31"), \
                db.transaction() as s:
            cycles.add_incident(s, appraisal_id=app, input_id="bad_reviews", date=day,
                                count=Decimal(1), note="差评", actor=sup1)
    with db.transaction() as s:
        inc = cycles.add_incident(s, appraisal_id=app, input_id="bad_reviews",
                                  date=dt.date(2026, 10, 31), count=Decimal(2), note="差评",
                                  actor=sup1).id
    _score(db, cid)
    assert _result(db, app)["adjustments"] == {"bad_review_deduction": -100}
    with pytest.raises(Invalid, match="reason"), db.transaction() as s:
        cycles.correct_incident(s, appraisal_id=app, incident_id=inc, count=Decimal(1),
                                reason=" ", actor=sup1)
    with db.transaction() as s:
        cycles.correct_incident(s, appraisal_id=app, incident_id=inc, count=Decimal(1),
                                reason="一单重复记录", actor=sup1)
    _score(db, cid)
    assert _result(db, app)["adjustments"] == {"bad_review_deduction": -50}
    with pytest.raises(NotAllowed), db.transaction() as s:  # not the employee
        cycles.remove_incident(s, appraisal_id=app, incident_id=inc, reason="x",
                               actor=_as(db, "e1"))
    with db.transaction() as s:
        cycles.remove_incident(s, appraisal_id=app, incident_id=inc, reason="差评已撤销",
                               actor=sup1)
    _score(db, cid)
    assert _result(db, app)["adjustments"] == {"bad_review_deduction": 0}
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 0
        events = {e.action: e.details for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action.like("incident.%")))}
    assert Decimal(events["incident.corrected"]["before"]["count"]) == 2
    assert Decimal(events["incident.corrected"]["after"]["count"]) == 1
    assert events["incident.removed"]["reason"] == "差评已撤销"
    assert events["incident.removed"]["removed"]["note"] == "差评"


def test_scorecard_lines_add_up_to_the_total(db: Database, tmp_path: Path) -> None:
    """Indicators, adjustments (差评扣分) and the total's floor line sum to the total, also
    where the deductions pass the floor (3 bad reviews: 150 points off, total 0)."""
    setup_org(db, tmp_path)
    bad = [0, 1, 2, 3, 4, 0]
    rows = [input_row(c, "2026-10", bad_reviews=str(n)) for c, n in zip(CODES, bad,
                                                                       strict=True)]
    cid = _cycle(db, tmp_path, rows=rows)
    _score(db, cid)
    with db.read() as s:
        payloads = {p["employee"]: p for p in s.scalars(select(Result.payload).join(
            Appraisal).where(Appraisal.cycle_id == cid, Result.is_current.is_(True)))}
    assert len(payloads) == 6
    for code, n in zip(CODES, bad, strict=True):
        p = payloads[code]
        assert p["adjustments"] == {"bad_review_deduction": -50 * n}
        lines = [*p["indicators"].values(), *p["adjustments"].values()]
        if p["limit"] is not None:
            lines.append(p["limit"])
        assert sum(Decimal(str(x)) for x in lines) == Decimal(str(p["total"]))
    assert payloads["E004"]["total"] == 0 and payloads["E004"]["limit"] > 0
    assert payloads["E001"]["limit"] is None


def test_a_ratio_above_100_percent_is_refused_naming_row_column_value(
        db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    rows = _rows()
    rows[2][11] = "197%"
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-10",
                                actor=ADMIN).id
    with pytest.raises(InputError) as err, db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=write_inputs(tmp_path / "r.csv", rows),
                             actor=ADMIN)
    assert (err.value.row, err.value.column, err.value.value) == (4, "satisfaction", "197%")
    with db.read() as s:
        assert not any(a.inputs for a in s.scalars(select(Appraisal)))


def test_a_cycle_does_not_close_while_an_appeal_may_still_come(
        db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    cid = _cycle(db, tmp_path, rows=_rows())
    _score(db, cid)
    published = dt.date(2026, 11, 5)
    _publish(db, cid, published)
    with db.read() as s:
        due = s.scalar(select(func.max(Appraisal.appeal_due)))
    assert due is not None and due > published
    with pytest.raises(WorkflowError, match=f"open until {due.isoformat()}"), \
            db.transaction() as s:
        cycles.cycle_transition(s, cycle_id=cid, trigger="close", actor=ADMIN, today=due)
    with db.transaction() as s:  # an appeal filed on the last day
        appeals.file_appeal(s, appraisal_id=_app(db, cid, "E001"), reason="有误",
                            actor=_as(db, "e1"), today=due)
    after = due + dt.timedelta(days=1)
    with pytest.raises(WorkflowError, match="appeals are still open"), db.transaction() as s:
        cycles.cycle_transition(s, cycle_id=cid, trigger="close", actor=ADMIN, today=after)
    with db.read() as s:
        appeal_id = s.scalars(select(appeals.Appeal.id)).one()
    with db.transaction() as s:
        appeals.decide_appeal(s, appeal_id=appeal_id, accept=False, note="维持", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="close", actor=ADMIN, today=after)


PEER_SCHEME = """
id: peer-test
name: 同事评分
inputs:
  teamwork: {type: score, min: 0, max: 100, raters: [supervisor, peer]}
indicators:
  - {id: teamwork, rated: {raters: {supervisor: 60%, peer: 40%}}}
"""


def test_peer_marks_are_one_tally_no_row_pairs_with_a_ballot(db: Database,
                                                            tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    src = tmp_path / "peer.yaml"
    src.write_text(PEER_SCHEME, encoding="utf-8")
    cid = _cycle(db, tmp_path, str(src))
    target = _app(db, cid, "E001")
    for user, mark in (("e2", "80"), ("e3", "90"), ("e4", "70")):
        with db.transaction() as s:
            cycles.rate(s, appraisal_id=target, input_id="teamwork", value=mark,
                        actor=_as(db, user), role="peer")
    with pytest.raises(NotAllowed), db.transaction() as s:  # never on oneself
        cycles.rate(s, appraisal_id=target, input_id="teamwork", value="100",
                    actor=_as(db, "e1"), role="peer")
    with db.read() as s:
        marks = s.scalars(select(Rating.value).where(Rating.rater_role == "peer")).all()
        assert s.scalar(select(func.count()).select_from(PeerBallot)) == 3
    assert marks == ["240"]  # one tally: no single peer's mark is stored anywhere
    with db.read() as s:  # what the engine reads: the peers' mean
        cycle = cycles.get_cycle(s, cid)
        frame = cycles.history_frame(s, cycle, cycles.scheme_of(cycle.scheme_version))
        row = frame.filter(frame["employee"] == "E001").to_dicts()[0]
    assert Decimal(row["teamwork@peer"]) == 80 and row["teamwork@supervisor"] is None


def test_every_guard_and_effect_named_in_the_state_tables_is_carried_out() -> None:
    from kaohe.workflow import states, transitions

    for t in states.APPRAISAL.values():
        assert set(t.guards) | set(t.effects) <= set(transitions.APPRAISAL_STEPS), t.trigger
        assert not (t.bulk and t.guards), t.trigger  # a bulk move runs no guard
        assert t.roles <= set(Capacity), t.trigger
    for t in states.CYCLE.values():
        assert set(t.guards) | set(t.effects) <= set(transitions.CYCLE_STEPS), t.trigger
    assert states.CYCLE["close"].guards == ("no_open_appeals", "appeal_windows_over")
    assert not states.APPRAISAL["close"].bulk  # closing goes through the cycle's guards
