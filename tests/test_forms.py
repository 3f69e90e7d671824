"""The xlsx 考核表 forms and team summaries, written and opened back with openpyxl."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from kaohe.engine.results import to_document
from kaohe.engine.score import Scored, score_file
from kaohe.errors import KaoheError
from kaohe.presets import load_preset
from kaohe.reports.forms import write_agent_form, write_forms, write_team_summary

# rulebook 4.1 worked example (the header of /tmp/ex41.csv)
H41 = ("employee,sales,sales_target,inquiries,buyers,received,replied,response_s,"
       "followup_amount,execution,satisfaction,bad_reviews,full_attendance,silent_sales\n")
ROW41 = "E001,105000,100000,400,190,420,410,32,35000,比较满意,98.5%,0,1,20000\n"
# the same with name, team and period in front
H41_FULL = "employee,name,team,period," + H41.removeprefix("employee,")
ROW41_FULL = "E001,张三,一组,2026-10," + ROW41.removeprefix("E001,")

POINTS41 = {"成交额完成度": 30, "询单转化率": 16, "客单价": 10, "旺旺回复率": 8, "响应时间": 4,
            "协助跟进服务": 4, "执行力": 8, "满意度": 10}

H49 = ("employee,team,period,performance@self,performance@supervisor,performance@manager,"
       "ability@self,ability@supervisor,ability@manager,attitude@self,attitude@supervisor,"
       "attitude@manager,absent_months,position_salary,personal_commission,team_public_sales,"
       "seniority_pay\n")


def _score(tmp: Path, text: str, preset: str = "taobao-presales"
           ) -> tuple[Scored, dict[str, Any]]:
    f = tmp / f"{preset}.csv"
    f.write_text(text, encoding="utf-8")
    scored = score_file(load_preset(preset), f)
    return scored, to_document(scored.outcome, scored.table)


def _sheet(path: Path) -> Worksheet:
    ws = load_workbook(path).active
    assert isinstance(ws, Worksheet)
    return ws


def _rows(ws: Worksheet) -> list[list[Any]]:
    return [[v for v in row if v is not None] for row in ws.iter_rows(values_only=True)]


def _texts(ws: Worksheet) -> list[str]:
    return [str(v) for row in _rows(ws) for v in row]


def _column(ws: Worksheet, heading: str) -> tuple[int, int]:
    """(row, column) of a table heading."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == heading:
                return cell.row, cell.column
    raise AssertionError(f"no heading {heading!r}")


def _row_of(ws: Worksheet, label: str, column: int = 1) -> int:
    for row in ws.iter_rows(min_col=column, max_col=column):
        if row[0].value == label:
            return int(row[0].row)
    raise AssertionError(f"no row labelled {label!r}")


def _indicator_rows(ws: Worksheet, lang: str = "zh") -> dict[str, dict[str, Any]]:
    heads = (("序号", "考核指标", "权重/分值", "评分标准", "数据", "得分", "理由") if lang == "zh"
             else ("No.", "Indicator", "Weight / points", "Standard", "Data", "Points",
                   "Reason"))
    head_row, first = _column(ws, heads[0])
    cols = {h: _column(ws, h)[1] for h in heads}
    out: dict[str, dict[str, Any]] = {}
    for r in range(head_row + 1, ws.max_row + 1):
        if not isinstance(ws.cell(r, first).value, int):
            continue
        cells = {h: ws.cell(r, c) for h, c in cols.items()}
        out[str(cells[heads[1]].value)] = {h: cells[h] for h in heads}
    return out


# -- the worked example -------------------------------------------------------------------

def test_worked_example_form(tmp_path: Path) -> None:
    scored, doc = _score(tmp_path, H41_FULL + ROW41_FULL)
    out = tmp_path / "form.xlsx"
    write_agent_form(scored, doc["results"][0], out)
    assert out.exists() and not list(tmp_path.glob("*.part"))
    ws = _sheet(out)
    texts = _texts(ws)
    assert texts[0] == "淘宝售前客服月度KPI考核表"
    for label, value in (("被考核人", "E001 张三"), ("部门/团队", "一组"), ("岗位", "售前客服"),
                         ("考核周期", "2026-10")):
        assert texts[texts.index(label) + 1] == value

    rows = _indicator_rows(ws)
    assert list(rows) == list(POINTS41)
    points = {label: cells["得分"].value for label, cells in rows.items()}
    assert points == POINTS41
    for cells in rows.values():
        assert isinstance(cells["得分"].value, int | float)
        assert cells["得分"].number_format == "0.00"

    completion = rows["成交额完成度"]
    assert completion["权重/分值"].value == pytest.approx(0.3)
    assert completion["权重/分值"].number_format == "0%"
    assert completion["评分标准"].value.startswith("≥100%:100; [90%,100%):85; [80%,90%):70")
    # the data are the values read, by label; the reason words the rule with labels, never
    # input ids or formula source
    assert completion["数据"].value == "实际销售额=105000；计划销售额=100000"
    assert completion["理由"].value == (
        "实际销售额 105,000.00 ÷ 计划销售额 100,000.00 = 105.00%，落在「≥100%」档 → 100 分 × "
        "权重 30% = 30.00")
    assert rows["询单转化率"]["理由"].value == (
        "最终下单人数 190 ÷ 询单人数 400 = 47.50%，落在「[45%,50%)」档 → 80 分 × 权重 20% = 16.00")
    assert rows["执行力"]["数据"].value == "执行力=比较满意"
    assert rows["执行力"]["理由"].value == "执行力「比较满意」→ 80 分 × 权重 10% = 8.00"
    # the scheme's own wording of the standard wins over the rendering of its bands
    assert rows["满意度"]["评分标准"].value.startswith("≥98%:100; [95%,98%):90")

    _, points_col = _column(ws, "得分")
    adj = _row_of(ws, "加减分：差评扣分", 2)
    assert ws.cell(adj, points_col).value == 0
    for label, number in (("合计", 90), ("名次", 1), ("应发合计", 2178)):
        cell = ws.cell(_row_of(ws, label), points_col)
        assert cell.value == number
        assert cell.number_format in ("0.00", "0")
    assert ws.cell(_row_of(ws, "合计"), points_col).number_format == "0.00"
    assert ws.cell(_row_of(ws, "等级"), points_col).value == "高级"
    pay = {label: ws.cell(_row_of(ws, label), points_col).value
           for label in ("底薪", "岗位奖金", "餐补", "全勤奖", "奖金池分配")}
    assert pay == {"底薪": 1280, "岗位奖金": 400, "餐补": 150, "全勤奖": 100, "奖金池分配": 248}
    assert ws.cell(_row_of(ws, "标记"), 3).value == "无"

    # the signature block: each signer with a 日期 cell on the same row
    signed = [r for r in _rows(ws) if len(r) == 2 and r[1] == "日期"]
    assert [r[0] for r in signed] == ["被考核人", "考核人", "复核人", "人力资源部"]


def test_form_without_period_or_team(tmp_path: Path) -> None:
    """The plain 4.1 CSV (no period, team or name column)."""
    scored, doc = _score(tmp_path, H41 + ROW41)
    rec = doc["results"][0]
    assert rec["period"] is None
    files = write_forms(scored, doc, tmp_path / "forms")
    assert [p.name for p in files] == ["E001.xlsx", "summary.xlsx"]
    ws = _sheet(files[0])
    texts = _texts(ws)
    assert texts[texts.index("被考核人") + 1] == "E001"
    assert texts[texts.index("考核周期") + 1] == "—"
    assert {k: v["得分"].value for k, v in _indicator_rows(ws).items()} == POINTS41


def test_no_float_artefacts(tmp_path: Path) -> None:
    # a value with cents: (80 × 50% + 70 × 30%) / 80% = 76.25, × 50% = 38.125 → 38.13
    body = (H49 + "A1,T,2026-01,90,90,90,90,90,90,90,90,90,0,3000,500,100000,100\n"
            + "A2,T,2026-01,,80,70,80,80,80,80,80,80,0,3000,400,100000,100\n")
    scored, doc = _score(tmp_path, body, "taobao-policy")
    out = tmp_path / "a2.xlsx"
    a2 = next(r for r in doc["results"] if r["employee"] == "A2")
    write_agent_form(scored, a2, out)
    ws = _sheet(out)
    rows = _indicator_rows(ws)
    assert rows["工作业绩"]["得分"].value == 38.13
    assert rows["工作业绩"]["理由"].value == (
        "主管 80 × 50% + 经理 70 × 30% = 加权分 76.25 × 权重 50% = 38.13"
        "（自评缺评，权重按比例分摊给其他评分人）")
    assert rows["工作业绩"]["数据"].value == "自评=—；主管=80；经理=70"
    _, points_col = _column(ws, "得分")
    assert ws.cell(_row_of(ws, "合计"), points_col).value == 78.13
    # the engine's warning about the missing rater is on the form, in the form's words
    assert "工作业绩：自评未评分，权重按比例分摊给其他评分人" in _texts(ws)


def test_undefined_ratio_is_explained(tmp_path: Path) -> None:
    row = ROW41.replace(",400,190,", ",0,0,")
    scored, doc = _score(tmp_path, H41 + row)
    out = tmp_path / "form.xlsx"
    write_agent_form(scored, doc["results"][0], out)
    rows = _indicator_rows(_sheet(out))
    conversion = rows["询单转化率"]
    assert conversion["得分"].value == 0
    assert conversion["理由"].value == (
        "最终下单人数 0 ÷ 询单人数 0 无法计算（分母为 0）→ 按最低档 0 分 × 权重 20% = 0.00")
    # 客单价 = sales / buyers is undefined too: lowest band 0
    assert "无法计算（分母为 0）→ 按最低档 0 分" in rows["客单价"]["理由"].value


# -- English -------------------------------------------------------------------------------

def test_english_form(tmp_path: Path) -> None:
    scored, doc = _score(tmp_path, H41_FULL + ROW41_FULL)
    out = tmp_path / "form-en.xlsx"
    write_agent_form(scored, doc["results"][0], out, lang="en")
    ws = _sheet(out)
    texts = _texts(ws)
    assert texts[0] == "Taobao pre-sales agent monthly KPI — Appraisal form"
    for heading in ("Employee", "Team", "Position", "Period", "No.", "Indicator",
                    "Weight / points", "Standard", "Data", "Points", "Reason", "Total", "Grade",
                    "Rank", "Pay total", "Appraiser", "Reviewer", "HR department", "Date"):
        assert heading in texts, heading
    for chinese in ("被考核人", "得分", "理由", "合计", "应发合计", "考核人", "日期"):
        assert chinese not in texts
    rows = _indicator_rows(ws, "en")
    assert rows["Sales completion"]["Points"].value == 30
    assert rows["Sales completion"]["Reason"].value == (
        "Sales 105,000.00 ÷ Sales target 100,000.00 = 105.00%, in band “≥100%” → 100 points × "
        "weight 30% = 30.00")
    _, points_col = _column(ws, "Points")
    assert ws.cell(_row_of(ws, "Grade"), points_col).value == "Senior"
    assert ws.cell(_row_of(ws, "Pay total"), points_col).value == 2178


def test_unknown_language(tmp_path: Path) -> None:
    scored, doc = _score(tmp_path, H41 + ROW41)
    with pytest.raises(ValueError, match="language"):
        write_agent_form(scored, doc["results"][0], tmp_path / "x.xlsx", lang="fr")


# -- team summaries ------------------------------------------------------------------------

def test_team_summary_lists_agents_in_rank_order(tmp_path: Path) -> None:
    body = (ROW41_FULL.replace("E001,张三", "E003,王五").replace(",0,1,20000", ",1,1,20000")
            + ROW41_FULL.replace("E001,张三", "E002,李四").replace("105000", "50000")
            + ROW41_FULL)
    scored, doc = _score(tmp_path, H41_FULL + body)
    out = tmp_path / "summary.xlsx"
    write_team_summary(scored, doc, out)
    wb = load_workbook(out)
    assert wb.sheetnames == ["一组 2026-10"]
    ws = wb["一组 2026-10"]
    head = next(ws.iter_rows(min_row=2, max_row=2, values_only=True))
    assert list(head) == ["名次", "工号", "姓名", *POINTS41, "合计", "等级", "应发合计", "标记"]
    body_rows = list(ws.iter_rows(min_row=3, max_row=5, values_only=True))
    assert [(r[0], r[1], r[2]) for r in body_rows] == [
        (1, "E001", "张三"), (2, "E002", "李四"), (3, "E003", "王五")]
    e001 = body_rows[0]
    assert list(e001[3:11]) == list(POINTS41.values())
    # three agents share a pool of 60000 × 0.6% = 360: rank 1 gets 40% + 200 = 344, so
    # 1280 + 400 + 150 + 100 + 344 = 2274
    assert (e001[11], e001[12], e001[13]) == (90, "高级", 2274)
    assert ws.cell(3, 12).number_format == "0.00"


def test_summary_has_a_sheet_per_team_and_period(tmp_path: Path) -> None:
    body = (ROW41_FULL + ROW41_FULL.replace("2026-10", "2026-11")
            + ROW41_FULL.replace("E001,张三,一组", "E002,李四,二组"))
    scored, doc = _score(tmp_path, H41_FULL + body)
    out = tmp_path / "all.xlsx"
    write_team_summary(scored, doc, out)
    assert load_workbook(out).sheetnames == ["一组 2026-10", "一组 2026-11", "二组 2026-10"]
    one = tmp_path / "one.xlsx"
    write_team_summary(scored, doc, one, team="一组")
    assert load_workbook(one).sheetnames == ["2026-10", "2026-11"]


# -- exclusion ------------------------------------------------------------------------------

def test_excluded_row_gets_a_not_assessed_form(tmp_path: Path) -> None:
    body = (H49 + "A1,T,2026-10,90,90,90,90,90,90,90,90,90,0,3000,500,100000,100\n"
            + "A3,T,2026-10,,,,,,,,,,3,3000,0,100000,100\n")
    scored, doc = _score(tmp_path, body, "taobao-policy")
    files = write_forms(scored, doc, tmp_path / "forms")
    form = next(p for p in files if p.name == "2026-10_T_A3.xlsx")
    ws = _sheet(form)
    texts = _texts(ws)
    assert "不参加考核" in texts
    assert "考核期内缺勤超过2个月，不参加考核" in texts
    assert "考核期内缺勤超过2个月，不参加考核（缺勤月数 3 > 2）" in texts
    assert "得分" not in texts and "合计" not in texts
    assert [r[0] for r in _rows(ws) if len(r) == 2 and r[1] == "日期"] == [
        "被考核人", "考核人", "复核人", "人力资源部"]
    summary = load_workbook(tmp_path / "forms" / "summary_T.xlsx")["2026-10"]
    listed = [(r[0], r[1], r[7]) for r in summary.iter_rows(min_row=3, max_row=4,
                                                            values_only=True)]
    assert listed == [(1, "A1", "A"), (None, "A3", "不参加考核")]


# -- a run's forms ---------------------------------------------------------------------------

def test_write_forms_names_files_and_reports_progress(tmp_path: Path) -> None:
    body = (ROW41_FULL + ROW41_FULL.replace("E001,张三", "E002,李四")
            + ROW41_FULL.replace("E001,张三,一组", "E/3,王五,A:B 组"))
    scored, doc = _score(tmp_path, H41_FULL + body)
    seen: list[tuple[int, int]] = []
    folder = tmp_path / "out" / "forms"
    files = write_forms(scored, doc, folder, progress=lambda done, total: seen.append(
        (done, total)))
    names = [p.name for p in files]
    assert sorted(names[:3]) == ["2026-10_A_B_组_E_3.xlsx", "2026-10_一组_E001.xlsx",
                                 "2026-10_一组_E002.xlsx"]
    assert names[3:] == ["summary_A_B_组.xlsx", "summary_一组.xlsx"]
    assert seen == [(i, 5) for i in range(1, 6)]
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    ws = _sheet(folder / "2026-10_A_B_组_E_3.xlsx")
    texts = _texts(ws)
    assert texts[texts.index("被考核人") + 1] == "E/3 王五"
    assert texts[texts.index("部门/团队") + 1] == "A:B 组"


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    scored, doc = _score(tmp_path, H41 + ROW41)
    ghost = {**doc["results"][0], "employee": "NOBODY"}
    out = tmp_path / "ghost.xlsx"
    with pytest.raises(KaoheError):
        write_agent_form(scored, ghost, out)
    assert list(tmp_path.glob("*.xlsx*")) == []


def test_other_presets_sections_coefficients_and_formulas(tmp_path: Path) -> None:
    # 4.7: 20 + 24 + 20 + 15 = 79 → C, coefficient 0.8, 2000 × 0.8 = 1600
    scored, doc = _score(
        tmp_path, "employee,satisfaction,service_level,revisit_target_met,revisit_rate,unmet,"
        "perf_pay_base\nA1,90,3级,1,,1,2000\n", "aftersales-service")
    out = tmp_path / "a1.xlsx"
    write_agent_form(scored, doc["results"][0], out)
    ws = _sheet(out)
    _, points_col = _column(ws, "得分")
    assert ws.cell(_row_of(ws, "合计"), points_col).value == 79
    assert ws.cell(_row_of(ws, "系数"), points_col).value == 0.8
    assert ws.cell(_row_of(ws, "应发合计"), points_col).value == 1600
    rows = _indicator_rows(ws)
    assert rows["投诉处理"]["理由"].value == "20 分 − 投诉处理未达标项数 1 次 × 5 = 15.00"

    # 4.5: a section row with its subtotal; attendance counted in whole days
    scored, doc = _score(
        tmp_path, "employee,period,dealer_lapses,weekly_report_points,market_feedback,"
        "quality_feedback,ad_plan_lapses,promo_plan_lapses,promo_review_lapses,"
        "vehicle_violations,absent_days,salary_total,plan_completion,over_plan_bonus\n"
        "P1,2026-01,1,33.5,如实,不符,1,0,3,0,1.5,5000,90%,100\n", "sales-rep")
    out = tmp_path / "p1.xlsx"
    write_agent_form(scored, doc["results"][0], out)
    ws = _sheet(out)
    _, points_col = _column(ws, "得分")
    assert ws.cell(_row_of(ws, "日常工作考核", 2), points_col).value == 76.5
    assert ws.cell(_row_of(ws, "合计"), points_col).value == 81.15
    assert ws.cell(_row_of(ws, "应发合计"), points_col).value == 4748.75
    assert _indicator_rows(ws)["出勤"]["理由"].value == (
        "100 分 − 缺勤天数 1.5（按 2 计） × 4 = 92.00")
