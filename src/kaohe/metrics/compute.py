"""Run the pipeline on a backend and finish the numbers exactly (metrics.md §7)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl

from kaohe.metrics import pipeline
from kaohe.metrics.engine import close, connect, drop, engine_errors, materialise
from kaohe.metrics.logs import Logs, read_logs
from kaohe.metrics.rules import Rules

OUTPUT_COLUMNS = ["employee", "period", "consulted", "received", "inquiries", "replied",
                  "buyers", "sales", "conversion", "aov", "response_s", "first_response_s",
                  "fast_reply_rate", "slow_receptions", "slow_rate"]
EPOCH = dt.date(1970, 1, 1)
STAGES = ("read", "sessions", "attribution", "roll-up")


@dataclass(frozen=True)
class Metrics:
    rows: list[dict[str, Any]]  # exact values: int, Decimal or None
    warnings: list[str]
    stats: dict[str, int] = field(default_factory=dict)  # messages, sessions, agents, …


Progress = Callable[[str, str], None]  # (stage, event: "start" | "done")


def compute(folder: str | Path, rules: Rules, *, periods: list[str] | None = None,
            backend: str = "duckdb", con: Any = None, memory_limit: str | None = None,
            temp_dir: str | Path | None = None, progress: Progress | None = None) -> Metrics:
    """The metrics of a logs folder, read and computed by the engine (docs/metrics.md)."""
    own = con is None
    if own:
        con = connect(backend, memory_limit=memory_limit, temp_dir=temp_dir)
    try:
        with engine_errors(str(folder)):
            return compute_on(con, str(folder), rules, periods=periods, progress=progress)
    finally:
        if own:
            close(con)


def compute_on(con: Any, folder: str, rules: Rules, *, periods: list[str] | None = None,
               progress: Progress | None = None) -> Metrics:
    def stage(name: str, event: str) -> None:
        if progress is not None:
            progress(name, event)

    stage("read", "start")
    logs = read_logs(con, folder, rules)
    stage("read", "done")
    try:
        return _run(con, logs, rules, periods, stage)
    finally:
        logs.release(con)


def _run(con: Any, logs: Logs, rules: Rules, periods: list[str] | None,
         stage: Progress) -> Metrics:
    stage("sessions", "start")
    rounds = materialise(con, pipeline.round_facts(logs, rules), "rounds")
    try:
        bd = materialise(con, pipeline.buyer_days(logs, rounds, rules), "buyer_days")
    finally:
        drop(con, rounds)
    stage("sessions", "done")
    try:
        stage("attribution", "start")
        sales = _fetch(con, pipeline.sales_facts(logs, bd, rules))
        stage("attribution", "done")
        stage("roll-up", "start")
        daily = _fetch(con, pipeline.daily_facts(bd))
    finally:
        drop(con, bd)
    agents = _fetch(con, logs.agents)
    result = finish(daily, sales, agents, periods)
    stage("roll-up", "done")
    result.stats.update(messages=logs.counts["messages"],
                        sessions=int(daily["sessions"].sum() or 0),
                        agents=agents.height, buyer_days=int(daily["consulted"].sum() or 0))
    return result


def _fetch(con: Any, t: Any) -> pl.DataFrame:
    return pl.from_arrow(con.to_pyarrow(t))  # type: ignore[return-value]


def finish(daily: pl.DataFrame, sales: pl.DataFrame, agents: pl.DataFrame,
           periods: list[str] | None) -> Metrics:
    """Agent-days summed to months, ratios and means rounded half-up once (§7)."""
    key = ["agent", "period"]

    def monthly(f: pl.DataFrame) -> pl.DataFrame:
        f = f.join(agents, on="aid").with_columns(
            (pl.lit(EPOCH) + pl.duration(days=pl.col("day"))).dt.strftime("%Y-%m")
            .alias("period"))
        sums = [pl.col(c).sum() for c in f.columns if c not in ("aid", "agent", "day", "period")]
        return f.group_by(key).agg(sums)

    base = monthly(daily).join(monthly(sales), on=key, how="left")
    if periods:
        base = base.filter(pl.col("period").is_in(periods))
    base = base.filter(pl.col("consulted") > 0).sort(key)
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    for r in base.to_dicts():
        rows.append(_month_row(r, warnings))
    rows.sort(key=lambda x: (x["employee"], x["period"]))
    return Metrics(rows, warnings, {})


def _int(r: dict[str, Any], name: str) -> int:
    v = r.get(name)
    return int(v) if v is not None else 0


def _ratio(num: Decimal | int, den: int, places: int, what: str, where: str,
           warnings: list[str]) -> Decimal | None:
    if den == 0:
        warnings.append(f"{where}: {what} is empty (denominator 0)")
        return None
    q = Decimal(1).scaleb(-places)
    return (Decimal(num) / Decimal(den)).quantize(q, rounding=ROUND_HALF_UP)


def _month_row(r: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """One agent-month: exact counts, then ratios and means rounded half-up once."""
    where = f"{r['period']} {r['agent']}"
    sales = Decimal(r["sales"]) if r.get("sales") is not None else Decimal(0)
    sales = sales.quantize(Decimal("0.01"))
    out: dict[str, Any] = {
        "employee": r["agent"], "period": r["period"], "consulted": _int(r, "consulted"),
        "received": _int(r, "received"), "inquiries": _int(r, "inquiries"),
        "replied": _int(r, "replied"), "buyers": _int(r, "buyers"), "sales": sales,
    }
    out["conversion"] = _ratio(out["buyers"], out["inquiries"], 4, "conversion", where,
                               warnings)
    out["aov"] = _ratio(sales, out["buyers"], 2, "aov", where, warnings)
    out["response_s"] = _ratio(_int(r, "response_sum"), _int(r, "rounds"), 2, "response_s",
                               where, warnings)
    out["first_response_s"] = _ratio(_int(r, "first_sum"), _int(r, "first_rounds"), 2,
                                     "first_response_s", where, warnings)
    out["fast_reply_rate"] = _ratio(_int(r, "fast"), _int(r, "rounds"), 4, "fast_reply_rate",
                                    where, warnings)
    out["slow_receptions"] = _int(r, "slow_receptions")
    out["slow_rate"] = _ratio(out["slow_receptions"], out["received"], 4, "slow_rate", where,
                              warnings)
    return out


def write_csv(metrics: Metrics, path: Path) -> None:
    import csv

    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(OUTPUT_COLUMNS)
        for r in metrics.rows:
            w.writerow(["" if r[c] is None else (format(r[c], "f") if isinstance(r[c], Decimal)
                                                 else r[c]) for c in OUTPUT_COLUMNS])
    tmp.replace(path)
