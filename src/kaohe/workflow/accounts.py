"""Accounts and sessions: logging in (throttled, in the database, shared by every worker),
server-side sessions that end, password changes, disabling and enabling users.

Who may manage whom is decided here, for the CLI and the web app alike: an admin manages
everyone; HR manages users who are not admins; anyone may change their own password (with
the current one, on the web). The last active admin cannot be disabled.
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


def may_manage(actor: Actor, target: User) -> bool:
    """An admin manages everyone; HR manages users who are not admins."""
    if "admin" in actor.roles:
        return True
    return "hr" in actor.roles and "admin" not in target.roles


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
                    current_password: str | None = None, keep_session: str | None = None
                    ) -> int:
    """Set a new password; every session of the user ends (but ``keep_session``, the one
    the user changed it from). Changing one's own password needs the current one when
    ``current_password`` is given (the web app always gives it). Returns sessions ended."""
    user = _target(session, username)
    own = actor.user_id == user.id
    if not own:
        _check_manage(actor, user)
    if own and current_password is not None and not verify_password(
            user.password_hash, current_password):
        raise Invalid(Text(N_("the current password is wrong")))
    check_password(new_password)
    user.password_hash = hash_password(new_password)
    ended = _revoke(session, user, keep=keep_session if own else None)
    record(session, action="user.password_changed", actor=actor, target_type="user",
           target_id=user.id, details={"username": user.username, "sessions_ended": ended})
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
