"""The guided cycle on HR's console: the cycle's progress per team and step with its
deadlines in working days and the next step, the pre-check of missing inputs before
scoring, and the confirmation (with the number of people moved) every bulk or final move
asks for, including the steps back and the undo of the last bulk move.

Every rule is the services' (:mod:`kaohe.workflow.precheck`, :mod:`kaohe.workflow.transitions`,
:mod:`kaohe.workflow.states`); these pages only ask and show."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from kaohe.reminders.due import beijing_date, beijing_today
from kaohe.settings import settings
from kaohe.store.models import Appraisal, Cycle, CycleState, Result
from kaohe.web import i18n
from kaohe.web.deps import RecordId, SessionDep, UserDep, actor, check_csrf, render, require_hr
from kaohe.workflow import cycles, states, transitions
from kaohe.workflow.calendar import add_workdays, workdays_between
from kaohe.workflow.precheck import IncompleteInputs, Precheck, precheck

router = APIRouter(prefix="/hr")
Csrf = Annotated[str | None, Form()]

#: the steps of a month, in order: (key, label, the appraisal states counted in it)
STEPS: list[tuple[str, str, tuple[str, ...]]] = [
    ("self_review", i18n.N_("Self-review"), ("self_review",)),
    ("supervisor_review", i18n.N_("Supervisor"), ("supervisor_review",)),
    ("second_review", i18n.N_("Manager"), ("second_review",)),
    ("hr_approval", i18n.N_("HR approval"), ("hr_approval",)),
    ("published", i18n.N_("Published"), ("published",)),
    ("acknowledged", i18n.N_("Acknowledged"), ("acknowledged",)),
    ("appeals", i18n.N_("Appeals"), ("appealed", "resolved")),
    ("closed", i18n.N_("Closed"), ("closed",)),
]
#: the console runs the pre-check itself for cycles up to this many appraisals
PRECHECK_ON_PAGE = 2000
#: the bulk move that ends each review step
ENDS = {"self_review": "submit_self_review", "supervisor_review": "submit_supervisor_review",
        "second_review": "approve_second_review"}


def _deadline(due: dt.date | None, today: dt.date, done: bool) -> dict[str, Any] | None:
    """A deadline as the page shows it: the day, and working days left or overdue."""
    if due is None:
        return None
    if done:
        return {"due": due, "left": None, "late": None}
    if due >= today:
        return {"due": due, "left": workdays_between(today, due), "late": None}
    return {"due": due, "left": None, "late": max(1, workdays_between(due, today))}


def progress(session: Any, cycle: Cycle, found: Precheck | None,
             today: dt.date) -> dict[str, Any]:
    """Counts per team and step, the steps' deadlines and the next step."""
    teams: dict[str, dict[str, int]] = {}
    for team, st, n in session.execute(
            select(Appraisal.team_code, Appraisal.state, func.count())
            .where(Appraisal.cycle_id == cycle.id)
            .group_by(Appraisal.team_code, Appraisal.state)):
        row = teams.setdefault(team or "", {})
        for key, _, members in STEPS:
            if st.value in members:
                row[key] = row.get(key, 0) + int(n)
        row["total"] = row.get("total", 0) + int(n)
    total = {k: sum(r.get(k, 0) for r in teams.values()) for k in [*(s[0] for s in STEPS),
                                                                   "total"]}
    unscored = int(session.scalar(
        select(func.count()).select_from(Appraisal).where(
            Appraisal.cycle_id == cycle.id,
            ~Appraisal.id.in_(select(Result.appraisal_id).where(Result.is_current.is_(True)))))
        or 0)
    opened = beijing_date(cycle.opened_at)
    conf = settings()
    appeal_due = session.scalar(select(func.max(Appraisal.appeal_due)).where(
        Appraisal.cycle_id == cycle.id))
    deadlines = {
        "self_review": _deadline(add_workdays(opened, conf.self_review_workdays).due, today,
                                 not total["self_review"]),
        "supervisor_review": _deadline(
            add_workdays(opened, conf.supervisor_review_workdays).due, today,
            not (total["self_review"] or total["supervisor_review"])),
        "published": _deadline(appeal_due, today, cycle.state is CycleState.closed),
    }
    blocking = {t: v["blocking"] for t, v in (found.teams if found else {}).items()}
    return {"teams": dict(sorted(teams.items())), "total": total, "steps": STEPS,
            "deadlines": deadlines, "unscored": unscored, "blocking": blocking,
            "next": next_step(cycle, total, found, unscored, appeal_due, today)}


def next_step(cycle: Cycle, total: dict[str, int], found: Precheck | None, unscored: int,
              appeal_due: dt.date | None, today: dt.date) -> dict[str, Any]:
    """What HR does next, in words, with the button or link that does it."""
    state = cycle.state.value
    if state in ("open", "reviewing"):
        for key in ("self_review", "supervisor_review", "second_review"):
            if total.get(key):
                return {"text": i18n.N_("%(n)s people are still in %(step)s; when it is time, "
                                        "end the step for everyone."),
                        "n": total[key], "step": {s[0]: s[1] for s in STEPS}[key],
                        "action": ENDS[key]}
        if found is not None and not found.ok:
            return {"text": i18n.N_("%(n)s required inputs are missing: complete them before "
                                    "scoring."), "n": len(found.blocking), "link": "precheck"}
        if unscored or state == "open":
            return {"text": i18n.N_("Every input is in: score the cycle.") if found is not None
                    else i18n.N_("Check the inputs, then score the cycle."), "n": unscored,
                    "link": "precheck"}
        return {"text": i18n.N_("Everyone is scored and waiting for HR: approve the cycle."),
                "n": total.get("hr_approval", 0), "action": "approve"}
    if state == "approved":
        return {"text": i18n.N_("Approved: publish the results to the agents."),
                "n": total.get("hr_approval", 0), "action": "publish"}
    if state == "published":
        if appeal_due is not None and appeal_due >= today:
            return {"text": i18n.N_("Published: agents acknowledge or appeal until %(due)s; "
                                    "close the cycle after that."), "due": appeal_due,
                    "n": total.get("published", 0)}
        return {"text": i18n.N_("The appeal window is over: close the cycle."),
                "n": total.get("published", 0), "action": "close"}
    return {"text": i18n.N_("Nothing is left to do in this cycle."), "n": 0}


def cycle_context(session: Any, cycle: Cycle) -> dict[str, Any]:
    """What the cycle page adds for the guided cycle (progress, pre-check, undo)."""
    today = beijing_today()
    size = session.scalar(select(func.count()).select_from(Appraisal).where(
        Appraisal.cycle_id == cycle.id)) or 0
    checks = cycle.state.value in ("open", "reviewing")
    # the pre-check reads the cycle's whole history: on the console only for a cycle of a
    # size it does quickly; a larger one links to the pre-check page
    found = precheck(session, cycle) if checks and size <= PRECHECK_ON_PAGE else None
    undo = transitions.last_undoable(session, cycle_id=cycle.id)
    steps_back = [t for t in [*states.APPRAISAL.values(), *states.CYCLE.values()]
                  if t.reverse and t.trigger != (undo.reverse if undo else "")]
    return {"progress": progress(session, cycle, found, today), "precheck": found,
            "step_label": label, "precheck_link": checks and found is None,
            "undo": undo, "undo_label": label(undo.trigger) if undo else "",
            "steps_back": [{"step": t.trigger, "label": label(t.trigger)}
                           for t in steps_back if _offered(session, cycle, t)]}


def _offered(session: Any, cycle: Cycle, t: states.Transition) -> bool:
    if t.trigger in states.CYCLE:
        return cycle.state.value in t.sources
    if cycle.state not in (CycleState.open, CycleState.reviewing):
        return False
    return bool(session.scalar(select(func.count()).select_from(Appraisal).where(
        Appraisal.cycle_id == cycle.id, Appraisal.state.in_(t.sources))))


#: who gives an input, as the pre-check names them
RATERS = {"supervisor": i18n.N_("the supervisor"), "manager": i18n.N_("the manager"),
          "peer": i18n.N_("colleagues"), "self": i18n.N_("the agent")}

#: the buttons' words (the state tables carry Chinese labels for the CLI and the audit log)
LABELS = {
    "reopen_self_review": i18n.N_("Reopen self-review"),
    "reopen_second_review": i18n.N_("Take back the second-review approval"),
    "return_for_review": i18n.N_("Return to the supervisors"),
    "unapprove": i18n.N_("Withdraw the approval"),
}


def label(trigger: str) -> str:
    """A step's button label in the page's language."""
    from kaohe.web.hr import STEP_LABELS

    return i18n.gettext(LABELS.get(trigger) or STEP_LABELS.get(trigger, trigger))


# -- the pre-check -------------------------------------------------------------------------
@router.get("/cycles/{cycle_id}/precheck", response_class=HTMLResponse)
def hr_precheck(cycle_id: RecordId, request: Request, session: SessionDep,
                user: UserDep) -> HTMLResponse:
    """Every missing input by team and person (with links to rate or fix it), and the
    button that scores the cycle when nothing required is missing."""
    require_hr(user)
    cycle = cycles.get_cycle(session, cycle_id)
    found = precheck(session, cycle) if cycle.state.value in ("open", "reviewing") else None
    return precheck_page(request, user, cycle, found)


def precheck_page(request: Request, user: Any, cycle: Cycle, found: Precheck | None,
                  status: int = 200) -> HTMLResponse:
    return render(request, "hr_precheck.html", status=status, user=user, cycle=cycle,
                  found=found, rater_labels=RATERS, scoreable=cycle.state.value in ("open", "reviewing"))


def score_refused(request: Request, user: Any, cycle_id: int, exc: IncompleteInputs,
                  session: Any) -> HTMLResponse:
    """立即评分 with required inputs missing: the pre-check's list, not the engine's first row."""
    cycle = cycles.get_cycle(session, cycle_id)
    return precheck_page(request, user, cycle, exc.precheck, status=409)


# -- confirmations -------------------------------------------------------------------------
@router.get("/cycles/{cycle_id}/confirm/{step}", response_class=HTMLResponse)
def hr_confirm(cycle_id: RecordId, step: str, request: Request, session: SessionDep,
               user: UserDep,
               event: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> HTMLResponse:
    """The confirmation of a bulk or final move: what it does and how many people it moves
    (per team); without JavaScript, a page with the button that does it."""
    require_hr(user)
    cycle = cycles.get_cycle(session, cycle_id)
    if step == "undo":
        undo = transitions.last_undoable(session, cycle_id=cycle.id)
        if undo is None or undo.event_id != event:
            raise HTTPException(409, i18n.N_("This move can no longer be undone."))
        preview = transitions.preview_move(session, cycle_id=cycle.id, trigger=undo.reverse,
                                           only=undo.ids)
        action = f"/hr/cycles/{cycle.id}/undo/{undo.event_id}"
        title = i18n.gettext("Undo: %(step)s") % {"step": label(undo.trigger)}
    elif step in states.CYCLE or (step in states.APPRAISAL and states.APPRAISAL[step].bulk):
        preview = transitions.preview_move(session, cycle_id=cycle.id, trigger=step)
        action = f"/hr/cycles/{cycle.id}/step/{step}"
        title = label(step)
    else:
        raise HTTPException(404, "not found")
    return render(request, "confirm.html", user=user, cycle=cycle, preview=preview,
                  action=action, title=title, step=step, back=f"/hr/cycles/{cycle.id}",
                  final=step in ("publish", "close"),
                  frm=[i18n.gettext(states.STATE_LABELS.get(s, s)) for s in preview.sources],
                  to=i18n.gettext(states.STATE_LABELS.get(preview.dest, preview.dest)))


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.post("/cycles/{cycle_id}/undo/{event_id}")
def hr_undo(cycle_id: RecordId, event_id: RecordId, request: Request, session: SessionDep,
            user: UserDep, csrf: Csrf = None,
            confirm: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Undo the cycle's last bulk move, once confirmed (recorded in the audit log)."""
    check_csrf(request, csrf)
    require_hr(user)
    cycles.get_cycle(session, cycle_id)
    if confirm != "yes":
        return _redirect(f"/hr/cycles/{cycle_id}/confirm/undo?event={event_id}")
    n = transitions.undo_bulk(session, cycle_id=cycle_id, event_id=event_id, actor=actor(user))
    request.session["flash"] = i18n.gettext("Undone: %(n)s people moved back.") % {"n": n}
    return _redirect(f"/hr/cycles/{cycle_id}")
