"""Bulk paths of the system of record: open, import, score and publish one cycle of N
appraisals (default 10 000) on SQLite (or $KAOHE_DATABASE_URL). Target: under 30 s in all.

Baseline in the same run: the engine alone scoring the same sheet from the CSV
(`score_file`), so the ratio shows what the database, validation and audit add.

    python benchmarks/bench_cycle.py [N]
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from kaohe.engine.score import score_file
from kaohe.presets import load_preset
from kaohe.store import migrate
from kaohe.store.db import Database
from kaohe.workflow import cycles, org
from kaohe.workflow.audit import Actor

ADMIN = Actor("bench", ("admin",))
LEVELS = ("非常满意", "比较满意", "一般", "不满意")


def make_files(folder: Path, n: int) -> tuple[Path, Path]:
    rng = random.Random(7)
    emp = folder / "employees.csv"
    inputs = folder / "inputs.csv"
    with emp.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["工号", "姓名", "团队"])
        for i in range(n):
            w.writerow([f"E{i:06d}", f"客服{i}", f"T{i // 30:04d}"])
    with inputs.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["employee", "team", "period", "sales", "sales_target", "inquiries", "buyers",
                    "received", "replied", "response_s", "followup_amount", "execution",
                    "satisfaction", "bad_reviews", "full_attendance", "silent_sales"])
        for i in range(n):
            inq = rng.randint(200, 500)
            rec = inq + rng.randint(0, 50)
            w.writerow([f"E{i:06d}", f"T{i // 30:04d}", "2026-10",
                        f"{rng.uniform(50000, 130000):.2f}", "100000", inq,
                        int(inq * rng.uniform(0.3, 0.6)), rec, rec - rng.randint(0, 20),
                        f"{rng.uniform(15, 70):.1f}", f"{rng.uniform(10000, 50000):.2f}",
                        rng.choice(LEVELS), f"{rng.uniform(0.85, 1):.4f}",
                        int(rng.random() < 0.03), int(rng.random() < 0.8),
                        f"{rng.uniform(5000, 30000):.2f}"])
    return emp, inputs


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        emp, inputs = make_files(folder, n)
        url = os.environ.get("KAOHE_DATABASE_URL") or f"sqlite:///{folder / 'bench.db'}"
        db = Database(url)
        migrate.upgrade(db)
        timings: dict[str, float] = {}

        def step(name: str, fn) -> None:  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            with db.transaction() as s:
                fn(s)
            timings[name] = time.perf_counter() - t

        step("org import", lambda s: org.import_employees(s, path=emp, actor=ADMIN))
        holder: dict[str, int] = {}
        step("open cycle", lambda s: holder.update(id=cycles.open_cycle(
            s, scheme_ref="taobao-presales", period="2026-10", actor=ADMIN).id))
        cid = holder["id"]
        step("import inputs", lambda s: cycles.import_inputs(s, cycle_id=cid, path=inputs,
                                                             actor=ADMIN))
        step("score", lambda s: cycles.score_cycle(s, cycle_id=cid, actor=ADMIN))

        def review(s):  # type: ignore[no-untyped-def]
            for t in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
                cycles.advance_all(s, cycle_id=cid, trigger=t, actor=ADMIN)
            cycles.cycle_transition(s, cycle_id=cid, trigger="approve", actor=ADMIN)

        step("review (bulk)", review)
        step("publish", lambda s: cycles.cycle_transition(
            s, cycle_id=cid, trigger="publish", actor=ADMIN, today=dt.date(2026, 11, 6)))
        t = time.perf_counter()
        score_file(load_preset("taobao-presales"), inputs)
        baseline = time.perf_counter() - t
        db.dispose()
    cycle_total = sum(v for k, v in timings.items() if k != "org import")
    print(f"database: {url.split('://')[0]}   appraisals: {n:,}")
    for k, v in timings.items():
        print(f"  {k:<16} {v:8.2f} s")
    print(f"  {'open→publish':<16} {cycle_total:8.2f} s   (target < 30 s: "
          f"{'PASS' if cycle_total < 30 else 'FAIL'})")
    print(f"  baseline: engine alone on the CSV {baseline:.2f} s; "
          f"cycle / engine = {cycle_total / baseline:.1f}×")
    return 0 if cycle_total < 30 else 1


if __name__ == "__main__":
    raise SystemExit(main())
