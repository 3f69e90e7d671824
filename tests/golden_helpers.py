"""Scoring a CSV text through the same path as `kaohe score --format json`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from kaohe.engine.results import to_document
from kaohe.engine.score import score_file
from kaohe.presets import load_preset


def score(tmp: Path, preset: str, csv_text: str) -> dict[str, Any]:
    path = tmp / f"{preset}.csv"
    path.write_text(csv_text, encoding="utf-8")
    scored = score_file(load_preset(preset), path)
    # round-trip through JSON text exactly as the CLI prints it
    doc: dict[str, Any] = json.loads(json.dumps(to_document(scored.outcome, scored.table),
                                                ensure_ascii=False))
    return doc


def by_key(doc: dict[str, Any]) -> dict[tuple[str | None, str], dict[str, Any]]:
    return {(r["period"], r["employee"]): r for r in doc["results"]}


def D(x: Any) -> Decimal:
    return Decimal(str(x))
