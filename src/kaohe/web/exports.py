"""Every table of the team board as an xlsx download: the board (as searched and sorted), the
overview of all teams, a team's months side by side and an agent's year. The rows are the
pages' own (the same visibility); the file is named in Chinese with its period and team."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from kaohe.reports.cells import WORKBOOK_OPTIONS, write_cell
from kaohe.reports.forms import safe_name
from kaohe.web.deps import XLSX, SessionDep, UserDep, download
from kaohe.web.services import board_rows, teams_of
from kaohe.web.teamviews import (
    Search,
    Sort,
    Year,
    agent_year,
    flags_of,
    month_comparison,
    search_sort,
    state_label,
)
from kaohe.workflow.permissions import is_staff

router = APIRouter()

SCORE = "0.00"
MONEY = '"¥"#,##0.00;-"¥"#,##0.00'


def table_xlsx(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]], *,
               formats: dict[int, str] | None = None, footer: Sequence[Any] | None = None
               ) -> bytes:
    """One table as a workbook: a bold frozen header with a filter, the rows (numbers as
    numbers, in ``formats`` per column), an optional bold footer line, landscape and one
    page wide when printed."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {**WORKBOOK_OPTIONS, "in_memory": True})
    ws = wb.add_worksheet(safe_name(title, 31))
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    plain = wb.add_format({"border": 1})
    bold = wb.add_format({"border": 1, "bold": True, "bg_color": "#F2F2F2"})
    cols = {j: wb.add_format({"border": 1, "num_format": f})
            for j, f in (formats or {}).items()}
    bold_cols = {j: wb.add_format({"border": 1, "bold": True, "bg_color": "#F2F2F2",
                                   "num_format": f}) for j, f in (formats or {}).items()}
    for j, h in enumerate(header):
        ws.write_string(0, j, h, head)
    for i, row in enumerate(rows, start=1):
        for j, v in enumerate(row):
            write_cell(ws, i, j, v, cols.get(j, plain))
    if footer is not None:
        for j, v in enumerate(footer):
            write_cell(ws, len(rows) + 1, j, v, bold_cols.get(j, bold))
    ws.set_column(0, max(len(header) - 1, 0), 12)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), max(len(header) - 1, 0))
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_header(f"&C{title.replace('&', '&&')[:200]}")
    wb.close()
    return buf.getvalue()


def _name(*parts: str | None) -> str:
    return "-".join(safe_name(p, 60) for p in parts if p) + ".xlsx"


def _dec(v: Any) -> Decimal | None:
    return None if v is None else Decimal(str(v))


def board_table(board: dict[str, Any], rows: list[dict[str, Any]]
                ) -> tuple[list[str], list[list[Any]]]:
    header = ["团队", "排名", "工号", "姓名", "总分", "等级", "应发合计", "状态", "标记"]
    out = [[r["team"], (r["result"] or {}).get("rank"), r["code"], r["name"],
            _dec((r["result"] or {}).get("total")), r["grade_label"],
            _dec(((r["result"] or {}).get("pay") or {}).get("total")), state_label(r["state"]),
            "、".join(flags_of(r))] for r in rows]
    return header, out


@router.get("/team/export.xlsx")
def team_export(session: SessionDep, user: UserDep,
                table: Annotated[str, Query(pattern="^(board|overview|months|person)$")]
                = "board",
                period: Annotated[str | None, Query(max_length=16)] = None,
                team: Annotated[str | None, Query(max_length=64)] = None,
                q: Search = "", sort: Sort = "rank", year: Year = None,
                code: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """The table a page shows, as xlsx: ``board`` (one period, as searched and sorted),
    ``overview`` (all teams of a period), ``months`` (a team's year) or ``person`` (an
    agent's year)."""
    if not is_staff(user):
        raise HTTPException(404, "not found")
    if table in ("board", "overview"):
        board = board_rows(session, user, period=period, team=team)
        if table == "overview":
            header = ["团队", "方案", "考核人数", "已评分", "平均总分", "等级分布", "待完成"]
            rows = [[o["team"], o["scheme"], o["appraisals"], o["scored"], o["mean"],
                     " · ".join(f"{g} {n}" for g, n in o["grades"].items()), o["waiting"]]
                    for o in board["overview"]]
            return download(table_xlsx("团队总览", header, rows, formats={4: SCORE}), XLSX,
                            _name("团队总览", board["period"]),
                            fallback=f"teams-{board['period']}.xlsx")
        header, rows = board_table(board, search_sort(board["rows"], q, sort))
        return download(table_xlsx("团队看板", header, rows, formats={4: SCORE, 6: MONEY}),
                        XLSX, _name("团队看板", board["period"], board["team"]),
                        fallback=f"team-{board['period']}.xlsx")
    if year is None:
        raise HTTPException(422, "year is required")
    if table == "months":
        if team not in teams_of(session, user):
            raise HTTPException(404, "not found")
        view = month_comparison(session, user, team=team or "", year=year)
        months = view["months"]
        header = ["工号", "姓名", *[f"{int(m[5:])}月" for m in months], "平均", "标记"]
        rows = [[a["code"], a["name"], *[(a["months"].get(m) or {}).get("total")
                                          for m in months], a["mean"], "；".join(a["flags"])]
                for a in view["agents"]]
        footer = ["", "团队平均", *[view["means"][m] for m in months], None, ""]
        fmt = dict.fromkeys(range(2, len(months) + 3), SCORE)
        return download(table_xlsx("月度对比", header, rows, formats=fmt, footer=footer), XLSX,
                        _name("月度对比", year, team), fallback=f"months-{year}.xlsx")
    if code is None:
        raise HTTPException(422, "code is required")
    person = agent_year(session, user, code=code, year=year)
    if not person["lines"]:
        raise HTTPException(404, "not found")
    header = ["月份", "团队", "总分", "等级", "排名", "应发合计", "标记", "状态"]
    rows = [[ln["period"], ln["team"], ln["total"], ln["grade"], ln["rank"], ln["pay"],
             "、".join(ln["flags"]), state_label(ln["state"])] for ln in person["lines"]]
    footer = ["全年", "", person["mean"], "", None, person["pay"], "", ""]
    return download(table_xlsx("年度", header, rows, formats={2: SCORE, 5: MONEY},
                               footer=footer), XLSX,
                    _name("年度考核", year, code, person["name"]), fallback=f"year-{year}.xlsx")
