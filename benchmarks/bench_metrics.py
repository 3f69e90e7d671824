"""`kaohe metrics compute` on generated logs, against a hand-written floor in the same run.

    python benchmarks/bench_metrics.py [SIZES] [--runs N] [--memory-limit X] [--pandas-up-to N]

SIZES: comma-separated message counts (default 2000000,10000000; add 100000000 for a big
centre's month). Logs are generated in parts of at most 10M messages (1 000 agents per
10M), written as folders of Parquet files (``messages/part-00.parquet`` …), as a folder of
daily exports would be. For each size, each implementation runs as its own process:

  kaohe  — ``python -m kaohe metrics compute --logs DIR -o out.csv`` (default memory limit
           unless --memory-limit);
  floor  — the same metrics as hand-written DuckDB SQL (no validation, no Ibis, the known
           input format, DuckDB's default settings): :func:`floor_sql`;
  pandas — a straightforward pandas implementation (sort, shift, cumsum, merges), only up
           to --pandas-up-to messages (default 2M), for reference.

Every implementation's CSV must equal kaohe's, cell for cell, or the script exits 1.
Time is wall-clock seconds and CPU seconds (user + system over all threads; the fairer
figure on a shared machine), medians of --runs; peak memory is the largest sum of RSS over
the process and its children, polled every 20 ms. Targets: kaohe ≤ 1.5× the floor at
10M messages; peak < 6 GiB at 100M; peak flat in the message count.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

RULES_YAML = "auto_prefixes: ['您好']\nad_patterns: ['加微信']\none_line_filter: 2\n"
COLUMNS = ["employee", "period", "consulted", "received", "inquiries", "replied", "buyers",
           "sales", "conversion", "aov", "response_s", "first_response_s", "fast_reply_rate",
           "slow_receptions", "slow_rate"]
PART = 10_000_000
DAY = 86400


# --- generated logs -------------------------------------------------------------------

def make_logs(folder: Path, n: int) -> Path:
    from kaohe.metrics.sample import generate

    (folder / "messages").mkdir(parents=True)
    (folder / "orders").mkdir()
    parts = max(1, -(-n // PART))
    for i in range(parts):
        size = min(PART, n - i * PART)
        msgs, orders = generate(size, agents=max(4, size // 10_000), seed=1 + i,
                                tag=f"p{i:02d}")
        msgs.write_parquet(folder / "messages" / f"part-{i:02d}.parquet")
        orders.write_parquet(folder / "orders" / f"part-{i:02d}.parquet")
        del msgs, orders
    return folder


# --- the floor: hand-written DuckDB SQL --------------------------------------------------

def _like_any(col: str, patterns: list[str], *, prefix: bool) -> str:
    if not patterns:
        return "FALSE"
    esc = ["'" + p.replace("'", "''") + "'" for p in patterns]
    f = "starts_with" if prefix else "contains"
    return "(" + " OR ".join(f"{f}({col}, {e})" for e in esc) + ")"


def floor_sql(folder: Path, out: Path) -> None:
    import duckdb
    import yaml

    r: dict[str, Any] = {"idle_gap_s": 600, "service_hours": ["08:00", "23:00"],
                         "round_cap_s": 600, "slow_reply_s": 120, "slow_rounds_per_day": 3,
                         "fast_reply_s": 180, "auto_prefixes": [], "ad_patterns": [],
                         "one_line_filter": 0, "after_sales_days": 21,
                         "validity_hours": 24, "final_payment_days": 3}
    r.update(yaml.safe_load(RULES_YAML))
    h0, h1 = (int(x[:2]) * 3600 + int(x[3:]) * 60 for x in r["service_hours"])
    ad = _like_any("text", r["ad_patterns"], prefix=False)
    auto = _like_any("text", r["auto_prefixes"], prefix=True)
    n = r["one_line_filter"]
    db = duckdb.connect()
    x = db.execute
    x(f"""CREATE TEMP TABLE raw AS
        SELECT shop, agent, buyer, CAST(epoch(CAST(ts AS TIMESTAMP)) AS BIGINT) AS t,
               ROW_NUMBER() OVER () AS rn,
               CASE WHEN direction = 'in' THEN CASE WHEN {ad} THEN 3 ELSE 0 END
                    WHEN auto = '1' OR {auto} THEN 2 ELSE 1 END AS kind
        FROM read_parquet('{folder}/messages/*.parquet')""")
    x("""CREATE TEMP TABLE st AS SELECT *, ROW_NUMBER() OVER () AS sid
         FROM (SELECT DISTINCT shop, agent, buyer FROM raw WHERE kind < 3)""")
    x("""CREATE TEMP TABLE m AS SELECT sid, t, rn, kind FROM raw JOIN st USING (shop, agent, buyer)
         WHERE kind < 3""")
    x("DROP TABLE raw")
    # sessions and segments as running counts; a round per segment with an `in`
    x(f"""CREATE TEMP TABLE rounds AS
        WITH a AS (
          SELECT sid, t, rn, kind,
                 CASE WHEN lag(t) OVER w IS NULL OR t - lag(t) OVER w >= {r['idle_gap_s']}
                      THEN 1 ELSE 0 END AS ns,
                 CASE WHEN lag(kind) OVER w = 1 THEN 1 ELSE 0 END AS ph
          FROM m WINDOW w AS (PARTITION BY sid ORDER BY t, rn)),
        b AS (
          SELECT sid, t, kind, SUM(ns) OVER w AS sess, SUM(GREATEST(ns, ph)) OVER w AS seg
          FROM a WINDOW w AS (PARTITION BY sid ORDER BY t, rn ROWS UNBOUNDED PRECEDING)),
        s AS (
          SELECT sid, sess, seg, MIN(t) FILTER (WHERE kind = 0) AS st,
                 MAX(t) FILTER (WHERE kind = 1) AS rp
          FROM b GROUP BY sid, sess, seg HAVING st IS NOT NULL)
        SELECT sid, st // 86400 AS day,
               CASE WHEN rp IS NULL THEN {r['round_cap_s']}
                    ELSE LEAST(rp - st, {r['round_cap_s']}) END AS resp,
               seg = MIN(seg) OVER (PARTITION BY sid, sess) AS first,
               st % 86400 >= {h0} AND st % 86400 < {h1} AS counted
        FROM s""")
    x(f"""CREATE TEMP TABLE rd AS
        SELECT sid, day, COUNT(*) AS n, SUM(resp) AS rs,
               COUNT(*) FILTER (WHERE resp <= {r['fast_reply_s']}) AS fast,
               COUNT(*) FILTER (WHERE resp > {r['slow_reply_s']}) AS slow,
               COUNT(*) FILTER (WHERE first) AS fn, COALESCE(SUM(resp) FILTER (WHERE first), 0) AS fs
        FROM rounds WHERE counted GROUP BY sid, day""")
    x("DROP TABLE rounds")
    x(f"""CREATE TEMP TABLE o AS
        SELECT order_id, shop, buyer, CAST(epoch(CAST(created AS TIMESTAMP)) AS BIGINT) AS ct,
               CAST(epoch(CAST(NULLIF(paid, '') AS TIMESTAMP)) AS BIGINT) AS pt,
               CAST(amount AS DECIMAL(18, 2)) AS amount
        FROM read_parquet('{folder}/orders/*.parquet')""")
    look, valid = r["after_sales_days"] * DAY, r["validity_hours"] * 3600
    recv = f"NOT (n_in = 1 AND n_out >= {n})" if n > 0 else "TRUE"
    x(f"""CREATE TEMP TABLE bd AS
        WITH d AS (
          SELECT sid, t // 86400 AS day, COUNT(*) FILTER (WHERE kind = 0) AS n_in,
                 MIN(t) FILTER (WHERE kind = 0) AS first_in,
                 COUNT(*) FILTER (WHERE kind = 1) AS n_out
          FROM m GROUP BY ALL HAVING n_in > 0),
        e AS (SELECT d.*, st.shop, st.agent, st.buyer, {recv} AS received FROM d JOIN st USING (sid)),
        f AS (
          SELECT e.sid, e.day,
                 BOOL_OR(o.pt >= e.first_in - {look} AND o.pt < e.first_in) AS pb,
                 BOOL_OR(o.ct >= e.first_in AND o.ct < e.first_in + {valid}) AS oa
          FROM e JOIN o ON o.shop = e.shop AND o.buyer = e.buyer WHERE e.received
          GROUP BY e.sid, e.day)
        SELECT e.*, e.received AND NOT (COALESCE(f.pb, FALSE) AND NOT COALESCE(f.oa, FALSE))
                    AS inquiry,
               COALESCE(rd.n, 0) AS n, COALESCE(rd.rs, 0) AS rs, COALESCE(rd.fast, 0) AS fast,
               COALESCE(rd.slow, 0) AS slow, COALESCE(rd.fn, 0) AS fn, COALESCE(rd.fs, 0) AS fs
        FROM e LEFT JOIN f USING (sid, day) LEFT JOIN rd USING (sid, day)""")
    fd = r["final_payment_days"]
    x(f"""CREATE TEMP TABLE att AS
        WITH rep AS (
          SELECT b.shop, b.buyer, b.agent, b.sid, b.day, m.t AS rt
          FROM m JOIN bd b ON m.sid = b.sid AND m.t // 86400 = b.day
          WHERE m.kind = 1 AND b.inquiry),
        c AS (
          SELECT o.order_id, rep.agent, rep.sid, rep.day, MAX(rep.rt) AS contact
          FROM o JOIN rep ON o.shop = rep.shop AND o.buyer = rep.buyer
          WHERE rep.rt <= o.ct AND o.ct - rep.rt <= {valid}
          GROUP BY ALL),
        best AS (
          SELECT * FROM c QUALIFY ROW_NUMBER() OVER (
            PARTITION BY order_id ORDER BY contact DESC, agent, day) = 1)
        SELECT best.agent, best.sid, best.day, o.amount FROM best JOIN o USING (order_id)
        WHERE o.pt IS NOT NULL AND o.pt < (o.ct // 86400 + {fd} + 1) * 86400""")
    x("DROP TABLE m")
    rows = x(f"""
        WITH a AS (
          SELECT agent, strftime(DATE '1970-01-01' + CAST(day AS INTEGER), '%Y-%m') AS period,
                 COUNT(*) AS consulted, COUNT(*) FILTER (WHERE received) AS received,
                 COUNT(*) FILTER (WHERE inquiry) AS inquiries,
                 COUNT(*) FILTER (WHERE received AND n_out > 0) AS replied,
                 COUNT(*) FILTER (WHERE received AND slow >= {r['slow_rounds_per_day']})
                     AS slow_receptions,
                 SUM(n) AS n, SUM(rs) AS rs, SUM(fast) AS fast, SUM(fn) AS fn, SUM(fs) AS fs
          FROM bd GROUP BY ALL),
        s AS (
          SELECT agent, strftime(DATE '1970-01-01' + CAST(day AS INTEGER), '%Y-%m') AS period,
                 COUNT(DISTINCT (sid, day)) AS buyers, SUM(amount) AS sales
          FROM att GROUP BY ALL)
        SELECT a.*, COALESCE(s.buyers, 0), COALESCE(s.sales, 0)
        FROM a LEFT JOIN s USING (agent, period) ORDER BY agent, period""").fetchall()
    _write_rows(out, [_row(*row) for row in rows])


def _q(num: Any, den: Any, places: int) -> Decimal | None:
    if not den:
        return None
    return (Decimal(num) / Decimal(den)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def _row(agent: str, period: str, consulted: int, received: int, inquiries: int,
         replied: int, slow: int, n: int, rs: int, fast: int, fn: int, fs: int, buyers: int,
         sales: Decimal) -> list[Any]:
    sales = Decimal(sales).quantize(Decimal("0.01"))
    return [agent, period, consulted, received, inquiries, replied, buyers, sales,
            _q(buyers, inquiries, 4), _q(sales, buyers, 2), _q(rs, n, 2), _q(fs, fn, 2),
            _q(fast, n, 4), slow, _q(slow, received, 4)]


def _write_rows(out: Path, rows: list[list[Any]]) -> None:
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for row in sorted(rows, key=lambda x: (x[0], x[1])):
            w.writerow(["" if v is None else format(v, "f") if isinstance(v, Decimal) else v
                        for v in row])


# --- the pandas reference ---------------------------------------------------------------

def pandas_metrics(folder: Path, out: Path) -> None:
    import numpy as np
    import pandas as pd

    def load(stem: str) -> pd.DataFrame:
        return pd.concat([pd.read_parquet(p) for p in sorted((folder / stem).glob("*.parquet"))],
                         ignore_index=True)

    def secs(s: pd.Series) -> pd.Series:
        return (pd.to_datetime(s).astype("datetime64[s]").astype("int64"))

    m = load("messages")
    m = pd.DataFrame({"shop": m["shop"], "agent": m["agent"], "buyer": m["buyer"],
                      "t": secs(m["ts"]), "is_in": m["direction"] == "in",
                      "auto": m["auto"] == "1", "text": m["text"].fillna(""),
                      "seq": np.arange(len(m))})
    o = load("orders")
    paid = pd.to_datetime(o["paid"].replace("", None))
    o = pd.DataFrame({"order_id": o["order_id"], "shop": o["shop"], "buyer": o["buyer"],
                      "created_t": secs(o["created"]),
                      "paid_t": (paid.astype("datetime64[s]").astype("int64")
                                 .where(paid.notna(), 0)),
                      "amount": o["amount"].map(Decimal)})
    o["is_paid"] = paid.notna()
    m = m[~(m["is_in"] & m["text"].str.contains("加微信", regex=False))]
    m = m.assign(human=~m["is_in"] & ~(m["auto"] | m["text"].str.startswith("您好")))
    conv = ["shop", "agent", "buyer"]
    m = m.sort_values([*conv, "t", "seq"])
    prev = m.groupby(conv)["t"].shift()
    m["session"] = (prev.isna() | (m["t"] - prev >= 600)).astype(int)
    m["session"] = m.groupby(conv)["session"].cumsum()
    hi = m["human"].astype(int)
    m["segment"] = hi.groupby([m[c] for c in [*conv, "session"]]).cumsum() - hi
    m["t_in"] = m["t"].where(m["is_in"])
    m["t_out"] = m["t"].where(m["human"])
    seg = m.groupby([*conv, "session", "segment"], as_index=False).agg(
        start_t=("t_in", "min"), reply_t=("t_out", "max"))
    r = seg[seg["start_t"].notna()].copy()
    r["response"] = np.where(r["reply_t"].isna(), 600,
                             np.minimum(r["reply_t"] - r["start_t"], 600)).astype(np.int64)
    r["day"] = (r["start_t"] // DAY).astype(np.int64)
    tod = r["start_t"] % DAY
    r["first"] = r.groupby([*conv, "session"])["segment"].rank(method="first") == 1
    rc = r[(tod >= 8 * 3600) & (tod < 23 * 3600)]
    ins = m[m["is_in"]].assign(day=lambda d: d["t"] // DAY)
    bd = ins.groupby([*conv, "day"], as_index=False).agg(first_in=("t", "min"),
                                                         n_in=("t", "size"))
    outs = m[m["human"]].assign(day=lambda d: d["t"] // DAY)
    oc = outs.groupby([*conv, "day"], as_index=False).agg(n_out=("t", "size"))
    bd = bd.merge(oc, on=[*conv, "day"], how="left").fillna({"n_out": 0})
    bd["received"] = ~((bd["n_in"] == 1) & (bd["n_out"] >= 2))
    bd["replied"] = bd["received"] & (bd["n_out"] >= 1)
    j = bd[bd["received"]].merge(o, on=["shop", "buyer"])
    j["pb"] = j["is_paid"] & (j["paid_t"] >= j["first_in"] - 21 * DAY) & (
        j["paid_t"] < j["first_in"])
    j["oa"] = (j["created_t"] >= j["first_in"]) & (j["created_t"] < j["first_in"] + DAY)
    fl = j.groupby([*conv, "day"], as_index=False).agg(pb=("pb", "any"), oa=("oa", "any"))
    bd = bd.merge(fl, on=[*conv, "day"], how="left").fillna({"pb": False, "oa": False})
    bd["inquiry"] = bd["received"] & ~(bd["pb"].astype(bool) & ~bd["oa"].astype(bool))
    slow = rc[rc["response"] > 120].groupby([*conv, "day"]).size().rename("ns")
    bd = bd.merge(slow, on=[*conv, "day"], how="left").fillna({"ns": 0})
    bd["slow"] = bd["received"] & (bd["ns"] >= 3)
    rep = outs.merge(bd[bd["inquiry"]][[*conv, "day"]], on=[*conv, "day"])
    rep = rep[[*conv, "day", "t"]].rename(columns={"t": "rt"})
    c = o.merge(rep, on=["shop", "buyer"])
    c = c[(c["rt"] <= c["created_t"]) & (c["created_t"] - c["rt"] <= DAY)]
    best = c.groupby(["order_id", "agent", "buyer", "shop", "day"], as_index=False).agg(
        contact=("rt", "max")).sort_values(["order_id", "contact", "agent", "day"],
                                           ascending=[True, False, True, True])
    att = best.drop_duplicates("order_id").merge(o, on=["order_id", "shop", "buyer"])
    deadline = (att["created_t"] // DAY + 4) * DAY
    att = att[att["is_paid"] & (att["paid_t"] < deadline)]

    def month(day: pd.Series) -> pd.Series:
        return pd.to_datetime(day * DAY, unit="s").dt.strftime("%Y-%m")

    for f in (bd, rc, att):
        f["period"] = month(f["day"])
    k = ["agent", "period"]
    a = bd.groupby(k).agg(consulted=("n_in", "size"), received=("received", "sum"),
                          inquiries=("inquiry", "sum"), replied=("replied", "sum"),
                          slow=("slow", "sum"))
    rs = rc.groupby(k).agg(n=("response", "size"), rs=("response", "sum"),
                           fast=("response", lambda v: int((v <= 180).sum())))
    fr = rc[rc["first"]].groupby(k).agg(fn=("response", "size"), fs=("response", "sum"))
    by = att.drop_duplicates([*conv, "day"]).groupby(k).size().rename("buyers")
    sa = att.groupby(k)["amount"].apply(lambda v: sum(v, Decimal(0))).rename("sales")
    t = a.join([rs, fr, by, sa], how="left")
    rows = []
    for (agent, period), v in t.iterrows():
        def i(name: str, v: Any = v) -> int:
            x = v[name]
            return 0 if pd.isna(x) else int(x)
        sales = v["sales"] if isinstance(v["sales"], Decimal) else Decimal(0)
        rows.append(_row(agent, period, i("consulted"), i("received"), i("inquiries"),
                         i("replied"), i("slow"), i("n"), i("rs"), i("fast"), i("fn"),
                         i("fs"), i("buyers"), sales))
    _write_rows(out, rows)


# --- measuring ---------------------------------------------------------------------------

def measure(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (GiB) of the process tree and CPU seconds (user + system, all
    threads and children) of ``cmd``. CPU time is the fairer figure on a shared machine."""
    import resource

    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = sum(p.memory_info().rss for p in [ps, *ps.children(recursive=True)])
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.02)
    secs = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read().decode()[-3000:]}")
    return secs, peak / (1 << 30), cpu


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.reader(fh))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="?", default="2000000,10000000")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--memory-limit", default=None)
    ap.add_argument("--pandas-up-to", type=int, default=2_000_000)
    ap.add_argument("--only", default="kaohe,floor,pandas",
                    help="implementations to run (kaohe is always run)")
    ap.add_argument("--logs-dir", type=Path, default=None,
                    help="keep generated logs here (LOGS_DIR/N) and reuse them next time")
    ap.add_argument("--generate-only", action="store_true")
    ap.add_argument("--floor", nargs=2, metavar=("LOGS", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--pandas", nargs=2, metavar=("LOGS", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.floor:
        floor_sql(Path(a.floor[0]), Path(a.floor[1]))
        return 0
    if a.pandas:
        pandas_metrics(Path(a.pandas[0]), Path(a.pandas[1]))
        return 0
    py = sys.executable
    table = []
    for n in (int(x) for x in a.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="kaohe-bench-") as tmp:
            tmp_p = Path(tmp)
            logs = (a.logs_dir / str(n)) if a.logs_dir else tmp_p / "logs"
            if not (logs / "messages").is_dir():
                t = time.perf_counter()
                shutil.rmtree(logs, ignore_errors=True)
                make_logs(logs, n)
                print(f"{n:,} messages generated in {time.perf_counter() - t:.0f} s",
                      flush=True)
            if a.generate_only:
                continue
            (tmp_p / "rules.yaml").write_text(RULES_YAML, encoding="utf-8")
            kaohe = [py, "-m", "kaohe", "metrics", "compute", "--logs", str(logs), "--rules",
                     str(tmp_p / "rules.yaml"), "-o", str(tmp_p / "kaohe.csv")]
            if a.memory_limit:
                kaohe += ["--memory-limit", a.memory_limit]
            impls = {"kaohe": kaohe}
            if "floor" in a.only:
                impls["floor"] = [py, __file__, "--floor", str(logs), str(tmp_p / "floor.csv")]
            if n <= a.pandas_up_to and "pandas" in a.only:
                impls["pandas"] = [py, __file__, "--pandas", str(logs), str(tmp_p / "pandas.csv")]
            got: dict[str, tuple[float, float, float]] = {}
            for name, cmd in impls.items():
                runs = [measure(cmd) for _ in range(a.runs)]
                got[name] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs),
                             statistics.median(r[2] for r in runs))
                print(f"  {name:7s} {got[name][0]:8.1f} s  peak {got[name][1]:5.2f} GiB  "
                      f"cpu {got[name][2]:8.1f} s", flush=True)
            want = read_csv(tmp_p / "kaohe.csv")
            for name in impls:
                if name != "kaohe" and read_csv(tmp_p / f"{name}.csv") != want:
                    shutil.copy(tmp_p / f"{name}.csv", Path.cwd() / f"disagree-{name}.csv")
                    shutil.copy(tmp_p / "kaohe.csv", Path.cwd() / "disagree-kaohe.csv")
                    print(f"  {name} disagrees with kaohe (copies in disagree-*.csv)")
                    return 1
            print(f"  agreement: {', '.join(x for x in impls if x != 'kaohe')} = kaohe on "
                  f"{len(want) - 1} agent-months", flush=True)
            table.append((n, got))
    print("\n| messages | kaohe s | kaohe cpu s | kaohe peak GiB | floor s | floor cpu s "
          "| floor peak GiB | kaohe/floor (wall) | kaohe/floor (cpu) | pandas s | pandas peak GiB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n, got in table:
        k, f, p = got["kaohe"], got.get("floor"), got.get("pandas")

        def cell(x: tuple[float, float, float] | None, i: int, fmt: str) -> str:
            return format(x[i], fmt) if x else "—"
        wall = f"{k[0] / f[0]:.2f}×" if f else "—"
        cpu = f"{k[2] / f[2]:.2f}×" if f else "—"
        print(f"| {n:,} | {k[0]:.1f} | {k[2]:.1f} | {k[1]:.2f} | {cell(f, 0, '.1f')} "
              f"| {cell(f, 2, '.1f')} | {cell(f, 1, '.2f')} | {wall} | {cpu} "
              f"| {cell(p, 0, '.1f')} | {cell(p, 1, '.2f')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
