"""The 考核表 as xlsx: one form per agent per period, and a summary workbook per team.

The form's cells come from :mod:`kaohe.reports.layout` (shared with the PDF scorecard);
this module writes them into worksheets. Numbers are written as numbers (rounded to the
fen, shown ``0.00``), never as text. Every file is written under a ``.part`` name and
renamed when complete, so a crash leaves no half-written workbook behind.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from kaohe.columns import EMPLOYEE, NAME, PERIOD, TEAM
from kaohe.engine.score import Scored
from kaohe.formatting import cents, dec
from kaohe.reports.cells import WORKBOOK_OPTIONS, write_cell
from kaohe.reports.layout import (
    LAST,
    WIDTHS,
    FormContext,
    Sheet,
    Styles,
    check_lang,
    fill_form,
    flag_label,
    form_context,
    grade_label,
    label_of,
    row_context,
    row_warnings,
    text_width,
    title,
)

__all__ = ["safe_name", "write_agent_form", "write_aggregate_form", "write_forms",
           "write_team_summary"]

_SAFE = re.compile(r"[^\w.\-\u4e00-\u9fff]+")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
             *(f"lpt{i}" for i in range(1, 10))}


def _put(ws: Worksheet, r: int, c1: int, c2: int, value: Any, fmt: Format) -> None:
    """Write one value over columns c1..c2: text as text (never a formula or a link),
    numbers as numbers."""
    if c2 > c1:
        ws.merge_range(r, c1, r, c2, None, fmt)
    write_cell(ws, r, c1, value, fmt)



class _XlsxSheet(Sheet):
    """A form sheet written into an xlsx worksheet."""

    def __init__(self, ws: Worksheet, widths: tuple[int, ...] = WIDTHS) -> None:
        super().__init__(widths)
        self.ws = ws

    def write(self, c1: int, c2: int, value: Any, fmt: Any) -> None:
        _put(self.ws, self.r, c1, c2, value, fmt)

    def grow(self, points: float) -> None:
        self.ws.set_row(self.r, points)


def _form(wb: Workbook, ctx: FormContext, record: dict[str, Any]) -> None:
    t = check_lang(ctx.lang)
    st = Styles(wb)
    ws = wb.add_worksheet(_sheet_name(t["title"], set()))
    for i, w in enumerate(WIDTHS):
        ws.set_column(i, i, w)
    sheet = _XlsxSheet(ws)
    fill_form(sheet, st, ctx, record)
    ws.set_paper(9)  # A4
    ws.set_landscape()
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.fit_to_pages(1, 0)
    ws.print_area(0, 0, sheet.r, LAST)
    ws.hide_gridlines(2)


def _atomic(path: Path, build: Callable[[Workbook], None]) -> None:
    """Build a workbook under ``<path>.part`` and rename it into place once complete."""
    tmp = path.with_name(path.name + ".part")
    try:
        wb = xlsxwriter.Workbook(str(tmp), {"in_memory": True, **WORKBOOK_OPTIONS})
        try:
            build(wb)
        finally:
            wb.close()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _agent_form(ctx: FormContext, record: dict[str, Any], path: Path) -> None:
    _atomic(Path(path), lambda wb: _form(wb, ctx, record))


def write_agent_form(scored: Scored, record: dict[str, Any], path: Path, *,
                     lang: str = "zh") -> None:
    """Write the 考核表 of one result record (an element of ``to_document(...)["results"]``)
    to ``path``."""
    check_lang(lang)
    _agent_form(row_context(scored, record, lang), record, path)


# -- a quarter's or a year's form (年度绩效考核表) ----------------------------------------------
AGGREGATE_WIDTHS = (24, 12, 10, 12, 72)


def _form_number(text: str) -> Decimal | None:
    """A number as the explanation spells it (``1,280.00``, ``−3.60``, ``70%``), or None."""
    t = text.replace(",", "").replace("\u2212", "-").strip()
    percent = t.endswith("%")
    try:
        d = Decimal(t.rstrip("%"))
    except ArithmeticError:
        return None
    return d / 100 if percent else d


def _aggregate_sheet(wb: Workbook, *, scored: Scored, employee: str, period: str,
                     lang: str) -> None:
    from kaohe.engine.explain import explain_aggregate
    from kaohe.i18n import translations
    from kaohe.text import N_

    g = translations(lang).gettext
    en = lang == "en"
    lines = explain_aggregate(scored.outcome, employee, period, lang)
    scheme = scored.scheme
    frame = scored.outcome.frame.filter(pl.col(EMPLOYEE) == employee)
    names = frame[NAME].drop_nulls().to_list() if NAME in frame.columns else []
    agg = scored.outcome.aggregates
    assert agg is not None  # explain_aggregate found the row
    hit = agg.filter((pl.col(EMPLOYEE) == employee) & (pl.col(PERIOD) == period))
    team = hit[TEAM][0] if TEAM in hit.columns and hit.height else None
    st = Styles(wb)
    kind = g(N_("Quarterly appraisal form")) if "Q" in period else g(N_("Annual appraisal form"))
    ws = wb.add_worksheet(_sheet_name(kind, set()))
    for i, w in enumerate(AGGREGATE_WIDTHS):
        ws.set_column(i, i, w)
    sheet = _XlsxSheet(ws, AGGREGATE_WIDTHS)
    last = len(AGGREGATE_WIDTHS) - 1
    name = (scheme.name_en or scheme.name) if en else scheme.name
    sheet.cell(0, last, f"{name} {kind}", st.title)
    sheet.height(26)
    sheet.next()
    who = g(N_("Employee %(employee)s  Name %(name)s  Team %(team)s  Period %(period)s")) % {
        "employee": employee, "name": names[-1] if names else "—", "team": team or "—",
        "period": period}
    sheet.cell(0, last, who, st.plain)
    sheet.next()
    for c, h in enumerate((N_("item type"), N_("average"), N_("weight"), N_("weighted points"),
                           N_("reason"))):
        sheet.cell(c, c, g(h), st.head)
    sheet.next()
    for ln in lines:
        sheet.cell(0, 0, ln.label, st.label)
        for c, text, fmt in ((1, ln.average, st.num), (2, ln.weight, st.pct),
                             (3, ln.points, st.bold_num if ln.id == "score" else st.num)):
            n = _form_number(text) if text else None
            sheet.cell(c, c, n if n is not None else text, fmt if n is not None else st.cell)
        sheet.cell(4, 4, ln.reason, st.cell)
        sheet.next()
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.print_area(0, 0, sheet.r, last)
    ws.hide_gridlines(2)


def write_aggregate_form(scored: Scored, employee: str, period: str, path: Path, *,
                         lang: str = "zh") -> None:
    """Write one employee's quarter (``2026-Q4``) or year (``2026``) as the seed's
    年度绩效考核表: 指标类型 | 平均得分 | 所占权重 | 折合分数 | 说明, a line per term of the
    score, then score, grade, rank, awards, flags and values (``kaohe explain``'s lines)."""
    check_lang(lang)
    _atomic(Path(path), functools.partial(_aggregate_sheet, scored=scored, employee=employee,
                                          period=period, lang=lang))


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
    rank = dec(rec.get("rank"))
    return (1 if rank is None else 0, rank if rank is not None else Decimal(0),
            str(rec["employee"]))


def _team_sheets(wb: Workbook, *, ctx: FormContext, doc: dict[str, Any], lang: str,
                 team: str | None) -> None:
    t = check_lang(lang)
    en = lang == "en"
    scheme = ctx.scheme
    st = Styles(wb)
    results = [r for r in doc["results"] if team is None or (r.get("team") or "") == team]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in results:
        groups.setdefault((rec.get("team") or "", rec.get("period") or ""), []).append(rec)
    teams = {k[0] for k in groups}
    has_grade = bool(scheme.grades) or scheme.grade_input is not None
    has_coef = any(g.coefficient is not None for g in scheme.grades)
    head = [t["rank"], t["employee"], t["name"]]
    head += [label_of(i, en) for i in scheme.indicators]
    head += [t["total"]] if not scheme.total.none else []
    head += [t["grade"]] if has_grade else []
    head += [t["coefficient"]] if has_coef else []
    head += [t["pay_total"]] if scheme.pay else []
    head += [t["flags"]]
    widths = tuple([6, 12, 10] + [max(8, min(14, text_width(h) + 2)) for h in head[3:-1]] + [16])
    used: set[str] = set()
    if not groups:
        ws = wb.add_worksheet(_sheet_name(t["summary"], used))
        ws.write_string(0, 0, title(scheme, lang))
        return
    for (team_name, period) in sorted(groups):
        label = team_name or t["team_none"]
        parts = [label] if len(teams) > 1 or team is None else []
        parts += [period] if period else []
        ws = wb.add_worksheet(_sheet_name(" ".join(parts) or t["summary"], used))
        sheet = _XlsxSheet(ws, widths)
        for c, w in enumerate(widths):
            ws.set_column(c, c, w)
        name = (scheme.name_en or scheme.name) if en else scheme.name
        heading = " ".join(x for x in (name, t["summary"], team_name, period) if x)
        sheet.cell(0, len(head) - 1, heading, st.title)
        sheet.height(26)
        sheet.next()
        for c, h in enumerate(head):
            sheet.cell(c, c, h, st.head)
        sheet.next()
        members = sorted(groups[(team_name, period)], key=_rank_key)
        notes: list[str] = []
        for rec in members:
            rank = dec(rec.get("rank"))
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
                text = (grade_label(scheme, str(grade), en) if grade is not None
                        else t["excluded"] if rec.get("excluded") else "")
                sheet.cell(c, c, text, st.center)
                c += 1
            if has_coef:
                _blank_or_number(sheet, c, rec.get("coefficient"), st)
                c += 1
            if scheme.pay:
                _blank_or_number(sheet, c, (rec.get("pay") or {}).get("total"), st)
                c += 1
            flags = [flag_label(scheme, f, en) for f in rec.get("flags") or []]
            if rec.get("excluded") and not has_grade:
                flags.insert(0, t["excluded"])
            sheet.cell(c, c, " ".join(flags), st.cell)
            sheet.next()
            notes += [f"{rec['employee']}{t['colon']}{w}" for w in row_warnings(ctx, rec)]
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


def _blank_or_number(sheet: Sheet, c: int, value: Any, st: Styles,
                     fmt: Any = None) -> None:
    n = cents(value)
    sheet.cell(c, c, n if n is not None else "", fmt or st.num)


def write_team_summary(scored: Scored, doc: dict[str, Any], path: Path, *, lang: str = "zh",
                       team: str | None = None) -> None:
    """One workbook listing every agent by rank: 名次, 工号, 姓名, each indicator's points,
    合计, 等级, 应发合计, 标记. One sheet per (team, period); ``team`` keeps one team only
    (``""`` for rows without a team)."""
    check_lang(lang)
    ctx = form_context(scored, lang)
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
    check_lang(lang)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ctx = form_context(scored, lang)
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
        _agent_form(ctx, rec, path)
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
