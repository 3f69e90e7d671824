"""Load on the web app: 5 000 agents in the database, 50 concurrent logged-in sessions on
loopback, each loading a page, thinking 0.5–1.5 s (as locust's `between(0.5, 1.5)`), and
again, for a bounded time. Reports p50/p95/p99 of the agent's scorecard page and the
supervisor's team board. Target: p95 under 100 ms.

    python benchmarks/bench_web.py [SECONDS] [--locust] [--workers N]   # SQLite (a temp file)
    KAOHE_DATABASE_URL=postgresql+psycopg://… python benchmarks/bench_web.py

The sessions are driven by httpx (asyncio, in this process) and, with --locust, also by
locust (benchmarks/locustfile.py, headless, in its own process; its percentiles are
locust's, rounded to two significant digits). --workers runs `kaohe serve --workers N`.

Baseline in the same run: the same pages requested one at a time (no concurrency), so the
ratio shows what 50 sessions cost.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import select

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_cycle import ADMIN, make_files  # noqa: E402
from kaohe.store import migrate  # noqa: E402
from kaohe.store.db import Database  # noqa: E402
from kaohe.store.models import Appraisal, Employee, Team, User  # noqa: E402
from kaohe.workflow import cycles, org  # noqa: E402
from kaohe.workflow.passwords import hash_password  # noqa: E402

AGENTS = 5000
SESSIONS = 50


def setup(url: str, folder: Path) -> tuple[list[tuple[str, int]], list[str]]:
    db = Database(url)
    migrate.upgrade(db)
    emp, inputs = make_files(folder, AGENTS)
    with db.transaction() as s:
        org.import_employees(s, path=emp, actor=ADMIN)
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-10",
                                actor=ADMIN).id
    with db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=inputs, actor=ADMIN)
    with db.transaction() as s:
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
    pw = hash_password("pw")
    agents: list[tuple[str, int]] = []
    sups: list[str] = []
    with db.transaction() as s:
        rows = s.execute(select(Employee.id, Employee.code, Employee.team_id, Appraisal.id)
                         .join(Appraisal, Appraisal.employee_id == Employee.id)
                         .order_by(Employee.code)).all()
        for emp_id, code, _team, app_id in rows[: SESSIONS // 2]:
            s.add(User(username=code.lower(), roles=["agent"], employee_id=emp_id,
                       password_hash=pw, display_name=code))
            agents.append((code.lower(), app_id))
        teams = s.scalars(select(Team.id).order_by(Team.id)).all()
        for i in range(SESSIONS - len(agents)):
            name = f"sup{i:03d}"
            s.add(User(username=name, roles=["supervisor"], team_ids=[teams[i % len(teams)]],
                       password_hash=pw, display_name=name))
            sups.append(name)
    db.dispose()
    return agents, sups


async def login(client: httpx.AsyncClient, user: str) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    r = await client.post("/login", data={"username": user, "password": "pw",
                                          "csrf": token.group(1)})
    assert r.status_code in (200, 303), r.text[:200]


async def session(client: httpx.AsyncClient, path: str, until: float, think: bool,
                  out: list[float]) -> None:
    if think:  # sessions arrive spread over one think time, not all in the same millisecond
        await asyncio.sleep(random.uniform(0, 1.5))
    while time.monotonic() < until:
        t = time.perf_counter()
        r = await client.get(path)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (path, r.status_code)
        if think:
            await asyncio.sleep(random.uniform(0.5, 1.5))


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]


async def run(base: str, agents: list[tuple[str, int]], sups: list[str], seconds: float,
              concurrent: bool) -> tuple[list[float], list[float]]:
    """Log every session in first (Argon2 is slow on purpose), then measure."""
    card: list[float] = []
    board: list[float] = []
    users = [(u, f"/appraisals/{a}", card) for u, a in agents] + [
        (u, "/team", board) for u in sups]
    if not concurrent:
        users = [users[0], users[len(agents)]]
    clients = [httpx.AsyncClient(base_url=base, follow_redirects=True, timeout=30)
               for _ in users]
    try:
        await asyncio.gather(*[login(c, u) for c, (u, _, _) in zip(clients, users,
                                                                     strict=True)])
        if concurrent:
            until = time.monotonic() + seconds
            await asyncio.gather(*[session(c, path, until, True, out)
                                   for c, (_, path, out) in zip(clients, users, strict=True)])
        else:
            for c, (_, path, out) in zip(clients, users, strict=True):
                await session(c, path, time.monotonic() + seconds / 2, False, out)
    finally:
        for c in clients:
            await c.aclose()
    return card, board


def run_locust(base: str, agents: list[tuple[str, int]], sups: list[str], seconds: float,
               folder: Path) -> dict[str, dict[str, float]]:
    """The same 50 sessions under locust; its stats CSV → {page: {p50, p95, p99, n}}."""
    import csv

    env = {**os.environ,
           "KAOHE_BENCH_AGENTS": ",".join(f"{u}:{a}" for u, a in agents),
           "KAOHE_BENCH_SUPERVISORS": ",".join(sups),
           "KAOHE_BENCH_EACH": str(SESSIONS // 2)}
    prefix = folder / "locust"
    subprocess.run([sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"),
                    "--headless", "-u", str(SESSIONS), "-r", str(SESSIONS), "--reset-stats",
                    "-t", f"{int(seconds)}s", "--host", base, "--csv", str(prefix),
                    "--only-summary", "--loglevel", "WARNING"],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: dict[str, dict[str, float]] = {}
    with open(f"{prefix}_stats.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["Name"] in ("scorecard", "team board"):
                out[row["Name"]] = {"n": float(row["Request Count"]),
                                    "fail": float(row["Failure Count"]),
                                    "p50": float(row["50%"]), "p95": float(row["95%"]),
                                    "p99": float(row["99%"])}
    return out


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    seconds = float(args[0]) if args else 30
    use_locust = "--locust" in sys.argv
    workers = int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else 1
    if workers > 1:
        args = [a for a in args if a != str(workers)]
        seconds = float(args[0]) if args else 30
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("KAOHE_DATABASE_URL") or f"sqlite:///{tmp}/web.db"
        if url.startswith("postgresql"):
            from sqlalchemy import text

            from kaohe.store.models import Base

            db = Database(url)
            with db.engine.begin() as conn:
                Base.metadata.drop_all(conn)
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.dispose()
        t = time.perf_counter()
        agents, sups = setup(url, Path(tmp))
        print(f"database {url.split('://')[0]}: {AGENTS:,} agents, one scored cycle "
              f"(set up in {time.perf_counter() - t:.0f} s)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "KAOHE_SECRET_KEY": "bench", "KAOHE_DATABASE_URL": url}
        server = subprocess.Popen([sys.executable, "-m", "kaohe", "serve", "--port",
                                   str(port), "--workers", str(workers)], env=env,
                                  stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    httpx.get(f"{base}/login", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            solo = asyncio.run(run(base, agents, sups, min(seconds, 10), False))
            loaded = asyncio.run(run(base, agents, sups, seconds, True))
            by_locust = run_locust(base, agents, sups, seconds, Path(tmp)) if use_locust else {}
        finally:
            server.terminate()
            server.wait(10)
    ok = True
    for name, (one, many) in (("scorecard", (solo[0], loaded[0])),
                              ("team board", (solo[1], loaded[1]))):
        p95 = pct(many, 95)
        ok &= p95 < 100
        print(f"  {name:<11} {len(many):5d} requests  p50 {pct(many, 50):6.1f} ms  "
              f"p95 {p95:6.1f} ms  p99 {pct(many, 99):6.1f} ms   (one at a time: p50 "
              f"{pct(one, 50):.1f} ms; loaded/alone p50 {pct(many, 50) / pct(one, 50):.1f}×)")
    for name, st in by_locust.items():
        ok &= st["p95"] < 100 and st["fail"] == 0
        print(f"  locust: {name:<11} {int(st['n']):5d} requests  p50 {st['p50']:6.0f} ms  "
              f"p95 {st['p95']:6.0f} ms  p99 {st['p99']:6.0f} ms  failures {int(st['fail'])}")
    more = f" (workers: {workers})" if workers > 1 else ""
    print(f"target p95 < 100 ms with {SESSIONS} sessions{more}: {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
