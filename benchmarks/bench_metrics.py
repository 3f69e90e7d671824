"""The log-metrics pipeline on generated logs, against two baselines in the same run.

    python benchmarks/bench_metrics.py [MESSAGES] [AGENTS]     (default 10000000 1000)

  kaohe  — `kaohe metrics compute` in-process: read + validate the Parquet logs, the Ibis
           pipeline on DuckDB, the exact month roll-up.
  (a)    — the floor: one bare DuckDB scan with a group-by over the same files.
  (b)    — a straightforward pandas implementation of the same metrics (sort, shift,
           cumsum, merges), checked to give kaohe's numbers.
Targets: kaohe within 3× of (a); at least 10× faster than (b). Peak RSS is reported for
kaohe (a child process per measurement).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kaohe.metrics.rules import Rules

DAY = 86400


def pandas_metrics(folder: Path, rules: Rules) -> list[dict[str, Any]]:
    from kaohe.metrics.logs import read_logs

    logs = read_logs(folder)
    m = logs.messages.to_pandas()
    o = logs.orders.to_pandas()
    o["amount"] = o["amount"].astype(object)
    if rules.ad_patterns:
        ad = m["text"].apply(lambda s: any(p in s for p in rules.ad_patterns))
        m = m[~(m["is_in"] & ad)]
    auto = m["auto"] | m["text"].apply(lambda s: any(s.startswith(p)
                                                     for p in rules.auto_prefixes))
    m = m.assign(human=~m["is_in"] & ~auto)
    conv = ["shop", "agent", "buyer"]
    m = m.sort_values([*conv, "t", "seq"])
    prev = m.groupby(conv)["t"].shift()
    m["session"] = (prev.isna() | (m["t"] - prev >= rules.idle_gap_s)).astype(int)
    m["session"] = m.groupby(conv)["session"].cumsum()
    hi = m["human"].astype(int)
    m["segment"] = hi.groupby([m[c] for c in [*conv, "session"]]).cumsum() - hi
    m["t_in"] = m["t"].where(m["is_in"])
    m["t_out"] = m["t"].where(m["human"])
    seg = m.groupby([*conv, "session", "segment"], as_index=False).agg(
        start_t=("t_in", "min"), reply_t=("t_out", "max"))
    r = seg[seg["start_t"].notna()].copy()
    cap = rules.round_cap_s
    r["response"] = np.where(r["reply_t"].isna(), cap,
                             np.minimum(r["reply_t"] - r["start_t"], cap)).astype(np.int64)
    r["day"] = (r["start_t"] // DAY).astype(np.int64)
    tod = r["start_t"] % DAY
    r["counted"] = (tod >= rules.service_start_s) & (tod < rules.service_end_s)
    r["first"] = r.groupby([*conv, "session"])["segment"].rank(method="first") == 1
    rc = r[r["counted"]]
    ins = m[m["is_in"]].assign(day=lambda d: d["t"] // DAY)
    bd = ins.groupby([*conv, "day"], as_index=False).agg(first_in=("t", "min"),
                                                         n_in=("t", "size"))
    outs = m[m["human"]].assign(day=lambda d: d["t"] // DAY)
    oc = outs.groupby([*conv, "day"], as_index=False).agg(n_out=("t", "size"))
    bd = bd.merge(oc, on=[*conv, "day"], how="left").fillna({"n_out": 0})
    n = rules.one_line_filter
    bd["received"] = ~((bd["n_in"] == 1) & (bd["n_out"] >= n)) if n else True
    bd["replied"] = bd["received"] & (bd["n_out"] >= 1)
    j = bd[bd["received"]].merge(o, on=["shop", "buyer"])
    look, valid = rules.after_sales_days * DAY, rules.validity_hours * 3600
    j["pb"] = j["is_paid"] & (j["paid_t"] >= j["first_in"] - look) & (j["paid_t"] < j["first_in"])
    j["oa"] = (j["created_t"] >= j["first_in"]) & (j["created_t"] < j["first_in"] + valid)
    fl = j.groupby([*conv, "day"], as_index=False).agg(pb=("pb", "any"), oa=("oa", "any"))
    bd = bd.merge(fl, on=[*conv, "day"], how="left").fillna({"pb": False, "oa": False})
    bd["inquiry"] = bd["received"] & ~(bd["pb"].astype(bool) & ~bd["oa"].astype(bool))
    slow = rc[rc["response"] > rules.slow_reply_s].groupby([*conv, "day"]).size().rename("ns")
    bd = bd.merge(slow, on=[*conv, "day"], how="left").fillna({"ns": 0})
    bd["slow"] = bd["received"] & (bd["ns"] >= rules.slow_rounds_per_day)
    inq = bd[bd["inquiry"]][[*conv, "day"]]
    rep = outs.merge(inq, on=[*conv, "day"])[[*conv, "day", "t"]].rename(columns={"t": "rt"})
    deadline = (o["created_t"] // DAY + rules.final_payment_days + 1) * DAY
    o["fp"] = o["is_paid"] & (o["paid_t"] < deadline)

    def attribute(orders: pd.DataFrame, at: str) -> pd.DataFrame:
        if at == "paid_t":
            orders = orders[orders["is_paid"]]
        c = orders.merge(rep, on=["shop", "buyer"])
        c = c[(c["rt"] <= c[at]) & (c[at] - c["rt"] <= valid)]
        best = c.groupby(["order_id", "shop", "buyer", "agent", "day"], as_index=False).agg(
            contact=("rt", "max"))
        best = best.sort_values(["order_id", "contact", "agent", "day"],
                                ascending=[True, False, True, True])
        return best.drop_duplicates("order_id")[["order_id", "shop", "buyer", "agent", "day"]]

    if rules.attribution == "payment":
        att = attribute(o, "paid_t")
    else:
        att = attribute(o, "created_t")
        if rules.attribution == "order_first":
            att = pd.concat([att, attribute(o[~o["order_id"].isin(att["order_id"])], "paid_t")])
    po = att.merge(o[["order_id", "amount", "fp"]], on="order_id")
    po = po[po["fp"]]
    month = {}

    def mon(day: int) -> str:
        if day not in month:
            month[day] = str(pd.Timestamp(int(day) * DAY, unit="s"))[:7]
        return month[day]

    out: dict[tuple[str, str], dict[str, Any]] = {}

    def acc(agent: str, day: int) -> dict[str, Any]:
        return out.setdefault((agent, mon(day)), {"consulted": 0, "received": 0,
                                                  "inquiries": 0, "replied": 0, "slow": 0,
                                                  "rounds": 0, "rsum": 0, "fast": 0,
                                                  "first": 0, "fsum": 0, "buyers": 0,
                                                  "sales": Decimal(0)})

    for row in bd.groupby(["agent", "day"]).agg(c=("n_in", "size"), r=("received", "sum"),
                                                i=("inquiry", "sum"), p=("replied", "sum"),
                                                s=("slow", "sum")).itertuples():
        a = acc(row.Index[0], row.Index[1])
        a["consulted"] += row.c
        a["received"] += row.r
        a["inquiries"] += row.i
        a["replied"] += row.p
        a["slow"] += row.s
    for row in rc.groupby(["agent", "day"]).agg(n=("response", "size"), s=("response", "sum"),
                                                f=("response", lambda x: (
                                                    x <= rules.fast_reply_s).sum())).itertuples():
        a = acc(row.Index[0], row.Index[1])
        a["rounds"] += row.n
        a["rsum"] += row.s
        a["fast"] += row.f
    for row in rc[rc["first"]].groupby(["agent", "day"]).agg(
            n=("response", "size"), s=("response", "sum")).itertuples():
        a = acc(row.Index[0], row.Index[1])
        a["first"] += row.n
        a["fsum"] += row.s
    for row in po.drop_duplicates([*conv, "day"]).groupby(["agent", "day"]).size().items():
        acc(row[0][0], row[0][1])["buyers"] += row[1]
    for (agent, day), amounts in po.groupby(["agent", "day"])["amount"]:
        acc(agent, day)["sales"] += sum(amounts, Decimal(0))

    def q(num: Any, den: int, places: int) -> Decimal | None:
        if den == 0:
            return None
        return (Decimal(int(num) if not isinstance(num, Decimal) else num) / Decimal(den)
                ).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)

    rows = []
    for (agent, period), a in sorted(out.items()):
        sales = a["sales"].quantize(Decimal("0.01"))
        rows.append({"employee": agent, "period": period, "consulted": int(a["consulted"]),
                     "received": int(a["received"]), "inquiries": int(a["inquiries"]),
                     "replied": int(a["replied"]), "buyers": int(a["buyers"]), "sales": sales,
                     "conversion": q(a["buyers"], int(a["inquiries"]), 4),
                     "aov": q(sales, int(a["buyers"]), 2),
                     "response_s": q(a["rsum"], int(a["rounds"]), 2),
                     "first_response_s": q(a["fsum"], int(a["first"]), 2),
                     "fast_reply_rate": q(a["fast"], int(a["rounds"]), 4),
                     "slow_receptions": int(a["slow"]),
                     "slow_rate": q(a["slow"], int(a["received"]), 4)})
    return rows


RULES = Rules(auto_prefixes=("您好",), ad_patterns=("加微信",), one_line_filter=2)


def child(kind: str, folder: str) -> None:
    t = time.perf_counter()
    if kind == "kaohe":
        from kaohe.metrics.compute import compute

        compute(folder, RULES)
    elif kind == "floor":
        import duckdb

        duckdb.sql(f"SELECT agent, count(*), min(ts), max(ts), sum(CASE WHEN direction = 'in' "
                   f"THEN 1 ELSE 0 END) FROM '{folder}/messages.parquet' GROUP BY agent").fetchall()
        duckdb.sql(f"SELECT shop, count(*), sum(CAST(amount AS DECIMAL(18,2))) FROM "
                   f"'{folder}/orders.parquet' GROUP BY shop").fetchall()
    else:
        pandas_metrics(Path(folder), RULES)
    secs = time.perf_counter() - t
    print(json.dumps({"s": secs,
                      "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def measure(kind: str, folder: Path) -> dict[str, float]:
    res = subprocess.run([sys.executable, __file__, "--child", kind, str(folder)],
                         capture_output=True, text=True, check=True)
    out: dict[str, float] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def main() -> int:
    if len(sys.argv) > 3 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return 0
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    agents = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    from kaohe.metrics.compute import compute
    from kaohe.metrics.sample import generate, write

    with tempfile.TemporaryDirectory() as tmp:
        small = write(Path(tmp) / "check", *generate(60_000, agents=30, seed=3), parquet=True)
        if compute(small, RULES).rows != pandas_metrics(small, RULES):
            print("kaohe and the pandas baseline disagree")
            return 1
        print("agreement: kaohe and the pandas implementation give the same numbers")
        t = time.perf_counter()
        msgs, orders = generate(n, agents=agents, seed=1)
        folder = write(Path(tmp) / "logs", msgs, orders, parquet=True)
        print(f"generated {msgs.height:,} messages and {orders.height:,} orders for {agents:,} "
              f"agents in {time.perf_counter() - t:.1f} s")
        del msgs, orders
        k, a, b = (measure(kind, folder) for kind in ("kaohe", "floor", "pandas"))
    ok_a, ok_b = k["s"] <= 3 * a["s"], b["s"] >= 10 * k["s"]
    print(f"  kaohe   {k['s']:8.2f} s   peak {k['rss']:7.0f} MiB")
    print(f"  (a) bare DuckDB scan + group-by {a['s']:8.2f} s   kaohe / (a) = "
          f"{k['s'] / a['s']:.1f}×  (target ≤ 3×: {'PASS' if ok_a else 'FAIL'})")
    print(f"  (b) pandas  {b['s']:8.2f} s   peak {b['rss']:7.0f} MiB   (b) / kaohe = "
          f"{b['s'] / k['s']:.1f}×  (target ≥ 10×: {'PASS' if ok_b else 'FAIL'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
