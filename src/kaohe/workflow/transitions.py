"""Cycles and appraisals through their state tables (kaohe.workflow.states): opening a cycle,
one appraisal's move, HR's bulk moves, the cycle's own moves. Who may fire a transition,
the guards that must hold and the side effects it has are declared in the tables; this
module carries them out, with the audit event, in the caller's transaction."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update
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
    CycleState,
    Employee,
    Result,
    Role,
    SchemeVersion,
    utcnow,
)
from kaohe.text import N_, Text
from kaohe.workflow import permissions, states
from kaohe.workflow.audit import Actor, record
from kaohe.workflow.calendar import add_workdays
from kaohe.workflow.errors import Conflict, Invalid, NotAllowed, NotFound, WorkflowError
from kaohe.workflow.schemes import save_scheme, scheme_text

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# -- cycles ----------------------------------------------------------------------------
def get_cycle(session: Session, cycle_id: int) -> Cycle:
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise NotFound(Text(N_("no cycle %(id)s"), id=cycle_id))
    return cycle


def find_cycle(session: Session, *, scheme_id: str, period: str) -> Cycle:
    cycle = session.scalar(select(Cycle).where(Cycle.scheme_id == scheme_id,
                                               Cycle.period == period))
    if cycle is None:
        raise NotFound(f"no cycle for scheme {scheme_id!r} and period {period}")
    return cycle


def require_role(actor: Actor, roles: set[str], what: str) -> None:
    """An action on a whole cycle: one of ``roles`` (see :mod:`kaohe.workflow.permissions`)."""
    permissions.require(actor, frozenset(Role(r) for r in roles), what)


def open_cycle(session: Session, *, scheme_ref: str = "", period: str, actor: Actor,
               version_id: int | None = None) -> Cycle:
    """Create the cycle, pin the scheme version, and one appraisal per active employee. The
    scheme is a preset id or a YAML file (``scheme_ref``), or a saved version."""
    require_role(actor, {"hr", "admin"}, "open a cycle")
    if not PERIOD_RE.match(period):
        raise Invalid(Text(N_("period %(period)s: expected a month written YYYY-MM, e.g. 2026-10"),
                           period=repr(period)))
    if version_id is not None:
        found = session.get(SchemeVersion, version_id)
        if found is None:
            raise NotFound(Text(N_("no saved scheme version %(id)s"), id=version_id))
        sv = found
    else:
        text, source = scheme_text(scheme_ref)
        sv = save_scheme(session, text=text, source=source, actor=actor)
    if session.scalar(select(Cycle).where(Cycle.scheme_id == sv.scheme_id,
                                          Cycle.period == period)) is not None:
        raise WorkflowError(Text(N_("a cycle for %(scheme)s %(period)s exists already"),
                                 scheme=sv.scheme_id, period=period))
    cycle = Cycle(scheme_id=sv.scheme_id, scheme_version=sv, period=period,
                  state=CycleState.draft)
    session.add(cycle)
    session.flush()
    states.find(states.CYCLE, "open", cycle.state.value, "cycle")
    cycle.state = CycleState.open
    emps = session.execute(
        select(Employee.id, Employee.team_id).where(Employee.status == "active")).all()
    from kaohe.store.models import Team

    team_codes = dict(session.execute(select(Team.id, Team.code)).all())
    if emps:
        session.execute(insert(Appraisal), [
            {"cycle_id": cycle.id, "employee_id": e.id, "team_code": team_codes.get(e.team_id, ""),
             "state": AppraisalState.self_review, "version": 1, "inputs": {}}
            for e in emps
        ])
    session.flush()
    record(session, action="cycle.opened", actor=actor, target_type="cycle", target_id=cycle.id,
           details={"scheme": sv.scheme_id, "scheme_version": sv.version,
                    "scheme_hash": sv.content_hash, "period": period, "appraisals": len(emps)})
    return cycle


# -- appraisal transitions ---------------------------------------------------------------
def get_appraisal(session: Session, appraisal_id: int) -> Appraisal:
    app = session.get(Appraisal, appraisal_id)
    if app is None:
        raise NotFound(Text(N_("no appraisal %(id)s"), id=appraisal_id))
    return app


@dataclass
class Move:
    """One firing of a transition, as its guards and side effects see it."""

    session: Session
    actor: Actor
    note: str = ""
    today: dt.date | None = None
    #: what the audit event records besides from/to (effects add to it)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def day(self) -> dt.date:
        return self.today or localtime.today()


AppraisalStep = Callable[[Move, Appraisal], None]
CycleStep = Callable[[Move, Cycle], None]


# -- guards and side effects named in the state tables ------------------------------------
def _cycle_published(move: Move, app: Appraisal) -> None:
    if app.cycle.state is not CycleState.published:
        raise WorkflowError(Text(N_("appraisals are published with their cycle: `kaohe cycle "
                                    "publish`")))


def _keep_self_review(move: Move, app: Appraisal) -> None:
    if move.note:
        app.self_review = move.note


def _keep_supervisor_comment(move: Move, app: Appraisal) -> None:
    if move.note:
        app.supervisor_comment = move.note


def _record_acknowledgement(move: Move, app: Appraisal) -> None:
    from kaohe.store.models import Acknowledgement

    user = permissions.user_of(move.session, move.actor)
    assert user is not None  # "own" needs a user
    move.session.add(Acknowledgement(appraisal_id=app.id, user_id=user.id))


def _all_waiting_for_hr(move: Move, cycle: Cycle) -> None:
    counts = dict(move.session.execute(
        select(Appraisal.state, func.count()).where(Appraisal.cycle_id == cycle.id)
        .group_by(Appraisal.state)).all())
    not_ready = {k.value: v for k, v in counts.items() if k is not AppraisalState.hr_approval}
    if not_ready:
        raise WorkflowError(Text(N_("every appraisal must be waiting for HR approval first; "
                                    "still: %(states)s"),
                                 states=", ".join(f"{v} {k}"
                                                  for k, v in sorted(not_ready.items()))))


def _all_scored(move: Move, cycle: Cycle) -> None:
    unscored = move.session.scalar(
        select(func.count()).select_from(Appraisal).where(
            Appraisal.cycle_id == cycle.id,
            ~Appraisal.id.in_(select(Result.appraisal_id).where(Result.is_current.is_(True)))))
    if unscored:
        raise WorkflowError(Text(N_("%(n)s appraisals have no score yet: `kaohe cycle score`"),
                                 n=unscored))


def _publish_appraisals(move: Move, cycle: Cycle) -> None:
    appeal_due = add_workdays(move.day, settings().appeal_window_workdays)
    feedback_due = move.day + dt.timedelta(days=settings().feedback_days)
    res = move.session.execute(
        update(Appraisal).where(Appraisal.cycle_id == cycle.id,
                                Appraisal.state == AppraisalState.hr_approval)
        .values(state=AppraisalState.published, published_at=utcnow(),
                appeal_due=appeal_due.due, feedback_due=feedback_due,
                version=Appraisal.version + 1)
        .execution_options(synchronize_session=False))
    cycle.published_at = utcnow()
    move.details.update(published=int(res.rowcount or 0),  # type: ignore[attr-defined]
                        appeal_due=appeal_due.due, feedback_due=feedback_due,
                        calendar_official=appeal_due.official)


def _no_open_appeals(move: Move, cycle: Cycle) -> None:
    open_appeals = move.session.scalar(
        select(func.count()).select_from(Appeal).join(Appraisal).where(
            Appraisal.cycle_id == cycle.id,
            Appeal.state.in_([AppealState.filed, AppealState.accepted])))
    if open_appeals:
        raise WorkflowError(Text(N_("%(n)s appeals are still open"), n=open_appeals))


def _appeal_windows_over(move: Move, cycle: Cycle) -> None:
    """Closing archives the appraisals: nobody could appeal or acknowledge any more."""
    window = move.session.scalar(
        select(func.max(Appraisal.appeal_due)).where(
            Appraisal.cycle_id == cycle.id, Appraisal.state == AppraisalState.published,
            Appraisal.appeal_due >= move.day))
    if window is not None:
        raise WorkflowError(Text(N_("the appeal window is open until %(due)s: close the cycle "
                                    "after it"), due=window.isoformat()))


def _archive_appraisals(move: Move, cycle: Cycle) -> None:
    move.session.execute(
        update(Appraisal).where(Appraisal.cycle_id == cycle.id,
                                Appraisal.state.in_([AppraisalState.published,
                                                     AppraisalState.acknowledged,
                                                     AppraisalState.resolved]))
        .values(state=AppraisalState.closed, version=Appraisal.version + 1)
        .execution_options(synchronize_session=False))


#: the guards and side effects the state tables name, by name
APPRAISAL_STEPS: dict[str, AppraisalStep] = {
    "cycle_published": _cycle_published,
    "keep_self_review": _keep_self_review,
    "keep_supervisor_comment": _keep_supervisor_comment,
    "record_acknowledgement": _record_acknowledgement,
}
CYCLE_STEPS: dict[str, CycleStep] = {
    "all_waiting_for_hr": _all_waiting_for_hr,
    "all_scored": _all_scored,
    "publish_appraisals": _publish_appraisals,
    "no_open_appeals": _no_open_appeals,
    "appeal_windows_over": _appeal_windows_over,
    "archive_appraisals": _archive_appraisals,
}


def transition(session: Session, *, appraisal_id: int, trigger: str, actor: Actor,
               expected_version: int | None = None, note: str = "") -> Appraisal:
    """Fire one transition of the appraisal table, if the actor's capacity on this
    appraisal is among the transition's (own appraisals only as ``own``): its guards must
    hold, then its side effects run, the state changes and the event is recorded."""
    app = get_appraisal(session, appraisal_id)
    user = permissions.user_of(session, actor)
    spec = states.APPRAISAL.get(trigger)
    if spec is not None and not spec.roles & permissions.capacities(actor, user, app):
        raise NotAllowed(Text(N_("%(user)s may not %(action)s appraisal %(id)s"),
                              user=actor.username, action=states.action_term(trigger), id=app.id))
    t = states.find(states.APPRAISAL, trigger, app.state.value, "appraisal")
    if expected_version is not None and app.version != expected_version:
        raise Conflict(Text(N_("appraisal %(id)s was changed by someone else (version "
                               "%(version)s, you had %(yours)s); reload and try again"),
                            id=app.id, version=app.version, yours=expected_version))
    move = Move(session, actor, note)
    for name in (*t.guards, *t.effects):
        APPRAISAL_STEPS[name](move, app)
    before = app.state.value
    app_id = app.id
    app.state = AppraisalState(t.dest)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(Text(N_("appraisal %(id)s was changed by someone else; reload and try "
                               "again"), id=app_id)) from None
    record(session, action=f"appraisal.{trigger}", actor=actor, target_type="appraisal",
           target_id=app.id, details={"from": before, "to": t.dest, "note": note})
    return app


def advance_all(session: Session, *, cycle_id: int, trigger: str, actor: Actor) -> int:
    """Fire one transition on every appraisal of the cycle that is in its source state
    (HR's bulk path; one UPDATE, one audit event naming the appraisals moved, so that the
    move can be undone exactly: :func:`undo_bulk`). Transitions with guards or side effects
    of their own (acknowledge, appeal, publish, resolve) are not bulk moves; steps back
    (``reverse``) only while the cycle is not approved or published."""
    cycle = get_cycle(session, cycle_id)
    t = states.APPRAISAL.get(trigger)
    if t is None:
        raise Invalid(f"unknown action {trigger!r}; known: {', '.join(states.APPRAISAL)}")
    if not t.bulk:
        raise Invalid(f"{trigger} is not a bulk action")
    require_role(actor, {"hr", "admin"}, f"{trigger} every appraisal")
    if t.reverse:
        _before_approval(cycle, trigger)
    moved = _move(session, cycle.id, t, None)
    record(session, action=f"cycle.bulk_{trigger}", actor=actor, target_type="cycle",
           target_id=cycle.id, details={"appraisals": len(moved), "to": t.dest,
                                        "ids": moved})
    return len(moved)


def _before_approval(cycle: Cycle, trigger: str) -> None:
    if cycle.state not in (CycleState.open, CycleState.reviewing):
        raise WorkflowError(Text(N_("cannot %(action)s: cycle %(id)s is %(state)s (a step back "
                                    "is possible only before the cycle is approved)"),
                                 action=states.action_term(trigger), id=cycle.id,
                                 state=states.state_term(cycle.state.value)))


def _move(session: Session, cycle_id: int, t: states.Transition,
          only: list[int] | None) -> list[int]:
    """Move the cycle's appraisals in ``t``'s source states (of ``only``, when given) to its
    destination, in one UPDATE: the ids moved."""
    where = [Appraisal.cycle_id == cycle_id,
             Appraisal.state.in_([AppraisalState(s) for s in t.sources])]
    if only is not None:
        where.append(Appraisal.id.in_(only))
    res = session.execute(
        update(Appraisal).where(*where)
        .values(state=AppraisalState(t.dest), version=Appraisal.version + 1)
        .returning(Appraisal.id)
        .execution_options(synchronize_session=False))
    return sorted(int(i) for (i,) in res)


@dataclass(frozen=True)
class MovePreview:
    """What a bulk or cycle move would do, for its confirmation: how many people it moves,
    per team, from which states to which."""

    trigger: str
    label: str
    n: int
    teams: dict[str, int]
    sources: tuple[str, ...]
    dest: str
    reverse: bool


#: the appraisal states a cycle move carries with it (publish: waiting for HR → published;
#: close: the published ones archived); approve and the others move the cycle only, and
#: their count is everyone they concern
_CYCLE_MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    "publish": ((AppraisalState.hr_approval.value,), AppraisalState.published.value),
    "close": ((AppraisalState.published.value, AppraisalState.acknowledged.value,
               AppraisalState.resolved.value), AppraisalState.closed.value),
}


def preview_move(session: Session, *, cycle_id: int, trigger: str,
                 only: list[int] | None = None) -> MovePreview:
    """How many appraisals (people) a bulk move or a cycle move would move, per team."""
    cycle = get_cycle(session, cycle_id)
    if trigger in states.CYCLE:
        t = states.find(states.CYCLE, trigger, cycle.state.value, "cycle")
        sources, dest = _CYCLE_MOVES.get(trigger, (tuple(s.value for s in AppraisalState),
                                                   ""))
    else:
        t = states.APPRAISAL.get(trigger)  # type: ignore[assignment]
        if t is None or not t.bulk:
            raise Invalid(f"{trigger} is not a bulk action")
        sources, dest = t.sources, t.dest
    q = (select(Appraisal.team_code, func.count()).where(
        Appraisal.cycle_id == cycle.id,
        Appraisal.state.in_([AppraisalState(s) for s in sources]))
        .group_by(Appraisal.team_code).order_by(Appraisal.team_code))
    if only is not None:
        q = q.where(Appraisal.id.in_(only))
    teams = {str(team or ""): int(n) for team, n in session.execute(q)}
    return MovePreview(trigger, t.label, sum(teams.values()), teams, sources, dest or t.dest,
                       t.reverse)


@dataclass(frozen=True)
class Undoable:
    """The last bulk move of a cycle that can still be undone."""

    event_id: int
    trigger: str  # the move made
    reverse: str  # the step back that undoes it
    ids: list[int]  # the appraisals it moved that are still where it left them
    at: dt.datetime
    by: str


def last_undoable(session: Session, *, cycle_id: int) -> Undoable | None:
    """The cycle's latest bulk move, if a step back exists for it, it has not been undone
    and the cycle is still before approval."""
    from kaohe.store.models import AuditEvent

    cycle = get_cycle(session, cycle_id)
    if cycle.state not in (CycleState.open, CycleState.reviewing):
        return None
    event = session.scalar(
        select(AuditEvent).where(AuditEvent.target_type == "cycle",
                                 AuditEvent.target_id == str(cycle.id),
                                 AuditEvent.action.like("cycle.bulk_%"))
        .order_by(AuditEvent.seq.desc()).limit(1))
    if event is None:
        return None
    trigger = event.action.removeprefix("cycle.bulk_")
    reverse = states.REVERSE.get(trigger)
    if reverse is None or trigger == "undo" or "ids" not in (event.details or {}):
        return None
    dest = states.APPRAISAL[trigger].dest
    ids = [int(i) for i in session.scalars(select(Appraisal.id).where(
        Appraisal.id.in_([int(i) for i in event.details["ids"]]),
        Appraisal.state == AppraisalState(dest)))]
    if not ids:
        return None
    return Undoable(event.id, trigger, reverse, sorted(ids), event.at,
                    str((event.actor or {}).get("username", "")))


def undo_bulk(session: Session, *, cycle_id: int, event_id: int, actor: Actor) -> int:
    """Undo the cycle's last bulk move (``event_id``, as the confirmation showed it): its step
    back (:data:`kaohe.workflow.states.REVERSE`) for exactly the appraisals it moved that
    are still where it left them; recorded as ``cycle.bulk_undo``."""
    require_role(actor, {"hr", "admin"}, "undo a bulk move")
    undo = last_undoable(session, cycle_id=cycle_id)
    if undo is None or undo.event_id != event_id:
        raise WorkflowError(Text(N_("this move can no longer be undone (a later move came after "
                                    "it, it was undone already, or the cycle is approved)")))
    t = states.APPRAISAL[undo.reverse]
    moved = _move(session, cycle_id, t, undo.ids)
    record(session, action="cycle.bulk_undo", actor=actor, target_type="cycle",
           target_id=cycle_id, details={"event": event_id, "undid": undo.trigger,
                                        "trigger": undo.reverse, "to": t.dest,
                                        "appraisals": len(moved), "ids": moved})
    return len(moved)


def cycle_transition(session: Session, *, cycle_id: int, trigger: str, actor: Actor,
                     today: dt.date | None = None) -> Cycle:
    """Fire one transition of the cycle table: its roles, guards and side effects."""
    cycle = get_cycle(session, cycle_id)
    t = states.find(states.CYCLE, trigger, cycle.state.value, "cycle")
    require_role(actor, {r.value for r in t.roles}, f"{trigger} a cycle")
    move = Move(session, actor, today=today, details={"from": cycle.state.value, "to": t.dest})
    for name in (*t.guards, *t.effects):
        CYCLE_STEPS[name](move, cycle)
    cycle_id = cycle.id
    cycle.state = CycleState(t.dest)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(Text(N_("cycle %(id)s was changed by someone else; try again"),
                            id=cycle_id)) from None
    session.expire_all()
    record(session, action=f"cycle.{trigger}", actor=actor, target_type="cycle",
           target_id=cycle.id, details=move.details)
    if trigger == "publish":  # what was published goes into the hash chain
        from kaohe.workflow.seal import seal

        seal(session, cycle_id=cycle.id, actor=actor, reason="publish")
    return cycle
