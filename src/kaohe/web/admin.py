"""Accounts on the web: everyone changes their own password; the admin's user page sets
passwords, disables and enables users and ends their sessions. The rules (who may manage
whom) live in :mod:`kaohe.workflow.accounts`; this page only asks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from kaohe.store.models import User
from kaohe.web import i18n
from kaohe.web.deps import RecordId, SessionDep, UserDep, actor, check_csrf, render, require_admin
from kaohe.workflow import accounts
from kaohe.workflow.errors import Invalid, NotFound

router = APIRouter()
Csrf = Annotated[str | None, Form()]
Password = Annotated[str, Form(max_length=accounts.MAX_PASSWORD)]


def _flash(request: Request, message: str) -> None:
    request.session["flash"] = message


# -- one's own password ---------------------------------------------------------------------
@router.get("/account", response_class=HTMLResponse)
def account(request: Request, user: UserDep) -> HTMLResponse:
    return render(request, "account.html", user=user)


@router.post("/account/password")
def account_password(request: Request, session: SessionDep, user: UserDep,
                     current: Password, new: Password, confirm: Password,
                     csrf: Csrf = None) -> Response:
    """Change one's own password (the current one is needed); every other session of the
    user ends, this one stays."""
    check_csrf(request, csrf)
    if new != confirm:
        raise Invalid(i18n.N_("the two new passwords differ"))
    token = request.session.get("sid")
    n = accounts.change_password(session, username=user.username, new_password=new,
                                 actor=actor(user), current_password=current,
                                 keep_session=token if isinstance(token, str) else None)
    _flash(request, i18n.gettext("Password changed; %(n)s other session(s) ended.") % {"n": n})
    return RedirectResponse("/account", status_code=303)


# -- the admin's user page ------------------------------------------------------------------
@router.get("/admin/users", response_class=HTMLResponse)
def admin_users(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    require_admin(user)
    live = accounts.live_sessions(session)
    users = [{"id": u.id, "username": u.username, "display_name": u.display_name,
              "roles": list(u.roles), "active": u.is_active, "sessions": live.get(u.id, 0),
              "self": u.id == user.id}
             for u in session.scalars(select(User).order_by(User.username))]
    return render(request, "admin_users.html", user=user, users=users)


def _target(session: SessionDep, user_id: int) -> User:
    target = session.get(User, user_id)
    if target is None:
        raise NotFound("not found")
    return target


@router.post("/admin/users/{user_id}/password")
def admin_password(user_id: RecordId, request: Request, session: SessionDep, user: UserDep,
                   password: Password, csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    require_admin(user)
    target = _target(session, user_id)
    n = accounts.change_password(session, username=target.username, new_password=password,
                                 actor=actor(user))
    _flash(request, i18n.gettext("Password of %(user)s set; %(n)s session(s) ended.")
           % {"user": target.username, "n": n})
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/active")
def admin_active(user_id: RecordId, request: Request, session: SessionDep, user: UserDep,
                 active: Annotated[bool, Form()], csrf: Csrf = None) -> Response:
    check_csrf(request, csrf)
    require_admin(user)
    target = _target(session, user_id)
    n = accounts.set_active(session, username=target.username, active=active,
                            actor=actor(user))
    _flash(request, (i18n.gettext("%(user)s enabled.") if active else
                     i18n.gettext("%(user)s disabled; %(n)s session(s) ended."))
           % {"user": target.username, "n": n})
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/sessions")
def admin_sessions(user_id: RecordId, request: Request, session: SessionDep, user: UserDep,
                   csrf: Csrf = None) -> Response:
    """End every session of a user (log them out everywhere)."""
    check_csrf(request, csrf)
    require_admin(user)
    target = _target(session, user_id)
    n = accounts.revoke_sessions(session, username=target.username, actor=actor(user))
    _flash(request, i18n.gettext("%(n)s session(s) of %(user)s ended.")
           % {"user": target.username, "n": n})
    return RedirectResponse("/admin/users", status_code=303)
