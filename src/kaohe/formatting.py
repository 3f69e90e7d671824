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

from kaohe.numbers import round_half_up

__all__ = ["MINUS", "cents", "count_expr", "dec", "money", "money_expr", "pct", "pct_expr",
           "plain", "plain_expr", "shown", "two", "two_expr"]

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
    return "—" if d is None else f"{d.quantize(CENT, rounding=ROUND_HALF_UP):f}"


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

def _grouped(text: pl.Expr) -> pl.Expr:
    """``1234567.50`` → ``1,234,567.50`` (text of a non-negative number)."""
    parts = text.str.split_exact(".", 1)
    whole = parts.struct.field("field_0")
    frac = parts.struct.field("field_1")
    grouped = (whole.str.reverse().str.replace_all(r"(\d{3})", "$1,").str.reverse()
               .str.strip_chars_start(","))
    return pl.when(frac.is_null()).then(grouped).otherwise(
        pl.concat_str([grouped, pl.lit("."), frac]))


def _signed(x: pl.Expr, text_of_abs: pl.Expr) -> pl.Expr:
    return pl.when(x < 0).then(pl.concat_str([pl.lit(MINUS), text_of_abs])).otherwise(
        text_of_abs)


def _rounded(x: pl.Expr, places: int) -> pl.Expr:
    return round_half_up(x, places).cast(pl.Decimal(38, places))


def money_expr(x: pl.Expr) -> pl.Expr:
    """Two decimals with thousands separators: ``88,775.90``; null stays null."""
    r = _rounded(x, 2)
    return _signed(r, _grouped(r.abs().cast(pl.String)))


def two_expr(x: pl.Expr) -> pl.Expr:
    """Two decimals: ``30.00``, ``−100.00``."""
    r = _rounded(x, 2)
    return _signed(r, r.abs().cast(pl.String))


def _trimmed(text: pl.Expr) -> pl.Expr:
    """``32.50`` → ``32.5``, ``32.00`` → ``32``."""
    return pl.when(text.str.contains(r"\.")).then(
        text.str.strip_chars_end("0").str.strip_chars_end(".")).otherwise(text)


def plain_expr(x: pl.Expr, places: int = 2) -> pl.Expr:
    """Up to ``places`` decimals, trailing zeros dropped, thousands grouped: ``1,280``,
    ``32.5``."""
    r = _rounded(x, places)
    return _signed(r, _grouped(_trimmed(r.abs().cast(pl.String))))


def count_expr(x: pl.Expr) -> pl.Expr:
    """A count: ``2``, ``1.5`` (a half day stays a half)."""
    return plain_expr(x)


def pct_expr(x: pl.Expr) -> pl.Expr:
    """A ratio in percent with two decimals: ``110.97%``."""
    r = _rounded(x * 100, 2)
    return pl.concat_str([_signed(r, _grouped(r.abs().cast(pl.String))), pl.lit("%")])
