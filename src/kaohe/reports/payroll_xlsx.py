"""The payroll workbook as HR hands it on: one line per person with 总分 and 等级 beside every
pay line, a 小计 line after each team and a 合计 line at the end, a frozen header, a filter,
¥ amounts and a landscape page that fits the width of A4.

Every amount is a :class:`~decimal.Decimal` already rounded to the fen; a subtotal is the
sum of the rounded lines above it (never a sum of unrounded amounts), the grand total the
sum of every line, so the sheet adds up when HR checks it by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from kaohe.reports.cells import WORKBOOK_OPTIONS, write_cell

SHEET = "工资表"
#: ¥ with thousands separators, to the fen (negative amounts with a minus)
MONEY_FORMAT = '"¥"#,##0.00;-"¥"#,##0.00'
SCORE_FORMAT = "0.00"
SUBTOTAL = "小计"
GRAND_TOTAL = "合计"
SCORE_HEADERS = ("总分", "等级")
#: the key columns of the payroll data before the amounts (工号, 姓名, 团队, 周期)
KEYS = 4


@dataclass
class PayrollSheet:
    """The laid-out sheet: its header and its lines (people, subtotals, the grand total),
    each line's kind (``person``, ``subtotal``, ``total``), and the amount columns."""

    header: list[str]
    lines: list[list[Any]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    money: list[int] = field(default_factory=list)


def _sum(values: Sequence[Any]) -> Decimal:
    return sum((v for v in values if isinstance(v, Decimal)), Decimal("0.00"))


def layout(header: Sequence[str], rows: Sequence[Sequence[Any]],
           scores: Mapping[str, tuple[Decimal | None, str | None]]) -> PayrollSheet:
    """The payroll data (``header`` and ``rows`` as :func:`kaohe.workflow.payroll.payroll_rows`
    gives them: 工号, 姓名, 团队, 周期, then the amounts) laid out with 总分 and 等级 after the
    keys, the people grouped by team (in the order given) with a subtotal per team and a
    grand total."""
    head = [*header[:KEYS], *SCORE_HEADERS, *header[KEYS:]]
    width = len(header)
    money = [j for j in range(KEYS, width)
             if all(r[j] is None or isinstance(r[j], Decimal) for r in rows)]
    sheet = PayrollSheet(head, money=[j + len(SCORE_HEADERS) for j in money])
    teams: dict[Any, list[Sequence[Any]]] = {}
    for r in rows:
        teams.setdefault(r[2], []).append(r)
    for team, people in teams.items():
        for r in people:
            total, grade = scores.get(str(r[0]), (None, None))
            sheet.lines.append([*r[:KEYS], total, grade, *r[KEYS:]])
            sheet.kinds.append("person")
        sub: list[Any] = ["", SUBTOTAL, team, f"{len(people)} 人", None, None]
        sub += [_sum([p[j] for p in people]) if j in money else None
                for j in range(KEYS, width)]
        sheet.lines.append(sub)
        sheet.kinds.append("subtotal")
    grand: list[Any] = ["", GRAND_TOTAL, "", f"{len(rows)} 人", None, None]
    grand += [_sum([r[j] for r in rows]) if j in money else None for j in range(KEYS, width)]
    sheet.lines.append(grand)
    sheet.kinds.append("total")
    return sheet


def write_payroll_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]],
                       scores: Mapping[str, tuple[Decimal | None, str | None]], *,
                       title: str) -> PayrollSheet:
    """Write the payroll workbook to ``path`` (as :func:`layout` lays it out)."""
    import xlsxwriter

    sheet = layout(header, rows, scores)
    wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    ws = wb.add_worksheet(SHEET)
    base = {"border": 1, "valign": "vcenter"}
    head = wb.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "text_wrap": True,
                          "align": "center"})
    fmt = {
        ("person", "text"): wb.add_format(base),
        ("person", "money"): wb.add_format({**base, "num_format": MONEY_FORMAT}),
        ("person", "score"): wb.add_format({**base, "num_format": SCORE_FORMAT}),
    }
    for kind, colour in (("subtotal", "#F2F2F2"), ("total", "#FFF2CC")):
        style = {**base, "bold": True, "bg_color": colour}
        fmt[(kind, "text")] = wb.add_format(style)
        fmt[(kind, "money")] = wb.add_format({**style, "num_format": MONEY_FORMAT})
        fmt[(kind, "score")] = wb.add_format({**style, "num_format": SCORE_FORMAT})
    for j, h in enumerate(sheet.header):
        ws.write_string(0, j, h, head)
    score_col = KEYS
    for i, (line, kind) in enumerate(zip(sheet.lines, sheet.kinds, strict=True), start=1):
        for j, v in enumerate(line):
            what = "money" if j in sheet.money else "score" if j == score_col else "text"
            write_cell(ws, i, j, v, fmt[(kind, what)])
    last_col = len(sheet.header) - 1
    ws.set_row(0, 30)
    ws.set_column(0, 0, 10)
    ws.set_column(1, 2, 12)
    ws.set_column(3, 5, 9)
    ws.set_column(6, last_col, 12)
    ws.freeze_panes(1, 2)
    ws.autofilter(0, 0, len(sheet.lines) - 1, last_col)  # not the grand total
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)  # one page wide, as many tall as needed
    ws.repeat_rows(0)
    ws.center_horizontally()
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_header(f"&C&\"SimSun,Bold\"{_header_text(title)}")
    ws.set_footer("&C第 &P 页，共 &N 页")
    wb.close()
    return sheet


def _header_text(text: str) -> str:
    return text.replace("&", "&&")[:200]
