"""Ratings and incidents: what raters give (checked against kaohe.workflow.permissions:
the declared rater, in their capacity, in their state) and the incidents that add to a
count input, recorded, corrected and removed with a reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kaohe.store.models import (
    Appraisal,
    AppraisalState,
    Incident,
    PeerBallot,
    Rating,
)
from kaohe.text import N_, Text
from kaohe.workflow import permissions
from kaohe.workflow.audit import Actor, record
from kaohe.workflow.errors import Conflict, Invalid, NotFound
from kaohe.workflow.permissions import RaterRole
from kaohe.workflow.schemes import scheme_of
from kaohe.workflow.transitions import get_appraisal


def rate(session: Session, *, appraisal_id: int, input_id: str, value: str, actor: Actor,
         role: str, expected_version: int | None = None) -> Rating:
    """Save a rater's level or mark: only for an input the scheme declares as rated by
    ``role``, by someone in that role's capacity, in the state that role rates in (see
    :data:`kaohe.workflow.permissions.RATING_RULES`). Peer marks are anonymous and summed
    into one tally per input (:func:`_peer_rating`)."""
    app = get_appraisal(session, appraisal_id)
    scheme = scheme_of(app.cycle.scheme_version)
    spec = scheme.inputs.get(input_id)
    rater = permissions.check_rating(session, actor, app, input_id, spec, role)
    assert spec is not None
    check_value(spec, value, spec.label or input_id)  # the input as the rater knows it
    user = permissions.user_of(session, actor)
    if rater is RaterRole.peer:
        assert user is not None  # a colleague is a user with an employee record
        return _peer_rating(session, app, input_id, spec, value, user.id)
    existing = session.scalar(select(Rating).where(
        Rating.appraisal_id == app.id, Rating.input_id == input_id, Rating.rater_role == role,
        Rating.rater_user_id == (user.id if user else None)))
    if existing is None:
        if expected_version not in (None, 0):
            raise Conflict(Text(N_("the %(role)s rating of %(input)s was removed meanwhile; "
                                   "reload"), role=role, input=input_id))
        rating = Rating(appraisal_id=app.id, input_id=input_id, rater_role=role,
                        rater_user_id=user.id if user else None, value=value)
        session.add(rating)
    else:
        rating = existing
        if expected_version is not None and rating.version != expected_version:
            raise Conflict(Text(N_("the %(role)s rating of %(input)s on appraisal %(id)s was "
                                   "saved by someone else (now %(value)s, version %(version)s); "
                                   "reload and try again"), role=role, input=input_id,
                                id=app.id, value=repr(rating.value), version=rating.version))
        rating.value = value
    app_id = app.id
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(Text(N_("the %(role)s rating of %(input)s on appraisal %(id)s was saved "
                               "by someone else; reload and try again"), role=role,
                            input=input_id, id=app_id)) from None
    record(session, action="rating.saved", actor=actor, target_type="appraisal",
           target_id=app.id, details={"input": input_id, "role": role, "value": value})
    return rating


def _peer_rating(session: Session, app: Appraisal, input_id: str, spec: Any, value: str,
                 user_id: int) -> Rating:
    """A peer's mark. The ballot records that this user has rated (once); the mark is added
    to the input's one peer tally, whose mean (tally / ballots) counts. No row holds one
    peer's mark, so no row id, insertion order or transaction id pairs a ballot with it."""
    if spec.type == "level":
        raise Invalid(Text(N_("%(input)s is rated by level; peers give marks"),
                           input=repr(input_id)))
    if session.scalar(select(PeerBallot).where(
            PeerBallot.appraisal_id == app.id, PeerBallot.input_id == input_id,
            PeerBallot.user_id == user_id)) is not None:
        raise Conflict(Text(N_("you have rated %(input)s of appraisal %(id)s already"),
                            input=input_id, id=app.id))
    session.add(PeerBallot(appraisal_id=app.id, input_id=input_id, user_id=user_id))
    tally = session.scalar(select(Rating).where(
        Rating.appraisal_id == app.id, Rating.input_id == input_id,
        Rating.rater_role == RaterRole.peer.value))
    if tally is None:
        tally = Rating(appraisal_id=app.id, input_id=input_id, rater_role=RaterRole.peer.value,
                       rater_user_id=None, value=value)
        session.add(tally)
    else:
        tally.value = format(Decimal(tally.value) + Decimal(value), "f")
    app_id = app.id
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(Text(N_("another peer rated %(input)s of appraisal %(id)s at the same "
                               "time; try again"), input=input_id, id=app_id)) from None
    record(session, action="rating.peer_given", actor=Actor("peer", ("peer",)),
           target_type="appraisal", target_id=app.id, details={"input": input_id})
    return tally


def check_value(spec: Any, value: str, input_id: str) -> None:
    if spec.type == "level":
        names = set(spec.levels or {}) | {a for al in (spec.levels or {}).values() for a in al}
        if value not in names:
            raise Invalid(Text(N_("%(value)s is not a level of %(input)s (%(levels)s)"),
                               value=repr(value), input=input_id,
                               levels=", ".join(spec.levels or {})))
        return
    try:
        num = Decimal(value)
    except ArithmeticError:
        raise Invalid(Text(N_("%(value)s is not a number (%(input)s)"), value=repr(value),
                           input=input_id)) from None
    low, high = value_bounds(spec)
    if (low is not None and num < low) or (high is not None and num > high):
        raise Invalid(Text(N_("%(value)s is outside %(min)s–%(max)s (%(input)s)"), value=value,
                           min="" if low is None else low, max="" if high is None else high,
                           input=input_id))


def value_bounds(spec: Any) -> tuple[Decimal | None, Decimal | None]:
    """The range an input's values must lie in: the scheme's ``min``/``max``, else 0 for
    counts, money and ratios, and 100 % (1) for ratios."""
    low = spec.min if spec.min is not None else (
        Decimal(0) if spec.type in ("count", "money", "ratio") else None)
    high = spec.max if spec.max is not None else (Decimal(1) if spec.type == "ratio" else None)
    return low, high


def period_days(period: str) -> tuple[dt.date, dt.date]:
    """The first and last day of a cycle's month."""
    import calendar

    y, m = (int(x) for x in period.split("-"))
    return dt.date(y, m, 1), dt.date(y, m, calendar.monthrange(y, m)[1])


def _incident_fields(app: Appraisal, spec: Any, input_id: str, date: dt.date,
                     count: Decimal) -> None:
    if spec is None or spec.type not in ("count", "number") or permissions.declared_raters(spec):
        raise Invalid(Text(N_("%(input)s is not a count or points input of the scheme"),
                           input=repr(input_id)))
    first, last = period_days(app.cycle.period)
    if not first <= date <= last:
        raise Invalid(Text(N_("an incident of cycle %(period)s happens between %(first)s and "
                              "%(last)s, not on %(date)s"), period=app.cycle.period,
                           first=first.isoformat(), last=last.isoformat(),
                           date=date.isoformat()))
    if count <= 0:
        raise Invalid(Text(N_("an incident counts at least once (or a positive number of "
                              "points)")))
    if spec.type == "count" and count != count.to_integral_value():
        raise Invalid(Text(N_("%(input)s counts occurrences; %(count)s is not a whole number"),
                           input=repr(input_id), count=count))


def add_incident(session: Session, *, appraisal_id: int, input_id: str, date: dt.date,
                 count: Decimal, note: str, actor: Actor) -> Incident:
    """Record an incident (e.g. a bad review) dated inside the cycle's month; it adds to
    the imported count of its input."""
    app = get_appraisal(session, appraisal_id)
    permissions.check(session, actor, app, "record_incident")
    spec = scheme_of(app.cycle.scheme_version).inputs.get(input_id)
    _incident_fields(app, spec, input_id, date, count)
    inc = Incident(appraisal_id=app.id, input_id=input_id, date=date, count=count, note=note,
                   recorded_by=actor.username)
    session.add(inc)
    session.flush()
    record(session, action="incident.recorded", actor=actor, target_type="appraisal",
           target_id=app.id, details={"incident": inc.id, "input": input_id, "date": date,
                                      "count": count, "note": note})
    return inc


def _incident(session: Session, appraisal_id: int, incident_id: int) -> Incident:
    inc = session.get(Incident, incident_id)
    if inc is None or inc.appraisal_id != appraisal_id:
        raise NotFound(Text(N_("no incident %(id)s on appraisal %(app)s"), id=incident_id,
                            app=appraisal_id))
    return inc


def _incident_state(inc: Incident) -> dict[str, Any]:
    return {"input": inc.input_id, "date": inc.date, "count": inc.count, "note": inc.note}


def correct_incident(session: Session, *, appraisal_id: int, incident_id: int, reason: str,
                     actor: Actor, date: dt.date | None = None, count: Decimal | None = None,
                     note: str | None = None) -> Incident:
    """Change an incident's date, count or note, with a reason (audited: before and after)."""
    app = get_appraisal(session, appraisal_id)
    permissions.check(session, actor, app, "change_incident")
    if not reason.strip():
        raise Invalid(Text(N_("a correction needs a reason")))
    inc = _incident(session, app.id, incident_id)
    before = _incident_state(inc)
    new_date = inc.date if date is None else date
    new_count = inc.count if count is None else count
    spec = scheme_of(app.cycle.scheme_version).inputs.get(inc.input_id)
    _incident_fields(app, spec, inc.input_id, new_date, new_count)
    inc.date, inc.count = new_date, new_count
    if note is not None:
        inc.note = note
    session.flush()
    record(session, action="incident.corrected", actor=actor, target_type="appraisal",
           target_id=app.id, details={"incident": inc.id, "before": before,
                                      "after": _incident_state(inc), "reason": reason})
    return inc


def remove_incident(session: Session, *, appraisal_id: int, incident_id: int, reason: str,
                    actor: Actor) -> None:
    """Delete an incident recorded in error, with a reason (the audit event keeps it)."""
    app = get_appraisal(session, appraisal_id)
    permissions.check(session, actor, app, "change_incident")
    if not reason.strip():
        raise Invalid(Text(N_("removing an incident needs a reason")))
    inc = _incident(session, app.id, incident_id)
    details = {"incident": inc.id, "removed": _incident_state(inc), "reason": reason}
    session.delete(inc)
    session.flush()
    record(session, action="incident.removed", actor=actor, target_type="appraisal",
           target_id=app.id, details=details)


# -- the rating grid: a team's appraisals × the inputs their staff raters rate -------------
#: the rater roles of the grid (a self-rating belongs to the agent, a peer's is anonymous)
GRID_ROLES = (RaterRole.supervisor, RaterRole.manager)
#: appraisal states in which a staff rater's rating is still to come (the rating state and
#: those before it); later, a missing rating no longer counts as 未评分
STILL_TO_RATE: dict[RaterRole, frozenset[AppraisalState]] = {
    RaterRole.supervisor: frozenset({AppraisalState.self_review,
                                     AppraisalState.supervisor_review}),
    RaterRole.manager: frozenset({AppraisalState.self_review, AppraisalState.supervisor_review,
                                  AppraisalState.second_review}),
}


@dataclass(frozen=True)
class GridColumn:
    """One input as one staff rater role rates it."""

    input_id: str
    role: RaterRole
    label: str
    label_en: str
    type: str
    levels: tuple[str, ...]
    low: Decimal | None
    high: Decimal | None

    @property
    def key(self) -> str:
        return f"{self.input_id}@{self.role.value}"


@dataclass(frozen=True)
class GridCell:
    #: this rater's own rating (None: not rated by them) and its version
    value: str | None
    version: int
    #: someone rated it (this rater, another rater of the role, or HR decided it)
    rated: bool
    #: the imported value, shown until a rating replaces it
    imported: str | None
    #: the viewer may rate it now (as kaohe.workflow.permissions.ratable says)
    editable: bool


@dataclass(frozen=True)
class GridRow:
    appraisal_id: int
    code: str
    name: str
    state: str
    version: int
    self_review: str
    cells: dict[str, GridCell]

    @property
    def unrated(self) -> int:
        return sum(1 for c in self.cells.values() if not c.rated)


def grid_columns(scheme: Any) -> list[GridColumn]:
    """The inputs a scheme has rated by a supervisor or a manager, in the scheme's order."""
    out = []
    for ident, spec in scheme.inputs.items():
        for role in permissions.declared_raters(spec):
            if role in GRID_ROLES:
                low, high = value_bounds(spec)
                out.append(GridColumn(ident, role, spec.label or ident,
                                      spec.label_en or spec.label or ident, spec.type,
                                      tuple(spec.levels or {}), low, high))
    return out


def _given(session: Session, ids: list[int]) -> set[tuple[int, str, str]]:
    return {(a, i, r) for a, i, r in session.execute(
        select(Rating.appraisal_id, Rating.input_id, Rating.rater_role)
        .where(Rating.appraisal_id.in_(ids))
        .where(Rating.rater_role.in_([r.value for r in GRID_ROLES])))} if ids else set()


def _decided(app: Appraisal, spec: Any, col: GridColumn) -> bool:
    return permissions.rating_column(col.input_id, spec, col.role) in (app.decisions or {})


def grid(session: Session, *, actor: Actor, apps: list[Appraisal]) -> tuple[
        list[GridColumn], list[GridRow]]:
    """The rating grid of some appraisals of one cycle (a team's): its columns, and per
    appraisal the viewer's own rating of each cell, whether anyone rated it, the imported
    value and whether the viewer may rate it now. Bounded by the team (the caller's list)."""
    if not apps:
        return [], []
    scheme = scheme_of(apps[0].cycle.scheme_version)
    if any(a.cycle_id != apps[0].cycle_id for a in apps):
        raise Invalid(Text(N_("a rating grid shows the appraisals of one cycle")))
    columns = grid_columns(scheme)
    user = permissions.user_of(session, actor)
    ids = [a.id for a in apps]
    given = _given(session, ids)
    mine = {(r.appraisal_id, r.input_id, r.rater_role): r for r in session.scalars(
        select(Rating).where(Rating.appraisal_id.in_(ids),
                             Rating.rater_user_id == (user.id if user else -1)))}
    rows = []
    for app in apps:
        may = set(permissions.ratable(actor, user, app, scheme.inputs))
        cells = {}
        for col in columns:
            own = mine.get((app.id, col.input_id, col.role.value))
            imported = (app.inputs or {}).get(
                permissions.rating_column(col.input_id, scheme.inputs[col.input_id], col.role))
            cells[col.key] = GridCell(
                value=own.value if own else None, version=own.version if own else 0,
                rated=(app.id, col.input_id, col.role.value) in given
                or _decided(app, scheme.inputs[col.input_id], col),
                imported=None if imported is None else str(imported),
                editable=(col.input_id, col.role) in may)
        rows.append(GridRow(app.id, app.employee.code, app.employee.name, app.state.value,
                            app.version, app.self_review or "", cells))
    return columns, rows


def unrated_counts(session: Session, appraisal_ids: list[int]) -> dict[int, int]:
    """Per appraisal, the cells its supervisor or manager has still to rate (未评分): inputs
    the scheme has them rate, with no rating of that role and no HR decision, while the
    appraisal has not passed that rater's state. Appraisals with none are left out."""
    if not appraisal_ids:
        return {}
    apps = list(session.scalars(select(Appraisal).where(Appraisal.id.in_(appraisal_ids))))
    given = _given(session, [a.id for a in apps])
    columns: dict[int, list[GridColumn]] = {}
    out: dict[int, int] = {}
    for app in apps:
        version = app.cycle.scheme_version
        if version.id not in columns:
            columns[version.id] = grid_columns(scheme_of(version))
        inputs = scheme_of(version).inputs
        n = sum(1 for col in columns[version.id]
                if app.state in STILL_TO_RATE[col.role]
                and (app.id, col.input_id, col.role.value) not in given
                and not _decided(app, inputs[col.input_id], col))
        if n:
            out[app.id] = n
    return out


# -- review deadlines -------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewDue:
    """When a review is due: ``workdays`` Chinese working days (调休 included, see
    kaohe.workflow.calendar) after the cycle opened, that day in the configured zone."""

    due: dt.date
    #: False when the holiday calendar does not cover the year yet (weekdays counted)
    official: bool
    #: working days left from ``today`` (0 on the day itself and after it)
    left: int
    overdue: bool


def review_due(cycle: Any, kind: str, *, today: dt.date) -> ReviewDue:
    """The self-review (``self``) or supervisor-review (``supervisor``) deadline of a cycle,
    as the reminders count it (``KAOHE_SELF_REVIEW_WORKDAYS``,
    ``KAOHE_SUPERVISOR_REVIEW_WORKDAYS``)."""
    from kaohe.localtime import local
    from kaohe.settings import settings
    from kaohe.workflow.calendar import add_workdays, workdays_between

    conf = settings()
    n = conf.self_review_workdays if kind == "self" else conf.supervisor_review_workdays
    opened = local(cycle.opened_at).date()
    deadline = add_workdays(opened, n)
    return ReviewDue(deadline.due, deadline.official, workdays_between(today, deadline.due),
                     today > deadline.due)
