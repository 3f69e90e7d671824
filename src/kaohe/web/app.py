"""The FastAPI app: sessions in signed cookies, CSRF tokens on every form, login throttling,
row-level visibility on every page and API route (a record you may not see is a 404).

Built by :func:`create_app` (nothing at import time). Errors from the services carry their
HTTP status; one handler renders them.
"""


import datetime as dt
import io
import os
import secrets
import tempfile
import time
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload
from starlette.middleware.sessions import SessionMiddleware

from kaohe.errors import KaoheError
from kaohe.reports.forms import write_agent_form, write_forms
from kaohe.store.db import Database
from kaohe.store.models import Appeal, AppealState, Appraisal, Cycle, Employee, Result, User
from kaohe.web import charts
from kaohe.web.access import get_visible, visible_appraisals
from kaohe.web.i18n import t
from kaohe.workflow import appeals, cycles, states
from kaohe.workflow.audit import Actor
from kaohe.workflow.cycles import scheme_of
from kaohe.workflow.errors import WorkflowError
from kaohe.workflow.passwords import verify_password
from kaohe.workflow.payroll import write_payroll

#: a record id in a URL: anything else is a 422, not a database error
RecordId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]  # INTEGER keys on PostgreSQL
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_FAILURES = 5
FAILURE_WINDOW_S = 600


class Throttle:
    """Failed logins per username within a window (in memory, per process)."""

    def __init__(self) -> None:
        self.failures: dict[str, list[float]] = {}

    def blocked(self, key: str) -> bool:
        now = time.monotonic()
        recent = [x for x in self.failures.get(key, []) if now - x < FAILURE_WINDOW_S]
        self.failures[key] = recent
        return len(recent) >= MAX_FAILURES

    def fail(self, key: str) -> None:
        self.failures.setdefault(key, []).append(time.monotonic())

    def clear(self, key: str) -> None:
        self.failures.pop(key, None)


def create_app(database: Database | None = None, *, secret: str | None = None,
               https: bool = False) -> FastAPI:
    db = database or Database.open()
    key = secret or os.environ.get("KAOHE_SECRET_KEY") or secrets.token_urlsafe(32)
    app = FastAPI(title="kaohe 考核", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.add_middleware(SessionMiddleware, secret_key=key, session_cookie="kaohe_session",
                       same_site="lax", https_only=https, max_age=12 * 3600)
    templates = Jinja2Templates(directory=str(resources.files(__package__) / "templates"))
    app.mount("/static", StaticFiles(directory=str(resources.files(__package__) / "static")),
              name="static")
    throttle = Throttle()

    def get_session(request: Request) -> Iterator[Session]:
        # reading requests (and the login check) do not take SQLite's write lock
        reading = request.method in ("GET", "HEAD") or request.url.path == "/login"
        with (db.read() if reading else db.transaction()) as session:
            yield session

    SessionDep = Annotated[Session, Depends(get_session)]

    def lang_of(request: Request) -> str:
        lang = request.query_params.get("lang") or request.cookies.get("kaohe_lang") or "zh"
        return "en" if lang == "en" else "zh"

    def csrf_token(request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = secrets.token_urlsafe(24)
            request.session["csrf"] = token
        return str(token)

    def check_csrf(request: Request, sent: str | None) -> None:
        expected = str(request.session.get("csrf", ""))
        if not sent or not expected or not secrets.compare_digest(
                sent.encode("utf-8"), expected.encode("utf-8")):
            raise HTTPException(403, "missing or wrong CSRF token")

    def current_user(request: Request, session: SessionDep) -> User:
        uid = request.session.get("uid")
        user = session.get(User, uid) if uid is not None else None
        if user is None or not user.is_active:
            raise HTTPException(401, "log in first")
        return user

    UserDep = Annotated[User, Depends(current_user)]

    def render(request: Request, name: str, **ctx: Any) -> HTMLResponse:
        lang = lang_of(request)
        resp = templates.TemplateResponse(request, name, {
            "t": lambda k: t(k, lang), "lang": lang, "csrf": csrf_token(request), **ctx})
        if request.query_params.get("lang") in ("zh", "en"):
            resp.set_cookie("kaohe_lang", lang, samesite="lax", httponly=True)
        return resp

    @app.exception_handler(KaoheError)
    async def kaohe_error(request: Request, exc: KaoheError) -> Response:
        status = exc.status if isinstance(exc, WorkflowError) else 400
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=status)
        return HTMLResponse(f"<h1>{status}</h1><p>{exc}</p>", status_code=status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 401 and not request.url.path.startswith("/api/"):
            return RedirectResponse("/login", status_code=303)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return HTMLResponse(f"<h1>{exc.status_code}</h1><p>{exc.detail}</p>",
                            status_code=exc.status_code)

    # -- login -----------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> HTMLResponse:
        return render(request, "login.html", error=None)

    @app.post("/login", response_class=HTMLResponse)
    def login(request: Request, session: SessionDep,
              username: Annotated[str, Form()], password: Annotated[str, Form()],
              csrf: Annotated[str | None, Form()] = None) -> Response:
        check_csrf(request, csrf)
        lang = lang_of(request)
        if throttle.blocked(username):
            resp = render(request, "login.html", error=t("throttled", lang))
            resp.status_code = 429
            return resp
        user = session.scalar(select(User).where(User.username == username))
        if user is None or not user.is_active or not verify_password(user.password_hash,
                                                                    password):
            throttle.fail(username)
            resp = render(request, "login.html", error=t("bad_login", lang))
            resp.status_code = 400
            return resp
        throttle.clear(username)
        request.session.clear()
        request.session["uid"] = user.id
        return RedirectResponse("/", status_code=303)

    @app.post("/logout")
    def logout(request: Request, csrf: Annotated[str | None, Form()] = None) -> Response:
        check_csrf(request, csrf)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # -- pages -----------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def home(user: UserDep) -> Response:
        if "supervisor" in user.roles or "manager" in user.roles or "hr" in user.roles:
            return RedirectResponse("/team", status_code=303)
        return RedirectResponse("/me", status_code=303)

    def rows_for(session: Session, query: Any) -> list[dict[str, Any]]:
        q = (query.add_columns(Cycle.period, Cycle.scheme_id, Employee.code, Employee.name,
                               Result.payload)
             .join(Cycle, Cycle.id == Appraisal.cycle_id)
             .outerjoin(Result, (Result.appraisal_id == Appraisal.id)
                        & Result.is_current.is_(True))
             .order_by(Cycle.period.desc(), Appraisal.team_code, Employee.code)
             .options(lazyload("*")))  # a list needs these columns, not every relation
        out = []
        for app, period, scheme_id, code, name, payload in session.execute(q):
            out.append({"id": app.id, "period": period, "scheme": scheme_id, "code": code,
                        "name": name, "team": app.team_code, "state": app.state.value,
                        "result": payload})
        return out

    @app.get("/me", response_class=HTMLResponse)
    def me(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
        own = visible_appraisals(user).where(Appraisal.employee_id == user.employee_id) \
            if user.employee_id is not None else visible_appraisals(user).where(
                Appraisal.id == -1)
        rows = rows_for(session, own)
        trend = [(r["period"], float(r["result"]["total"])) for r in reversed(rows)
                 if r["result"] and r["result"].get("total") is not None]
        return render(request, "me.html", user=user, rows=rows,
                      trend=Markup(charts.line(trend)) if len(trend) > 1 else "")

    @app.get("/team", response_class=HTMLResponse)
    def team(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
        if not any(r in user.roles for r in ("supervisor", "manager", "hr", "admin")):
            raise HTTPException(404, "not found")
        rows = rows_for(session, visible_appraisals(user))
        latest = max((r["period"] for r in rows), default=None)
        board = sorted((r for r in rows if r["period"] == latest),
                       key=lambda r: (r["team"], (r["result"] or {}).get("rank") or 10**9,
                                      r["code"]))
        ranking = [(f"{r['code']} {r['name']}", float(r["result"]["total"])) for r in
                   sorted((r for r in board if r["result"] and r["result"].get("total")
                           is not None), key=lambda r: -float(r["result"]["total"]))][:30]
        grades: dict[str, int] = {}
        for r in board:
            g = (r["result"] or {}).get("grade")
            if g:
                grades[g] = grades.get(g, 0) + 1
        late = [r for r in board if r["state"] in ("self_review", "supervisor_review")]
        return render(request, "team.html", user=user, rows=board, period=latest,
                      ranking=Markup(charts.bars(ranking)),
                      grades=Markup(charts.distribution(sorted(grades.items()))), late=late)

    @app.get("/appraisals/{appraisal_id}", response_class=HTMLResponse)
    def appraisal_page(appraisal_id: RecordId, request: Request, session: SessionDep,
                       user: UserDep) -> HTMLResponse:
        app_ = get_visible(session, user, appraisal_id)
        scheme = scheme_of(app_.cycle.scheme_version)
        rateable = [(ident, spec) for ident, spec in scheme.inputs.items()
                    if spec.type == "level" and spec.rater == "supervisor"]
        counts = [ident for ident, spec in scheme.inputs.items() if spec.type == "count"]
        lang = lang_of(request)

        def label(item: Any) -> str:
            return str((item.label_en or item.label or item.id) if lang == "en"
                       else (item.label or item.id))

        labels = {i.id: label(i) for i in scheme.indicators}
        labels |= {p.id: label(p) for p in scheme.pay}
        labels["total"] = t("pay_total", lang)
        return render(request, "appraisal.html", user=user, a=_appraisal_doc(session, app_),
                      labels=labels, own=user.employee_id == app_.employee_id, rateable=rateable,
                      counts=counts, staff=any(r in user.roles for r in
                                              ("supervisor", "manager", "hr", "admin")))

    def actor(user: User) -> Actor:
        return Actor(user.username, tuple(user.roles), user.id)

    def back(appraisal_id: RecordId) -> RedirectResponse:
        return RedirectResponse(f"/appraisals/{appraisal_id}", status_code=303)

    @app.post("/appraisals/{appraisal_id}/action")
    def appraisal_action(appraisal_id: RecordId, request: Request, session: SessionDep,
                         user: UserDep, action: Annotated[str, Form()],
                         csrf: Annotated[str | None, Form()] = None,
                         note: Annotated[str, Form()] = "",
                         version: Annotated[int | None, Form()] = None) -> Response:
        check_csrf(request, csrf)
        get_visible(session, user, appraisal_id)
        cycles.transition(session, appraisal_id=appraisal_id, trigger=action, actor=actor(user),
                          expected_version=version, note=note)
        return back(appraisal_id)

    @app.post("/appraisals/{appraisal_id}/appeal")
    def appraisal_appeal(appraisal_id: RecordId, request: Request, session: SessionDep,
                         user: UserDep, reason: Annotated[str, Form()],
                         csrf: Annotated[str | None, Form()] = None) -> Response:
        check_csrf(request, csrf)
        get_visible(session, user, appraisal_id)
        appeals.file_appeal(session, appraisal_id=appraisal_id, reason=reason, actor=actor(user))
        return back(appraisal_id)

    @app.post("/appraisals/{appraisal_id}/rate")
    def appraisal_rate(appraisal_id: RecordId, request: Request, session: SessionDep,
                       user: UserDep, input_id: Annotated[str, Form()],
                       value: Annotated[str, Form()],
                       csrf: Annotated[str | None, Form()] = None,
                       role: Annotated[str, Form()] = "supervisor",
                       version: Annotated[int | None, Form()] = None) -> Response:
        check_csrf(request, csrf)
        get_visible(session, user, appraisal_id)
        cycles.rate(session, appraisal_id=appraisal_id, input_id=input_id, value=value,
                    actor=actor(user), role=role, expected_version=version)
        return back(appraisal_id)

    @app.post("/appraisals/{appraisal_id}/incident")
    def appraisal_incident(appraisal_id: RecordId, request: Request, session: SessionDep,
                           user: UserDep, input_id: Annotated[str, Form()],
                           date: Annotated[dt.date, Form()],
                           csrf: Annotated[str | None, Form()] = None,
                           count: Annotated[Decimal, Form()] = Decimal(1),
                           note: Annotated[str, Form()] = "") -> Response:
        check_csrf(request, csrf)
        get_visible(session, user, appraisal_id)
        cycles.add_incident(session, appraisal_id=appraisal_id, input_id=input_id, date=date,
                            count=count, note=note, actor=actor(user))
        return back(appraisal_id)

    @app.get("/appraisals/{appraisal_id}/form.xlsx")
    def appraisal_form(appraisal_id: RecordId, request: Request, session: SessionDep,
                       user: UserDep) -> Response:
        app_ = get_visible(session, user, appraisal_id)
        scored, doc = cycles.scored_cycle(session, cycle_id=app_.cycle_id)
        record = next(r for r in doc["results"] if r["employee"] == app_.employee.code)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "form.xlsx"
            write_agent_form(scored, record, path, lang=lang_of(request))
            data = path.read_bytes()
        name = f"{app_.cycle.period}_{app_.employee.code}.xlsx"
        return Response(data, media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="{name}"'})

    # -- HR ----------------------------------------------------------------------------
    def hr_only(user: User) -> None:
        if not any(r in user.roles for r in ("hr", "admin")):
            raise HTTPException(404, "not found")

    @app.get("/hr/cycles", response_class=HTMLResponse)
    def hr_cycles(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
        hr_only(user)
        rows = []
        for c in session.scalars(select(Cycle).order_by(Cycle.period.desc(), Cycle.id)):
            counts = dict(session.execute(
                select(Appraisal.state, func.count()).where(Appraisal.cycle_id == c.id)
                .group_by(Appraisal.state)).all())
            rows.append({"id": c.id, "scheme": c.scheme_id, "period": c.period,
                         "state": c.state.value,
                         "counts": ", ".join(f"{k.value} {v}" for k, v in counts.items())})
        open_appeals = session.scalars(select(Appeal).where(
            Appeal.state.in_([AppealState.filed, AppealState.accepted])).order_by(Appeal.id))
        late = appeals.overdue(session)
        return render(request, "hr.html", user=user, cycles=rows, appeals=list(open_appeals),
                      late=late)

    @app.post("/hr/cycles/{cycle_id}/step/{step}")
    def hr_cycle_step(cycle_id: RecordId, step: str, request: Request, session: SessionDep,
                      user: UserDep, csrf: Annotated[str | None, Form()] = None) -> Response:
        check_csrf(request, csrf)
        hr_only(user)
        if step == "score":
            cycles.score_cycle(session, cycle_id=cycle_id, actor=actor(user))
        elif step in states.CYCLE:
            cycles.cycle_transition(session, cycle_id=cycle_id, trigger=step, actor=actor(user))
        else:
            cycles.advance_all(session, cycle_id=cycle_id, trigger=step, actor=actor(user))
        return RedirectResponse("/hr/cycles", status_code=303)

    @app.get("/hr/cycles/{cycle_id}/payroll.xlsx")
    def hr_payroll(cycle_id: RecordId, session: SessionDep, user: UserDep) -> Response:
        hr_only(user)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "payroll.xlsx"
            write_payroll(session, cycle_id=cycle_id, path=path)
            data = path.read_bytes()
        return Response(data, media_type=XLSX, headers={
                            "Content-Disposition": f'attachment; filename="payroll-{cycle_id}.xlsx"'})

    @app.get("/hr/cycles/{cycle_id}/forms.zip")
    def hr_forms(cycle_id: RecordId, request: Request, session: SessionDep, user: UserDep,
                 team: str | None = None) -> Response:
        hr_only(user)
        scored, doc = cycles.scored_cycle(session, cycle_id=cycle_id)
        if team is not None:
            doc["results"] = [r for r in doc["results"] if (r["team"] or "") == team]
        buf = io.BytesIO()
        with tempfile.TemporaryDirectory() as tmp:
            files = write_forms(scored, doc, Path(tmp), lang=lang_of(request))
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in files:
                    zf.write(f, f.name)
        return Response(buf.getvalue(), media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="forms-{cycle_id}.zip"'})

    @app.get("/hr/cycles/{cycle_id}/scheme", response_class=HTMLResponse)
    def hr_scheme(cycle_id: RecordId, request: Request, session: SessionDep,
                  user: UserDep) -> HTMLResponse:
        hr_only(user)
        cycle = cycles.get_cycle(session, cycle_id)
        return render(request, "scheme.html", user=user, cycle=cycle,
                      content=cycle.scheme_version.content)

    @app.post("/hr/cycles/{cycle_id}/what-if", response_class=HTMLResponse)
    def hr_what_if(cycle_id: RecordId, request: Request, session: SessionDep, user: UserDep,
                   content: Annotated[str, Form()],
                   csrf: Annotated[str | None, Form()] = None) -> HTMLResponse:
        """Live validation and what-if preview (an htmx fragment; a full page without htmx)."""
        check_csrf(request, csrf)
        hr_only(user)
        errors: list[str] = []
        changes: list[dict[str, Any]] = []
        try:
            changes = cycles.what_if(session, cycle_id=cycle_id, text=content)
        except KaoheError as exc:
            errors = str(exc).splitlines()
        fragment = "what_if.html"
        if request.headers.get("HX-Request") != "true":
            cycle = cycles.get_cycle(session, cycle_id)
            return render(request, "scheme.html", user=user, cycle=cycle, content=content,
                          errors=errors, changes=changes, checked=True)
        return render(request, fragment, errors=errors, changes=changes, checked=True)

    @app.post("/hr/appeals/{appeal_id}/decide")
    def hr_decide(appeal_id: RecordId, request: Request, session: SessionDep, user: UserDep,
                  decision: Annotated[str, Form()], csrf: Annotated[str | None, Form()] = None,
                  note: Annotated[str, Form()] = "") -> Response:
        check_csrf(request, csrf)
        hr_only(user)
        appeals.decide_appeal(session, appeal_id=appeal_id, accept=decision == "accept",
                              note=note, actor=actor(user))
        return RedirectResponse("/hr/cycles", status_code=303)

    @app.post("/hr/appeals/{appeal_id}/resolve")
    def hr_resolve(appeal_id: RecordId, request: Request, session: SessionDep, user: UserDep,
                   resolution: Annotated[str, Form()], csrf: Annotated[str | None, Form()] = None,
                   changes: Annotated[str, Form()] = "") -> Response:
        check_csrf(request, csrf)
        hr_only(user)
        granted: dict[str, str] = {}
        for line in changes.splitlines():
            if line.strip():
                k, sep, v = line.partition("=")
                if not sep:
                    raise HTTPException(422, f"write each change as INPUT=VALUE, not {line!r}")
                granted[k.strip()] = v.strip()
        appeals.resolve_appeal(session, appeal_id=appeal_id, changes=granted,
                               resolution=resolution, actor=actor(user))
        return RedirectResponse("/hr/cycles", status_code=303)

    # -- API -------------------------------------------------------------------------
    @app.get("/api/me")
    def api_me(user: UserDep) -> dict[str, Any]:
        return {"username": user.username, "display_name": user.display_name,
                "roles": list(user.roles)}

    @app.get("/api/appraisals")
    def api_appraisals(session: SessionDep, user: UserDep) -> list[dict[str, Any]]:
        return rows_for(session, visible_appraisals(user))

    @app.get("/api/appraisals/{appraisal_id}")
    def api_appraisal(appraisal_id: RecordId, session: SessionDep, user: UserDep) -> dict[str, Any]:
        return _appraisal_doc(session, get_visible(session, user, appraisal_id))

    return app


def _appraisal_doc(session: Session, app: Appraisal) -> dict[str, Any]:
    res = session.scalar(select(Result).where(Result.appraisal_id == app.id,
                                              Result.is_current.is_(True)))
    return {"id": app.id, "employee": app.employee.code, "name": app.employee.name,
            "team": app.team_code, "period": app.cycle.period, "scheme": app.cycle.scheme_id,
            "state": app.state.value, "version": app.version,
            "appeal_due": app.appeal_due.isoformat() if app.appeal_due else None,
            "result": res.payload if res else None}
