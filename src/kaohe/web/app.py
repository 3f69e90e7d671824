"""The FastAPI app: sessions in signed cookies, CSRF tokens on every form, login throttling,
row-level visibility on every page and API route (a record you may not see is a 404),
interface text in zh-CN with an English switch (gettext catalogues).

Built by :func:`create_app` (nothing at import time); ``kaohe serve`` runs it with uvicorn.
Errors from the services carry their HTTP status; one handler renders them, as a page or as
JSON under ``/api``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import RequestBodyLimitResponder
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kaohe.errors import InputError, KaoheError, shorten
from kaohe.formatting import MINUS, money, two
from kaohe.settings import settings
from kaohe.store.db import Database
from kaohe.web import (
    admin,
    aggregates,
    api,
    appeal_desk,
    cycle_desk,
    exports,
    grid,
    hr,
    i18n,
    items,
    pages,
    people,
    teamviews,
    timefmt,
)
from kaohe.web.deps import lang_of, render
from kaohe.workflow import permissions, states
from kaohe.workflow.errors import WorkflowError

ERROR_TITLES = {
    400: i18n.N_("This could not be done"),
    403: i18n.N_("Not allowed"),
    404: i18n.N_("Not found"),
    409: i18n.N_("This could not be done now"),
    413: i18n.N_("The file is too large"),
    422: i18n.N_("Please check what you entered"),
    429: i18n.N_("Too many attempts"),
}
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
#: Swagger UI sets styles on its elements: the API's page allows inline styles, no more
DOCS_HEADERS = [(b"content-security-policy",
                 b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                 b"script-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                 b"base-uri 'none'"), *SECURITY_HEADERS[1:]]
#: the API's documentation: Swagger UI from the package, started by a script file (no
#: inline script, so the policy above holds)
DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kaohe API</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/swagger/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/swagger/init.js"></script></body></html>
"""
TOO_LARGE = i18n.N_("The request is too large; it was not read.")
#: a visitor who has not logged in sends a login form, nothing bigger
ANONYMOUS_BODY_BYTES = 16 * 1024
#: the multipart framing around an uploaded file (boundaries, the CSRF field, headers)
MULTIPART_OVERHEAD = 64 * 1024
#: pages and API answers hold personal results: never kept by a browser or a proxy
NO_STORE = [(b"cache-control", b"no-store")]


class SecurityHeaders:
    """Pages may load scripts and styles from this site only, may not be framed, and are not
    stored by browsers or proxies (static files may be)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        static = scope["path"].startswith("/static/")
        docs = scope["path"] == "/api/docs"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = (DOCS_HEADERS if docs else SECURITY_HEADERS) + ([] if static
                                                                        else NO_STORE)
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Every request body is bounded before anything parses it, and before the login is
    looked at: a visitor without a session may send a login form and little more; a
    logged-in user an upload (multipart) up to ``KAOHE_MAX_UPLOAD_BYTES``, anything else up
    to ``KAOHE_MAX_BODY_BYTES``. A declared Content-Length over the limit is refused before
    reading a byte; a body that grows past it stops there (413, nothing spooled beyond it).
    Runs inside the session middleware, which tells it whether there is a session."""

    def __init__(self, app: ASGIApp, reject: Callable[[Request, int, object], Response]
                 ) -> None:
        self.app = app
        self.reject = reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conf = settings()
        headers = Headers(scope=scope)
        if "sid" not in scope.get("session", {}):
            limit = ANONYMOUS_BODY_BYTES
        elif headers.get("content-type", "").startswith("multipart/form-data"):
            limit = conf.max_upload_bytes + MULTIPART_OVERHEAD
        else:
            limit = conf.max_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:  # answered before a byte is read
            response = self.reject(Request(scope), 413, TOO_LARGE)
            await response(scope, receive, send)
            return
        await RequestBodyLimitResponder(self.app, limit)(scope, receive, send)


class Language:
    """Serve each request in its language (``?lang=``, else the cookie, else zh-CN), for the
    templates and the Python code alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with i18n.using(lang_of(Request(scope))):
            await self.app(scope, receive, send)


def where(exc: InputError) -> str:
    """An input problem in the current language: file, row, column, value, what is wrong."""
    parts = [p for p in (
        exc.file,
        i18n.gettext("row %(row)s") % {"row": exc.row} if exc.row is not None else None,
        i18n.gettext("column %(column)s") % {"column": repr(exc.column)}
        if exc.column is not None else None,
        i18n.gettext("value %(value)s") % {"value": shorten(exc.value)}
        if exc.value is not None else None) if p]
    return ": ".join([", ".join(parts), i18n.translate(exc.detail)]) if parts \
        else i18n.translate(exc.detail)


def _money(v: Any) -> str:
    """A number to the fen (half-up, as the forms show it), with thousands separators."""
    return "-" if v is None else f"{Decimal(two(v)):,}"


def _yuan(v: Any) -> str:
    """Money as people read it: ¥1,972.76 (−¥5.00 when negative)."""
    if v is None:
        return "-"
    text = money(Decimal(v) if isinstance(v, str) else v)
    return f"{MINUS}¥{text[1:]}" if text.startswith(MINUS) else f"¥{text}"


def _num(v: Any) -> str:
    return "-" if v is None else two(v)


class KaoheApp(FastAPI):
    """The app with the security headers and the language around everything, the server's
    own error answers (500) included."""

    def build_middleware_stack(self) -> ASGIApp:
        return Language(SecurityHeaders(super().build_middleware_stack()))


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At start-up, staged uploads that were never confirmed (an earlier run's too) are
    deleted."""
    hr.sweep_staged(app)
    yield


def create_app(database: Database | None = None, *, secret: str | None = None,
               https: bool = False) -> FastAPI:
    app = KaoheApp(title="kaohe 考核", docs_url=None, redoc_url=None,
                   openapi_url="/api/openapi.json", lifespan=_lifespan)
    app.state.db = database or Database.open()
    templates = Jinja2Templates(directory=str(resources.files(__package__) / "templates"))
    env = templates.env
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True)
    env.filters["money"] = _money
    env.filters["num"] = _num
    env.filters["yuan"] = _yuan
    env.filters["day"] = timefmt.day
    env.globals["is_staff"] = permissions.is_staff  # the menu asks the permission rules
    env.globals["is_hr"] = permissions.is_hr
    env.filters["when"] = timefmt.when
    env.filters["state"] = lambda s: i18n.gettext(states.STATE_LABELS.get(str(s), str(s)))
    env.filters["person"] = people.person  # a login shown as the person's name
    env.filters["employee"] = people.employee  # an employee id as the name (id in small)
    app.state.templates = templates

    app.mount("/static", StaticFiles(directory=str(resources.files(__package__) / "static")),
              name="static")

    def error_page(request: Request, status: int, detail: object) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(detail)}, status_code=status)
        detail = i18n.translate(detail)
        user = getattr(request.state, "user", None)
        return render(request, "error.html", status=status, user=user,
                      title=ERROR_TITLES.get(status, ERROR_TITLES[400]), detail=detail,
                      status_code=status)

    conf = settings()
    key = secret or conf.session_key()
    # inside the session middleware: the body limit reads the session
    app.add_middleware(BodyLimit, reject=error_page)
    app.add_middleware(SessionMiddleware, secret_key=key, session_cookie="kaohe_session",
                       same_site="lax", https_only=https, max_age=conf.session_hours * 3600)

    @app.exception_handler(KaoheError)
    async def kaohe_error(request: Request, exc: KaoheError) -> Response:
        status = exc.status if isinstance(exc, WorkflowError) else 400
        if isinstance(exc, InputError) and not request.url.path.startswith("/api/"):
            return error_page(request, status, where(exc))
        return error_page(request, status, exc.args[0] if exc.args else str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 401 and not request.url.path.startswith("/api/"):
            return RedirectResponse("/login", status_code=303)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 413 and detail == "Content Too Large":  # the body limit's
            detail = TOO_LARGE
        return error_page(request, exc.status_code, detail)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": jsonable(exc.errors())}, status_code=422)
        lines = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}"
                 for e in exc.errors()]
        return error_page(request, 422, "; ".join(lines))

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> Response:
        """Swagger UI, served from the package (swagger-ui-dist, Apache-2.0): no CDN."""
        return HTMLResponse(DOCS_PAGE)

    app.include_router(pages.router)
    app.include_router(grid.router)
    app.include_router(hr.router)
    app.include_router(cycle_desk.router)
    app.include_router(appeal_desk.router)
    app.include_router(admin.router)
    app.include_router(people.router)
    app.include_router(api.router)
    app.include_router(teamviews.router)  # the board's team and year views
    app.include_router(exports.router)  # the board's tables as xlsx
    app.include_router(aggregates.router)  # quarter awards and year outcomes per team
    app.include_router(items.router)  # item tables (e.g. late payments) per cycle
    return app


def jsonable(value: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value)
