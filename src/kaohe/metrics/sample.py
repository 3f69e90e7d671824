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
             shops: int = 2, tag: str = "") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Logs of about ``messages`` messages; ``tag`` prefixes every shop, agent, buyer and
    order id, so logs generated in parts with different tags do not overlap."""
    rng = np.random.default_rng(seed)
    y, m = (int(x) for x in month.split("-"))
    start = int(dt.datetime(y, m, 1).replace(tzinfo=dt.UTC).timestamp())
    days = (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.date(y, m, 1)).days
    # 1–3 rounds (2 on average) of an `in` and, 93% of the time, a reply; half the
    # conversations open with an automatic greeting: ≈ 4.36 messages per conversation
    n_conv = max(1, round(messages / 4.36))
    conv_agent = rng.integers(0, agents, n_conv)
    conv_shop = conv_agent % shops
    conv_buyer = rng.integers(0, max(2, n_conv // 3), n_conv)
    conv_start = start + rng.integers(0, days, n_conv) * 86400 + rng.integers(7 * 3600,
                                                                              24 * 3600, n_conv)
    n_rounds = rng.integers(1, 4, n_conv)
    conv_of = np.repeat(np.arange(n_conv), n_rounds)  # one entry per round
    first = np.ones(conv_of.size, dtype=bool)
    first[1:] = conv_of[1:] != conv_of[:-1]
    delay = rng.choice(np.array([5, 20, 45, 60, 90, 120, 121, 180, 181, 300, 700]), conv_of.size)
    replied = rng.random(conv_of.size) < 0.93
    gap = rng.choice(np.array([30, 60, 300, 599, 600, 1800]), conv_of.size)
    inc = delay * replied + gap
    csum = np.cumsum(inc)
    group_start = np.maximum.accumulate(np.where(first, np.arange(conv_of.size), 0))
    before = csum - inc - (csum[group_start] - inc[group_start])
    t_in = conv_start[conv_of] + before
    auto = first & (rng.random(conv_of.size) < 0.5)
    ad = rng.random(conv_of.size) < 0.01
    conv = np.concatenate([conv_of, conv_of[auto], conv_of[replied]])
    ts = np.concatenate([t_in, t_in[auto] + 2, (t_in + delay)[replied]])
    n_in, n_auto = conv_of.size, int(auto.sum())
    direction = np.array(["in"] * n_in + ["out"] * (conv.size - n_in))
    is_auto = np.zeros(conv.size, dtype=np.int8)
    is_auto[n_in:n_in + n_auto] = 1
    text = np.full(conv.size, "亲，在的", dtype=object)
    text[:n_in] = np.where(ad, "加微信领红包", "在吗")
    text[n_in:n_in + n_auto] = "您好，欢迎光临"
    order = np.lexsort((np.arange(conv.size), ts))  # a log is written in time order
    conv, ts, direction, is_auto, text = (a[order] for a in (conv, ts, direction, is_auto, text))
    msgs = pl.DataFrame({
        "shop": pl.Series(conv_shop[conv]).cast(pl.String).str.replace(r"^", f"{tag}S"),
        "agent": pl.Series(conv_agent[conv]).cast(pl.String).str.zfill(4).str.replace(r"^", f"{tag}kf"),
        "buyer": pl.Series(conv_buyer[conv]).cast(pl.String).str.zfill(7).str.replace(r"^", f"{tag}b"),
        "ts": _fmt(ts),
        "direction": direction,
        "auto": pl.Series(is_auto).cast(pl.String),
        "text": pl.Series(text, dtype=pl.String),
    })
    n_orders = n_conv // 2
    pick = rng.choice(n_conv, n_orders, replace=False)
    created = conv_start[pick] + rng.integers(-3600, 2 * 86400, n_orders)
    paid = created + rng.integers(0, 5 * 86400, n_orders)
    unpaid = rng.random(n_orders) < 0.15
    orders = pl.DataFrame({
        "order_id": pl.Series(np.arange(n_orders)).cast(pl.String).str.replace(r"^", f"{tag}o"),
        "shop": pl.Series(conv_shop[pick]).cast(pl.String).str.replace(r"^", f"{tag}S"),
        "buyer": pl.Series(conv_buyer[pick]).cast(pl.String).str.zfill(7).str.replace(r"^", f"{tag}b"),
        "created": _fmt(created),
        "paid": pl.select(pl.when(pl.Series(unpaid)).then(None).otherwise(_fmt(paid)))
        .to_series(),
        "amount": pl.Series(np.round(rng.uniform(9.9, 599, n_orders), 2)).cast(pl.Decimal(18, 2))
        .cast(pl.String),
    })
    return msgs, orders


def _fmt(seconds: np.ndarray) -> pl.Series:
    return (pl.Series(seconds.astype(np.int64) * 1_000_000).cast(pl.Datetime("us"))
            .dt.strftime("%Y-%m-%d %H:%M:%S"))


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
