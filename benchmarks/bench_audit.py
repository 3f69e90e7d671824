"""`kaohe audit verify` on N published appraisals (default 10 000) on SQLite (or
$KAOHE_DATABASE_URL), run as the nightly job runs it: a subprocess. Target: under 10 s.

Baselines in the same run, on the same database: the chain-only check
(`kaohe audit verify --log-only`, what verification did before the records were sealed) and
`kaohe export payroll` (one cycle's sheet, which now checks the cycle's seals too). Also
timed: publishing (which seals), and `--full` (every appraisal scored again).

    python benchmarks/bench_audit.py [N]
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_cycle import make_files
from kaohe.store import migrate
from kaohe.store.db import Database
from kaohe.workflow import cycles, org
from kaohe.workflow.audit import Actor

ADMIN = Actor("bench", ("admin",))
TARGET_S = 10.0


def build(db: Database, folder: Path, n: int) -> float:
    """One published cycle of n appraisals; returns the seconds publishing (and sealing) took."""
    emp, inputs = make_files(folder, n)
    with db.transaction() as s:
        org.import_employees(s, path=emp, actor=ADMIN)
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-10",
                                actor=ADMIN).id
    with db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=inputs, actor=ADMIN)
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
        for t in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=cid, trigger=t, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="approve", actor=ADMIN)
    t = time.perf_counter()
    with db.transaction() as s:
        cycles.cycle_transition(s, cycle_id=cid, trigger="publish", actor=ADMIN,
                                today=dt.date(2026, 11, 6))
    return time.perf_counter() - t


def timed(url: str, *args: str) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds of `kaohe ARGS` in a subprocess, and its last line."""
    env = {**os.environ, "KAOHE_DATABASE_URL": url}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "kaohe", *args], env=env, text=True,
                       capture_output=True, timeout=600)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"kaohe {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, (r.stdout.strip().splitlines() or [""])[-1]


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = os.environ.get("KAOHE_DATABASE_URL") or f"sqlite:///{folder / 'bench.db'}"
        db = Database(url)
        migrate.upgrade(db)
        publish = build(db, folder, n)
        db.dispose()
        log_only, log_cpu, _ = timed(url, "audit", "verify", "--log-only")
        payroll, pay_cpu, _ = timed(url, "export", "payroll", "--cycle", "1", "-o",
                                    str(folder / "payroll.xlsx"))
        verify, verify_cpu, said = timed(url, "audit", "verify", "--seed", "1")
        full, full_cpu, said_full = timed(url, "audit", "verify", "--full")
    print(f"database: {url.split('://')[0]}   published appraisals: {n:,}   "
          f"(wall s / CPU s of the process)")
    print(f"  publish (seals, in process)       {publish:6.2f}")
    print(f"  audit verify (sample of 50)       {verify:6.2f} / {verify_cpu:5.2f}   (target "
          f"< {TARGET_S:.0f} s: {'PASS' if verify < TARGET_S else 'FAIL'})")
    print(f"      {said}")
    print(f"  audit verify --full               {full:6.2f} / {full_cpu:5.2f}")
    print(f"      {said_full}")
    print(f"  baseline: audit verify --log-only {log_only:6.2f} / {log_cpu:5.2f}   verify / "
          f"log-only = {verify / log_only:.1f}× wall, {verify_cpu / log_cpu:.1f}× CPU")
    print(f"  baseline: export payroll          {payroll:6.2f} / {pay_cpu:5.2f}   verify / "
          f"payroll = {verify / payroll:.1f}× wall, {verify_cpu / pay_cpu:.1f}× CPU")
    return 0 if verify < TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
