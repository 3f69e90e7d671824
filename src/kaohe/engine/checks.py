"""Checks of an input table that need the compiled scheme: blanks in required inputs.

Who is assessed is decided by the scheme's eligibility formula, and ``required_when`` is a
formula too, so these checks run here, after the input table is read and typed
(:mod:`kaohe.ingest.table`) and before it is scored.
"""

from __future__ import annotations

import polars as pl

from kaohe.columns import ASSESSED, InputTable, input_col
from kaohe.engine.exprs import Lowering
from kaohe.engine.plan import Plan
from kaohe.errors import ExprError, InputError
from kaohe.ingest.table import fail
from kaohe.text import N_, Text


def check_required(plan: Plan, table: InputTable) -> InputTable:
    """Blank cells in required inputs are errors on rows that are assessed."""
    scheme = plan.scheme
    source = table.source
    header_of = table.headers or {}
    frame = table.frame.with_columns(plan.layers[0][0][1].alias(ASSESSED))
    assessed = frame[ASSESSED]
    syms = {k: v for k, v in plan.symbols.items() if k in scheme.inputs}
    low = Lowering(syms, scheme.tables)
    for ident, spec in scheme.inputs.items():
        if spec.period != "month":
            continue  # on the year / quarter rows, checked when the table was read
        if spec.raters:
            cols = [input_col(f"{ident}@{r}") for r in spec.raters]
            if any(c not in frame.columns for c in cols):
                continue
            none = frame.select(pl.all_horizontal([pl.col(c).is_null() for c in cols])).to_series()
            if spec.required:
                header = next((header_of[f"{ident}@{r}"] for r in spec.raters
                               if f"{ident}@{r}" in header_of), f"{ident}@{spec.raters[0]}")
                fail(source, frame, none & assessed, cols[0], header,
                     Text(N_("no rater gave a mark for %(input)s (%(label)s); at least one of "
                             "%(columns)s is needed"), input=repr(ident), label=spec.label,
                          columns=", ".join(f"{ident}@{r}" for r in spec.raters)))
            continue
        col = input_col(ident)
        if spec.default is not None or col not in frame.columns:
            continue
        missing = frame[col].is_null()
        if spec.required_when is not None:
            try:
                cond = frame.select(
                    low.lower(spec.required_when.tree, "bool").expr.fill_null(True)
                ).to_series()
            except ExprError as exc:
                raise InputError(f"inputs.{ident}.required_when: {exc}") from None
            need = missing & assessed & cond
        elif spec.required:
            need = missing & assessed
        else:
            continue
        fail(source, frame, need, col, header_of.get(ident, ident),
             Text(N_("the value is missing%(label)s"),
                  label=f" ({spec.label})" if spec.label else ""))
    return InputTable(frame, source, table.has_team, table.has_period, table.has_name,
                      table.headers, annual=table.annual)
