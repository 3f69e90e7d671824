"""Running `kaohe score --preset P --input X.csv --format json` in-process (Typer's
CliRunner: the real command, without a subprocess per case), and small readers of its JSON,
shared by the golden tests of presets 4.5–4.9."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from kaohe.cli import app

_RUNNER = CliRunner()


def D(x: Any) -> Decimal:
    return Decimal(str(x))


def by_key(doc: dict[str, Any]) -> dict[tuple[Any, str], dict[str, Any]]:
    return {(r["period"], r["employee"]): r for r in doc["results"]}


def aggs(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(a["period"], a["employee"]): a for a in doc["aggregates"]}


def run_preset(folder: Path, preset: str, csv_text: str) -> tuple[int, str, str]:
    """The exit code, stdout and stderr of scoring ``csv_text`` with ``preset``."""
    path = folder / f"in-{len(list(folder.glob('in-*.csv')))}.csv"
    path.write_text(csv_text, encoding="utf-8")
    res = _RUNNER.invoke(app, ["score", "--preset", preset, "--input", str(path),
                               "--format", "json"])
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


def scorer(folder: Path, preset: str) -> Callable[[str], dict[str, Any]]:
    """A function scoring a CSV text that must be valid, returning the JSON document."""

    def run(csv_text: str) -> dict[str, Any]:
        code, out, err = run_preset(folder, preset, csv_text)
        assert code == 0, f"exit {code}; stderr: {err}"
        doc: dict[str, Any] = json.loads(out)
        return doc

    return run
