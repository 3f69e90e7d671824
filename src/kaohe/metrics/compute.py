"""Run the pipeline on a backend and finish the numbers exactly (metrics.md §7)."""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl

from kaohe.metrics.logs import Logs, read_logs
from kaohe.metrics.pipeline import DailyTables, build
from kaohe.metrics.rules import Rules

OUTPUT_COLUMNS = ["employee", "period", "consulted", "received", "inquiries", "replied",
                  "buyers", "sales", "conversion", "aov", "response_s", "first_response_s",
                  "fast_reply_rate", "slow_receptions", "slow_rate"]
EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Metrics:
    rows: list[dict[str, Any]]  # exact values: int, Decimal or None
    warnings: list[str]


def connect(backend: str = "duckdb") -> Any:
    import ibis

    if backend == "duckdb":
        return ibis.duckdb.connect()
    if backend == "pyspark":
        from pyspark.sql import SparkSession

        spark = (SparkSession.builder.master("local[2]").appName("kaohe-metrics")
                 .config("spark.driver.host", "127.0.0.1")
                 .config("spark.driver.bindAddress", "127.0.0.1")
                 .config("spark.sql.session.timeZone", "UTC")
                 .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="kaohe-spark-"))
                 .config("spark.ui.enabled", "false")
                 .config("spark.sql.shuffle.partitions", "4").getOrCreate())
        return ibis.pyspark.connect(spark)
    raise ValueError(f"unknown backend {backend!r}; use duckdb or pyspark")


def compute_logs(logs: Logs, rules: Rules, *, periods: list[str] | None = None,
                 backend: str = "duckdb", con: Any = None) -> Metrics:
    con = con or connect(backend)
    # bound to this connection, so intermediate results are cached there
    if backend == "duckdb" and con.name == "duckdb":
        # zero-copy: DuckDB scans the Arrow buffers in place
        con.con.register("kaohe_messages", logs.messages.to_arrow())
        con.con.register("kaohe_orders", logs.orders.to_arrow())
        m, o = con.table("kaohe_messages"), con.table("kaohe_orders")
    else:
        tag = uuid.uuid4().hex[:12]  # a fresh name per run: the session may be shared
        m = con.create_table(f"kaohe_messages_{tag}", logs.messages.to_arrow(), overwrite=True)
        o = con.create_table(f"kaohe_orders_{tag}", logs.orders.to_arrow(), overwrite=True)
    tables = build(m, o, rules)
    return finish(tables, periods, con)


def compute(folder: str | Path, rules: Rules, *, periods: list[str] | None = None,
            backend: str = "duckdb") -> Metrics:
    return compute_logs(read_logs(folder), rules, periods=periods, backend=backend)


def _fetch(con: Any, t: Any) -> pl.DataFrame:
    return pl.from_arrow(con.to_pyarrow(t))  # type: ignore[return-value]


def finish(tables: DailyTables, periods: list[str] | None, con: Any) -> Metrics:
    frames = {name: _fetch(con, getattr(tables, name))
              for name in ("buyer_days", "rounds", "sessions", "sales")}
    key = ["agent", "period"]

    def monthly(f: pl.DataFrame) -> pl.DataFrame:
        f = f.with_columns(
            (pl.lit(EPOCH) + pl.duration(days=pl.col("day"))).dt.strftime("%Y-%m").alias("period"))
        sums = [pl.col(c).sum() for c in f.columns if c not in ("agent", "day", "period")]
        return f.group_by(key).agg(sums)

    base = monthly(frames["buyer_days"])
    for name in ("rounds", "sessions", "sales"):
        base = base.join(monthly(frames[name]), on=key, how="left")
    if periods:
        base = base.filter(pl.col("period").is_in(periods))
    base = base.filter(pl.col("consulted") > 0).sort(key)
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    for r in base.to_dicts():
        rows.append(_month_row(r, warnings))
    rows.sort(key=lambda x: (x["employee"], x["period"]))
    return Metrics(rows, warnings)


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
