"""What every route shares: the database session of a request, the logged-in user (a live
server-side session, checked on every request), CSRF checks, the interface language and page
rendering. The app keeps its database and templates on ``app.state``; nothing here holds
state of its own."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kaohe.settings import settings
from kaohe.store.db import Database
from kaohe.store.models import User
from kaohe.web import i18n
from kaohe.workflow import accounts, permissions
from kaohe.workflow.audit import Actor

#: a record id in a URL: anything else is a 422, not a database error
RecordId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]  # INTEGER keys on PostgreSQL
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class UserView:
    """The logged-in user as the page header needs it (no database session)."""

    username: str
    display_name: str
    roles: tuple[str, ...]
    employee_id: int | None


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def client_address(request: Request) -> str:
    """The client's address (uvicorn takes it from X-Forwarded-For only from a trusted
    proxy)."""
    return request.client.host if request.client else "unknown"


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request. Reading requests (and the login check) use a deferred
    read transaction, so they never wait for SQLite's write lock."""
    db = database(request)
    reading = request.method in ("GET", "HEAD")
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


_UNCHECKED = object()


@dataclass(frozen=True)
class LiveSession:
    """The server-side session of a request, once checked."""

    user_id: int
    csrf_hash: str


def live_session(request: Request, session: Session | None = None) -> LiveSession | None:
    """The request's live session (checked once per request): None for an anonymous
    visitor or a session that has ended (logged out, expired, revoked, user disabled)."""
    known = getattr(request.state, "live", _UNCHECKED)
    if known is None or isinstance(known, LiveSession):
        return known
    token = request.session.get("sid")
    live = None
    if isinstance(token, str):
        if session is None:
            with database(request).read() as s:
                found = accounts.session_user(s, token)
                live = LiveSession(found[1].user_id, found[1].csrf_hash) if found else None
        else:
            found = accounts.session_user(session, token)
            live = LiveSession(found[1].user_id, found[1].csrf_hash) if found else None
        if live is None:
            request.session.clear()  # an ended session: the cookie is dropped
    request.state.live = live
    return live


def check_csrf(request: Request, sent: str | None) -> None:
    """A form's ``csrf`` field (or, for the API, the ``X-CSRF-Token`` header) must match the
    session's token; a logged-in session's token is checked against the server's record, so
    the form of a session that has ended is refused, even with its old cookie."""
    sent = sent or request.headers.get("x-csrf-token")
    had_session = "sid" in request.session
    live = live_session(request)
    expected = str(request.session.get("csrf", ""))
    ok = bool(sent) and bool(expected) and secrets.compare_digest(
        str(sent).encode("utf-8"), expected.encode("utf-8"))
    if had_session:
        ok = ok and live is not None and secrets.compare_digest(
            accounts.digest(str(sent)), live.csrf_hash)
    if not ok:
        raise HTTPException(403, i18n.N_("The form has expired or was not sent from this "
                                         "site. Reload the page and try again."))


def current_user(request: Request, session: SessionDep) -> User:
    live = live_session(request, session)
    user = session.get(User, live.user_id) if live is not None else None
    if user is None or not user.is_active:
        raise HTTPException(401, "log in first")
    # the error page's header is drawn after the session has closed: keep a plain copy
    request.state.user = UserView(user.username, user.display_name, tuple(user.roles),
                                  user.employee_id)
    return user


UserDep = Annotated[User, Depends(current_user)]


def require_admin(user: User) -> None:
    """The admin pages do not exist for anyone else (404)."""
    if not permissions.is_admin(user):
        raise HTTPException(404, "not found")


def require_hr(user: User) -> None:
    """HR pages do not exist for anyone else (404, as for a hidden record)."""
    if not permissions.is_hr(user):
        raise HTTPException(404, "not found")


def actor(user: User) -> Actor:
    return Actor(user.username, tuple(user.roles), user.id)


def integrity_alert(request: Request, user: Any) -> dict[str, Any] | None:
    """For HR: the last verification of the records, when it failed (else None)."""
    if user is None or not any(r in user.roles for r in ("hr", "admin")):
        return None

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
    local = at.replace(tzinfo=dt.UTC).astimezone(settings().zone)
    return {"at": f"{local:%Y-%m-%d %H:%M}", "problems": problems,
            "names": ", ".join(shown) + more if shown else "-"}


def download(data: bytes, media: str, name: str, fallback: str | None = None) -> Response:
    """A file to save, named for every browser: an ASCII ``filename`` (``fallback``, or the
    name with other characters as ``_``) and the real name in ``filename*`` (RFC 5987/6266),
    so ``2026-10_客服032.xlsx`` arrives as such and no quote or line break can reach the
    header."""
    fallback = "".join(c if " " <= c < "\x7f" and c not in '"\\;' else "_"
                       for c in (fallback or name))
    return Response(data, media_type=media, headers={
        "Content-Disposition": f"attachment; filename=\"{fallback}\"; "
                               f"filename*=UTF-8''{quote(name, safe='')}"})


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
