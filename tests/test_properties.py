"""Properties that hold for any numbers: exact boundaries, half-up rounding, monotone bands,
deductions never below their floor, idempotent re-scoring."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kaohe.engine.score import score_table
from kaohe.ingest.table import prepare
from kaohe.numbers import DEC, round_half_up
from kaohe.presets import load_preset
from kaohe.scheme.loader import load_scheme_text

cents = st.integers(min_value=-10**9, max_value=10**9).map(lambda n: Decimal(n) / 1000)


@given(st.lists(cents, min_size=1, max_size=50))
def test_round_half_up_matches_decimal(values: list[Decimal]) -> None:
    got = pl.Series(values, dtype=DEC).to_frame("x").select(round_half_up(pl.col("x")))
    want = [v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) for v in values]
    assert got.to_series().to_list() == want


SCHEME = load_scheme_text(
    """
id: p
name: p
inputs:
  a: {type: count}
  b: {type: count}
  n: {type: count}
indicators:
  - id: ratio
    value: a / b
    bands: {">=50%": 100, "[40%,50%)": 60, "<40%": 0}
  - id: ded
    points: 20
    deduction: {rules: [{count: n, per: 3, free: 1}]}
""",
    "p.yaml",
)


def _score(rows: list[tuple[int, int, int]]) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "employee": [f"E{i:04d}" for i in range(len(rows))],
            "a": [str(r[0]) for r in rows],
            "b": [str(r[1]) for r in rows],
            "n": [str(r[2]) for r in rows],
        }
    )
    table = prepare(frame, SCHEME, "t.csv")
    return score_table(SCHEME, table).outcome.frame.sort("employee")


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500), st.integers(0, 20)),
                min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_bands_match_exact_rational_comparison(rows: list[tuple[int, int, int]]) -> None:
    out = _score(rows)
    for (a, b, n), got, ded in zip(rows, out["ind:ratio"], out["ind:ded"], strict=True):
        if b == 0:
            want = Decimal(0)  # undefined → lowest band
        elif 2 * a >= b:  # exactly 50% lands in the top band
            want = Decimal(100)
        elif 10 * a >= 4 * b:
            want = Decimal(60)
        else:
            want = Decimal(0)
        assert got == want
        assert ded == max(Decimal(20) - 3 * max(n - 1, 0), Decimal(0))
        assert ded >= 0


@given(st.integers(1, 400), st.integers(0, 400), st.integers(0, 400))
@settings(max_examples=60, deadline=None)
def test_bands_are_monotone(b: int, a1: int, a2: int) -> None:
    lo, hi = sorted((a1, a2))
    out = _score([(lo, b, 0), (hi, b, 0)])
    assert out["ind:ratio"][0] <= out["ind:ratio"][1]


def test_rescoring_is_idempotent_and_byte_identical(tmp_path: Path) -> None:
    import json

    from kaohe.demo import write_inputs
    from kaohe.engine.results import to_document
    from kaohe.engine.score import score_file

    scheme = load_preset("taobao-presales")
    path = write_inputs(tmp_path / "in.csv")
    a = json.dumps(to_document(*_parts(score_file(scheme, path))), ensure_ascii=False)
    b = json.dumps(to_document(*_parts(score_file(scheme, path))), ensure_ascii=False)
    assert a == b


def _parts(scored):  # type: ignore[no-untyped-def]
    return scored.outcome, scored.table
