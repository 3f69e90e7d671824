"""The appeal desk by form, and the appellant's evidence.

HR resolving an appeal picks each input by its label (执行力) and the new level from the
scheme's levels (or types a value), sees the current result beside the result the decision
would give (a dry re-score through the engine: :func:`kaohe.workflow.appeals.dry_resolution`)
and then confirms. The appellant attaches evidence files (:mod:`kaohe.workflow.evidence`
decides size, number, type and who sees them); overdue appeals are marked. The agent's
确认结果 asks first too. Every rule is the services'; these pages only ask and show."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kaohe.reminders.due import beijing_today
from kaohe.store.models import Appeal, AppealState, Appraisal, Result, User
from kaohe.web import i18n
from kaohe.web.deps import (
    RecordId,
    SessionDep,
    UserDep,
    actor,
    check_csrf,
    download,
    render,
    require_hr,
)
from kaohe.workflow import appeals, evidence, permissions, states
from kaohe.workflow.calendar import workdays_between
from kaohe.workflow.errors import NotAllowed, NotFound
from kaohe.workflow.permissions import get_visible

router = APIRouter()
Csrf = Annotated[str | None, Form()]
#: the form's inputs: parallel lists of input columns and values ("" = unchanged)
Keys = Annotated[list[str], Form(max_length=120)]
Values = Annotated[list[str], Form(max_length=200)]
MAX_FORM_INPUTS = 200


def changes_of(keys: list[str], values: list[str], text: str = "") -> dict[str, str]:
    """The values the form grants (blank: unchanged), and the old ``INPUT=VALUE`` lines."""
    if len(keys) > MAX_FORM_INPUTS or len(keys) != len(values):
        raise HTTPException(422, i18n.N_("The form's inputs do not match; reload the page."))
    out = {k: v.strip() for k, v in zip(keys, values, strict=True) if v.strip()}
    for line in text.splitlines():
        if line.strip():
            k, sep, v = line.partition("=")
            if not sep:
                raise HTTPException(422, f"write each change as INPUT=VALUE, not {line!r}")
            out[k.strip()] = v.strip()
    return out


def lateness(appeal: Appeal, today: dt.date) -> dict[str, Any] | None:
    """An open appeal past its deadline: which one (answer in 3 working days, resolve in
    10) and by how many working days."""
    if appeal.state is AppealState.filed and appeal.accept_due < today:
        return {"what": "answer", "due": appeal.accept_due,
                "days": max(1, workdays_between(appeal.accept_due, today))}
    if appeal.state is AppealState.accepted and appeal.resolve_due < today:
        return {"what": "resolve", "due": appeal.resolve_due,
                "days": max(1, workdays_between(appeal.resolve_due, today))}
    return None


def desk_context(session: Session, open_: list[Any], user: User) -> dict[str, Any]:
    """For each open appeal: overdue or not, the current result, its evidence and (once
    accepted) the form's inputs with the values that count now."""
    today = beijing_today()
    ids = [row[0].id for row in open_]
    app_ids = [row[0].appraisal_id for row in open_]
    results = {r.appraisal_id: r for r in session.scalars(select(Result).where(
        Result.appraisal_id.in_(app_ids), Result.is_current.is_(True)))} if app_ids else {}
    forms: dict[int, list[appeals.FormInput]] = {}
    for row in open_:
        ap = row[0]
        if ap.state is AppealState.accepted:
            app = session.get(Appraisal, ap.appraisal_id)
            assert app is not None
            forms[ap.id] = appeals.form_inputs(session, app)
    return {"late": {row[0].id: lateness(row[0], today) for row in open_},
            "results": results, "files": evidence.counts(session, ids), "forms": forms,
            "n_late": sum(1 for row in open_ if lateness(row[0], today))}


# -- HR: the decision's preview, then its confirmation ---------------------------------------
@router.post("/hr/appeals/{appeal_id}/preview", response_class=HTMLResponse)
def hr_appeal_preview(appeal_id: RecordId, request: Request, session: SessionDep,
                      user: UserDep, csrf: Csrf = None, input_id: Keys = [],  # noqa: B006
                      value: Values = [],  # noqa: B006
                      resolution: Annotated[str, Form(max_length=5000)] = "") -> HTMLResponse:
    """The current result and the result the decision would give, before confirming."""
    check_csrf(request, csrf)
    require_hr(user)
    changes = changes_of(input_id, value)
    dry = appeals.dry_resolution(session, appeal_id=appeal_id, changes=changes,
                                 actor=actor(user))
    appeal = appeals.get_appeal(session, appeal_id)
    app = session.get(Appraisal, appeal.appraisal_id)
    assert app is not None
    labels = {f.key: f for f in appeals.form_inputs(session, app)}
    return render(request, "hr_appeal_preview.html", user=user, appeal=appeal, app=app,
                  dry=dry, labels=labels, resolution=resolution)


# -- the appellant's evidence ------------------------------------------------------------
def _appeal_for(session: Session, user: User, appeal_id: int) -> tuple[Appeal, Appraisal]:
    """An appeal whose appraisal the user may see (else: not found)."""
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(i18n.N_("not found"))
    app = get_visible(session, user, appeal.appraisal_id)
    return appeal, app


@router.get("/appeals/{appeal_id}/evidence", response_class=HTMLResponse)
def appeal_evidence(appeal_id: RecordId, request: Request, session: SessionDep,
                    user: UserDep) -> HTMLResponse:
    appeal, app = _appeal_for(session, user, appeal_id)
    files = evidence.list_evidence(session, appeal_id=appeal.id, actor=actor(user))
    own = user.employee_id is not None and user.employee_id == app.employee_id
    return render(request, "appeal_evidence.html", user=user, appeal=appeal, app=app,
                  files=files, own=own, max_files=evidence.MAX_FILES,
                  max_mb=evidence.MAX_BYTES // 2**20,
                  can_attach=own and appeal.state in (AppealState.filed, AppealState.accepted)
                  and len(files) < evidence.MAX_FILES)


@router.post("/appeals/{appeal_id}/evidence")
def appeal_attach(appeal_id: RecordId, request: Request, session: SessionDep, user: UserDep,
                  file: Annotated[UploadFile, File()], csrf: Csrf = None) -> Response:
    """Attach one file (read at most the limit and one byte; the service checks the rest)."""
    check_csrf(request, csrf)
    appeal, _ = _appeal_for(session, user, appeal_id)
    data = file.file.read(evidence.MAX_BYTES + 1)
    ev = evidence.attach(session, appeal_id=appeal.id, filename=file.filename or "",
                         data=data, actor=actor(user))
    request.session["flash"] = i18n.gettext("Attached %(file)s.") % {"file": ev.filename}
    return RedirectResponse(f"/appeals/{appeal.id}/evidence", status_code=303)


@router.get("/appeals/{appeal_id}/evidence/{evidence_id}")
def appeal_download(appeal_id: RecordId, evidence_id: RecordId, session: SessionDep,
                    user: UserDep) -> Response:
    appeal, _ = _appeal_for(session, user, appeal_id)
    try:
        ev = evidence.get_evidence(session, appeal_id=appeal.id, evidence_id=evidence_id,
                                   actor=actor(user))
    except NotAllowed:
        raise HTTPException(403, i18n.N_("Only the appellant and HR see the evidence.")) from None
    resp = download(ev.data, ev.media_type, ev.filename)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


# -- the agent's 确认结果 asks first ------------------------------------------------------
@router.get("/appraisals/{appraisal_id}/confirm/acknowledge", response_class=HTMLResponse)
def confirm_acknowledge(appraisal_id: RecordId, request: Request, session: SessionDep,
                        user: UserDep) -> HTMLResponse:
    """The agent's confirmation of 确认结果: it moves one person (themselves) for good."""
    app = get_visible(session, user, appraisal_id)
    t = states.APPRAISAL["acknowledge"]
    if not t.roles & permissions.capacities(actor(user), user, app):
        raise NotAllowed(i18n.N_("Only the appraised employee acknowledges their result."))
    states.find(states.APPRAISAL, "acknowledge", app.state.value, "appraisal")
    preview = {"n": 1, "teams": {}, "sources": t.sources, "dest": t.dest, "reverse": False}
    return render(request, "confirm.html", user=user, preview=preview,
                  action=f"/appraisals/{app.id}/action", back=f"/appraisals/{app.id}",
                  title=i18n.gettext("Acknowledge the result"), step="acknowledge",
                  final=False, frm=[], to="",
                  message=i18n.gettext("You confirm your result for %(period)s.")
                  % {"period": app.cycle.period},
                  fields={"action": "acknowledge", "version": app.version},
                  undo_hint=i18n.gettext("After acknowledging, the result can no longer be "
                                         "appealed."))


def confirm_reject(request: Request, session: Session, user: User, appeal_id: int,
                   note: str) -> HTMLResponse:
    """不予受理 is final for the appeal (the result stays): a confirmation page first."""
    appeal = appeals.get_appeal(session, appeal_id)
    app = session.get(Appraisal, appeal.appraisal_id)
    assert app is not None
    preview = {"n": 1, "teams": {}, "sources": (), "dest": "", "reverse": False}
    return render(request, "confirm.html", user=user, preview=preview,
                  action=f"/hr/appeals/{appeal.id}/decide", back="/hr/appeals",
                  title=i18n.gettext("Reject the appeal"), step="reject", final=False,
                  frm=[], to="", fields={"decision": "reject", "note": note},
                  message=i18n.gettext("Reject appeal #%(id)s of %(name)s (%(code)s): the "
                                       "appeal is closed and the result stays as it is.")
                  % {"id": appeal.id, "name": app.employee.name, "code": app.employee.code})
