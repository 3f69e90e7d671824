"""The 考核表's content: which cell holds what, shared by the xlsx and the PDF form.

A form is laid out like the paper appraisal forms the schemes come from:

* the title (scheme name + 考核表) and a header block: 被考核人, 部门/团队, 岗位, 考核周期;
* one row per indicator: 序号, 考核指标, 权重/分值, 评分标准, 数据 (the values the
  indicator read), 得分 and 理由 (how the points were reached, in words);
* the adjustments (加减分), 合计, 等级, 系数, 名次, the pay lines with 应发合计, the flags;
* the signature block: 被考核人 / 考核人 / 复核人 / 人力资源部, each with a 日期 cell.

A row the scheme's eligibility rule excludes gets a form saying 不参加考核 and why.
:func:`fill_form` writes these cells into a :class:`Sheet`; the xlsx writer
(:mod:`kaohe.reports.forms`) puts them in a worksheet, the PDF writer
(:mod:`kaohe.reports.pdf`) records and draws them. The 理由 texts are the engine's reasons
(:func:`kaohe.engine.explain.reason_frame`), worked out once for the whole table; nothing
here recomputes a number.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import polars as pl

from kaohe import columns as C
from kaohe.columns import EMPLOYEE, PERIOD, TEAM
from kaohe.engine.explain import (
    ELIGIBILITY,
    FLAGS,
    WARNINGS,
    rank_words,
    rater_label,
    reason_frame,
    rule_words,
)
from kaohe.engine.plan import Plan
from kaohe.engine.score import Scored
from kaohe.errors import ExprError, KaoheError
from kaohe.formatting import cents, dec, pct, plain, shown
from kaohe.scheme.expr import names as formula_names
from kaohe.scheme.expr import parse
from kaohe.scheme.models import BandsRule, Deduction, Grade, Levels, Rated, Scheme, ScoredItem

__all__ = ["LAST", "SIGNERS", "TEXT", "WIDTHS", "FormContext", "FormatBook", "Sheet",
           "Styles", "check_lang", "data_text", "fill_form", "flag_label", "form_context",
           "formula_words", "grade_label", "label_of", "line_count", "row_context",
           "row_warnings", "standard_text", "text_width", "title"]

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
WIDTHS = (6, 18, 10, 30, 24, 10, 62)
LAST = len(WIDTHS) - 1
LINE_HEIGHT = 15.0

_NAME_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:@[A-Za-z_][A-Za-z0-9_]*)?")


def _interval(text: str) -> str:
    return text.replace(">=", "≥").replace("<=", "≤").replace(" ", "")


def text_width(text: str) -> int:
    """How many columns a text takes (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def line_count(text: str, width: float) -> int:
    chars = max(1, int(width) - 1)
    return sum(max(1, math.ceil(text_width(part) / chars)) for part in text.split("\n"))


def label_of(obj: Any, en: bool) -> str:
    ident = str(getattr(obj, "id", ""))
    label = str(getattr(obj, "label", "") or "")
    label_en = str(getattr(obj, "label_en", "") or "")
    return (label_en or label or ident) if en else (label or ident)


def _in_order(text: str, known: Iterable[str]) -> list[str]:
    """The names a formula reads, in the order they are written."""
    tree = getattr(text, "tree", None)
    try:
        read = formula_names(tree if tree is not None else parse(text))
    except ExprError:
        return []
    pool = set(known)
    return list(dict.fromkeys(n for n in _NAME_TOKEN.findall(text) if n in read and n in pool))



# -- the form's context ----------------------------------------------------------------

@dataclass
class FormContext:
    """What every form of one scored run shares: the frame rows and their reasons by
    (period, employee), the language and cohort sizes."""

    scored: Scored
    lang: str
    rows: dict[tuple[str | None, str], dict[str, Any]]
    reasons: dict[tuple[str | None, str], dict[str, str | None]]
    cohorts: dict[tuple[str | None, str], int] = field(default_factory=dict)

    @property
    def plan(self) -> Plan:
        return self.scored.outcome.plan

    @property
    def scheme(self) -> Scheme:
        return self.scored.scheme

    @property
    def en(self) -> bool:
        return self.lang == "en"

    def _key(self, record: dict[str, Any]) -> tuple[str | None, str]:
        key = (record.get("period") or None, str(record["employee"]))
        if key not in self.rows:
            period = f" in period {key[0]}" if key[0] else ""
            raise KaoheError(f"no scored row for employee {key[1]!r}{period}")
        return key

    def row(self, record: dict[str, Any]) -> dict[str, Any]:
        return self.rows[self._key(record)]

    def reason(self, record: dict[str, Any], line: str) -> str:
        """The engine's reason for one line of the record (without its label: the form
        shows the label beside it)."""
        return self.reasons[self._key(record)].get(line) or ""


def form_context(scored: Scored, lang: str, only: dict[str, Any] | None = None
                 ) -> FormContext:
    """The context of the forms of a scored run (``only``: of one result record). Reasons
    are worked out over the whole table (team figures need every member), once."""
    check_lang(lang)
    outcome = scored.outcome
    frame = outcome.frame
    texts = reason_frame(outcome.plan, frame, lang, labelled=False, compact=True)
    keys = frame.select(PERIOD, EMPLOYEE).with_row_index("__i")
    if only is not None:
        period = only.get("period")
        keys = keys.filter(pl.col(EMPLOYEE) == str(only["employee"]))
        keys = keys.filter(pl.col(PERIOD) == period if period else
                           pl.col(PERIOD).is_null() | (pl.col(PERIOD) == ""))
    picked = keys["__i"]
    rows: dict[tuple[str | None, str], dict[str, Any]] = {}
    reasons: dict[tuple[str | None, str], dict[str, str | None]] = {}
    for row, why in zip(frame[picked].iter_rows(named=True),
                        texts[picked].iter_rows(named=True), strict=True):
        key = (row[PERIOD] or None, str(row[EMPLOYEE]))
        rows.setdefault(key, row)
        reasons.setdefault(key, why)
    cohorts: dict[tuple[str | None, str], int] = {}
    if "rank" in frame.columns:
        counts = frame.group_by([PERIOD, TEAM]).agg(
            pl.col("rank").is_not_null().sum().alias("n"))
        for period, team, n in counts.iter_rows():
            cohorts[(period or None, team or "")] = int(n)
    return FormContext(scored, lang, rows, reasons, cohorts)


def row_context(scored: Scored, record: dict[str, Any], lang: str) -> FormContext:
    """The context of one result record's form."""
    return form_context(scored, lang, only=record)


# -- texts of one indicator --------------------------------------------------------------

def _rule_label(scheme: Scheme, count: str, label: str, en: bool) -> str:
    spec = scheme.inputs.get(count)
    if en:
        return (spec.label_en if spec is not None and spec.label_en else "") or count
    return label or (spec.label if spec is not None and spec.label else "") or count


def formula_words(scheme: Scheme, text: str, en: bool, own: str | None = None) -> str:
    """A formula in words with labels, for the 评分标准 column: people read labels, not
    input ids or formula source."""
    tree = getattr(text, "tree", None)
    if tree is None:
        try:
            tree = parse(text)
        except ExprError:
            return text
    return rule_words(scheme, tree, "en" if en else "zh", own)


def standard_text(item: ScoredItem, scheme: Scheme, lang: str = "zh") -> str:
    """The scoring rule in words: the scheme's own ``standard`` (Chinese forms), or a compact
    rendering of the bands, levels, deduction rules, rater weights or formula."""
    en = lang == "en"
    rule = item.rule
    if item.standard and not en:
        return item.standard
    if isinstance(rule, BandsRule):
        return "; ".join(f"{_interval(b.interval.text)}:{plain(b.score)}"
                         for b in reversed(rule.bands.ascending))
    if isinstance(rule, Levels):
        base = rule.base(item)
        return "; ".join(f"{k}:{plain(v * base)}" for k, v in rule.points.items())
    if isinstance(rule, Deduction):
        assert item.points is not None
        parts = []
        for r in rule.rules:
            who = _rule_label(scheme, r.count, r.label, en)
            if r.per is not None:
                each = "each" if en else "每次"
                parts.append(f"{who} −{plain(r.per)} {each}" if en else
                             f"{who}{each}扣{plain(r.per)}")
            else:
                steps = "/".join(plain(x) for x in r.schedule or [])
                parts.append(f"{who} −{steps}" if en else f"{who}扣{steps}（累进）")
            if r.free:
                parts[-1] += TEXT[lang]["free"].format(n=plain(r.free))
        start = f"{plain(item.points)} " + ("points, " if en else "分起扣，")
        floor = TEXT[lang]["floor"].format(f=plain(rule.floor))
        return start + "; ".join(parts) + ("; " if en else "；") + floor
    if isinstance(rule, Rated):
        return ", ".join(f"{k} {pct(v)}" for k, v in rule.raters.items())
    own = item.id if item.id in scheme.inputs else None
    return item.standard or formula_words(scheme, getattr(rule, "formula", ""), en, own)


def _weight_cell(item: ScoredItem) -> tuple[Decimal | None, bool]:
    """(value, is a percent): the weight of a weighted 0–100 indicator, else its maximum
    points."""
    w = item.weight
    if w < 1 and item.kind in ("bands", "levels", "rated"):
        return w, True
    return item.max_points, False


def _input_value(scheme: Scheme, name: str, row: dict[str, Any]) -> str:
    spec = scheme.inputs.get(name.split("@")[0])
    percent = spec is not None and spec.type == "ratio"
    return shown(row.get(C.input_col(name)), percent=percent)


def _symbol_pairs(ctx: FormContext, text: str, row: dict[str, Any],
                  own: str | None = None) -> list[str]:
    """``label=value`` for each name a formula reads, in the order written. Inside the
    formula of ``own`` (an indicator, adjustment or pay line), its own id names the input
    of that id, as in the engine."""
    scheme, symbols, en = ctx.scheme, ctx.plan.symbols, ctx.en
    computed = _computed(scheme, en)
    out = []
    for n in _in_order(text, symbols):
        base, _, rater = n.partition("@")
        if base in scheme.inputs and (rater or n == own or n not in computed):
            name = _label_of_input(scheme, base, en) + (f"@{rater}" if rater else "")
            out.append(f"{name}={_input_value(scheme, n, row)}")
            continue
        out.append(f"{computed.get(n, n)}={shown(row.get(symbols[n].column))}")
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
            out[obj.id] = label_of(obj, en)
    return out


def _label_of_input(scheme: Scheme, name: str, en: bool) -> str:
    spec = scheme.inputs.get(name)
    if spec is None:
        return name
    return (spec.label_en or name) if en else (spec.label or name)


def data_text(ctx: FormContext, item: ScoredItem, row: dict[str, Any]) -> str:
    """The values the indicator read, each with its label (the band hit, the level, the
    counts and the marks are in the reason beside it)."""
    scheme, en = ctx.scheme, ctx.en
    sep = TEXT[ctx.lang]["sep"]
    rule = item.rule
    own = item.id if item.id in scheme.inputs else None
    if isinstance(rule, BandsRule):
        return sep.join(_symbol_pairs(ctx, rule.value, row, own))
    if isinstance(rule, Levels):
        source = rule.source(item)
        return f"{_label_of_input(scheme, source, en)}={shown(row.get(C.input_col(source)))}"
    if isinstance(rule, Deduction):
        return sep.join(
            f"{_rule_label(scheme, r.count, r.label, en)}="
            f"{shown(row.get(C.input_col(r.count)))}" for r in rule.rules)
    if isinstance(rule, Rated):
        source = rule.source(item)
        return sep.join(f"{rater_label(r, ctx.lang)}={shown(row.get(C.input_col(f'{source}@{r}')))}"
                        for r in rule.raters)
    return sep.join(_symbol_pairs(ctx, str(getattr(rule, "formula", "")), row, own))


# -- writing cells -------------------------------------------------------------------------

class FormatBook(Protocol):
    """What makes cell formats: an xlsx workbook, or the PDF's stand-in."""

    def add_format(self, properties: dict[str, Any]) -> Any: ...


class Styles:
    """The cell formats of a form, made by a workbook (or the PDF's stand-in for one)."""

    def __init__(self, wb: FormatBook) -> None:
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


class Sheet:
    """A form being filled row by row, remembering how tall each row must be for its
    wrapped text. A writer says where a cell goes (:meth:`write`) and how a row grows
    (:meth:`grow`)."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS) -> None:
        self.widths = widths
        self.r = 0
        self.heights: dict[int, float] = {}

    def write(self, c1: int, c2: int, value: Any, fmt: Any) -> None:
        raise NotImplementedError

    def grow(self, points: float) -> None:
        """Called when the current row must become ``points`` tall."""

    def cell(self, c1: int, c2: int, value: Any, fmt: Any) -> None:
        self.write(c1, c2, value, fmt)
        if isinstance(value, str) and value:
            lines = line_count(value, sum(self.widths[c1:c2 + 1]))
            if lines > 1:
                self.height(lines * LINE_HEIGHT)

    def height(self, points: float) -> None:
        """Make the current row at least ``points`` tall."""
        if points > self.heights.get(self.r, 0.0):
            self.heights[self.r] = points
            self.grow(points)

    def next(self, n: int = 1) -> None:
        self.r += n


def _number_cell(sheet: Sheet, c: int, value: Any, st: Styles, fmt: Any = None) -> None:
    n = cents(value)
    sheet.cell(c, c, n if n is not None else "—" if value is None else str(value),
               fmt or st.num)


# -- the agent form ------------------------------------------------------------------------

def check_lang(lang: str) -> dict[str, str]:
    if lang not in TEXT:
        raise ValueError(f"unknown language {lang!r}; use zh or en")
    return TEXT[lang]


def grade_label(scheme: Scheme, grade: str, en: bool) -> str:
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
            out.append(f"{name} ≥{plain(g.min)}")
        elif prev is not None:
            out.append(f"{name} <{plain(prev)}")
        else:
            out.append(name)
        prev = g.min if g.min is not None else prev
    return "; ".join(out)


def _total_rule(scheme: Scheme, t: dict[str, str], en: bool) -> str:
    tot = scheme.total
    parts = [formula_words(scheme, tot.formula, en) if tot.formula else t["sum"]]
    if tot.floor is not None:
        parts.append(t["not_below"].format(x=plain(tot.floor)))
    if tot.cap is not None:
        parts.append(t["not_above"].format(x=plain(tot.cap)))
    if tot.veto:
        parts.append(t["veto"].format(cond=formula_words(scheme, tot.veto, en)))
    return t["sep"].join(parts)


def title(scheme: Scheme, lang: str) -> str:
    """The form's title: the scheme's name as a 考核表."""
    t = check_lang(lang)
    if lang == "en":
        return f"{scheme.name_en or scheme.name} — {t['title']}"
    name = scheme.name
    if name.endswith("表"):
        return name
    return name + ("表" if name.endswith("考核") else t["title"])


def _header(sheet: Sheet, st: Styles, ctx: FormContext, record: dict[str, Any],
            t: dict[str, str], en: bool) -> None:
    scheme = ctx.scheme
    sheet.cell(0, LAST, title(scheme, "en" if en else "zh"), st.title)
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


def _signatures(sheet: Sheet, st: Styles, t: dict[str, str], lang: str) -> None:
    sheet.next()
    for who in SIGNERS[lang]:
        sheet.height(30)
        sheet.cell(0, 1, who, st.label)
        sheet.cell(2, 3, "", st.sign)
        sheet.cell(4, 4, t["date"], st.label)
        sheet.cell(5, 6, "", st.sign)
        sheet.next()


def _excluded_body(sheet: Sheet, st: Styles, ctx: FormContext, record: dict[str, Any],
                   t: dict[str, str], en: bool) -> None:
    scheme = ctx.scheme
    elig = scheme.eligibility
    sheet.cell(0, 1, t["result"], st.label)
    sheet.cell(2, LAST, t["excluded"], st.big)
    sheet.height(26)
    sheet.next()
    sheet.cell(0, 1, t["why"], st.label)
    sheet.cell(2, LAST, (elig.reason if elig else "") or t["excluded"], st.cell)
    sheet.next()
    if elig is not None:
        sheet.cell(0, 1, t["rule"], st.label)
        sheet.cell(2, LAST, ctx.reason(record, ELIGIBILITY), st.cell)
        sheet.next()


def _weight_put(sheet: Sheet, st: Styles, item: ScoredItem) -> None:
    value, is_pct = _weight_cell(item)
    if value is None:
        sheet.cell(2, 2, "", st.cell)
    elif is_pct:
        fmt = st.pct if (value * 100) == (value * 100).to_integral_value() else st.pct2
        sheet.cell(2, 2, float(value), fmt)
    else:
        _number_cell(sheet, 2, value, st)


def _scored_body(sheet: Sheet, st: Styles, ctx: FormContext, record: dict[str, Any],
                 row: dict[str, Any]) -> None:
    t = TEXT[ctx.lang]
    lang, en = ctx.lang, ctx.en
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
            sheet.cell(1, 1, label_of(sec, en), st.section)
            if sec.points is not None:
                sheet.cell(2, 2, float(sec.points), st.section_num)
            else:
                sheet.cell(2, 2, "", st.section)
            sheet.cell(3, 4, "", st.section)
            _number_cell(sheet, 5, row.get(C.section_col(sec.id)), st, st.section_num)
            sheet.cell(6, 6, ctx.reason(record, sec.id), st.section)
            sheet.next()
        current = item.section
        points = record["indicators"].get(item.id)
        sheet.cell(0, 0, i, st.center)
        sheet.cell(1, 1, label_of(item, en), st.cell)
        _weight_put(sheet, st, item)
        sheet.cell(3, 3, standard_text(item, scheme, lang), st.cell)
        sheet.cell(4, 4, data_text(ctx, item, row), st.cell)
        _number_cell(sheet, 5, points, st)
        sheet.cell(6, 6, ctx.reason(record, item.id), st.cell)
        sheet.next()
    for adj in scheme.adjustments:
        value = row.get(C.adjustment_col(adj.id))
        bounds = []
        if adj.floor is not None:
            bounds.append(t["not_below"].format(x=plain(adj.floor)))
        if adj.cap is not None:
            bounds.append(t["not_above"].format(x=plain(adj.cap)))
        values = _symbol_pairs(ctx, adj.points, row, adj.id)
        sheet.cell(0, 0, "±", st.center)
        sheet.cell(1, 1, f"{t['adjust']}{t['colon']}{label_of(adj, en)}", st.cell)
        sheet.cell(2, 2, t["sep"].join(bounds), st.cell)
        sheet.cell(3, 3, formula_words(scheme, adj.points, en, adj.id), st.cell)
        sheet.cell(4, 4, t["sep"].join(values), st.cell)
        _number_cell(sheet, 5, value, st)
        sheet.cell(6, 6, ctx.reason(record, adj.id), st.cell)
        sheet.next()
    if not scheme.total.none:
        sheet.cell(0, 1, t["total"], st.label)
        if scheme.max_total is not None:
            _number_cell(sheet, 2, scheme.max_total, st)
        else:
            sheet.cell(2, 2, "", st.cell)
        sheet.cell(3, 4, _total_rule(scheme, t, en), st.cell)
        _number_cell(sheet, 5, record.get("total"), st, st.bold_num)
        sheet.cell(6, 6, ctx.reason(record, "total"), st.cell)
        sheet.next()
    if record.get("grade") is not None:
        sheet.cell(0, 1, t["grade"], st.label)
        sheet.cell(2, 2, "", st.cell)
        rule = (_grade_rule(scheme.grades, en) if scheme.grade_input is None
                else t["grade_input"].format(x=_label_of_input(scheme, scheme.grade_input, en)))
        sheet.cell(3, 4, rule, st.cell)
        sheet.cell(5, 5, grade_label(scheme, str(record["grade"]), en), st.center)
        sheet.cell(6, 6, ctx.reason(record, "grade"), st.cell)
        sheet.next()
    if record.get("coefficient") is not None:
        sheet.cell(0, 1, t["coefficient"], st.label)
        sheet.cell(2, 2, "", st.cell)
        rule = "; ".join(f"{grade_label(scheme, g.name, en)} {plain(g.coefficient)}"
                         for g in scheme.grades if g.coefficient is not None)
        sheet.cell(3, 4, rule, st.cell)
        _number_cell(sheet, 5, record["coefficient"], st)
        sheet.cell(6, 6, ctx.reason(record, "coefficient"), st.cell)
        sheet.next()
    if record.get("rank") is not None:
        keys = rank_words(scheme, lang)
        sheet.cell(0, 1, t["rank"], st.label)
        sheet.cell(2, 2, "", st.cell)
        sheet.cell(3, 4, t["ranked"].format(keys=keys), st.cell)
        rank = dec(record["rank"])
        sheet.cell(5, 5, int(rank) if rank is not None else "—", st.int)
        sheet.cell(6, 6, ctx.reason(record, "rank"), st.cell)
        sheet.next()
    pay = record.get("pay") or {}
    if scheme.pay and pay:
        sheet.next()
        sheet.cell(0, LAST, t["pay"], st.head)
        sheet.next()
        for line in scheme.pay:
            amount = pay.get(line.id)
            rule = formula_words(scheme, line.amount, en, line.id) + (
                f"; {t['veto'].format(cond=formula_words(scheme, line.veto, en))}"
                if line.veto else "")
            values = _symbol_pairs(ctx, line.amount, row, line.id)
            sheet.cell(0, 1, label_of(line, en), st.cell)
            sheet.cell(2, 2, "", st.cell)
            sheet.cell(3, 3, rule, st.cell)
            sheet.cell(4, 4, t["sep"].join(values), st.cell)
            _number_cell(sheet, 5, amount, st)
            sheet.cell(6, 6, ctx.reason(record, line.id), st.cell)
            sheet.next()
        sheet.cell(0, 1, t["pay_total"], st.label)
        sheet.cell(2, 4, "", st.cell)
        _number_cell(sheet, 5, pay.get("total"), st, st.bold_num)
        sheet.cell(6, 6, ctx.reason(record, "pay_total"), st.cell)
        sheet.next()
    if scheme.flags:
        sheet.cell(0, 1, t["flags"], st.label)
        sheet.cell(2, LAST, ctx.reason(record, FLAGS) or t["none"], st.cell)
        sheet.next()


def flag_label(scheme: Scheme, flag: str, en: bool) -> str:
    if not en:
        return flag
    f = next((f for f in scheme.flags if f.flag == flag), None)
    return (f.label_en or flag) if f is not None else flag


def row_warnings(ctx: FormContext, record: dict[str, Any]) -> list[str]:
    """The row's warnings in the form's language (an undefined ratio, a missing rater, a
    pool not paid out), as the engine's reasons word them."""
    text = ctx.reason(record, WARNINGS)
    return text.split("\n") if text else []


def fill_form(sheet: Sheet, st: Styles, ctx: FormContext, record: dict[str, Any]) -> None:
    """The form's content, row by row, into ``sheet`` (an xlsx worksheet, or the PDF
    scorecard's recorder), in the context's language."""
    lang = ctx.lang
    t = check_lang(lang)
    en = lang == "en"
    row = ctx.row(record)
    _header(sheet, st, ctx, record, t, en)
    if record.get("excluded"):
        _excluded_body(sheet, st, ctx, record, t, en)
    else:
        _scored_body(sheet, st, ctx, record, row)
    notes = row_warnings(ctx, record)
    if notes:
        sheet.cell(0, 1, t["warnings"], st.label)
        sheet.cell(2, LAST, "\n".join(notes), st.cell)
        sheet.next()
    sheet.next()
    _signatures(sheet, st, t, lang)
