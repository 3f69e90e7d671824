"""The names of the columns the input table and the engine share, in one place.

The input table has the key columns below plus one ``in:<id>`` column per input (a rated
input has one per rater: ``in:<id>@<rater>``). The engine adds one column per quantity a
scheme defines, named ``<prefix><id>``: ``ind:completion``, ``pay:base``, ``band:aov``...
Every module that names such a column builds the name here, so a prefix changes in one line.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

EMPLOYEE = "employee"
TEAM = "team"
PERIOD = "period"
NAME = "name"
#: the month index of the period (for windows over an employee's history)
PIDX = "__pidx"
#: the source row number (the header is row 1)
ROW = "__row"
#: false on rows the scheme's eligibility rule excludes
ASSESSED = "__assessed"
#: the cohort of team formulas and ranks
COHORT = [PERIOD, TEAM]

INPUT = "in:"
INDICATOR = "ind:"
VALUE = "val:"
BAND = "band:"
SECTION = "sec:"
ADJUSTMENT = "adj:"
POOL = "pool:"
POOL_AMOUNT = "poolamt:"
UNALLOCATED = "unalloc:"
PAY = "pay:"
FLAG = "flag:"
#: a rated indicator's exact weighted mark, and whether a rater is missing
RATED_MARK = "value:"
MISSING_RATER = "miss:"
#: aggregate helper columns
AGG_CALL = "aggc:"
AWARD = "award:"
AGG_FLAG = "aflag:"
#: a reported aggregate value (``aval:<id>``) and a helper one (``acomp:<id>``)
AGG_VALUE = "aval:"
AGG_COMPUTE = "acomp:"
#: an item-table function's result joined to the row (``items:sum_items(t, x)``)
ITEMS = "items:"
#: a reason's own columns (``why:<id>:<part>``), evaluated only when a reason is shown
REASON = "why:"


def input_col(ident: str) -> str:
    return f"{INPUT}{ident}"


def indicator_col(ident: str) -> str:
    return f"{INDICATOR}{ident}"


def value_col(ident: str) -> str:
    return f"{VALUE}{ident}"


def band_col(ident: str) -> str:
    return f"{BAND}{ident}"


def section_col(ident: str) -> str:
    return f"{SECTION}{ident}"


def adjustment_col(ident: str) -> str:
    return f"{ADJUSTMENT}{ident}"


def pool_col(ident: str) -> str:
    return f"{POOL}{ident}"


def pool_amount_col(ident: str) -> str:
    return f"{POOL_AMOUNT}{ident}"


def unallocated_col(ident: str) -> str:
    return f"{UNALLOCATED}{ident}"


def pay_col(ident: str) -> str:
    return f"{PAY}{ident}"


def flag_col(index: int) -> str:
    return f"{FLAG}{index}"


def rated_mark_col(ident: str) -> str:
    return f"{RATED_MARK}{ident}"


def missing_rater_col(ident: str) -> str:
    return f"{MISSING_RATER}{ident}"


def items_col(call: str) -> str:
    return f"{ITEMS}{call}"


def reason_col(ident: str, part: str) -> str:
    return f"{REASON}{ident}:{part}"


def is_computed(column: str) -> bool:
    """A column the engine computed (not an input or a key column)."""
    return ":" in column and not column.startswith(INPUT)


@dataclass(frozen=True)
class InputTable:
    """A validated input table: one row per employee and period, every input typed."""

    frame: pl.DataFrame
    source: str
    has_team: bool
    has_period: bool
    has_name: bool
    #: canonical column (an input id, ``employee``...) → the header as written in the file
    headers: dict[str, str] | None = None
    #: the year (``2026``) and quarter (``2026-Q4``) rows of a scheme with inputs of the
    #: year or quarter, with the same columns as ``frame`` plus ``__kind`` (``year`` or
    #: ``quarter``); None when the scheme has none. They feed the aggregates only.
    annual: pl.DataFrame | None = None
