"""Golden tests for preset `aftersales-130` (rulebook 4.3), every expected value computed by hand.

quality / disputes / teamwork / execution: level 优 20, 良 15, 中 10, 差 0.
refund_rate 30: <=5%: 30; (5%,8%]: 20; (8%,11%]: 10; >11%: 0.
attendance 20: -5 per late, -5 per leave, -10 per absence, floor 0.
Adjustments: -5 x low_reviews, -complaint_points, +2 x praises, +outstanding; total floor 0, no cap.
Grade 合格 >= 91 (70% of 130), else 不合格.
Pay: base_salary + kpi_bonus, kpi_bonus = kpi_pool x total / 130 only when total >= 91.00, else 0.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

PRESET = "aftersales-130"
COLUMNS = ["employee", "period", "team", "quality", "refund_rate", "disputes", "teamwork",
           "execution", "late", "leave", "absence", "low_reviews", "complaint_points", "praises",
           "outstanding", "kpi_pool", "base_salary"]
INDICATOR_IDS = {"quality", "refund_rate", "disputes", "teamwork", "execution", "attendance"}
PAY_KEYS = {"base_salary", "kpi_bonus", "total"}

DEFAULT = {
    "quality": "优", "refund_rate": "3%", "disputes": "优", "teamwork": "优", "execution": "优",
    "late": "0", "leave": "0", "absence": "0", "low_reviews": "0", "complaint_points": "0",
    "praises": "0", "outstanding": "0", "kpi_pool": "1300", "base_salary": "3000",
}


def D(x: Any) -> Decimal:
    return Decimal(str(x))


def row(employee: str, team: str = "T1", period: str = "2026-10", **over: str) -> dict[str, str]:
    r = {"employee": employee, "period": period, "team": team, **DEFAULT}
    r.update(over)
    return r


def to_csv(rows: list[dict[str, str]]) -> str:
    return "\n".join([",".join(COLUMNS)] + [",".join(r[c] for c in COLUMNS) for r in rows]) + "\n"


def by_key(doc: dict[str, Any]) -> dict[tuple[Any, str], dict[str, Any]]:
    return {(r["period"], r["employee"]): r for r in doc["results"]}


def test_full_marks_130_and_key_sets(score):
    doc = score(PRESET, to_csv([row("A1")]))
    r = by_key(doc)[("2026-10", "A1")]
    assert set(r["indicators"]) == INDICATOR_IDS
    assert set(r["pay"]) == PAY_KEYS
    # 20 + 30 (3% <= 5%) + 20 + 20 + 20 + 20 = 130
    for ind, pts in {"quality": 20, "refund_rate": 30, "disputes": 20, "teamwork": 20,
                     "execution": 20, "attendance": 20}.items():
        assert D(r["indicators"][ind]) == Decimal(pts), ind
    assert D(r["total"]) == Decimal("130.00")
    assert r["grade"] == "合格"
    assert r["coefficient"] is None
    # kpi_bonus 1300 x 130 / 130 = 1300.00; pay 3000 + 1300 = 4300.00
    assert D(r["pay"]["base_salary"]) == Decimal("3000.00")
    assert D(r["pay"]["kpi_bonus"]) == Decimal("1300.00")
    assert D(r["pay"]["total"]) == Decimal("4300.00")


def test_bonuses_lift_total_above_130_no_cap(score):
    # 130 + 2 x 2 (praises) + 3 (outstanding) = 137.00
    r = by_key(score(PRESET, to_csv([row("B1", praises="2", outstanding="3", kpi_pool="1000")])))[
        ("2026-10", "B1")]
    assert D(r["total"]) == Decimal("137.00")
    # kpi_bonus 1000 x 137 / 130 = 1053.846... -> 1053.85; pay 3000 + 1053.85 = 4053.85
    assert D(r["pay"]["kpi_bonus"]) == Decimal("1053.85")
    assert D(r["pay"]["total"]) == Decimal("4053.85")


def test_threshold_exactly_91_qualifies_and_just_below_does_not(score):
    # base points: 良 15 + refund 8% (in (5%,8%]) 20 + 中 10 + 良 15 + 良 15 + attendance 20-5 = 15
    #            = 90
    common = {"quality": "良", "refund_rate": "8%", "disputes": "中", "teamwork": "良",
              "execution": "良", "late": "1", "kpi_pool": "1300", "base_salary": "2500"}
    rows = [
        row("T91", **common, outstanding="1"),       # 90 + 1 = 91.00
        row("T9099", **common, outstanding="0.99"),  # 90 + 0.99 = 90.99
        row("T90", **common),                        # 90.00
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    t91 = res[("2026-10", "T91")]
    assert D(t91["indicators"]["refund_rate"]) == Decimal("20")
    assert D(t91["indicators"]["attendance"]) == Decimal("15")
    assert D(t91["total"]) == Decimal("91.00")
    assert t91["grade"] == "合格"
    # 1300 x 91 / 130 = 910.00; 2500 + 910 = 3410.00
    assert D(t91["pay"]["kpi_bonus"]) == Decimal("910.00")
    assert D(t91["pay"]["total"]) == Decimal("3410.00")
    t9099 = res[("2026-10", "T9099")]
    assert D(t9099["total"]) == Decimal("90.99")
    assert t9099["grade"] == "不合格"
    assert D(t9099["pay"]["kpi_bonus"]) == Decimal("0")
    assert D(t9099["pay"]["total"]) == Decimal("2500.00")
    t90 = res[("2026-10", "T90")]
    assert D(t90["total"]) == Decimal("90.00")
    assert t90["grade"] == "不合格"
    assert D(t90["pay"]["kpi_bonus"]) == Decimal("0")
    assert D(t90["pay"]["total"]) == Decimal("2500.00")


def test_kpi_bonus_rounds_half_up(score):
    # 130 - 5 x 1 (low_reviews) - 8 (complaint_points) = 117.00
    # kpi_bonus 100.05 x 117 / 130 = 100.05 x 0.9 = 90.045 -> half-up 90.05; pay 2000 + 90.05
    r = by_key(score(PRESET, to_csv([row("H1", low_reviews="1", complaint_points="8",
                                          kpi_pool="100.05", base_salary="2000")])))[
        ("2026-10", "H1")]
    assert D(r["total"]) == Decimal("117.00")
    assert D(r["pay"]["kpi_bonus"]) == Decimal("90.05")
    assert D(r["pay"]["total"]) == Decimal("2090.05")


def test_all_adjustments_together(score):
    # 优 20 + refund 4.5% 30 + 良 15 + 中 10 + 差 0 + attendance (1 leave) 15 = 90
    # - 5 x 1 - 10 + 2 x 3 + 5 = 90 - 5 - 10 + 6 + 5 = 86.00 -> 不合格, no KPI bonus
    r = by_key(score(PRESET, to_csv([row(
        "J1", refund_rate="4.5%", disputes="良", teamwork="中", execution="差", leave="1",
        low_reviews="1", complaint_points="10", praises="3", outstanding="5")])))[("2026-10", "J1")]
    assert D(r["indicators"]["disputes"]) == Decimal("15")
    assert D(r["indicators"]["teamwork"]) == Decimal("10")
    assert D(r["indicators"]["execution"]) == Decimal("0")
    assert D(r["indicators"]["attendance"]) == Decimal("15")
    assert D(r["total"]) == Decimal("86.00")
    assert r["grade"] == "不合格"
    assert D(r["pay"]["kpi_bonus"]) == Decimal("0")
    assert D(r["pay"]["total"]) == Decimal("3000.00")


def test_attendance_deductions_and_floor(score):
    rows = [
        row("AT1", absence="1"),                          # 20 - 10 = 10 -> total 120
        row("AT2", late="1", leave="1"),                  # 20 - 5 - 5 = 10 -> 120
        row("AT3", late="2", leave="1", absence="1"),     # 20 - 10 - 5 - 10 = -5 -> 0 -> 110
        row("AT4", absence="3"),                          # 20 - 30 -> 0 -> 110
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    for emp, att, total, kpi in [("AT1", 10, "120.00", "1200.00"), ("AT2", 10, "120.00", "1200.00"),
                                 ("AT3", 0, "110.00", "1100.00"), ("AT4", 0, "110.00", "1100.00")]:
        r = res[("2026-10", emp)]
        assert D(r["indicators"]["attendance"]) == Decimal(att), emp
        assert D(r["total"]) == Decimal(total), emp
        # kpi_bonus 1300 x total / 130 = 10 x total
        assert D(r["pay"]["kpi_bonus"]) == Decimal(kpi), emp


def test_total_floor_zero(score):
    # 优 20 + refund 20% (>11%) 0 + 差 0 + 差 0 + 差 0 + attendance (2 absences) 0 = 20
    # 20 - 5 x 2 - 15 = -5 -> floor 0.00
    r = by_key(score(PRESET, to_csv([row(
        "Z1", refund_rate="20%", disputes="差", teamwork="差", execution="差", absence="2",
        low_reviews="2", complaint_points="15", base_salary="2000")])))[("2026-10", "Z1")]
    assert D(r["indicators"]["quality"]) == Decimal("20")
    assert D(r["indicators"]["refund_rate"]) == Decimal("0")
    assert D(r["total"]) == Decimal("0")
    assert r["grade"] == "不合格"
    assert D(r["pay"]["kpi_bonus"]) == Decimal("0")
    assert D(r["pay"]["total"]) == Decimal("2000.00")


def test_refund_rate_band_boundaries_ratio_and_percent(score):
    rows = [
        row("R5", refund_rate="5%"),        # <= 5% -> 30 -> total 130
        row("R5r", refund_rate="0.05"),     # same as a ratio -> 30
        row("R501", refund_rate="5.01%"),   # (5%,8%] -> 20 -> 120
        row("R8", refund_rate="0.08"),      # exactly 8% -> 20 -> 120
        row("R801", refund_rate="8.01%"),   # (8%,11%] -> 10 -> 110
        row("R11", refund_rate="11%"),      # exactly 11% -> 10 -> 110
        row("R1101", refund_rate="0.1101"),  # > 11% -> 0 -> 100
        row("R0", refund_rate="0%"),        # 30 -> 130
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    for emp, pts, total in [("R5", 30, 130), ("R5r", 30, 130), ("R501", 20, 120), ("R8", 20, 120),
                            ("R801", 10, 110), ("R11", 10, 110), ("R1101", 0, 100), ("R0", 30, 130)]:
        r = res[("2026-10", emp)]
        assert D(r["indicators"]["refund_rate"]) == Decimal(pts), emp
        assert D(r["total"]) == Decimal(total), emp


def test_levels_map_to_points(score):
    rows = [
        row("Q1", quality="良"),   # 15 -> 125
        row("Q2", quality="中"),   # 10 -> 120
        row("Q3", quality="差"),   # 0 -> 110
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    for emp, pts, total in [("Q1", 15, 125), ("Q2", 10, 120), ("Q3", 0, 110)]:
        r = res[("2026-10", emp)]
        assert D(r["indicators"]["quality"]) == Decimal(pts), emp
        assert D(r["total"]) == Decimal(total), emp


def test_rank_ties_broken_by_employee_id_as_text(score):
    rows = [row("E9", quality="良"), row("E2", quality="差"), row("E10", quality="良"),
            row("E1")]
    res = by_key(score(PRESET, to_csv(rows)))
    # E1 130; E10 and E9 125 ("E10" < "E9" as text); E2 110
    assert [res[("2026-10", e)]["rank"] for e in ("E1", "E10", "E9", "E2")] == [1, 2, 3, 4]
