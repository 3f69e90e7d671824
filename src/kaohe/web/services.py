"""Read models shared by the pages and the JSON API: lists of appraisals with their current
results, the team board of one period, one appraisal as a document. Every query starts from
:func:`kaohe.workflow.permissions.visible_appraisals`, so what a user may not see is never loaded."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Select, case, exists, func, or_, select
from sqlalchemy.orm import Session, lazyload

from kaohe import localtime
from kaohe.store.models import (
    Appeal,
    Appraisal,
    AppraisalState,
    AuditEvent,
    Cycle,
    CycleState,
    Employee,
    FeedbackMeeting,
    Result,
    SchemeVersion,
    Team,
    User,
)
from kaohe.web import i18n
from kaohe.workflow import permissions, states
from kaohe.workflow.cycles import scheme_of
from kaohe.workflow.permissions import sees_everyone, visible_appraisals

#: appraisal states still waiting for a reviewer, and the cycle states in which that is late
WAITING = ("self_review", "supervisor_review", "second_review")
REVIEW_DUE = (CycleState.reviewing, CycleState.approved)
DONE = ("published", "acknowledged", "appealed", "resolved")


def rows_for(session: Session, query: Select[Any], *, viewer: User, extra: bool = False
             ) -> list[dict[str, Any]]:
    """Appraisals (a visible_appraisals query, maybe narrowed) with their current result,
    newest period first. The viewer's own appraisals show no result until published."""
    held = exists().where(FeedbackMeeting.appraisal_id == Appraisal.id)
    q = (query.add_columns(Cycle.period, Cycle.scheme_id, Cycle.state, Employee.code,
                           Employee.name, Result.payload, held, Cycle.scheme_version_id)
         .join(Cycle, Cycle.id == Appraisal.cycle_id)
         .outerjoin(Result, (Result.appraisal_id == Appraisal.id) & Result.is_current.is_(True))
         .order_by(Cycle.period.desc(), Appraisal.team_code, Employee.code)
         .options(lazyload("*")))  # a list needs these columns, not every relation
    today = localtime.today()
    out = []
    rows = session.execute(q).all()
    names = grade_names(session, {r[-1] for r in rows})
    order = grade_order(session, {r[-1] for r in rows})
    for app, period, scheme_id, cycle_state, code, name, payload, met, sv_id in rows:
        late = None
        if app.state.value in WAITING and cycle_state in REVIEW_DUE:
            late = app.state.value
        elif (app.state.value in DONE and app.feedback_due is not None
              and app.feedback_due < today and not met):
            late = "feedback_meeting"
        if permissions.results_hidden(viewer, app.employee_id, app.state):
            payload = None
        grade = (payload or {}).get("grade")
        row = {"id": app.id, "period": period, "scheme": scheme_id, "code": code, "name": name,
               "team": app.team_code, "state": app.state.value, "result": payload,
               "grade_label": names.get(sv_id, {}).get(grade, grade) if grade else None,
               "grade_rank": order.get(sv_id, {}).get(grade, 10**6) if grade else None}
        if extra:
            row["late"] = late
        out.append(row)
    return out


def grade_names(session: Session, version_ids: set[int]) -> dict[int, dict[str, str]]:
    """Grade names as shown in the request's language, per scheme version (a grade's
    ``label_en`` in English; its name, which is Chinese, otherwise)."""
    if i18n.language() != "en" or not version_ids:
        return {}
    out: dict[int, dict[str, str]] = {}
    for sv in session.scalars(select(SchemeVersion).where(SchemeVersion.id.in_(version_ids))):
        out[sv.id] = {g.name: g.label_en or g.name for g in scheme_of(sv).grades}
    return out


def grade_order(session: Session, version_ids: set[int]) -> dict[int, dict[str, int]]:
    """Each grade's place in its scheme's list of grades (the best first), per version."""
    if not version_ids:
        return {}
    return {sv.id: {g.name: i for i, g in enumerate(scheme_of(sv).grades)}
            for sv in session.scalars(select(SchemeVersion).where(
                SchemeVersion.id.in_(version_ids)))}


def periods(session: Session) -> list[str]:
    return [p for (p,) in session.execute(
        select(Cycle.period).distinct().order_by(Cycle.period.desc()))]


def teams_of(session: Session, user: User) -> list[str]:
    q = select(Team.code).order_by(Team.code)
    if not sees_everyone(user):
        q = q.where(Team.id.in_(list(user.team_ids or [])))
    return [c for (c,) in session.execute(q)]


def board_rows(session: Session, user: User, *, period: str | None,
               team: str | None) -> dict[str, Any]:
    """The team board of one period (default: the newest): the appraisals of one team, or of
    all the teams a supervisor looks after. HR and managers, who see every team, get an
    overview of all teams (``team`` empty) or one team's appraisals."""
    all_periods = periods(session)
    chosen = period if period in all_periods else (all_periods[0] if all_periods else None)
    teams = teams_of(session, user)
    if team not in teams:
        team = None
    overview: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    if chosen is not None and team is None and sees_everyone(user):
        overview = team_overview(session, chosen)
    elif chosen is not None:
        q = visible_appraisals(user).where(Cycle.period == chosen)
        if team is not None:
            q = q.where(Appraisal.team_code == team)
        rows = rows_for(session, q, viewer=user, extra=True)
        rows.sort(key=lambda r: (r["scheme"], r["team"],
                                 (r["result"] or {}).get("rank") or 10**9, r["code"]))
    return {"period": chosen, "periods": all_periods, "team": team, "teams": teams,
            "rows": rows, "overview": overview}


def team_overview(session: Session, period: str) -> list[dict[str, Any]]:
    """Every team of a period in one line: appraisals, scored, mean total, grades, waiting
    (counted by the database, not loaded row by row)."""
    current = (Result.appraisal_id == Appraisal.id) & Result.is_current.is_(True)
    base = (select(Appraisal.team_code, Cycle.scheme_id)
            .join(Cycle, Cycle.id == Appraisal.cycle_id)
            .outerjoin(Result, current).where(Cycle.period == period))
    waiting = func.sum(case((Appraisal.state.in_(
        [AppraisalState(s) for s in WAITING]), 1), else_=0))
    lines: dict[tuple[str, str], dict[str, Any]] = {}
    for code, scheme, n, scored, mean, late in session.execute(
            base.add_columns(func.count(), func.count(Result.id), func.avg(Result.total), waiting)
            .group_by(Appraisal.team_code, Cycle.scheme_id)):
        lines[(code, scheme)] = {"team": code, "scheme": scheme, "appraisals": n,
                                 "scored": scored, "waiting": int(late or 0), "grades": {},
                                 "mean": None if mean is None else Decimal(str(mean)).quantize(
                                     Decimal("0.01"), ROUND_HALF_UP)}
    for code, scheme, grade, n in session.execute(
            base.add_columns(Result.grade, func.count()).where(Result.grade.is_not(None))
            .group_by(Appraisal.team_code, Cycle.scheme_id, Result.grade)):
        lines[(code, scheme)]["grades"][grade] = n
    versions = dict(session.execute(select(Cycle.scheme_id, Cycle.scheme_version_id)
                                    .where(Cycle.period == period)).all())
    order = grade_order(session, set(versions.values()))
    for (_code, scheme), line in lines.items():  # grades in the scheme's order
        place = order.get(versions.get(scheme, -1), {})
        line["grades"] = dict(sorted(line["grades"].items(),
                                     key=lambda kv: (place.get(kv[0], 10**6), kv[0])))
    return [lines[k] for k in sorted(lines)]


#: events of the audit log as an appraisal's history shows them (those named by an action
#: of the state tables use its label)
EVENT_LABELS = {
    "rating.saved": i18n.N_("rating saved"),
    "rating.peer_given": i18n.N_("peer rating given"),
    "incident.recorded": i18n.N_("incident recorded"),
    "incident.corrected": i18n.N_("incident corrected"),
    "incident.removed": i18n.N_("incident removed"),
    "feedback.recorded": i18n.N_("feedback meeting recorded"),
    "appraisal.corrected": i18n.N_("corrected by HR"),
    "appeal.filed": i18n.N_("appeal filed"),
    "appeal.accepted": i18n.N_("appeal accepted"),
    "appeal.rejected": i18n.N_("appeal rejected"),
    "appeal.resolved": i18n.N_("appeal resolved"),
    "cycle.opened": i18n.N_("cycle opened"),
    "cycle.inputs_imported": i18n.N_("inputs imported"),
    "cycle.scored": i18n.N_("scored"),
}


def _event_label(action: str) -> str:
    if action in EVENT_LABELS:
        return i18n.gettext(EVENT_LABELS[action])
    trigger = action.partition(".")[2].removeprefix("bulk_")
    return i18n.gettext(states.ACTION_LABELS.get(trigger, trigger))


def _event_detail(action: str, d: dict[str, Any]) -> str:
    """What an event changed, in a few words (its data, not translated)."""
    if action == "rating.saved":
        return f"{d.get('input')} = {d.get('value')} ({d.get('role')})"
    if action == "rating.peer_given":
        return str(d.get("input", ""))
    if action == "incident.recorded":
        return f"{d.get('input')} +{d.get('count')} {d.get('date', '')} {d.get('note', '')}".strip()
    if action in ("incident.corrected", "incident.removed"):
        before = d.get("before") or d.get("removed") or {}
        after = d.get("after") or {}
        what = f"{before.get('input', '')} +{before.get('count')} {before.get('date', '')}"
        if after:
            what += f" → +{after.get('count')} {after.get('date', '')}"
        return " · ".join(x for x in (what.strip(), str(d.get("reason") or "")) if x)
    if action == "feedback.recorded":
        return str(d.get("held_on", ""))
    if action in ("appeal.filed",):
        return str(d.get("reason", ""))
    if action in ("appeal.resolved", "appraisal.corrected"):
        changes = ", ".join(f"{k}={v}" for k, v in (d.get("changes") or {}).items())
        return " · ".join(x for x in (str(d.get("resolution") or d.get("reason") or ""), changes)
                          if x)
    if action == "cycle.inputs_imported":
        return f"{str(d.get('file', '')).rsplit('/', 1)[-1]} ({d.get('rows')})"
    return str(d.get("note") or "")


#: events about incidents: the appraised employee sees what was counted, not the note or
#: who recorded it
INCIDENT_EVENTS = ("incident.recorded", "incident.corrected", "incident.removed")


def history(session: Session, app: Appraisal, viewer: User) -> list[dict[str, Any]]:
    """The audit log's events about an appraisal, its appeals and its cycle, oldest first.
    A peer rating's actor is recorded as "peer" (nobody in particular). The appraised
    employee sees no other rater's rating before publication, and no incident's note or
    author."""
    notes = permissions.shows_incident_notes(viewer, app)
    results = permissions.sees_results(viewer, app)
    appeal_ids = [str(i) for i in session.scalars(
        select(Appeal.id).where(Appeal.appraisal_id == app.id))]
    conds = [(AuditEvent.target_type == "appraisal") & (AuditEvent.target_id == str(app.id)),
             (AuditEvent.target_type == "cycle") & (AuditEvent.target_id == str(app.cycle_id))]
    if appeal_ids:
        conds.append((AuditEvent.target_type == "appeal")
                     & AuditEvent.target_id.in_(appeal_ids))
    out = []
    for ev in session.scalars(select(AuditEvent).where(or_(*conds)).order_by(AuditEvent.seq)):
        who = str((ev.actor or {}).get("username", ""))
        details = dict(ev.details or {})
        if not results and (ev.action == "rating.peer_given" or (
                ev.action == "rating.saved" and details.get("role") != "self")):
            continue
        if ev.action in INCIDENT_EVENTS and not notes:
            who = ""
            for part in ("note", "reason"):
                details.pop(part, None)
            for part in ("before", "after", "removed"):
                if isinstance(details.get(part), dict):
                    details[part] = {k: v for k, v in details[part].items() if k != "note"}
        out.append({"at": ev.at, "action": _event_label(ev.action),
                    "who": i18n.gettext(i18n.N_("a colleague (anonymous)")) if who == "peer"
                    else who, "detail": _event_detail(ev.action, details)})
    return out


def appraisal_doc(session: Session, app: Appraisal, viewer: User) -> dict[str, Any]:
    """One appraisal with its current result, as the API returns it (no result for the
    appraised employee before it is published)."""
    res = session.scalar(select(Result).where(Result.appraisal_id == app.id,
                                              Result.is_current.is_(True)))
    if not permissions.sees_results(viewer, app):
        res = None
    return {"id": app.id, "employee": app.employee.code, "name": app.employee.name,
            "team": app.team_code, "period": app.cycle.period, "scheme": app.cycle.scheme_id,
            "cycle": app.cycle_id, "state": app.state.value, "version": app.version,
            "appeal_due": app.appeal_due.isoformat() if app.appeal_due else None,
            "feedback_due": app.feedback_due.isoformat() if app.feedback_due else None,
            "result": res.payload if res else None}

