"""Golden tests for preset `sales-rep` (rulebook 4.5), every expected value computed by hand.

Daily work (日常工作考核, 100 points):
  dealer 30: -5 per dealer_lapses, floor 0
  weekly_report 40: weekly_report_points (0-40, given by the regional manager)
  market_feedback 5 / quality_feedback 5: level 如实 5, 不符 0
  ad_plan 5 / promo_plan 5 / promo_review 5: -2 per lapse, floor 0
  vehicle 5: vehicle_violations > 0 -> 0
Attendance (indicator `attendance`, 0-100, unweighted) = 100 - 4 x ceil(absent_days), floor 0.
total = round(daily x 70%) + round(attendance x 30%) (rulebook 6, 4.5).
Pay lines (rounded half-up to the fen each): base = salary_total x 50%;
  plan = salary_total x 35% x plan_completion; daily_work = salary_total x 15% x daily / 100;
  over_plan_bonus.  No grade.  Annual aggregate: mean of the monthly totals (rounded half-up)
  with the month count.

Most tests run the real `kaohe score` command in-process (Typer's CliRunner) to keep the folder
fast; the first test runs it as a subprocess through the shared `score` fixture.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from typer.testing import CliRunner

from kaohe.cli import app

from .inprocess import D, aggs, by_key, run_preset

PRESET = "sales-rep"
INPUTS = ["dealer_lapses", "weekly_report_points", "market_feedback", "quality_feedback",
          "ad_plan_lapses", "promo_plan_lapses", "promo_review_lapses", "vehicle_violations",
          "absent_days", "salary_total", "plan_completion", "over_plan_bonus"]
COLUMNS = ["employee", "period", "team", *INPUTS]
DAILY_IDS = {"dealer", "weekly_report", "market_feedback", "quality_feedback", "ad_plan",
             "promo_plan", "promo_review", "vehicle"}
PAY_KEYS = {"base", "plan", "daily_work", "over_plan_bonus", "total"}

# The hand example used throughout:
#   dealer 30 - 5 x 1 = 25; weekly_report 36; market 如实 5; quality 不符 0;
#   ad_plan 5 - 2 x 1 = 3; promo_plan 5; promo_review 5 - 2 x 2 = 1; vehicle 5
#   daily = 25 + 36 + 5 + 0 + 3 + 5 + 1 + 5 = 80
#   attendance: 1.5 days -> ceil 2 -> 100 - 8 = 92
#   total = 80 x 70% + 92 x 30% = 56.00 + 27.60 = 83.60
#   pay: 6000 x 50% = 3000; 6000 x 35% x 90% = 1890; 6000 x 15% x 80/100 = 720; bonus 0 -> 5610
DEFAULT = {
    "dealer_lapses": "1", "weekly_report_points": "36", "market_feedback": "如实",
    "quality_feedback": "不符", "ad_plan_lapses": "1", "promo_plan_lapses": "0",
    "promo_review_lapses": "2", "vehicle_violations": "0", "absent_days": "1.5",
    "salary_total": "6000", "plan_completion": "90%", "over_plan_bonus": "0",
}

def q2(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def row(employee: str, period: str = "2026-10", team: str = "T1", **over: str) -> dict[str, str]:
    r = {"employee": employee, "period": period, "team": team, **DEFAULT}
    r.update(over)
    return r


def to_csv(rows: list[dict[str, str]]) -> str:
    return "\n".join([",".join(COLUMNS)] + [",".join(r[c] for c in COLUMNS) for r in rows]) + "\n"


def run_cli(folder: Path, csv_text: str) -> tuple[int, str, str]:
    return run_preset(folder, PRESET, csv_text)


# ---------------------------------------------------------------- the hand example, end to end


def test_hand_example_through_the_cli(score):
    doc = score(PRESET, to_csv([row("S001")]))
    assert doc["scheme"] == PRESET
    [res] = doc["results"]
    assert res["employee"] == "S001"
    assert res["period"] == "2026-10"
    assert res["team"] == "T1"
    ind = res["indicators"]
    assert set(ind) == DAILY_IDS | {"attendance"}
    expect = {"dealer": "25", "weekly_report": "36", "market_feedback": "5", "quality_feedback": "0",
              "ad_plan": "3", "promo_plan": "5", "promo_review": "1", "vehicle": "5",
              "attendance": "92"}
    for k, v in expect.items():
        assert D(ind[k]) == Decimal(v), k
    # 80 x 70% + 92 x 30% = 56 + 27.6
    assert D(res["total"]) == Decimal("83.60")
    assert res["grade"] is None  # "No grade."
    assert res["coefficient"] is None
    assert res["rank"] == 1
    assert res["flags"] == []
    assert res["excluded"] is False
    pay = res["pay"]
    assert set(pay) == PAY_KEYS
    assert D(pay["base"]) == Decimal("3000.00")         # 6000 x 50%
    assert D(pay["plan"]) == Decimal("1890.00")         # 6000 x 35% x 0.9
    assert D(pay["daily_work"]) == Decimal("720.00")    # 6000 x 15% x 80 / 100
    assert D(pay["over_plan_bonus"]) == Decimal("0")
    assert D(pay["total"]) == Decimal("5610.00")
    # annual aggregate over the one month present
    [agg] = doc["aggregates"]
    assert agg["period"] == "2026"
    assert agg["employee"] == "S001"
    assert agg["team"] == "T1"
    assert D(agg["score"]) == Decimal("83.60")
    assert agg["months"] == 1
    assert agg["grade"] is None


# ---------------------------------------------------------------- daily-work items


def test_dealer_deduction_five_per_lapse_floor_zero(cli):
    rows = [row("d0", dealer_lapses="0"),   # 30
            row("d1", dealer_lapses="1"),   # 25
            row("d5", dealer_lapses="5"),   # 30 - 25 = 5
            row("d6", dealer_lapses="6"),   # 30 - 30 = 0
            row("d9", dealer_lapses="9")]   # 30 - 45 -> floor 0
    res = by_key(cli(to_csv(rows)))
    # daily = dealer + 55 (36 + 5 + 0 + 3 + 5 + 1 + 5); total = round(daily x 0.7) + 27.60
    expect = {"d0": ("30", "85", "87.10"),  # 59.50 + 27.60
              "d1": ("25", "80", "83.60"),  # 56.00 + 27.60
              "d5": ("5", "60", "69.60"),   # 42.00 + 27.60
              "d6": ("0", "55", "66.10"),   # 38.50 + 27.60
              "d9": ("0", "55", "66.10")}
    for emp, (dealer, daily, total) in expect.items():
        r = res[("2026-10", emp)]
        assert D(r["indicators"]["dealer"]) == Decimal(dealer), emp
        assert D(r["total"]) == Decimal(total), emp
        # daily_work = 6000 x 15% x daily / 100 = 9 x daily
        assert D(r["pay"]["daily_work"]) == 9 * Decimal(daily), emp


def test_plan_lapses_two_each_and_vehicle_any_violation(cli):
    rows = [
        row("p0", ad_plan_lapses="0", promo_plan_lapses="0", promo_review_lapses="0"),  # 5, 5, 5
        row("p2", ad_plan_lapses="2", promo_plan_lapses="1", promo_review_lapses="3"),  # 1, 3, 0 (5-6 -> 0)
        row("p9", ad_plan_lapses="9", promo_plan_lapses="2", promo_review_lapses="1"),  # 0, 1, 3
        row("v1", vehicle_violations="1"),   # vehicle 0
        row("v4", vehicle_violations="4"),   # vehicle 0 (not negative)
    ]
    res = by_key(cli(to_csv(rows)))
    expect = {  # (ad_plan, promo_plan, promo_review, vehicle, total)
        # daily = 25 + 36 + 5 + 0 + 5 + 5 + 5 + 5 = 86 -> 60.20 + 27.60
        "p0": ("5", "5", "5", "5", "87.80"),
        # daily = 25 + 36 + 5 + 0 + 1 + 3 + 0 + 5 = 75 -> 52.50 + 27.60
        "p2": ("1", "3", "0", "5", "80.10"),
        # daily = 25 + 36 + 5 + 0 + 0 + 1 + 3 + 5 = 75 -> 80.10
        "p9": ("0", "1", "3", "5", "80.10"),
        # daily = 80 - 5 = 75 -> 80.10
        "v1": ("3", "5", "1", "0", "80.10"),
        "v4": ("3", "5", "1", "0", "80.10"),
    }
    for emp, (ad, pp, pr, veh, total) in expect.items():
        ind = res[("2026-10", emp)]["indicators"]
        assert D(ind["ad_plan"]) == Decimal(ad), emp
        assert D(ind["promo_plan"]) == Decimal(pp), emp
        assert D(ind["promo_review"]) == Decimal(pr), emp
        assert D(ind["vehicle"]) == Decimal(veh), emp
        assert D(res[("2026-10", emp)]["total"]) == Decimal(total), emp


def test_feedback_levels(cli):
    rows = [row("f11", market_feedback="如实", quality_feedback="如实"),   # 5 + 5
            row("f10", market_feedback="如实", quality_feedback="不符"),   # 5 + 0
            row("f00", market_feedback="不符", quality_feedback="不符")]   # 0 + 0
    res = by_key(cli(to_csv(rows)))
    # daily = 75 + market + quality (25 + 36 + 3 + 5 + 1 + 5 = 75)
    for emp, (m, qf, total) in {"f11": ("5", "5", "87.10"),   # 85 x 0.7 = 59.50 + 27.60
                                "f10": ("5", "0", "83.60"),   # 80 -> 56.00 + 27.60
                                "f00": ("0", "0", "80.10")}.items():  # 75 -> 52.50 + 27.60
        ind = res[("2026-10", emp)]["indicators"]
        assert D(ind["market_feedback"]) == Decimal(m), emp
        assert D(ind["quality_feedback"]) == Decimal(qf), emp
        assert D(res[("2026-10", emp)]["total"]) == Decimal(total), emp


# ---------------------------------------------------------------- attendance: half a day counts as a day


def test_attendance_rounds_part_days_up_floor_zero(cli):
    cases = {  # absent_days: attendance = 100 - 4 x ceil(days), floor 0
        "0": "100", "0.5": "96", "1": "96", "1.01": "92", "2.5": "88", "24": "4",
        "24.5": "0", "25": "0", "31": "0",
    }
    rows = [row(f"a{i}", absent_days=days) for i, days in enumerate(cases)]
    res = by_key(cli(to_csv(rows)))
    for i, (days, att) in enumerate(cases.items()):
        r = res[("2026-10", f"a{i}")]
        assert D(r["indicators"]["attendance"]) == Decimal(att), days
        # total = 56.00 (daily 80) + attendance x 30%
        assert D(r["total"]) == Decimal("56.00") + Decimal(att) * Decimal("0.3"), days


# ---------------------------------------------------------------- rounding


def test_weekly_report_points_and_monthly_parts_round_half_up(cli):
    rows = [
        # weekly 37.125 -> 37.13 (half-up); daily = 44 + 37.13 = 81.13
        # 81.13 x 70% = 56.791 -> 56.79; + 27.60 = 84.39
        row("w1", weekly_report_points="37.125"),
        # weekly 36.15 -> daily 80.15; 80.15 x 70% = 56.105 -> 56.11 (half-up, not 56.10);
        # absent 0 -> attendance 100 -> 30.00; total 86.11
        row("w2", weekly_report_points="36.15", absent_days="0"),
        # weekly 36.05 -> daily 80.05; x 70% = 56.035 -> 56.04; + 27.60 = 83.64
        row("w3", weekly_report_points="36.05"),
        # weekly 40 (the maximum) and 0 (the minimum)
        row("w4", weekly_report_points="40"),   # daily 84 -> 58.80 + 27.60 = 86.40
        row("w5", weekly_report_points="0"),    # daily 44 -> 30.80 + 27.60 = 58.40
    ]
    res = by_key(cli(to_csv(rows)))
    expect = {"w1": ("37.13", "84.39"), "w2": ("36.15", "86.11"), "w3": ("36.05", "83.64"),
              "w4": ("40", "86.40"), "w5": ("0", "58.40")}
    for emp, (wr, total) in expect.items():
        r = res[("2026-10", emp)]
        assert D(r["indicators"]["weekly_report"]) == Decimal(wr), emp
        assert D(r["total"]) == Decimal(total), emp
    # the daily pay line uses daily = the sum of the rounded items:
    # w1: 6000 x 15% x 81.13 / 100 = 730.17;  w2: 900 x 0.8015 = 721.35
    assert D(res[("2026-10", "w1")]["pay"]["daily_work"]) == Decimal("730.17")
    assert D(res[("2026-10", "w2")]["pay"]["daily_work"]) == Decimal("721.35")


def test_pay_lines_rounded_to_the_fen_and_summed(cli):
    rows = [
        row("m1", salary_total="4321.57", plan_completion="87.65%", over_plan_bonus="123.45"),
        row("m2", salary_total="1000", plan_completion="0.12345", weekly_report_points="36.15"),
        row("m3", salary_total="6000", plan_completion="120%", over_plan_bonus="800"),
        row("m4", salary_total="6000", plan_completion="1.2"),
        row("m5", salary_total="0", plan_completion="0", over_plan_bonus="500"),
    ]
    res = by_key(cli(to_csv(rows)))

    def pay(emp: str) -> dict[str, Decimal]:
        return {k: D(v) for k, v in res[("2026-10", emp)]["pay"].items()}

    m1 = pay("m1")
    # base 4321.57 x 50% = 2160.785 -> 2160.79
    assert m1["base"] == Decimal("2160.79")
    # plan 4321.57 x 35% = 1512.5495; x 0.8765 = 1325.74963675 -> 1325.75
    assert m1["plan"] == q2(Decimal("4321.57") * Decimal("0.35") * Decimal("0.8765")) == Decimal("1325.75")
    # daily_work 4321.57 x 15% x 80 / 100 = 518.5884 -> 518.59
    assert m1["daily_work"] == Decimal("518.59")
    assert m1["over_plan_bonus"] == Decimal("123.45")
    # total = sum of the rounded lines: 2160.79 + 1325.75 + 518.59 + 123.45 = 4128.58
    # (the unrounded sum 4128.57303675 would print 4128.57)
    assert m1["total"] == Decimal("4128.58")
    m2 = pay("m2")
    assert m2["base"] == Decimal("500.00")
    assert m2["plan"] == Decimal("43.21")        # 1000 x 35% x 0.12345 = 43.2075
    assert m2["daily_work"] == Decimal("120.23")  # 1000 x 15% x 80.15 / 100 = 120.225 -> half-up
    assert m2["total"] == Decimal("663.44")      # 500 + 43.21 + 120.23 + 0
    # plan completion above 100% is not clamped: 6000 x 35% x 1.2 = 2520
    for emp, bonus, total in [("m3", "800", "7040.00"),   # 3000 + 2520 + 720 + 800
                              ("m4", "0", "6240.00")]:
        p = pay(emp)
        assert p["plan"] == Decimal("2520.00"), emp
        assert p["over_plan_bonus"] == Decimal(bonus), emp
        assert p["total"] == Decimal(total), emp
    m5 = pay("m5")
    assert m5["base"] == m5["plan"] == m5["daily_work"] == Decimal("0")
    assert m5["total"] == Decimal("500.00")


def test_everything_lost_gives_zero(cli):
    r = by_key(cli(to_csv([row("z", dealer_lapses="7", weekly_report_points="0", market_feedback="不符",
                                   quality_feedback="不符", ad_plan_lapses="3", promo_plan_lapses="4",
                                   promo_review_lapses="3", vehicle_violations="2", absent_days="30")])))
    res = r[("2026-10", "z")]
    for k in DAILY_IDS | {"attendance"}:
        assert D(res["indicators"][k]) == Decimal("0"), k
    assert D(res["total"]) == Decimal("0")
    # pay: 3000 + 1890 + 0 + 0
    assert D(res["pay"]["daily_work"]) == Decimal("0")
    assert D(res["pay"]["total"]) == Decimal("4890.00")


# ---------------------------------------------------------------- ranking


def test_rank_by_total_ties_by_employee_id_as_text(cli):
    rows = [row("E9"), row("E10"), row("E2", weekly_report_points="40"),  # 86.40
            row("E1", weekly_report_points="20"),                        # daily 64 -> 44.80 + 27.60 = 72.40
            row("E5", team="T2", weekly_report_points="0"),              # alone in T2
            row("E3", period="2026-11")]                                 # alone in 2026-11
    res = by_key(cli(to_csv(rows)))
    # T1 2026-10: E2 86.40 > E10 = E9 83.60 ("E10" < "E9" as text) > E1 72.40
    assert res[("2026-10", "E2")]["rank"] == 1
    assert res[("2026-10", "E10")]["rank"] == 2
    assert res[("2026-10", "E9")]["rank"] == 3
    assert res[("2026-10", "E1")]["rank"] == 4
    assert res[("2026-10", "E5")]["rank"] == 1
    assert res[("2026-11", "E3")]["rank"] == 1


# ---------------------------------------------------------------- annual aggregate


def test_annual_score_is_mean_of_months_present_rounded_half_up(cli):
    # absent_days 0 -> attendance 100 -> 30.00; daily = 44 + weekly
    #   weekly 27.43 -> daily 71.43 x 70% = 50.001 -> 50.00 -> total 80.00
    #   weekly 27.44 -> daily 71.44 x 70% = 50.008 -> 50.01 -> total 80.01
    #   weekly 36    -> daily 80 -> 56.00 -> total 86.00
    rows = [
        row("A", period="2026-01", weekly_report_points="27.43", absent_days="0"),   # 80.00
        row("A", period="2026-02", weekly_report_points="27.44", absent_days="0"),   # 80.01
        row("A", period="2025-12"),                                                  # 83.60 (year 2025)
        row("B", period="2026-03", weekly_report_points="36", absent_days="0"),      # 86.00
        row("B", period="2026-07"),                                                  # 83.60
        row("B", period="2026-12", weekly_report_points="27.44", absent_days="0"),   # 80.01
    ]
    doc = cli(to_csv(rows))
    res = by_key(doc)
    assert D(res[("2026-01", "A")]["total"]) == Decimal("80.00")
    assert D(res[("2026-02", "A")]["total"]) == Decimal("80.01")
    ag = aggs(doc)
    assert set(ag) == {("2026", "A"), ("2025", "A"), ("2026", "B")}
    # A 2026: (80.00 + 80.01) / 2 = 80.005 -> 80.01 (half-up)
    assert D(ag[("2026", "A")]["score"]) == Decimal("80.01")
    assert ag[("2026", "A")]["months"] == 2
    # A 2025: one month, 83.60
    assert D(ag[("2025", "A")]["score"]) == Decimal("83.60")
    assert ag[("2025", "A")]["months"] == 1
    # B 2026: months present only: (86.00 + 83.60 + 80.01) / 3 = 249.61 / 3 = 83.2033.. -> 83.20
    assert D(ag[("2026", "B")]["score"]) == Decimal("83.20")
    assert ag[("2026", "B")]["months"] == 3
    for a in doc["aggregates"]:
        assert a["grade"] is None
        assert a["team"] == "T1"


# ---------------------------------------------------------------- bad input


def test_bad_input_unknown_level_or_negative_count_exits_2(tmp_path):
    text = to_csv([row("ok"), row("bad", market_feedback="基本如实")])
    code, out, err = run_cli(tmp_path, text)
    assert code == 2
    assert out == ""
    # the message names the row (header = row 1), the column and the value
    assert "row 3" in err and "market_feedback" in err and "基本如实" in err, err
    code, out, err = run_cli(tmp_path, to_csv([row("neg", dealer_lapses="-1")]))
    assert code == 2
    assert out == ""
    assert "row 2" in err and "dealer_lapses" in err and "-1" in err, err


def test_gb18030_and_utf8_bom_inputs_read_like_utf8(tmp_path):
    text = to_csv([row("S001"), row("S002", quality_feedback="如实")])
    for name, data in [("gb.csv", text.encode("gb18030")), ("bom.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))]:
        path = tmp_path / name
        path.write_bytes(data)
        res = CliRunner().invoke(app, ["score", "--preset", PRESET, "--input", str(path),
                                       "--format", "json"])
        assert res.exit_code == 0, res.stderr
        got = by_key(json.loads(res.stdout))
        # S001 is the hand example (83.60); S002 adds quality 如实 5: daily 85 -> 59.50 + 27.60 = 87.10
        assert D(got[("2026-10", "S001")]["total"]) == Decimal("83.60"), name
        assert D(got[("2026-10", "S002")]["indicators"]["quality_feedback"]) == Decimal("5"), name
        assert D(got[("2026-10", "S002")]["total"]) == Decimal("87.10"), name
