"""Run a compiled plan over an input table: results, aggregates and warnings.

The input table holds one row per employee and period with the columns ``employee``,
``team``, ``period`` (text ``YYYY-MM`` or null), ``__pidx`` (month index), ``__row`` (the
source row number) and one ``in:<id>`` column per scheme input, all numbers as
``Decimal(38, 10)``. The whole table is evaluated layer by layer in Polars; no Python code
runs per employee or per indicator.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from kaohe import columns as C
from kaohe.columns import ASSESSED, COHORT, EMPLOYEE, PERIOD, PIDX, TEAM
from kaohe.engine.exprs import AGG_FUNCTIONS, Lowering, Symbol, cohort_rank
from kaohe.engine.plan import Plan, grade_expr
from kaohe.errors import InputError, SchemeError
from kaohe.numbers import DEC, round_half_up
from kaohe.scheme.expr import Call, Node, render
from kaohe.scheme.models import AggregateSpec, BandsRule, Rated


@dataclass
class Outcome:
    plan: Plan
    frame: pl.DataFrame  # one row per employee and period, in input order
    aggregates: pl.DataFrame | None
    aggregate_specs: list[tuple[AggregateSpec, list[tuple[str, str]], list[tuple[str, str]]]]
    warnings: list[str]


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


def run(plan: Plan, table: pl.DataFrame) -> Outcome:
    frame = evaluate(plan, table)
    frame = _blank_excluded(plan, frame)
    warnings = _warnings(plan, frame)
    aggs, specs = _aggregates(plan, frame)
    return Outcome(plan, frame, aggs, specs, warnings)


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


def _agg_calls(node: Node, acc: list[Call]) -> None:
    from kaohe.scheme.expr import BinOp, BoolOp, Compare, Neg, Not

    match node:
        case Call(func=f, args=args) if f in AGG_FUNCTIONS:
            acc.append(node)
            return
        case Call(args=args):
            for a in args:
                _agg_calls(a, acc)
        case Neg(operand=o) | Not(operand=o):
            _agg_calls(o, acc)
        case BinOp(left=a, right=b) | Compare(left=a, right=b):
            _agg_calls(a, acc)
            _agg_calls(b, acc)
        case BoolOp(operands=ops):
            for o in ops:
                _agg_calls(o, acc)
        case _:
            pass


def aggregate_plan(plan: Plan, spec: AggregateSpec, where: str) -> tuple[
        Node, list[tuple[str, pl.Expr]], dict[str, str], list[tuple[str, Node]],
        list[tuple[str, Node]]]:
    """Check and lower one aggregate's formulas (also used at load time)."""
    row_syms = dict(plan.symbols)
    agg_low = Lowering(row_syms, plan.scheme.tables, mode="agg")
    score_node = spec.score.tree  # parsed once, when the scheme loaded
    awards = [(a.id, a.amount.tree) for a in spec.awards]
    flags = [(f.flag, f.when.tree) for f in spec.flags]
    calls: list[Call] = []
    for _, node in awards + flags:
        _agg_calls(node, calls)
    agg_exprs: list[tuple[str, pl.Expr]] = []
    mapping: dict[str, str] = {}
    try:
        agg_exprs.append(("score", agg_low.lower(score_node, "num", f"{where}.score").expr))
        for c in calls:
            key = render(c)
            if key not in mapping:
                col = f"{C.AGG_CALL}{len(mapping)}"
                mapping[key] = col
                agg_exprs.append((col, agg_low.lower(c, None, where).expr))
    except Exception as exc:
        raise SchemeError(f"{where}: {exc}") from None
    return score_node, agg_exprs, mapping, awards, flags


def post_lowering(plan: Plan, spec: AggregateSpec, mapping: dict[str, str]) -> Lowering:
    syms = {
        "score": Symbol("score", "num"),
        "months": Symbol("months", "num"),
        "rank": Symbol("rank", "num"),
    }
    if spec.grades:
        syms["grade"] = Symbol("grade", "str")
    return Lowering(syms, plan.scheme.tables, mode="post_agg", agg_columns=mapping)


def _aggregates(plan: Plan, frame: pl.DataFrame) -> tuple[
        pl.DataFrame | None,
        list[tuple[AggregateSpec, list[tuple[str, str]], list[tuple[str, str]]]]]:
    specs = plan.scheme.aggregates
    if not specs or frame.height == 0 or frame[PERIOD].null_count() == frame.height:
        return None, []
    rows = frame.filter(pl.col(ASSESSED)).sort([EMPLOYEE, PIDX])
    outs: list[pl.DataFrame] = []
    meta = []
    for i, spec in enumerate(specs):
        where = f"aggregates[{i}]"
        _, agg_exprs, mapping, awards, flags = aggregate_plan(plan, spec, where)
        agg = (
            rows.with_columns(_agg_period(spec.period).alias("__aggp"))
            .group_by(["__aggp", EMPLOYEE], maintain_order=True)
            .agg(
                pl.col(TEAM).last().alias(TEAM),
                pl.len().cast(DEC).alias("months"),
                *[e.alias(c) for c, e in agg_exprs],
            )
            .rename({"__aggp": PERIOD})
        )
        agg = agg.with_columns(pl.lit(True).alias(ASSESSED))
        if spec.round is not None:
            agg = agg.with_columns(round_half_up(pl.col("score"), spec.round).alias("score"))
        grade = grade_expr(pl.col("score"), spec.grades) if spec.grades else pl.lit(None,
                                                                                   pl.String)
        agg = agg.with_columns(grade.alias("grade"))
        agg = agg.with_columns(cohort_rank([(pl.col("score"), True)]).cast(DEC).alias("rank"))
        low = post_lowering(plan, spec, mapping)
        award_cols = []
        for k, (aid, node) in enumerate(awards):
            col = f"{C.AWARD}{k}"
            expr = low.lower(node, "num", f"{where}.awards").expr
            agg = agg.with_columns(expr.alias(col))
            award_cols.append((aid, col))
        flag_cols = []
        for k, (flag, node) in enumerate(flags):
            col = f"{C.AGG_FLAG}{k}"
            expr = low.lower(node, "bool", f"{where}.flags").expr.fill_null(False)
            agg = agg.with_columns(expr.alias(col))
            flag_cols.append((flag, col))
        agg = agg.with_columns(pl.lit(i).alias("__spec"))
        meta.append((spec, award_cols, flag_cols))
        outs.append(agg)
    return pl.concat(outs, how="diagonal_relaxed").sort(["__spec", PERIOD, TEAM, EMPLOYEE]), meta
