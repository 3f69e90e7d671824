"""The xlsx 考核表 forms and team summaries, opened back with openpyxl."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from kaohe.engine.results import to_document
from kaohe.engine.score import Scored, score_file
from kaohe.presets import load_preset
from kaohe.reports.forms import write_agent_form, write_forms, write_team_summary

HEADER = ("employee,name,team,period,sales,sales_target,inquiries,buyers,received,replied,"
          "response_s,followup_amount,execution,satisfaction,bad_reviews,full_attendance,"
          "silent_sales\n")
EXAMPLE = "E001,张三,一组,2026-10,105000,100000,400,190,420,410,32,35000,比较满意,98.5%,0,1,20000\n"


def _scored(tmp: Path, body: str, preset: str = "taobao-presales",
            header: str = HEADER) -> tuple[Scored, dict[str, Any]]:
    f = tmp / "in.csv"
    f.write_text(header + body, encoding="utf-8")
    scored = score_file(load_preset(preset), f)
    return scored, to_document(scored.outcome, scored.table)


def _cells(path: Path) -> list[list[Any]]:
    ws = load_workbook(path).active
    return [[v for v in row if v is not None] for row in ws.iter_rows(values_only=True)]


def test_worked_example_form(tmp_path: Path) -> None:
    scored, doc = _scored(tmp_path, EXAMPLE)
    out = tmp_path / "form.xlsx"
    write_agent_form(scored, doc["results"][0], out)
    rows = _cells(out)
    flat = [v for r in rows for v in r]
    assert "被考核人" in flat and "E001 张三" in flat and "2026-10" in flat
    points = {r[1]: r[5] for r in rows if len(r) >= 7 and isinstance(r[0], int)}
    assert points == {"成交额完成度": 30, "询单转化率": 16, "客单价": 10, "旺旺回复率": 8,
                      "响应时间": 4, "协助跟进服务": 4, "执行力": 8, "满意度": 10}
    labels = {r[0]: r[1] for r in rows if len(r) == 2 and isinstance(r[0], str)}
    assert labels["合计"] == 90 and labels["等级"] == "高级" and labels["应发合计"] == 2178
    assert ["被考核人:", "考核人:", "复核人:", "人力资源部:"] in rows
    assert not list(tmp_path.glob("*.part"))


def test_english_form(tmp_path: Path) -> None:
    scored, doc = _scored(tmp_path, EXAMPLE)
    out = tmp_path / "form-en.xlsx"
    write_agent_form(scored, doc["results"][0], out, lang="en")
    flat = [v for r in _cells(out) for v in r]
    assert "Employee" in flat and "Sales completion" in flat and "Pay total" in flat


def test_team_summary_lists_agents_in_rank_order(tmp_path: Path) -> None:
    body = EXAMPLE + EXAMPLE.replace("E001,张三", "E002,李四").replace("105000", "50000") \
        + EXAMPLE.replace("E001,张三", "E003,王五").replace(",0,1,20000", ",1,1,20000")
    scored, doc = _scored(tmp_path, body)
    out = tmp_path / "summary.xlsx"
    write_team_summary(scored, doc, out)
    ws = load_workbook(out)["2026-10"]
    ranks = [(r[0], r[1]) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert ranks == [(1, "E001"), (2, "E002"), (3, "E003")]


def test_excluded_row_gets_a_not_assessed_form(tmp_path: Path) -> None:
    header = ("employee,period,performance@supervisor,ability@supervisor,attitude@supervisor,"
              "absent_months,position_salary,personal_commission,team_public_sales,"
              "seniority_pay\n")
    scored, doc = _scored(tmp_path, "A1,2026-10,,,,3,3000,0,1000,100\n", "taobao-policy", header)
    files = write_forms(scored, doc, tmp_path / "forms")
    form = next(p for p in files if "A1" in p.name)
    flat = " ".join(str(v) for r in _cells(form) for v in r)
    assert "不参加考核" in flat and "缺勤超过2个月" in flat
