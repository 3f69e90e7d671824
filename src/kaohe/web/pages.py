"""Pages for everyone: login, my appraisals, the team board, and one appraisal (the
scorecard) with what each role may do on it: self-review, acknowledge or appeal; ratings,
incidents and feedback-meeting notes for the supervisor; exports as xlsx and PDF."""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import func, select

from kaohe.reports.forms import write_agent_form
from kaohe.store.models import (
    Appeal,
    Appraisal,
    Cycle,
    FeedbackMeeting,
    Incident,
    Rating,
    Result,
    User,
)
from kaohe.web import charts, grid, i18n, timefmt
from kaohe.web.deps import (
    XLSX,
    RecordId,
    SessionDep,
    UserDep,
    actor,
    check_csrf,
    client_address,
    database,
    download,
    lang_of,
    live_session,
    render,
)
from kaohe.web.services import WAITING, appraisal_doc, board_rows, history, rows_for
from kaohe.workflow import accounts, appeals, cycles, org, permissions, ratings, states
from kaohe.workflow.cycles import scheme_of
from kaohe.workflow.permissions import get_visible, is_staff, visible_appraisals
from kaohe.workflow.seal import require_intact

router = APIRouter()
Csrf = Annotated[str | None, Form()]


# -- login -------------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    live_session(request)  # a cookie of an ended session is dropped: a fresh form token
    return render(request, "login.html", error=None)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, username: Annotated[str, Form(max_length=100)],
          password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)],
          csrf: Csrf = None) -> Response:
    """Check the password (throttled per user and address, in the database) and start a
    server-side session; the cookie gets a new token, so a planted one is worthless."""
    check_csrf(request, csrf)
    try:
        started = accounts.login(database(request), username=username, password=password,
                                 address=client_address(request),
                                 user_agent=request.headers.get("user-agent", ""))
    except accounts.Throttled as exc:
        return render(request, "login.html", status=429, error=exc.args[0])
    if started is None:
        return render(request, "login.html", status=400,
                      error=i18n.N_("Wrong username or password"))
    request.session.clear()
    request.session["sid"] = started.token
    request.session["csrf"] = started.csrf
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
def logout(request: Request, csrf: Csrf = None) -> Response:
    """End the session on the server (its cookie and CSRF token stop working) and drop
    the cookie."""
    check_csrf(request, csrf)
    token = request.session.get("sid")
    if isinstance(token, str):
        with database(request).transaction() as session:
            accounts.end_session(session, token)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/", response_class=HTMLResponse)
def home(user: UserDep) -> Response:
    return RedirectResponse("/team" if is_staff(user) else "/me", status_code=303)


# -- my appraisals and the team board ---------------------------------------------------
@router.get("/me", response_class=HTMLResponse)
def me(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    rows: list[dict[str, Any]] = []
    if user.employee_id is not None:
        rows = rows_for(session, visible_appraisals(user).where(
            Appraisal.employee_id == user.employee_id), viewer=user)
    trend = [(r["period"], float(r["result"]["total"])) for r in reversed(rows)
             if r["result"] and r["result"].get("total") is not None]
    return render(request, "me.html", user=user, rows=rows,
                  trend=Markup(charts.line(trend)) if len(trend) > 1 else "",
                  reminders_on=not user.reminders_off, contact_email=user.contact_email,
                  contact_mobile=user.contact_mobile)


@router.post("/me/reminders")
def my_reminders(request: Request, session: SessionDep, user: UserDep,
                 remind: Annotated[str | None, Form()] = None, csrf: Csrf = None) -> Response:
    """Opt in to reminders (the box ticked) or out of them."""
    check_csrf(request, csrf)
    org.set_reminders(session, username=user.username, on=bool(remind), actor=actor(user))
    request.session["flash"] = i18n.translate(
        i18n.N_("Your reminders are on.") if remind else i18n.N_("Your reminders are off."))
    return RedirectResponse("/me#reminders", status_code=303)


@router.get("/team", response_class=HTMLResponse)
def team(request: Request, session: SessionDep, user: UserDep, period: str | None = None,
         team: str | None = None) -> HTMLResponse:
    if not is_staff(user):
        raise HTTPException(404, "not found")
    board = board_rows(session, user, period=period, team=team)
    ranked = sorted((r for r in board["rows"] if r["result"]
                     and r["result"].get("total") is not None),
                    key=lambda r: -float(r["result"]["total"]))
    ranking = [(f"{r['code']} {r['name']}", float(r["result"]["total"])) for r in ranked[:30]]
    grades: dict[str, int] = {}
    rank: dict[str, int] = {}
    for r in board["rows"]:
        g = r["grade_label"]
        if g:
            grades[g] = grades.get(g, 0) + 1
            rank[g] = min(rank.get(g, 10**6), r["grade_rank"])
    ordered = sorted(grades.items(), key=lambda kv: (rank[kv[0]], kv[0]))  # the scheme's order
    late = [r for r in board["rows"] if r["late"]]
    # -- rating progress (web-rate): 未评分 cells per row and per team, the grids' links
    unrated, unrated_teams = _unrated(session, user, board)
    return render(request, "team.html", user=user, board=board,
                  ranking=Markup(charts.bars(ranking)) if ranking else "",
                  grades=Markup(charts.distribution(ordered)) if grades else "",
                  late=late, unrated=unrated, unrated_teams=unrated_teams,
                  waiting=sum(1 for r in board["rows"] if r["state"] in WAITING),
                  grids=grid.grid_links(session, user, board["period"], board["team"]))


def _unrated(session: SessionDep, user: User, board: dict[str, Any]
             ) -> tuple[dict[int, int], dict[str, int]]:
    """未评分 per appraisal of the board, and per team (the overview's teams)."""
    if board["rows"]:
        return ratings.unrated_counts(session, [r["id"] for r in board["rows"]]), {}
    if not board["overview"] or board["period"] is None:
        return {}, {}
    rows = session.execute(visible_appraisals(user).join(Cycle, Cycle.id == Appraisal.cycle_id)
                           .where(Cycle.period == board["period"])
                           .with_only_columns(Appraisal.id, Appraisal.team_code)).all()
    counts = ratings.unrated_counts(session, [i for i, _ in rows])
    teams: dict[str, int] = {}
    for aid, code in rows:
        teams[code] = teams.get(code, 0) + counts.get(aid, 0)
    return {}, teams


# -- one appraisal ------------------------------------------------------------------------
def _label(item: Any, lang: str) -> str:
    if lang == "en":
        return str(item.label_en or item.label or item.id)
    return str(item.label or item.id)


def _rating_forms(session: SessionDep, user: User, app_: Appraisal,
                  scheme: Any) -> list[dict[str, Any]]:
    """The inputs this user may rate now (as :func:`permissions.ratable` says), each with
    the role they rate as and the value saved so far (a peer's rating is never shown)."""
    pairs = permissions.ratable(actor(user), user, app_, scheme.inputs)
    if not pairs:
        return []
    saved = {(r.input_id, r.rater_role): r for r in session.scalars(
        select(Rating).where(Rating.appraisal_id == app_.id, Rating.rater_role != "peer",
                             Rating.rater_user_id == user.id))}
    forms = []
    for ident, role in pairs:
        spec = scheme.inputs[ident]
        rating = saved.get((ident, role.value))
        forms.append({"id": ident, "label": spec.label or ident,
                      "label_en": spec.label_en or spec.label or ident, "role": role.value,
                      "type": spec.type, "levels": list(spec.levels or {}),
                      "min": spec.min, "max": spec.max,
                      "value": rating.value if rating else None,
                      "version": rating.version if rating else 0})
    return forms


@router.get("/appraisals/{appraisal_id}", response_class=HTMLResponse)
def appraisal_page(appraisal_id: RecordId, request: Request, session: SessionDep,
                   user: UserDep) -> HTMLResponse:
    app_ = get_visible(session, user, appraisal_id)
    scheme = scheme_of(app_.cycle.scheme_version)
    lang = lang_of(request)
    own = user.employee_id == app_.employee_id
    staff = is_staff(user) and not own
    labels = {i.id: _label(i, lang) for i in scheme.indicators}
    labels |= {a.id: _label(a, lang) for a in scheme.adjustments}
    labels |= {p.id: _label(p, lang) for p in scheme.pay}
    labels |= {f.flag: (f.label_en or f.flag) if lang == "en" else f.flag for f in scheme.flags}
    grades = {g.name: (g.label_en or g.name) if lang == "en" else g.name for g in scheme.grades}
    doc = appraisal_doc(session, app_, user)
    # the trend of this employee under this scheme (the published months only, for the
    # employee themself), and the place in the team
    trend = [(period, float(payload["total"])) for period, payload, state in session.execute(
        select(Cycle.period, Result.payload, Appraisal.state)
        .join(Appraisal, Appraisal.cycle_id == Cycle.id)
        .join(Result, (Result.appraisal_id == Appraisal.id) & Result.is_current.is_(True))
        .where(Appraisal.employee_id == app_.employee_id, Cycle.scheme_id == app_.cycle.scheme_id)
        .order_by(Cycle.period)) if payload and payload.get("total") is not None
        and not permissions.results_hidden(user, app_.employee_id, state)]
    team_size = session.scalar(select(func.count()).select_from(Appraisal).where(
        Appraisal.cycle_id == app_.cycle_id, Appraisal.team_code == app_.team_code))
    notes = permissions.shows_incident_notes(user, app_)
    incidents = list(session.scalars(select(Incident).where(
        Incident.appraisal_id == app_.id).order_by(Incident.date, Incident.id))) if notes else []
    who = permissions.capacities(actor(user), user, app_)
    may = {name: permissions.allows(rule, who, app_.state)
           for name, rule in permissions.ACTIONS.items()}
    moves = {t.trigger for t in states.APPRAISAL.values()
             if app_.state.value in t.sources and t.roles & who}
    meetings = list(session.scalars(select(FeedbackMeeting).where(
        FeedbackMeeting.appraisal_id == app_.id).order_by(FeedbackMeeting.held_on)))
    appeal_rows = list(session.scalars(select(Appeal).where(
        Appeal.appraisal_id == app_.id).order_by(Appeal.id)))
    counts = [(ident, spec.label_en if lang == "en" and spec.label_en else spec.label or ident)
              for ident, spec in scheme.inputs.items() if spec.type == "count"]
    inputs = {ident: (spec.label_en or spec.label or ident) if lang == "en"
              else (spec.label or ident) for ident, spec in scheme.inputs.items()}
    first, last = cycles.period_days(app_.cycle.period)
    today = timefmt.today()
    result = doc["result"] or {}
    sources = [(_column_label(col, inputs), _source_text(src))
               for col, src in (result.get("sources") or {}).items()]
    return render(request, "appraisal.html", user=user, a=doc, labels=labels, grades=grades,
                  own=own, staff=staff, may=may, moves=moves, inputs=inputs,
                  ratings=_rating_forms(session, user, app_, scheme),
                  counts=counts, incidents=incidents, meetings=meetings, appeals=appeal_rows,
                  team_size=team_size, today=today.isoformat(), sources=sources,
                  period_first=first.isoformat(), period_last=last.isoformat(),
                  incident_day=min(max(today, first), last).isoformat(),
                  history=history(session, app_, user),
                  trend=Markup(charts.line(trend)) if len(trend) > 1 else "")


def _column_label(col: str, inputs: dict[str, str]) -> str:
    ident, _, role = col.partition("@")
    label = inputs.get(ident, ident)
    return f"{label} ({_rater(role)})" if role else label


def _rater(role: str) -> str:
    return i18n.gettext({"self": i18n.N_("self"), "peer": i18n.N_("peers"),
                         "supervisor": i18n.N_("supervisor"),
                         "manager": i18n.N_("manager")}.get(role, role))


def _source_text(src: str) -> str:
    """Where a counted value came from, as the scorecard says it: a rating, the import with
    the incidents added, or a decision (the appeal or correction and its reason)."""
    if src.startswith("rating:"):
        return i18n.gettext(i18n.N_("rating by the %(role)s")) % {"role": _rater(src[7:])}
    if src == "incidents":
        return i18n.gettext(i18n.N_("imported, plus the incidents recorded"))
    if src.startswith("appeal "):
        return i18n.gettext(i18n.N_("appeal resolution (%(what)s)")) % {"what": src}
    if src.startswith("correction"):
        return i18n.gettext(i18n.N_("HR correction (%(what)s)")) % {
            "what": src.removeprefix("correction").lstrip(": ")}
    return src


def _back(appraisal_id: int, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/appraisals/{appraisal_id}{anchor}", status_code=303)


@router.post("/appraisals/{appraisal_id}/action")
def appraisal_action(appraisal_id: RecordId, request: Request, session: SessionDep,
                     user: UserDep, action: Annotated[str, Form()], csrf: Csrf = None,
                     note: Annotated[str, Form()] = "",
                     version: Annotated[int | None, Form()] = None) -> Response:
    check_csrf(request, csrf)
    get_visible(session, user, appraisal_id)
    cycles.transition(session, appraisal_id=appraisal_id, trigger=action, actor=actor(user),
                      expected_version=version, note=note)
    return _back(appraisal_id)


@router.post("/appraisals/{appraisal_id}/appeal")
def appraisal_appeal(appraisal_id: RecordId, request: Request, session: SessionDep,
                     user: UserDep, reason: Annotated[str, Form()],
                     csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    get_visible(session, user, appraisal_id)
    appeals.file_appeal(session, appraisal_id=appraisal_id, reason=reason, actor=actor(user))
    return _back(appraisal_id, "#appeals")


@router.post("/appraisals/{appraisal_id}/rate")
def appraisal_rate(appraisal_id: RecordId, request: Request, session: SessionDep,
                   user: UserDep, input_id: Annotated[str, Form()],
                   value: Annotated[str, Form()], csrf: Csrf = None,
                   role: Annotated[str, Form()] = "supervisor",
                   version: Annotated[int | None, Form()] = None) -> Response:
    check_csrf(request, csrf)
    get_visible(session, user, appraisal_id)
    cycles.rate(session, appraisal_id=appraisal_id, input_id=input_id, value=value.strip(),
                actor=actor(user), role=role, expected_version=version)
    return _back(appraisal_id, "#rating")


@router.post("/appraisals/{appraisal_id}/incident")
def appraisal_incident(appraisal_id: RecordId, request: Request, session: SessionDep,
                       user: UserDep, input_id: Annotated[str, Form()],
                       date: Annotated[dt.date, Form()], csrf: Csrf = None,
                       count: Annotated[Decimal, Form(ge=0, le=10_000)] = Decimal(1),
                       note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    check_csrf(request, csrf)
    get_visible(session, user, appraisal_id)
    cycles.add_incident(session, appraisal_id=appraisal_id, input_id=input_id, date=date,
                        count=count, note=note, actor=actor(user))
    return _back(appraisal_id, "#incidents")


@router.post("/appraisals/{appraisal_id}/incidents/{incident_id}/correct")
def appraisal_incident_correct(appraisal_id: RecordId, incident_id: RecordId, request: Request,
                               session: SessionDep, user: UserDep,
                               reason: Annotated[str, Form(min_length=1, max_length=2000)],
                               date: Annotated[dt.date, Form()],
                               count: Annotated[Decimal, Form(ge=0, le=10_000)],
                               csrf: Csrf = None,
                               note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    check_csrf(request, csrf)
    get_visible(session, user, appraisal_id)
    cycles.correct_incident(session, appraisal_id=appraisal_id, incident_id=incident_id,
                            date=date, count=count, note=note, reason=reason,
                            actor=actor(user))
    return _back(appraisal_id, "#incidents")


@router.post("/appraisals/{appraisal_id}/incidents/{incident_id}/remove")
def appraisal_incident_remove(appraisal_id: RecordId, incident_id: RecordId, request: Request,
                              session: SessionDep, user: UserDep,
                              reason: Annotated[str, Form(min_length=1, max_length=2000)],
                              csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    get_visible(session, user, appraisal_id)
    cycles.remove_incident(session, appraisal_id=appraisal_id, incident_id=incident_id,
                           reason=reason, actor=actor(user))
    return _back(appraisal_id, "#incidents")


@router.post("/appraisals/{appraisal_id}/feedback")
def appraisal_feedback(appraisal_id: RecordId, request: Request, session: SessionDep,
                       user: UserDep, held_on: Annotated[dt.date, Form()],
                       notes: Annotated[str, Form(max_length=20_000)],
                       csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    get_visible(session, user, appraisal_id)
    appeals.record_feedback(session, appraisal_id=appraisal_id, held_on=held_on, notes=notes,
                            actor=actor(user))
    return _back(appraisal_id, "#feedback")


def _scored_record(session: SessionDep, app_: Appraisal,
                   viewer: User) -> tuple[Any, dict[str, Any]]:
    """The cycle re-scored from its stored inputs, and this appraisal's record in it (for
    the appraised employee, once published)."""
    current = session.scalar(select(Result.id).where(Result.appraisal_id == app_.id,
                                                     Result.is_current.is_(True)))
    if not permissions.sees_results(viewer, app_) or current is None:
        raise HTTPException(404, i18n.N_("This appraisal has not been scored yet."))
    require_intact(session, cycle_id=app_.cycle_id, appraisal_ids=[app_.id])
    scored, doc = cycles.scored_cycle(session, cycle_id=app_.cycle_id)
    record = next((r for r in doc["results"] if r["employee"] == app_.employee.code), None)
    if record is None:
        raise HTTPException(404, i18n.N_("This appraisal has not been scored yet."))
    return scored, record


@router.get("/appraisals/{appraisal_id}/form.xlsx")
def appraisal_form(appraisal_id: RecordId, request: Request, session: SessionDep,
                   user: UserDep) -> Response:
    app_ = get_visible(session, user, appraisal_id)
    scored, record = _scored_record(session, app_, user)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "form.xlsx"
        write_agent_form(scored, record, path, lang=lang_of(request))
        data = path.read_bytes()
    return download(data, XLSX, f"{app_.cycle.period}_{app_.employee.code}.xlsx")


@router.get("/appraisals/{appraisal_id}/scorecard.pdf")
def appraisal_pdf(appraisal_id: RecordId, request: Request, session: SessionDep,
                  user: UserDep) -> Response:
    from kaohe.reports.pdf import agent_pdf

    app_ = get_visible(session, user, appraisal_id)
    scored, record = _scored_record(session, app_, user)
    data = agent_pdf(scored, record, lang=lang_of(request))
    return download(data, "application/pdf", f"{app_.cycle.period}_{app_.employee.code}.pdf")

