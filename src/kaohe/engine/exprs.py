"""Lowering of formula ASTs to Polars expressions, with type checking.

One visitor turns each node of :mod:`kaohe.scheme.expr` into a Polars expression over the
engine's columns. Types are checked on the way (``num``, ``bool``, ``str``), so a scheme
that compares a grade with a number, or calls an unknown function, fails when loaded.

Row-level context: names resolve to columns; ``team_*`` functions are windows over the
team and period (assessed rows only); ``streak``/``count_so_far``/``prev`` are windows over
the employee's own periods, ordered by period index within the window (no global sort).
Aggregate context (quarter/year): ``sum``, ``mean``, ``count``, ``months``, ``last`` are
group aggregations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import polars as pl

from kaohe.columns import ASSESSED, COHORT, EMPLOYEE, PIDX, items_col
from kaohe.errors import ExprError
from kaohe.numbers import DEC, dlit, round_half_up
from kaohe.scheme.expr import (
    ITEM_FUNCTIONS,
    BinOp,
    BoolOp,
    Call,
    Compare,
    Name,
    Neg,
    Node,
    Not,
    Num,
    Str,
    render,
)

Type = Literal["num", "bool", "str"]



@dataclass(frozen=True)
class Typed:
    expr: pl.Expr
    type: Type


@dataclass(frozen=True)
class Symbol:
    column: str
    type: Type


ROW_FUNCTIONS = {
    "min", "max", "clamp", "if", "round", "ceil", "floor", "abs", "lookup", "is_missing",
    "coalesce", "team_sum", "team_mean", "team_count", "team_rank", "team_max", "team_min",
    "streak", "count_so_far", "prev", *ITEM_FUNCTIONS,
}
AGG_FUNCTIONS = {"sum", "mean", "count", "months", "last", "min", "max", "any"}


def is_agg_call(node: Call) -> bool:
    """A call over the months of a quarter or year (``min``/``max`` of one argument; with
    two or more they are the row functions, e.g. ``max(mean(total), 60)``)."""
    if node.func not in AGG_FUNCTIONS:
        return False
    return node.func not in ("min", "max") or len(node.args) == 1


def safe_div(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """``num / den`` with null where ``den`` is 0 (Polars refuses Decimal division by zero)."""
    safe = pl.when(den == dlit(0)).then(dlit(1)).otherwise(den)
    return pl.when(den == dlit(0)).then(pl.lit(None, dtype=DEC)).otherwise(num / safe)


@dataclass
class Lowering:
    """Lowers formulas given the symbols visible at one stage of the plan."""

    symbols: Mapping[str, Symbol]
    tables: Mapping[str, Mapping[str, Any]]
    mode: Literal["row", "agg", "post_agg"] = "row"
    #: in post-aggregate mode: rendered aggregate call → its column
    agg_columns: Mapping[str, str] = field(default_factory=dict)
    on_agg_call: Callable[[Call], str] | None = None
    #: in post-aggregate mode: rendered aggregate call → its type (default: a number)
    agg_types: Mapping[str, Type] = field(default_factory=dict)

    def lower(self, node: Node, expect: Type | None = None, what: str = "formula") -> Typed:
        out = self._lower(node)
        if expect is not None and out.type != expect:
            raise ExprError(
                f"{what} {render(node)!r} gives a {_tname(out.type)}, expected a {_tname(expect)}"
            )
        return out

    # -- visitors -----------------------------------------------------------------
    def _lower(self, node: Node) -> Typed:
        match node:
            case Num(value=v):
                return Typed(dlit(v), "num")
            case Str(value=s):
                return Typed(pl.lit(s, dtype=pl.String), "str")
            case Name(id=ident):
                sym = self.symbols.get(ident)
                if sym is None:
                    raise ExprError(
                        f"unknown name {ident!r} in formula; known: "
                        + ", ".join(sorted(self.symbols))
                    )
                return Typed(pl.col(sym.column), sym.type)
            case Neg(operand=o):
                return Typed(-self._num(o), "num")
            case Not(operand=o):
                return Typed(~self._bool(o), "bool")
            case BoolOp(op=op, operands=ops):
                parts = [self._bool(o) for o in ops]
                acc = parts[0]
                for p in parts[1:]:
                    acc = (acc & p) if op == "and" else (acc | p)
                return Typed(acc, "bool")
            case BinOp(op=op, left=a, right=b):
                x, y = self._num(a), self._num(b)
                if op == "+":
                    return Typed(x + y, "num")
                if op == "-":
                    return Typed(x - y, "num")
                if op == "*":
                    return Typed(x * y, "num")
                return Typed(safe_div(x, y), "num")
            case Compare(op=op, left=a, right=b):
                return Typed(self._compare(op, a, b), "bool")
            case Call():
                return self._call(node)
        raise ExprError(f"cannot use {node!r} here")  # pragma: no cover

    def _num(self, node: Node) -> pl.Expr:
        return self.lower(node, "num", "operand").expr

    def _bool(self, node: Node) -> pl.Expr:
        return self.lower(node, "bool", "condition").expr

    def _compare(self, op: str, a: Node, b: Node) -> pl.Expr:
        x, y = self._lower(a), self._lower(b)
        if x.type != y.type or x.type == "bool":
            raise ExprError(
                f"cannot compare {render(a)!r} ({_tname(x.type)}) with "
                f"{render(b)!r} ({_tname(y.type)})"
            )
        if x.type == "str" and op not in ("=", "!="):
            raise ExprError(f"text can only be compared with = or !=, not {op!r}")
        return compare(op, x.expr, y.expr)

    def _call(self, node: Call) -> Typed:
        f, args = node.func, node.args
        agg = is_agg_call(node)
        if self.mode == "post_agg" and agg and render(node) in self.agg_columns:
            key = render(node)
            return Typed(pl.col(self.agg_columns[key]),
                         self.agg_types.get(key, "bool" if f == "any" else "num"))
        if self.mode == "agg" and agg:
            return self._agg_call(node)
        if self.mode == "post_agg" and agg and self.on_agg_call is not None:
            return Typed(pl.col(self.on_agg_call(node)), "num")
        if f not in ROW_FUNCTIONS or (self.mode != "row" and f.startswith("team_")
                                      and f != "team_count") or (
            self.mode != "row" and f in ("streak", "count_so_far", "prev", *ITEM_FUNCTIONS)
        ):
            known = sorted(ROW_FUNCTIONS | (AGG_FUNCTIONS if self.mode != "row" else set()))
            raise ExprError(f"unknown function {f!r}; known functions: {', '.join(known)}")
        handler = getattr(self, f"_fn_{f}")
        out: Typed = handler(node, args)
        return out

    def _arity(self, node: Call, lo: int, hi: int | None = None) -> None:
        n = len(node.args)
        hi = lo if hi is None else hi
        if n < lo or n > hi:
            want = f"{lo}" if lo == hi else f"{lo} to {hi}"
            raise ExprError(f"{node.func}() takes {want} arguments, got {n} in {render(node)!r}")

    # -- scalar functions ------------------------------------------------------
    def _fn_min(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 2, 99)
        return Typed(pl.min_horizontal([self._num(a) for a in args]), "num")

    def _fn_max(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 2, 99)
        return Typed(pl.max_horizontal([self._num(a) for a in args]), "num")

    def _fn_clamp(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 3)
        x, lo, hi = (self._num(a) for a in args)
        return Typed(pl.min_horizontal(pl.max_horizontal(x, lo), hi), "num")

    def _fn_if(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 3)
        cond = self._bool(args[0])
        a, b = self._lower(args[1]), self._lower(args[2])
        if a.type != b.type:
            raise ExprError(f"both branches of {render(node)!r} must be of one type")
        return Typed(pl.when(cond).then(a.expr).otherwise(b.expr), a.type)

    def _fn_round(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 1, 2)
        places = 2
        if len(args) == 2:
            if not isinstance(args[1], Num) or args[1].value != int(args[1].value):
                raise ExprError(f"round()'s places must be a whole number in {render(node)!r}")
            places = int(args[1].value)
        return Typed(round_half_up(self._num(args[0]), places), "num")

    def _fn_ceil(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 1)
        return Typed(self._num(args[0]).ceil(), "num")

    def _fn_floor(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 1)
        return Typed(self._num(args[0]).floor(), "num")

    def _fn_abs(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 1)
        return Typed(self._num(args[0]).abs(), "num")

    def _fn_is_missing(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 1)
        return Typed(self._lower(args[0]).expr.is_null(), "bool")

    def _fn_coalesce(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 2, 99)
        parts = [self._lower(a) for a in args]
        if len({p.type for p in parts}) != 1:
            raise ExprError(f"coalesce() arguments must be of one type in {render(node)!r}")
        return Typed(pl.coalesce([p.expr for p in parts]), parts[0].type)

    def _fn_lookup(self, node: Call, args: tuple[Node, ...]) -> Typed:
        from kaohe.scheme.models import table_depth, table_rows

        self._arity(node, 2, 2 + 4)
        if not isinstance(args[0], Name) or args[0].id not in self.tables:
            raise ExprError(
                f"lookup()'s first argument must name a table of the scheme "
                f"({', '.join(sorted(self.tables)) or 'none defined'}) in {render(node)!r}"
            )
        table = dict(self.tables[args[0].id])
        depth = table_depth(table)
        if len(args) - 1 not in (depth, depth + 1):
            raise ExprError(
                f"table {args[0].id!r} has {depth} key{'s' if depth > 1 else ''}: "
                f"lookup({args[0].id}, {', '.join(f'key{i + 1}' for i in range(depth))}"
                f"[, default]) in {render(node)!r}")
        keys = [self._lower(a) for a in args[1:1 + depth]]
        default = self._num(args[1 + depth]) if len(args) == depth + 2 else pl.lit(None, dtype=DEC)
        chain: pl.Expr = default
        for ks, v in reversed(table_rows(table)):
            test: pl.Expr | None = None
            for key, k in zip(keys, ks, strict=True):
                if key.type == "str":
                    one = key.expr == pl.lit(k, dtype=pl.String)
                else:
                    try:
                        kd = Decimal(k)
                    except ArithmeticError as exc:
                        raise ExprError(
                            f"table {args[0].id!r} key {k!r} is not a number") from exc
                    one = key.expr == dlit(kd)
                test = one if test is None else test & one
            assert test is not None
            chain = pl.when(test).then(dlit(v)).otherwise(chain)
        return Typed(chain, "num")

    # -- item tables (rows per employee and period) ------------------------------
    # The plan computes each call over the item table once (kaohe.engine.items) and joins
    # it to the row as a column; here the call reads that column. A month with no items
    # sums to 0, counts 0 and has no item (any: false; max: null).
    def _item_column(self, node: Call, args: tuple[Node, ...], lo: int, hi: int) -> str:
        self._arity(node, lo, hi)
        if not isinstance(args[0], Name):
            raise ExprError(f"{node.func}()'s first argument must name an item table in "
                            f"{render(node)!r}")
        return items_col(render(node))

    def _fn_sum_items(self, node: Call, args: tuple[Node, ...]) -> Typed:
        col = self._item_column(node, args, 2, 2)
        return Typed(pl.col(col).fill_null(dlit(0)), "num")

    def _fn_max_items(self, node: Call, args: tuple[Node, ...]) -> Typed:
        col = self._item_column(node, args, 2, 2)
        return Typed(pl.col(col), "num")

    def _fn_count_items(self, node: Call, args: tuple[Node, ...]) -> Typed:
        col = self._item_column(node, args, 1, 2)
        return Typed(pl.col(col).fill_null(dlit(0)), "num")

    def _fn_any_items(self, node: Call, args: tuple[Node, ...]) -> Typed:
        col = self._item_column(node, args, 2, 2)
        return Typed(pl.col(col).fill_null(False), "bool")

    # -- cohort (team and period) ---------------------------------------------
    def _assessed(self, expr: pl.Expr) -> pl.Expr:
        return pl.when(pl.col(ASSESSED)).then(expr)

    def _fn_team_sum(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 1)
        return Typed(self._assessed(self._num(args[0])).sum().over(COHORT).cast(DEC), "num")

    def _fn_team_max(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 1)
        return Typed(self._assessed(self._num(args[0])).max().over(COHORT), "num")

    def _fn_team_min(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 1)
        return Typed(self._assessed(self._num(args[0])).min().over(COHORT), "num")

    def _fn_team_mean(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 1)
        x = self._assessed(self._num(args[0]))
        total = x.sum().over(COHORT).cast(DEC)
        n = x.count().over(COHORT).cast(DEC)
        return Typed(safe_div(total, n), "num")

    def _fn_team_count(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 0)
        if self.mode != "row":
            return Typed(pl.len().over(COHORT).cast(DEC), "num")
        return Typed(pl.col(ASSESSED).sum().over(COHORT).cast(DEC), "num")

    def _fn_team_rank(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 1)
        return Typed(
            cohort_rank([(self._num(args[0]), True)]).cast(DEC), "num"
        )

    # -- history (the employee's own periods) -----------------------------------
    def _fn_count_so_far(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 1)
        cond = self._bool(args[0]).fill_null(False)
        return Typed(cond.cast(pl.Int64).cum_sum().over(EMPLOYEE, order_by=PIDX).cast(DEC),
                     "num")

    def _fn_streak(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 1)
        cond = self._bool(args[0]).fill_null(False)
        return Typed(streak(cond).cast(DEC), "num")

    def _fn_prev(self, node: Call, args: tuple[Node, ...]) -> Typed:
        self._arity(node, 1)
        x = self._lower(args[0])
        adjacent = (pl.col(PIDX) - pl.col(PIDX).shift(1).over(EMPLOYEE, order_by=PIDX)) == 1
        return Typed(pl.when(adjacent).then(x.expr.shift(1).over(EMPLOYEE, order_by=PIDX)),
                     x.type)

    # -- aggregates (quarter / year) --------------------------------------------
    def _agg_call(self, node: Call) -> Typed:
        f, args = node.func, node.args
        if f == "months":
            self._arity(node, 0)
            return Typed(pl.len().cast(DEC), "num")
        if f == "count":
            self._arity(node, 1)
            return Typed(self._bool(args[0]).fill_null(False).sum().cast(DEC), "num")
        if f == "any":
            self._arity(node, 1)
            return Typed(self._bool(args[0]).fill_null(False).any(), "bool")
        self._arity(node, 1)
        if f == "last":
            last = self._lower(args[0])
            return Typed(last.expr.last(), last.type)
        x = self._num(args[0])
        if f == "sum":
            return Typed(x.sum().cast(DEC), "num")
        if f == "min":
            return Typed(x.min(), "num")
        if f == "max":
            return Typed(x.max(), "num")
        return Typed(safe_div(x.sum().cast(DEC), x.count().cast(DEC)), "num")


def compare(op: str, x: pl.Expr, y: pl.Expr) -> pl.Expr:
    if op == "=":
        return x == y
    if op == "!=":
        return x != y
    if op == "<":
        return x < y
    if op == "<=":
        return x <= y
    if op == ">":
        return x > y
    return x >= y


def streak(cond: pl.Expr) -> pl.Expr:
    """Length of the run of adjacent months with ``cond`` true that ends at this row."""
    gap = (pl.col(PIDX) - pl.col(PIDX).shift(1).over(EMPLOYEE, order_by=PIDX)).fill_null(0) != 1
    brk = (~cond) | gap
    run_id = brk.cast(pl.Int64).cum_sum().over(EMPLOYEE, order_by=PIDX)
    return cond.cast(pl.Int64).cum_sum().over([pl.col(EMPLOYEE), run_id], order_by=PIDX)


def cohort_rank(keys: list[tuple[pl.Expr, bool]]) -> pl.Expr:
    """Rank 1..n within team and period among assessed rows with every key present.

    ``keys`` are (expression, descending); ties fall to employee id as text ascending.
    """
    present = pl.col(ASSESSED)
    for k, _ in keys:
        present = present & k.is_not_null()
    fields = [(~present).alias("__k0")]
    for i, (k, desc) in enumerate(keys, start=1):
        fields.append((-k if desc else k).alias(f"__k{i}"))
    fields.append(pl.col(EMPLOYEE).alias("__kid"))
    ranked = pl.struct(fields).rank("ordinal").over(COHORT)
    return pl.when(present).then(ranked)


def _tname(t: Type) -> str:
    return {"num": "number", "bool": "yes/no condition", "str": "text"}[t]
