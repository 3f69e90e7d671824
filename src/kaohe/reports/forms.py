"""The 考核表: one xlsx form per agent per period, and a summary workbook per team.

A form is laid out like the paper appraisal forms the schemes come from:

* the title (scheme name + 考核表) and a header block: 被考核人, 部门/团队, 岗位, 考核周期;
* one row per indicator: 序号, 考核指标, 权重/分值, 评分标准, 数据 (the values the
  indicator read), 得分 and 理由 (how the points were reached, in words);
* the adjustments (加减分), 合计, 等级, 系数, 名次, the pay lines with 应发合计, the flags;
* the signature block: 被考核人 / 考核人 / 复核人 / 人力资源部, each with a 日期 cell.

A row the scheme's eligibility rule excludes gets a form saying 不参加考核 and why.
Numbers are written as numbers (rounded to the fen, shown ``0.00``), never as text. Every
file is written under a ``.part`` name and renamed when complete, so a crash leaves no
half-written workbook behind.
"""

from __future__ import annotations

import functools
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from kaohe.columns import EMPLOYEE, PERIOD, TEAM
from kaohe.engine.plan import Plan
from kaohe.engine.score import Scored
from kaohe.errors import ExprError, KaoheError
from kaohe.scheme.expr import names as formula_names
from kaohe.scheme.expr import parse
from kaohe.scheme.models import Grade, Scheme, ScoredItem

__all__ = ["SIGNERS", "TEXT", "write_agent_form", "write_forms", "write_team_summary"]

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "考核表", "person": "被考核人", "dept": "部门/团队", "position": "岗位",
        "period": "考核周期", "scheme": "考核方案", "no": "序号", "indicator": "考核指标",
        "weight": "权重/分值", "standard": "评分标准", "data": "数据", "points": "得分",
        "reason": "理由", "adjust": "加减分", "total": "合计", "grade": "等级",
        "coefficient": "系数", "rank": "名次", "pay": "薪酬", "pay_total": "应发合计",
        "flags": "标记", "warnings": "提示", "none": "无",
        "date": "日期",
        "excluded": "不参加考核", "result": "考核结果", "why": "原因", "rule": "依据",
        "summary": "团队汇总", "employee": "工号", "name": "姓名",
        # words of the reasons
        "band": "档位", "value": "值", "undefined": "无法计算（分母为 0）",
        "lowest": "按最低分", "given": "按", "weighted": "加权",
        "missing": "{who} 缺评，权重按比例分摊", "free": "（{n} 免扣）",
        "unit": "（不足 {u} 按 {u} 计）", "schedule": "累进 {steps}", "floor": "最低 {f}",
        "veto": "否决条件 {cond} 成立时为 0", "vetoed": "否决：{cond}",
        "sum": "各项得分与加减分之和", "not_below": "不低于 {x}", "not_above": "不高于 {x}",
        "ranked": "同团队同周期按 {keys} 排名", "of_n": "共 {n} 人参评",
        "grade_input": "由输入 {x} 给出", "pay_sum": "各薪酬项之和", "sep": "；",
        "colon": "：", "team_none": "未分组",
    },
    "en": {
        "title": "Appraisal form", "person": "Employee", "dept": "Team", "position": "Position",
        "period": "Period", "scheme": "Scheme", "no": "No.", "indicator": "Indicator",
        "weight": "Weight / points", "standard": "Standard", "data": "Data",
        "points": "Points", "reason": "Reason", "adjust": "Adjustments", "total": "Total",
        "grade": "Grade", "coefficient": "Coefficient", "rank": "Rank", "pay": "Pay",
        "pay_total": "Pay total", "flags": "Flags", "warnings": "Warnings", "none": "none",
        "date": "Date",
        "excluded": "Not assessed", "result": "Result", "why": "Reason", "rule": "Rule",
        "summary": "Team summary", "employee": "Employee id", "name": "Name",
        "band": "band", "value": "value", "undefined": "undefined (zero denominator)",
        "lowest": "lowest score", "given": "score", "weighted": "weighted",
        "missing": "{who} missing, weight shared out", "free": " ({n} free)",
        "unit": " (rounded up to whole {u})", "schedule": "schedule {steps}",
        "floor": "not below {f}", "veto": "0 when {cond}", "vetoed": "vetoed: {cond}",
        "sum": "sum of the indicators and adjustments", "not_below": "not below {x}",
        "not_above": "not above {x}", "ranked": "within team and period by {keys}",
        "of_n": "{n} assessed", "grade_input": "entered as {x}", "pay_sum": "sum of the pay lines",
        "sep": "; ", "colon": ": ", "team_none": "no team",
    },
}

#: the signature block, in order
SIGNERS: dict[str, tuple[str, ...]] = {
    "zh": ("被考核人", "考核人", "复核人", "人力资源部"),
    "en": ("Employee", "Appraiser", "Reviewer", "HR department"),
}

# column widths of the form, in characters: 序号 考核指标 权重/分值 评分标准 数据 得分 理由
_WIDTHS = (6, 20, 11, 34, 30, 11, 48)
_LAST = len(_WIDTHS) - 1
_LINE_HEIGHT = 15.0
_CENT = Decimal("0.01")
_SAFE = re.compile(r"[^\w.\-\u4e00-\u9fff]+")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
             *(f"lpt{i}" for i in range(1, 10))}
_NAME_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:@[A-Za-z_][A-Za-z0-9_]*)?")


# -- numbers and words ---------------------------------------------------------------------

def _dec(v: Any) -> Decimal | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, Decimal):
        return v
    if isinstance(v, int | float):
        try:
            return Decimal(str(v))
        except InvalidOperation:
            return None
    return None


def _cents(v: Any) -> float | None:
    """A number for a cell: the value rounded half-up to the fen, as a float (which prints
    exactly as the 2-decimal value)."""
    d = _dec(v)
    if d is None or not d.is_finite():
        return None
    return float(d.quantize(_CENT, rounding=ROUND_HALF_UP))


def _plain(d: Decimal) -> str:
    """A number as people write it: no exponent, no trailing zeros; up to 4 decimals as
    given (a rate such as 0.006), anything longer rounded to 2."""
    if d != d.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP):
        d = d.quantize(_CENT, rounding=ROUND_HALF_UP)
    d = d.normalize()
    return f"{d:f}" if d != 0 else "0"


def _two(v: Any) -> str:
    d = _dec(v)
    return "—" if d is None else f"{d.quantize(_CENT, rounding=ROUND_HALF_UP):f}"


def _pct(d: Decimal, places: int | None = None) -> str:
    x = d * 100
    if places is not None:
        return f"{x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):f}%"
    return f"{_plain(x)}%"


def _shown(v: Any, *, pct: bool = False) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "1" if v else "0"
    d = _dec(v)
    if d is None:
        return str(v)
    return _pct(d, 2) if pct else _plain(d)


def _interval(text: str) -> str:
    return text.replace(">=", "≥").replace("<=", "≤").replace(" ", "")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _lines(text: str, width: float) -> int:
    chars = max(1, int(width) - 1)
    return sum(max(1, math.ceil(_width(part) / chars)) for part in text.split("\n"))


def _label(obj: Any, en: bool) -> str:
    ident = str(getattr(obj, "id", ""))
    label = str(getattr(obj, "label", "") or "")
    label_en = str(getattr(obj, "label_en", "") or "")
    return (label_en or label or ident) if en else (label or ident)


def _in_order(text: str, known: Iterable[str]) -> list[str]:
    """The names a formula reads, in the order they are written."""
    try:
        read = formula_names(parse(text))
    except ExprError:
        return []
    pool = set(known)
    return list(dict.fromkeys(n for n in _NAME_TOKEN.findall(text) if n in read and n in pool))


# -- the form's context ----------------------------------------------------------------

@dataclass
class _Context:
    """What every form of one scored run shares: the frame rows by (period, employee), the
    band values worked out once for the whole table, warnings and cohort sizes."""

    scored: Scored
    rows: dict[tuple[str | None, str], dict[str, Any]]
    warnings: dict[str, list[str]] = field(default_factory=dict)
    cohorts: dict[tuple[str | None, str], int] = field(default_factory=dict)

    @property
    def plan(self) -> Plan:
        return self.scored.outcome.plan

    @property
    def scheme(self) -> Scheme:
        return self.scored.scheme

    def row(self, record: dict[str, Any]) -> dict[str, Any]:
        key = (record.get("period") or None, str(record["employee"]))
        row = self.rows.get(key)
        if row is None:
            period = f" in period {key[0]}" if key[0] else ""
            raise KaoheError(f"no scored row for employee {key[1]!r}{period}")
        return row


def _with_values(plan: Plan, frame: pl.DataFrame) -> pl.DataFrame:
    """Add each band indicator's compared value as ``__value:<id>`` (null where undefined).
    The values are worked out once for the whole table, only to be shown."""
    extra: list[pl.Series] = []
    for ident, expr in plan.value_exprs.items():
        try:
            extra.append(frame.select(expr.alias(f"__value:{ident}")).to_series())
        except pl.exceptions.PolarsError:
            continue  # the reason then shows the band hit without the value
    return frame.with_columns(extra) if extra else frame


def _context(scored: Scored, frame: pl.DataFrame | None = None) -> _Context:
    outcome = scored.outcome
    frame = outcome.frame if frame is None else frame
    frame = _with_values(outcome.plan, frame)
    rows: dict[tuple[str | None, str], dict[str, Any]] = {}
    for row in frame.iter_rows(named=True):
        rows.setdefault((row[PERIOD] or None, str(row[EMPLOYEE])), row)
    warnings: dict[str, list[str]] = {}
    for w in outcome.warnings:
        head, sep, rest = w.partition(": ")
        if sep:
            warnings.setdefault(head, []).append(rest)
    cohorts: dict[tuple[str | None, str], int] = {}
    if "rank" in outcome.frame.columns:
        counts = outcome.frame.group_by([PERIOD, TEAM]).agg(
            pl.col("rank").is_not_null().sum().alias("n"))
        for period, team, n in counts.iter_rows():
            cohorts[(period or None, team or "")] = int(n)
    return _Context(scored, rows, warnings, cohorts)


def _one_row_context(scored: Scored, record: dict[str, Any]) -> _Context:
    f = scored.outcome.frame.filter(pl.col(EMPLOYEE) == str(record["employee"]))
    period = record.get("period")
    if period:
        f = f.filter(pl.col(PERIOD) == period)
    else:
        f = f.filter(pl.col(PERIOD).is_null() | (pl.col(PERIOD) == ""))
    return _context(scored, f)


# -- texts of one indicator --------------------------------------------------------------

def _weight_suffix(item: ScoredItem) -> str:
    if item.weight == 1:
        return ""
    return f" × {_pct(item.weight) if item.weight < 1 else _plain(item.weight)}"


def _pct_bands(item: ScoredItem) -> bool:
    return item.bands is not None and any("%" in b.interval.text for b in item.bands.bands)


def _rule_label(scheme: Scheme, count: str, label: str, en: bool) -> str:
    spec = scheme.inputs.get(count)
    if en:
        return (spec.label_en if spec is not None and spec.label_en else "") or count
    return label or (spec.label if spec is not None and spec.label else "") or count


def standard_text(item: ScoredItem, scheme: Scheme, lang: str = "zh") -> str:
    """The scoring rule in words: the scheme's own ``standard`` (Chinese forms), or a compact
    rendering of the bands, levels, deduction rules, rater weights or formula."""
    en = lang == "en"
    if item.standard and not en:
        return item.standard
    if item.bands is not None:
        return "; ".join(f"{_interval(b.interval.text)}:{_plain(b.score)}"
                         for b in reversed(item.bands.ascending))
    if item.levels is not None:
        lv = item.levels
        if lv.scale == "fraction":
            assert item.points is not None
            return "; ".join(f"{k}:{_plain(v * item.points)}" for k, v in lv.points.items())
        return "; ".join(f"{k}:{_plain(v)}" for k, v in lv.points.items())
    if item.deduction is not None:
        assert item.points is not None
        parts = []
        for r in item.deduction.rules:
            who = _rule_label(scheme, r.count, r.label, en)
            if r.per is not None:
                each = "each" if en else "每次"
                parts.append(f"{who} −{_plain(r.per)} {each}" if en else
                             f"{who}{each}扣{_plain(r.per)}")
            else:
                steps = "/".join(_plain(x) for x in r.schedule or [])
                parts.append(f"{who} −{steps}" if en else f"{who}扣{steps}（累进）")
            if r.free:
                parts[-1] += TEXT[lang]["free"].format(n=_plain(r.free))
        start = f"{_plain(item.points)} " + ("points, " if en else "分起扣，")
        floor = TEXT[lang]["floor"].format(f=_plain(item.deduction.floor))
        return start + "; ".join(parts) + ("; " if en else "；") + floor
    if item.rated is not None:
        return ", ".join(f"{k} {_pct(v)}" for k, v in item.rated.raters.items())
    return item.standard or item.formula or ""


def _weight_cell(item: ScoredItem) -> tuple[Decimal | None, bool]:
    """(value, is a percent): the weight of a weighted 0–100 indicator, else its maximum
    points."""
    w = item.weight
    if w < 1 and item.kind in ("bands", "levels", "rated"):
        return w, True
    if item.bands is not None:
        return max(b.score for b in item.bands.bands) * w, False
    if item.levels is not None:
        base = item.points if item.levels.scale == "fraction" and item.points else Decimal(1)
        return max(item.levels.points.values()) * base * w, False
    if item.rated is not None:
        return item.rated.scale * w, False
    if item.points is not None:
        return item.points * w, False
    return None, False


def _input_value(scheme: Scheme, name: str, row: dict[str, Any], column: str) -> str:
    spec = scheme.inputs.get(name.split("@")[0])
    pct = spec is not None and spec.type == "ratio"
    return _shown(row.get(column), pct=pct)


def _symbol_pairs(ctx: _Context, text: str, row: dict[str, Any], en: bool,
                  own: str | None = None) -> list[str]:
    """``label=value`` for each name a formula reads, in the order written. Inside the
    formula of ``own`` (an indicator, adjustment or pay line), its own id names the input
    of that id, as in the engine."""
    scheme, symbols = ctx.scheme, ctx.plan.symbols
    computed = _computed(scheme, en)
    out = []
    for n in _in_order(text, symbols):
        base, _, rater = n.partition("@")
        if base in scheme.inputs and (rater or n == own or n not in computed):
            col = f"in:{n}"
            name = _label_of_input(scheme, base, en) + (f"@{rater}" if rater else "")
            out.append(f"{name}={_input_value(scheme, n, row, col)}")
            continue
        out.append(f"{computed.get(n, n)}={_shown(row.get(symbols[n].column))}")
    return out


def _computed(scheme: Scheme, en: bool = False) -> dict[str, str]:
    """Labels of the names a scheme computes (indicators, values, sections, adjustments,
    pools, pay lines)."""
    t = TEXT["en" if en else "zh"]
    out: dict[str, str] = {"total": t["total"], "grade": t["grade"], "rank": t["rank"],
                           "coefficient": t["coefficient"], "pay_total": t["pay_total"]}
    for group in (scheme.values, scheme.indicators, scheme.sections, scheme.adjustments,
                  scheme.pools, scheme.pay):
        for obj in group:
            out[obj.id] = _label(obj, en)
    return out


def _label_of_input(scheme: Scheme, name: str, en: bool) -> str:
    spec = scheme.inputs.get(name)
    if spec is None:
        return name
    return (spec.label_en or name) if en else (spec.label or name)


def _band_parts(ctx: _Context, item: ScoredItem, row: dict[str, Any]
                ) -> tuple[Decimal | None, str | None, Decimal | None]:
    """(the compared value, the band hit's interval text, the band's score)."""
    assert item.bands is not None
    value = _dec(row.get(f"__value:{item.id}"))
    cols = ctx.plan.reason_columns.get(item.id, [f"band:{item.id}"])
    hit = _dec(row.get(cols[0]))
    if hit is None:
        return value, None, None
    band = item.bands.ascending[int(hit)]
    return value, _interval(band.interval.text), band.score


def data_text(ctx: _Context, item: ScoredItem, row: dict[str, Any], lang: str = "zh") -> str:
    """The values the indicator read: its inputs, and for bands the value and the band hit
    (read from the plan's reason columns)."""
    t = TEXT[lang]
    en = lang == "en"
    scheme = ctx.scheme
    sep = t["sep"]
    if item.bands is not None:
        assert item.value is not None
        parts = _symbol_pairs(ctx, item.value, row, en, item.id)
        value, band, _score = _band_parts(ctx, item, row)
        if band is None:
            parts.append(f"{t['value']} {t['undefined']}")
        else:
            if item.value.strip() not in scheme.inputs:
                parts.append(f"{t['value']}={_shown(value, pct=_pct_bands(item))}")
            parts.append(f"{t['band']} {band}")
        return sep.join(parts)
    if item.levels is not None:
        source = item.levels.input or item.id
        return f"{_label_of_input(scheme, source, en)}={_shown(row.get(f'in:{source}'))}"
    cols = ctx.plan.reason_columns.get(item.id, [])
    if item.deduction is not None:
        return sep.join(
            f"{_rule_label(scheme, r.count, r.label, en)}="
            f"{_shown(row.get(c))}" for r, c in zip(item.deduction.rules, cols, strict=False))
    if item.rated is not None:
        source = item.rated.input or item.id
        marks = [f"{r}={_shown(row.get(f'in:{source}@{r}'))}" for r in item.rated.raters]
        weighted = row.get(cols[0]) if cols else None
        marks.append(f"{t['weighted']}={_two(weighted)}")
        return sep.join(marks)
    return sep.join(_symbol_pairs(ctx, item.formula or "", row, en, item.id))


def reason_text(ctx: _Context, item: ScoredItem, row: dict[str, Any], points: Any,
                lang: str = "zh") -> str:
    """How the points were reached, e.g. ``sales / sales_target = 105.00% → 档位 ≥100% →
    100 × 30% = 30.00``."""
    t = TEXT[lang]
    en = lang == "en"
    scheme = ctx.scheme
    w = _weight_suffix(item)
    pts = _two(points)
    veto = f" ({t['veto'].format(cond=item.veto)})" if item.veto else ""
    if item.bands is not None:
        assert item.value is not None
        value, band, score = _band_parts(ctx, item, row)
        if band is None or score is None:
            lowest = (item.bands.lowest_score if item.undefined == "lowest"
                      else Decimal(item.undefined))
            how = t["lowest"] if item.undefined == "lowest" else t["given"]
            return (f"{item.value} {t['undefined']} → {how} {_plain(lowest)}{w} = {pts}"
                    f"{veto}")
        text = (f"{item.value} = {_shown(value, pct=_pct_bands(item))} → {t['band']} {band} → "
                f"{_plain(score)}{w} = {pts}")
        return text + _vetoed(item, score * item.weight, points, t)
    if item.levels is not None:
        lv = item.levels
        source = lv.input or item.id
        level = row.get(f"in:{source}")
        base = lv.points.get(str(level)) if level is not None else None
        if base is None:
            return f"{_label_of_input(scheme, source, en)} = — → {pts}"
        if lv.scale == "fraction":
            assert item.points is not None
            shown = f"{_pct(base)} × {_plain(item.points)}"
            natural = base * item.points * item.weight
        else:
            shown = _plain(base)
            natural = base * item.weight
        return (f"{_label_of_input(scheme, source, en)} = {level} → {shown}{w} = {pts}"
                + _vetoed(item, natural, points, t))
    if item.deduction is not None:
        assert item.points is not None
        parts = [_plain(item.points)]
        raw = item.points
        for rule in item.deduction.rules:
            who = _rule_label(scheme, rule.count, rule.label, en)
            count = _dec(row.get(f"in:{rule.count}"))
            c = count if count is not None else Decimal(0)
            if rule.unit is not None:
                c = (c / rule.unit).to_integral_value(rounding=ROUND_CEILING) * rule.unit
            over = max(c - rule.free, Decimal(0))
            extra = t["free"].format(n=_plain(rule.free)) if rule.free else ""
            extra += t["unit"].format(u=_plain(rule.unit)) if rule.unit is not None else ""
            shown_count = _shown(count)
            if rule.per is not None:
                raw -= over * rule.per
                parts.append(f"{who} {shown_count} × {_plain(rule.per)}{extra}")
            else:
                sched = rule.schedule or []
                if over <= 0:
                    amount = Decimal(0)
                else:
                    amount = sched[-1]
                    for n in range(1, len(sched)):
                        if over <= n:
                            amount = sched[n - 1]
                            break
                raw -= amount
                steps = "/".join(_plain(s) for s in sched)
                parts.append(f"{who} {shown_count} → {_plain(amount)}{extra}"
                             f" ({t['schedule'].format(steps=steps)})")
        text = " − ".join(parts)
        if raw < item.deduction.floor:
            text += f" = {_plain(raw)} → {t['floor'].format(f=_plain(item.deduction.floor))}"
        return f"{text}{w} = {pts}{veto}"
    if item.rated is not None:
        source = item.rated.input or item.id
        marks, missing = [], []
        for r, share in item.rated.raters.items():
            m = row.get(f"in:{source}@{r}")
            if m is None:
                missing.append(r)
                continue
            marks.append(f"{r} {_shown(m)} × {_pct(share)}")
        cols = ctx.plan.reason_columns.get(item.id, [])
        weighted = _two(row.get(cols[0])) if cols else "—"
        text = f"{' + '.join(marks) or '—'} → {t['weighted']} {weighted}{w} = {pts}"
        if missing and marks:
            text += f" ({t['missing'].format(who=', '.join(missing))})"
        return text + veto
    formula = item.formula or ""
    values = _symbol_pairs(ctx, formula, row, en, item.id)
    shown = f" ({', '.join(values)})" if values else ""
    return f"{formula}{w} = {pts}{shown}{veto}"


def _vetoed(item: ScoredItem, natural: Decimal, points: Any, t: dict[str, str]) -> str:
    got = _dec(points)
    if item.veto and got is not None and got == 0 and natural != 0:
        return f" → {t['vetoed'].format(cond=item.veto)} = 0.00"
    return ""


# -- writing cells -------------------------------------------------------------------------

class _Styles:
    def __init__(self, wb: Workbook) -> None:
        base = {"font_name": "SimSun", "font_size": 11, "valign": "vcenter"}
        self.title = wb.add_format({**base, "bold": True, "font_size": 16, "align": "center"})
        self.head = wb.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1,
                                   "align": "center", "text_wrap": True})
        self.section = wb.add_format({**base, "bold": True, "bg_color": "#F2F2F2", "border": 1,
                                      "text_wrap": True})
        self.section_num = wb.add_format({**base, "bold": True, "bg_color": "#F2F2F2",
                                          "border": 1, "num_format": "0.00"})
        self.label = wb.add_format({**base, "bold": True, "border": 1, "bg_color": "#F2F2F2",
                                    "text_wrap": True})
        self.cell = wb.add_format({**base, "border": 1, "text_wrap": True})
        self.center = wb.add_format({**base, "border": 1, "align": "center"})
        self.num = wb.add_format({**base, "border": 1, "num_format": "0.00"})
        self.bold_num = wb.add_format({**base, "border": 1, "bold": True, "num_format": "0.00"})
        self.int = wb.add_format({**base, "border": 1, "num_format": "0"})
        self.pct = wb.add_format({**base, "border": 1, "num_format": "0%"})
        self.pct2 = wb.add_format({**base, "border": 1, "num_format": "0.00%"})
        self.big = wb.add_format({**base, "bold": True, "border": 1, "align": "center",
                                  "font_size": 14, "font_color": "#C00000"})
        self.sign = wb.add_format({**base, "bottom": 1})
        self.plain = wb.add_format(base)


def _put(ws: Worksheet, r: int, c1: int, c2: int, value: Any, fmt: Format) -> None:
    """Write one value over columns c1..c2: text as text (never a formula or a link),
    numbers as numbers."""
    if c2 > c1:
        ws.merge_range(r, c1, r, c2, None, fmt)
    if value is None or value == "":
        ws.write_blank(r, c1, None, fmt)
    elif isinstance(value, bool):
        ws.write_string(r, c1, "1" if value else "0", fmt)
    elif isinstance(value, int | float | Decimal):
        ws.write_number(r, c1, float(value), fmt)
    else:
        ws.write_string(r, c1, str(value), fmt)


class _Sheet:
    """A worksheet being filled row by row, remembering how tall each row must be for its
    wrapped text (xlsx viewers do not grow merged rows by themselves)."""

    def __init__(self, ws: Worksheet, widths: tuple[int, ...]) -> None:
        self.ws = ws
        self.widths = widths
        self.r = 0
        self.heights: dict[int, float] = {}

    def cell(self, c1: int, c2: int, value: Any, fmt: Format) -> None:
        _put(self.ws, self.r, c1, c2, value, fmt)
        if isinstance(value, str) and value:
            lines = _lines(value, sum(self.widths[c1:c2 + 1]))
            if lines > 1:
                self.height(lines * _LINE_HEIGHT)

    def height(self, points: float) -> None:
        """Make the current row at least ``points`` tall."""
        if points > self.heights.get(self.r, 0.0):
            self.heights[self.r] = points
            self.ws.set_row(self.r, points)

    def next(self, n: int = 1) -> None:
        self.r += n


def _number_cell(sheet: _Sheet, c: int, value: Any, st: _Styles, fmt: Format | None = None
                 ) -> None:
    n = _cents(value)
    sheet.cell(c, c, n if n is not None else "—" if value is None else str(value),
               fmt or st.num)


# -- the agent form ------------------------------------------------------------------------

def _check_lang(lang: str) -> dict[str, str]:
    if lang not in TEXT:
        raise ValueError(f"unknown language {lang!r}; use zh or en")
    return TEXT[lang]


def _grade_label(scheme: Scheme, grade: str, en: bool) -> str:
    if not en:
        return grade
    g = next((g for g in scheme.grades if g.name == grade), None)
    return (g.label_en or g.name) if g is not None else grade


def _grade_rule(grades: list[Grade], en: bool) -> str:
    out = []
    prev: Decimal | None = None
    for g in grades:
        name = (g.label_en or g.name) if en else g.name
        if g.min is not None:
            out.append(f"{name} ≥{_plain(g.min)}")
        elif prev is not None:
            out.append(f"{name} <{_plain(prev)}")
        else:
            out.append(name)
        prev = g.min if g.min is not None else prev
    return "; ".join(out)


def _grade_reason(scheme: Scheme, record: dict[str, Any], en: bool, t: dict[str, str]) -> str:
    grade = record.get("grade")
    if scheme.grade_input is not None:
        return t["grade_input"].format(x=scheme.grade_input)
    total = record.get("total")
    grades = scheme.grades
    for i, g in enumerate(grades):
        if g.name != grade:
            continue
        name = _grade_label(scheme, g.name, en)
        if g.min is not None:
            return f"{_two(total)} ≥ {_plain(g.min)} → {name}"
        above = next((x.min for x in reversed(grades[:i]) if x.min is not None), None)
        if above is not None:
            return f"{_two(total)} < {_plain(above)} → {name}"
        return name
    return ""


def _total_rule(scheme: Scheme, t: dict[str, str]) -> str:
    tot = scheme.total
    parts = [tot.formula or t["sum"]]
    if tot.floor is not None:
        parts.append(t["not_below"].format(x=_plain(tot.floor)))
    if tot.cap is not None:
        parts.append(t["not_above"].format(x=_plain(tot.cap)))
    if tot.veto:
        parts.append(t["veto"].format(cond=tot.veto))
    return t["sep"].join(parts)


def _total_reason(ctx: _Context, record: dict[str, Any], row: dict[str, Any],
                  t: dict[str, str]) -> str:
    scheme = ctx.scheme
    tot = scheme.total
    total = _dec(record.get("total"))
    if tot.formula is not None:
        values = _symbol_pairs(ctx, tot.formula, row, t is TEXT["en"])
        shown = f" ({', '.join(values)})" if values and len(values) <= 12 else ""
        return f"{tot.formula} = {_two(total)}{shown}"
    parts: list[Decimal] = []
    for item in scheme.indicators:
        parts.append(_dec(record["indicators"].get(item.id)) or Decimal(0))
    for adj in scheme.adjustments:
        parts.append(_dec(row.get(f"adj:{adj.id}")) or Decimal(0))
    raw = sum(parts, Decimal(0))
    if len(parts) <= 12:
        text = _two(parts[0]) if parts else "0"
        for p in parts[1:]:
            text += f" − {_two(-p)}" if p < 0 else f" + {_two(p)}"
        text += f" = {_two(raw)}"
    else:
        text = f"{t['sum']} = {_two(raw)}"
    if total is not None and total != raw:
        if tot.veto and total == 0:
            text += f" → {t['vetoed'].format(cond=tot.veto)}"
        elif tot.floor is not None and raw < tot.floor:
            text += f" → {t['not_below'].format(x=_plain(tot.floor))}"
        elif tot.cap is not None and raw > tot.cap:
            text += f" → {t['not_above'].format(x=_plain(tot.cap))}"
        text += f" = {_two(total)}"
    return text


def _title(scheme: Scheme, t: dict[str, str], en: bool) -> str:
    if en:
        return f"{scheme.name_en or scheme.name} — {t['title']}"
    name = scheme.name
    if name.endswith("表"):
        return name
    return name + ("表" if name.endswith("考核") else t["title"])


def _header(sheet: _Sheet, st: _Styles, ctx: _Context, record: dict[str, Any],
            t: dict[str, str], en: bool) -> None:
    scheme = ctx.scheme
    sheet.cell(0, _LAST, _title(scheme, t, en), st.title)
    sheet.height(28)
    sheet.next(2)
    person = str(record["employee"])
    if record.get("name"):
        person += f" {record['name']}"
    team = record.get("team") or "—"
    sheet.cell(0, 1, t["person"], st.label)
    sheet.cell(2, 3, person, st.cell)
    sheet.cell(4, 4, t["dept"], st.label)
    sheet.cell(5, 6, team, st.cell)
    sheet.next()
    sheet.cell(0, 1, t["position"], st.label)
    sheet.cell(2, 3, scheme.position or "—", st.cell)
    sheet.cell(4, 4, t["period"], st.label)
    sheet.cell(5, 6, record.get("period") or "—", st.cell)
    sheet.next()
    sheet.cell(0, 1, t["scheme"], st.label)
    name = (scheme.name_en or scheme.name) if en else scheme.name
    sheet.cell(2, 6, f"{name} ({scheme.id})", st.cell)
    sheet.next(2)


def _signatures(sheet: _Sheet, st: _Styles, t: dict[str, str], lang: str) -> None:
    sheet.next()
    for who in SIGNERS[lang]:
        sheet.height(30)
        sheet.cell(0, 1, who, st.label)
        sheet.cell(2, 3, "", st.sign)
        sheet.cell(4, 4, t["date"], st.label)
        sheet.cell(5, 6, "", st.sign)
        sheet.next()


def _excluded_body(sheet: _Sheet, st: _Styles, ctx: _Context, row: dict[str, Any],
                   t: dict[str, str], en: bool) -> None:
    scheme = ctx.scheme
    elig = scheme.eligibility
    sheet.cell(0, 1, t["result"], st.label)
    sheet.cell(2, _LAST, t["excluded"], st.big)
    sheet.height(26)
    sheet.next()
    sheet.cell(0, 1, t["why"], st.label)
    sheet.cell(2, _LAST, (elig.reason if elig else "") or t["excluded"], st.cell)
    sheet.next()
    if elig is not None:
        values = _symbol_pairs(ctx, elig.exclude_if, row, en)
        shown = f" ({', '.join(values)})" if values else ""
        sheet.cell(0, 1, t["rule"], st.label)
        sheet.cell(2, _LAST, f"{elig.exclude_if}{shown}", st.cell)
        sheet.next()


def _weight_put(sheet: _Sheet, st: _Styles, item: ScoredItem) -> None:
    value, is_pct = _weight_cell(item)
    if value is None:
        sheet.cell(2, 2, "", st.cell)
    elif is_pct:
        fmt = st.pct if (value * 100) == (value * 100).to_integral_value() else st.pct2
        sheet.cell(2, 2, float(value), fmt)
    else:
        _number_cell(sheet, 2, value, st)


def _scored_body(sheet: _Sheet, st: _Styles, ctx: _Context, record: dict[str, Any],
                 row: dict[str, Any], lang: str) -> None:
    t = TEXT[lang]
    en = lang == "en"
    scheme = ctx.scheme
    heads = (t["no"], t["indicator"], t["weight"], t["standard"], t["data"], t["points"],
             t["reason"])
    if scheme.indicators or scheme.adjustments:
        for c, h in enumerate(heads):
            sheet.cell(c, c, h, st.head)
        sheet.next()
    sections = {s.id: s for s in scheme.sections}
    current: str | None = None
    for i, item in enumerate(scheme.indicators, start=1):
        if item.section is not None and item.section != current and item.section in sections:
            sec = sections[item.section]
            sheet.cell(0, 0, "", st.section)
            sheet.cell(1, 1, _label(sec, en), st.section)
            if sec.points is not None:
                sheet.cell(2, 2, float(sec.points), st.section_num)
            else:
                sheet.cell(2, 2, "", st.section)
            sheet.cell(3, 4, "", st.section)
            _number_cell(sheet, 5, row.get(f"sec:{sec.id}"), st, st.section_num)
            sheet.cell(6, 6, "", st.section)
            sheet.next()
        current = item.section
        points = record["indicators"].get(item.id)
        sheet.cell(0, 0, i, st.center)
        sheet.cell(1, 1, _label(item, en), st.cell)
        _weight_put(sheet, st, item)
        sheet.cell(3, 3, standard_text(item, scheme, lang), st.cell)
        sheet.cell(4, 4, data_text(ctx, item, row, lang), st.cell)
        _number_cell(sheet, 5, points, st)
        sheet.cell(6, 6, reason_text(ctx, item, row, points, lang), st.cell)
        sheet.next()
    for adj in scheme.adjustments:
        value = row.get(f"adj:{adj.id}")
        bounds = []
        if adj.floor is not None:
            bounds.append(t["not_below"].format(x=_plain(adj.floor)))
        if adj.cap is not None:
            bounds.append(t["not_above"].format(x=_plain(adj.cap)))
        values = _symbol_pairs(ctx, adj.points, row, en, adj.id)
        sheet.cell(0, 0, "±", st.center)
        sheet.cell(1, 1, f"{t['adjust']}{t['colon']}{_label(adj, en)}", st.cell)
        sheet.cell(2, 2, t["sep"].join(bounds), st.cell)
        sheet.cell(3, 3, adj.points, st.cell)
        sheet.cell(4, 4, t["sep"].join(values), st.cell)
        _number_cell(sheet, 5, value, st)
        sheet.cell(6, 6, f"{adj.points} = {_two(value)}", st.cell)
        sheet.next()
    if not scheme.total.none:
        sheet.cell(0, 1, t["total"], st.label)
        if scheme.max_total is not None:
            _number_cell(sheet, 2, scheme.max_total, st)
        else:
            sheet.cell(2, 2, "", st.cell)
        sheet.cell(3, 4, _total_rule(scheme, t), st.cell)
        _number_cell(sheet, 5, record.get("total"), st, st.bold_num)
        sheet.cell(6, 6, _total_reason(ctx, record, row, t), st.cell)
        sheet.next()
    if record.get("grade") is not None:
        sheet.cell(0, 1, t["grade"], st.label)
        sheet.cell(2, 2, "", st.cell)
        rule = (_grade_rule(scheme.grades, en) if scheme.grade_input is None
                else t["grade_input"].format(x=scheme.grade_input))
        sheet.cell(3, 4, rule, st.cell)
        sheet.cell(5, 5, _grade_label(scheme, str(record["grade"]), en), st.center)
        sheet.cell(6, 6, _grade_reason(scheme, record, en, t), st.cell)
        sheet.next()
    if record.get("coefficient") is not None:
        sheet.cell(0, 1, t["coefficient"], st.label)
        sheet.cell(2, 2, "", st.cell)
        rule = "; ".join(f"{_grade_label(scheme, g.name, en)} {_plain(g.coefficient)}"
                         for g in scheme.grades if g.coefficient is not None)
        sheet.cell(3, 4, rule, st.cell)
        _number_cell(sheet, 5, record["coefficient"], st)
        sheet.cell(6, 6, f"{t['grade']} {_grade_label(scheme, str(record.get('grade')), en)}"
                         f" → {_shown(record['coefficient'])}", st.cell)
        sheet.next()
    if record.get("rank") is not None:
        keys = ", ".join(scheme.rank_by)
        n = ctx.cohorts.get((record.get("period") or None, record.get("team") or ""))
        sheet.cell(0, 1, t["rank"], st.label)
        sheet.cell(2, 2, "", st.cell)
        sheet.cell(3, 4, t["ranked"].format(keys=keys), st.cell)
        rank = _dec(record["rank"])
        sheet.cell(5, 5, int(rank) if rank is not None else "—", st.int)
        sheet.cell(6, 6, t["of_n"].format(n=n) if n else "", st.cell)
        sheet.next()
    pay = record.get("pay") or {}
    if scheme.pay and pay:
        sheet.next()
        sheet.cell(0, _LAST, t["pay"], st.head)
        sheet.next()
        for line in scheme.pay:
            amount = pay.get(line.id)
            rule = line.amount + (f"; {t['veto'].format(cond=line.veto)}" if line.veto else "")
            values = _symbol_pairs(ctx, line.amount, row, en, line.id)
            sheet.cell(0, 1, _label(line, en), st.cell)
            sheet.cell(2, 2, "", st.cell)
            sheet.cell(3, 3, rule, st.cell)
            sheet.cell(4, 4, t["sep"].join(values), st.cell)
            _number_cell(sheet, 5, amount, st)
            sheet.cell(6, 6, f"{line.amount} = {_two(amount)}" if values else "", st.cell)
            sheet.next()
        sheet.cell(0, 1, t["pay_total"], st.label)
        sheet.cell(2, 4, "", st.cell)
        _number_cell(sheet, 5, pay.get("total"), st, st.bold_num)
        sheet.cell(6, 6, t["pay_sum"], st.cell)
        sheet.next()
    if scheme.flags:
        shown = []
        for flag in record.get("flags") or []:
            rule = next((f.when for f in scheme.flags if f.flag == flag), "")
            shown.append(f"{_flag_label(scheme, flag, en)} ({rule})" if rule else
                         _flag_label(scheme, flag, en))
        sheet.cell(0, 1, t["flags"], st.label)
        sheet.cell(2, _LAST, t["sep"].join(shown) or t["none"], st.cell)
        sheet.next()


def _flag_label(scheme: Scheme, flag: str, en: bool) -> str:
    if not en:
        return flag
    f = next((f for f in scheme.flags if f.flag == flag), None)
    return (f.label_en or flag) if f is not None else flag


def _row_warnings(ctx: _Context, record: dict[str, Any]) -> list[str]:
    return ctx.warnings.get(f"{record.get('period') or '-'} {record['employee']}", [])


def fill_form(sheet: _Sheet, st: _Styles, ctx: _Context, record: dict[str, Any],
              lang: str) -> None:
    """The form's content, row by row, into ``sheet`` (a worksheet here; the PDF scorecard
    records the same cells)."""
    t = _check_lang(lang)
    en = lang == "en"
    row = ctx.row(record)
    _header(sheet, st, ctx, record, t, en)
    if record.get("excluded"):
        _excluded_body(sheet, st, ctx, row, t, en)
    else:
        _scored_body(sheet, st, ctx, record, row, lang)
    notes = _row_warnings(ctx, record)
    if notes:
        sheet.cell(0, 1, t["warnings"], st.label)
        sheet.cell(2, _LAST, "\n".join(notes), st.cell)
        sheet.next()
    sheet.next()
    _signatures(sheet, st, t, lang)


def _form(wb: Workbook, ctx: _Context, record: dict[str, Any], lang: str) -> None:
    t = _check_lang(lang)
    st = _Styles(wb)
    ws = wb.add_worksheet(_sheet_name(t["title"], set()))
    for i, w in enumerate(_WIDTHS):
        ws.set_column(i, i, w)
    sheet = _Sheet(ws, _WIDTHS)
    fill_form(sheet, st, ctx, record, lang)
    ws.set_paper(9)  # A4
    ws.set_landscape()
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.fit_to_pages(1, 0)
    ws.print_area(0, 0, sheet.r, _LAST)
    ws.hide_gridlines(2)


def _atomic(path: Path, build: Callable[[Workbook], None]) -> None:
    """Build a workbook under ``<path>.part`` and rename it into place once complete."""
    tmp = path.with_name(path.name + ".part")
    try:
        wb = xlsxwriter.Workbook(str(tmp), {"in_memory": True})
        try:
            build(wb)
        finally:
            wb.close()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _agent_form(ctx: _Context, record: dict[str, Any], path: Path, lang: str) -> None:
    _atomic(Path(path), lambda wb: _form(wb, ctx, record, lang))


def write_agent_form(scored: Scored, record: dict[str, Any], path: Path, *,
                     lang: str = "zh") -> None:
    """Write the 考核表 of one result record (an element of ``to_document(...)["results"]``)
    to ``path``."""
    _check_lang(lang)
    _agent_form(_one_row_context(scored, record), record, path, lang)


# -- the team summary ----------------------------------------------------------------------

def _sheet_name(text: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", text).strip("'") or "Sheet"
    base = base[:31]
    name, k = base, 2
    while name.casefold() in used:
        suffix = f" ({k})"
        name = base[:31 - len(suffix)] + suffix
        k += 1
    used.add(name.casefold())
    return name


def _rank_key(rec: dict[str, Any]) -> tuple[int, Decimal, str]:
    rank = _dec(rec.get("rank"))
    return (1 if rank is None else 0, rank if rank is not None else Decimal(0),
            str(rec["employee"]))


def _team_sheets(wb: Workbook, *, ctx: _Context, doc: dict[str, Any], lang: str,
                 team: str | None) -> None:
    t = _check_lang(lang)
    en = lang == "en"
    scheme = ctx.scheme
    st = _Styles(wb)
    results = [r for r in doc["results"] if team is None or (r.get("team") or "") == team]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in results:
        groups.setdefault((rec.get("team") or "", rec.get("period") or ""), []).append(rec)
    teams = {k[0] for k in groups}
    has_grade = bool(scheme.grades) or scheme.grade_input is not None
    has_coef = any(g.coefficient is not None for g in scheme.grades)
    head = [t["rank"], t["employee"], t["name"]]
    head += [_label(i, en) for i in scheme.indicators]
    head += [t["total"]] if not scheme.total.none else []
    head += [t["grade"]] if has_grade else []
    head += [t["coefficient"]] if has_coef else []
    head += [t["pay_total"]] if scheme.pay else []
    head += [t["flags"]]
    widths = tuple([6, 12, 10] + [max(8, min(14, _width(h) + 2)) for h in head[3:-1]] + [16])
    used: set[str] = set()
    if not groups:
        ws = wb.add_worksheet(_sheet_name(t["summary"], used))
        ws.write_string(0, 0, _title(scheme, t, en))
        return
    for (team_name, period) in sorted(groups):
        label = team_name or t["team_none"]
        parts = [label] if len(teams) > 1 or team is None else []
        parts += [period] if period else []
        ws = wb.add_worksheet(_sheet_name(" ".join(parts) or t["summary"], used))
        sheet = _Sheet(ws, widths)
        for c, w in enumerate(widths):
            ws.set_column(c, c, w)
        name = (scheme.name_en or scheme.name) if en else scheme.name
        title = " ".join(x for x in (name, t["summary"], team_name, period) if x)
        sheet.cell(0, len(head) - 1, title, st.title)
        sheet.height(26)
        sheet.next()
        for c, h in enumerate(head):
            sheet.cell(c, c, h, st.head)
        sheet.next()
        members = sorted(groups[(team_name, period)], key=_rank_key)
        notes: list[str] = []
        for rec in members:
            rank = _dec(rec.get("rank"))
            sheet.cell(0, 0, int(rank) if rank is not None else "", st.int)
            sheet.cell(1, 1, str(rec["employee"]), st.cell)
            sheet.cell(2, 2, rec.get("name") or "", st.cell)
            c = 3
            for item in scheme.indicators:
                _blank_or_number(sheet, c, rec["indicators"].get(item.id), st)
                c += 1
            if not scheme.total.none:
                _blank_or_number(sheet, c, rec.get("total"), st, st.bold_num)
                c += 1
            if has_grade:
                grade = rec.get("grade")
                text = (_grade_label(scheme, str(grade), en) if grade is not None
                        else t["excluded"] if rec.get("excluded") else "")
                sheet.cell(c, c, text, st.center)
                c += 1
            if has_coef:
                _blank_or_number(sheet, c, rec.get("coefficient"), st)
                c += 1
            if scheme.pay:
                _blank_or_number(sheet, c, (rec.get("pay") or {}).get("total"), st)
                c += 1
            flags = [_flag_label(scheme, f, en) for f in rec.get("flags") or []]
            if rec.get("excluded") and not has_grade:
                flags.insert(0, t["excluded"])
            sheet.cell(c, c, " ".join(flags), st.cell)
            sheet.next()
            notes += [f"{rec['employee']}{t['colon']}{w}" for w in _row_warnings(ctx, rec)]
        prefix = f"{period or '-'} team {team_name or '-'} "
        notes += [f"{head_}: {'; '.join(ws_)}" for head_, ws_ in ctx.warnings.items()
                  if head_.startswith(prefix)]
        if notes:
            sheet.next()
            sheet.cell(0, 0, t["warnings"], st.plain)
            sheet.next()
            for note in notes:
                _put(ws, sheet.r, 0, 0, note, st.plain)
                sheet.next()
        ws.freeze_panes(2, 3)
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(1)


def _blank_or_number(sheet: _Sheet, c: int, value: Any, st: _Styles,
                     fmt: Format | None = None) -> None:
    n = _cents(value)
    sheet.cell(c, c, n if n is not None else "", fmt or st.num)


def write_team_summary(scored: Scored, doc: dict[str, Any], path: Path, *, lang: str = "zh",
                       team: str | None = None) -> None:
    """One workbook listing every agent by rank: 名次, 工号, 姓名, each indicator's points,
    合计, 等级, 应发合计, 标记. One sheet per (team, period); ``team`` keeps one team only
    (``""`` for rows without a team)."""
    _check_lang(lang)
    ctx = _context(scored)
    _atomic(Path(path), functools.partial(_team_sheets, ctx=ctx, doc=doc, lang=lang, team=team))


# -- all forms of a run --------------------------------------------------------------------

def safe_name(text: str, limit: int = 80) -> str:
    """A file-name part: letters (Chinese included), digits, ``_ . -``; anything else ``_``."""
    name = _SAFE.sub("_", unicodedata.normalize("NFC", text)).strip("._ ")[:limit].strip("._ ")
    if not name:
        return "_"
    if name.split(".")[0].casefold() in _RESERVED:
        name = f"_{name}"
    return name


def _unique(folder: Path, stem: str, used: set[str]) -> Path:
    name, k = stem, 2
    while name.casefold() in used:
        name = f"{stem}_{k}"
        k += 1
    used.add(name.casefold())
    return folder / f"{name}.xlsx"


def write_forms(scored: Scored, doc: dict[str, Any], folder: Path, *, lang: str = "zh",
                progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Write every agent's form as ``<period>_<team>_<employee>.xlsx`` (missing parts left
    out) and a ``summary_<team>.xlsx`` per team (``summary.xlsx`` when the input has no
    teams) into ``folder``. Returns the paths written, forms first."""
    _check_lang(lang)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ctx = _context(scored)
    results: list[dict[str, Any]] = list(doc["results"])
    teams = sorted({r.get("team") or "" for r in results})
    total = len(results) + len(teams)
    used: set[str] = set()
    written: list[Path] = []
    done = 0
    for rec in results:
        parts = [rec.get("period"), rec.get("team"), rec["employee"]]
        stem = "_".join(safe_name(str(p)) for p in parts if p)
        path = _unique(folder, stem, used)
        _agent_form(ctx, rec, path, lang)
        written.append(path)
        done += 1
        if progress is not None:
            progress(done, total)
    for team in teams:
        stem = f"summary_{safe_name(team)}" if team else "summary"
        path = _unique(folder, stem, used)
        _atomic(path, functools.partial(_team_sheets, ctx=ctx, doc=doc, lang=lang, team=team))
        written.append(path)
        done += 1
        if progress is not None:
            progress(done, total)
    return written
