"""Item tables: rows per employee and period (none or many), summed into the main rows.

A scheme declares an item table under ``items:`` with its columns and per-item ``values``
(each rounded, floored and capped on its own). Formulas of the main rows read a table only
through the item functions — ``sum_items(t, x)``, ``count_items(t)``, ``count_items(t,
cond)``, ``any_items(t, cond)``, ``max_items(t, x)`` — whose second argument is a formula
over one item row. Each call is computed once, grouped by employee and period, and joined to
the main rows as a column (``items:<call>``); a month without items sums to 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
from pydantic import BaseModel

from kaohe import columns as C
from kaohe.columns import EMPLOYEE, PERIOD, ROW, InputTable
from kaohe.engine.exprs import Lowering, Symbol, Type
from kaohe.errors import ExprError, InputError, SchemeError
from kaohe.ingest.table import ItemRows, problem
from kaohe.numbers import DEC, dlit, round_half_up
from kaohe.scheme.expr import (
    ITEM_FUNCTIONS,
    Call,
    Name,
    Node,
    outermost_calls,
    render,
)
from kaohe.scheme.models import FormulaText, Scheme
from kaohe.text import N_, Text

ITEM_VALUE = "ival:"


@dataclass(frozen=True)
class ItemCall:
    """One item function call of the scheme, computed into the column ``column``."""

    column: str
    table: str
    func: str
    arg: Node | None
    where: str


def _formulas(obj: Any, path: str) -> Iterator[tuple[str, FormulaText]]:
    if isinstance(obj, FormulaText):
        yield path, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            if path == "" and name == "items":
                continue  # an item table's own formulas read its rows, not the main ones
            yield from _formulas(getattr(obj, name), f"{path}.{name}" if path else name)
    elif isinstance(obj, list | tuple):
        for i, x in enumerate(obj):
            yield from _formulas(x, f"{path}[{i}]")
    elif isinstance(obj, dict):
        for k, x in obj.items():
            yield from _formulas(x, f"{path}.{k}")


def _calls(node: Node, acc: list[Call]) -> None:
    acc.extend(outermost_calls(node, lambda call: call.func in ITEM_FUNCTIONS))


def item_symbols(scheme: Scheme, table: str) -> dict[str, Symbol]:
    """The names a formula over one row of the item table reads: its columns and values."""
    spec = scheme.items[table]
    syms = {ident: Symbol(C.input_col(ident), "str" if col.type == "level" else "num")
            for ident, col in spec.columns.items()}
    for v in spec.values:
        syms[v.id] = Symbol(f"{ITEM_VALUE}{v.id}", "num")
    return syms


def item_calls(scheme: Scheme) -> list[ItemCall]:
    """Every item function call in the scheme's formulas, checked: the table exists and the
    second argument reads only its columns and values, with the right type."""
    out: dict[str, ItemCall] = {}
    errors: list[str] = []
    for path, text in _formulas(scheme, ""):
        found: list[Call] = []
        _calls(text.tree, found)
        for call in found:
            where = path
            try:
                item = _check_call(scheme, call)
            except ExprError as exc:
                errors.append(f"{where}: {exc}")
                continue
            col = C.items_col(render(call))
            out.setdefault(col, ItemCall(col, item[0], call.func, item[1], where))
    errors += _check_values(scheme)
    if errors:
        raise SchemeError("\n".join(dict.fromkeys(errors)))
    return list(out.values())


def _check_call(scheme: Scheme, call: Call) -> tuple[str, Node | None]:
    args = call.args
    lo, hi = (1, 2) if call.func == "count_items" else (2, 2)
    if not lo <= len(args) <= hi:
        arity = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise ExprError(f"{call.func}() takes {arity} arguments, got {len(args)} in "
                        f"{render(call)!r}")
    if not isinstance(args[0], Name) or args[0].id not in scheme.items:
        raise ExprError(
            f"{call.func}()'s first argument must name an item table of the scheme "
            f"({', '.join(sorted(scheme.items)) or 'none declared under items:'}) in "
            f"{render(call)!r}")
    table = args[0].id
    arg = args[1] if len(args) == 2 else None
    if arg is not None:
        want: Type = "num" if call.func in ("sum_items", "max_items") else "bool"
        low = Lowering(item_symbols(scheme, table), scheme.tables, mode="item")
        low.lower(arg, want, f"{call.func}()'s second argument")
    return table, arg


def _check_values(scheme: Scheme) -> list[str]:
    errors: list[str] = []
    for name, spec in scheme.items.items():
        syms = {ident: s for ident, s in item_symbols(scheme, name).items()
                if ident in spec.columns}
        for i, v in enumerate(spec.values):
            try:
                Lowering(syms, scheme.tables, mode="item").lower(v.formula.tree, "num",
                                                    f"items.{name}.values[{i}].formula")
            except ExprError as exc:
                errors.append(f"items.{name}.values[{i}].formula: {exc}")
            syms[v.id] = Symbol(f"{ITEM_VALUE}{v.id}", "num")
    return errors


def with_item_values(scheme: Scheme, rows: ItemRows) -> pl.DataFrame:
    """The item rows with each declared value computed (rounded, floored, capped)."""
    spec = scheme.items[rows.name]
    frame = rows.frame
    syms = item_symbols(scheme, rows.name)
    low = Lowering(syms, scheme.tables, mode="item")
    for v in spec.values:
        x = low.lower(v.formula.tree, "num").expr
        if v.floor is not None:
            x = pl.max_horizontal(x, dlit(v.floor))
        if v.cap is not None:
            x = pl.min_horizontal(x, dlit(v.cap))
        if v.round is not None:
            x = round_half_up(x, v.round)
        frame = frame.with_columns(x.cast(DEC).alias(f"{ITEM_VALUE}{v.id}"))
    return frame


def _aggregate(call: ItemCall, low: Lowering) -> pl.Expr:
    if call.func == "count_items" and call.arg is None:
        return pl.len().cast(DEC)
    assert call.arg is not None
    if call.func == "count_items":
        return low.lower(call.arg, "bool").expr.fill_null(False).sum().cast(DEC)
    if call.func == "any_items":
        return low.lower(call.arg, "bool").expr.fill_null(False).any()
    x = low.lower(call.arg, "num").expr
    return x.max() if call.func == "max_items" else x.sum().cast(DEC)


def join_items(scheme: Scheme, calls: list[ItemCall], frame: pl.DataFrame,
               tables: Mapping[str, ItemRows]) -> pl.DataFrame:
    """The main rows with one column per item call (0 / false where a month has none)."""
    if not calls:
        return frame
    out = frame
    for name in dict.fromkeys(c.table for c in calls):
        mine = [c for c in calls if c.table == name]
        rows = tables.get(name)
        if rows is None:
            empty = {"count_items": dlit(0), "sum_items": dlit(0), "any_items": pl.lit(False),
                     "max_items": pl.lit(None, dtype=DEC)}
            out = out.with_columns([empty[c.func].alias(c.column) for c in mine])
            continue
        low = Lowering(item_symbols(scheme, name), scheme.tables, mode="item")
        per = (with_item_values(scheme, rows).group_by([EMPLOYEE, PERIOD], maintain_order=True)
               .agg([_aggregate(c, low).alias(c.column) for c in mine]))
        out = out.join(per, on=[EMPLOYEE, PERIOD], how="left", nulls_equal=True,
                       maintain_order="left")
    return out


def check_matches(table: InputTable, rows: ItemRows) -> None:
    """Every item row names an employee and month of the main input (else bad input)."""
    keys = table.frame.select(EMPLOYEE, PERIOD).unique()
    found = rows.frame.join(keys.with_columns(pl.lit(True).alias("__hit")),
                            on=[EMPLOYEE, PERIOD], how="left", nulls_equal=True,
                            maintain_order="left")
    for r in found.filter(pl.col("__hit").is_null()).sort(ROW).iter_rows(named=True):
        problem(InputError(Text(
            N_("the %(table)s row of employee %(employee)s in %(period)s matches no row of "
               "the main input %(main)s"), table=repr(rows.name), employee=repr(r[EMPLOYEE]),
            period=r[PERIOD] or "(no period)", main=table.source),
            file=rows.source, row=int(r[ROW]), column=EMPLOYEE, value=r[EMPLOYEE]))


__all__ = ["InputError", "ItemCall", "check_matches", "item_calls", "join_items",
           "with_item_values"]
