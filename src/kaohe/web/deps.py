"""What every route shares: the database session of a request, the logged-in user, CSRF
checks, the interface language and page rendering. The app keeps its database, templates and
login throttle on ``app.state``; nothing here holds state of its own."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kaohe.store.db import Database
from kaohe.store.models import User
from kaohe.web import i18n
from kaohe.workflow.audit import Actor

#: a record id in a URL: anything else is a 422, not a database error
RecordId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]  # INTEGER keys on PostgreSQL
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_FAILURES = 5
FAILURE_WINDOW_S = 600
STAFF = ("supervisor", "manager", "hr", "admin")


@dataclass(frozen=True)
class UserView:
    """The logged-in user as the page header needs it (no database session)."""

    username: str
    display_name: str
    roles: tuple[str, ...]
    employee_id: int | None


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


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request. Reading requests (and the login check) use a deferred
    read transaction, so they never wait for SQLite's write lock."""
    db = database(request)
    reading = request.method in ("GET", "HEAD") or request.url.path == "/login"
    with (db.read() if reading else db.transaction()) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def lang_of(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("kaohe_lang") or i18n.DEFAULT
    return lang if lang in i18n.LANGUAGES else i18n.DEFAULT


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


def check_csrf(request: Request, sent: str | None) -> None:
    """A form's ``csrf`` field (or, for the API, the ``X-CSRF-Token`` header) must match the
    session's token."""
    sent = sent or request.headers.get("x-csrf-token")
    expected = str(request.session.get("csrf", ""))
    if not sent or not expected or not secrets.compare_digest(
            sent.encode("utf-8"), expected.encode("utf-8")):
        raise HTTPException(403, i18n.N_("The form has expired or was not sent from this "
                                         "site. Reload the page and try again."))


def current_user(request: Request, session: SessionDep) -> User:
    uid = request.session.get("uid")
    user = session.get(User, uid) if uid is not None else None
    if user is None or not user.is_active:
        raise HTTPException(401, "log in first")
    # the error page's header is drawn after the session has closed: keep a plain copy
    request.state.user = UserView(user.username, user.display_name, tuple(user.roles),
                                  user.employee_id)
    return user


UserDep = Annotated[User, Depends(current_user)]


def is_staff(user: User) -> bool:
    return any(r in user.roles for r in STAFF)


def is_hr(user: User) -> bool:
    return any(r in user.roles for r in ("hr", "admin"))


def require_hr(user: User) -> None:
    """HR pages do not exist for anyone else (404, as for a hidden record)."""
    if not is_hr(user):
        raise HTTPException(404, "not found")


def actor(user: User) -> Actor:
    return Actor(user.username, tuple(user.roles), user.id)


def integrity_alert(request: Request, user: Any) -> dict[str, Any] | None:
    """For HR: the last verification of the records, when it failed (else None)."""
    if user is None or not any(r in user.roles for r in ("hr", "admin")):
        return None
    from zoneinfo import ZoneInfo

    from kaohe.workflow.verification import last_run

    try:
        with database(request).read() as session:
            run = last_run(session)
            if run is None or run.ok:
                return None
            at, problems, failing = run.at, run.problems, list(run.failing or [])
    except SQLAlchemyError:  # the page itself reports a database that does not answer
        return None
    shown = [f"{f.get('employee')} {f.get('period')} ({f.get('what')})"
             for f in failing[:10] if isinstance(f, dict)]
    more = "…" if problems > len(shown) else ""
    local = at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    return {"at": f"{local:%Y-%m-%d %H:%M}", "problems": problems,
            "names": ", ".join(shown) + more if shown else "-"}


def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    """Render a page in the request's language (remembering a ``?lang=`` choice)."""
    templates: Jinja2Templates = request.app.state.templates
    lang = lang_of(request)
    ctx.setdefault("integrity", integrity_alert(request, ctx.get("user")))
    with i18n.using(lang):
        resp = templates.TemplateResponse(request, template, {
            "lang": lang, "csrf": csrf_token(request), "user": None,
            "flash": request.session.pop("flash", None), **ctx}, status_code=status)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        resp.set_cookie("kaohe_lang", lang, samesite="lax", httponly=True,
                        max_age=365 * 24 * 3600)
    return resp
