"""Pages for everyone: login, my appraisals, the team board, and one appraisal (the
scorecard) with what each role may do on it: self-review, acknowledge or appeal; ratings,
incidents and feedback-meeting notes for the supervisor; exports as xlsx and PDF."""

from __future__ import annotations

import datetime as dt
import tempfile
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import func, select

from kaohe.errors import KaoheError
from kaohe.reports.forms import write_agent_form
from kaohe.store.models import (
    Appeal,
    Appraisal,
    Cycle,
    Employee,
    FeedbackMeeting,
    Incident,
    Rating,
    Result,
    User,
)
from kaohe.web import charts, grid, i18n, teamviews, timefmt
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
from kaohe.workflow import accounts, appeals, calendar, cycles, org, permissions, ratings, states
from kaohe.workflow.aggregates import appraisal_aggregates, my_aggregates
from kaohe.workflow.cycles import scheme_of
from kaohe.workflow.errors import WorkflowError
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
    if user.must_change_password:  # a one-time password: asked to choose one's own first
        return RedirectResponse("/account#password", status_code=303)
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
    # the current month's next step (web-rate): what to do, and by when
    step = None
    if rows:
        newest = session.get(Appraisal, rows[0]["id"])
        if newest is not None:
            step = _next_step(newest)
            if step is not None:
                step |= {"id": newest.id, "period": rows[0]["period"]}
    return render(request, "me.html", user=user, rows=rows, next_step=step,
                  trend=Markup(charts.line(trend)) if len(trend) > 1 else "",
                  reminders_on=not user.reminders_off, contact_email=user.contact_email,
                  contact_mobile=user.contact_mobile,
                  aggregates=my_aggregates(session, user=user))


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
         team: str | None = None, q: teamviews.Search = "",
         sort: teamviews.Sort = "rank") -> HTMLResponse:
    if not is_staff(user):
        raise HTTPException(404, "not found")
    board = board_rows(session, user, period=period, team=team)
    shown = teamviews.search_sort(board["rows"], q, sort)  # the table as searched and sorted
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
                  late=late, shown=shown, q=q, sort=sort,
                  flagged=teamviews.flagged(board["rows"]),
                  unrated=unrated, unrated_teams=unrated_teams,
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
    return _appraisal_view(request, session, user, appraisal_id)


def _appraisal_view(request: Request, session: SessionDep, user: User, appraisal_id: int, *,
                    errors: dict[str, str] | None = None, typed: dict[str, str] | None = None,
                    status: int = 200) -> HTMLResponse:
    """The scorecard; after a refused form, with the reason next to its field and what the
    user typed kept (``errors`` and ``typed`` by field key, e.g. ``incident.count``)."""
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
    # while rating: the next agent of the team and the team's grid (web-rate)
    rating_forms = _rating_forms(session, user, app_, scheme)
    # a refusal whose form is not on the page (the state moved on): shown at the top
    forms = {"action": True, "self_review": own and "submit_self_review" in moves,
             "appeal": own and "acknowledge" in moves, "feedback": may["record_feedback"],
             "incident": bool(counts) and may["record_incident"]}
    forms |= {f"rate:{f['id']}:{f['role']}": True for f in rating_forms}
    forms |= {f"{kind}:{i.id}": may["change_incident"] for i in incidents
              for kind in ("correct", "remove")}
    orphans = [msg for key, msg in (errors or {}).items()
               if key not in ("self_review", "appeal", "action")
               and not forms.get(key.partition(".")[0], False)]
    return render(request, "appraisal.html", status=status, user=user, a=doc, labels=labels,
                  grades=grades, errors=errors or {}, typed=typed or {}, orphans=orphans,
                  self_review=app_.self_review or "",
                  neighbours=_neighbours(session, user, app_) if staff and rating_forms else {},
                  next_step=_next_step(app_) if own else None,
                  own=own, staff=staff, may=may, moves=moves, inputs=inputs,
                  ratings=rating_forms,
                  counts=counts, incidents=incidents, meetings=meetings, appeals=appeal_rows,
                  team_size=team_size, today=today.isoformat(), sources=sources,
                  period_first=first.isoformat(), period_last=last.isoformat(),
                  incident_day=min(max(today, first), last).isoformat(),
                  history=history(session, app_, user),
                  trend=Markup(charts.line(trend)) if len(trend) > 1 else "",
                  aggregates=appraisal_aggregates(session, user=user, appraisal=app_))


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


# -- the forms of the scorecard: a refused form comes back with the reason next to the field,
# in the page's language, and what was typed kept (nothing is saved: one savepoint) ---------
Field = Annotated[str, Form(max_length=20_000)]


def _attempt(session: SessionDep, work: Callable[[], object]) -> KaoheError | None:
    """Run a service call; a refusal rolls back what it began and is returned."""
    try:
        with session.begin_nested():
            work()
    except KaoheError as exc:
        return exc
    return None


def _refused(request: Request, session: SessionDep, user: User, appraisal_id: int,
             problem: KaoheError | dict[str, str], typed: dict[str, str],
             key: str) -> HTMLResponse:
    """The scorecard again: ``problem`` (a service's refusal, shown at ``key``, or the field
    errors found here) next to the fields, ``typed`` kept."""
    if isinstance(problem, KaoheError):
        status = problem.status if isinstance(problem, WorkflowError) else 422
        errors = {key: i18n.translate(problem.args[0] if problem.args else str(problem))}
    else:
        status, errors = 422, problem
    session.expire_all()
    return _appraisal_view(request, session, user, appraisal_id, errors=errors, typed=typed,
                           status=status)


def _number(text: str, key: str, errors: dict[str, str], *, low: Decimal = Decimal(0),
            high: Decimal = Decimal(10_000)) -> Decimal:
    """A number typed in a form (full-width digits and a comma as thousands separator
    allowed); a mistake is noted in ``errors`` under ``key``."""
    cleaned = unicodedata.normalize("NFKC", text).strip().replace(",", "")
    try:
        value = Decimal(cleaned)
        if not value.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors[key] = i18n.gettext(i18n.N_("Enter a number, such as 1 or 2.5 (you typed "
                                           "“%(text)s”).")) % {"text": text}
        return Decimal(0)
    if not low <= value <= high:
        errors[key] = i18n.gettext(i18n.N_("Enter a number from %(low)s to %(high)s.")) % {
            "low": low, "high": high}
    return value


def _date(text: str, key: str, errors: dict[str, str]) -> dt.date:
    try:
        return dt.date.fromisoformat(unicodedata.normalize("NFKC", text).strip())
    except ValueError:
        errors[key] = i18n.gettext(i18n.N_("Enter a date as year-month-day, such as "
                                           "2026-11-05 (you typed “%(text)s”).")) % {
            "text": text}
        return dt.date.min


def _required(text: str, key: str, errors: dict[str, str]) -> None:
    if not text.strip():
        errors[key] = i18n.gettext(i18n.N_("This field is required."))


@router.post("/appraisals/{appraisal_id}/action")
def appraisal_action(appraisal_id: RecordId, request: Request, session: SessionDep,
                     user: UserDep, action: Annotated[str, Form(max_length=100)],
                     csrf: Csrf = None, note: Field = "",
                     version: Annotated[int | None, Form()] = None) -> Response:
    check_csrf(request, csrf)
    get_visible(session, user, appraisal_id)
    key = "self_review" if action == "submit_self_review" else "action"
    problem = _attempt(session, lambda: cycles.transition(
        session, appraisal_id=appraisal_id, trigger=action, actor=actor(user),
        expected_version=version, note=note))
    if problem is not None:
        return _refused(request, session, user, appraisal_id, problem, {key: note}, key)
    return _back(appraisal_id)


@router.post("/appraisals/{appraisal_id}/appeal")
def appraisal_appeal(appraisal_id: RecordId, request: Request, session: SessionDep,
                     user: UserDep, reason: Field = "", csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    get_visible(session, user, appraisal_id)
    errors: dict[str, str] = {}
    _required(reason, "appeal", errors)
    problem = errors or _attempt(session, lambda: appeals.file_appeal(
        session, appraisal_id=appraisal_id, reason=reason, actor=actor(user)))
    if problem:
        return _refused(request, session, user, appraisal_id, problem, {"appeal": reason},
                        "appeal")
    return _back(appraisal_id, "#appeals")


@router.post("/appraisals/{appraisal_id}/rate")
def appraisal_rate(appraisal_id: RecordId, request: Request, session: SessionDep,
                   user: UserDep, input_id: Annotated[str, Form(max_length=100)],
                   value: Annotated[str, Form(max_length=100)] = "", csrf: Csrf = None,
                   role: Annotated[str, Form(max_length=20)] = "supervisor",
                   version: Annotated[int | None, Form()] = None) -> Response:
    check_csrf(request, csrf)
    get_visible(session, user, appraisal_id)
    key = f"rate:{input_id}:{role}"
    errors: dict[str, str] = {}
    _required(value, key, errors)
    problem = errors or _attempt(session, lambda: cycles.rate(
        session, appraisal_id=appraisal_id, input_id=input_id,
        value=unicodedata.normalize("NFKC", value).strip(), actor=actor(user), role=role,
        expected_version=version))
    if problem:
        return _refused(request, session, user, appraisal_id, problem, {key: value}, key)
    return _back(appraisal_id, f"#rate-{input_id}-{role}")


@router.post("/appraisals/{appraisal_id}/incident")
def appraisal_incident(appraisal_id: RecordId, request: Request, session: SessionDep,
                       user: UserDep, input_id: Annotated[str, Form(max_length=100)],
                       date: Annotated[str, Form(max_length=40)] = "", csrf: Csrf = None,
                       count: Annotated[str, Form(max_length=40)] = "1",
                       note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    check_csrf(request, csrf)
    get_visible(session, user, appraisal_id)
    errors: dict[str, str] = {}
    day = _date(date, "incident.date", errors)
    n = _number(count, "incident.count", errors)
    problem = errors or _attempt(session, lambda: cycles.add_incident(
        session, appraisal_id=appraisal_id, input_id=input_id, date=day, count=n, note=note,
        actor=actor(user)))
    if problem:
        return _refused(request, session, user, appraisal_id, problem, {
            "incident.input_id": input_id, "incident.date": date, "incident.count": count,
            "incident.note": note}, "incident")
    return _back(appraisal_id, "#incidents")


@router.post("/appraisals/{appraisal_id}/incidents/{incident_id}/correct")
def appraisal_incident_correct(appraisal_id: RecordId, incident_id: RecordId, request: Request,
                               session: SessionDep, user: UserDep,
                               reason: Annotated[str, Form(max_length=2000)] = "",
                               date: Annotated[str, Form(max_length=40)] = "",
                               count: Annotated[str, Form(max_length=40)] = "",
                               csrf: Csrf = None,
                               note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    check_csrf(request, csrf)
    get_visible(session, user, appraisal_id)
    key = f"correct:{incident_id}"
    errors: dict[str, str] = {}
    day = _date(date, f"{key}.date", errors)
    n = _number(count, f"{key}.count", errors)
    _required(reason, f"{key}.reason", errors)
    problem = errors or _attempt(session, lambda: cycles.correct_incident(
        session, appraisal_id=appraisal_id, incident_id=incident_id, date=day, count=n,
        note=note, reason=reason, actor=actor(user)))
    if problem:
        return _refused(request, session, user, appraisal_id, problem, {
            f"{key}.date": date, f"{key}.count": count, f"{key}.note": note,
            f"{key}.reason": reason}, key)
    return _back(appraisal_id, "#incidents")


@router.post("/appraisals/{appraisal_id}/incidents/{incident_id}/remove")
def appraisal_incident_remove(appraisal_id: RecordId, incident_id: RecordId, request: Request,
                              session: SessionDep, user: UserDep,
                              reason: Annotated[str, Form(max_length=2000)] = "",
                              csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    get_visible(session, user, appraisal_id)
    key = f"remove:{incident_id}"
    errors: dict[str, str] = {}
    _required(reason, f"{key}.reason", errors)
    problem = errors or _attempt(session, lambda: cycles.remove_incident(
        session, appraisal_id=appraisal_id, incident_id=incident_id, reason=reason,
        actor=actor(user)))
    if problem:
        return _refused(request, session, user, appraisal_id, problem,
                        {f"{key}.reason": reason}, key)
    return _back(appraisal_id, "#incidents")


@router.post("/appraisals/{appraisal_id}/feedback")
def appraisal_feedback(appraisal_id: RecordId, request: Request, session: SessionDep,
                       user: UserDep, held_on: Annotated[str, Form(max_length=40)] = "",
                       notes: Field = "", csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    get_visible(session, user, appraisal_id)
    errors: dict[str, str] = {}
    day = _date(held_on, "feedback.held_on", errors)
    _required(notes, "feedback.notes", errors)
    problem = errors or _attempt(session, lambda: appeals.record_feedback(
        session, appraisal_id=appraisal_id, held_on=day, notes=notes, actor=actor(user)))
    if problem:
        return _refused(request, session, user, appraisal_id, problem, {
            "feedback.held_on": held_on, "feedback.notes": notes}, "feedback")
    return _back(appraisal_id, "#feedback")


# -- the next agent to rate, and the agent's next step (web-rate) ---------------------------
def _neighbours(session: SessionDep, user: User, app_: Appraisal) -> dict[str, Any]:
    """The team's appraisals of the same cycle before and after this one (by 工号), the
    next one still to rate, and the team's rating grid."""
    team = list(session.execute(
        visible_appraisals(user).where(Appraisal.cycle_id == app_.cycle_id,
                                       Appraisal.team_code == app_.team_code)
        .with_only_columns(Appraisal.id, Employee.code, Employee.name)
        .order_by(Employee.code).limit(grid.MAX_ROWS)).all())
    at = next((i for i, row in enumerate(team) if row[0] == app_.id), None)
    if at is None:
        return {}
    todo = ratings.unrated_counts(session, [row[0] for row in team])
    after = team[at + 1:] + team[:at]
    nxt = team[at + 1] if at + 1 < len(team) else None
    prev = team[at - 1] if at > 0 else None
    unrated = next((row for row in after if todo.get(row[0])), None)
    return {"next": nxt, "prev": prev, "unrated": unrated if unrated != nxt else None,
            "grid": f"/cycles/{app_.cycle_id}/grid?team={quote(app_.team_code)}",
            "place": at + 1, "size": len(team)}


def _next_step(app_: Appraisal) -> dict[str, Any] | None:
    """What the agent does next on this appraisal, and by when (Beijing dates, Chinese
    working days)."""
    today = timefmt.today()
    state = app_.state.value
    if state == "self_review":
        due = ratings.review_due(app_.cycle, "self", today=today)
        return {"kind": "self_review", "due": due.due, "left": due.left,
                "overdue": due.overdue, "official": due.official}
    if state in ("supervisor_review", "second_review", "hr_approval"):
        return {"kind": "waiting", "state": state}
    if state == "published":
        appeal_by = app_.appeal_due
        return {"kind": "acknowledge", "due": appeal_by,
                "left": calendar.workdays_between(today, appeal_by) if appeal_by else None,
                "overdue": bool(appeal_by and today > appeal_by)}
    if state == "appealed":
        return {"kind": "appealed"}
    return {"kind": "done"}


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

