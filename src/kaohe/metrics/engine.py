"""The engine a computation runs on: DuckDB (bounded memory, spilling to disk) or PySpark.

:func:`materialise` turns an ibis expression into a table of the engine (a DuckDB
temporary table, ``CREATE TEMP TABLE … AS``; a persisted Spark frame) and
:func:`drop` frees it as soon as the pipeline is done with it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kaohe.errors import KaoheError

MEMORY_SHARE = 0.15  # of the machine's (or the container's) memory, for DuckDB by default
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|[KMGT]i?B?)?\s*$", re.IGNORECASE)
log = logging.getLogger("kaohe.metrics")
_frames: dict[str, Any] = {}  # Spark: the persisted frame behind each materialised view


class MemoryLimitError(KaoheError, ValueError):
    pass


def total_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its cgroup limit if lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for p in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            raw = Path(p).read_text().strip()
        except OSError:
            continue
        if raw.isdigit():
            total = min(total, int(raw))
    return total


def memory_limit_bytes(text: str | None) -> int:
    """``4GB``, ``4GiB``, ``3500MB``, ``25%`` (of :func:`total_memory`); None: the default
    share, :data:`MEMORY_SHARE`."""
    if text is None:
        return int(total_memory() * MEMORY_SHARE)
    m = _SIZE.match(text)
    if not m:
        raise MemoryLimitError(f"--memory-limit {text!r}: expected a size such as 4GB, "
                               f"3500MB or 25%")
    value, unit = float(m.group(1)), (m.group(2) or "B").upper()
    if unit == "%":
        if not 0 < value <= 100:
            raise MemoryLimitError(f"--memory-limit {text!r}: a share is more than 0% and "
                                   f"at most 100%")
        return int(total_memory() * value / 100)
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(unit[0], 1)
    n = int(value * scale)
    if n < 64 << 20:
        raise MemoryLimitError(f"--memory-limit {text!r}: at least 64MB")
    return n


def connect(backend: str = "duckdb", *, memory_limit: str | None = None,
            temp_dir: str | Path | None = None) -> Any:
    """A connection; DuckDB's is bounded by ``memory_limit`` and spills to ``temp_dir``."""
    import ibis

    if backend == "duckdb":
        limit = memory_limit_bytes(memory_limit)
        con = ibis.duckdb.connect()
        spill = Path(temp_dir) if temp_dir else Path(tempfile.mkdtemp(prefix="kaohe-spill-"))
        spill.mkdir(parents=True, exist_ok=True)
        con.con.execute(f"SET memory_limit = '{limit // (1 << 20)}MiB'")
        con.con.execute("SET temp_directory = ?", [str(spill)])
        con.kaohe_spill = None if temp_dir else spill  # removed by close()
        return con
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
    raise KaoheError(f"unknown backend {backend!r}; use duckdb or pyspark")


def close(con: Any) -> None:
    spill = getattr(con, "kaohe_spill", None)
    if con.name == "duckdb":
        con.disconnect()
    if spill is not None:
        shutil.rmtree(spill, ignore_errors=True)


class EngineError(KaoheError, RuntimeError):
    pass


@contextmanager
def engine_errors(folder: str) -> Iterator[None]:
    """An engine's own error (a file that stops reading half-way, memory or disk exhausted)
    as a :class:`KaoheError` naming the logs folder and what to do."""
    import duckdb

    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        raise EngineError(f"{folder}: out of memory ({str(exc).splitlines()[0]}); give a "
                          f"larger --memory-limit, or a --temp-dir with more free disk "
                          f"space") from None
    except duckdb.Error as exc:
        raise EngineError(f"{folder}: {str(exc).splitlines()[0]}") from None


def materialise(con: Any, expr: Any, what: str) -> Any:
    """``expr`` computed once into a table of the engine; free it with :func:`drop`."""
    name = f"kaohe_{what}_{uuid.uuid4().hex[:10]}"
    t, cpu = time.perf_counter(), time.process_time()
    if con.name == "duckdb":
        sql = con.compile(expr)
        con.con.execute(f'CREATE TEMP TABLE "{name}" AS {sql}')
        out = con.table(name)
    else:  # Spark: a persisted frame behind a temporary view
        frame = con._session.sql(con.compile(expr)).persist()
        frame.count()
        frame.createOrReplaceTempView(name)
        out = con.table(name)
        _frames[name] = frame
    log.debug("%s: %.2f s (cpu %.2f s)", what, time.perf_counter() - t,
              time.process_time() - cpu)
    return out


def drop(con: Any, table: Any) -> None:
    name = table.get_name()
    if con.name == "duckdb":
        con.con.execute(f'DROP TABLE IF EXISTS "{name}"')
    else:
        con._session.catalog.dropTempView(name)
        frame = _frames.pop(name, None)
        if frame is not None:
            frame.unpersist()
