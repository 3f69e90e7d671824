"""Numbers read the same everywhere: the column formatting of the reasons (Polars, no Python
per row) writes exactly what the one-value functions of the forms and the web write."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kaohe.formatting import MINUS, money, money_expr, pct, pct_expr, plain, plain_expr, two, two_expr
from kaohe.numbers import DEC

# up to a hundred billion, with four decimals (half-up ties included)
amounts = st.integers(min_value=-10**15, max_value=10**15).map(lambda n: Decimal(n) / 10**4)


def _column(values: list[Decimal], fmt: object) -> list[str | None]:
    frame = pl.DataFrame({"x": values}, schema={"x": DEC})
    return frame.select(fmt(pl.col("x")).alias("t"))["t"].to_list()  # type: ignore[operator]


@settings(max_examples=60, deadline=None)
@given(st.lists(amounts, min_size=1, max_size=40))
def test_columns_write_what_the_single_values_write(values: list[Decimal]) -> None:
    assert _column(values, money_expr) == [money(v) for v in values]
    assert _column(values, two_expr) == [two(v).replace("-", MINUS) for v in values]
    expected_plain = []
    for v in values:
        text = plain(v.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"))
        whole, dot, frac = text.lstrip("-").partition(".")
        grouped = f"{int(whole):,}" + (dot + frac)
        expected_plain.append((MINUS + grouped) if text.startswith("-") else grouped)
    assert _column(values, plain_expr) == expected_plain


def test_examples() -> None:
    values = [Decimal("88775.9"), Decimal("-100"), Decimal("2.345"), Decimal("-2.345"),
              Decimal("1.1097375"), Decimal("0")]
    assert _column(values, money_expr) == ["88,775.90", "−100.00", "2.35", "−2.35", "1.11",
                                           "0.00"]
    assert _column(values, pct_expr)[4] == "110.97%"
    assert _column([None], money_expr) == [None]  # type: ignore[list-item]
    assert pct(Decimal("0.006")) == "0.6%" and money(Decimal("-88775.9")) == "−88,775.90"
