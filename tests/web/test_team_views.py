"""The team board's views: search and sort by query parameters (no JavaScript needed), the
flags listed on the board, a team's months side by side with the mean per month, an agent's
year, and every one of those tables as xlsx."""

from __future__ import annotations

import io
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select

from kaohe.store.db import Database
from kaohe.store.models import Appraisal, Cycle, Employee, Result
from kaohe.web.app import create_app
from kaohe.web.teamviews import search_sort
from kaohe.workflow import cycles

from ..store.factories import ADMIN, input_row, write_inputs
from .test_access import login, shop  # noqa: F401 - the fixture is shared


@pytest.fixture
def two_months(shop: Database, tmp_path: Path) -> Database:  # noqa: F811
    """The shop with E001 failing two months running (a bad review each month: 淘汰 in
    2026-11) and a second month for everyone."""
    with shop.transaction() as s:
        cycles.import_inputs(s, cycle_id=1, path=write_inputs(
            tmp_path / "oct.csv", [input_row("E001", "2026-10", bad_reviews="1")]), actor=ADMIN)
        cycles.score_cycle(s, cycle_id=1, actor=ADMIN)
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-11",
                                actor=ADMIN).id
    rows = [input_row(f"E{i:03d}", "2026-11", sales=str(95000 + 1000 * i),
                      bad_reviews="1" if i == 1 else "0") for i in range(1, 7)]
    with shop.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=write_inputs(tmp_path / "nov.csv", rows),
                             actor=ADMIN)
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
    return shop


def totals(db: Database) -> dict[tuple[str, str], Decimal]:
    with db.transaction() as s:
        return {(code, period): Decimal(str(total)) for code, period, total in s.execute(
            select(Employee.code, Cycle.period, Result.total)
            .join(Appraisal, Appraisal.employee_id == Employee.id)
            .join(Cycle, Cycle.id == Appraisal.cycle_id)
            .join(Result, (Result.appraisal_id == Appraisal.id) & Result.is_current.is_(True)))}


def codes_in(html: str) -> list[str]:
    table = html[html.index('id="board-table"'):]
    return re.findall(r'<a href="/appraisals/\d+">(E\d{3}) ', table)


def test_the_board_sorts_and_searches_without_javascript(two_months: Database) -> None:
    t = totals(two_months)
    with TestClient(create_app(two_months, secret="s")) as hr:
        login(hr, "hr")
        html = hr.get("/team", params={"period": "2026-11", "team": "一组",
                                       "sort": "-total"}).text
        shown = codes_in(html)
        assert shown == sorted(["E001", "E003", "E005"], key=lambda c: -t[(c, "2026-11")])
        html = hr.get("/team", params={"period": "2026-11", "team": "一组",
                                       "sort": "total"}).text
        assert codes_in(html) == list(reversed(shown))
        html = hr.get("/team", params={"period": "2026-11", "team": "一组", "q": "员工3"}).text
        assert codes_in(html) == ["E003"]
        assert "1 / 3" in html
        html = hr.get("/team", params={"period": "2026-11", "team": "一组", "q": "淘汰"}).text
        assert codes_in(html) == ["E001"]
        assert hr.get("/team", params={"sort": "drop table"}).status_code == 422


def test_flags_are_listed_on_the_board(two_months: Database) -> None:
    with TestClient(create_app(two_months, secret="s")) as sup:
        login(sup, "hr")
        html = sup.get("/team", params={"period": "2026-11", "team": "一组"}).text
        flags = html[html.index('id="flags"'):html.index('id="appraisals"')]
        assert "E001 员工1" in flags and '<span class="flag">淘汰</span>' in flags
        assert "E003" not in flags


def test_a_teams_months_side_by_side_with_the_mean(two_months: Database) -> None:
    t = totals(two_months)
    with TestClient(create_app(two_months, secret="s")) as sup:
        login(sup, "sup1")
        html = sup.get("/team/months", params={"team": "一组", "year": "2026"}).text
        table = html[html.index('id="months-table"'):]
        for code in ("E001", "E003", "E005"):
            row = table[table.index(f">{code} "):].split("</tr>", 1)[0]
            for period in ("2026-10", "2026-11"):
                assert f">{t[(code, period)]:.2f}</a>" in row
        foot = table[table.index("<tfoot>"):]
        for period in ("2026-10", "2026-11"):
            mean = (sum(t[(c, period)] for c in ("E001", "E003", "E005")) / 3).quantize(
                Decimal("0.01"), ROUND_HALF_UP)
            assert f"{mean:.2f}" in foot
        assert "E002" not in table  # 二组 is not this team
        # a supervisor sees only their teams: 二组 falls back to their own
        assert "E002" not in sup.get("/team/months", params={"team": "二组"}).text
        r = sup.get("/team/export.xlsx", params={"table": "months", "team": "一组",
                                                 "year": "2026"})
        assert r.status_code == 200
        assert unquote(r.headers["content-disposition"].split("''", 1)[1]) == \
            "月度对比-2026-一组.xlsx"
        ws = load_workbook(io.BytesIO(r.content)).active
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][:4] == ("工号", "姓名", "10月", "11月")
        assert rows[-1][1] == "团队平均"
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref
        assert sup.get("/team/export.xlsx", params={"table": "months", "team": "二组",
                                                    "year": "2026"}).status_code == 404


def test_an_agents_year_month_by_month(two_months: Database) -> None:
    t = totals(two_months)
    with TestClient(create_app(two_months, secret="s")) as hr:
        login(hr, "hr")
        html = hr.get("/team/people/E001", params={"year": "2026"}).text
        table = html[html.index('id="year-table"'):]
        assert table.index("2026-10") < table.index("2026-11")
        for period in ("2026-10", "2026-11"):
            assert f">{t[('E001', period)]:.2f}<" in table
        mean = ((t[("E001", "2026-10")] + t[("E001", "2026-11")]) / 2).quantize(
            Decimal("0.01"), ROUND_HALF_UP)
        assert f">{mean:.2f}<" in table
        assert '<span class="flag">淘汰</span>' in table
        r = hr.get("/team/export.xlsx", params={"table": "person", "code": "E001",
                                                "year": "2026"})
        ws = load_workbook(io.BytesIO(r.content)).active
        assert [row[0] for row in ws.iter_rows(min_row=2, values_only=True)] == [
            "2026-10", "2026-11", "全年"]
        assert hr.get("/team/people/NOPE", params={"year": "2026"}).status_code == 404
    with TestClient(create_app(two_months, secret="s")) as agent:
        login(agent, "e2")
        assert agent.get("/team/people/E001").status_code == 404
        assert agent.get("/team/months").status_code == 404
        assert agent.get("/team/export.xlsx").status_code == 404


def test_the_board_exports_as_searched_and_sorted(two_months: Database) -> None:
    with TestClient(create_app(two_months, secret="s")) as hr:
        login(hr, "hr")
        r = hr.get("/team/export.xlsx", params={"period": "2026-11", "team": "一组",
                                                "sort": "-total"})
        assert unquote(r.headers["content-disposition"].split("''", 1)[1]) == \
            "团队看板-2026-11-一组.xlsx"
        ws = load_workbook(io.BytesIO(r.content)).active
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0] == ("团队", "排名", "工号", "姓名", "总分", "等级", "应发合计", "状态", "标记")
        scores = [row[4] for row in rows[1:]]
        assert scores == sorted(scores, reverse=True) and len(scores) == 3
        assert ws.cell(2, 7).number_format.startswith('"¥"')
        assert ws.page_setup.orientation == "landscape"
        r = hr.get("/team/export.xlsx", params={"table": "overview", "period": "2026-11"})
        ws = load_workbook(io.BytesIO(r.content)).active
        assert {row[0] for row in ws.iter_rows(min_row=2, values_only=True)} == {"一组", "二组"}


def _row(code: str, total: str | None, team: str) -> dict[str, Any]:
    return {"code": code, "name": code, "team": team, "state": "published", "scheme": "s",
            "grade_label": None, "grade_rank": None,
            "result": None if total is None else {"total": total, "flags": []}}


@given(st.lists(st.tuples(st.sampled_from(["一组", "二组"]),
                          st.none() | st.decimals(0, 100, places=2).map(str)), max_size=15),
       st.sampled_from(["total", "-total", "code", "team"]))
def test_sorting_keeps_every_row_and_puts_the_unscored_last(
        lines: list[tuple[str, str | None]], sort: str) -> None:
    rows = [_row(f"E{i:03d}", total, team) for i, (team, total) in enumerate(lines)]
    out = search_sort(rows, "", sort)
    assert sorted(r["code"] for r in out) == sorted(r["code"] for r in rows)
    if sort.endswith("total"):
        scored = [Decimal(r["result"]["total"]) for r in out if r["result"]]
        assert scored == sorted(scored, reverse=sort.startswith("-"))
        assert all(r["result"] for r in out[:len(scored)])
