"""The same pipeline on a local Spark session gives DuckDB's numbers exactly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kaohe.metrics.compute import compute
from kaohe.metrics.engine import connect
from kaohe.metrics.rules import Rules
from kaohe.metrics.sample import generate, write

from .test_logs import _split_by_day

pytest.importorskip("pyspark")


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    con = connect("pyspark")
    con._session.sparkContext.setLogLevel("ERROR")
    yield con
    con._session.stop()


@pytest.mark.parametrize(("attribution", "layout"), [
    ("order", "parquet"), ("payment", "daily csv"), ("order_first", "parquet")])
def test_spark_equals_duckdb(spark: Any, tmp_path: Path, attribution: str, layout: str) -> None:
    msgs, orders = generate(messages=3000, agents=6, seed=11)
    logs = (write(tmp_path / "logs", msgs, orders, parquet=True) if layout == "parquet"
            else _split_by_day(tmp_path / "logs", msgs, orders))
    rules = Rules(attribution=attribution, auto_prefixes=("您好",), ad_patterns=("加微信",),
                  one_line_filter=2)
    duck = compute(logs, rules)
    sprk = compute(logs, rules, con=spark)
    assert duck.rows and duck.rows == sprk.rows
    assert sorted(duck.warnings) == sorted(sprk.warnings)
    assert sum(r["buyers"] for r in duck.rows) > 0
