"""The engine's front door: a scheme and an input table in, an outcome out.

Python API (for the CLI, the store and the web upload)::

    scored = score_table(scheme, table, tables={"late_payments": frame})

``table`` is a validated :class:`~kaohe.columns.InputTable` (``kaohe.ingest.table.prepare``
or ``read_table``); its monthly rows are scored and its year / quarter rows (``table.annual``,
for inputs declared ``period: year`` or ``quarter``) feed the aggregates. ``tables`` gives
the scheme's item tables by name: each either an :class:`~kaohe.ingest.table.ItemRows`
(``read_items`` / ``prepare_items``) or a Polars frame of text cells with a header row's
names as columns (``employee``, ``period`` and the declared columns, by id or label), which
is validated here. An item row naming no employee and month of ``table`` is bad input
(:class:`~kaohe.errors.InputError` naming the table's source, row and employee); a table not
given has no rows (every month sums to 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from kaohe.columns import InputTable
from kaohe.engine.checks import check_required
from kaohe.engine.items import check_matches
from kaohe.engine.plan import Plan, compile_scheme
from kaohe.engine.run import Outcome, run
from kaohe.ingest.table import ItemRows, prepare_items, read_items, read_table
from kaohe.scheme.models import Scheme


@dataclass
class Scored:
    scheme: Scheme
    table: InputTable
    outcome: Outcome


_PLANS: dict[int, tuple[Scheme, Plan]] = {}


def plan_for(scheme: Scheme) -> Plan:
    """Compile a scheme once and reuse its plan."""
    hit = _PLANS.get(id(scheme))
    if hit is not None and hit[0] is scheme:
        return hit[1]
    plan = compile_scheme(scheme)
    _PLANS[id(scheme)] = (scheme, plan)
    return plan


def item_rows(scheme: Scheme, tables: Mapping[str, ItemRows | pl.DataFrame] | None
              ) -> dict[str, ItemRows]:
    """The item tables as validated :class:`ItemRows` (frames of text cells are read)."""
    out: dict[str, ItemRows] = {}
    for name, t in (tables or {}).items():
        out[name] = t if isinstance(t, ItemRows) else prepare_items(
            t, scheme, name, f"<table {name}>")
    return out


def score_table(scheme: Scheme, table: InputTable, *,
                tables: Mapping[str, ItemRows | pl.DataFrame] | None = None) -> Scored:
    plan = plan_for(scheme)
    table = check_required(plan, table)
    items = item_rows(scheme, tables)
    for rows in items.values():
        check_matches(table, rows)
    return Scored(scheme, table, run(plan, table.frame, annual=table.annual, items=items))


def score_file(scheme: Scheme, path: str | Path | list[Path], *,
               period: str | None = None,
               tables: Mapping[str, str | Path] | None = None) -> Scored:
    """Score a file (or files joined on employee and period); ``tables``: item table name →
    its file (``--table NAME=FILE.csv``)."""
    table = read_table(path, scheme, default_period=period)
    items = {name: read_items(p, scheme, name, default_period=period)
             for name, p in (tables or {}).items()}
    return score_table(scheme, table, tables=items)
