"""The 考核表: one xlsx form per agent per period, and a summary workbook per team.

Laid out like the seed forms: a header block (被考核人, 部门, 岗位, 考核周期), one row per
indicator (权重/分值, 评分标准, 数据, 得分, 理由), adjustments, totals, grade, pay lines,
flags, and the signature row (被考核人 / 考核人 / 复核人 / 人力资源部, each with 日期).
Every file is written under a temporary name and renamed, so a crash leaves no half file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from kaohe.engine.explain import explain_row, find_row
from kaohe.engine.score import Scored
from kaohe.scheme.models import Scheme, ScoredItem

TEXT: dict[str, dict[str, Any]] = {
    "zh": {
        "title": "考核表", "person": "被考核人", "dept": "部门/团队", "position": "岗位",
        "period": "考核周期", "no": "序号", "indicator": "考核指标", "weight": "权重/分值",
        "standard": "评分标准", "data": "数据", "points": "得分", "reason": "理由",
        "adjust": "加减分", "total": "合计", "grade": "等级", "coefficient": "绩效系数",
        "rank": "名次", "pay": "薪酬", "pay_total": "应发合计", "flags": "标记",
        "sign": ["被考核人", "考核人", "复核人", "人力资源部"], "date": "日期",
        "excluded": "不参加考核", "summary": "团队汇总", "employee": "工号", "name": "姓名",
        "warnings": "提示",
    },
    "en": {
        "title": "Appraisal form", "person": "Employee", "dept": "Team", "position": "Position",
        "period": "Period", "no": "No.", "indicator": "Indicator", "weight": "Weight / points",
        "standard": "Standard", "data": "Data", "points": "Points", "reason": "Reason",
        "adjust": "Adjustment", "total": "Total", "grade": "Grade",
        "coefficient": "Coefficient", "rank": "Rank", "pay": "Pay", "pay_total": "Pay total",
        "flags": "Flags", "sign": ["Employee", "Appraiser", "Reviewer", "HR"], "date": "Date",
        "excluded": "Not assessed", "summary": "Team summary", "employee": "Employee id",
        "name": "Name", "warnings": "Warnings",
    },
}

_SAFE = re.compile(r"[^\w\u4e00-\u9fff.-]+")


def _safe(text: str) -> str:
    return _SAFE.sub("_", text).strip("_") or "_"


def _pct(x: Decimal) -> str:
    return f"{(x * 100).normalize():f}%"


def standard(item: ScoredItem) -> str:
    """The rule in words: the scheme's own text, or a rendering of its bands or levels."""
    if item.standard:
        return item.standard
    if item.bands is not None:
        return "; ".join(f"{b.interval.text}: {b.score.normalize():f}"
                         for b in reversed(item.bands.ascending))
    if item.levels is not None:
        return "; ".join(f"{k}: {v.normalize():f}" for k, v in item.levels.points.items())
    if item.deduction is not None:
        parts = []
        for r in item.deduction.rules:
            if r.per is not None:
                parts.append(f"{r.label or r.count} −{r.per.normalize():f}/次")
            else:
                steps = "/".join(f"{x.normalize():f}" for x in r.schedule or [])
                parts.append(f"{r.label or r.count} −{steps}")
        return "; ".join(parts)
    if item.rated is not None:
        return ", ".join(f"{k} {_pct(v)}" for k, v in item.rated.raters.items())
    return item.formula or ""


def weight_text(item: ScoredItem) -> str:
    if item.weight != 1 and item.weight < 1:
        return _pct(item.weight)
    if item.points is not None:
        return f"{(item.points * item.weight).normalize():f}"
    if item.levels is not None:
        return f"{(max(item.levels.points.values()) * item.weight).normalize():f}"
    if item.bands is not None:
        return f"{(max(b.score for b in item.bands.bands) * item.weight).normalize():f}"
    return f"×{item.weight.normalize():f}"


def data_text(item: ScoredItem, row: dict[str, Any], scheme: Scheme) -> str:
    names: list[str] = []
    if item.levels is not None:
        names = [item.levels.input or item.id]
    elif item.deduction is not None:
        names = [r.count for r in item.deduction.rules]
    elif item.rated is not None:
        src = item.rated.input or item.id
        names = [f"{src}@{r}" for r in item.rated.raters]
    else:
        text = item.value or item.formula or ""
        names = [n for n in re.findall(r"[A-Za-z_][A-Za-z0-9_@]*", text) if n in scheme.inputs]
    out = []
    for n in dict.fromkeys(names):
        v = row.get(f"in:{n}")
        if isinstance(v, Decimal):
            v = f"{v.normalize():f}"
        out.append(f"{n}={'—' if v is None else v}")
    return ", ".join(out)


def _num(v: Any) -> float | None:
    if v is None:
        return None
    return float(Decimal(str(v)).quantize(Decimal("0.01")))


def write_agent_form(scored: Scored, record: dict[str, Any], path: Path, *,
                     lang: str = "zh") -> None:
    t = TEXT["en" if lang == "en" else "zh"]
    scheme = scored.scheme
    plan = scored.outcome.plan
    row = find_row(scored.outcome.frame, record["employee"], record["period"])
    en = lang == "en"
    tmp = path.with_name(path.name + ".part")
    wb = xlsxwriter.Workbook(str(tmp))
    ws = wb.add_worksheet(t["title"][:31])
    f_title = wb.add_format({"bold": True, "font_size": 16, "align": "center"})
    f_head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "align": "center",
                            "valign": "vcenter", "text_wrap": True})
    f_cell = wb.add_format({"border": 1, "valign": "vcenter", "text_wrap": True})
    f_num = wb.add_format({"border": 1, "valign": "vcenter", "num_format": "0.00"})
    f_bold_num = wb.add_format({"border": 1, "bold": True, "num_format": "0.00"})
    f_label = wb.add_format({"border": 1, "bold": True, "bg_color": "#F2F2F2"})
    widths = [6, 18, 10, 36, 28, 10, 48]
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    name = (scheme.name_en or scheme.name) if en else scheme.name
    ws.merge_range(0, 0, 0, 6, f"{name} {t['title']}", f_title)
    person = record["employee"] + (f" {record['name']}" if record.get("name") else "")
    ws.write(2, 0, t["person"], f_label)
    ws.merge_range(2, 1, 2, 2, person, f_cell)
    ws.write(2, 3, t["dept"], f_label)
    ws.write(2, 4, record.get("team") or "", f_cell)
    ws.write(3, 0, t["position"], f_label)
    ws.merge_range(3, 1, 3, 2, scheme.position, f_cell)
    ws.write(3, 3, t["period"], f_label)
    ws.write(3, 4, record.get("period") or "", f_cell)
    r = 5
    if record.get("excluded"):
        reason = scheme.eligibility.reason if scheme.eligibility else ""
        ws.merge_range(r, 0, r, 6, f"{t['excluded']}: {reason}", f_head)
        r += 2
    else:
        for c, h in enumerate([t["no"], t["indicator"], t["weight"], t["standard"], t["data"],
                               t["points"], t["reason"]]):
            ws.write(r, c, h, f_head)
        r += 1
        reasons = {ln.id: ln.reason for ln in explain_row(plan, row)}
        for i, item in enumerate(scheme.indicators, start=1):
            label = (item.label_en or item.label or item.id) if en else (item.label or item.id)
            ws.write(r, 0, i, f_cell)
            ws.write(r, 1, label, f_cell)
            ws.write(r, 2, weight_text(item), f_cell)
            ws.write(r, 3, standard(item), f_cell)
            ws.write(r, 4, data_text(item, row, scheme), f_cell)
            ws.write_number(r, 5, _num(record["indicators"].get(item.id)) or 0.0, f_num)
            ws.write(r, 6, reasons.get(item.id, ""), f_cell)
            r += 1
        for adj in scheme.adjustments:
            label = (adj.label_en or adj.label or adj.id) if en else (adj.label or adj.id)
            ws.write(r, 0, "", f_cell)
            ws.write(r, 1, f"{t['adjust']}: {label}", f_cell)
            ws.merge_range(r, 2, r, 4, adj.points, f_cell)
            ws.write_number(r, 5, _num(row.get(f"adj:{adj.id}")) or 0.0, f_num)
            ws.write(r, 6, reasons.get(adj.id, ""), f_cell)
            r += 1
        if record.get("total") is not None:
            ws.merge_range(r, 0, r, 4, t["total"], f_label)
            ws.write_number(r, 5, _num(record["total"]) or 0.0, f_bold_num)
            r += 1
        for key, label in (("grade", t["grade"]), ("coefficient", t["coefficient"]),
                           ("rank", t["rank"])):
            if record.get(key) is not None:
                ws.merge_range(r, 0, r, 4, label, f_label)
                value = record[key]
                if isinstance(value, int | float):
                    ws.write_number(r, 5, value, f_cell)
                else:
                    ws.write(r, 5, value, f_cell)
                r += 1
        if record.get("pay"):
            r += 1
            ws.merge_range(r, 0, r, 6, t["pay"], f_head)
            r += 1
            for line in scheme.pay:
                label = (line.label_en or line.label or line.id) if en else (line.label or line.id)
                ws.merge_range(r, 0, r, 4, label, f_cell)
                ws.write_number(r, 5, _num(record["pay"].get(line.id)) or 0.0, f_num)
                ws.write(r, 6, line.amount, f_cell)
                r += 1
            ws.merge_range(r, 0, r, 4, t["pay_total"], f_label)
            ws.write_number(r, 5, _num(record["pay"].get("total")) or 0.0, f_bold_num)
            r += 1
        if record.get("flags"):
            ws.merge_range(r, 0, r, 4, t["flags"], f_label)
            ws.merge_range(r, 5, r, 6, " ".join(record["flags"]), f_cell)
            r += 1
    r += 2
    for k, who in enumerate(t["sign"]):
        ws.write(r, k * 2 if k < 3 else 6, f"{who}:", f_label)
        ws.write(r + 1, k * 2 if k < 3 else 6, f"{t['date']}:", f_cell)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    wb.close()
    tmp.replace(path)


def write_team_summary(scored: Scored, doc: dict[str, Any], path: Path, *,
                       lang: str = "zh", team: str | None = None) -> None:
    t = TEXT["en" if lang == "en" else "zh"]
    scheme = scored.scheme
    en = lang == "en"
    results = [r for r in doc["results"] if team is None or (r["team"] or "") == team]
    tmp = path.with_name(path.name + ".part")
    wb = xlsxwriter.Workbook(str(tmp))
    f_head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    f_cell = wb.add_format({"border": 1})
    f_num = wb.add_format({"border": 1, "num_format": "0.00"})
    periods = sorted({r["period"] or "" for r in results})
    for period in periods:
        ws = wb.add_worksheet(_safe(f"{period or t['summary']}")[:31])
        head = [t["rank"], t["employee"], t["name"]]
        head += [((i.label_en or i.label) if en else i.label) or i.id for i in scheme.indicators]
        head += [t["total"], t["grade"], t["pay_total"], t["flags"]]
        ws.write_row(0, 0, head, f_head)
        rows = sorted((r for r in results if (r["period"] or "") == period),
                      key=lambda r: (r["rank"] is None, r["rank"] or 0, r["employee"]))
        for i, rec in enumerate(rows, start=1):
            ws.write(i, 0, rec["rank"] if rec["rank"] is not None else "", f_cell)
            ws.write(i, 1, rec["employee"], f_cell)
            ws.write(i, 2, rec.get("name") or "", f_cell)
            c = 3
            for item in scheme.indicators:
                v = _num(rec["indicators"].get(item.id))
                ws.write(i, c, v if v is not None else "", f_num)
                c += 1
            for v in (_num(rec["total"]),):
                ws.write(i, c, v if v is not None else "", f_num)
            ws.write(i, c + 1, rec["grade"] or (t["excluded"] if rec["excluded"] else ""), f_cell)
            pay = _num(rec["pay"].get("total")) if rec["pay"] else None
            ws.write(i, c + 2, pay if pay is not None else "", f_num)
            ws.write(i, c + 3, " ".join(rec["flags"]), f_cell)
        ws.set_column(0, len(head), 12)
        ws.freeze_panes(1, 3)
    wb.close()
    tmp.replace(path)


def write_forms(scored: Scored, doc: dict[str, Any], folder: Path, *, lang: str = "zh",
                progress: Callable[[int, int], None] | None = None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    results = doc["results"]
    total = len(results)
    for i, rec in enumerate(results, start=1):
        name = _safe(f"{rec['period'] or 'period'}_{rec['team'] or 'team'}_{rec['employee']}")
        path = folder / f"{name}.xlsx"
        write_agent_form(scored, rec, path, lang=lang)
        written.append(path)
        if progress is not None:
            progress(i, total)
    for team in sorted({r["team"] or "" for r in results}):
        path = folder / f"summary_{_safe(team or 'team')}.xlsx"
        write_team_summary(scored, doc, path, lang=lang, team=team)
        written.append(path)
    return written


__all__ = ["write_agent_form", "write_forms", "write_team_summary"]
