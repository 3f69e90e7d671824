"""Accounts and sessions: logging in (throttled, in the database, shared by every worker),
server-side sessions that end, password changes, disabling and enabling users.

Who may manage whom is decided here, for the CLI and the web app alike:

* an **admin** manages every account and gives any role (also hr and admin);
* **HR** manages people: creates the accounts of agents, supervisors and managers, resets
  their passwords, disables and enables them, sets their roles (among those three), the
  teams a supervisor or manager looks after, and imports the org sheet; HR does not manage
  HR or admin accounts (an admin does);
* agents, supervisors and managers manage nobody; anyone may change their own password
  (with the current one, on the web).

A password set by someone else is a one-time password: the user is asked to choose their
own at the next login. The last active admin cannot be disabled nor lose the admin role.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kaohe.settings import settings
from kaohe.store.db import Database
from kaohe.store.models import LoginThrottle, User, UserSession, utcnow
from kaohe.text import N_, Text
from kaohe.workflow.audit import Actor, record
from kaohe.workflow.errors import Invalid, NotAllowed, NotFound
from kaohe.workflow.passwords import hash_password, verify_password

MIN_PASSWORD = 8
MAX_PASSWORD = 200


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@functools.cache
def _dummy_hash() -> str:
    """A hash of nobody's password: unknown and disabled users are checked against it, so
    they take as long to refuse as a wrong password of a real user."""
    return hash_password(secrets.token_urlsafe(16))


class Throttled(NotAllowed):
    """Too many failed logins from this address or at this user."""

    status = 429


# -- the login throttle ------------------------------------------------------------------------
def _throttle_keys(username: str, address: str) -> list[tuple[str, int]]:
    """The counters a login attempt uses, with their limits: the user from this address (the
    tight one), the address over all users (spraying many users), and the user over all
    addresses (guessing from many addresses). One address alone cannot lock a user out, nor
    does an office behind one address lock itself out with a few typing mistakes."""
    conf = settings()
    user = username.casefold()[:100]
    return sorted([
        (f"ua:{user}|{address}", conf.login_max_failures),
        (f"a:{address}", conf.login_max_per_address),
        (f"u:{user}", conf.login_max_per_user),
    ])


def _locked_counters(session: Session, keys: list[str], now: dt.datetime
                     ) -> dict[str, LoginThrottle]:
    """The counters, created if missing and locked until the transaction ends (PostgreSQL:
    row locks, taken in key order; SQLite: the write lock taken at BEGIN)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(LoginThrottle).values(
            [{"key": k, "window_start": now, "failures": 0} for k in keys])
            .on_conflict_do_nothing(index_elements=["key"]))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(LoginThrottle).values(
            [{"key": k, "window_start": now, "failures": 0} for k in keys])
            .on_conflict_do_nothing(index_elements=["key"]))
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))
                           .order_by(LoginThrottle.key).with_for_update())
    return {r.key: r for r in rows}


def reserve_attempt(database: Database, username: str, address: str) -> bool:
    """Count an attempt as failed before the password is checked (it is taken back if the
    password is right). False when a limit is reached: the password is not checked at all.
    One short transaction, so parallel attempts queue here and never all get through."""
    now = utcnow()
    window = dt.timedelta(seconds=settings().login_window_s)
    limits = _throttle_keys(username, address)
    with database.transaction() as session:
        rows = _locked_counters(session, [k for k, _ in limits], now)
        for key, _limit in limits:
            if rows[key].window_start <= now - window:
                rows[key].window_start, rows[key].failures = now, 0
        if any(rows[key].failures >= limit for key, limit in limits):
            return False
        for key, _ in limits:
            rows[key].failures += 1
    if secrets.randbelow(SWEEP_ONE_IN) == 0:
        _sweep_counters(database, now - window)
    return True


#: about one attempt in this many deletes the counters whose window has passed
SWEEP_ONE_IN = 50


def _sweep_counters(database: Database, before: dt.datetime) -> None:
    """Forget counters whose window has passed (rows another attempt holds are skipped)."""
    with database.transaction() as session:
        stale = select(LoginThrottle.key).where(LoginThrottle.window_start < before).limit(1000)
        if session.get_bind().dialect.name == "postgresql":
            stale = stale.with_for_update(skip_locked=True)
        keys = list(session.scalars(stale))
        if keys:
            session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))


def _succeeded(session: Session, username: str, address: str) -> None:
    """A right password: the user's counters start again; the address keeps the others."""
    limits = _throttle_keys(username, address)
    rows = _locked_counters(session, [k for k, _ in limits], utcnow())
    for key, row in rows.items():
        row.failures = max(0, row.failures - 1) if key.startswith("a:") else 0


# -- sessions ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Login:
    """A new session: the token and CSRF token for the cookie (only their hashes are kept)."""

    user_id: int
    token: str
    csrf: str


def login(database: Database, *, username: str, password: str, address: str,
          user_agent: str = "") -> Login | None:
    """Check a password and start a session; None for a wrong username or password.
    Raises :class:`NotAllowed` (429) when attempts from here, or at this user, are throttled."""
    address = address[:64]
    if not reserve_attempt(database, username, address):
        raise Throttled(Text(N_("Too many attempts; try again later")))
    with database.read() as session:
        user = session.scalar(select(User).where(User.username == username))
        stored = user.password_hash if user is not None and user.is_active else None
        user_id = user.id if user is not None else None
    # always one hash check: an unknown user takes as long as a wrong password
    ok = verify_password(stored or _dummy_hash(), password) and stored is not None
    if not ok or user_id is None:
        return None
    with database.transaction() as session:
        _succeeded(session, username, address)
        user = session.get(User, user_id)
        if user is None or not user.is_active:  # disabled meanwhile
            return None
        return start_session(session, user, address=address, user_agent=user_agent)


def start_session(session: Session, user: User, *, address: str = "",
                  user_agent: str = "") -> Login:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = utcnow()
    session.execute(delete(UserSession).where(UserSession.expires_at < now))
    session.add(UserSession(id=digest(token), user_id=user.id, csrf_hash=digest(csrf),
                            created_at=now, address=address[:64], user_agent=user_agent[:200],
                            expires_at=now + dt.timedelta(hours=settings().session_hours)))
    session.flush()
    return Login(user.id, token, csrf)


def session_user(session: Session, token: str) -> tuple[User, UserSession] | None:
    """The active user of a live session, with the session; None once it has ended."""
    found = session.execute(
        select(User, UserSession).join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.id == digest(token), UserSession.expires_at > utcnow(),
               User.is_active.is_(True))).first()
    return (found[0], found[1]) if found else None


def end_session(session: Session, token: str) -> None:
    session.execute(delete(UserSession).where(UserSession.id == digest(token)))


def _revoke(session: Session, user: User, keep: str | None = None) -> int:
    q = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        q = q.where(UserSession.id != digest(keep))
    return int(session.execute(q).rowcount or 0)  # type: ignore[attr-defined]


def live_sessions(session: Session) -> dict[int, int]:
    """Live sessions per user id."""
    rows = session.execute(
        select(UserSession.user_id, func.count()).where(UserSession.expires_at > utcnow())
        .group_by(UserSession.user_id))
    return {int(uid): int(n) for uid, n in rows}


# -- managing users ----------------------------------------------------------------------------
def _target(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(Text(N_("no user %(user)s"), user=repr(username)))
    return user


#: the roles HR may give, and the accounts HR manages (those with no other role)
HR_GRANTS = frozenset({"agent", "supervisor", "manager"})
#: roles that look after teams
TEAM_ROLES = frozenset({"supervisor", "manager"})


def manages_people(actor: Actor) -> bool:
    """HR and admins manage people: accounts, teams, supervisors and the org sheet."""
    return bool({"hr", "admin"} & set(actor.roles))


def require_people(actor: Actor) -> None:
    if not manages_people(actor):
        raise NotAllowed(Text(N_("%(actor)s may not manage people and teams (needs role hr "
                                 "or admin)"), actor=actor.username))


def may_grant(actor: Actor, roles: list[str] | tuple[str, ...] | set[str]) -> bool:
    """An admin gives any role; HR gives agent, supervisor and manager."""
    if "admin" in actor.roles:
        return True
    return "hr" in actor.roles and set(roles) <= HR_GRANTS


def may_manage(actor: Actor, target: User) -> bool:
    """An admin manages everyone; HR manages the accounts of agents, supervisors and
    managers (not HR's nor admins')."""
    if "admin" in actor.roles:
        return True
    return "hr" in actor.roles and set(target.roles) <= HR_GRANTS


def _check_manage(actor: Actor, target: User) -> None:
    if not may_manage(actor, target):
        raise NotAllowed(Text(N_("%(actor)s may not manage the user %(user)s"),
                              actor=actor.username, user=target.username))


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(Text(N_("a password needs at least %(n)s characters"), n=MIN_PASSWORD))
    if len(password) > MAX_PASSWORD:
        raise Invalid(Text(N_("a password may have at most %(n)s characters"), n=MAX_PASSWORD))


def change_password(session: Session, *, username: str, new_password: str, actor: Actor,
                    current_password: str | None = None, keep_session: str | None = None,
                    one_time: bool = False) -> int:
    """Set a new password; every session of the user ends (but ``keep_session``, the one
    the user changed it from). Changing one's own password needs the current one when
    ``current_password`` is given (the web app always gives it). ``one_time``: a password
    set for someone else that they are asked to change. Returns sessions ended."""
    user = _target(session, username)
    own = actor.user_id == user.id
    if not own:
        _check_manage(actor, user)
    if own and current_password is not None and not verify_password(
            user.password_hash, current_password):
        raise Invalid(Text(N_("the current password is wrong")))
    check_password(new_password)
    user.password_hash = hash_password(new_password)
    user.must_change_password = one_time and not own
    ended = _revoke(session, user, keep=keep_session if own else None)
    record(session, action="user.password_changed", actor=actor, target_type="user",
           target_id=user.id, details={"username": user.username, "sessions_ended": ended,
                                       "one_time": user.must_change_password})
    return ended


def set_active(session: Session, *, username: str, active: bool, actor: Actor) -> int:
    """Disable (every session ends) or enable a user. Returns sessions ended."""
    user = _target(session, username)
    _check_manage(actor, user)
    if not active and actor.user_id == user.id:
        raise Invalid(Text(N_("you cannot disable yourself")))
    if not active and "admin" in user.roles and user.is_active:
        admins = [u for u in session.scalars(select(User).where(User.is_active.is_(True)))
                  if "admin" in u.roles]
        if len(admins) <= 1:
            raise Invalid(Text(N_("%(user)s is the last active admin"), user=user.username))
    if user.is_active == active:
        return 0
    user.is_active = active
    ended = 0 if active else _revoke(session, user)
    record(session, action="user.enabled" if active else "user.disabled", actor=actor,
           target_type="user", target_id=user.id,
           details={"username": user.username, "sessions_ended": ended})
    return ended


def revoke_sessions(session: Session, *, username: str, actor: Actor) -> int:
    """End every session of a user (an admin's "log out everywhere")."""
    user = _target(session, username)
    if actor.user_id != user.id:
        _check_manage(actor, user)
    ended = _revoke(session, user)
    record(session, action="user.sessions_revoked", actor=actor, target_type="user",
           target_id=user.id, details={"username": user.username, "sessions_ended": ended})
    return ended


# -- people: accounts with their roles and teams ------------------------------------------------
#: a one-time password's letters: no 0/O, 1/l/I to misread on a note
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ONE_TIME_LENGTH = 12


def one_time_password() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(ONE_TIME_LENGTH))


def _check_grant(actor: Actor, roles: list[str]) -> list[str]:
    from kaohe.store.models import Role

    roles = list(dict.fromkeys(r.strip() for r in roles if r.strip()))
    if not roles:
        raise Invalid(Text(N_("give the user at least one role")))
    bad = [r for r in roles if r not in Role.__members__]
    if bad:
        raise Invalid(Text(N_("unknown role %(role)s; roles: %(roles)s"), role=repr(bad[0]),
                           roles=", ".join(Role.__members__)))
    if not may_grant(actor, roles):
        raise NotAllowed(Text(N_("%(actor)s may not give the role %(roles)s (only an admin "
                                 "gives hr or admin)"), actor=actor.username,
                              roles=", ".join(sorted(set(roles) - HR_GRANTS))))
    return roles


def _team_ids(session: Session, teams: list[str]) -> list[int]:
    from kaohe.store.models import Team

    ids: list[int] = []
    for code in dict.fromkeys(t.strip() for t in teams if t.strip()):
        team = session.scalar(select(Team).where((Team.code == code) | (Team.name == code)))
        if team is None:
            raise NotFound(Text(N_("no team %(team)s"), team=repr(code)))
        ids.append(team.id)
    return ids


@dataclass(frozen=True)
class NewAccount:
    user: User
    #: the one-time password to hand over (shown once), when one was made up
    password: str | None


def create_account(session: Session, *, username: str, display_name: str, roles: list[str],
                   actor: Actor, employee_code: str | None = None,
                   teams: list[str] | None = None, password: str | None = None) -> NewAccount:
    """A new account, with a one-time password (given, or made up and returned once): the
    user is asked to choose their own at the first login."""
    from kaohe.workflow.org import create_user

    require_people(actor)
    roles = _check_grant(actor, roles)
    username = username.strip()
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        raise Invalid(Text(N_("a login name has 1 to 100 characters and no spaces")))
    if not display_name.strip() and not employee_code:
        raise Invalid(Text(N_("give the person's name or their employee id")))
    made_up = password is None or not password.strip()
    pw = one_time_password() if made_up else str(password)
    check_password(pw)
    if teams and not set(roles) & TEAM_ROLES:
        raise Invalid(Text(N_("only supervisors and managers look after teams")))
    from kaohe.store.models import Team

    ids = _team_ids(session, teams or [])  # a missing team is named before anything is added
    codes = [t.code for t in session.scalars(select(Team).where(Team.id.in_(ids)))]
    user = create_user(session, username=username, roles=roles, actor=actor, password=pw,
                       employee_code=employee_code or None, teams=codes,
                       display_name=display_name.strip())
    user.must_change_password = True
    session.flush()
    return NewAccount(user, pw if made_up else None)


def reset_password(session: Session, *, username: str, actor: Actor,
                   password: str | None = None) -> tuple[str | None, int]:
    """Set a one-time password for someone else (made up when none is given): the made-up
    password (None when given) and the sessions ended."""
    made_up = password is None or not password.strip()
    pw = one_time_password() if made_up else str(password)
    user = _target(session, username)
    if actor.user_id == user.id:
        raise Invalid(Text(N_("change your own password on your account page")))
    ended = change_password(session, username=username, new_password=pw, actor=actor,
                            one_time=True)
    return (pw if made_up else None), ended


def set_roles(session: Session, *, username: str, roles: list[str], actor: Actor) -> User:
    """Replace a user's roles (HR: among agent, supervisor and manager, for the accounts HR
    manages; an admin: any). Teams stay only for a supervisor or manager."""
    user = _target(session, username)
    _check_manage(actor, user)
    roles = _check_grant(actor, roles)
    if "admin" in user.roles and "admin" not in roles:
        admins = [u for u in session.scalars(select(User).where(User.is_active.is_(True)))
                  if "admin" in u.roles]
        if len(admins) <= 1 and user.is_active:
            raise Invalid(Text(N_("%(user)s is the last active admin"), user=user.username))
    before = list(user.roles)
    if before == roles:
        return user
    user.roles = roles
    if not set(roles) & TEAM_ROLES:
        user.team_ids = []
    session.flush()
    record(session, action="user.roles_changed", actor=actor, target_type="user",
           target_id=user.id, details={"username": user.username, "before": before,
                                       "after": roles})
    return user


def set_teams(session: Session, *, username: str, teams: list[str], actor: Actor) -> User:
    """The teams a supervisor or manager looks after (HR or an admin sets them)."""
    require_people(actor)
    user = _target(session, username)
    _check_manage(actor, user)
    if teams and not set(user.roles) & TEAM_ROLES:
        raise Invalid(Text(N_("only supervisors and managers look after teams; give "
                              "%(user)s the role supervisor first"), user=user.username))
    ids = _team_ids(session, teams)
    before = list(user.team_ids or [])
    if before == ids:
        return user
    user.team_ids = ids
    session.flush()
    record(session, action="user.teams_changed", actor=actor, target_type="user",
           target_id=user.id, details={"username": user.username, "before": before,
                                       "after": ids})
    return user


def set_employee(session: Session, *, username: str, employee_code: str | None,
                 actor: Actor) -> User:
    """Link an account to the person in the org sheet (their 工号), or unlink it (None): a
    supervisor imported from the address book is then the supervisor of their reports'
    teams, and every page names them as the sheet does."""
    from kaohe.store.models import Employee

    require_people(actor)
    user = _target(session, username)
    _check_manage(actor, user)
    emp = None
    if employee_code:
        emp = session.scalar(select(Employee).where(Employee.code == employee_code.strip()))
        if emp is None:
            raise NotFound(Text(N_("no employee %(code)s"), code=repr(employee_code)))
        other = session.scalar(select(User.username).where(User.employee_id == emp.id,
                                                           User.id != user.id))
        if other is not None:
            raise Invalid(Text(N_("employee %(code)s has the account %(user)s already"),
                               code=emp.code, user=other))
    before = user.employee.code if user.employee is not None else None
    after = emp.code if emp is not None else None
    if before == after:
        return user
    user.employee = emp
    session.flush()
    record(session, action="user.employee_linked", actor=actor, target_type="user",
           target_id=user.id, details={"username": user.username, "before": before,
                                       "after": after})
    return user
