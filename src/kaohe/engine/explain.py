"""Why each point was given: the reason behind every number of one appraisal.

The engine keeps, per indicator, the columns its points came from (the ratio and the band
hit, the level, the counts, the rater marks); this module words them for one row. It runs
per displayed row only — scoring itself stays columnar.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from kaohe.columns import EMPLOYEE, PERIOD
from kaohe.engine.plan import Plan
from kaohe.errors import KaoheError
from kaohe.numbers import DEC, quantize
from kaohe.scheme.models import Scheme, ScoredItem


@dataclass(frozen=True)
class Line:
    id: str
    label: str
    points: Decimal | None
    reason: str


def fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "—"
    if isinstance(v, Decimal):
        if pct:
            return f"{quantize(v * 100, 2).normalize():f}%"
        if v != v.quantize(Decimal("0.0001")):
            return f"{quantize(v, 2):f}"
        return f"{v.normalize():f}"
    return str(v)


def find_row(frame: pl.DataFrame, employee: str, period: str | None) -> dict[str, Any]:
    rows = frame.filter(pl.col(EMPLOYEE) == employee)
    if rows.height == 0:
        raise KaoheError(f"no row for employee {employee!r} in the input")
    if period is not None:
        rows = rows.filter(pl.col(PERIOD) == period)
        if rows.height == 0:
            raise KaoheError(f"employee {employee!r} has no row for period {period!r}")
    elif rows.height > 1:
        periods = ", ".join(str(p) for p in rows[PERIOD].to_list())
        raise KaoheError(f"employee {employee!r} has several periods ({periods}); give --period")
    return rows.row(0, named=True)


def band_value(plan: Plan, ident: str, row: dict[str, Any]) -> Decimal | None:
    """The value a band indicator compared, worked out again for this one row."""
    expr = plan.value_exprs.get(ident)
    if expr is None:
        return None
    one = pl.DataFrame({k: [v] for k, v in row.items() if ":" in k or k == "__assessed"})
    one = one.with_columns([pl.col(c).cast(DEC) for c, t in one.schema.items()
                            if isinstance(t, pl.Decimal)])
    try:
        value = one.select(expr.alias("v")).item()
    except pl.exceptions.PolarsError:
        return None
    return value if isinstance(value, Decimal) else None


def _weight(item: ScoredItem) -> str:
    if item.weight == 1:
        return ""
    if item.weight < 1:
        return f" × {fmt(item.weight, pct=True)}"
    return f" × {fmt(item.weight)}"


def indicator_reason(scheme: Scheme, plan: Plan, item: ScoredItem, row: dict[str, Any]) -> str:
    pts = row.get(f"ind:{item.id}")
    pct_value = False
    if item.kind == "bands":
        assert item.bands is not None and item.value is not None
        value = band_value(plan, item.id, row)
        band = row.get(f"band:{item.id}")
        names = [n for n in item.value.replace("(", " ").replace(")", " ").replace("/", " ")
                 .replace("+", " ").replace("*", " ").replace("-", " ").split() if n in
                 scheme.inputs]
        ins = ", ".join(f"{n} = {fmt(row.get(f'in:{n}'))}" for n in dict.fromkeys(names))
        bands = item.bands.ascending
        pct_value = any("%" in b.interval.text for b in bands)
        if value is None or band is None:
            lowest = bands[0].score if item.undefined == "lowest" else item.undefined
            return (f"{item.value} is undefined ({ins}: zero denominator) → lowest score "
                    f"{fmt(lowest)}{_weight(item)} = {fmt(pts)}")
        hit = bands[int(band)]
        shown = f"{item.value} = {fmt(value, pct=pct_value)}"
        if item.value.strip() not in scheme.inputs:
            shown += f" ({ins})"
        return (f"{shown} → band {hit.interval.text} → {fmt(hit.score)}{_weight(item)} "
                f"= {fmt(pts)}")
    if item.kind == "levels":
        assert item.levels is not None
        source = item.levels.input or item.id
        level = row.get(f"in:{source}")
        base = item.levels.points.get(level) if level is not None else None
        extra = f" × {fmt(item.points)}" if item.levels.scale == "fraction" else ""
        return f"{source} = {level} → {fmt(base)}{extra}{_weight(item)} = {fmt(pts)}"
    if item.kind == "deduction":
        assert item.deduction is not None
        parts = [fmt(item.points)]
        for rule in item.deduction.rules:
            count = row.get(f"in:{rule.count}")
            label = rule.label or rule.count
            if rule.per is not None:
                free = f", {fmt(rule.free)} free" if rule.free else ""
                unit = f", rounded up to whole {fmt(rule.unit)}" if rule.unit else ""
                parts.append(f"{label} {fmt(count)} × {fmt(rule.per)}{free}{unit}")
            else:
                steps = "/".join(fmt(s) for s in rule.schedule or [])
                parts.append(f"{label} {fmt(count)} (schedule {steps})")
        floor = f", not below {fmt(item.deduction.floor)}"
        return " − ".join(parts) + f"{floor}{_weight(item)} = {fmt(pts)}"
    if item.kind == "rated":
        assert item.rated is not None
        source = item.rated.input or item.id
        marks = []
        for r, w in item.rated.raters.items():
            m = row.get(f"in:{source}@{r}")
            marks.append(f"{r} {fmt(m)} ({fmt(w, pct=True)})")
        value = row.get(f"value:{item.id}")
        return (f"marks {', '.join(marks)} → weighted {fmt(quantize(value, 4)) if value is not None else '—'}"
                f"{_weight(item)} = {fmt(pts)}")
    assert item.formula is not None
    return f"{item.formula}{_weight(item)} = {fmt(pts)}"


def explain_row(plan: Plan, row: dict[str, Any]) -> list[Line]:
    s = plan.scheme
    out: list[Line] = []
    if not row.get("__assessed", True):
        reason = s.eligibility.reason if s.eligibility else ""
        return [Line("excluded", "不参加考核", None,
                     f"{s.eligibility.exclude_if if s.eligibility else ''} {reason}".strip())]
    for item in s.indicators:
        out.append(Line(item.id, item.label, row.get(f"ind:{item.id}"),
                        indicator_reason(s, plan, item, row)))
    for adj in s.adjustments:
        out.append(Line(adj.id, adj.label, row.get(f"adj:{adj.id}"),
                        f"{adj.points} = {fmt(row.get(f'adj:{adj.id}'))}"))
    if "total" in row:
        how = s.total.formula or "sum of the indicators and adjustments"
        bounds = []
        if s.total.floor is not None:
            bounds.append(f"not below {fmt(s.total.floor)}")
        if s.total.cap is not None:
            bounds.append(f"not above {fmt(s.total.cap)}")
        extra = f" ({', '.join(bounds)})" if bounds else ""
        out.append(Line("total", "总分", row.get("total"), f"{how}{extra}"))
    if row.get("grade") is not None:
        coef = f", coefficient {fmt(row.get('coefficient'))}" if row.get("coefficient") is not None \
            else ""
        out.append(Line("grade", "等级", None, f"{row['grade']}{coef}"))
    if row.get("rank") is not None:
        keys = ", ".join(s.rank_by) + ", then employee id"
        out.append(Line("rank", "名次", row.get("rank"), f"within team and period by {keys}"))
    for line in s.pay:
        out.append(Line(line.id, line.label, row.get(f"pay:{line.id}"),
                        f"{line.amount} = {fmt(row.get(f'pay:{line.id}'))}"))
    if s.pay:
        out.append(Line("pay_total", "应发合计", row.get("pay_total"), "sum of the rounded pay lines"))
    for text, col in plan.flag_columns:
        if row.get(col):
            fl = next(f for f in s.flags if f.flag == text)
            out.append(Line("flag", text, None, f"{fl.when}"))
    return out


def short_reasons(plan: Plan, frame: pl.DataFrame) -> list[dict[str, str]]:
    """One short reason per indicator for every row of a scored frame (no division: the band
    hit, the level, the counts or the marks), for storing with results."""
    s = plan.scheme
    cols: set[str] = {"__assessed"}
    for item in s.indicators:
        cols.update(plan.reason_columns.get(item.id, []))
    cols.update(f"in:{n}" for n in s.inputs if f"in:{n}" in frame.columns)
    # the same order as result_records: period, team, employee
    rows = frame.sort(["period", "team", "employee"], nulls_last=False).select(
        sorted(c for c in cols if c in frame.columns)).to_dicts()
    out: list[dict[str, str]] = []
    for row in rows:
        if not row.get("__assessed", True):
            out.append({})
            continue
        texts: dict[str, str] = {}
        for item in s.indicators:
            w = _weight(item)
            if item.bands is not None:
                band = row.get(f"band:{item.id}")
                if band is None:
                    texts[item.id] = f"{item.value}: undefined (zero denominator) → lowest score"
                else:
                    hit = item.bands.ascending[int(band)]
                    texts[item.id] = (f"{item.value} in {hit.interval.text} → "
                                      f"{fmt(hit.score)}{w}")
            elif item.levels is not None:
                src = item.levels.input or item.id
                level = row.get(f"in:{src}")
                pts = item.levels.points.get(level) if level is not None else None
                texts[item.id] = f"{src} = {level} → {fmt(pts)}{w}"
            elif item.deduction is not None:
                parts = [f"{r.label or r.count} {fmt(row.get(f'in:{r.count}'))}"
                         for r in item.deduction.rules]
                texts[item.id] = f"{fmt(item.points)} − ({', '.join(parts)}){w}"
            elif item.rated is not None:
                src = item.rated.input or item.id
                marks = [f"{r} {fmt(row.get(f'in:{src}@{r}'))}" for r in item.rated.raters]
                texts[item.id] = f"marks {', '.join(marks)}{w}"
            else:
                texts[item.id] = f"{item.formula}{w}"
        out.append(texts)
    return out
