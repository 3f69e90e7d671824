"""Where the logs are and how each engine reads them: the one backend-specific part.

A logs folder holds ``messages`` and ``orders``, each either one file
(``messages.parquet`` / ``messages.csv``) or a folder of files (``messages/2026-10-01.csv``,
…, read in name order — a folder of daily files). The engine reads the files itself; no
row passes through Python. Every column arrives as text (a typed Parquet column is cast),
plus ``rn``, the row's place in the whole input from 1 (files in name order, rows in
file order): the tie-break for messages with equal times (metrics.md §1), and with
:func:`locate`, the file and row an error names.

Values are trimmed, except the message ``text`` (matched as written, metrics.md §3). For
each time column the engine's own parser reads the first 19
characters as ``YYYY-MM-DD HH:MM:SS`` (or with ``T``) into ``wall_<column>``, wall-clock
seconds, NULL where they are not a valid date and time; the portable expressions of
:mod:`kaohe.metrics.logs` decide what the rest (a fraction, a zone) means, and read epoch
numbers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kaohe.errors import InputError

SUFFIXES = (".parquet", ".csv", ".csv.gz")
AS_WRITTEN = {"text"}  # columns not trimmed


@dataclass(frozen=True)
class Table:
    files: tuple[Path, ...]
    columns: tuple[str, ...]  # as in the files' header
    expr: Any  # ibis table: the columns as text, rn, wall_<time column>


def find(folder: Path, stem: str) -> tuple[Path, ...]:
    """``stem.parquet``, ``stem.csv`` or the data files of the folder ``stem/``."""
    if not folder.is_dir():
        raise InputError("not a folder of logs", file=str(folder))
    for ext in SUFFIXES:
        p = folder / f"{stem}{ext}"
        if p.is_file():
            return (p,)
    d = folder / stem
    if d.is_dir():
        files = sorted(p for p in d.iterdir() if p.is_file() and p.name.endswith(SUFFIXES)
                       and not p.name.startswith("."))
        kinds = {".parquet" if p.suffix == ".parquet" else ".csv" for p in files}
        if len(kinds) > 1:
            raise InputError(f"the {stem} folder mixes CSV and Parquet files; use one kind",
                             file=str(d))
        if files:
            return tuple(files)
        raise InputError(f"the {stem} folder has no .csv or .parquet files", file=str(d))
    raise InputError(f"no {stem}.csv, {stem}.parquet or {stem}/ folder in the logs folder",
                     file=str(folder))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read(con: Any, files: tuple[Path, ...], times: tuple[str, ...]) -> Table:
    """The files as one ibis table on ``con`` (DuckDB or PySpark)."""
    if con.name == "duckdb":
        return _read_duckdb(con, files, times)
    if con.name == "pyspark":
        return _read_spark(con, files, times)
    raise InputError(f"reading logs on {con.name} is not supported; use duckdb or pyspark")


def _duck_scan(files: tuple[Path, ...]) -> str:
    paths = "[" + ", ".join(_lit(str(p)) for p in files) + "]"
    if files[0].suffix == ".parquet":
        return f"read_parquet({paths}, union_by_name = true)"
    return (f"read_csv({paths}, header = true, all_varchar = true, delim = ',', quote = '\"', "
            f"escape = '\"', union_by_name = true)")


def _trimmed(v: str) -> str:
    return f"CASE WHEN starts_with({v}, ' ') OR ends_with({v}, ' ') THEN trim({v}) ELSE {v} END"


def _read_duckdb(con: Any, files: tuple[Path, ...], times: tuple[str, ...]) -> Table:
    import duckdb

    scan = _duck_scan(files)
    try:
        cols = [r[0] for r in con.con.sql(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
    except duckdb.Error as exc:
        raise InputError(f"not a readable table: {str(exc).splitlines()[0]}",
                         file=str(files[0])) from None
    # trimmed only where needed: most values have no surrounding spaces, and trim() copies
    as_text = ", ".join(
        (f"CAST({_q(c)} AS VARCHAR)" if c in AS_WRITTEN else _trimmed(f"CAST({_q(c)} AS VARCHAR)"))
        + f" AS {_q(c)}" for c in cols)
    # DuckDB: ROW_NUMBER() OVER () is a streaming window over the scan, which keeps file
    # order (insertion order is preserved); strptime is its own fast time parser.
    # Spark form: see _read_spark.
    fast = ", ".join(
        f"CAST(CASE WHEN length({_q(c)}) = 19 THEN epoch(TRY_CAST({_q(c)} AS TIMESTAMP)) "
        f"ELSE epoch(try_strptime(replace(left(trim({_q(c)}), 19), 'T', ' '), "
        f"'%Y-%m-%d %H:%M:%S')) END AS BIGINT) AS {_q('wall_' + c)}"
        for c in times if c in cols)
    sql = (f"SELECT *{', ' + fast if fast else ''} FROM (SELECT {as_text}, "
           f"CAST(ROW_NUMBER() OVER () AS BIGINT) AS rn FROM {scan})")
    return Table(files, tuple(cols), con.sql(sql, dialect="duckdb"))


def _read_spark(con: Any, files: tuple[Path, ...], times: tuple[str, ...]) -> Table:
    from pyspark.sql import functions as F

    spark = con._session
    frames = []
    for p in files:  # one frame per file, unioned in name order: Spark would
        # otherwise order a multi-file read's partitions by file size
        reader = spark.read
        df = (reader.parquet(str(p)) if p.suffix == ".parquet"
              else reader.option("header", True).option("escape", '"').csv(str(p)))
        frames.append(df.select(*[(F.col(c).cast("string") if c in AS_WRITTEN
                                   else F.trim(F.col(c).cast("string"))).alias(c)
                                  for c in df.columns]))
    df = frames[0]
    for f in frames[1:]:
        df = df.unionByName(f, allowMissingColumns=True)
    cols = list(df.columns)
    name = f"kaohe_read_{uuid.uuid4().hex[:12]}"
    df.createOrReplaceTempView(name)
    # Spark: a row's place = rows in earlier partitions + its index in its partition;
    # partitions follow the union's file order, and a file's splits its byte order.
    # DuckDB form: ROW_NUMBER() OVER () in _read_duckdb.
    fast = ", ".join(
        f"unix_timestamp(try_to_timestamp(replace(substring(`{c}`, 1, 19), 'T', ' '), "
        f"'yyyy-MM-dd HH:mm:ss')) AS `wall_{c}`" for c in times if c in cols)
    sql = f"""
        WITH r AS (SELECT *, spark_partition_id() AS pid,
                          monotonically_increasing_id() AS mid FROM {name}),
        c AS (SELECT pid, SUM(COUNT(*)) OVER (ORDER BY pid) - COUNT(*) AS off
              FROM r GROUP BY pid)
        SELECT {', '.join('r.`' + x + '`' for x in cols)},
               CAST(c.off + (r.mid - (CAST(r.pid AS BIGINT) * 8589934592)) + 1 AS BIGINT)
               AS rn{', ' + fast if fast else ''}
        FROM r JOIN c ON r.pid = c.pid"""
    out = spark.sql(sql).persist()
    view = f"{name}_rn"
    out.createOrReplaceTempView(view)
    return Table(files, tuple(cols), con.table(view))


def locate(con: Any, table: Table, rn: int) -> tuple[Path, int]:
    """The file and its row number (the header is row 1) of the input row ``rn``."""
    before = 0
    for p in table.files:
        if len(table.files) == 1:
            return p, rn + 1
        n = _count(con, p)
        if rn <= before + n:
            return p, rn - before + 1
        before += n
    return table.files[-1], rn - before + 1


def _count(con: Any, p: Path) -> int:
    if con.name == "duckdb":
        return int(con.con.sql(f"SELECT COUNT(*) FROM {_duck_scan((p,))}").fetchone()[0])
    reader = con._session.read
    df = reader.parquet(str(p)) if p.suffix == ".parquet" else reader.option(
        "header", True).option("escape", '"').csv(str(p))
    return int(df.count())
