"""Run a compiled plan over an input table: results, aggregates and warnings.

The input table holds one row per employee and period with the columns ``employee``,
``team``, ``period`` (text ``YYYY-MM`` or null), ``__pidx`` (month index), ``__row`` (the
source row number) and one ``in:<id>`` column per scheme input, all numbers as
``Decimal(38, 10)``. The whole table is evaluated layer by layer in Polars; no Python code
runs per employee or per indicator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from kaohe import columns as C
from kaohe.columns import ASSESSED, COHORT, EMPLOYEE, PERIOD, PIDX, TEAM
from kaohe.engine.exprs import Lowering, Symbol, Type, cohort_rank, is_agg_call
from kaohe.engine.items import join_items
from kaohe.engine.plan import Plan, grade_expr
from kaohe.errors import ExprError, InputError, SchemeError
from kaohe.ingest.table import KIND, ItemRows
from kaohe.numbers import DEC, dlit, round_half_up
from kaohe.scheme.expr import Call, Node, outermost_calls, render
from kaohe.scheme.models import AggregateSpec, BandsRule, Rated


@dataclass(frozen=True)
class AggregateMeta:
    """What the columns of one aggregate spec in ``Outcome.aggregates`` (rows with
    ``__spec`` = its index) mean: ``awards`` and ``flags`` as (id or flag text, column),
    ``values`` as (value id, column) — outcomes that are not money, reported zeros
    included — and whether the ``rank`` column is the reported rank (else it is null)."""

    spec: AggregateSpec
    awards: list[tuple[str, str]]
    flags: list[tuple[str, str]]
    values: list[tuple[str, str]]
    ranked: bool


@dataclass
class Outcome:
    """The scored rows and aggregates. ``aggregates`` has the columns period, employee,
    team, score, grade, rank (null unless ranked), months, ``__spec`` and the award, flag
    and value columns that ``aggregate_meta`` names; ``aggregate_specs`` is the same in the
    older (spec, awards, flags) form."""

    plan: Plan
    frame: pl.DataFrame  # one row per employee and period, in input order
    aggregates: pl.DataFrame | None
    aggregate_specs: list[tuple[AggregateSpec, list[tuple[str, str]], list[tuple[str, str]]]]
    warnings: list[str]
    aggregate_meta: list[AggregateMeta] = field(default_factory=list)


def evaluate(plan: Plan, table: pl.DataFrame | pl.LazyFrame, *, collect: bool = True) -> pl.DataFrame:
    """Evaluate the plan's layers over the table (sorted by employee, then period)."""
    lf = table.lazy()
    for layer in plan.layers:
        lf = lf.with_columns([expr.alias(col) for col, expr in layer])
    try:
        return lf.collect()
    except pl.exceptions.ComputeError as exc:
        if "overflow" in str(exc):
            raise InputError(
                "a value is too large to compute exactly (more than 28 integer digits in an "
                "intermediate result); check the input's magnitudes"
            ) from None
        raise


def run(plan: Plan, table: pl.DataFrame, *, annual: pl.DataFrame | None = None,
        items: Mapping[str, ItemRows] | None = None) -> Outcome:
    """Score the monthly rows ``table``; ``annual``: the year / quarter rows of the inputs
    that belong to them (:attr:`kaohe.columns.InputTable.annual`); ``items``: the item
    tables by name (a table not given has no rows)."""
    if plan.item_calls:
        table = join_items(plan.scheme, plan.item_calls, table, items or {})
    frame = evaluate(plan, table)
    frame = _blank_excluded(plan, frame)
    warnings = _warnings(plan, frame) + _excluded_warnings(plan, frame)
    aggs, meta = _aggregates(plan, frame, annual, warnings)
    specs = [(m.spec, m.awards, m.flags) for m in meta]
    return Outcome(plan, frame, aggs, specs, warnings, meta)


def _excluded_warnings(plan: Plan, frame: pl.DataFrame) -> list[str]:
    """Each excluded row with the scheme's reason, where the scheme asks for it
    (``eligibility.warn``)."""
    elig = plan.scheme.eligibility
    if elig is None or not elig.warn:
        return []
    hits = frame.filter(~pl.col(ASSESSED)).sort([PERIOD, TEAM, EMPLOYEE])
    reason = elig.reason or str(elig.exclude_if)
    return [f"{period or '-'} {employee}: excluded: {reason}"
            for period, employee in hits.select(PERIOD, EMPLOYEE).iter_rows()]


def _blank_excluded(plan: Plan, frame: pl.DataFrame) -> pl.DataFrame:
    """Excluded rows are not scored: null every computed column."""
    if plan.scheme.eligibility is None and not plan.none_applicable_excludes:
        return frame
    computed = [c for c in frame.columns if C.is_computed(c)]
    computed += [c for c in ("total", "grade", "coefficient", "rank", "pay_total") if c in frame.columns]
    assessed = pl.col(ASSESSED)
    return frame.with_columns(
        [pl.when(assessed).then(pl.col(c)).alias(c) for c in computed if not c.startswith(C.FLAG)]
        + [(assessed & pl.col(c)).alias(c) for c in computed if c.startswith(C.FLAG)]
    )


def _fmt(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _warnings(plan: Plan, frame: pl.DataFrame) -> list[str]:
    out: list[str] = []
    scheme = plan.scheme
    if plan.none_applicable_excludes:
        none = ~pl.any_horizontal(list(plan.applies.values()))
        for row in frame.filter(none).sort([PERIOD, TEAM, EMPLOYEE]).select(
                PERIOD, EMPLOYEE).iter_rows():
            out.append(f"{row[0] or '-'} {row[1]}: excluded: 无适用项 (no applicable item: "
                       "every item is not applicable)")
    for w in plan.warns:
        if w.column not in frame.columns:
            continue
        mark = pl.col(w.column).is_null() if w.when_null else pl.col(w.column).fill_null(False)
        if not frame.select((mark & pl.col(ASSESSED)).any()).item():
            continue
        hits = frame.filter(mark & pl.col(ASSESSED)).sort([PERIOD, TEAM, EMPLOYEE])
        if w.kind == "unallocated":
            hits = frame.with_columns(
                pl.col("rank").is_not_null().sum().over(COHORT).alias("n")
            ).filter(pl.col(w.column).fill_null(False) & pl.col(ASSESSED)).sort(
                [PERIOD, TEAM, EMPLOYEE])
        label = f"{w.subject} ({w.label})" if w.label else w.subject
        if w.kind == "undefined":
            item = next(it for it in [*scheme.indicators, *scheme.values] if it.id == w.subject)
            assert isinstance(item.rule, BandsRule)
            lowest = item.rule.undefined_score
            what = "indicator" if any(it.id == w.subject for it in scheme.indicators) else "value"
            for row in hits.select(PERIOD, EMPLOYEE).iter_rows():
                out.append(
                    f"{row[0] or '-'} {row[1]}: {what} {label} is undefined (zero denominator "
                    f"in {item.rule.value}); given the lowest score {_fmt(lowest)}"
                )
        elif w.kind == "missing_rater":
            item = next(it for it in scheme.indicators if it.id == w.subject)
            rated = item.rule
            assert isinstance(rated, Rated)
            source = rated.source(item)
            cols = [C.input_col(f"{source}@{r}") for r in rated.raters]
            for row in hits.select(PERIOD, EMPLOYEE, *cols).iter_rows():
                missing = [r for r, v in zip(rated.raters, row[2:], strict=True) if v is None]
                present = [r for r, v in zip(rated.raters, row[2:], strict=True)
                           if v is not None]
                out.append(
                    f"{row[0] or '-'} {row[1]}: indicator {label}: rater "
                    f"{', '.join(missing)} missing; weight shared out over {', '.join(present)}"
                )
        elif w.kind == "unallocated":
            pool = next(p for p in scheme.pools if p.id == w.subject)
            explicit = sorted(s.rank for s in pool.shares if s.rank is not None)
            for row in hits.select(PERIOD, TEAM, EMPLOYEE, "n", C.pool_amount_col(pool.id)).iter_rows():
                n = row[3]
                missing_ranks = [k for k in explicit if k > n]
                parts = [f"rank {k}" for k in missing_ranks]
                if any(s.rest for s in pool.shares) and n <= len(explicit):
                    parts.append("the other members' share")
                amount = round(row[4], 2) if row[4] is not None else None
                out.append(
                    f"{row[0] or '-'} team {row[1] or '-'} ({row[2]} is rank 1): pool {label} "
                    f"of {_fmt(amount)}: {' and '.join(parts)} unallocated, the team has "
                    f"{n} assessed member{'s' if n != 1 else ''}"
                )
    return out


def _agg_period(kind: str) -> pl.Expr:
    year = pl.col(PERIOD).str.slice(0, 4)
    if kind == "year":
        return year
    month = pl.col(PERIOD).str.slice(5, 2).cast(pl.Int32)
    return pl.concat_str([year, pl.lit("-Q"), ((month - 1) // 3 + 1).cast(pl.String)])


def _agg_calls(node: Node, acc: list[Call]) -> list[Call]:
    acc.extend(outermost_calls(node, is_agg_call))
    return acc


def _outer_names(node: Node) -> set[str]:
    """The names a formula reads outside its aggregate calls (inside, a name is the month's)."""
    from kaohe.scheme.expr import BinOp, BoolOp, Compare, Name, Neg, Not

    match node:
        case Name(id=ident):
            return {ident}
        case Call(args=args) if not is_agg_call(node):
            return set().union(*(_outer_names(a) for a in args)) if args else set()
        case Neg(operand=o) | Not(operand=o):
            return _outer_names(o)
        case BinOp(left=a, right=b) | Compare(left=a, right=b):
            return _outer_names(a) | _outer_names(b)
        case BoolOp(operands=ops):
            return set().union(*(_outer_names(o) for o in ops))
    return set()


@dataclass
class AggregatePlan:
    """One aggregate's formulas lowered: the group aggregations over the months, then the
    per-employee steps (``compute``/``values`` entries, score, grade, rank) in dependency
    order, then the awards and flags."""

    agg_exprs: list[tuple[str, pl.Expr]]
    steps: list[tuple[str, pl.Expr]]
    awards: list[tuple[str, str, pl.Expr]]  # (award id, column, expression)
    flags: list[tuple[str, str, pl.Expr]]  # (flag text, column, expression)
    values: list[tuple[str, str]]  # reported values: (id, column)
    #: the period's own inputs (``period: year`` / ``quarter``), read from its rows
    annual_inputs: list[str]


def annual_inputs(plan: Plan, spec: AggregateSpec) -> list[str]:
    return [ident for ident, s in plan.scheme.inputs.items() if s.period == spec.period]


def aggregate_plan(plan: Plan, spec: AggregateSpec, where: str) -> AggregatePlan:
    """Check and lower one aggregate's formulas (also used at load time)."""
    scheme = plan.scheme
    agg_low = Lowering(dict(plan.symbols), scheme.tables, mode="agg")
    entries: list[tuple[str, str, Node, int | None, str]] = []  # name, column, node, round, where
    for k, v in enumerate(spec.compute):
        entries.append((v.id, f"{C.AGG_COMPUTE}{v.id}", v.formula.tree, v.round,
                        f"{where}.compute[{k}].formula"))
    for k, v in enumerate(spec.values):
        entries.append((v.id, f"{C.AGG_VALUE}{v.id}", v.formula.tree, v.round,
                        f"{where}.values[{k}].formula"))
    entries.append(("score", "score", spec.score.tree, spec.round, f"{where}.score"))
    seen: set[str] = set()
    for name, _c, _n, _r, w in entries:
        if name in seen or name in ("months", "rank", "grade"):
            raise SchemeError(f"{w}: the name {name!r} is used twice in the aggregate")
        seen.add(name)
    awards = [(a.id, a.amount.tree) for a in spec.awards]
    flags = [(f.flag, f.when.tree) for f in spec.flags]
    calls: list[tuple[Call, str]] = []  # each aggregate call with the field it is in
    for _, _, node, _, w in entries:
        calls += [(c, w) for c in _agg_calls(node, [])]
    for k, (_, node) in enumerate(awards):
        calls += [(c, f"{where}.awards[{k}].amount") for c in _agg_calls(node, [])]
    for k, (_, node) in enumerate(flags):
        calls += [(c, f"{where}.flags[{k}].when") for c in _agg_calls(node, [])]
    agg_exprs: list[tuple[str, pl.Expr]] = []
    mapping: dict[str, str] = {}
    types: dict[str, Type] = {}
    for c, w in calls:
        key = render(c)
        if key not in mapping:
            col = f"{C.AGG_CALL}{len(mapping)}"
            mapping[key] = col
            try:
                typed = agg_low.lower(c, None, w)
            except (ExprError, SchemeError) as exc:
                raise SchemeError(f"{w}: {exc}") from None
            types[key] = typed.type
            agg_exprs.append((col, typed.expr))
    ann = annual_inputs(plan, spec)
    syms: dict[str, Symbol] = {
        "score": Symbol("score", "num"), "months": Symbol("months", "num"),
        "rank": Symbol("rank", "num"),
    }
    if spec.grades:
        syms["grade"] = Symbol("grade", "str")
    for ident in ann:
        syms[ident] = plan.symbols.get(ident, Symbol(C.input_col(ident), "num"))
    for name, col, _n, _r, _w in entries:
        syms[name] = Symbol(col, "num")
    low = Lowering(syms, scheme.tables, mode="post_agg", agg_columns=mapping, agg_types=types)
    # order: each entry after the names it reads; grade and rank after the score
    deps = {name: _outer_names(node) & (seen | {"grade", "rank"})
            for name, _c, node, _r, _w in entries}
    deps["grade"] = {"score"}
    deps["rank"] = {"score"}
    order: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            cycle = " → ".join([*visiting[visiting.index(name):], name])
            raise SchemeError(f"{where}: formula depends on itself: {cycle}")
        visiting.append(name)
        for d in sorted(deps.get(name, set())):
            visit(d)
        visiting.pop()
        order.append(name)

    for name in [*(e[0] for e in entries), "grade", "rank"]:
        visit(name)
    by_name = {e[0]: e for e in entries}
    steps: list[tuple[str, pl.Expr]] = []

    def lower(node: Node, want: Type, w: str) -> pl.Expr:
        try:
            return low.lower(node, want, "the formula").expr
        except ExprError as exc:
            raise SchemeError(f"{w}: {exc}") from None

    for name in order:
        if name == "grade":
            grade = (grade_expr(pl.col("score"), spec.grades) if spec.grades
                     else pl.lit(None, pl.String))
            steps.append(("grade", grade))
        elif name == "rank":
            steps.append(("rank", cohort_rank([(pl.col("score"), True)]).cast(DEC)))
        else:
            _, col, node, places, w = by_name[name]
            x = lower(node, "num", w)
            if places is not None:
                x = round_half_up(x, places)
            steps.append((col, x.cast(DEC)))
    award_exprs = [(aid, f"{C.AWARD}{k}", lower(node, "num", f"{where}.awards[{k}].amount"))
                   for k, (aid, node) in enumerate(awards)]
    flag_exprs = [(flag, f"{C.AGG_FLAG}{k}",
                   lower(node, "bool", f"{where}.flags[{k}].when").fill_null(False))
                  for k, (flag, node) in enumerate(flags)]
    values = [(v.id, f"{C.AGG_VALUE}{v.id}") for v in spec.values]
    return AggregatePlan(agg_exprs, steps, award_exprs, flag_exprs, values, ann)


def _aggregates(plan: Plan, frame: pl.DataFrame, annual: pl.DataFrame | None,
                warnings: list[str]) -> tuple[pl.DataFrame | None, list[AggregateMeta]]:
    specs = plan.scheme.aggregates
    has_annual = annual is not None and annual.height > 0
    if not specs or ((frame.height == 0 or frame[PERIOD].null_count() == frame.height)
                     and not has_annual):
        return None, []
    rows = frame.filter(pl.col(ASSESSED)).sort([EMPLOYEE, PIDX])
    outs: list[pl.DataFrame] = []
    meta: list[AggregateMeta] = []
    for i, spec in enumerate(specs):
        where = f"aggregates[{i}]"
        ap = aggregate_plan(plan, spec, where)
        agg = (
            rows.filter(pl.col(PERIOD).is_not_null())
            .with_columns(_agg_period(spec.period).alias("__aggp"))
            .group_by(["__aggp", EMPLOYEE], maintain_order=True)
            .agg(
                pl.col(TEAM).last().alias(TEAM),
                pl.len().cast(DEC).alias("months"),
                *[e.alias(c) for c, e in ap.agg_exprs],
            )
            .rename({"__aggp": PERIOD})
        )
        if ap.annual_inputs:
            agg = _with_period_rows(plan, spec, ap, agg, annual, warnings)
        agg = agg.with_columns(pl.lit(True).alias(ASSESSED))
        for col, expr in ap.steps:
            agg = agg.with_columns(expr.alias(col))
        if ap.awards or ap.flags:
            agg = agg.with_columns([e.alias(c) for _, c, e in ap.awards]
                                   + [e.alias(c) for _, c, e in ap.flags])
        if not spec.ranked:
            agg = agg.with_columns(pl.lit(None, dtype=DEC).alias("rank"))
        agg = agg.with_columns(pl.lit(i).alias("__spec"))
        meta.append(AggregateMeta(
            spec, [(a, c) for a, c, _ in ap.awards], [(f, c) for f, c, _ in ap.flags],
            ap.values, spec.ranked))
        outs.append(agg)
    return pl.concat(outs, how="diagonal_relaxed").sort(["__spec", PERIOD, TEAM, EMPLOYEE]), meta


def _with_period_rows(plan: Plan, spec: AggregateSpec, ap: AggregatePlan, agg: pl.DataFrame,
                      annual: pl.DataFrame | None, warnings: list[str]) -> pl.DataFrame:
    """An aggregate whose scheme has inputs of that year (quarter): one per employee with a
    year (quarter) row, on that row's team; months without such a row give none, with a
    warning, and a row without months counts 0 months, with a warning."""
    cols = [C.input_col(i) for i in ap.annual_inputs]
    if annual is None or annual.height == 0:
        own = pl.DataFrame({PERIOD: [], EMPLOYEE: [], TEAM: []},
                           schema={PERIOD: pl.String, EMPLOYEE: pl.String, TEAM: pl.String})
        own = own.with_columns([pl.lit(None, dtype=DEC).alias(c) for c in cols])
    else:
        own = annual.filter(pl.col(KIND) == spec.period).select(PERIOD, EMPLOYEE, TEAM, *cols)
    what = "year" if spec.period == "year" else "quarter"
    orphans = agg.join(own, on=[PERIOD, EMPLOYEE], how="anti").sort([PERIOD, EMPLOYEE])
    for period, employee in orphans.select(PERIOD, EMPLOYEE).iter_rows():
        warnings.append(f"{period} {employee}: monthly rows but no {what} row for {period}; "
                        f"no {what} result")
    out = own.join(agg.drop(TEAM), on=[PERIOD, EMPLOYEE], how="left", maintain_order="left")
    out = out.with_columns(pl.col("months").fill_null(dlit(0)))
    empty = out.filter(pl.col("months") == dlit(0)).sort([PERIOD, EMPLOYEE])
    for period, employee in empty.select(PERIOD, EMPLOYEE).iter_rows():
        warnings.append(f"{period} {employee}: a {what} row but no assessed month in "
                        f"{period}; the averages of the months count as 0")
    return out
