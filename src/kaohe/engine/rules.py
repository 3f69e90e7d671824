"""One lowering to Polars per rule kind.

Each function turns one indicator's rule node into what the plan needs: the score before
weight, veto and rounding (``build``), the names it reads (``deps``), extra steps (a band
hit, a rated mark), and the reason parts — named expressions evaluated only when a reason is
shown (the value a band compared, each deduction rule's amount), so scoring stays as lean as
before. :data:`LOWERINGS` maps every rule kind to its function; the plan refuses a kind
that has none, and a test checks that none is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import polars as pl

from kaohe import columns as C
from kaohe.engine.exprs import Lowering, compare, safe_div
from kaohe.numbers import DEC, dlit
from kaohe.scheme.expr import BinOp, names
from kaohe.scheme.models import BandsRule, Deduction, FormulaRule, Levels, Rated, ScoredItem

if TYPE_CHECKING:
    from kaohe.engine.plan import PlanBuilder

Builder = Callable[[Lowering], pl.Expr]


@dataclass
class Lowered:
    #: the score before weight, veto and rounding
    build: Builder
    deps: set[str]
    #: false where the rule applies the weight itself (rated: weighted mark × weight, once)
    apply_weight: bool = True
    #: reason part name → expression (evaluated only to show a reason)
    parts: dict[str, Builder] = field(default_factory=dict)


@dataclass
class ItemScope:
    """What every lowering of one indicator shares."""

    builder: PlanBuilder
    item: ScoredItem
    where: str
    #: the input of the indicator's own id, which its rule reads by that name
    own_input: str | None

    def local(self, low: Lowering) -> Lowering:
        if self.own_input is None:
            return low
        syms = dict(low.symbols)
        syms[self.own_input] = self.builder.input_symbols()[self.own_input]
        return Lowering(syms, low.tables, low.mode)


def deduction_amounts(rule: Deduction) -> list[pl.Expr]:
    """The points each counted event takes off (before the floor), one per rule."""
    out: list[pl.Expr] = []
    for r in rule.rules:
        c = pl.col(C.input_col(r.count))
        if r.unit is not None:
            c = (c / dlit(r.unit)).ceil()
        over = pl.max_horizontal(c - dlit(r.free), dlit(0))
        if r.per is not None:
            out.append(over * dlit(r.per))
            continue
        assert r.schedule is not None
        sched = r.schedule
        chain: pl.Expr = dlit(sched[-1])
        for n in range(len(sched) - 1, 0, -1):
            chain = pl.when(over <= dlit(n)).then(dlit(sched[n - 1])).otherwise(chain)
        out.append(pl.when(over <= dlit(0)).then(dlit(0)).otherwise(chain))
    return out


def rated_parts(rule: Rated, source: str) -> tuple[pl.Expr, pl.Expr]:
    """(Σ mark × rater weight, Σ weights of the raters present)."""
    num: pl.Expr = dlit(0)
    den: pl.Expr = dlit(0)
    for r, w in rule.raters.items():
        m = pl.col(C.input_col(f"{source}@{r}"))
        num = num + pl.when(m.is_null()).then(dlit(0)).otherwise(m * dlit(w))
        den = den + pl.when(m.is_null()).then(dlit(0)).otherwise(dlit(w))
    return num, den


def lower_bands(scope: ItemScope, rule: BandsRule) -> Lowered:
    b = scope.builder
    item, where = scope.item, scope.where
    node = rule.value.tree
    deps = names(node)
    bands = rule.bands.ascending
    undefined_score = rule.undefined_score
    band_col = C.band_col(item.id)

    def band_parts(low: Lowering) -> tuple[pl.Expr, pl.Expr]:
        low = scope.local(low)
        if isinstance(node, BinOp) and node.op == "/":
            num = low.lower(node.left, "num", f"{where}.value").expr
            den = low.lower(node.right, "num", f"{where}.value").expr
            neg = den < dlit(0)
            num2 = pl.when(neg).then(-num).otherwise(num)
            den2 = den.abs()

            def test(op: str, t: Decimal) -> pl.Expr:
                return compare(op, num2, dlit(t) * den2)

            undefined = (den == dlit(0)) | num.is_null() | den.is_null()
            shown = safe_div(num, den)
        else:
            v = low.lower(node, "num", f"{where}.value").expr

            def test(op: str, t: Decimal) -> pl.Expr:
                return compare(op, v, dlit(t))

            undefined = v.is_null()
            shown = v
        idx: pl.Expr = pl.lit(0, dtype=pl.Int8)
        for k in range(1, len(bands)):  # the top band ends up outermost
            iv = bands[k].interval
            assert iv.lo is not None
            cond = test(">=" if iv.lo_closed else ">", iv.lo)
            idx = pl.when(cond).then(pl.lit(k, dtype=pl.Int8)).otherwise(idx)
        idx = pl.when(undefined).then(pl.lit(None, dtype=pl.Int8)).otherwise(idx)
        return idx, shown

    def build(low: Lowering) -> pl.Expr:
        # the score is read off the band hit (null: undefined → its own score)
        hit = pl.col(band_col)
        score: pl.Expr = dlit(undefined_score)
        for k in range(len(bands) - 1, -1, -1):
            score = pl.when(hit == k).then(dlit(bands[k].score)).otherwise(score)
        return score

    from kaohe.engine.plan import Step, Warn

    band_deps = set(deps) - ({scope.own_input} if scope.own_input else set())
    # the band hit is a column of its own (it is the reason too); the value itself is worked
    # out again only when a reason is shown, so scoring divides nothing
    b.steps[f"__band:{item.id}"] = Step(
        band_col, "num", band_deps, lambda low: band_parts(low)[0], f"{where}.bands")
    b.warns.append(Warn(band_col, "undefined", item.id, item.label, when_null=True))
    return Lowered(build, {f"__band:{item.id}"},
                   parts={"value": lambda low: band_parts(low)[1]})


def lower_levels(scope: ItemScope, rule: Levels) -> Lowered:
    item = scope.item
    source = rule.source(item)
    base = item.points if rule.scale == "fraction" else None
    in_col = C.input_col(source)

    def build(low: Lowering) -> pl.Expr:
        chain: pl.Expr = pl.lit(None, dtype=DEC)
        for name, pts in reversed(list(rule.points.items())):
            val = pts * base if base is not None else pts
            chain = pl.when(pl.col(in_col) == pl.lit(name)).then(dlit(val)).otherwise(chain)
        return chain

    return Lowered(build, {source})


def lower_deduction(scope: ItemScope, rule: Deduction) -> Lowered:
    item = scope.item
    assert item.points is not None
    start = item.points

    def build(low: Lowering) -> pl.Expr:
        total: pl.Expr = dlit(0)
        for amount in deduction_amounts(rule):
            total = total + amount
        return pl.max_horizontal(dlit(start) - total, dlit(rule.floor))

    def amount(k: int) -> Builder:
        return lambda _low: deduction_amounts(rule)[k]

    parts = {f"d{k}": amount(k) for k in range(len(rule.rules))}
    return Lowered(build, {r.count for r in rule.rules}, parts=parts)


def lower_formula(scope: ItemScope, rule: FormulaRule) -> Lowered:
    node = rule.formula.tree
    where = scope.where

    def build(low: Lowering) -> pl.Expr:
        return scope.local(low).lower(node, "num", f"{where}.formula").expr

    return Lowered(build, names(node))


def lower_rated(scope: ItemScope, rule: Rated) -> Lowered:
    from kaohe.engine.plan import Step, Warn

    b = scope.builder
    item, where = scope.item, scope.where
    source = rule.source(item)
    deps = {f"{source}@{r}" for r in rule.raters}
    full = sum(rule.raters.values(), Decimal(0))
    weight = item.weight

    def build(low: Lowering) -> pl.Expr:
        num, den = rated_parts(rule, source)
        # weighted mark × weight, divided once, rounded once (rulebook 4.9)
        return safe_div(num * dlit(weight), den)

    miss_col = C.missing_rater_col(item.id)
    def missing(_low: Lowering) -> pl.Expr:
        present = rated_parts(rule, source)[1]
        return (present < dlit(full)) & (present > dlit(0))

    b.extra_steps.append(Step(miss_col, "bool", set(deps), missing, where))
    b.warns.append(Warn(miss_col, "missing_rater", item.id, item.label))
    return Lowered(build, deps, apply_weight=False,
                   parts={"mark": lambda _low: safe_div(*rated_parts(rule, source))})


LOWERINGS: dict[type[Any], Callable[[ItemScope, Any], Lowered]] = {
    BandsRule: lower_bands,
    Levels: lower_levels,
    Deduction: lower_deduction,
    FormulaRule: lower_formula,
    Rated: lower_rated,
}
