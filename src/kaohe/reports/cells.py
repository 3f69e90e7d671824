"""Cells a spreadsheet cannot run: exports put people's names, teams and notes into xlsx and
CSV files that HR opens in Excel or WPS, so text must stay text.

* xlsx: text is written with ``write_string`` (never ``write``, which turns ``=…`` into a
  formula and ``http://…`` into a link), numbers with ``write_number``; workbooks are opened
  with the conversions switched off as a second guard.
* CSV has no types: a text cell starting with ``= + - @``, a tab or a carriage return gets a
  leading apostrophe, so spreadsheets show it instead of evaluating it (the OWASP advice for
  CSV injection). Numbers kaohe formats itself (``-12.50``) are left as they are.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl

#: what a spreadsheet reads as the start of a formula (or of a DDE payload)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: options for every ``xlsxwriter.Workbook``: no string is ever converted
WORKBOOK_OPTIONS: dict[str, Any] = {"strings_to_formulas": False, "strings_to_urls": False,
                                    "strings_to_numbers": False}


def csv_text(value: Any) -> Any:
    """A CSV cell: text that a spreadsheet would evaluate is prefixed with ``'``; anything
    else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_text_expr(e: pl.Expr) -> pl.Expr:
    """:func:`csv_text` for a whole text column (Polars, no Python per row)."""
    text = e.cast(pl.String)
    return pl.when(text.str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + text).otherwise(text)


def write_cell(ws: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
    """One xlsx cell: blank, number or text — text always as text."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_string(row, col, "1" if value else "0", fmt)
    elif isinstance(value, int | float | Decimal):
        ws.write_number(row, col, float(value), fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def write_cells(ws: Any, row: int, values: list[Any], fmt: Any = None) -> None:
    for col, value in enumerate(values):
        write_cell(ws, row, col, value, fmt)
