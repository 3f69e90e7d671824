"""Golden tests for preset `logistics-composite` (rulebook 4.6), every expected value computed by hand.

evaluation = perf x 4 + skill x 2 + quality x 2 + attitude x 2 (marks 0-10; the indicators are
reported weighted, each rounded half-up to 0.01).
I   (出勤) = late_early x 0.5 + absent_days x 4 + personal_leave_days x 0.5 + sick_days x 0.2
II  (处罚) = warnings x 1 + minor_demerits x 3 + major_demerits x 9
III (奖励) = commendations x 1 + minor_merits x 3 + major_merits x 9
total = evaluation - I - II + III (I, II, III are adjustments, each rounded once); no floor, no cap.
Grade: 优秀 >= 90, 良好 [80,90), 称职 [70,80), 基本称职 [60,70), 不称职 < 60.
Two consecutive months graded 基本称职 flag `降薪/调岗审查` on the month completing the pair.
No pay (`pay: {}`), no coefficient.

The tests run the real `kaohe score` command in-process (Typer's CliRunner) to keep the folder
fast; test_sales_rep.py also runs it as a subprocess through the shared `score` fixture.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from .inprocess import D, by_key, run_preset

PRESET = "logistics-composite"
INPUTS = ["perf", "skill", "quality", "attitude", "late_early", "absent_days", "personal_leave_days",
          "sick_days", "warnings", "minor_demerits", "major_demerits", "commendations", "minor_merits",
          "major_merits"]
COLUMNS = ["employee", "period", "team", *INPUTS]
COUNTS = INPUTS[4:]

# base row: 8 x 4 + 8 x 2 + 8 x 2 + 8 x 2 = 32 + 16 + 16 + 16 = 80.00, no adjustments -> 良好
DEFAULT = {"perf": "8", "skill": "8", "quality": "8", "attitude": "8", **dict.fromkeys(COUNTS, "0")}

FLAG = "降薪/调岗审查"
def row(employee: str, period: str = "2026-10", team: str = "T1", **over: str) -> dict[str, str]:
    r = {"employee": employee, "period": period, "team": team, **DEFAULT}
    r.update(over)
    return r


def to_csv(rows: list[dict[str, str]]) -> str:
    return "\n".join([",".join(COLUMNS)] + [",".join(r[c] for c in COLUMNS) for r in rows]) + "\n"


def run_cli(folder: Path, csv_text: str) -> tuple[int, str, str]:
    return run_preset(folder, PRESET, csv_text)


# ---------------------------------------------------------------- hand example, end to end


def test_hand_example_through_the_cli(cli):
    r = row("L001", perf="8.5", skill="7.5", quality="9", attitude="8",
            late_early="3", absent_days="0.5", personal_leave_days="2", sick_days="3",
            warnings="1", minor_demerits="1", commendations="2")
    doc = cli(to_csv([r]))
    assert doc["scheme"] == PRESET
    [res] = doc["results"]
    ind = res["indicators"]
    # I, II, III are adjustments, not indicators
    assert set(ind) == {"perf", "skill", "quality", "attitude"}
    assert D(ind["perf"]) == Decimal("34.00")      # 8.5 x 4
    assert D(ind["skill"]) == Decimal("15.00")     # 7.5 x 2
    assert D(ind["quality"]) == Decimal("18.00")   # 9 x 2
    assert D(ind["attitude"]) == Decimal("16.00")  # 8 x 2
    # evaluation 83
    # I  = 3 x 0.5 + 0.5 x 4 + 2 x 0.5 + 3 x 0.2 = 1.5 + 2 + 1 + 0.6 = 5.1
    # II = 1 x 1 + 1 x 3 = 4;  III = 2 x 1 = 2
    # total = 83 - 5.1 - 4 + 2 = 75.90 -> 称职
    assert D(res["total"]) == Decimal("75.90")
    assert res["grade"] == "称职"
    assert res["coefficient"] is None
    assert res["rank"] == 1
    assert res["pay"] == {}
    assert res["flags"] == []
    assert res["excluded"] is False
    assert doc["aggregates"] == []


# ---------------------------------------------------------------- adjustments


def test_each_count_input_weighs_as_the_rulebook_says(cli):
    per_unit = {  # input: change of the total per unit (from the base 80.00)
        "late_early": "-0.5", "absent_days": "-4", "personal_leave_days": "-0.5", "sick_days": "-0.2",
        "warnings": "-1", "minor_demerits": "-3", "major_demerits": "-9",
        "commendations": "1", "minor_merits": "3", "major_merits": "9",
    }
    rows = [row(f"x_{name}", **{name: "2"}) for name in per_unit]
    res = by_key(cli(to_csv(rows)))
    for name, delta in per_unit.items():
        r = res[("2026-10", f"x_{name}")]
        # two units each: 80 + 2 x delta
        assert D(r["total"]) == Decimal("80") + 2 * Decimal(delta), name
        # adjustments leave the indicators alone
        assert D(r["indicators"]["perf"]) == Decimal("32"), name


def test_part_days_and_adjustment_rounded_once(cli):
    rows = [
        # absent half a day is 0.5 x 4 = 2 (no rounding up of days in 4.6): 78.00
        row("h1", absent_days="0.5"),
        # sick 1 hour (0.125 day) x 0.2 = 0.025 -> I = 0.03 (half-up): 79.97
        row("h2", sick_days="0.125"),
        # I = 0.25 x 0.5 + 0.125 x 0.2 = 0.125 + 0.025 = 0.15 exactly -> 79.85
        # (rounding each term first would give 0.13 + 0.03 = 0.16)
        row("h3", personal_leave_days="0.25", sick_days="0.125"),
        # everything at once: I = 1 x 0.5 + 1 x 4 + 1 x 0.5 + 1 x 0.2 = 5.2; II = 1 + 3 + 9 = 13;
        # III = 1 + 3 + 9 = 13 -> 80 - 5.2 - 13 + 13 = 74.80
        row("h4", **dict.fromkeys(COUNTS, "1")),
    ]
    res = by_key(cli(to_csv(rows)))
    expect = {"h1": ("78.00", "称职"), "h2": ("79.97", "称职"), "h3": ("79.85", "称职"), "h4": ("74.80", "称职")}
    for emp, (total, grade) in expect.items():
        r = res[("2026-10", emp)]
        assert D(r["total"]) == Decimal(total), emp
        assert r["grade"] == grade, emp


def test_no_floor_and_no_cap(cli):
    rows = [
        # 100 + 9 = 109.00 -> 优秀 (above the nominal 100)
        row("over", perf="10", skill="10", quality="10", attitude="10", major_merits="1"),
        # 0 - 3 x 4 - 1 = -13.00 -> 不称职 (below zero)
        row("under", perf="0", skill="0", quality="0", attitude="0", absent_days="3", warnings="1"),
        # 0 evaluation, nothing else: 0.00
        row("zero", perf="0", skill="0", quality="0", attitude="0"),
    ]
    res = by_key(cli(to_csv(rows)))
    assert D(res[("2026-10", "over")]["total"]) == Decimal("109.00")
    assert res[("2026-10", "over")]["grade"] == "优秀"
    assert D(res[("2026-10", "under")]["total"]) == Decimal("-13.00")
    assert res[("2026-10", "under")]["grade"] == "不称职"
    assert D(res[("2026-10", "zero")]["total"]) == Decimal("0")
    assert res[("2026-10", "zero")]["grade"] == "不称职"


# ---------------------------------------------------------------- indicator rounding


def test_weighted_marks_rounded_half_up_per_indicator(cli):
    # perf 8.12625 x 4 = 32.505 -> 32.51;  skill 7.0025 x 2 = 14.005 -> 14.01
    # quality 6.6675 x 2 = 13.335 -> 13.34; attitude 9.9975 x 2 = 19.995 -> 20.00
    # total = 32.51 + 14.01 + 13.34 + 20.00 = 79.86 (the unrounded sum would be 79.84) -> 称职
    r = row("r1", perf="8.12625", skill="7.0025", quality="6.6675", attitude="9.9975")
    # a mark that is an average of three raters, given to 3 decimals: 25/3 ~ 8.333 x 4 = 33.332 -> 33.33
    r2 = row("r2", perf="8.333")  # 33.33 + 48 = 81.33
    res = by_key(cli(to_csv([r, r2])))
    ind = res[("2026-10", "r1")]["indicators"]
    assert D(ind["perf"]) == Decimal("32.51")
    assert D(ind["skill"]) == Decimal("14.01")
    assert D(ind["quality"]) == Decimal("13.34")
    assert D(ind["attitude"]) == Decimal("20.00")
    assert D(res[("2026-10", "r1")]["total"]) == Decimal("79.86")
    assert res[("2026-10", "r1")]["grade"] == "称职"
    assert D(res[("2026-10", "r2")]["indicators"]["perf"]) == Decimal("33.33")
    assert D(res[("2026-10", "r2")]["total"]) == Decimal("81.33")


# ---------------------------------------------------------------- grades


def test_grade_cut_offs(cli):
    # perf 7.9975 x 4 = 31.99 exactly, so it takes 0.01 off the base 80.00
    low = "7.9975"
    rows = [
        row("g90", commendations="10"),                  # 80 + 10 = 90.00 -> 优秀
        # 40 + 20 + 20 + 4.9975 x 2 (= 9.995 -> 10.00) = 90.00 -> 优秀: the grade is read from the
        # sum of the rounded parts (unrounded 89.995 would be 良好)
        row("g90r", perf="10", skill="10", quality="10", attitude="4.9975"),
        row("g8999", perf=low, commendations="10"),      # 79.99 + 10 = 89.99 -> 良好
        row("g80"),                                      # 80.00 -> 良好
        row("g7999", perf=low),                          # 79.99 -> 称职
        row("g70", warnings="10"),                       # 80 - 10 = 70.00 -> 称职
        row("g6999", perf=low, minor_demerits="3", warnings="1"),  # 79.99 - 9 - 1 = 69.99 -> 基本称职
        row("g60", absent_days="5"),                     # 80 - 20 = 60.00 -> 基本称职
        row("g5999", perf=low, absent_days="5"),         # 59.99 -> 不称职
    ]
    res = by_key(cli(to_csv(rows)))
    expect = {"g90": ("90.00", "优秀"), "g90r": ("90.00", "优秀"), "g8999": ("89.99", "良好"), "g80": ("80.00", "良好"),
              "g7999": ("79.99", "称职"), "g70": ("70.00", "称职"), "g6999": ("69.99", "基本称职"),
              "g60": ("60.00", "基本称职"), "g5999": ("59.99", "不称职")}
    for emp, (total, grade) in expect.items():
        r = res[("2026-10", emp)]
        assert D(r["total"]) == Decimal(total), emp
        assert r["grade"] == grade, emp


# ---------------------------------------------------------------- ranking


def test_rank_within_team_and_period_ties_by_employee_id_text(cli):
    rows = [row("a2"), row("a10"), row("a1"),            # all 80.00
            row("a3", commendations="1"),                # 81.00
            row("b1", team="T2", absent_days="4"),       # 64.00, alone in T2
            row("a1", period="2026-11", absent_days="1"),  # 76.00, alone in 2026-11
            row("a2", period="2026-11")]                 # 80.00
    res = by_key(cli(to_csv(rows)))
    # T1 2026-10: a3 81 > a1 = a10 = a2 80 (text order "a1" < "a10" < "a2")
    assert [res[("2026-10", e)]["rank"] for e in ("a3", "a1", "a10", "a2")] == [1, 2, 3, 4]
    assert res[("2026-10", "b1")]["rank"] == 1
    assert res[("2026-11", "a2")]["rank"] == 1
    assert res[("2026-11", "a1")]["rank"] == 2


# ---------------------------------------------------------------- two consecutive 基本称职


def test_two_consecutive_basic_competent_months_flag_review(cli):
    basic = {"absent_days": "4"}                     # 80 - 16 = 64.00 -> 基本称职
    edge60 = {"absent_days": "5"}                    # 60.00 -> 基本称职
    fail = {"perf": "7.9975", "absent_days": "5"}    # 59.99 -> 不称职
    plan = [
        # X (rows deliberately out of order below)
        ("X", "2025-11", basic),   # 1st
        ("X", "2025-12", basic),   # 2nd running -> flag
        ("X", "2026-01", basic),   # 2025-12 and 2026-01 also make two running -> flag
        ("X", "2026-02", {}),      # 良好 breaks the run
        ("X", "2026-03", basic),   # 1st
        # 2026-04: no row -> breaks the run
        ("X", "2026-05", basic),   # 1st again
        ("X", "2026-06", edge60),  # 60.00 is 基本称职 -> flag
        ("X", "2026-07", fail),    # 59.99 is 不称职, not 基本称职 -> no flag
        ("X", "2026-08", basic),   # 1st
        # Y: 基本称职, 不称职, 基本称职 -> never two running
        ("Y", "2026-05", basic), ("Y", "2026-06", fail), ("Y", "2026-07", basic),
    ]
    rows = [row(emp, period=p, **over) for emp, p, over in reversed(plan)]
    res = by_key(cli(to_csv(rows)))
    flagged = {("2025-12", "X"), ("2026-01", "X"), ("2026-06", "X")}
    assert res[("2026-06", "X")]["grade"] == "基本称职"
    assert res[("2026-07", "X")]["grade"] == "不称职"
    for emp, p, _ in plan:
        expected = [FLAG] if (p, emp) in flagged else []
        assert res[(p, emp)]["flags"] == expected, (p, emp)


# ---------------------------------------------------------------- bad input


def test_bad_input_exits_2_naming_row_column_value(tmp_path):
    for over, column, value, row_no in [
        ({"skill": "abc"}, "skill", "abc", "row 3"),        # not a number
        ({"warnings": "-1"}, "warnings", "-1", "row 3"),    # negative count
    ]:
        code, out, err = run_cli(tmp_path, to_csv([row("ok"), row("bad", **over)]))
        assert code == 2, over
        assert out == "", over
        assert row_no in err and column in err and value in err, err
