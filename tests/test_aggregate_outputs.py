"""Quarter and year results (aggregates) in `kaohe score`'s table, CSV and xlsx, with the
sections' subtotals and the computed values, through the real command (Typer's runner).

Every expected number is worked out by hand from the rulebook (§4.4, §4.5, §4.8).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from kaohe.cli import app

RUNNER = CliRunner()


def run(*args: str) -> Any:
    res = RUNNER.invoke(app, list(args))
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    assert res.exit_code == 0, res.stderr
    return res


def write(folder: Path, name: str, header: list[str], rows: list[dict[str, str]]) -> Path:
    path = folder / name
    lines = [",".join(header)] + [",".join(r[c] for c in header) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sheet(path: Path, title: str) -> list[dict[str, Any]]:
    wb = load_workbook(path, read_only=True)
    rows = [list(r) for r in wb[title].iter_rows(values_only=True)]
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


# -- 4.4 ecommerce-commission: quarters ---------------------------------------------------------
EC_HEADER = ["employee", "name", "period", "team", "response_s", "received", "replied",
             "very_satisfied", "satisfied", "surveys", "inquiries", "buyers", "sales"]
# response 25 s → 15; 500/500 = 100% → 15; (150 + 42)/200 = 96% → 20: total 2 × 50 = 100.00
EC_DEFAULT = {"response_s": "25", "received": "500", "replied": "500", "very_satisfied": "150",
              "satisfied": "42", "surveys": "200", "inquiries": "300", "buyers": "180",
              "sales": "200000"}


def ec(employee: str, period: str, team: str = "T1", **over: str) -> dict[str, str]:
    return {"employee": employee, "name": f"员工{employee}", "period": period, "team": team,
            **EC_DEFAULT, **over}


EC_ROWS = [
    ec("A1", "2026-10"),  # 100.00
    # 35 s → 12; 495/500 = 99% → 12; 96% → 20: 2 × 44 = 88.00
    ec("A1", "2026-11", response_s="35", replied="495"),
    # 45 s → 8; 100% → 15; (150 + 30)/200 = 90% → 12: 2 × 35 = 70.00
    ec("A1", "2026-12", response_s="45", satisfied="30"),
    ec("B2", "2026-10"), ec("B2", "2026-11"),  # 100.00 + 100.00
    ec("C3", "2026-12", response_s="55"),  # 55 s → 4: 2 × (4 + 15 + 20) = 78.00
    ec("D4", "2026-10", team="T2"),  # alone in T2: 100.00
]
# quarter sums: A1 100 + 88 + 70 = 258; B2 200; C3 78; D4 100
# T1 by sum: A1 1st (800), B2 2nd (600), C3 3rd (300); T2: D4 1st (800)
EC_EXPECTED = {
    "A1": ("T1", "258.00", "1", "3", "800.00"),
    "B2": ("T1", "200.00", "2", "2", "600.00"),
    "C3": ("T1", "78.00", "3", "1", "300.00"),
    "D4": ("T2", "100.00", "1", "1", "800.00"),
}


@pytest.fixture
def ec_input(tmp_path: Path) -> Path:
    return write(tmp_path, "q4.csv", EC_HEADER, EC_ROWS)


def _check_ec_aggregates(rows: list[dict[str, str]]) -> None:
    got = {r["employee"]: r for r in rows}
    assert set(got) == set(EC_EXPECTED)
    for emp, (team, score, rank, months, award) in EC_EXPECTED.items():
        r = got[emp]
        assert (r["kind"], r["period"], r["team"]) == ("quarter", "2026-Q4", team)
        assert (r["score"], r["rank"], r["months"]) == (score, rank, months)
        assert r["award:quarterly_award"] == award
        assert r["grade"] == "" and r["flags"] == ""  # 4.4 quarters have no grade


def test_csv_with_output_writes_the_aggregates_beside_it(tmp_path: Path, ec_input: Path) -> None:
    out = tmp_path / "res.csv"
    res = run("score", "--preset", "ecommerce-commission", "-i", str(ec_input), "-f", "csv",
              "-o", str(out))
    sibling = tmp_path / "res-aggregates.csv"
    assert str(sibling) in res.stderr
    results = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(results) == len(EC_ROWS) and "kind" not in results[0]
    # the computed value (the commission rate, 180/300 = 60% → 6‰) is a column of its own
    assert {r["value:commission_rate"] for r in results} == {"0.006"}
    aggregates = list(csv.DictReader(sibling.open(encoding="utf-8")))
    assert list(aggregates[0])[:8] == ["kind", "period", "employee", "team", "score", "grade",
                                       "rank", "months"]
    _check_ec_aggregates(aggregates)


def test_csv_on_stdout_has_the_aggregates_after_a_blank_line(ec_input: Path) -> None:
    res = run("score", "--preset", "ecommerce-commission", "-i", str(ec_input), "-f", "csv")
    results_text, aggregates_text = res.stdout.split("\n\n")
    results = list(csv.DictReader(io.StringIO(results_text)))
    assert [(r["period"], r["employee"]) for r in results][:3] == [
        ("2026-10", "A1"), ("2026-10", "B2"), ("2026-10", "D4")]
    _check_ec_aggregates(list(csv.DictReader(io.StringIO(aggregates_text))))


def test_xlsx_has_a_quarter_sheet(tmp_path: Path, ec_input: Path) -> None:
    out = tmp_path / "res.xlsx"
    run("score", "--preset", "ecommerce-commission", "-i", str(ec_input), "-f", "xlsx",
        "-o", str(out))
    assert load_workbook(out, read_only=True).sheetnames == ["results", "季度汇总"]
    rows = {r["employee"]: r for r in sheet(out, "季度汇总")}
    for emp, (team, score, rank, months, award) in EC_EXPECTED.items():
        r = rows[emp]
        assert (r["period"], r["team"]) == ("2026-Q4", team)
        # numbers as numbers
        assert r["score"] == float(score) and r["rank"] == int(rank)
        assert r["months"] == int(months) and r["award:quarterly_award"] == float(award)
    results = sheet(out, "results")
    assert {r["value:commission_rate"] for r in results} == {0.006}


def test_table_has_a_quarter_block(tmp_path: Path, ec_input: Path) -> None:
    out = tmp_path / "res.txt"
    run("score", "--preset", "ecommerce-commission", "-i", str(ec_input), "-o", str(out))
    text = out.read_text(encoding="utf-8")
    results, _, block = text.partition("季度汇总")
    assert block, "no quarter block"
    assert "2026-10" in results and "2026-Q4" not in results
    lines = [ln for ln in block.splitlines() if "2026-Q4" in ln]
    assert len(lines) == 4
    a1 = next(ln for ln in lines if " A1 " in ln)
    for cell in ("员工A1", "258.00", "800.00", " 3 ", " 1 "):
        assert cell in a1
    # by period, team and rank: A1, B2, C3 in T1, then D4 in T2
    assert [next(e for e in EC_EXPECTED if f" {e} " in ln) for ln in lines] == [
        "A1", "B2", "C3", "D4"]


# -- 4.5 sales-rep: years, and the section 日常工作考核 ---------------------------------------------
SR_INPUTS = ["dealer_lapses", "weekly_report_points", "market_feedback", "quality_feedback",
             "ad_plan_lapses", "promo_plan_lapses", "promo_review_lapses",
             "vehicle_violations", "absent_days", "salary_total", "plan_completion",
             "over_plan_bonus"]
SR_HEADER = ["employee", "period", "team", *SR_INPUTS]
# dealer 30 − 5 = 25; weekly 36; market 如实 5; quality 不符 0; ad 5 − 2 = 3; promo 5;
# review 5 − 4 = 1; vehicle 5: daily 80. Attendance: 1.5 days → 2 → 100 − 8 = 92.
# total = 80 × 70% + 92 × 30% = 56.00 + 27.60 = 83.60
SR_DEFAULT = {"dealer_lapses": "1", "weekly_report_points": "36", "market_feedback": "如实",
              "quality_feedback": "不符", "ad_plan_lapses": "1", "promo_plan_lapses": "0",
              "promo_review_lapses": "2", "vehicle_violations": "0", "absent_days": "1.5",
              "salary_total": "6000", "plan_completion": "90%", "over_plan_bonus": "0"}
ZERO_DAILY = {"dealer_lapses": "6", "weekly_report_points": "0", "market_feedback": "不符",
              "quality_feedback": "不符", "ad_plan_lapses": "3", "promo_plan_lapses": "3",
              "promo_review_lapses": "3", "vehicle_violations": "1", "absent_days": "0"}


def sr(employee: str, period: str, **over: str) -> dict[str, str]:
    return {"employee": employee, "period": period, "team": "T1", **SR_DEFAULT, **over}


SR_ROWS = [
    sr("S1", "2026-01"),  # 83.60, daily 80
    sr("S1", "2026-02", absent_days="0"),  # attendance 100: 56.00 + 30.00 = 86.00
    sr("S1", "2026-03", weekly_report_points="40"),  # daily 84: 58.80 + 27.60 = 86.40
    sr("S2", "2026-01", absent_days="0"),  # 86.00
    sr("S3", "2026-01", **ZERO_DAILY),  # every daily item 0: daily 0.00, total 0 + 30 = 30.00
]
# annual mean: S1 (83.60 + 86.00 + 86.40)/3 = 256/3 = 85.333… → 85.33; S2 86.00; S3 30.00
# (4.5 does not rank its years: rank blank)


@pytest.fixture
def sr_input(tmp_path: Path) -> Path:
    return write(tmp_path, "year.csv", SR_HEADER, SR_ROWS)


def test_sales_rep_year_and_sections_in_csv(tmp_path: Path, sr_input: Path) -> None:
    out = tmp_path / "year.csv.out"
    run("score", "--preset", "sales-rep", "-i", str(sr_input), "-f", "csv", "-o", str(out))
    results = {(r["period"], r["employee"]): r
               for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert results[("2026-01", "S1")]["section:daily"] == "80.00"
    assert results[("2026-03", "S1")]["section:daily"] == "84.00"
    assert results[("2026-01", "S3")]["section:daily"] == "0.00"  # zeros included
    assert results[("2026-01", "S3")]["total"] == "30.00"
    aggregates = {r["employee"]: r for r in csv.DictReader(
        (tmp_path / "year.csv-aggregates.out").open(encoding="utf-8"))}
    assert {e: (r["kind"], r["period"], r["score"], r["rank"], r["months"])
            for e, r in aggregates.items()} == {
        "S1": ("year", "2026", "85.33", "", "3"), "S2": ("year", "2026", "86.00", "", "1"),
        "S3": ("year", "2026", "30.00", "", "1")}
    assert not any(c.startswith("award:") for c in aggregates["S1"])


def test_sales_rep_year_in_xlsx_and_table(tmp_path: Path, sr_input: Path) -> None:
    out = tmp_path / "year.xlsx"
    run("score", "--preset", "sales-rep", "-i", str(sr_input), "-f", "xlsx", "-o", str(out))
    assert load_workbook(out, read_only=True).sheetnames == ["results", "年度汇总"]
    year = {r["employee"]: r for r in sheet(out, "年度汇总")}
    assert (year["S1"]["score"], year["S1"]["rank"], year["S1"]["months"]) == (85.33, None, 3)
    assert year["S3"]["score"] == 30 and year["S3"]["grade"] is None
    results = {(r["period"], r["employee"]): r for r in sheet(out, "results")}
    assert results[("2026-01", "S3")]["section:daily"] == 0  # a number, not a blank
    assert results[("2026-03", "S1")]["section:daily"] == 84

    text_out = tmp_path / "year.txt"
    run("score", "--preset", "sales-rep", "-i", str(sr_input), "-o", str(text_out))
    text = text_out.read_text(encoding="utf-8")
    assert "日常工作考核小计" in text
    results_part, _, block = text.partition("年度汇总")
    s3 = next(ln for ln in results_part.splitlines() if " S3 " in ln)
    assert "0.00" in s3 and "30.00" in s3
    s1 = next(ln for ln in block.splitlines() if " S1 " in ln)
    assert "85.33" in s1 and "2026" in s1


# -- 4.8 operator-monthly: a year with a grade, an award and a flag -------------------------------
def test_operator_year_grade_award_and_flag(tmp_path: Path) -> None:
    rows = [{"employee": "O1", "period": f"2026-{m:02d}", "team": "T1", "grade": g,
             "base_salary": "3000"} for m, g in enumerate("AAAAAAAAAAAB", start=1)]
    rows += [{"employee": "O2", "period": f"2026-{m:02d}", "team": "T1", "grade": g,
              "base_salary": "3000"} for m, g in enumerate("DDDDDDCC", start=1)]
    src = write(tmp_path, "op.csv", ["employee", "period", "team", "grade", "base_salary"], rows)
    out = tmp_path / "op.xlsx"
    run("score", "--preset", "operator-monthly", "-i", str(src), "-f", "xlsx", "-o", str(out))
    year = {r["employee"]: r for r in sheet(out, "年度汇总")}
    # O1: 11 × 0.5 + 0 = 5.5 ≥ 5 → A; all A or B with 11 A ≥ 10 → raise 2%
    # 4.8 does not rank its years
    assert (year["O1"]["score"], year["O1"]["grade"], year["O1"]["rank"]) == (5.5, "A", None)
    assert year["O1"]["months"] == 12 and year["O1"]["award:raise"] == 0.02
    assert year["O1"]["flags"] is None
    # O2: 6 × −0.5 + 2 × −0.3 = −3.6 < 0 → D; 6 D → 辞退; no raise (0, shown)
    assert (year["O2"]["score"], year["O2"]["grade"], year["O2"]["rank"]) == (-3.6, "D", None)
    assert year["O2"]["award:raise"] == 0 and year["O2"]["flags"] == "辞退"

    res = run("score", "--preset", "operator-monthly", "-i", str(src), "-f", "csv")
    aggregates = {r["employee"]: r for r in csv.DictReader(
        io.StringIO(res.stdout.split("\n\n")[1]))}
    assert (aggregates["O2"]["score"], aggregates["O2"]["flags"]) == ("-3.60", "辞退")
    assert aggregates["O1"]["award:raise"] == "0.02"


def test_a_scheme_without_aggregates_is_unchanged(tmp_path: Path) -> None:
    from tests.test_cli_score import HEADER, ROW

    src = tmp_path / "m.csv"
    src.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    res = run("score", "--preset", "taobao-presales", "-i", str(src), "-f", "csv")
    assert "\n\n" not in res.stdout and "kind" not in res.stdout
    run("score", "--preset", "taobao-presales", "-i", str(src), "-f", "csv", "-o",
        str(tmp_path / "r.csv"))
    assert not (tmp_path / "r-aggregates.csv").exists()
    run("score", "--preset", "taobao-presales", "-i", str(src), "-f", "xlsx", "-o",
        str(tmp_path / "r.xlsx"))
    assert load_workbook(tmp_path / "r.xlsx", read_only=True).sheetnames == ["results"]
    text = run("score", "--preset", "taobao-presales", "-i", str(src)).stdout
    assert "季度汇总" not in text and "年度汇总" not in text


# -- 4.12 foreign-trade: quarters and years, ranks, awards and a value ----------------------------
FT_HEADER = ["employee", "team", "period", "position", "job_grade", "score@self",
             "score@supervisor", "score@manager", "attendance_days", "collected", "costs",
             "violation"]


def ft(employee: str, period: str, mark: str, **over: str) -> dict[str, str]:
    return {"employee": employee, "team": "T", "period": period, "position": "业务员",
            "job_grade": "Ⅱ级", "score@self": mark, "score@supervisor": mark,
            "score@manager": mark, "attendance_days": "21", "collected": "0", "costs": "0",
            "violation": "0", **over}


FT_ROWS = [
    # 84.50 → 良, commission coefficient 1.0: (500000 − 200000) × 0.92% × 1.0 = 2760.00,
    # reserve −30% × 2760.00 = −828.00
    ft("F1", "2026-10", "84.5", collected="500000", costs="200000"),
    ft("F1", "2026-11", "90"), ft("F1", "2026-12", "80"),
    ft("F2", "2026-10", "95"), ft("F2", "2026-11", "95", violation="1"),  # excluded month
    ft("F2", "2026-12", "75"),
    ft("F3", "2026-10", "60"),
]
# quarter = year (all in Q4 2026): F1 (84.5 + 90 + 80)/3 = 84.8333… → 84.83, 3 months;
# F2 (95 + 75)/2 = 85.00, 2 months (November excluded); F3 60.00, 1 month.
# ranks: F2 1, F1 2, F3 3. Quarter award: rank 1 & ≥ 80 → 2000; rank 2 & ≥ 70 → 1500;
# rank 3 & ≥ 60 → 800. Year award: 3000 / 2000 / 1000. reserve_held: F1 828, others 0.
FT_QUARTER = {"F1": (84.83, 2, 3, 1500), "F2": (85.0, 1, 2, 2000), "F3": (60.0, 3, 1, 800)}
FT_YEAR = {"F1": (84.83, 2, 3, 2000, 828), "F2": (85.0, 1, 2, 3000, 0),
           "F3": (60.0, 3, 1, 1000, 0)}


def test_foreign_trade_quarter_and_year_sheets(tmp_path: Path) -> None:
    src = write(tmp_path, "ft.csv", FT_HEADER, FT_ROWS)
    out = tmp_path / "ft.xlsx"
    run("score", "--preset", "foreign-trade", "-i", str(src), "-f", "xlsx", "-o", str(out))
    assert load_workbook(out, read_only=True).sheetnames == ["results", "季度汇总", "年度汇总"]
    quarter = {r["employee"]: r for r in sheet(out, "季度汇总")}
    for emp, (score, rank, months, award) in FT_QUARTER.items():
        r = quarter[emp]
        assert (r["period"], r["score"], r["rank"], r["months"]) == ("2026-Q4", score, rank,
                                                                      months)
        assert r["award:quarter_award"] == award
        assert not any(k.startswith("value:") for k in r)  # quarters have no values
    year = {r["employee"]: r for r in sheet(out, "年度汇总")}
    for emp, (score, rank, months, award, held) in FT_YEAR.items():
        r = year[emp]
        assert (r["period"], r["score"], r["rank"], r["months"]) == ("2026", score, rank,
                                                                      months)
        assert r["award:annual_award"] == award
        assert r["value:reserve_held"] == held  # zeros included

    res = run("score", "--preset", "foreign-trade", "-i", str(src), "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(res.stdout.split("\n\n")[1])))
    assert list(rows[0]) == ["kind", "period", "employee", "team", "score", "grade", "rank",
                             "months", "award:quarter_award", "award:annual_award",
                             "value:reserve_held", "flags"]
    by = {(r["kind"], r["employee"]): r for r in rows}
    assert by[("quarter", "F1")]["award:annual_award"] == ""  # not an award of quarters
    assert by[("year", "F2")]["value:reserve_held"] == "0"
    assert by[("year", "F1")]["value:reserve_held"] == "828"
    assert by[("quarter", "F3")]["award:quarter_award"] == "800.00"


# -- 4.11 rnd-annual: a year row with values ------------------------------------------------------
RND_MONTHLY = ["responsibility", "initiative", "teamwork", "learning_attitude", "analysis",
               "judgement", "planning", "innovation", "learning", "adaptability",
               "understanding"]
RND_ANNUAL = ["role", "kpi1", "kpi2", "kpi3", "kpi4", "kpi5", "bonus_points", "salary_step",
              "step_min", "step_max"]
RND_HEADER = ["employee", "team", "period", *RND_MONTHLY, *RND_ANNUAL]
# attitude 30 + 20 + 20 + 20 = 90; ability (20 + 20 + 16 + 12 + 12 + 6 + 2) × 100/110 = 80.00
RND_LEVELS = ["优", "良", "良", "优", "优", "优", "良", "良", "良", "中", "差"]


def rnd_rows() -> list[dict[str, str]]:
    """Rulebook 4.11's worked example: 12 months at 90 / 80, KPI 90, 80, 100, 60, 50."""
    rows = [dict.fromkeys(RND_HEADER, "") | {"employee": "E1", "team": "R",
                                           "period": f"2026-{m:02d}"}
            | dict(zip(RND_MONTHLY, RND_LEVELS, strict=True)) for m in range(1, 13)]
    rows.append(dict.fromkeys(RND_HEADER, "") | {
        "employee": "E1", "team": "R", "period": "2026", "role": "研发人员", "kpi1": "90",
        "kpi2": "80", "kpi3": "100", "kpi4": "60", "kpi5": "50", "bonus_points": "2",
        "salary_step": "5", "step_min": "1", "step_max": "8"})
    return rows


def test_rnd_annual_year_with_values_and_sections(tmp_path: Path) -> None:
    src = write(tmp_path, "rnd.csv", RND_HEADER, rnd_rows())
    out = tmp_path / "rnd.xlsx"
    run("score", "--preset", "rnd-annual", "-i", str(src), "-f", "xlsx", "-o", str(out))
    [year] = sheet(out, "年度汇总")
    # 27 + 20 + 20 + 9 + 5 = 81 → 56.70; 90 × 15% = 13.50; 80 × 15% = 12.00; + 2 = 84.20
    assert (year["period"], year["score"], year["grade"]) == ("2026", 84.2, "符合要求")
    assert year["rank"] is None and year["months"] == 12  # 4.11 does not rank
    # 80 < 84.20 ≤ 95 → +1: step 5 → 6 (within 1–8)
    assert (year["value:step_change"], year["value:new_step"]) == (1, 6)
    assert year["flags"] == "提升培训"
    results = sheet(out, "results")
    assert len(results) == 12  # the year row is not a result
    assert {(r["section:attitude"], r["section:ability"]) for r in results} == {(90, 80)}

    text_out = tmp_path / "rnd.txt"
    run("score", "--preset", "rnd-annual", "-i", str(src), "-o", str(text_out))
    block = text_out.read_text(encoding="utf-8").partition("年度汇总")[2]
    e1 = next(ln for ln in block.splitlines() if " E1 " in ln)
    for cell in ("84.20", "符合要求", "提升培训", " 1 ", " 6 ", " 12 "):
        assert cell in e1


# -- 4.10 property-service: 不适用 items, a section all 不适用 shows 0, a quarter flag --------------
PS_ITEMS = ["phone_hours", "phone_staffing", "answer_speed", "greeting", "listening", "closing",
            "move_in", "renovation", "billing", "requests", "complaints"]
Y, B, G, N, NA = "符合", "基本符合", "一般符合", "不符合", "不适用"
# the rulebook's worked example: phone 10 + 8 + 3 + (n/a) + 5 + 0 = 26; reception 15 + (n/a)
# + 8 + 9 + 10 = 42; total 68 × 100 ÷ 85 = 80.00; closing 不符合 → 需整改
PS_WORKED = [Y, B, G, NA, Y, N, Y, NA, B, G, Y]


def test_property_service_sections_and_quarter_flag(tmp_path: Path) -> None:
    rows = [dict(zip(["employee", "team", "period", *PS_ITEMS],
                     ["u1", "A", f"2026-{m}", *PS_WORKED], strict=True)) for m in (10, 11, 12)]
    # every phone item 不适用: the section shows 0; reception 15 + 10 + 10 + 15 + 10 = 60 of 60
    rows.append(dict(zip(["employee", "team", "period", *PS_ITEMS],
                         ["u2", "A", "2026-10", *[NA] * 6, *[Y] * 5], strict=True)))
    src = write(tmp_path, "ps.csv", ["employee", "team", "period", *PS_ITEMS], rows)
    out = tmp_path / "ps.xlsx"
    run("score", "--preset", "property-service", "-i", str(src), "-f", "xlsx", "-o", str(out))
    results = {(r["period"], r["employee"]): r for r in sheet(out, "results")}
    u1, u2 = results[("2026-10", "u1")], results[("2026-10", "u2")]
    assert (u1["section:phone"], u1["section:reception"], u1["total"]) == (26, 42, 80)
    assert u1["indicator:greeting"] is None  # 不适用: no points
    assert (u2["section:phone"], u2["section:reception"], u2["total"]) == (0, 60, 100)
    quarter = {r["employee"]: r for r in sheet(out, "季度汇总")}
    # (80 + 80 + 80) / 3 = 80.00 with 需整改 in all three months → 连续整改
    assert (quarter["u1"]["score"], quarter["u1"]["months"], quarter["u1"]["flags"]) == (
        80, 3, "连续整改")
    assert (quarter["u2"]["score"], quarter["u2"]["months"], quarter["u2"]["flags"]) == (
        100, 1, None)


# -- every format says the same: the aggregates CSV and xlsx against the JSON document ------------
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["A1", "B2", "C3", "D4"]),
                          st.sampled_from(["2026-01", "2026-02", "2026-04", "2026-12"]),
                          st.sampled_from(["T1", "T2"]), st.integers(10, 70),
                          st.integers(440, 500), st.integers(0, 300_000)),
                min_size=1, max_size=12, unique_by=lambda t: (t[0], t[1])))
def test_aggregates_agree_across_formats(tmp_path: Path,
                                         data: list[tuple[str, str, str, int, int, int]]) -> None:
    import json
    from decimal import Decimal

    rows = [ec(e, p, team=t, response_s=str(r), replied=str(rep), sales=str(s))
            for e, p, t, r, rep, s in data]
    folder = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    src = write(folder, "in.csv", EC_HEADER, rows)
    doc = json.loads(run("score", "--preset", "ecommerce-commission", "-i", str(src), "-f",
                         "json").stdout)
    run("score", "--preset", "ecommerce-commission", "-i", str(src), "-f", "csv", "-o",
        str(folder / "r.csv"))
    run("score", "--preset", "ecommerce-commission", "-i", str(src), "-f", "xlsx", "-o",
        str(folder / "r.xlsx"))
    from_csv = {(r["period"], r["employee"]): r
                for r in csv.DictReader((folder / "r-aggregates.csv").open(encoding="utf-8"))}
    from_xlsx = {(r["period"], r["employee"]): r for r in sheet(folder / "r.xlsx", "季度汇总")}
    assert set(from_csv) == set(from_xlsx) == {(a["period"], a["employee"])
                                               for a in doc["aggregates"]}
    for a in doc["aggregates"]:
        c, x = from_csv[(a["period"], a["employee"])], from_xlsx[(a["period"], a["employee"])]
        award = Decimal(str(a["awards"].get("quarterly_award", 0)))
        assert Decimal(c["score"]) == Decimal(str(a["score"])) == Decimal(str(x["score"]))
        assert int(c["rank"]) == a["rank"] == x["rank"]
        assert int(c["months"]) == a["months"] == x["months"]
        assert Decimal(c["award:quarterly_award"]) == award == Decimal(
            str(x["award:quarterly_award"]))
        assert c["team"] == a["team"] == x["team"]


def test_csv_pair_is_written_whole_or_not_at_all(tmp_path: Path, ec_input: Path) -> None:
    (tmp_path / "r-aggregates.csv").mkdir()  # the aggregates' place cannot be written
    res = RUNNER.invoke(app, ["score", "--preset", "ecommerce-commission", "-i", str(ec_input),
                              "-f", "csv", "-o", str(tmp_path / "r.csv")])
    assert res.exit_code == 2 and "cannot write" in res.stderr
    assert not (tmp_path / "r.csv").exists()
    assert not list(tmp_path.glob("*.part"))
