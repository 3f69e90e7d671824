"""Realistic raw logs for tests, demos and the benchmark (seeded, vectorised with NumPy).

Buyers write to agents on random days of a month; each conversation has a few rounds with
reply delays drawn around a minute (some exactly 120 s or 180 s, some never answered),
automatic greetings, the odd ad, and orders placed and paid around the replies — some
paid late, some never, some by buyers coming back within the after-sales window.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl


def generate(messages: int = 20_000, agents: int = 20, month: str = "2026-10", seed: int = 7,
             shops: int = 2) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    y, m = (int(x) for x in month.split("-"))
    start = int(dt.datetime(y, m, 1).replace(tzinfo=dt.UTC).timestamp())
    days = (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.date(y, m, 1)).days
    per_conv = 8  # about 8 messages per conversation
    n_conv = max(1, messages // per_conv)
    conv_agent = rng.integers(0, agents, n_conv)
    conv_shop = conv_agent % shops
    conv_buyer = rng.integers(0, max(2, n_conv // 3), n_conv)
    conv_start = start + rng.integers(0, days, n_conv) * 86400 + rng.integers(7 * 3600,
                                                                              24 * 3600, n_conv)
    rounds = rng.integers(1, 5, n_conv)
    rows_conv, rows_t, rows_dir, rows_auto, rows_text = [], [], [], [], []
    delay_pool = np.array([5, 20, 45, 60, 90, 120, 121, 180, 181, 300, 700])
    for c in range(n_conv):
        t = int(conv_start[c])
        for r in range(int(rounds[c])):
            rows_conv.append(c)
            rows_t.append(t)
            rows_dir.append("in")
            rows_auto.append(0)
            rows_text.append("加微信领红包" if rng.random() < 0.01 else "在吗")
            if r == 0 and rng.random() < 0.5:
                rows_conv.append(c)
                rows_t.append(t + 2)
                rows_dir.append("out")
                rows_auto.append(1)
                rows_text.append("您好，欢迎光临")
            if rng.random() < 0.93:
                d = int(rng.choice(delay_pool))
                rows_conv.append(c)
                rows_t.append(t + d)
                rows_dir.append("out")
                rows_auto.append(0)
                rows_text.append("亲，在的")
                t += d
            t += int(rng.choice([30, 60, 300, 599, 600, 1800]))
    conv = np.array(rows_conv)
    msgs = pl.DataFrame({
        "shop": [f"S{s}" for s in conv_shop[conv]],
        "agent": [f"kf{a:04d}" for a in conv_agent[conv]],
        "buyer": [f"b{b:06d}" for b in conv_buyer[conv]],
        "ts": _fmt(np.array(rows_t)),
        "direction": rows_dir,
        "auto": [str(a) for a in rows_auto],
        "text": rows_text,
    })
    n_orders = n_conv // 2
    pick = rng.choice(n_conv, n_orders, replace=False)
    created = conv_start[pick] + rng.integers(-3600, 2 * 86400, n_orders)
    paid = created + rng.integers(0, 5 * 86400, n_orders)
    unpaid = rng.random(n_orders) < 0.15
    orders = pl.DataFrame({
        "order_id": [f"o{i:08d}" for i in range(n_orders)],
        "shop": [f"S{s}" for s in conv_shop[pick]],
        "buyer": [f"b{b:06d}" for b in conv_buyer[pick]],
        "created": _fmt(created),
        "paid": [None if u else p for u, p in zip(unpaid, _fmt(paid), strict=True)],
        "amount": [f"{v:.2f}" for v in rng.uniform(9.9, 599, n_orders)],
    })
    return msgs, orders


def _fmt(seconds: np.ndarray) -> list[str]:
    return (pl.Series(seconds * 1_000_000).cast(pl.Datetime("us"))
            .dt.strftime("%Y-%m-%d %H:%M:%S").to_list())


def write(folder: Path, messages: pl.DataFrame, orders: pl.DataFrame, *,
          parquet: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if parquet:
        messages.write_parquet(folder / "messages.parquet")
        orders.write_parquet(folder / "orders.parquet")
    else:
        messages.write_csv(folder / "messages.csv")
        orders.write_csv(folder / "orders.csv")
    return folder
