"""The reasons of every line of every row, rendered as columns, on taobao-presales.

    python benchmarks/bench_reasons.py [10000,100000]

For each size N: the engine's `run` (the baseline, in the same run), then
`reason_frame` in Chinese and in English (22 texts per row: indicators, adjustment, total,
grade, rank, pool, pay lines, flags, eligibility, warnings). Reasons are rendered with
Polars string expressions (no Python per row); the figure to watch is reasons/run.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable

from bench_score import generate
from kaohe.engine.explain import reason_frame
from kaohe.engine.run import run
from kaohe.engine.score import plan_for
from kaohe.ingest.table import prepare
from kaohe.presets import load_preset


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    sizes = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "10000,100000").split(",")]
    scheme = load_preset("taobao-presales")
    plan = plan_for(scheme)
    print(f"{'rows':>10}  {'run s':>7}  {'zh s':>7}  {'en s':>7}  {'zh/run':>7}")
    for n in sizes:
        table = prepare(generate(n), scheme, "generated")
        frame = run(plan, table.frame).frame
        t_run = _best(functools.partial(run, plan, table.frame))
        t_zh = _best(functools.partial(reason_frame, plan, frame, "zh"))
        t_en = _best(functools.partial(reason_frame, plan, frame, "en"))
        print(f"{n:>10,}  {t_run:7.3f}  {t_zh:7.3f}  {t_en:7.3f}  {t_zh / t_run:6.1f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
