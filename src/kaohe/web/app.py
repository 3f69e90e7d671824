"""The FastAPI app: sessions in signed cookies, CSRF tokens on every form, login throttling,
row-level visibility on every page and API route (a record you may not see is a 404).

Built by :func:`create_app` (nothing at import time). Errors from the services carry their
HTTP status; one handler renders them.
"""


import os
import secrets
import time
from collections.abc import Iterator
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.middleware.sessions import SessionMiddleware

from kaohe.errors import KaoheError
from kaohe.store.db import Database
from kaohe.store.models import Appraisal, Cycle, Employee, Result, User
from kaohe.web.access import get_visible, visible_appraisals
from kaohe.web.i18n import t
from kaohe.workflow.errors import WorkflowError
from kaohe.workflow.passwords import verify_password

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
    throttle = Throttle()

    def get_session() -> Iterator[Session]:
        with db.transaction() as session:
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
        if not sent or not secrets.compare_digest(sent, str(request.session.get("csrf", ""))):
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
             .order_by(Cycle.period.desc(), Appraisal.team_code, Employee.code))
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
        return render(request, "me.html", user=user, rows=rows_for(session, own))

    @app.get("/team", response_class=HTMLResponse)
    def team(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
        if not any(r in user.roles for r in ("supervisor", "manager", "hr", "admin")):
            raise HTTPException(404, "not found")
        rows = rows_for(session, visible_appraisals(user))
        latest = max((r["period"] for r in rows), default=None)
        board = sorted((r for r in rows if r["period"] == latest),
                       key=lambda r: (r["team"], (r["result"] or {}).get("rank") or 10**9,
                                      r["code"]))
        return render(request, "team.html", user=user, rows=board, period=latest)

    @app.get("/appraisals/{appraisal_id}", response_class=HTMLResponse)
    def appraisal_page(appraisal_id: int, request: Request, session: SessionDep,
                       user: UserDep) -> HTMLResponse:
        app_ = get_visible(session, user, appraisal_id)
        return render(request, "appraisal.html", user=user, a=_appraisal_doc(session, app_))

    # -- API -------------------------------------------------------------------------
    @app.get("/api/me")
    def api_me(user: UserDep) -> dict[str, Any]:
        return {"username": user.username, "display_name": user.display_name,
                "roles": list(user.roles)}

    @app.get("/api/appraisals")
    def api_appraisals(session: SessionDep, user: UserDep) -> list[dict[str, Any]]:
        return rows_for(session, visible_appraisals(user))

    @app.get("/api/appraisals/{appraisal_id}")
    def api_appraisal(appraisal_id: int, session: SessionDep, user: UserDep) -> dict[str, Any]:
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
