"""Appeals (申诉), HR corrections, feedback meetings (面谈), and what is overdue.

A published result changes only here: an appeal resolution or an HR correction with a
reason. Both record the granted values as decisions (which count over imported inputs and
ratings, the latest decision winning: see ``cycles.history_frame``), re-score the cycle
with the engine, and store a new result revision for every appraisal whose numbers moved
(a teammate's rank or pool share can move too), all in the caller's transaction with its
audit event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kaohe import localtime
from kaohe.settings import settings
from kaohe.store.models import (
    Appeal,
    AppealState,
    Appraisal,
    AppraisalState,
    Cycle,
    Employee,
    FeedbackMeeting,
    Result,
)
from kaohe.text import N_, Text
from kaohe.workflow import cycles, permissions, states
from kaohe.workflow.audit import Actor, record
from kaohe.workflow.calendar import add_workdays
from kaohe.workflow.errors import Conflict, Invalid, NotFound, WorkflowError
from kaohe.workflow.seal import seal


def file_appeal(session: Session, *, appraisal_id: int, reason: str, actor: Actor,
                today: dt.date | None = None) -> Appeal:
    day = today or localtime.today()
    app = cycles.get_appraisal(session, appraisal_id)
    if not reason.strip():
        raise Invalid(Text(N_("an appeal needs a written reason")))
    if app.appeal_due is not None and day > app.appeal_due:
        raise WorkflowError(Text(N_("the appeal window closed on %(due)s (%(days)s working days "
                                    "after publication)"), due=app.appeal_due.isoformat(),
                                 days=settings().appeal_window_workdays))
    cycles.transition(session, appraisal_id=app.id, trigger="appeal", actor=actor)
    accept = add_workdays(day, settings().appeal_accept_workdays)
    resolve = add_workdays(day, settings().appeal_resolve_workdays)
    appeal = Appeal(appraisal_id=app.id, state=AppealState.filed, reason=reason, filed_on=day,
                    accept_due=accept.due, resolve_due=resolve.due)
    session.add(appeal)
    session.flush()
    record(session, action="appeal.filed", actor=actor, target_type="appeal", target_id=appeal.id,
           details={"appraisal": app.id, "reason": reason, "accept_due": accept.due,
                    "resolve_due": resolve.due})
    return appeal


def get_appeal(session: Session, appeal_id: int) -> Appeal:
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(f"no appeal {appeal_id}")
    return appeal


def decide_appeal(session: Session, *, appeal_id: int, accept: bool, note: str, actor: Actor,
                  today: dt.date | None = None) -> Appeal:
    appeal = get_appeal(session, appeal_id)
    permissions.check(session, actor, cycles.get_appraisal(session, appeal.appraisal_id),
                      "decide_appeal")
    if appeal.state is not AppealState.filed:
        raise WorkflowError(Text(N_("appeal %(id)s is %(state)s, not filed"), id=appeal.id,
                                 state=states.state_term(appeal.state.value)))
    appeal.state = AppealState.accepted if accept else AppealState.rejected
    appeal.decided_on = today or localtime.today()
    appeal.decision_note = note
    if not accept:
        cycles.transition(session, appraisal_id=appeal.appraisal_id, trigger="resolve",
                          actor=actor, note=f"appeal {appeal.id} rejected")
    _flush(session, appeal)
    record(session, action="appeal.accepted" if accept else "appeal.rejected", actor=actor,
           target_type="appeal", target_id=appeal.id, details={"note": note})
    return appeal


def resolve_appeal(session: Session, *, appeal_id: int, changes: dict[str, str],
                   resolution: str, actor: Actor, today: dt.date | None = None) -> list[int]:
    appeal = get_appeal(session, appeal_id)
    permissions.check(session, actor, cycles.get_appraisal(session, appeal.appraisal_id),
                      "resolve_appeal")
    if appeal.state is not AppealState.accepted:
        raise WorkflowError(Text(N_("appeal %(id)s is %(state)s; accept it first"), id=appeal.id,
                                 state=states.state_term(appeal.state.value)))
    if not resolution.strip():
        raise Invalid(Text(N_("a resolution needs a written explanation")))
    app = cycles.get_appraisal(session, appeal.appraisal_id)
    # inputs named by id or by label (执行力), stored by id
    changes = checked_changes(cycles.scheme_of(app.cycle.scheme_version), changes)
    moved = _apply_and_rescore(session, app, changes, f"appeal {appeal.id}", resolution)
    appeal.state = AppealState.resolved
    appeal.resolved_on = today or localtime.today()
    appeal.resolution = resolution
    appeal.changes = changes
    cycles.transition(session, appraisal_id=app.id, trigger="resolve", actor=actor,
                      note=resolution)
    _flush(session, appeal)
    record(session, action="appeal.resolved", actor=actor, target_type="appeal",
           target_id=appeal.id, details={"changes": changes, "resolution": resolution,
                                         "rescored": moved})
    seal(session, cycle_id=app.cycle_id, actor=actor, reason=f"appeal {appeal.id}",
         appraisal_ids=moved)
    return moved


def correct(session: Session, *, appraisal_id: int, changes: dict[str, str], reason: str,
            actor: Actor) -> list[int]:
    """An HR correction of a published appraisal, with a reason, re-scored and recorded."""
    app = cycles.get_appraisal(session, appraisal_id)
    if app.state.value not in states.FROZEN:
        permissions.check(session, actor, app, "correct")  # refuses HR on their own first
        raise WorkflowError(Text(N_("appraisal %(id)s is not published yet; edit its inputs "
                                    "and re-score the cycle instead"), id=app.id))
    permissions.check(session, actor, app, "correct")
    if not reason.strip():
        raise Invalid(Text(N_("a correction needs a reason")))
    moved = _apply_and_rescore(session, app, changes, "correction", reason)
    record(session, action="appraisal.corrected", actor=actor, target_type="appraisal",
           target_id=app.id, details={"changes": changes, "reason": reason, "rescored": moved})
    seal(session, cycle_id=app.cycle_id, actor=actor, reason=f"correction: {reason}",
         appraisal_ids=moved)
    return moved


def _apply_and_rescore(session: Session, app: Appraisal, changes: dict[str, str],
                       by: str, reason: str) -> list[int]:
    """Record the granted values as decisions on the appraisal (an input id, or
    ``id@rater`` for one rater's mark of a multi-rater input) and re-score the cycle."""
    scheme = cycles.scheme_of(app.cycle.scheme_version)
    decisions = dict(app.decisions or {})
    seq = max((int(d.get("seq", 0)) for d in decisions.values()), default=0)
    counted = _counted(session, app)
    for key, value in checked_changes(scheme, changes).items():
        seq += 1
        decisions[key] = {"value": value, "by": by, "reason": reason, "seq": seq,
                          "was": counted.get(key)}
    app.decisions = decisions
    _flush(session, app)
    recs, hashes, _ = cycles.compute_results(session, app.cycle)
    current = {r.appraisal_id: r.payload for r in session.scalars(
        select(Result).join(Appraisal).where(Appraisal.cycle_id == app.cycle_id,
                                             Result.is_current.is_(True)))}
    codes = dict(session.execute(select(Employee.code, Appraisal.id).join(
        Appraisal, Appraisal.employee_id == Employee.id).where(
        Appraisal.cycle_id == app.cycle_id)).all())
    moved = {codes[r["employee"]] for r in recs
             if codes.get(r["employee"]) is not None and current.get(codes[r["employee"]]) != r}
    moved.add(app.id)
    cycles.write_results(session, app.cycle, recs, hashes, reason, only=moved)
    return sorted(moved)


def input_key(scheme: Any, key: str) -> str:
    """An input named by its id or its label (执行力), with ``@rater`` for one rater's mark of
    a multi-rater input: its column (``execution``, ``teamwork@peer``)."""
    ident, at, rater = key.strip().partition("@")
    if ident not in scheme.inputs:
        by_label = [i for i, spec in scheme.inputs.items()
                    if ident in (spec.label, spec.label_en, *spec.aliases)]
        if len(by_label) == 1:
            ident = by_label[0]
    return ident + at + rater.strip()


def checked_changes(scheme: Any, changes: dict[str, str]) -> dict[str, str]:
    """The granted values keyed by column, each checked against its input (type, levels,
    bounds); an unknown input or a bad value is refused, naming it."""
    out: dict[str, str] = {}
    for raw, value in changes.items():
        key = input_key(scheme, raw)
        ident, _, rater = key.partition("@")
        spec = scheme.inputs.get(ident)
        if spec is None or (rater and rater not in (spec.raters or [])) or (
                spec.raters and not rater):
            raise Invalid(Text(N_("%(key)s is not an input of scheme %(scheme)s%(hint)s"),
                               key=repr(raw), scheme=scheme.id,
                               hint=f" (one of {', '.join(f'{ident}@{r}' for r in spec.raters)})"
                               if spec is not None and spec.raters else ""))
        cycles.check_value(spec, value, key)
        out[key] = value
    return out


@dataclass(frozen=True)
class FormInput:
    """One input as the appeal desk's form offers it: by label, with its levels."""

    key: str  # the column: an input id, or id@rater
    label: str
    label_en: str
    type: str
    levels: list[str]
    current: str | None  # the value that counts now


def form_inputs(session: Session, app: Appraisal) -> list[FormInput]:
    """Every input of the appraisal's scheme, with the value that counts now."""
    scheme = cycles.scheme_of(app.cycle.scheme_version)
    counted = _counted(session, app)
    out = []
    for ident, spec in scheme.inputs.items():
        for key in ([f"{ident}@{r}" for r in spec.raters] if spec.raters else [ident]):
            suffix = f" @{key.partition('@')[2]}" if "@" in key else ""
            out.append(FormInput(key, (spec.label or ident) + suffix,
                                 (spec.label_en or ident) + suffix, spec.type,
                                 list(spec.levels or []), counted.get(key)))
    return out


@dataclass(frozen=True)
class DryRun:
    """What resolving an appeal with some changes would give, worked out without saving."""

    changes: dict[str, str]  # by column, checked
    before: dict[str, Any]  # the current result (total, grade, pay, rank)
    after: dict[str, Any]  # the result the decision would give
    others: list[str]  # colleagues whose result would move too (rank, pool share)


def dry_resolution(session: Session, *, appeal_id: int, changes: dict[str, str],
                   actor: Actor) -> DryRun:
    """Score the cycle through the engine as if the changes were granted (nothing is
    written): the appellant's result before and after, and who else would move."""
    from kaohe.engine.results import result_records
    from kaohe.engine.score import score_table
    from kaohe.errors import InputError
    from kaohe.ingest.table import prepare

    appeal = get_appeal(session, appeal_id)
    app = cycles.get_appraisal(session, appeal.appraisal_id)
    permissions.check(session, actor, app, "resolve_appeal")
    cycle = app.cycle
    scheme = cycles.scheme_of(cycle.scheme_version)
    granted = checked_changes(scheme, changes)
    frame = cycles.history_frame(session, cycle, scheme)
    row = (pl.col("employee") == app.employee.code) & (pl.col("period") == cycle.period)
    frame = frame.with_columns([pl.when(row).then(pl.lit(v, dtype=pl.String))
                                .otherwise(pl.col(k)).alias(k) for k, v in granted.items()])
    try:
        table = prepare(frame, scheme, f"cycle {cycle.scheme_id} {cycle.period}")
        outcome = score_table(scheme, table).outcome
    except InputError as exc:
        raise Invalid(Text(N_("the decision cannot be scored: %(problem)s"),
                           problem=exc)) from None
    new = {r["employee"]: r for r in result_records(outcome, table)
           if r["period"] == cycle.period}
    old: dict[str, Any] = dict(session.execute(
        select(Employee.code, Result.payload)
        .join(Appraisal, Appraisal.employee_id == Employee.id)
        .join(Result, (Result.appraisal_id == Appraisal.id) & Result.is_current.is_(True))
        .where(Appraisal.cycle_id == cycle.id)).all())

    def brief(rec: dict[str, Any] | None) -> dict[str, Any]:
        rec = rec or {}
        return {"total": rec.get("total"), "grade": rec.get("grade"), "rank": rec.get("rank"),
                "pay": (rec.get("pay") or {}).get("total"), "excluded": rec.get("excluded")}

    code = app.employee.code
    others = sorted(c for c in set(new) | set(old) if c != code and brief(new.get(c)) != brief(
        old.get(c)))
    return DryRun(granted, brief(old.get(code)), brief(new.get(code)), others)


def _counted(session: Session, app: Appraisal) -> dict[str, Any]:
    """The input values of an appraisal that count now (before a decision replaces one)."""
    cycle = app.cycle
    frame = cycles.history_frame(session, cycle, cycles.scheme_of(cycle.scheme_version))
    hit = frame.filter((pl.col("employee") == app.employee.code)
                       & (pl.col("period") == cycle.period))
    return hit.to_dicts()[0] if hit.height else {}


def _flush(session: Session, obj: Any) -> None:
    what = f"{type(obj).__name__.lower()} {obj.id}"
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(Text(N_("%(what)s was changed by someone else; reload and try again"),
                            what=what)) from None


def record_feedback(session: Session, *, appraisal_id: int, held_on: dt.date, notes: str,
                    actor: Actor) -> FeedbackMeeting:
    app = cycles.get_appraisal(session, appraisal_id)
    permissions.check(session, actor, app, "record_feedback")
    if not notes.strip():
        raise Invalid(Text(N_("a feedback meeting needs notes")))
    fm = FeedbackMeeting(appraisal_id=app.id, held_on=held_on, notes=notes,
                         recorded_by=actor.username)
    session.add(fm)
    session.flush()
    record(session, action="feedback.recorded", actor=actor, target_type="appraisal",
           target_id=app.id, details={"held_on": held_on})
    return fm


@dataclass(frozen=True)
class Overdue:
    kind: str  # appeal_decision | appeal_resolution | feedback_meeting
    due: dt.date
    appraisal_id: int
    employee: str
    detail: str  # in English, for the CLI (pages write their own, from the fields)
    team: str = ""  # the team's code when appraised
    appeal_id: int | None = None
    since: dt.date | None = None  # the appeal's filing day
    name: str = ""  # the employee's name
    team_id: int | None = None
    period: str = ""


def overdue(session: Session, *, today: dt.date | None = None,
            until: dt.date | None = None) -> list[Overdue]:
    """What is late on ``today``: due before it. With ``until``, also what falls due up to
    and including that day (reminders look a little ahead)."""
    day = today or localtime.today()
    last = until if until is not None else day - dt.timedelta(days=1)
    out: list[Overdue] = []
    q = (select(Appeal, Employee, Appraisal.team_code, Cycle.period)
         .join(Appraisal, Appraisal.id == Appeal.appraisal_id)
         .join(Employee, Employee.id == Appraisal.employee_id)
         .join(Cycle, Cycle.id == Appraisal.cycle_id))
    for appeal, emp, team, period in session.execute(
            q.where(Appeal.state == AppealState.filed, Appeal.accept_due <= last)):
        out.append(Overdue("appeal_decision", appeal.accept_due, appeal.appraisal_id, emp.code,
                           f"appeal {appeal.id} filed {appeal.filed_on}: accept or reject",
                           name=emp.name, team=team, team_id=emp.team_id, appeal_id=appeal.id,
                           period=period, since=appeal.filed_on))
    for appeal, emp, team, period in session.execute(
            q.where(Appeal.state == AppealState.accepted, Appeal.resolve_due <= last)):
        out.append(Overdue("appeal_resolution", appeal.resolve_due, appeal.appraisal_id,
                           emp.code, f"appeal {appeal.id} accepted: resolve it", name=emp.name,
                           team=team, team_id=emp.team_id, appeal_id=appeal.id, period=period,
                           since=appeal.filed_on))
    held = select(FeedbackMeeting.appraisal_id)
    for app, emp in session.execute(
            select(Appraisal, Employee).join(Employee, Employee.id == Appraisal.employee_id)
            .where(Appraisal.feedback_due <= last, ~Appraisal.id.in_(held),
                   Appraisal.state.in_([AppraisalState.published, AppraisalState.acknowledged,
                                        AppraisalState.appealed, AppraisalState.resolved]))):
        assert app.feedback_due is not None
        out.append(Overdue("feedback_meeting", app.feedback_due, app.id, emp.code,
                           "feedback meeting not recorded", name=emp.name, team=app.team_code,
                           team_id=emp.team_id, period=app.cycle.period))
    return sorted(out, key=lambda o: (o.due, o.kind, o.employee))
