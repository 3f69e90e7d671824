"""Each CLI command imports only what it needs: scoring a file does not load the store, the
web app or the log-metrics stack, and listing commands or presets loads no engine at all.

The imports are read from ``python -X importtime`` of the real command (one line per module
the interpreter imported), so a new top-level import anywhere on the path fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli_score import HEADER, ROW

HEAVY = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "ibis", "duckdb",
         "kaohe.store", "kaohe.web", "kaohe.workflow", "kaohe.metrics")


def imported(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "kaohe", *args],
                       capture_output=True, text=True, timeout=120)
    mods = {line.rsplit("|", 1)[1].strip() for line in r.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}
    return r, mods


def heavy(mods: set[str], roots: tuple[str, ...]) -> set[str]:
    return {m for m in mods if any(m == h or m.startswith(h + ".") for h in roots)}


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_score_imports_no_store_web_or_metrics(tmp_path: Path, fmt: str) -> None:
    src = tmp_path / "in.csv"
    src.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    r, mods = imported("score", "--preset", "taobao-presales", "-i", str(src), "-f", fmt)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "kaohe.engine.run" in mods and "polars" in mods  # it did score
    assert heavy(mods, HEAVY) == set()


def test_score_with_reasons_to_xlsx_imports_no_store(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    r, mods = imported("score", "--preset", "taobao-presales", "-i", str(src), "-f", "xlsx",
                       "--reasons", "-o", str(tmp_path / "out.xlsx"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert heavy(mods, HEAVY) == set()


@pytest.mark.parametrize("args", [("--help",), ("presets",), ("score", "--help")])
def test_listing_loads_no_engine(args: tuple[str, ...]) -> None:
    r, mods = imported(*args)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "kaohe.cli" in mods
    assert heavy(mods, (*HEAVY, "polars", "kaohe.engine", "kaohe.scheme", "lark")) == set()
