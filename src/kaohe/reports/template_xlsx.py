"""The input template of a scheme: the xlsx HR downloads, fills in and uploads again.

The first sheet (the one the upload reads) has a header of the inputs' Chinese labels (the
names the upload accepts), one row per person of the cycle with 工号, 姓名 and 团队 filled in,
a dropdown for every level input (and 1/0 for a flag), percent formats for ratios, money
formats for amounts and a frozen header; a second sheet explains every column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from kaohe.reports.cells import WORKBOOK_OPTIONS, write_cell
from kaohe.scheme.models import InputSpec, Scheme

#: the sheet the upload reads (the first), and the one that explains it
DATA_SHEET = "录入"
HELP_SHEET = "填写说明"
#: the key columns, as the upload reads them (工号 is the one that is required)
KEY_HEADERS = ("工号", "姓名", "团队")
#: the rows a dropdown or format covers below the people listed (for rows HR adds)
SPARE_ROWS = 200

RATERS = {"supervisor": "主管", "self": "本人", "manager": "经理", "peer": "同事"}
TYPE_TEXT = {
    "number": "数值",
    "money": "金额（元），如 1280.50",
    "ratio": "比率，填 96.5% 或 0.965",
    "count": "次数（整数）",
    "flag": "是否：1 或 0",
    "level": "等级，从下拉列表中选择",
    "score": "分数",
}


@dataclass(frozen=True)
class TemplateColumn:
    """One input column of the template: its header (as the upload reads it) and its spec."""

    header: str
    ident: str
    spec: InputSpec


def template_columns(scheme: Scheme) -> list[TemplateColumn]:
    """The input columns in the scheme's order: its Chinese label (or its id), and for an
    input given by several raters one column per rater (``执行力@supervisor``)."""
    out: list[TemplateColumn] = []
    for ident, spec in scheme.inputs.items():
        name = spec.label or ident
        if spec.raters:
            out += [TemplateColumn(f"{name}@{r}", f"{ident}@{r}", spec) for r in spec.raters]
        else:
            out.append(TemplateColumn(name, ident, spec))
    return out


def _num_format(spec: InputSpec) -> str | None:
    return {"ratio": "0.00%", "money": "#,##0.00", "count": "0", "flag": "0"}.get(spec.type)


def _rule(spec: InputSpec) -> str:
    parts = [TYPE_TEXT.get(spec.type, spec.type)]
    if spec.levels:
        parts.append("可选：" + "、".join(spec.levels))
    if spec.min is not None:
        parts.append(f"最小 {spec.min.normalize():f}")
    if spec.max is not None:
        parts.append(f"最大 {spec.max.normalize():f}")
    if spec.rater:
        who = RATERS.get(spec.rater, spec.rater)
        parts.append(f"通常由{who}评定，上传的值在没有评分时使用")
    return "；".join(parts)


def cell_value(spec: InputSpec, text: Any) -> Any:
    """A stored input (the text of an earlier upload) as the template's cell: a number for
    numeric inputs (a percent as its fraction, for a percent-formatted cell), text else."""
    if text is None or str(text).strip() == "":
        return None
    raw = str(text).strip()
    if spec.type == "level":
        return raw
    try:
        if raw.endswith("%"):
            return Decimal(raw[:-1].replace(",", "")) / 100
        return Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return raw


def write_template(scheme: Scheme, people: Sequence[tuple[str, str, str]], path: Path, *,
                   period: str, stored: Mapping[str, Mapping[str, Any]] | None = None) -> int:
    """Write the template of ``scheme`` for ``people`` (工号, 姓名, 团队) to ``path``, with the
    inputs already ``stored`` per 工号 filled in (an upload replaces a row's inputs: a cell
    left as it is keeps its value, an emptied one clears it); the number of people."""
    import xlsxwriter

    columns = template_columns(scheme)
    tmp = path.with_name(path.name + ".part")
    wb = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
    ws = wb.add_worksheet(DATA_SHEET)
    lists = wb.add_worksheet("选项")  # long level lists (a dropdown's inline list is short)
    helps = wb.add_worksheet(HELP_SHEET)
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1,
                          "text_wrap": True, "valign": "vcenter"})
    key = wb.add_format({"num_format": "@", "bg_color": "#F2F2F2", "border": 1})
    formats: dict[str, Any] = {}
    for c in columns:
        nf = _num_format(c.spec)
        if nf is not None and nf not in formats:
            formats[nf] = wb.add_format({"num_format": nf, "border": 1})
    plain = wb.add_format({"border": 1})
    width = len(KEY_HEADERS)
    for j, h in enumerate([*KEY_HEADERS, *(c.header for c in columns)]):
        ws.write_string(0, j, h, head)
    for i, person in enumerate(people, start=1):
        for j, v in enumerate(person):
            ws.write_string(i, j, str(v or ""), key)
    last = len(people) + SPARE_ROWS
    ws.set_column(0, 0, 12, key)
    ws.set_column(1, 2, 12)
    list_col = 0
    for j, c in enumerate(columns, start=width):
        nf = _num_format(c.spec)
        ws.set_column(j, j, max(12, len(c.header) * 2 + 2), formats[nf] if nf else plain)
        for i, person in enumerate(people, start=1):  # the cells carry the format too
            value = cell_value(c.spec, (stored or {}).get(person[0], {}).get(c.ident))
            write_cell(ws, i, j, value, formats[nf] if nf else plain)
        if c.spec.type == "level" and c.spec.levels:
            names = list(c.spec.levels)
            if len(",".join(names)) <= 250:
                source: Any = names
            else:
                for k, n in enumerate(names):
                    lists.write_string(k, list_col, n)
                letter = xlsxwriter.utility.xl_col_to_name(list_col)
                source = f"=选项!${letter}$1:${letter}${len(names)}"
                list_col += 1
            ws.data_validation(1, j, last, j, {
                "validate": "list", "source": source, "error_type": "stop",
                "error_title": c.header, "error_message": "请从下拉列表中选择：" + "、".join(names)[:200],
                "input_title": c.header[:32], "input_message": "从下拉列表中选择"})
        elif c.spec.type == "flag":
            ws.data_validation(1, j, last, j, {
                "validate": "list", "source": ["1", "0"], "error_type": "stop",
                "error_message": "填 1（是）或 0（否）"})
        elif c.spec.type == "ratio":
            ws.data_validation(1, j, last, j, {
                "validate": "decimal", "criteria": "between", "minimum": 0,
                "maximum": float(c.spec.max) if c.spec.max is not None else 1,
                "error_type": "stop", "error_message": "填百分比，如 96.5%",
                "input_title": c.header[:32], "input_message": "百分比，如 96.5%"})
    ws.set_row(0, 32)
    ws.freeze_panes(1, 2)
    ws.autofilter(0, 0, max(len(people), 1), width + len(columns) - 1)
    lists.hide()
    _instructions(wb, helps, scheme, columns, period=period, people=len(people))
    ws.activate()
    wb.close()
    tmp.replace(path)
    return len(people)


def _instructions(wb: Any, ws: Any, scheme: Scheme, columns: list[TemplateColumn], *,
                  period: str, people: int) -> None:
    title = wb.add_format({"bold": True, "font_size": 14})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    wrap = wb.add_format({"text_wrap": True, "valign": "top", "border": 1})
    ws.write_string(0, 0, f"{scheme.name} {period} 数据录入模板", title)
    notes = [
        f"“{DATA_SHEET}”表已列出本周期的 {people} 人（工号、姓名、团队已填好，请勿修改工号）。",
        "系统中已有的数据已经填入；上传后每人的数据以表中为准：保留的值不变，清空的单元格会清除该项。",
        "不需要上传的列可以整列删除（删除的列保留系统中的值）。",
        "等级列请从下拉列表中选择；比率列填百分比（如 96.5%）；金额填数字（元）。",
        "填好后在 HR 控制台的本周期页面“上传”，先检查预览中的每一行，确认后才会保存。",
        "不要改动第一行的列名，也不要调整工作表顺序（上传读取第一个工作表）。",
    ]
    for i, n in enumerate(notes, start=2):
        ws.write_string(i, 0, f"{i - 1}. {n}")
    start = len(notes) + 3
    for j, h in enumerate(("列名", "编号", "填写要求", "必填")):
        ws.write_string(start, j, h, head)
    rows = [("工号", "employee", "员工工号（必填，用于匹配考核单）", "是"),
            ("姓名", "name", "仅供核对，不会导入", "否"),
            ("团队", "team", "仅供核对，不会导入", "否")]
    rows += [(c.header, c.ident, _rule(c.spec), "是" if c.spec.required else "否")
             for c in columns]
    for i, r in enumerate(rows, start=start + 1):
        for j, v in enumerate(r):
            ws.write_string(i, j, v, wrap)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 18)
    ws.set_column(2, 2, 60)
    ws.set_column(3, 3, 8)
