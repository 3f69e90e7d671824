"""Exact numbers.

Every value the engine computes is a Polars ``Decimal(38, SCALE)``: 128-bit integers with a
fixed decimal scale, so ``49/98`` compared with ``50%`` is exact and ``87.6`` never prints
as ``87.59999999``. Ratios used in band comparisons are never divided: the compiler
cross-multiplies (``a >= t * b``), which is exact at this scale. Division elsewhere (a mean,
a per-head share) rounds at ``SCALE`` decimals before the final half-up rounding to the fen;
with realistic operands a value that is not exactly on a ``.xx5`` tie stays far more than
``10**-SCALE`` away from it, so the double rounding cannot flip a result.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl

SCALE = 10
DEC = pl.Decimal(38, SCALE)
ZERO = Decimal(0)
HALF = Decimal("0.5")


def dlit(value: Decimal | int | str) -> pl.Expr:
    """A decimal literal at the engine's scale."""
    return pl.lit(Decimal(value), dtype=DEC)


def round_half_up(expr: pl.Expr, places: int = 2) -> pl.Expr:
    """Round half away from zero (四舍五入) to ``places`` decimals, staying Decimal."""
    factor = dlit(Decimal(10) ** places)
    magnitude = ((expr.abs() * factor) + dlit(HALF)).floor() / factor
    return pl.when(expr < dlit(0)).then(-magnitude).otherwise(magnitude).cast(DEC)


def quantize(value: Decimal, places: int = 2) -> Decimal:
    """Python-side twin of :func:`round_half_up`, for scalars."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def parse_number(text: str) -> Decimal:
    """Parse a number as people write it in the schemes: ``96.5%``, ``6‰``, ``1,200``."""
    raw = text.strip().replace(",", "")
    if raw.endswith("%"):
        return Decimal(raw[:-1]) / 100
    if raw.endswith("‰"):
        return Decimal(raw[:-1]) / 1000
    return Decimal(raw)


def to_json_number(value: Decimal | None) -> float | int | None:
    """A Decimal as a JSON number: integers stay integers, 2-decimal values print exactly."""
    if value is None:
        return None
    normal = value.normalize()
    if normal == normal.to_integral_value():
        return int(normal)
    return float(normal)
