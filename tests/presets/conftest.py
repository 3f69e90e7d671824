"""Shared helpers for the preset golden tests: run `kaohe score` as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def _write(folder: Path, preset_id: str, csv_text: str | bytes) -> Path:
    n = len(list(folder.glob("input-*.csv")))
    path = folder / f"input-{n}-{preset_id}.csv"
    if isinstance(csv_text, bytes):
        path.write_bytes(csv_text)
    else:
        path.write_text(csv_text, encoding="utf-8")
    return path


def _run(preset_id: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kaohe", "score", "--preset", preset_id, "--input", str(path),
         "--format", "json"],
        capture_output=True, text=True, timeout=180)


@pytest.fixture
def score(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """score(preset_id, csv_text, tmp_path=None) -> parsed JSON document (asserts exit 0)."""

    def run(preset_id: str, csv_text: str | bytes, folder: Path | None = None) -> dict[str, Any]:
        proc = _run(preset_id, _write(folder or tmp_path, preset_id, csv_text))
        assert proc.returncode == 0, f"exit {proc.returncode}; stderr: {proc.stderr}"
        doc: dict[str, Any] = json.loads(proc.stdout)
        return doc

    return run


@pytest.fixture
def score_fail(tmp_path: Path) -> Callable[..., tuple[int, str, str]]:
    """score_fail(preset_id, csv_text, tmp_path=None) -> (returncode, stdout, stderr)."""

    def run(preset_id: str, csv_text: str | bytes, folder: Path | None = None) -> tuple[int, str, str]:
        proc = _run(preset_id, _write(folder or tmp_path, preset_id, csv_text))
        return proc.returncode, proc.stdout, proc.stderr

    return run


@pytest.fixture
def cli(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[str], dict[str, Any]]:
    """Score a CSV text with the test module's ``PRESET`` (in-process), expecting success."""
    from .inprocess import scorer

    return scorer(tmp_path, request.module.PRESET)
