"""Write a logs folder from rows and compute its metrics."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from kaohe.metrics.compute import Metrics, compute
from kaohe.metrics.rules import Rules

MSG = ["shop", "agent", "buyer", "ts", "direction", "auto", "text"]
ORD = ["order_id", "shop", "buyer", "created", "paid", "amount"]


def logs(tmp: Path, messages: list[tuple[Any, ...]], orders: list[tuple[Any, ...]] = ()
         ) -> Path:  # type: ignore[assignment]
    folder = tmp / "logs"
    folder.mkdir(exist_ok=True)
    for name, header, rows in (("messages", MSG, messages), ("orders", ORD, orders)):
        with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for r in rows:
                w.writerow(list(r) + [""] * (len(header) - len(r)))
    return folder


def run(tmp: Path, messages: list[tuple[Any, ...]], orders: list[tuple[Any, ...]] = (),
        **rules: Any) -> Metrics:  # type: ignore[assignment]
    return compute(logs(tmp, messages, orders), Rules(**rules))


def one(metrics: Metrics, agent: str = "a1", period: str = "2026-10") -> dict[str, Any]:
    return next(r for r in metrics.rows if r["employee"] == agent and r["period"] == period)
