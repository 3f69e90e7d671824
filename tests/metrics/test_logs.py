"""How the engine reads a logs folder: one file or a folder of daily files, CSV or typed
Parquet, exact stream ids, bounded memory; errors name the file and its row."""

from __future__ import annotations

import csv
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import polars as pl
import pytest

from kaohe.errors import InputError
from kaohe.metrics.compute import compute
from kaohe.metrics.engine import MemoryLimitError, memory_limit_bytes, total_memory
from kaohe.metrics.rules import Rules
from kaohe.metrics.sample import generate, write

from .helpers import MSG, ORD, logs, one, run

RULES = Rules(auto_prefixes=("您好",), ad_patterns=("加微信",), one_line_filter=2)


def _split_by_day(folder: Path, msgs: pl.DataFrame, orders: pl.DataFrame) -> Path:
    (folder / "messages").mkdir(parents=True)
    (folder / "orders").mkdir()
    days = msgs.with_columns(pl.col("ts").str.slice(0, 10).alias("d"))
    for (d,), part in days.group_by(["d"], maintain_order=True):
        part.drop("d").write_csv(folder / "messages" / f"{d}.csv")
    half = orders.height // 2
    orders[:half].write_csv(folder / "orders" / "a.csv")
    orders[half:].write_csv(folder / "orders" / "b.csv")
    return folder


def test_a_folder_of_daily_files_gives_the_single_files_numbers(tmp_path: Path) -> None:
    msgs, orders = generate(6000, agents=5, seed=4)
    single = compute(write(tmp_path / "one", msgs, orders), RULES)
    daily = compute(_split_by_day(tmp_path / "daily", msgs, orders), RULES)
    assert single.rows and daily.rows == single.rows
    assert sum(r["buyers"] for r in single.rows) > 0


def test_typed_parquet_columns_read_like_text(tmp_path: Path) -> None:
    msgs, orders = generate(3000, agents=4, seed=8)
    text = compute(write(tmp_path / "text", msgs, orders), RULES)
    typed = msgs.with_columns(pl.col("ts").str.to_datetime("%Y-%m-%d %H:%M:%S"),
                              pl.col("auto").cast(pl.Int8))
    typed_orders = orders.with_columns(pl.col("created").str.to_datetime("%Y-%m-%d %H:%M:%S"),
                                       pl.col("paid").str.to_datetime("%Y-%m-%d %H:%M:%S"),
                                       pl.col("amount").cast(pl.Decimal(18, 2)))
    got = compute(write(tmp_path / "typed", typed, typed_orders, parquet=True), RULES)
    assert got.rows == text.rows


def test_error_in_a_later_daily_file_names_that_file_and_its_row(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    (folder / "messages").mkdir(parents=True)
    (folder / "orders").mkdir()
    for day, rows in (("2026-10-05", [["S", "a1", "b1", "2026-10-05 10:00:00", "in", "0"]]),
                      ("2026-10-06", [["S", "a1", "b1", "2026-10-06 10:00:00", "in", "0"],
                                      ["S", "a1", "b1", "2026-10-06 10:00:30", "sideways",
                                       "0"]])):
        with (folder / "messages" / f"{day}.csv").open("w", newline="") as fh:
            csv.writer(fh).writerows([MSG[:6], *rows])
    (folder / "orders" / "o.csv").write_text(",".join(ORD) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"2026-10-06\.csv, row 3, column 'direction': "
                                         r"value 'sideways': expected in or out"):
        compute(folder, Rules())


def test_missing_inputs_are_named(tmp_path: Path) -> None:
    folder = logs(tmp_path, [("S", "a1", "b1", "2026-10-05 10:00:00", "in", "0", "")])
    (folder / "orders.csv").unlink()
    with pytest.raises(InputError, match=r"no orders\.csv, orders\.parquet or orders/ folder"):
        compute(folder, Rules())
    (folder / "orders.csv").write_text("order_id,shop,buyer,created,amount\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"orders\.csv, column 'paid': missing column 'paid'"):
        compute(folder, Rules())


def test_stream_ids_are_exact_where_joined_keys_would_collide(tmp_path: Path) -> None:
    # ("S", "a1", "1b") and ("S1", "a1", "b") join to the same text "Sa11b": two streams
    m = run(tmp_path, [("S", "a1", "1b", "2026-10-05 10:00:00", "in", "0"),
                       ("S1", "a1", "b", "2026-10-05 10:00:20", "out", "0"),
                       ("S", "a1", "1b", "2026-10-05 10:01:00", "out", "0")])
    r = one(m)
    assert r["consulted"] == 1 and r["response_s"] == 60  # not 20: b's reply is not 1b's


def test_ids_with_surrounding_spaces_are_the_same_ids(tmp_path: Path) -> None:
    m = run(tmp_path, [("S", "a1", "b1", "2026-10-05 10:00:00", "in", "0"),
                       (" S ", "a1 ", " b1", " 2026-10-05 10:00:40 ", " out", " 0 ")])
    assert [r["employee"] for r in m.rows] == ["a1"] and one(m)["response_s"] == 40


def test_a_small_memory_limit_spills_and_gives_the_same_numbers(tmp_path: Path) -> None:
    folder = write(tmp_path / "logs", *generate(60_000, agents=12, seed=2), parquet=True)
    spill = tmp_path / "spill"
    small = compute(folder, RULES, memory_limit="64MB", temp_dir=spill)
    assert small.rows == compute(folder, RULES).rows
    assert spill.is_dir()  # the folder given is kept (and emptied by DuckDB)


def test_memory_limit_sizes() -> None:
    assert memory_limit_bytes("4GB") == 4 << 30
    assert memory_limit_bytes("3500MB") == 3500 << 20
    assert memory_limit_bytes("25%") == int(total_memory() * 0.25)
    assert 0 < memory_limit_bytes(None) < total_memory()
    for bad in ("lots", "0%", "150%", "10MB"):
        with pytest.raises(MemoryLimitError, match="--memory-limit"):
            memory_limit_bytes(bad)


def test_cli_refuses_a_bad_memory_limit(tmp_path: Path) -> None:
    folder = logs(tmp_path, [("S", "a1", "b1", "2026-10-05 10:00:00", "in", "0", "")])
    r = subprocess.run([sys.executable, "-m", "kaohe", "metrics", "compute", "--logs",
                        str(folder), "--memory-limit", "lots", "-o", str(tmp_path / "o.csv")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--memory-limit 'lots'" in r.stderr
    assert not (tmp_path / "o.csv").exists()


def test_a_file_that_breaks_half_way_is_an_error_not_a_crash(tmp_path: Path) -> None:
    from kaohe.errors import KaoheError

    folder = logs(tmp_path, [("S", "a1", f"b{i}", "2026-10-05 10:00:00", "in", "0", "hi")
                             for i in range(40_000)])
    with (folder / "messages.csv").open("ab") as fh:  # past the part DuckDB samples first
        fh.write(b"S,a1,b1,2026-10-05 10:00:00,in,0,\xff\xfe\n")
    with pytest.raises(KaoheError, match=r"logs.*(Invalid|unicode|UTF)"):
        compute(folder, Rules())


def test_orders_errors_name_the_row(tmp_path: Path) -> None:
    msgs = [("S", "a1", "b1", "2026-10-05 10:00:00", "in", "0", "")]
    orders = [("o1", "S", "b1", "2026-10-05 11:00:00", "", "10.00"),
              ("o2", "S", "b1", "2026-10-05 11:00:00", "", "10.00"),
              ("o1", "S", "b1", "2026-10-06 11:00:00", "", "12.00")]
    with pytest.raises(InputError, match=r"orders\.csv, row 2, column 'order_id': value 'o1': "
                                         r"this order id appears more than once"):
        run(tmp_path, msgs, orders)
    orders[1] = ("o2", "S", "b1", "2026-10-05 11:00:00", "", "-1")
    with pytest.raises(InputError, match=r"orders\.csv, row 3, column 'amount': value '-1'"):
        run(tmp_path, msgs, orders)


def test_auto_as_written_by_typed_exports_and_text_untrimmed(tmp_path: Path) -> None:
    m = run(tmp_path, [("S", "a1", "b1", "2026-10-05 10:00:00", "in", "0", ""),
                       ("S", "a1", "b1", "2026-10-05 10:00:05", "out", "TRUE", ""),
                       ("S", "a1", "b1", "2026-10-05 10:00:10", "out", "0", " 您好"),
                       ("S", "a1", "b1", "2026-10-05 10:01:00", "in", "false", ""),
                       ("S", "a1", "b1", "2026-10-05 10:01:20", "out", "", "您好")],
            auto_prefixes=["您好"])
    # TRUE is automatic; " 您好" does not start with the prefix as written, so it replies
    # (10 s); the last reply starts with it, so the second round stays open: 600 s
    assert one(m)["response_s"] == D("305.00")
