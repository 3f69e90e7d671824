"""`kaohe explain --period 2026-Q4|2026`: a quarter or a year line by line, as the seed's
年度绩效考核表 (指标类型 | 平均得分 | 所占权重 | 折合分数), in Chinese and English.

The numbers are worked out by hand from the rulebook (§4.4, §4.5, §4.8) and from the small
annual scheme below; the texts are read from a wide terminal table.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kaohe.cli import app
from tests.test_aggregate_outputs import EC_HEADER, EC_ROWS, SR_HEADER, SR_ROWS, write

RUNNER = CliRunner()


def explain(*args: str, code: int = 0) -> str:
    res = RUNNER.invoke(app, ["explain", *args], terminal_width=400)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    assert res.exit_code == code, res.stderr
    return res.stdout if code == 0 else res.stderr


def rows(text: str) -> dict[str, list[str]]:
    """The table's lines by their first cell (wrapped cells joined)."""
    out: dict[str, list[str]] = {}
    last = ""
    for line in text.splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.strip("│").split("│")]
        if cells[0]:
            last = cells[0]
            out[last] = cells
        elif last:
            out[last] = [(a + b if a and b and not a.endswith(("、", ",")) else
                          f"{a} {b}".strip()) for a, b in zip(out[last], cells, strict=True)]
    return out


@pytest.fixture
def ec_input(tmp_path: Path) -> Path:
    return write(tmp_path, "q4.csv", EC_HEADER, EC_ROWS)


def test_quarter_in_chinese(ec_input: Path) -> None:
    text = explain("--preset", "ecommerce-commission", "-i", str(ec_input), "-e", "A1",
                   "--period", "2026-Q4")
    assert re.search(r"指标类型\s*┃\s*平均得分\s*┃\s*所占权重\s*┃\s*折合分数", text)
    lines = rows(text)
    assert lines["计入月份"][3] == "3"
    assert "2026-10、2026-11、2026-12" in lines["计入月份"][4]
    # the quarter's score is the sum of the monthly totals: 100 + 88 + 70 = 258
    term = lines["各月总分之和"]
    assert term[1] == "258.00" and term[3] == "258.00"
    assert "2026-10 100.00 + 2026-11 88.00 + 2026-12 70.00 = 258.00" in term[4]
    assert lines["得分"][3] == "258.00"
    # A1 first of the three in T1 (D4 is in T2) → 800
    assert lines["名次"][3] == "1" and "第 1 名，共 3 人" in lines["名次"][4]
    assert lines["quarterly_award"][3] == "800.00"
    assert "名次 1 → 800.00" in lines["quarterly_award"][4]


def test_quarter_in_english(ec_input: Path) -> None:
    text = explain("--preset", "ecommerce-commission", "-i", str(ec_input), "-e", "C3",
                   "--period", "2026-Q4", "--lang", "en")
    lines = rows(text)
    assert re.search(r"item type\s*┃\s*average\s*┃\s*weight\s*┃\s*weighted points", text)
    assert lines["Months counted"][3] == "1"
    term = lines["sum of the monthly total"]
    # C3: one month, 55 s → 4: 2 × (4 + 15 + 20) = 78.00; third in T1 → 300
    assert term[3] == "78.00" and "2026-12 78.00 = 78.00" in term[4]
    assert "3 of 3" in lines["Rank"][4]
    assert lines["quarterly_award"][3] == "300.00"


@pytest.fixture
def sr_input(tmp_path: Path) -> Path:
    return write(tmp_path, "year.csv", SR_HEADER, SR_ROWS)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sales_rep_year(sr_input: Path, lang: str) -> None:
    text = explain("--preset", "sales-rep", "-i", str(sr_input), "-e", "S1", "--period", "2026",
                   "--lang", lang)
    lines = rows(text)
    mean = "各月总分平均" if lang == "zh" else "mean of the monthly total"
    score = "得分" if lang == "zh" else "Score"
    # (83.60 + 86.00 + 86.40) / 3 = 85.3333…, rounded half-up → 85.33; second behind S2
    assert "(2026-01 83.60 + 2026-02 86.00 + 2026-03 86.40) ÷ 3 = 85.3333" in lines[mean][4]
    assert lines[score][3] == "85.33"
    rounded = "四舍五入保留 2 位小数 = 85.33" if lang == "zh" else \
        "rounded half-up to 2 decimals = 85.33"
    assert rounded in lines[score][4]
    assert ("名次" if lang == "zh" else "Rank") not in lines  # 4.5 does not rank years


def test_operator_year_grade_award_flag_in_english(tmp_path: Path) -> None:
    data = [{"employee": "O2", "period": f"2026-{m:02d}", "team": "T1", "grade": g,
             "base_salary": "3000"} for m, g in enumerate("DDDDDDCC", start=1)]
    src = write(tmp_path, "op.csv", ["employee", "period", "team", "grade", "base_salary"], data)
    text = explain("--preset", "operator-monthly", "-i", str(src), "-e", "O2", "--period", "2026",
                   "--lang", "en")
    lines = rows(text)
    # 6 × −0.5 + 2 × −0.3 = −3.60 < 0 → D; 6 months graded D → 辞退 (dismissal); no raise
    assert lines["Score"][3] == "-3.60"
    assert "< 0 → D" in lines["Grade"][4]
    assert lines["raise"][3] == "0.00"
    assert "dismissal" in lines["Flags"][4] and "6" in lines["Flags"][4]
    term = next(v for k, v in lines.items() if k.startswith("sum of the monthly"))
    assert term[3] == "−3.60" and "2026-01 D → −0.50" in term[4]


ANNUAL = """\
id: annual-form
name: 年度绩效考核表
name_en: Annual appraisal form
inputs:
  perf: {label: 业绩评分, label_en: Performance mark, type: number, min: 0, max: 100}
  attitude: {label: 态度评分, label_en: Attitude mark, type: number, min: 0, max: 100}
  absent: {label: 缺勤, label_en: Absent, type: number, min: 0}
eligibility:
  exclude_if: absent > 0
  reason: 缺勤不参评
values:
  - {id: perf_mark, label: 业绩分, label_en: Performance mark, formula: perf}
  - {id: attitude_mark, label: 态度分, label_en: Attitude mark, formula: attitude}
indicators:
  - {id: performance, label: 工作业绩, label_en: Performance, points: 70, formula: perf * 70%}
  - {id: attitude_pts, label: 工作态度, label_en: Attitude, points: 30, formula: attitude * 30%}
aggregates:
  - period: year
    label: 年度绩效
    rank: true
    score: round(mean(perf_mark) * 70%, 2) + round(mean(attitude_mark) * 30%, 2)
    grades:
      - {name: 优秀, min: 90}
      - {name: 符合要求, min: 70}
      - {name: 尚待改进}
    flags:
      - {flag: 提升培训, label_en: advanced training, when: score >= 80}
"""
ANNUAL_ROWS = """\
employee,name,team,period,perf,attitude,absent
R1,王五,研发,2026-01,90,80,0
R1,王五,研发,2026-02,85,95,0
R1,王五,研发,2026-03,70,60,2
R2,赵六,研发,2026-01,60,70,0
"""


@pytest.fixture
def annual(tmp_path: Path) -> tuple[Path, Path]:
    scheme = tmp_path / "annual.yaml"
    scheme.write_text(ANNUAL, encoding="utf-8")
    src = tmp_path / "annual.csv"
    src.write_text(ANNUAL_ROWS, encoding="utf-8")
    return scheme, src


def test_weighted_year_as_the_annual_form(annual: tuple[Path, Path]) -> None:
    scheme, src = annual
    lines = rows(explain("--scheme", str(scheme), "-i", str(src), "-e", "R1", "--period", "2026"))
    # March is excluded (absent): not counted
    assert lines["计入月份"][3] == "2"
    assert "不计入（不参评）：2026-03" in lines["计入月份"][4]
    # 业绩: (90 + 85)/2 = 87.50 × 70% = 61.25; 态度: (80 + 95)/2 = 87.50 × 30% = 26.25
    assert lines["各月业绩分平均"][1:4] == ["87.50", "70%", "61.25"]
    assert lines["各月态度分平均"][1:4] == ["87.50", "30%", "26.25"]
    assert "(2026-01 90.00 + 2026-02 85.00) ÷ 2 = 87.50" in lines["各月业绩分平均"][4]
    # 61.25 + 26.25 = 87.50 → [70, 90): 符合要求; ≥ 80 → 提升培训; R2 63.00 is second
    assert lines["得分"][3] == "87.50" and "61.25 + 26.25 = 87.50" in lines["得分"][4]
    assert "≥ 70 → 符合要求" in lines["等级"][4]
    assert lines["名次"][3] == "1"
    assert "提升培训" in lines["标记"][4]


def test_weighted_year_in_english(annual: tuple[Path, Path]) -> None:
    scheme, src = annual
    lines = rows(explain("--scheme", str(scheme), "-i", str(src), "-e", "R2", "--period", "2026",
                         "--lang", "en"))
    # R2: 60 × 70% = 42.00; 70 × 30% = 21.00; 63.00 < 70 → 尚待改进; no flag
    assert lines["mean of the monthly Performance mark"][1:4] == ["60.00", "70%", "42.00"]
    assert lines["mean of the monthly Attitude mark"][1:4] == ["70.00", "30%", "21.00"]
    assert lines["Score"][3] == "63.00"
    assert "< 70 → 尚待改进" in lines["Grade"][4]
    assert "Flags" not in lines
    assert "2 of 2" in lines["Rank"][4]


def test_no_such_quarter_or_employee(ec_input: Path) -> None:
    err = explain("--preset", "ecommerce-commission", "-i", str(ec_input), "-e", "A1",
                  "--period", "2025-Q4", code=2)
    assert "2025-Q4" in err and "2026-Q4" in err
    err = explain("--preset", "ecommerce-commission", "-i", str(ec_input), "-e", "ZZ",
                  "--period", "2026-Q4", code=2)
    assert "ZZ" in err
    # a month still explains the month
    text = explain("--preset", "ecommerce-commission", "-i", str(ec_input), "-e", "A1",
                   "--period", "2026-10")
    assert re.search(r"100\.00", text) and "指标类型" not in text


def test_rnd_annual_worked_example(tmp_path: Path) -> None:
    from tests.test_aggregate_outputs import RND_HEADER, rnd_rows

    src = write(tmp_path, "rnd.csv", RND_HEADER, rnd_rows())
    zh = rows(explain("--preset", "rnd-annual", "-i", str(src), "-e", "E1", "--period", "2026"))
    # the seed's 年度绩效考核表: 指标类型 | 平均得分 | 所占权重 | 折合分数
    assert zh["工作业绩"][1:4] == ["81.00", "70%", "56.70"]
    assert zh["工作态度平均分"][1:4] == ["90.00", "15%", "13.50"]
    assert zh["工作能力平均分"][1:4] == ["80.00", "15%", "12.00"]
    assert zh["特别加分"][3] == "2.00"
    assert "÷ 12 = 90.00" in zh["工作态度平均分"][4]
    assert zh["得分"][3] == "84.20" and "56.70 + 13.50 + 12.00 + 2.00 = 84.20" in zh["得分"][4]
    assert "符合要求" in zh["等级"][4] and "提升培训" in zh["标记"][4]
    assert zh["薪资等级变动"][3] == "1" and zh["调整后薪资等级"][3] == "6"
    en = rows(explain("--preset", "rnd-annual", "-i", str(src), "-e", "E1", "--period", "2026",
                      "--lang", "en"))
    assert en["Performance"][1:4] == ["81.00", "70%", "56.70"]
    assert en["Score"][3] == "84.20" and "meets requirements" in en["Grade"][4]
    assert en["New salary step"][3] == "6"


def test_foreign_trade_quarter_with_item_table(tmp_path: Path) -> None:
    from tests.test_aggregate_outputs import FT_HEADER, FT_ROWS

    src = write(tmp_path, "ft.csv", FT_HEADER, FT_ROWS)
    deals = tmp_path / "deals.csv"
    deals.write_text("employee,period,deal,amount,days_late,deal_commission\n"
                     "F1,2026-10,D1,100000,16,920\n", encoding="utf-8")
    lines = rows(explain("--preset", "foreign-trade", "-i", str(src), "--table",
                         f"late_payments={deals}", "-e", "F2", "--period", "2026-Q4"))
    # (95 + 75)/2 = 85.00: November is excluded (违规); first of three; ≥ 80 → 2000
    assert "2026-10、2026-12（共 2 个月）" in lines["计入月份"][4]
    assert "不计入（不参评）：2026-11" in lines["计入月份"][4]
    assert "(2026-10 95.00 + 2026-12 75.00) ÷ 2 = 85.00" in lines["各月总分平均"][4]
    assert lines["名次"][3] == "1" and lines["quarter_award"][3] == "2000.00"
    assert "名次 1，得分 85.00 → 2000.00" in lines["quarter_award"][4]
    year = rows(explain("--preset", "foreign-trade", "-i", str(src), "-e", "F1", "--period",
                        "2026", "--lang", "en"))
    # rank 2 → 2000; the reserve held: −(−828.00) = 828
    assert year["annual_award"][3] == "2000.00" and year["Rank"][3] == "2"
    assert year["Risk reserve held in the year"][3] == "828"


def test_year_form_as_xlsx(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from tests.test_aggregate_outputs import RND_HEADER, rnd_rows

    src = write(tmp_path, "rnd.csv", RND_HEADER, rnd_rows())
    out = tmp_path / "E1-2026.xlsx"
    res = RUNNER.invoke(app, ["explain", "--preset", "rnd-annual", "-i", str(src), "-e", "E1",
                              "--period", "2026", "-o", str(out)])
    assert res.exit_code == 0, res.stderr
    assert res.stdout == "" and str(out) in res.stderr
    wb = load_workbook(out)
    assert wb.sheetnames == ["年度绩效考核表"]
    cells = [list(r) for r in wb["年度绩效考核表"].iter_rows(values_only=True)]
    assert "E1" in cells[1][0] and "2026" in cells[1][0] and "R" in cells[1][0]
    assert cells[2] == ["指标类型", "平均得分", "所占权重", "折合分数", "理由"]
    lines = {r[0]: r[1:4] for r in cells[3:]}
    # numbers as numbers: 81 × 70% = 56.70, 90 × 15% = 13.50, 80 × 15% = 12.00, bonus 2
    assert lines["工作业绩"] == [81, 0.7, 56.7]
    assert lines["工作态度平均分"] == [90, 0.15, 13.5]
    assert lines["工作能力平均分"] == [80, 0.15, 12]
    assert lines["得分"][2] == 84.2 and lines["等级"][2] == "符合要求"
    assert lines["薪资等级变动"][2] == 1 and lines["调整后薪资等级"][2] == 6

    en = tmp_path / "en.xlsx"
    res = RUNNER.invoke(app, ["explain", "--preset", "rnd-annual", "-i", str(src), "-e", "E1",
                              "--period", "2026", "-o", str(en), "--lang", "en"])
    assert res.exit_code == 0, res.stderr
    sheet = load_workbook(en)["Annual appraisal form"]
    rows_en = {r[0]: r[1:4] for r in sheet.iter_rows(min_row=4, values_only=True)}
    assert rows_en["Grade"][2] == "meets requirements" and rows_en["Score"][2] == 84.2


def test_month_form_as_xlsx(ec_input: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "A1-2026-10.xlsx"
    res = RUNNER.invoke(app, ["explain", "--preset", "ecommerce-commission", "-i", str(ec_input),
                              "-e", "A1", "--period", "2026-10", "-o", str(out)])
    assert res.exit_code == 0, res.stderr
    assert load_workbook(out).sheetnames == ["考核表"]


def test_any_and_one_argument_max_in_words(tmp_path: Path) -> None:
    scheme = tmp_path / "annual3.yaml"
    scheme.write_text(ANNUAL.replace(
        "      - {flag: 提升培训, label_en: advanced training, when: score >= 80}\n",
        "      - {flag: 提升培训, label_en: advanced training, when: score >= 80}\n"
        "      - {flag: 曾低分, label_en: had a low month, when: \"any(perf_mark < 65)\"}\n"
        "    awards:\n"
        "      - {id: top, amount: \"if(max(perf_mark) >= 90, 100, 0)\"}\n"), encoding="utf-8")
    src = tmp_path / "annual.csv"
    src.write_text(ANNUAL_ROWS, encoding="utf-8")
    r2 = rows(explain("--scheme", str(scheme), "-i", str(src), "-e", "R2", "--period", "2026"))
    # R2's only month: 60 < 65 → 曾低分; highest 60 < 90 → no award
    assert "曾低分" in r2["标记"][4] and "是" in r2["标记"][4]
    assert r2["top"][3] == "0.00" and "各月业绩分最高值 60.00 → 0.00" in r2["top"][4]
    r1 = rows(explain("--scheme", str(scheme), "-i", str(src), "-e", "R1", "--period", "2026",
                      "--lang", "en"))
    # R1's counted months 90 and 85 (March excluded): highest 90 → 100; no month below 65
    assert r1["top"][3] == "100.00"
    assert "had a low month" not in r1.get("Flags", ["", "", "", "", ""])[4]
