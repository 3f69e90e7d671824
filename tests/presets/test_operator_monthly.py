"""Golden tests for preset `operator-monthly` (rulebook 4.8), every expected value computed by hand.

Input: the monthly grade A/B/C/D (`grade`) and `base_salary`.  `total`, `rank` and `coefficient`
are null; `grade` is the input grade; `indicators` is empty.
monthly_pay = base_salary x (1 + adj), adj: A +3%, B 0, C -5%, D -12%, rounded half-up to the fen.
Annual aggregate (calendar year, months present): score = sum of grade points
  A 0.5, B 0, C -0.3, D -0.5; grade: >=5 A, [3,5) B, [0,3) C, <0 D.
  raise award: 12 A -> 0.05; otherwise all months A or B with at least 10 A -> 0.02;
  6 or more D -> aggregate flag `辞退`.

The tests run the real `kaohe score` command in-process (Typer's CliRunner) to keep the folder
fast; test_sales_rep.py also runs it as a subprocess through the shared `score` fixture.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from .inprocess import D, aggs, by_key, run_preset

PRESET = "operator-monthly"
COLUMNS = ["employee", "period", "team", "grade", "base_salary"]
def row(employee: str, period: str, grade: str, base_salary: str = "3000", team: str = "T1") -> dict[str, str]:
    return {"employee": employee, "period": period, "team": team, "grade": grade, "base_salary": base_salary}


def year_rows(employee: str, grades: str, year: int = 2026, team: str = "T1",
              skip: tuple[int, ...] = ()) -> list[dict[str, str]]:
    """One row per month from January, grades given as a string such as "AAAB"; months in
    `skip` get no row (the grades continue with the next month)."""
    months = [m for m in range(1, 13) if m not in skip]
    assert len(grades) <= len(months)
    return [row(employee, f"{year}-{m:02d}", g, team=team) for m, g in zip(months, grades, strict=False)]


def to_csv(rows: list[dict[str, str]]) -> str:
    return "\n".join([",".join(COLUMNS)] + [",".join(r[c] for c in COLUMNS) for r in rows]) + "\n"


def raise_of(agg: dict[str, Any]) -> Decimal:
    return D(agg["awards"].get("raise", 0))


def run_cli(folder: Path, csv_text: str) -> tuple[int, str, str]:
    return run_preset(folder, PRESET, csv_text)


# ---------------------------------------------------------------- one month per grade, end to end


def test_monthly_pay_per_grade_through_the_cli(cli):
    rows = [row("OA", "2026-10", "A"), row("OB", "2026-10", "B"), row("OC", "2026-10", "C"),
            row("OD", "2026-10", "D")]
    doc = cli(to_csv(rows))
    assert doc["scheme"] == PRESET
    res = by_key(doc)
    # 3000 x 1.03 = 3090; x 1 = 3000; x 0.95 = 2850; x 0.88 = 2640
    for emp, grade, pay in [("OA", "A", "3090.00"), ("OB", "B", "3000.00"), ("OC", "C", "2850.00"),
                            ("OD", "D", "2640.00")]:
        r = res[("2026-10", emp)]
        assert r["grade"] == grade, emp
        assert r["total"] is None, emp
        assert r["rank"] is None, emp
        assert r["coefficient"] is None, emp
        assert r["indicators"] == {}, emp
        assert r["flags"] == [], emp
        assert r["excluded"] is False, emp
        assert set(r["pay"]) == {"monthly_pay", "total"}, emp
        assert D(r["pay"]["monthly_pay"]) == Decimal(pay), emp
        assert D(r["pay"]["total"]) == Decimal(pay), emp
    # one month each in 2026: A 0.5 -> C; B 0 -> C; C -0.3 -> D; D -0.5 -> D
    ag = aggs(doc)
    for emp, score_, grade in [("OA", "0.5", "C"), ("OB", "0", "C"), ("OC", "-0.3", "D"), ("OD", "-0.5", "D")]:
        a = ag[("2026", emp)]
        assert D(a["score"]) == Decimal(score_), emp
        assert a["grade"] == grade, emp
        assert a["months"] == 1, emp
        assert a["team"] == "T1", emp
        assert a["flags"] == [], emp
        assert raise_of(a) == 0, emp


def test_monthly_pay_rounded_half_up_to_the_fen(cli):
    rows = [
        row("p1", "2026-10", "A", "1234.50"),   # 1234.50 x 1.03 = 1271.535 -> 1271.54
        row("p2", "2026-10", "C", "2345.70"),   # 2345.70 x 0.95 = 2228.415 -> 2228.42
        row("p3", "2026-10", "D", "4567.89"),   # 4567.89 x 0.88 = 4019.7432 -> 4019.74
        row("p4", "2026-10", "A", "3333.33"),   # 3333.33 x 1.03 = 3433.3299 -> 3433.33
        row("p5", "2026-10", "B", "1234.56"),   # unchanged
        row("p6", "2026-10", "C", "0"),         # 0
    ]
    res = by_key(cli(to_csv(rows)))
    expect = {"p1": "1271.54", "p2": "2228.42", "p3": "4019.74", "p4": "3433.33", "p5": "1234.56", "p6": "0"}
    for emp, pay in expect.items():
        assert D(res[("2026-10", emp)]["pay"]["monthly_pay"]) == Decimal(pay), emp


# ---------------------------------------------------------------- annual grade from the points


def test_annual_grade_cut_offs(cli):
    plan = {
        # employee: (grades Jan.., score, annual grade)
        "a12": ("AAAAAAAAAAAA", "6.0", "A"),        # 12 x 0.5
        "a10b2": ("AAAAAAAAAABB", "5.0", "A"),      # exactly 5 -> A
        "a11c1": ("AAAAAAAAAAAC", "5.2", "A"),      # 5.5 - 0.3
        "a10b1c1": ("AAAAAAAAAABC", "4.7", "B"),    # 5.0 - 0.3 -> just under 5
        "a9b3": ("AAAAAAAAABBB", "4.5", "B"),
        "a6b6": ("AAAAAABBBBBB", "3.0", "B"),       # exactly 3 -> B
        "a6c1b5": ("AAAAAACBBBBB", "2.7", "C"),     # 3.0 - 0.3 -> just under 3
        "b12": ("BBBBBBBBBBBB", "0", "C"),          # exactly 0 -> C
        "a3c5b4": ("AAACCCCCBBBB", "0", "C"),       # 1.5 - 5 x 0.3 = 0 exactly (no float residue)
        "b11c1": ("BBBBBBBBBBBC", "-0.3", "D"),     # just under 0
        "d12": ("DDDDDDDDDDDD", "-6.0", "D"),
    }
    rows = [r for emp, (grades, *_) in plan.items() for r in year_rows(emp, grades)]
    ag = aggs(cli(to_csv(rows)))
    for emp, (_, score_, grade) in plan.items():
        a = ag[("2026", emp)]
        assert D(a["score"]) == Decimal(score_), emp
        assert a["grade"] == grade, emp
        assert a["months"] == 12, emp


# ---------------------------------------------------------------- raises


def test_raise_awards(cli):
    plan = {
        # employee: (rows, expected raise)
        "a12": (year_rows("a12", "AAAAAAAAAAAA"), "0.05"),          # 12 A
        "a11b1": (year_rows("a11b1", "AAAAAAAAAAAB"), "0.02"),      # all A/B, 11 A
        "a10b2": (year_rows("a10b2", "BAAAAAAAAAAB"), "0.02"),      # all A/B, exactly 10 A
        "a9b3": (year_rows("a9b3", "AAAAAAAAABBB"), "0"),           # only 9 A
        "a11c1": (year_rows("a11c1", "AAAAACAAAAAA"), "0"),         # a C month: not all A/B, not 12 A
        "a11d1": (year_rows("a11d1", "AAAAAAAAAAAD"), "0"),         # a D month
        # 11 months present (no June row), all A: not 12 A, but all months present A/B with >= 10 A
        "a11gap": (year_rows("a11gap", "AAAAAAAAAAA", skip=(6,)), "0.02"),
        # 10 months present, all A: still >= 10 A
        "a10gap": (year_rows("a10gap", "AAAAAAAAAA", skip=(1, 2)), "0.02"),
        # 9 months present, all A: fewer than 10 A
        "a9gap": (year_rows("a9gap", "AAAAAAAAA", skip=(1, 2, 3)), "0"),
    }
    ag = aggs(cli(to_csv([r for rows, _ in plan.values() for r in rows])))
    for emp, (rows, raise_) in plan.items():
        a = ag[("2026", emp)]
        assert raise_of(a) == Decimal(raise_), emp
        assert a["months"] == len(rows), emp
    assert D(ag[("2026", "a11gap")]["score"]) == Decimal("5.5")
    assert ag[("2026", "a11gap")]["grade"] == "A"
    assert D(ag[("2026", "a9gap")]["score"]) == Decimal("4.5")
    assert ag[("2026", "a9gap")]["grade"] == "B"


# ---------------------------------------------------------------- dismissal


def test_six_or_more_d_months_flag_dismissal(cli):
    plan = {
        # employee: (rows, score, annual grade, flagged)
        "d6a6": (year_rows("d6a6", "DADADADADADA"), "0", "C", True),       # 3 - 3 = 0
        "d5a7": (year_rows("d5a7", "DADADADADAAA"), "1.0", "C", False),    # 3.5 - 2.5
        "d6only": (year_rows("d6only", "DDDDDD", skip=(1, 3, 5, 7, 9, 11)), "-3.0", "D", True),
        "d7": (year_rows("d7", "DDDDDDDBBBBB"), "-3.5", "D", True),
    }
    doc = cli(to_csv([r for rows, *_ in plan.values() for r in rows]))
    ag = aggs(doc)
    for emp, (rows, score_, grade, flagged) in plan.items():
        a = ag[("2026", emp)]
        assert D(a["score"]) == Decimal(score_), emp
        assert a["grade"] == grade, emp
        assert a["months"] == len(rows), emp
        assert a["flags"] == (["辞退"] if flagged else []), emp
    # 辞退 is an aggregate flag, not a monthly one
    assert all(r["flags"] == [] for r in doc["results"])


# ---------------------------------------------------------------- calendar years


def test_each_calendar_year_has_its_own_aggregate(cli):
    rows = (year_rows("y", "ABCD", year=2025, skip=(1, 2, 3, 4, 5, 6, 7, 8))   # 2025-09..12
            + year_rows("y", "DD", year=2026)                                  # 2026-01..02
            + year_rows("z", "AAAAAAAAAAAA", year=2025))
    doc = cli(to_csv(rows))
    ag = aggs(doc)
    assert set(ag) == {("2025", "y"), ("2026", "y"), ("2025", "z")}
    # y 2025: 0.5 + 0 - 0.3 - 0.5 = -0.3 -> D, 4 months
    assert D(ag[("2025", "y")]["score"]) == Decimal("-0.3")
    assert ag[("2025", "y")]["grade"] == "D"
    assert ag[("2025", "y")]["months"] == 4
    # y 2026: -1.0 -> D, 2 months
    assert D(ag[("2026", "y")]["score"]) == Decimal("-1.0")
    assert ag[("2026", "y")]["months"] == 2
    # z 2025: 12 A
    assert D(ag[("2025", "z")]["score"]) == Decimal("6.0")
    assert ag[("2025", "z")]["grade"] == "A"
    assert raise_of(ag[("2025", "z")]) == Decimal("0.05")
    # the monthly pay of each month stays per grade: 2025-12 is D -> 3000 x 0.88 = 2640
    assert D(by_key(doc)[("2025-12", "y")]["pay"]["monthly_pay"]) == Decimal("2640.00")


def test_unknown_grade_is_bad_input(tmp_path):
    code, out, err = run_cli(tmp_path, to_csv([row("ok", "2026-10", "A"), row("bad", "2026-10", "E")]))
    assert code == 2
    assert out == ""
    assert "row 3" in err and "grade" in err and "E" in err, err


def test_duplicate_employee_period_row_is_bad_input(tmp_path):
    rows = [row("dup", "2026-10", "A"), row("x", "2026-10", "B"), row("dup", "2026-10", "C")]
    code, out, err = run_cli(tmp_path, to_csv(rows))
    assert code == 2
    assert out == ""
    assert "row 4" in err and "dup" in err, err


def test_rows_in_any_order_give_the_same_year(cli):
    grades = "AAAAAAAAAABB"  # 10 A + 2 B: 5.0 -> A, raise 0.02
    rows = year_rows("r", grades)
    shuffled = rows[5:] + rows[:5][::-1]
    ag = aggs(cli(to_csv(shuffled)))
    a = ag[("2026", "r")]
    assert D(a["score"]) == Decimal("5.0")
    assert a["grade"] == "A"
    assert a["months"] == 12
    assert raise_of(a) == Decimal("0.02")
