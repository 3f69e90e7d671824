"""Compile a scheme into a plan: named steps of Polars expressions in dependency order.

Every quantity a scheme defines (inputs, values, indicators, sections, adjustments, the
total, grade, coefficient, rank, pools, pay lines and flags) is one column. Steps read the
columns of the steps they depend on; the plan groups steps into layers so that each layer
is one ``with_columns`` over the whole table. A formula that depends on itself, directly or
through others, is a load error naming the cycle.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from kaohe import columns as C
from kaohe.columns import ASSESSED, COHORT
from kaohe.engine.exprs import Lowering, Symbol, Type, cohort_rank, safe_div
from kaohe.engine.items import ItemCall, item_calls
from kaohe.engine.rules import LOWERINGS, ItemScope
from kaohe.errors import ExprError, SchemeError
from kaohe.numbers import DEC, dlit, round_half_up
from kaohe.scheme.expr import BinOp, Node, names, parse
from kaohe.scheme.intervals import Interval
from kaohe.scheme.models import (
    Adjustment,
    BandsRule,
    Deduction,
    FormulaText,
    Grade,
    Levels,
    Scheme,
    ScoredItem,
    grade_intervals,
    table_depth,
    table_rows,
)

Builder = Callable[[Lowering], pl.Expr]


@dataclass
class Step:
    column: str
    type: Type
    deps: set[str]  # symbol names this step reads
    build: Builder
    where: str  # scheme path for error messages, e.g. "indicators[0].bands"


@dataclass
class Warn:
    """A boolean column that marks rows needing a warning, and how to word it."""

    column: str
    kind: str  # undefined | missing_rater | unallocated
    subject: str  # indicator / pool id
    label: str
    #: the warning applies where the column is null (rather than true)
    when_null: bool = False


@dataclass
class Plan:
    scheme: Scheme
    symbols: dict[str, Symbol]
    layers: list[list[tuple[str, pl.Expr]]]
    indicator_columns: list[tuple[str, str]]  # (id, column)
    pay_columns: list[tuple[str, str]]
    flag_columns: list[tuple[str, str]]  # (flag text, column)
    warns: list[Warn]
    has_total: bool = True
    #: indicator id → its reason parts (``value`` a band compared, ``d0`` the first
    #: deduction rule's amount, ``mark`` a rated mark...), evaluated only to show a reason
    reason_parts: dict[str, dict[str, pl.Expr]] = field(default_factory=dict)
    #: a formula reads earlier periods (streak, count_so_far, prev): rows must be in
    #: employee and period order before evaluation
    needs_history: bool = True
    #: item-table function calls, each computed into a column joined to the rows
    item_calls: list[ItemCall] = field(default_factory=list)
    #: indicator id → where it applies (false: its level is 不适用, the item is left out)
    applies: dict[str, pl.Expr] = field(default_factory=dict)
    #: every indicator can be not applicable: a row where none applies is excluded (无适用项)
    none_applicable_excludes: bool = False
    section_columns: list[tuple[str, str]] = field(default_factory=list)  # (id, column)


def input_column(ident: str) -> str:
    return C.input_col(ident)


def _formula(text: str, where: str) -> Node:
    if isinstance(text, FormulaText):
        return text.tree  # parsed once, when the scheme loaded
    try:
        return parse(text)
    except ExprError as exc:
        raise SchemeError(f"{where}: {exc}") from None


class PlanBuilder:
    def __init__(self, scheme: Scheme) -> None:
        self.s = scheme
        self.steps: dict[str, Step] = {}
        self.symbols: dict[str, Symbol] = {}
        self.warns: list[Warn] = []
        self.extra_steps: list[Step] = []
        self.errors: list[str] = []
        self.reason_parts: dict[str, dict[str, Builder]] = {}
        self.applies: dict[str, pl.Expr] = {}
        self.fill: frozenset[str] = frozenset()

    # -- symbols -----------------------------------------------------------------
    def _define(self, name: str, step: Step) -> None:
        self.steps[name] = step
        self.symbols[name] = Symbol(step.column, step.type)

    def input_symbols(self) -> dict[str, Symbol]:
        out: dict[str, Symbol] = {}
        for ident, spec in self.s.inputs.items():
            if spec.raters:
                for r in spec.raters:
                    out[f"{ident}@{r}"] = Symbol(input_column(f"{ident}@{r}"), "num")
                continue
            out[ident] = Symbol(input_column(ident), "str" if spec.type == "level" else "num")
        return out

    def _own(self, low: Lowering, ident: str) -> Lowering:
        """Inside the formula of a step, the step's own id names the input of that id."""
        if ident not in self.input_names:
            return low
        syms = dict(low.symbols)
        syms[ident] = self.input_symbols()[ident]
        return Lowering(syms, low.tables, low.mode)

    # -- build ---------------------------------------------------------------------
    def build(self) -> Plan:
        s = self.s
        inputs = self.input_symbols()
        self.symbols.update(inputs)
        self.input_names = set(inputs)
        # names whose values are already rounded to 2 decimals
        self.reported_ids = {it.id for it in s.indicators} | {x.id for x in s.sections} | {
            a.id for a in s.adjustments} | {p.id for p in s.pay} | {"total", "pay_total"}

        # eligibility reads inputs only
        if s.eligibility is not None:
            node = _formula(s.eligibility.exclude_if, "eligibility.exclude_if")
            low = Lowering(inputs, s.tables)
            try:
                cond = low.lower(node, "bool", "eligibility.exclude_if").expr
            except ExprError as exc:
                raise SchemeError(f"eligibility.exclude_if: {exc}") from None
            assessed_expr = ~cond.fill_null(False)
        else:
            assessed_expr = pl.lit(True)
        self.applies = applies_exprs(s)
        self.fill = frozenset(C.indicator_col(i) for i in self.applies)
        na_excludes = bool(s.indicators) and len(self.applies) == len(s.indicators)
        if na_excludes:
            assessed_expr = assessed_expr & pl.any_horizontal(list(self.applies.values()))

        for i, item in enumerate(s.values):
            self._guarded(item, f"values[{i}]", reported=False)
        for i, item in enumerate(s.indicators):
            self._guarded(item, f"indicators[{i}]", reported=True)
        for sec in s.sections:
            members = [it.id for it in s.indicators if it.section == sec.id]
            cols = [C.indicator_col(m) for m in members]
            build_sec = _sum_builder(cols, self.fill)
            if sec.out_of is not None:
                assert sec.points is not None
                build_sec = _scaled_builder(cols, sec.out_of, sec.points, self.fill)
            self._define(sec.id, Step(
                C.section_col(sec.id), "num", set(members),
                build_sec, f"sections.{sec.id}",
            ))
        for i, adj in enumerate(s.adjustments):
            where = f"adjustments[{i}].points"
            node = _formula(adj.points, where)

            def build_adj(low: Lowering, node: Node = node, adj: Adjustment = adj, where: str = where) -> pl.Expr:
                x = self._own(low, adj.id).lower(node, "num", where).expr
                if adj.floor is not None:
                    x = pl.max_horizontal(x, dlit(adj.floor))
                if adj.cap is not None:
                    x = pl.min_horizontal(x, dlit(adj.cap))
                return self._round_unless_exact(node, x)

            self._define(adj.id, Step(C.adjustment_col(adj.id), "num", names(node), build_adj, where))

        self._total()
        self._grade()
        self._rank()
        for i, pool in enumerate(s.pools):
            self._pool(pool, f"pools[{i}]")
        pay_cols: list[tuple[str, str]] = []
        for i, line in enumerate(s.pay):
            where = f"pay[{i}].amount"
            node = _formula(line.amount, where)
            deps = names(node)
            veto = _formula(line.veto, f"pay[{i}].veto") if line.veto else None
            if veto is not None:
                deps |= names(veto)

            def build_pay(low: Lowering, node: Node = node, veto: Node | None = veto,
                          where: str = where, ident: str = line.id) -> pl.Expr:
                low = self._own(low, ident)
                x = low.lower(node, "num", where).expr
                if veto is not None:
                    v = low.lower(veto, "bool", where.replace("amount", "veto")).expr
                    x = pl.when(v.fill_null(False)).then(dlit(0)).otherwise(x)
                return self._round_unless_exact(node, x)

            self._define(line.id, Step(C.pay_col(line.id), "num", deps, build_pay, where))
            pay_cols.append((line.id, C.pay_col(line.id)))
        if pay_cols:
            ids = [p for p, _ in pay_cols]
            cols = [c for _, c in pay_cols]
            self._define("pay_total", Step(
                "pay_total", "num", set(ids), lambda _low: _sum_cols(cols), "pay"))
        flag_cols: list[tuple[str, str]] = []
        for i, fl in enumerate(s.flags):
            where = f"flags[{i}].when"
            node = _formula(fl.when, where)
            col = C.flag_col(i)
            self.steps[f"__flag{i}"] = Step(
                col, "bool", names(node),
                _flag_builder(node, where),
                where,
            )
            flag_cols.append((fl.flag, col))

        layers = self._layers()
        layers.insert(0, [(ASSESSED, assessed_expr)])
        return Plan(
            scheme=s,
            symbols=self.symbols,
            layers=layers,
            indicator_columns=[(it.id, C.indicator_col(it.id)) for it in s.indicators],
            pay_columns=pay_cols,
            flag_columns=flag_cols,
            warns=self.warns,
            has_total=not s.total.none,
            reason_parts=self._reason_parts(),
            needs_history=_uses_history(s),
            item_calls=item_calls(s),
            applies=self.applies,
            none_applicable_excludes=na_excludes,
            section_columns=[(x.id, C.section_col(x.id)) for x in s.sections],
        )

    def _reason_parts(self) -> dict[str, dict[str, pl.Expr]]:
        low = Lowering(self.symbols, self.s.tables)
        out: dict[str, dict[str, pl.Expr]] = {}
        for ident, parts in self.reason_parts.items():
            try:
                out[ident] = {name: build(low) for name, build in parts.items()}
            except (ExprError, SchemeError):
                continue  # already reported by the indicator itself
        return out

    # -- indicators --------------------------------------------------------------
    def _guarded(self, item: ScoredItem, where: str, reported: bool) -> None:
        """Compile one indicator; on error record it and stand in a blank column, so that
        `kaohe check` reports every broken indicator, not just the first."""
        try:
            self._scored(item, where, reported)
        except SchemeError as exc:
            self.errors.append(str(exc))
            col = (C.indicator_col if reported else C.value_col)(item.id)
            self._define(item.id, Step(col, "num", set(), _blank_builder(), where))

    def _scored(self, item: ScoredItem, where: str, reported: bool) -> None:
        col = (C.indicator_col if reported else C.value_col)(item.id)
        places = item.round if item.round is not None else (2 if reported else None)
        own_input = item.id if item.id in self.input_names else None
        veto = item.veto.tree if item.veto is not None else None
        lower = LOWERINGS.get(type(item.rule))
        if lower is None:
            raise SchemeError(f"{where}: rule kind {item.kind!r} has no lowering")
        scope = ItemScope(self, item, where, own_input)
        lowered = lower(scope, item.rule)
        deps = set(lowered.deps) | (names(veto) if veto is not None else set())
        weight = item.weight
        apply_weight = lowered.apply_weight
        needs_round = places is not None and not self._exact(item, places)
        def natural(low: Lowering) -> pl.Expr:
            x = lowered.build(low)
            if apply_weight and weight != 1:
                x = x * dlit(weight)
            if needs_round:
                assert places is not None
                x = round_half_up(x, places)
            return x

        parts = dict(lowered.parts)
        if veto is not None:
            parts["natural"] = natural  # the points a veto took away, for the reason
        if parts:
            self.reason_parts[item.id] = parts

        def final(low: Lowering) -> pl.Expr:
            x = lowered.build(low)
            if apply_weight and weight != 1:
                x = x * dlit(weight)
            if veto is not None:
                v = scope.local(low).lower(veto, "bool", f"{where}.veto").expr
                x = pl.when(v.fill_null(False)).then(dlit(0)).otherwise(x)
            if needs_round:
                assert places is not None
                x = round_half_up(x, places)
            return x

        self._define(item.id, Step(col, "num", deps, final, where))

    def _exact(self, item: ScoredItem, places: int) -> bool:
        """True when every value the indicator can take already has at most ``places``
        decimals, so rounding it would change nothing (and can be skipped)."""
        unit = Decimal(1).scaleb(-places)

        def fits(x: Decimal) -> bool:
            return x == x.quantize(unit)

        w = item.weight
        rule = item.rule
        if isinstance(rule, BandsRule):
            return all(fits(b.score * w) for b in rule.bands.bands) and fits(
                rule.undefined_score * w)
        if isinstance(rule, Levels):
            base = rule.base(item)
            return all(fits(v * base * w) for v in rule.points.values())
        if isinstance(rule, Deduction):
            assert item.points is not None
            values = [item.points, rule.floor]
            for r in rule.rules:
                spec = self.s.inputs.get(r.count)
                whole = r.unit is not None and fits(r.unit) and r.unit == int(r.unit)
                if not (whole or (spec is not None and spec.type in ("count", "flag"))):
                    return False
                values += [r.per or Decimal(0), r.free, *(r.schedule or [])]
            return all(fits(v) for v in values) and fits(w) and w == int(w)
        return False

    def _scale(self, node: Node) -> int | None:
        """The most decimals a formula's value can have, when it can be known from the
        scheme alone (None: unknown). Rounding a value that cannot need it is skipped."""
        from kaohe.scheme.expr import Call, Name, Neg, Num

        if isinstance(node, Num):
            return max(0, -int(node.value.normalize().as_tuple().exponent))
        if isinstance(node, Name):
            spec = self.s.inputs.get(node.id)
            if node.id in self.reported_ids:
                return 2
            if spec is not None and spec.type in ("count", "flag"):
                return 0
            return None
        if isinstance(node, Neg):
            return self._scale(node.operand)
        if isinstance(node, BinOp):
            a, b = self._scale(node.left), self._scale(node.right)
            if a is None or b is None or node.op == "/":
                return None
            return a + b if node.op == "*" else max(a, b)
        if isinstance(node, Call):
            if node.func in ("team_count", "team_rank", "streak", "count_so_far", "ceil",
                             "floor"):
                return 0
            if node.func == "lookup" and node.args and isinstance(node.args[0], Name):
                table = self.s.tables.get(node.args[0].id, {})
                vals = [v for _, v in table_rows(table)] if table else []
                depth = table_depth(table) if table else 1
                if len(node.args) == depth + 2:
                    d = self._scale(node.args[-1])
                    if d is None:
                        return None
                    vals.append(Decimal(1).scaleb(-d))
                return max((max(0, -int(v.normalize().as_tuple().exponent)) for v in vals),
                           default=0)
            if node.func in ("if", "min", "max", "clamp", "abs"):
                parts = [self._scale(a) for a in node.args[1 if node.func == "if" else 0:]]
                if any(p is None for p in parts):
                    return None
                return max((p for p in parts if p is not None), default=0)
        return None

    def _round_unless_exact(self, node: Node | None, x: pl.Expr, places: int = 2) -> pl.Expr:
        if node is not None:
            scale = self._scale(node)
            if scale is not None and scale <= places:
                return x
        return round_half_up(x, places)

    # -- total, grade, rank ------------------------------------------------------
    def _total(self) -> None:
        s = self.s
        if s.total.none:
            return
        parts = [it.id for it in s.indicators] + [a.id for a in s.adjustments]
        veto = _formula(s.total.veto, "total.veto") if s.total.veto else None
        if s.total.formula is not None:
            node: Node | None = _formula(s.total.formula, "total.formula")
            assert node is not None
            deps = names(node)
        else:
            node = None
            deps = set(parts)
        if veto is not None:
            deps |= names(veto)
        cols = [C.indicator_col(it.id) for it in s.indicators] + [C.adjustment_col(a.id) for a in s.adjustments]

        def build(low: Lowering) -> pl.Expr:
            if node is not None:
                x = self._round_unless_exact(node, low.lower(node, "num", "total.formula").expr)
            elif s.total.rescale == "applicable":
                x = self._rescaled()
            else:
                x = _sum_cols(cols, self.fill)
            if s.total.floor is not None:
                x = pl.max_horizontal(x, dlit(s.total.floor))
            if s.total.cap is not None:
                x = pl.min_horizontal(x, dlit(s.total.cap))
            if veto is not None:
                v = low.lower(veto, "bool", "total.veto").expr
                x = pl.when(v.fill_null(False)).then(dlit(0)).otherwise(x)
            return x

        self._define("total", Step("total", "num", deps, build, "total"))

    def _rescaled(self) -> pl.Expr:
        """round(Σ applicable points × Σ all standard points ÷ Σ applicable standard
        points, 2) + the adjustments."""
        s = self.s
        points, std_applicable, full = rescale_parts(s, self.applies)
        x = round_half_up(safe_div(points * dlit(full), std_applicable), 2)
        adj = [C.adjustment_col(a.id) for a in s.adjustments]
        return x + _sum_cols(adj) if adj else x

    def _grade(self) -> None:
        s = self.s
        if s.grade_input is not None:
            spec = s.inputs.get(s.grade_input)
            if spec is None or spec.type != "level":
                raise SchemeError(f"grade_input: {s.grade_input!r} is not an input of type level")
            src = input_column(s.grade_input)
            self._define("grade", Step("grade", "str", {s.grade_input},
                                       lambda _low: pl.col(src), "grade_input"))
        elif s.grades:
            if s.total.none:
                raise SchemeError("grades: a scheme with no total cannot grade by total")
            grades = s.grades

            def build(low: Lowering) -> pl.Expr:
                return grade_expr(pl.col("total"), grades)

            self._define("grade", Step("grade", "str", {"total"}, build, "grades"))
        if s.grades and any(g.coefficient is not None for g in s.grades):
            grades = s.grades

            def coef(low: Lowering) -> pl.Expr:
                chain: pl.Expr = pl.lit(None, dtype=DEC)
                for g in reversed(grades):
                    if g.coefficient is not None:
                        chain = pl.when(pl.col("grade") == pl.lit(g.name)).then(
                            dlit(g.coefficient)).otherwise(chain)
                return chain

            self._define("coefficient", Step("coefficient", "num", {"grade"}, coef, "grades"))

    def _rank(self) -> None:
        s = self.s
        if s.total.none:
            return
        keys: list[tuple[Node, bool]] = []
        deps: set[str] = set()
        for i, text in enumerate(s.rank_by):
            body, _, order = text.strip().rpartition(" ")
            if order not in ("asc", "desc") or not body:
                body, order = text.strip(), "desc"
            node = _formula(body, f"rank_by[{i}]")
            deps |= names(node)
            keys.append((node, order == "desc"))

        def build(low: Lowering) -> pl.Expr:
            lowered = [(low.lower(n, "num", "rank_by").expr, d) for n, d in keys]
            return cohort_rank(lowered).cast(DEC)

        self._define("rank", Step("rank", "num", deps, build, "rank_by"))

    def _pool(self, pool: object, where: str) -> None:
        from kaohe.scheme.models import Pool

        assert isinstance(pool, Pool)
        node = _formula(pool.amount, f"{where}.amount")
        deps = names(node) | {"rank"}
        explicit = sorted(s.rank for s in pool.shares if s.rank is not None)
        rest = next((s for s in pool.shares if s.rest), None)
        amount_col = C.pool_amount_col(pool.id)
        unalloc_col = C.unallocated_col(pool.id)

        def amount(low: Lowering) -> pl.Expr:
            return low.lower(node, "num", f"{where}.amount").expr

        def members() -> pl.Expr:
            return pl.col("rank").is_not_null().sum().over(COHORT).cast(DEC)

        def build(low: Lowering) -> pl.Expr:
            a = amount(low)
            r = pl.col("rank")
            n = members()
            share: pl.Expr = dlit(0)
            for rule in pool.shares:
                if rule.rank is not None:
                    share = pl.when(r == dlit(rule.rank)).then(
                        a * dlit(rule.share) + dlit(rule.fixed)).otherwise(share)
            if rest is not None:
                others = n - dlit(len(explicit))
                is_other = r.is_not_null() & ~r.is_in([Decimal(k) for k in explicit])
                per = safe_div(a * dlit(rest.share), others) + dlit(rest.fixed)
                share = pl.when(is_other).then(per).otherwise(share)
            return pl.when(r.is_not_null()).then(share)

        def unallocated(low: Lowering) -> pl.Expr:
            n = members()
            missing = pl.lit(False)
            for k in explicit:
                missing = missing | (n < dlit(k))
            if rest is not None:
                missing = missing | (n <= dlit(len(explicit)))
            # warn once per team and period: on its rank-1 row
            return missing & (pl.col("rank") == dlit(1))

        self._define(pool.id, Step(C.pool_col(pool.id), "num", deps, build, where))
        self.extra_steps.append(Step(amount_col, "num", set(deps), amount, where))
        self.extra_steps.append(Step(unalloc_col, "bool", {"rank"}, unallocated, where))
        self.warns.append(Warn(unalloc_col, "unallocated", pool.id, pool.label))

    # -- ordering ------------------------------------------------------------------
    def _layers(self) -> list[list[tuple[str, pl.Expr]]]:
        steps = list(self.steps.items()) + [(f"__x{i}", st) for i, st in
                                            enumerate(self.extra_steps)]
        by_name = dict(steps)
        depth: dict[str, int] = {}
        visiting: list[str] = []

        def visit(name: str) -> int:
            if name in depth:
                return depth[name]
            step = by_name.get(name)
            if step is None:
                if name in self.input_names:
                    return -1
                known = sorted(self.symbols)
                raise SchemeError(f"unknown name {name!r}; known names: {', '.join(known)}")
            if name in visiting:
                cycle = visiting[visiting.index(name):] + [name]
                raise SchemeError(
                    f"{step.where}: formula depends on itself: {' → '.join(cycle)}"
                )
            visiting.append(name)
            d = 0
            for dep in step.deps:
                if dep == name and dep in self.input_names:
                    continue  # an indicator reading the input of its own id
                d = max(d, visit(dep) + 1)
            visiting.pop()
            depth[name] = d
            return d

        errors = list(self.errors)
        reported: set[tuple[str, str]] = set()
        # an input of the year / quarter row is blank on every monthly row
        periodic = {i: sp.period for i, sp in self.s.inputs.items() if sp.period != "month"}
        for _name, step in steps:
            wrong = sorted(d for d in step.deps if d in periodic and d not in by_name)
            if wrong:
                errors.append(
                    f"{step.where}: {wrong[0]!r} is an input of the {periodic[wrong[0]]} row "
                    f"(period: {periodic[wrong[0]]}), blank on the monthly rows; read it in "
                    f"the {periodic[wrong[0]]} aggregate's formulas")
        for _name, step in steps:
            unknown = [d for d in sorted(step.deps) if d not in by_name and d not in self.input_names]
            if unknown:
                known = sorted(self.symbols)
                root = step.where.split(".")[0]
                if (root, unknown[0]) not in reported:
                    reported.add((root, unknown[0]))
                    errors.append(
                        f"{step.where}: unknown name {unknown[0]!r}; known names: {', '.join(known)}"
                    )
                step.deps = step.deps - set(unknown)
                step.build = _blank_builder()
        for name, _step in steps:
            visit(name)
        n_layers = max(depth.values(), default=-1) + 1
        layers: list[list[tuple[str, pl.Expr]]] = [[] for _ in range(n_layers)]
        low = Lowering(self.symbols, self.s.tables)
        for name, step in steps:
            try:
                expr = step.build(low)
            except (ExprError, SchemeError) as exc:
                msg = str(exc)
                errors.append(msg if isinstance(exc, SchemeError) and msg.startswith(step.where)
                              else f"{step.where}: {msg}")
                continue
            layers[depth[name]].append((step.column, expr))
        if errors:
            raise SchemeError("\n".join(dict.fromkeys(errors)))
        return layers


_HISTORY = re.compile(r"\b(streak|count_so_far|prev)\s*\(")


def _uses_history(scheme: Scheme) -> bool:
    return bool(_HISTORY.search(scheme.model_dump_json()))


def applies_exprs(s: Scheme) -> dict[str, pl.Expr]:
    """Indicator id → where it applies, for indicators with not-applicable levels."""
    out: dict[str, pl.Expr] = {}
    for it in s.indicators:
        rule = it.rule
        if isinstance(rule, Levels) and rule.not_applicable:
            col = pl.col(input_column(rule.source(it)))
            out[it.id] = (~col.is_in(list(rule.not_applicable))).fill_null(True)
    return out


def rescale_parts(s: Scheme, applies: dict[str, pl.Expr]) -> tuple[pl.Expr, pl.Expr, Decimal]:
    """(Σ points of the applicable items, Σ their standard points, Σ all standard points)."""
    points = _sum_cols([C.indicator_col(it.id) for it in s.indicators],
                       frozenset(C.indicator_col(i) for i in applies))
    std: pl.Expr = dlit(0)
    full = Decimal(0)
    for it in s.indicators:
        top = it.max_points or Decimal(0)
        full += top
        std = std + (pl.when(applies[it.id]).then(dlit(top)).otherwise(dlit(0))
                     if it.id in applies else dlit(top))
    return points, std, full


def _blank_builder() -> Builder:
    return lambda _low: pl.lit(None, dtype=DEC)


def _sum_builder(cols: list[str], fill: frozenset[str] = frozenset()) -> Builder:
    return lambda _low: _sum_cols(cols, fill)


def _scaled_builder(cols: list[str], out_of: Decimal, points: Decimal,
                    fill: frozenset[str] = frozenset()) -> Builder:
    """A section reported on another scale (``out_of``): the sum × out_of / points, rounded
    half-up to 0.01 once."""
    return lambda _low: round_half_up(_sum_cols(cols, fill) * dlit(out_of) / dlit(points), 2)


def _flag_builder(node: Node, where: str) -> Builder:
    return lambda low: low.lower(node, "bool", where).expr.fill_null(False)


def _sum_cols(cols: list[str], fill: frozenset[str] = frozenset()) -> pl.Expr:
    """The sum of the columns; those in ``fill`` (items that may be not applicable) count
    0 where blank."""
    if not cols:
        return dlit(0)

    def col(c: str) -> pl.Expr:
        return pl.col(c).fill_null(dlit(0)) if c in fill else pl.col(c)

    acc = col(cols[0])
    for c in cols[1:]:
        acc = acc + col(c)
    return acc


def grade_expr(score: pl.Expr, grades: list[Grade]) -> pl.Expr:
    """Read a grade from a (rounded) score: grades listed from the highest down."""
    ivs = grade_intervals(grades)
    if ivs is not None:
        ranged: pl.Expr = pl.lit(None, dtype=pl.String)
        for g, iv in reversed(list(zip(grades, ivs, strict=True))):
            ranged = pl.when(in_interval(score, iv)).then(pl.lit(g.name)).otherwise(ranged)
        return pl.when(score.is_not_null()).then(ranged)
    chain: pl.Expr = pl.lit(grades[-1].name)
    for g in reversed(grades[:-1]):
        assert g.min is not None
        chain = pl.when(score >= dlit(g.min)).then(pl.lit(g.name)).otherwise(chain)
    return pl.when(score.is_not_null()).then(chain)


def in_interval(x: pl.Expr, iv: Interval) -> pl.Expr:
    """Whether ``x`` lies in the interval (exact Decimal comparisons)."""
    cond: pl.Expr = pl.lit(True)
    if iv.lo is not None:
        cond = cond & ((x >= dlit(iv.lo)) if iv.lo_closed else (x > dlit(iv.lo)))
    if iv.hi is not None:
        cond = cond & ((x <= dlit(iv.hi)) if iv.hi_closed else (x < dlit(iv.hi)))
    return cond


def compile_scheme(scheme: Scheme) -> Plan:
    return PlanBuilder(scheme).build()
