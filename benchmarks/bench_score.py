"""Scoring speed of the engine on taobao-presales, against two baselines in the same run.

    python benchmarks/bench_score.py [10000,100000,1000000]

For each size N (rows = agents × 12 months, 30 agents per team):
  kaohe   — `prepare` (parse + validate the text table) and `run` (the compiled plan).
  (a)     — a plain per-row pure-Python scorer of the same scheme with decimal.Decimal
            (bands, weights, bad-review deduction, floor, grade, pay, pool by rank).
            Above 100k rows it is timed on a 100k sample and extrapolated linearly.
  (b)     — the same scheme written by hand as Polars expressions over the same
            Decimal(38, 10) columns (cross-multiplied ratios, half-up rounding, struct rank)
            with no kaohe code: the floor of what the library can do.
Peak memory is the child process's max RSS for kaohe at that size. The three agree on
total, grade and pay total for the first 2 000 rows, or the script exits non-zero.
Targets: kaohe ≥ 50× faster than (a); kaohe run within 2× of (b); < 4 GiB at 1M rows.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import polars as pl

LEVELS = ["非常满意", "比较满意", "一般", "不满意"]
COLS = ["sales", "sales_target", "inquiries", "buyers", "received", "replied", "response_s",
        "followup_amount", "execution", "satisfaction", "bad_reviews", "full_attendance",
        "silent_sales"]


def generate(n: int, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    months = 12
    agents = max(1, n // months)
    idx = np.arange(agents * months)
    agent = idx // months
    month = idx % months + 1
    inq = rng.integers(0, 600, idx.size)
    inq[rng.random(idx.size) < 0.002] = 0  # a few zero denominators
    buyers = (inq * rng.uniform(0.3, 0.6, idx.size)).astype(int)
    boundary = rng.random(idx.size) < 0.01
    buyers[boundary] = inq[boundary] // 2  # exactly 50% where inq is even
    received = inq + rng.integers(0, 50, idx.size)
    replied = np.maximum(received - rng.integers(0, 25, idx.size), 0)
    target = rng.choice([80000, 100000, 120000], idx.size)
    sales = np.round(target * rng.uniform(0.3, 1.3, idx.size), 2)
    return pl.DataFrame({
        "employee": [f"E{a:07d}" for a in agent],
        "team": [f"T{a // 30:05d}" for a in agent],
        "period": [f"2025-{m:02d}" for m in month],
        "sales": [f"{v:.2f}" for v in sales],
        "sales_target": target.astype(str),
        "inquiries": inq.astype(str),
        "buyers": buyers.astype(str),
        "received": received.astype(str),
        "replied": replied.astype(str),
        "response_s": [f"{v:.1f}" for v in rng.choice([30.0, 45.0, 55.0], idx.size)
                       * (rng.random(idx.size) < 0.05) + rng.uniform(10, 70, idx.size)
                       * (rng.random(idx.size) >= 0.05)],
        "followup_amount": [f"{v:.2f}" for v in rng.uniform(10000, 50000, idx.size)],
        "execution": rng.choice(LEVELS, idx.size),
        "satisfaction": [f"{v:.4f}" for v in rng.uniform(0.85, 1.0, idx.size)],
        "bad_reviews": (rng.random(idx.size) < 0.03).astype(int).astype(str),
        "full_attendance": (rng.random(idx.size) < 0.8).astype(int).astype(str),
        "silent_sales": [f"{v:.2f}" for v in rng.uniform(5000, 30000, idx.size)],
    })


# -- kaohe -------------------------------------------------------------------------------------
def run_kaohe(frame: pl.DataFrame) -> tuple[float, float, pl.DataFrame]:
    from kaohe.engine.run import run
    from kaohe.engine.score import plan_for
    from kaohe.ingest.table import prepare
    from kaohe.presets import load_preset

    scheme = load_preset("taobao-presales")
    plan_for(scheme)
    t0 = time.perf_counter()
    table = prepare(frame, scheme, "bench")
    t1 = time.perf_counter()
    out = run(plan_for(scheme), table.frame)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, out.frame


# -- (a) per-row pure Python ---------------------------------------------------------------------
Q = Decimal("0.01")


def _band(v: Decimal, edges: list[tuple[Decimal, int]], low: int = 0) -> int:
    for edge, score in edges:
        if v >= edge:
            return score
    return low


def _ratio_band(num: Decimal, den: Decimal, edges: list[tuple[Decimal, int]]) -> int:
    if den == 0:
        return 0
    for edge, score in edges:
        if num >= edge * den:
            return score
    return 0


COMPLETION = [(Decimal(x) / 100, s) for x, s in [(100, 100), (90, 85), (80, 70), (70, 55),
                                                  (60, 40), (50, 25), (40, 10)]]
CONVERSION = [(Decimal("0.5"), 100), (Decimal("0.45"), 80), (Decimal("0.4"), 60)]
AOV = [(Decimal(250), 100), (Decimal(230), 80), (Decimal(210), 60)]
REPLY = [(Decimal("0.98"), 100), (Decimal("0.95"), 80), (Decimal("0.92"), 60)]
FOLLOW = [(Decimal(40000), 100), (Decimal(30000), 80), (Decimal(20000), 60)]
SATIS = [(Decimal("0.98"), 100), (Decimal("0.95"), 90), (Decimal("0.90"), 60)]
EXEC = {"非常满意": 100, "比较满意": 80, "一般": 60, "不满意": 0}


def python_scorer(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        d = {k: Decimal(r[k]) for k in COLS if k != "execution"}
        resp = d["response_s"]
        response = 100 if resp <= 30 else 80 if resp <= 45 else 60 if resp <= 55 else 0
        pts = [
            Decimal(_ratio_band(d["sales"], d["sales_target"], COMPLETION)) * Decimal("0.3"),
            Decimal(_ratio_band(d["buyers"], d["inquiries"], CONVERSION)) * Decimal("0.2"),
            Decimal(_ratio_band(d["sales"], d["buyers"], AOV)) * Decimal("0.1"),
            Decimal(_ratio_band(d["replied"], d["received"], REPLY)) * Decimal("0.1"),
            Decimal(response) * Decimal("0.05"),
            Decimal(_band(d["followup_amount"], FOLLOW)) * Decimal("0.05"),
            Decimal(EXEC[r["execution"]]) * Decimal("0.1"),
            Decimal(_band(d["satisfaction"], SATIS)) * Decimal("0.1"),
        ]
        total = sum((p.quantize(Q, ROUND_HALF_UP) for p in pts), Decimal(0))
        total = max(total - 50 * d["bad_reviews"], Decimal(0))
        grade = "高级" if total >= 90 else "中级" if total >= 80 else "初级" if total >= 70 else "不合格"
        out.append({"employee": r["employee"], "team": r["team"], "period": r["period"],
                    "total": total, "grade": grade, "sales": d["sales"],
                    "silent": d["silent_sales"], "full": d["full_attendance"]})
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for o in out:
        groups.setdefault((o["period"], o["team"]), []).append(o)
    for members in groups.values():
        members.sort(key=lambda o: (-o["total"], -o["sales"], o["employee"]))
        pool = sum((m["silent"] for m in members), Decimal(0)) * Decimal("0.006")
        n = len(members)
        for i, m in enumerate(members, start=1):
            share = (pool * Decimal("0.4") + 200 if i == 1 else
                     pool * Decimal("0.3") + 100 if i == 2 else
                     pool * Decimal("0.3") / (n - 2))
            bonus = 400 if m["grade"] == "高级" else 200 if m["grade"] == "中级" else 0
            lines = [Decimal(1280), Decimal(bonus), Decimal(150),
                     Decimal(100) if m["full"] == 1 else Decimal(0),
                     share.quantize(Q, ROUND_HALF_UP)]
            m["pay_total"] = sum(lines, Decimal(0))
            m["rank"] = i
    return out


# -- (b) hand-written Polars -------------------------------------------------------------------
DEC = pl.Decimal(38, 10)


def lit(x: Any) -> pl.Expr:
    return pl.lit(Decimal(str(x)), dtype=DEC)


def hand_polars(frame: pl.DataFrame) -> pl.DataFrame:
    c = pl.col
    num = [k for k in COLS if k not in ("execution", "satisfaction")]
    df = frame.lazy().with_columns(
        [c(k).cast(DEC) for k in num] + [c("satisfaction").cast(DEC)])

    def ratio(nu: str, de: str, edges: list[tuple[Decimal, int]]) -> pl.Expr:
        e: pl.Expr = lit(0)
        for edge, score in reversed(edges):
            e = pl.when(c(nu) >= lit(edge) * c(de)).then(lit(score)).otherwise(e)
        return pl.when(c(de) == lit(0)).then(lit(0)).otherwise(e)

    def band(v: str, edges: list[tuple[Decimal, int]]) -> pl.Expr:
        e: pl.Expr = lit(0)
        for edge, score in reversed(edges):
            e = pl.when(c(v) >= lit(edge)).then(lit(score)).otherwise(e)
        return e

    def r2(e: pl.Expr) -> pl.Expr:
        return ((e * lit(100)) + lit("0.5")).floor() / lit(100)

    resp = (pl.when(c("response_s") <= lit(30)).then(lit(100))
            .when(c("response_s") <= lit(45)).then(lit(80))
            .when(c("response_s") <= lit(55)).then(lit(60)).otherwise(lit(0)))
    exec_pts = (pl.when(c("execution") == "非常满意").then(lit(100))
                .when(c("execution") == "比较满意").then(lit(80))
                .when(c("execution") == "一般").then(lit(60)).otherwise(lit(0)))
    parts = [r2(ratio("sales", "sales_target", COMPLETION) * lit("0.3")),
             r2(ratio("buyers", "inquiries", CONVERSION) * lit("0.2")),
             r2(ratio("sales", "buyers", AOV) * lit("0.1")),
             r2(ratio("replied", "received", REPLY) * lit("0.1")),
             r2(resp * lit("0.05")), r2(band("followup_amount", FOLLOW) * lit("0.05")),
             r2(exec_pts * lit("0.1")), r2(band("satisfaction", SATIS) * lit("0.1"))]
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    total = pl.max_horizontal(total - lit(50) * c("bad_reviews"), lit(0))
    df = df.with_columns(total.alias("total"))
    df = df.with_columns(
        pl.when(c("total") >= lit(90)).then(pl.lit("高级")).when(c("total") >= lit(80))
        .then(pl.lit("中级")).when(c("total") >= lit(70)).then(pl.lit("初级"))
        .otherwise(pl.lit("不合格")).alias("grade"),
        pl.struct((-c("total")).alias("a"), (-c("sales")).alias("b"), c("employee"))
        .rank("ordinal").over(["period", "team"]).alias("rank"),
        (c("silent_sales").sum().over(["period", "team"]) * lit("0.006")).alias("pool"),
        pl.len().over(["period", "team"]).cast(DEC).alias("n"),
    )
    share = (pl.when(c("rank") == 1).then(c("pool") * lit("0.4") + lit(200))
             .when(c("rank") == 2).then(c("pool") * lit("0.3") + lit(100))
             .otherwise(c("pool") * lit("0.3") / pl.max_horizontal(c("n") - lit(2), lit(1))))
    bonus = (pl.when(c("grade") == "高级").then(lit(400)).when(c("grade") == "中级")
             .then(lit(200)).otherwise(lit(0)))
    pay = (lit(1280) + bonus + lit(150) + pl.when(c("full_attendance") == lit(1)).then(lit(100))
           .otherwise(lit(0)) + r2(share))
    return df.with_columns(pay.alias("pay_total")).select(
        "employee", "period", "total", "grade", "rank", "pay_total").collect()


# -- driver --------------------------------------------------------------------------------------
def child(n: int) -> None:
    """Run kaohe alone at size n in this process and report timings and peak RSS."""
    frame = generate(n)
    best = None
    for _ in range(1 if n > 100_000 else 3):
        prep, runt, _ = run_kaohe(frame)
        if best is None or prep + runt < best[0] + best[1]:
            best = (prep, runt)
    assert best is not None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"prepare": best[0], "run": best[1], "rss_mib": rss}))


def timed(fn: Any, *args: Any, repeat: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t)
    return best, out


def check_agreement(frame: pl.DataFrame) -> None:
    sample = frame.head(2000)
    # whole teams: the pool depends on every member
    _, _, k = run_kaohe(sample)
    py = {(o["period"], o["employee"]): o for o in python_scorer(sample.to_dicts())}
    hp = {(r["period"], r["employee"]): r for r in hand_polars(sample).to_dicts()}
    bad = 0
    for r in k.select("period", "employee", "total", "grade", "pay_total").to_dicts():
        key = (r["period"], r["employee"])
        a, b = py[key], hp[key]
        if not (r["total"] == a["total"] == b["total"] and r["grade"] == a["grade"] == b["grade"]
                and r["pay_total"] == a["pay_total"] == b["pay_total"]):
            bad += 1
            if bad < 5:
                print("disagree", key, r, a["total"], a["pay_total"], b["total"], b["pay_total"])
    if bad:
        raise SystemExit(f"{bad} rows disagree between kaohe and the baselines")
    print("agreement: kaohe, per-row Python and hand-written Polars agree on 2000 rows")


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(int(sys.argv[2]))
        return 0
    sizes = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else
                              "10000,100000,1000000").split(",")]
    check_agreement(generate(2400))
    print(f"{'rows':>10} {'prepare s':>10} {'run s':>8} {'rows/s run':>12} {'rows/s all':>11} "
          f"{'peak MiB':>9} {'(a) s':>9} {'vs (a)':>8} {'(b) s':>7} {'run/(b)':>8}")
    ok = True
    met = {"vs_a": True, "vs_b": True, "memory": True}
    for n in sizes:
        res = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True,
                             text=True, check=True)
        k = json.loads(res.stdout.strip().splitlines()[-1])
        frame = generate(n)
        sample_n = min(n, 100_000)
        rows = frame.head(sample_n).to_dicts()
        a_time, _ = timed(python_scorer, rows, repeat=1)
        a_time *= n / sample_n
        b_time, _ = timed(hand_polars, frame, repeat=1 if n > 100_000 else 3)
        total = k["prepare"] + k["run"]
        speedup = a_time / total
        ratio_b = k["run"] / b_time
        met["vs_a"] &= speedup >= 50
        met["vs_b"] &= ratio_b <= 2
        met["memory"] &= k["rss_mib"] < 4096
        ok &= all(met.values())
        extrap = "*" if n > sample_n else " "
        print(f"{n:>10,} {k['prepare']:>10.3f} {k['run']:>8.3f} {n / k['run']:>12,.0f} "
              f"{n / total:>11,.0f} {k['rss_mib']:>9.0f} {a_time:>8.1f}{extrap} "
              f"{speedup:>7.0f}× {b_time:>7.3f} {ratio_b:>7.2f}×")
    print("(* extrapolated from a 100k-row sample)")
    def verdict(flag: bool) -> str:
        return "PASS" if flag else "FAIL"

    print(f"targets: ≥50× faster than (a), prepare+run: {verdict(met['vs_a'])}; "
          f"run within 2× of (b): {verdict(met['vs_b'])}; peak < 4 GiB: "
          f"{verdict(met['memory'])}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
