"""Accounts and sessions: a session lives on the server and ends with logout, a password
change, disabling the user or an admin; the login throttle is shared by every worker and
holds under parallel attempts; unknown users take as long as real ones."""

from __future__ import annotations

import os
import stat
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kaohe.settings import Settings
from kaohe.store.db import Database
from kaohe.store.models import LoginThrottle, User, UserSession
from kaohe.web.app import create_app
from kaohe.workflow import accounts, org
from kaohe.workflow.passwords import hash_password

from ..store.factories import ADMIN, setup_org
from .served import kaohe_serve
from .served import login as served_login
from .test_access import login

PW = "pw-secret"


@pytest.fixture
def people(db: Database, tmp_path: Path) -> Database:
    setup_org(db, tmp_path, n=2)
    with db.transaction() as s:
        org.create_user(s, username="admin", roles=["admin"], actor=ADMIN)
        hashed = hash_password(PW)
        for u in s.scalars(select(User)):
            u.password_hash = hashed
    return db


@pytest.fixture
def app(people: Database) -> object:
    return create_app(people, secret="sessions-test")


def client_of(app: object, user: str | None = None) -> TestClient:
    c = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    if user is not None:
        login(c, user, PW)
    return c


def sessions_of(db: Database, username: str) -> int:
    with db.read() as s:
        uid = s.scalars(select(User.id).where(User.username == username)).one()
        return int(s.scalar(select(func.count()).select_from(UserSession).where(
            UserSession.user_id == uid)) or 0)


def test_a_cookie_replayed_after_logout_is_refused_and_so_is_its_csrf_token(
        app: object, people: Database) -> None:
    agent = client_of(app, "e1")
    cookie = agent.cookies["kaohe_session"]
    token = agent.get("/api/me").json()["csrf"]
    assert sessions_of(people, "e1") == 1
    assert agent.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert sessions_of(people, "e1") == 0

    replay = client_of(app)
    replay.cookies.set("kaohe_session", cookie, domain="testserver.local")
    assert replay.get("/api/me").status_code == 401
    replay.cookies.set("kaohe_session", cookie, domain="testserver.local")
    r = replay.get("/me", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    for path, data in (("/logout", {"csrf": token}),
                       ("/login", {"csrf": token, "username": "e1", "password": PW})):
        replay.cookies.clear()
        replay.cookies.set("kaohe_session", cookie, domain="testserver.local")
        r = replay.post(path, data=data, follow_redirects=False)
        assert r.status_code == 403, (path, r.status_code, r.text[:200])
    replay.cookies.clear()
    replay.cookies.set("kaohe_session", cookie, domain="testserver.local")
    r = replay.post("/api/appraisals/1/transitions", json={"action": "submit_self_review"},
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 401
    assert sessions_of(people, "e1") == 0
    # the login page drops the ended session's cookie: its fresh form works
    replay.cookies.clear()
    replay.cookies.set("kaohe_session", cookie, domain="testserver.local")
    login(replay, "e1", PW)
    assert replay.get("/api/me").json()["username"] == "e1"


def test_a_password_change_ends_the_other_sessions(app: object, people: Database) -> None:
    here, there = client_of(app, "e1"), client_of(app, "e1")
    assert sessions_of(people, "e1") == 2
    token = here.get("/api/me").json()["csrf"]
    r = here.post("/account/password", data={"csrf": token, "current": "wrong-one",
                                             "new": "new-secret", "confirm": "new-secret"})
    assert r.status_code == 422 and sessions_of(people, "e1") == 2
    r = here.post("/account/password", data={"csrf": token, "current": PW, "new": "new-secret",
                                             "confirm": "new-secret"}, follow_redirects=False)
    assert r.status_code == 303
    assert here.get("/api/me").status_code == 200  # the session it was changed from stays
    assert there.get("/api/me").status_code == 401
    fresh = client_of(app)
    assert fresh.post("/login", data={"username": "e1", "password": PW,
                                      "csrf": _csrf(fresh)}).status_code == 400
    login(fresh, "e1", "new-secret")


def _csrf(client: TestClient) -> str:
    import re

    m = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert m
    return m.group(1)


def test_an_admin_disables_enables_and_logs_a_user_out(app: object, people: Database) -> None:
    admin, agent = client_of(app, "admin"), client_of(app, "e1")
    token = admin.get("/api/me").json()["csrf"]
    with people.read() as s:
        e1 = s.scalars(select(User.id).where(User.username == "e1")).one()
    page = admin.get("/admin/users").text
    assert "/admin/users" in admin.get("/me").text and "/hr/cycles" not in page
    r = admin.post(f"/admin/users/{e1}/active", data={"csrf": token, "active": "false"},
                   follow_redirects=False)
    assert r.status_code == 303
    assert agent.get("/api/me").status_code == 401
    fresh = client_of(app)
    r = fresh.post("/login", data={"username": "e1", "password": PW, "csrf": _csrf(fresh)})
    assert r.status_code == 400  # a disabled user looks like a wrong password
    admin.post(f"/admin/users/{e1}/active", data={"csrf": token, "active": "true"})
    agent = client_of(app, "e1")
    assert agent.get("/api/me").status_code == 200
    admin.post(f"/admin/users/{e1}/sessions", data={"csrf": token})
    assert agent.get("/api/me").status_code == 401
    admin.post(f"/admin/users/{e1}/password", data={"csrf": token, "password": "set-by-admin"})
    login(client_of(app), "e1", "set-by-admin")
    # the admin cannot disable themselves, nor is HR shown the admin page
    with people.read() as s:
        me = s.scalars(select(User.id).where(User.username == "admin")).one()
    r = admin.post(f"/admin/users/{me}/active", data={"csrf": token, "active": "false"})
    assert r.status_code == 422
    hr = client_of(app, "hr")
    assert hr.get("/admin/users").status_code == 404
    assert "/admin/users" not in hr.get("/me").text and "/hr/cycles" in hr.get("/me").text


def kaohe_cli(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KAOHE_DATABASE_URL": db.url, "KAOHE_USER": "admin"}
    return subprocess.run([sys.executable, "-m", "kaohe", *args], env=env, text=True,
                          capture_output=True, timeout=120)


def test_cli_passwd_disable_enable_and_a_user_added_twice(people: Database) -> None:
    with people.transaction() as s:
        user = s.scalars(select(User).where(User.username == "e1")).one()
        accounts.start_session(s, user)
        accounts.start_session(s, user)
    r = kaohe_cli(people, "user", "passwd", "e1", "--password", "cli-secret")
    assert r.returncode == 0 and "2 session(s) ended" in r.stdout, r.stderr
    assert accounts.login(people, username="e1", password="cli-secret", address="cli") is not None
    r = kaohe_cli(people, "user", "passwd", "e1", "--password", "short")
    assert r.returncode == 2 and "at least 8 characters" in r.stderr
    r = kaohe_cli(people, "user", "disable", "e1")
    assert r.returncode == 0 and "disabled; 1 session(s) ended" in r.stdout, r.stderr
    assert sessions_of(people, "e1") == 0
    assert accounts.login(people, username="e1", password="cli-secret", address="cli") is None
    r = kaohe_cli(people, "user", "enable", "e1")
    assert r.returncode == 0
    assert accounts.login(people, username="e1", password="cli-secret", address="cli") is not None
    r = kaohe_cli(people, "user", "disable", "admin")
    assert r.returncode == 2 and "yourself" in r.stderr
    for args in (["user", "add", "e1", "--role", "agent", "--password", "another-one"],
                 ["user", "add", "e1b", "--role", "agent", "--employee", "E001",
                  "--password", "another-one"]):
        r = kaohe_cli(people, *args)
        assert r.returncode == 2, r.stdout
        assert "already" in r.stderr and "Traceback" not in r.stderr
        assert "$argon2" not in r.stderr + r.stdout
    r = kaohe_cli(people, "user", "list")
    assert r.returncode == 0 and "e1" in r.stdout


def test_the_session_key_is_kept_in_the_data_directory(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).session_key()
    assert len(first) >= 32
    assert Settings(data_dir=tmp_path).session_key() == first  # a restart keeps it
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert Settings(data_dir=tmp_path, secret_key="x" * 40).session_key() == "x" * 40


def test_an_unknown_user_takes_as_long_as_a_real_one(people: Database) -> None:
    """Both are checked against a hash, so the answer's time does not tell whether a user
    exists (timed in turns, so a busy machine slows both alike)."""
    def timed(username: str, i: int) -> float:
        t = time.perf_counter()
        assert accounts.login(people, username=username, password="wrong-pw",
                              address=f"10.0.{len(username)}.{i}") is None
        return time.perf_counter() - t

    timed("e1", 99), timed("nobody-here", 99)  # the dummy hash and connections made once
    real, unknown = [], []
    for i in range(7):
        real.append(timed("e1", i))
        unknown.append(timed("nobody-here", i))
    ratio = statistics.median(unknown) / statistics.median(real)
    assert 0.5 < ratio < 2, (real, unknown)


@pytest.mark.parametrize("workers", [1, 2])
def test_parallel_wrong_passwords_at_a_running_server_are_counted_once(
        people: Database, tmp_path: Path, workers: int) -> None:
    """20 wrong passwords at once from one address: at most 5 are checked, the rest are
    throttled, and then the right password is throttled too (shared by the workers)."""
    statuses: list[int] = []
    with kaohe_serve(people.url, tmp_path / "data", workers=workers) as base:
        clients = [httpx.Client(base_url=base, timeout=60) for _ in range(20)]
        tokens = [_served_csrf(c) for c in clients]
        gate = threading.Barrier(len(clients))

        def attempt(c: httpx.Client, token: str) -> None:
            gate.wait()
            statuses.append(c.post("/login", data={"username": "e1", "password": "nope-nope",
                                                   "csrf": token}).status_code)

        threads = [threading.Thread(target=attempt, args=(c, t))
                   for c, t in zip(clients, tokens, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        with httpx.Client(base_url=base, timeout=60) as c:
            assert served_login(c, "e1", PW).status_code == 429
        for c in clients:
            c.close()
    assert len(statuses) == 20
    assert statuses.count(400) <= 5 and statuses.count(400) >= 1, statuses
    assert statuses.count(429) == 20 - statuses.count(400), statuses
    with people.read() as s:
        counted = s.scalars(select(LoginThrottle.failures).where(
            LoginThrottle.key == "ua:e1|127.0.0.1")).one()
    assert counted == 5


def _served_csrf(client: httpx.Client) -> str:
    from .served import csrf

    return csrf(client)


def test_throttle_per_user_and_address_per_address_and_per_user(
        people: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from kaohe.settings import settings

    monkeypatch.setenv("KAOHE_LOGIN_MAX_PER_ADDRESS", "7")
    monkeypatch.setenv("KAOHE_LOGIN_MAX_PER_USER", "8")
    settings.cache_clear()
    try:
        def attempt(user: str, address: str, password: str = "wrong-pw") -> str:
            try:
                return "ok" if accounts.login(people, username=user, password=password,
                                              address=address) else "wrong"
            except accounts.Throttled:
                return "throttled"

        # five at one user from one address; the right password is throttled there too ...
        assert [attempt("e1", "10.1.0.1") for _ in range(6)] == ["wrong"] * 5 + ["throttled"]
        assert attempt("e1", "10.1.0.1", PW) == "throttled"
        # ... but not from another address: one address cannot lock the user out
        assert attempt("e1", "10.1.0.2", PW) == "ok"
        # the address over all users: two more failures (other users), then it is refused
        assert [attempt("e2", "10.1.0.1") for _ in range(3)] == ["wrong", "wrong", "throttled"]
        # the user over all addresses: 8 failures from several addresses
        results = [attempt("hr", f"10.2.0.{i}") for i in range(9)]
        assert results == ["wrong"] * 8 + ["throttled"]
        # windows that have passed are forgotten
        with people.transaction() as s:
            for row in s.scalars(select(LoginThrottle)):
                row.window_start = row.window_start.replace(year=2000)
        accounts._sweep_counters(people, accounts.utcnow())
        with people.read() as s:
            assert s.scalar(select(func.count()).select_from(LoginThrottle)) == 0
        assert attempt("e1", "10.1.0.1", PW) == "ok"
    finally:
        settings.cache_clear()
