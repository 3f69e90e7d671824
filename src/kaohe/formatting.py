"""Numbers as people read them, the same on every surface: the CLI, the web pages, the
forms (xlsx and PDF) and the reasons.

Python functions format one value; the ``*_expr`` functions build the same text for a whole
column with Polars string expressions (no Python per row). Rounding is half-up (四舍五入),
as everywhere in kaohe; a negative number is written with the minus sign ``−``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import polars as pl

__all__ = ["MINUS", "cents", "count_expr", "dec", "money", "money_expr", "pct", "pct_expr",
           "plain", "plain_expr", "scaled", "shown", "two", "two_expr", "written"]

MINUS = "−"
CENT = Decimal("0.01")
_TWO = pl.Decimal(38, 2)


def dec(v: Any) -> Decimal | None:
    """A number as a Decimal (None for blanks, text and yes/no values)."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, Decimal):
        return v
    if isinstance(v, int | float):
        try:
            return Decimal(str(v))
        except InvalidOperation:
            return None
    return None


def cents(v: Any) -> float | None:
    """A number for a spreadsheet cell: rounded half-up to the fen, as a float (which
    prints exactly as the 2-decimal value)."""
    d = dec(v)
    if d is None or not d.is_finite():
        return None
    return float(d.quantize(CENT, rounding=ROUND_HALF_UP))


def two(v: Any) -> str:
    """Two decimals, half-up (``—`` for a blank): ``30.00``."""
    d = dec(v)
    if d is None:
        return "—"
    q = d.quantize(CENT, rounding=ROUND_HALF_UP)
    return f"{abs(q) if q == 0 else q:f}"  # −0.004 is 0.00, not −0.00


def money(v: Any) -> str:
    """Two decimals with thousands separators: ``88,775.90``."""
    d = dec(v)
    if d is None:
        return "—"
    text = f"{abs(d.quantize(CENT, rounding=ROUND_HALF_UP)):,f}"
    return f"{MINUS}{text}" if d.quantize(CENT, rounding=ROUND_HALF_UP) < 0 else text


def plain(d: Decimal) -> str:
    """A number as people write it: no exponent, no trailing zeros; up to 4 decimals as
    given (a rate such as 0.006), anything longer rounded to 2."""
    if d != d.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP):
        d = d.quantize(CENT, rounding=ROUND_HALF_UP)
    d = d.normalize()
    return f"{d:f}" if d != 0 else "0"


def pct(d: Decimal, places: int | None = None) -> str:
    """A ratio in percent: ``30%``, ``0.6%`` (``places``: that many decimals)."""
    x = d * 100
    if places is not None:
        return f"{x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):f}%"
    return f"{plain(x)}%"


def shown(v: Any, *, percent: bool = False) -> str:
    """Any value of a table cell: numbers plain (or in percent), yes/no as 1/0, text as is."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "1" if v else "0"
    d = dec(v)
    if d is None:
        return str(v)
    return pct(d, 2) if percent else plain(d)


# -- whole columns --------------------------------------------------------------------------
# A number is first scaled to a whole Int64 (half-up: 88775.9 at 2 places → 8877590), then
# written out with integer arithmetic and short string pieces: no Decimal or string search
# per digit group, so a column of 100,000 numbers takes a few milliseconds.

def scaled(x: pl.Expr, places: int = 2, factor: int = 1) -> pl.Expr:
    """``x × factor`` rounded half-up to ``places`` decimals, as a whole Int64 count of
    ``10**-places`` (null where blank or beyond Int64)."""
    unit = 10 ** places
    if factor != 1:
        x = x * factor
    # the same half-up (away from zero) rounding as kaohe.numbers.round_half_up, done by
    # Polars' own rounding of Decimals
    whole: pl.Expr = (x * unit).round(0, mode="half_away_from_zero")
    return whole.cast(pl.Int64, strict=False)


def _pad(n: pl.Expr, width: int) -> pl.Expr:
    shifted: pl.Expr = n + 10 ** width
    return shifted.cast(pl.String).str.slice(1)


def _grouped_int(whole: pl.Expr) -> pl.Expr:
    """A non-negative Int64 with thousands separators: ``1,234,567`` (up to
    999,999,999,999; larger amounts, which no pay line reaches, are written ungrouped)."""
    pieces: list[pl.Expr] = []
    sep = pl.lit(",")
    for k in (3, 2, 1):
        unit = 1000 ** k
        group = (whole // unit) % 1000
        pieces.append(
            pl.when(whole >= unit * 1000).then(pl.concat_str([_pad(group, 3), sep]))
            .when(whole >= unit).then(pl.concat_str([group.cast(pl.String), sep])))
    last = whole % 1000
    pieces.append(pl.when(whole >= 1000).then(_pad(last, 3)).otherwise(last.cast(pl.String)))
    return pl.when(whole >= 1000 ** 4).then(whole.cast(pl.String)).otherwise(
        pl.concat_str(pieces, ignore_nulls=True))


def written(n: pl.Expr, places: int = 2, *, group: bool = True, trim: bool = False,
            suffix: str = "") -> pl.Expr:
    """The text of a number scaled by :func:`scaled`: ``places`` decimals (trailing zeros
    dropped with ``trim``), thousands separators with ``group``, ``−`` when negative."""
    unit = 10 ** places
    if not group and not trim:
        # a Decimal with ``places`` decimals prints itself: 8877590 → 88775.90
        fixed = (n.cast(pl.Decimal(38, 0)) * Decimal(1).scaleb(-places)).cast(
            pl.Decimal(38, places)).cast(pl.String).str.replace("-", MINUS, literal=True)
        return pl.concat_str([fixed, pl.lit(suffix)]) if suffix else fixed
    a = n.abs()
    whole = a // unit
    head = _grouped_int(whole) if group else whole.cast(pl.String)
    if places:
        frac = _pad(a % unit, places)
        if trim:
            frac = frac.str.strip_chars_end("0")
            body = pl.when(frac == "").then(head).otherwise(
                pl.concat_str([head, pl.lit("."), frac]))
        else:
            body = pl.concat_str([head, pl.lit("."), frac])
    else:
        body = head
    text = pl.when(n < 0).then(pl.concat_str([pl.lit(MINUS), body])).otherwise(body)
    return pl.concat_str([text, pl.lit(suffix)]) if suffix else text


def money_expr(x: pl.Expr) -> pl.Expr:
    """Two decimals with thousands separators: ``88,775.90``; null stays null."""
    return written(scaled(x, 2), 2)


def two_expr(x: pl.Expr) -> pl.Expr:
    """Two decimals: ``30.00``, ``−100.00``."""
    return written(scaled(x, 2), 2, group=False)


def plain_expr(x: pl.Expr, places: int = 2) -> pl.Expr:
    """Up to ``places`` decimals, trailing zeros dropped, thousands grouped: ``1,280``,
    ``32.5``."""
    return written(scaled(x, places), places, trim=True)


def count_expr(x: pl.Expr) -> pl.Expr:
    """A count: ``2``, ``1.5`` (a half day stays a half)."""
    return plain_expr(x)


def pct_expr(x: pl.Expr) -> pl.Expr:
    """A ratio in percent with two decimals: ``110.97%``."""
    return written(scaled(x, 2, 100), 2, suffix="%")
