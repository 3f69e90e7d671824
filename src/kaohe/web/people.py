"""People on the web: HR and admins create accounts (with a one-time password shown once),
reset passwords, disable and enable accounts, give roles and the teams a supervisor looks
after, and import the org sheet as 钉钉 or 企业微信 export it (a preview, then one audited
transaction). The rules (who manages whom, which roles HR gives) live in
:mod:`kaohe.workflow.accounts` and :mod:`kaohe.workflow.orgsheet`; these pages only ask.

Also the ``person`` and ``employee`` template filters: a login or an employee id shown as
the person's name wherever pages name someone."""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import pass_context
from markupsafe import Markup, escape
from sqlalchemy import select

from kaohe.errors import InputError
from kaohe.reports.forms import safe_name
from kaohe.settings import settings
from kaohe.store.models import Employee, Role, Team, User
from kaohe.text import Text
from kaohe.web import i18n
from kaohe.web.deps import (
    RecordId,
    SessionDep,
    UserDep,
    actor,
    check_csrf,
    database,
    render,
)
from kaohe.web.hr import upload_folder
from kaohe.workflow import accounts, orgsheet
from kaohe.workflow.errors import NotFound

router = APIRouter(prefix="/people")
Csrf = Annotated[str | None, Form()]
Short = Annotated[str, Form(max_length=200)]
Password = Annotated[str, Form(max_length=accounts.MAX_PASSWORD)]
Roles = Annotated[list[str], Form(max_length=len(Role.__members__))]
#: the role names as the page shows them
ROLE_LABELS = {"agent": i18n.N_("agent"), "supervisor": i18n.N_("supervisor"),
               "manager": i18n.N_("manager"), "hr": i18n.N_("HR"), "admin": i18n.N_("admin")}
#: accounts and employees listed at most (the org sheet and the CLI reach the rest)
MAX_LISTED = 2000
KIND_LABELS = {"dingtalk": i18n.N_("DingTalk address book"),
               "wecom": i18n.N_("WeCom member list"), "plain": i18n.N_("org sheet")}
FIELD_LABELS = {"name": i18n.N_("Name"), "team": i18n.N_("Team"),
                "position": i18n.N_("Position"), "manager": i18n.N_("Supervisor"),
                "mobile": i18n.N_("Mobile"), "email": i18n.N_("E-mail"),
                "hire_date": i18n.N_("Hire date"), "status": i18n.N_("Status")}


def _require(user: User) -> None:
    """The people pages do not exist for anyone who does not manage people (404)."""
    if not accounts.manages_people(actor(user)):
        raise HTTPException(404, "not found")


def _page(request: Request, session: SessionDep, user: User, status: int = 200,
          **ctx: Any) -> HTMLResponse:
    me = actor(user)
    teams = list(session.scalars(select(Team).order_by(Team.code)))
    team_names = {t.id: t.name for t in teams}
    rows = []
    for u in session.scalars(select(User).order_by(User.username).limit(MAX_LISTED)):
        rows.append({"id": u.id, "username": u.username, "name": u.person_name,
                     "employee": u.employee.code if u.employee else "",
                     "roles": list(u.roles), "teams": list(u.team_ids or []),
                     "team_names": [team_names.get(t, str(t)) for t in u.team_ids or []],
                     "active": u.is_active, "must_change": u.must_change_password,
                     "manage": accounts.may_manage(me, u) and u.id != user.id,
                     "team_role": bool(set(u.roles) & accounts.TEAM_ROLES)})
    names = dict(session.execute(select(Employee.id, Employee.name)).all())
    employees = [{"code": e.code, "name": e.name, "team": e.team.name if e.team else "",
                  "position": e.position.name if e.position else "",
                  "manager": names.get(e.manager_id, "") if e.manager_id else "",
                  "status": e.status}
                 for e in session.scalars(select(Employee).order_by(Employee.code)
                                          .limit(MAX_LISTED))]
    grantable = [r for r in Role.__members__ if accounts.may_grant(me, [r])]
    return render(request, "people.html", status=status, user=user, users=rows, teams=teams,
                  employees=employees, grantable=grantable, role_labels=ROLE_LABELS, **ctx)


@router.get("", response_class=HTMLResponse)
def people(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    _require(user)
    return _page(request, session, user)


def _target(session: SessionDep, user_id: int) -> User:
    target = session.get(User, user_id)
    if target is None:
        raise NotFound("not found")
    return target


@router.post("/users", response_class=HTMLResponse)
def create(request: Request, session: SessionDep, user: UserDep, username: Short,
           name: Short = "", employee: Short = "", roles: Roles | None = None,
           teams: Annotated[list[str] | None, Form(max_length=500)] = None,
           password: Password = "", csrf: Csrf = None) -> HTMLResponse:
    """A new account; its one-time password is shown on this answer only."""
    check_csrf(request, csrf)
    _require(user)
    made = accounts.create_account(session, username=username, display_name=name,
                                   roles=roles or [], actor=actor(user),
                                   employee_code=employee.strip() or None, teams=teams or [],
                                   password=password or None)
    session.flush()
    return _page(request, session, user, issued={
        "username": made.user.username, "name": made.user.person_name,
        "password": made.password, "new": True})


@router.post("/users/{user_id}/password", response_class=HTMLResponse)
def reset(user_id: RecordId, request: Request, session: SessionDep, user: UserDep,
          password: Password = "", csrf: Csrf = None) -> HTMLResponse:
    """A one-time password (made up, or the one typed), shown on this answer only; every
    session of the user ends and they choose their own at the next login."""
    check_csrf(request, csrf)
    _require(user)
    target = _target(session, user_id)
    made_up, ended = accounts.reset_password(session, username=target.username,
                                             actor=actor(user), password=password or None)
    return _page(request, session, user, issued={
        "username": target.username, "name": target.person_name, "password": made_up,
        "new": False, "ended": ended})


def _back(request: Request, message: str) -> Response:
    request.session["flash"] = message
    return RedirectResponse("/people", status_code=303)


@router.post("/users/{user_id}/active")
def active(user_id: RecordId, request: Request, session: SessionDep, user: UserDep,
           active: Annotated[bool, Form()], csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    _require(user)
    target = _target(session, user_id)
    n = accounts.set_active(session, username=target.username, active=active,
                            actor=actor(user))
    return _back(request, (i18n.gettext("%(user)s enabled.") if active else
                           i18n.gettext("%(user)s disabled; %(n)s session(s) ended."))
                 % {"user": target.person_name, "n": n})


@router.post("/users/{user_id}/roles")
def roles(user_id: RecordId, request: Request, session: SessionDep, user: UserDep,
          roles: Roles | None = None, csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    _require(user)
    target = _target(session, user_id)
    accounts.set_roles(session, username=target.username, roles=roles or [], actor=actor(user))
    return _back(request, i18n.gettext("Roles of %(user)s saved.") % {"user": target.person_name})


@router.post("/users/{user_id}/teams")
def teams(user_id: RecordId, request: Request, session: SessionDep, user: UserDep,
          teams: Annotated[list[str] | None, Form(max_length=500)] = None,
          csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    _require(user)
    target = _target(session, user_id)
    accounts.set_teams(session, username=target.username, teams=teams or [], actor=actor(user))
    return _back(request, i18n.gettext("Teams of %(user)s saved.") % {"user": target.person_name})


@router.post("/users/{user_id}/employee")
def link(user_id: RecordId, request: Request, session: SessionDep, user: UserDep,
         employee: Annotated[str, Form(max_length=64)] = "", csrf: Csrf = None) -> Response:
    """Link an account to its person in the org sheet (empty: unlink)."""
    check_csrf(request, csrf)
    _require(user)
    target = _target(session, user_id)
    accounts.set_employee(session, username=target.username,
                          employee_code=employee.strip() or None, actor=actor(user))
    return _back(request, i18n.gettext("Account of %(user)s linked.")
                 % {"user": target.person_name})


# -- the org sheet: a preview, then the import ------------------------------------------------
SHEET_TYPES = (".csv", ".xlsx")


def _stage(request: Request, file: UploadFile) -> tuple[str, Path]:
    """The uploaded export, checked for type and size (read at most the limit and one
    byte), in a fresh folder beside the console's staged uploads: its token and path."""
    p = Path(Path(file.filename or "org.xlsx").name)
    name = safe_name(p.stem, 100) + "." + safe_name(p.suffix.lstrip("."), 10)
    if not name.lower().endswith(SHEET_TYPES):
        raise HTTPException(422, i18n.N_("Upload a .csv or .xlsx file."))
    limit = settings().max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, Text(i18n.N_("The file is larger than %(mb)s MB."),
                                      mb=f"{limit / 2**20:g}"))
    token = secrets.token_urlsafe(16)
    folder = upload_folder(request.app) / token
    folder.mkdir(parents=True)
    path = folder / name
    path.write_bytes(data)
    return token, path


def _staged(request: Request, token: str) -> Path:
    """A staged export of this session (else 404: expired or never staged)."""
    expired = i18n.N_("This upload has expired; upload the file again.")
    if not re.fullmatch(r"[\w-]{10,64}", token) or token not in request.session.get(
            "uploads", []):
        raise HTTPException(404, expired)
    files = list((upload_folder(request.app) / token).glob("*"))
    if not files:
        raise HTTPException(404, expired)
    return files[0]


def _problem(e: InputError) -> dict[str, Any]:
    value = getattr(e, "value", None)
    if value is not None and len(str(value)) > 60:
        value = f"{str(value)[:40]}… ({len(str(value))})"
    return {"row": getattr(e, "row", None), "column": getattr(e, "column", None),
            "value": value, "message": i18n.translate(getattr(e, "detail", None) or e)}


def _labels(plan: orgsheet.OrgPlan) -> list[dict[str, Any]]:
    """The people of the plan, a supervisor shown by name."""
    def shown(what: str, value: str) -> str:
        return plan.names.get(value, value) if what == "manager" else value

    return [{"row": p.row, "code": p.code, "name": p.name, "kind": p.kind,
             "changes": [(i18n.gettext(FIELD_LABELS.get(f, f)), shown(f, b), shown(f, a))
                         for f, b, a in p.changes]}
            for p in plan.people]


@router.post("/org", response_class=HTMLResponse)
def org_upload(request: Request, session: SessionDep, user: UserDep,
               file: Annotated[UploadFile, File()], csrf: Csrf = None) -> HTMLResponse:
    """Read an address-book export and show what importing it would change (nothing is
    written until the preview is confirmed), or every bad cell."""
    check_csrf(request, csrf)
    _require(user)
    token, path = _stage(request, file)
    try:
        plan = orgsheet.plan(session, path, actor=actor(user), source=path.name)
    except InputError as exc:
        shutil.rmtree(path.parent, ignore_errors=True)
        return render(request, "people_preview.html", status=422, user=user, name=path.name,
                      plan=None, token="", errors=[_problem(exc)])
    if plan.problems:
        shutil.rmtree(path.parent, ignore_errors=True)
        token = ""
    else:
        request.session["uploads"] = [*request.session.get("uploads", [])[-4:], token]
    return render(request, "people_preview.html", status=422 if plan.problems else 200,
                  user=user, name=path.name, plan=plan, token=token,
                  kind=i18n.gettext(KIND_LABELS[plan.kind]), people=_labels(plan),
                  errors=[_problem(e) for e in plan.problems])


@router.post("/org/confirm")
def org_confirm(request: Request, session: SessionDep, user: UserDep,
                token: Annotated[str, Form(max_length=64)], csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    _require(user)
    path = _staged(request, token)
    plan = orgsheet.apply(session, path, actor=actor(user), source=path.name)
    session.flush()
    shutil.rmtree(path.parent, ignore_errors=True)
    request.session["uploads"] = [t for t in request.session.get("uploads", []) if t != token]
    return _back(request, i18n.gettext(
        "Org sheet %(file)s imported: %(new)s new, %(changed)s changed, %(same)s unchanged; "
        "%(teams)s team(s) created, %(sup)s supervisor(s) assigned.") % {
            "file": path.name, "new": plan.count("new"), "changed": plan.count("changed"),
            "same": plan.count("unchanged"), "teams": len(plan.teams_created),
            "sup": len(plan.supervisors) + len(plan.team_supervisors)})


# -- names, not logins --------------------------------------------------------------------------
def _lookup(ctx: Any, key: str, kind: str) -> str:
    request: Request | None = ctx.get("request")
    if request is None or not key:
        return ""
    cache: dict[tuple[str, str], str] | None = getattr(request.state, "names", None)
    if cache is None:
        cache = {}
        request.state.names = cache
    if (kind, key) not in cache:
        if len(cache) > 1000:  # a page names a bounded number of people
            return ""
        with database(request).read() as s:
            if kind == "user":
                found = s.scalar(select(User).where(User.username == key))
                cache[(kind, key)] = found.person_name if found is not None else ""
            else:
                cache[(kind, key)] = s.scalar(select(Employee.name).where(
                    Employee.code == key)) or ""
    return cache[(kind, key)]


@pass_context
def person(ctx: Any, username: object) -> Markup:
    """A login as the person's name (a login nobody has any more, or a label such as "a
    colleague (anonymous)", as it is)."""
    key = str(username or "")
    return Markup(escape(_lookup(ctx, key, "user") or key))


@pass_context
def employee(ctx: Any, code: object) -> Markup:
    """An employee id as the name, the id in small print."""
    key = str(code or "")
    name = _lookup(ctx, key, "employee")
    if not name:
        return Markup(escape(key))
    return Markup(f'{escape(name)} <small class="muted">{escape(key)}</small>')
