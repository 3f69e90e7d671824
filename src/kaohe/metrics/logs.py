"""Reading the raw logs folder: ``messages.(csv|parquet)`` and ``orders.(csv|parquet)``.

Timestamps are local wall-clock time written ``YYYY-MM-DD HH:MM:SS``; they are kept as
seconds since 1970-01-01 00:00 of that wall clock, so differences, dates and times of day
are exact integer arithmetic. Bad rows are reported with file, row and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from kaohe.errors import InputError
from kaohe.ingest.table import decode

MESSAGE_COLUMNS = ("shop", "agent", "buyer", "ts", "direction", "auto")
ORDER_COLUMNS = ("order_id", "shop", "buyer", "created", "paid", "amount")
AMOUNT = pl.Decimal(18, 2)


@dataclass(frozen=True)
class Logs:
    messages: pl.DataFrame  # shop, agent, buyer, t, is_in, auto, text, seq, conv
    orders: pl.DataFrame  # order_id, shop, buyer, created_t, paid_t, amount, is_paid


def _find(folder: Path, stem: str) -> Path:
    for ext in (".parquet", ".csv"):
        p = folder / f"{stem}{ext}"
        if p.exists():
            return p
    raise InputError(f"no {stem}.csv or {stem}.parquet in the logs folder", file=str(folder))


def _read(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        try:
            frame = pl.read_parquet(path)
        except Exception as exc:
            raise InputError(f"not a readable Parquet file: {exc}", file=str(path)) from None
        return frame.with_columns(pl.all().cast(pl.String))
    text = decode(path.read_bytes(), str(path))
    try:
        import io

        return pl.read_csv(io.StringIO(text), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"not a readable CSV table: {str(exc).splitlines()[0]}",
                         file=str(path)) from None


def _first_bad(frame: pl.DataFrame, mask: pl.Series, path: Path, column: str, message: str) -> None:
    hits = frame.with_row_index("__r", offset=2).filter(mask)
    if hits.height:
        raise InputError(message, file=str(path), row=int(hits["__r"][0]), column=column,
                         value=hits[column][0])


LOCAL_OFFSET_S = 8 * 3600  # Asia/Shanghai: UTC+8 all year (no daylight saving since 1991)
EPOCH_MS_FROM = 10**11  # a bare number this large is milliseconds (10^11 s is the year 5138)
TIME_FORMATS = ("a local time YYYY-MM-DD HH:MM:SS, an ISO time with a zone "
                "(2026-10-05T10:00:00+08:00, …Z), or epoch seconds or milliseconds")


def _seconds(frame: pl.DataFrame, col: str, path: Path, *, optional: bool = False) -> pl.Series:
    """Wall-clock seconds in Asia/Shanghai of every accepted way to write a time.

    A time without a zone is local already; one with a zone and a bare epoch number are
    instants, moved to Beijing time. Fractions of a second are dropped (times are whole
    seconds in docs/metrics.md; equal seconds keep their file order).
    """
    raw = frame[col].str.strip_chars().replace("", None)
    iso = raw.str.replace(" ", "T", literal=True)
    naive = iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_unit="us")
    zoned = iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%#z", strict=False, time_unit="us")
    digits = raw.str.contains(r"^\d{1,15}$").fill_null(False)
    number = pl.Series(raw).cast(pl.Int64, strict=False)
    epoch = pl.select(pl.when(pl.lit(digits)).then(
        pl.when(pl.lit(number) >= EPOCH_MS_FROM).then(pl.lit(number) // 1000)
        .otherwise(pl.lit(number)) + LOCAL_OFFSET_S)).to_series()
    secs = pl.select(pl.coalesce(
        pl.lit(naive).dt.epoch("s"),
        pl.lit(zoned).dt.epoch("s") + LOCAL_OFFSET_S,
        pl.lit(epoch),
    )).to_series()
    bad = (raw.is_not_null() & secs.is_null()) | (raw.is_null() if not optional else False)
    _first_bad(frame, bad, path, col, f"expected a time: {TIME_FORMATS}")
    return secs.alias(col)


def read_logs(folder: str | Path) -> Logs:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("not a folder of logs", file=str(folder))
    mpath, opath = _find(folder, "messages"), _find(folder, "orders")
    m = _read(mpath)
    for c in MESSAGE_COLUMNS:
        if c not in m.columns:
            raise InputError(f"missing column {c!r}", file=str(mpath), column=c)
    for c in ("shop", "agent", "buyer"):
        _first_bad(m, m[c].is_null() | (m[c].str.strip_chars() == ""), mpath, c,
                   f"the {c} is empty")
    direction = m["direction"].str.strip_chars()
    _first_bad(m, ~direction.is_in(["in", "out"]).fill_null(False), mpath, "direction",
               "expected in or out")
    auto = m["auto"].str.strip_chars().replace("", "0")
    _first_bad(m, ~auto.is_in(["0", "1"]).fill_null(False), mpath, "auto", "expected 1 or 0")
    messages = pl.DataFrame({
        "shop": m["shop"].str.strip_chars(),
        "agent": m["agent"].str.strip_chars(),
        "buyer": m["buyer"].str.strip_chars(),
        "t": _seconds(m, "ts", mpath),
        "is_in": direction == "in",
        "auto": auto == "1",
        "text": m["text"].fill_null("") if "text" in m.columns else pl.Series(
            [""] * m.height, dtype=pl.String),
        "seq": pl.int_range(0, m.height, eager=True),
    })
    # an integer id per (shop, agent, buyer) conversation stream (exact: a categorical
    # code, not a hash); the windows order by (t, seq), two keys, so no packed key overflows
    messages = messages.with_columns(
        pl.concat_str(["shop", "agent", "buyer"], separator="\x1f").cast(pl.Categorical)
        .to_physical().cast(pl.Int64).alias("conv"),
    )
    o = _read(opath)
    for c in ORDER_COLUMNS:
        if c not in o.columns:
            raise InputError(f"missing column {c!r}", file=str(opath), column=c)
    amount = o["amount"].str.strip_chars().cast(AMOUNT, strict=False)
    _first_bad(o, amount.is_null() | (amount < 0), opath, "amount",
               "expected a non-negative amount such as 128.00")
    dup = o["order_id"].is_duplicated()
    _first_bad(o, dup, opath, "order_id", "this order id appears more than once")
    orders = pl.DataFrame({
        "order_id": o["order_id"].str.strip_chars(),
        "shop": o["shop"].str.strip_chars(),
        "buyer": o["buyer"].str.strip_chars(),
        "created_t": _seconds(o, "created", opath),
        "paid_t": _seconds(o, "paid", opath, optional=True),
        "amount": amount,
    })
    # no nulls in integer columns: some engines (PySpark via pandas) would turn them into
    # floats and lose the values; an unpaid order has is_paid false and paid_t 0
    orders = orders.with_columns(pl.col("paid_t").is_not_null().alias("is_paid"),
                                 pl.col("paid_t").fill_null(0))
    return Logs(messages, orders)
