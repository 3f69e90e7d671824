"""Golden tests for preset `recharge-specialist` (rulebook 4.2), every expected value computed by hand.

Points-based: each indicator starts at its points and loses a fixed amount per occurrence, floor 0
per indicator. culture is a level (透彻 3, 大概 1, 不了解 -3). Sections 绩 70 / 能 20 / 德 5 / 勤 5.
Grade: A >=90, B [80,90), C [70,80), D [60,70), E <60. No pay (pay == {}), no coefficient.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

PRESET = "recharge-specialist"

# indicator id -> points
POINTS = {
    "scattered": 5, "stock": 5, "other": 5, "rebate_single": 5, "rebate_ext": 5,
    "renewal_recharge": 4, "data_update": 4, "health": 4, "sim_replace": 5, "card_stock": 4,
    "month_end_sheet": 4, "renewal": 5, "master_sheet": 5, "erp": 5, "attitude": 5,
    "participation": 3, "planning": 5, "execution": 4, "coordination": 4, "obedience": 2,
    "responsibility": 2, "culture": 3, "ethics": 2, "initiative": 2, "proactive": 3,
}

COUNT_INPUTS = [
    "scattered", "stock", "other", "rebate_single", "rebate_ext", "renewal_recharge", "data_update",
    "health", "sim_replace", "card_stock", "month_end_sheet", "renewal", "master_sheet", "erp",
    "attitude", "participation", "plan_late", "plan_missing", "execution_lapses",
    "execution_refusals", "coordination", "obedience", "responsibility", "ethics", "initiative",
    "proactive",
]
COLUMNS = ["employee", "period", "team", *COUNT_INPUTS, "culture"]


def D(x: Any) -> Decimal:
    return Decimal(str(x))


def row(employee: str, team: str = "T1", period: str = "2026-10", **over: str) -> dict[str, str]:
    r = {"employee": employee, "period": period, "team": team, "culture": "透彻"}
    r.update(dict.fromkeys(COUNT_INPUTS, "0"))
    r.update(over)
    return r


def to_csv(rows: list[dict[str, str]], labels: dict[str, str] | None = None) -> str:
    head = [(labels or {}).get(c, c) for c in COLUMNS]
    return "\n".join([",".join(head)] + [",".join(r[c] for c in COLUMNS) for r in rows]) + "\n"


def by_key(doc: dict[str, Any]) -> dict[tuple[Any, str], dict[str, Any]]:
    return {(r["period"], r["employee"]): r for r in doc["results"]}


def test_perfect_sheet_scores_100_with_exact_key_sets(score):
    doc = score(PRESET, to_csv([row("P1")]))
    r = by_key(doc)[("2026-10", "P1")]
    assert set(r["indicators"]) == set(POINTS)
    for ind, pts in POINTS.items():
        assert D(r["indicators"][ind]) == Decimal(pts), ind
    # 70 + 20 + 5 + 5 = 100
    assert D(r["total"]) == Decimal("100")
    assert r["grade"] == "A"
    assert r["coefficient"] is None
    assert r["pay"] == {}
    assert r["flags"] == []
    assert r["excluded"] is False
    assert doc["aggregates"] == []


def test_deductions_stop_at_floor_zero_per_indicator(score):
    over = {
        "scattered": "3",         # 5 - 3x5 = -10 -> 0
        "other": "2",             # 5 - 2x3 = -1 -> 0
        "rebate_single": "1",     # 5 - 3 = 2
        "renewal_recharge": "3",  # 4 - 3x2 = -2 -> 0
        "data_update": "1",       # 4 - 4 = 0
        "health": "1",            # 4 - 2 = 2
        "card_stock": "2",        # 4 - 8 -> 0
        "month_end_sheet": "1",   # 4 - 2 = 2
        "renewal": "1",           # 5 - 3 = 2
        "attitude": "1",          # 5 - 5 = 0
        "participation": "2",     # 3 - 6 -> 0
        "plan_late": "1",         # 5 - 3 = 2
        "execution_lapses": "1",  # 4 - 2 = 2
        "coordination": "1",      # 4 - 2 = 2
        "responsibility": "1",    # 2 - 2 = 0
        "culture": "大概",         # 1
        "initiative": "2",        # 2 - 4 -> 0
        "proactive": "1",         # 3 - 2 = 1
    }
    r = by_key(score(PRESET, to_csv([row("F1", **over)])))[("2026-10", "F1")]
    expect = {
        "scattered": 0, "stock": 5, "other": 0, "rebate_single": 2, "rebate_ext": 5,
        "renewal_recharge": 0, "data_update": 0, "health": 2, "sim_replace": 5, "card_stock": 0,
        "month_end_sheet": 2, "renewal": 2, "master_sheet": 5, "erp": 5, "attitude": 0,
        "participation": 0, "planning": 2, "execution": 2, "coordination": 2, "obedience": 2,
        "responsibility": 0, "culture": 1, "ethics": 2, "initiative": 0, "proactive": 1,
    }
    for ind, pts in expect.items():
        assert D(r["indicators"][ind]) == Decimal(pts), ind
    # 绩 0+5+0+2+5+0+0+2+5+0+2+2+5+5+0 = 33; 能 0+2+2+2+2+0 = 8; 德 1+2 = 3; 勤 0+1 = 1
    # total 33 + 8 + 3 + 1 = 45 -> E
    assert D(r["total"]) == Decimal("45")
    assert r["grade"] == "E"


def test_escalating_execution_and_coordination_schedules(score):
    rows = [
        row("X1", execution_lapses="1", coordination="1"),   # 4-2 = 2, 4-2 = 2 -> total 96
        row("X2", execution_lapses="2", coordination="2"),   # 2 or more -> -4: 0, 0 -> total 92
        row("X3", execution_lapses="3", coordination="5"),   # still -4 (floor anyway): 0, 0 -> 92
        row("X4", execution_refusals="1"),                   # 4 - 4 = 0 -> 96
        row("X5", execution_lapses="1", execution_refusals="1"),  # 4 - 2 - 4 -> floor 0 -> 96
        row("X6", execution_refusals="2"),                   # 4 - 8 -> 0 -> 96
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    expect = {  # id: (execution, coordination, total)
        "X1": (2, 2, 96), "X2": (0, 0, 92), "X3": (0, 0, 92),
        "X4": (0, 4, 96), "X5": (0, 4, 96), "X6": (0, 4, 96),
    }
    for emp, (ex, co, total) in expect.items():
        r = res[("2026-10", emp)]
        assert D(r["indicators"]["execution"]) == Decimal(ex), emp
        assert D(r["indicators"]["coordination"]) == Decimal(co), emp
        assert D(r["total"]) == Decimal(total), emp
        assert r["grade"] == "A", emp


def test_planning_late_and_missing_weekly_plans(score):
    rows = [
        row("L1", plan_late="1"),                   # 5 - 3 = 2 -> 97
        row("L2", plan_missing="1"),                # 5 - 5 = 0 -> 95
        row("L3", plan_late="1", plan_missing="1"),  # 5 - 3 - 5 -> 0 -> 95
        row("L4", plan_late="2"),                   # 5 - 6 -> 0 -> 95
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    for emp, pts, total in [("L1", 2, 97), ("L2", 0, 95), ("L3", 0, 95), ("L4", 0, 95)]:
        r = res[("2026-10", emp)]
        assert D(r["indicators"]["planning"]) == Decimal(pts), emp
        assert D(r["total"]) == Decimal(total), emp


def test_culture_levels_including_negative(score):
    rows = [
        row("C1", culture="透彻"),    # 3 -> 100
        row("C2", culture="大概"),    # 1 -> 98
        row("C3", culture="不了解"),  # -3 -> 100 - 3 - 3 = 94
        # 不了解 with other deductions: scattered 1 (-5), stock 1 (-5) -> 100 - 10 - 6 = 84 -> B
        row("C4", culture="不了解", scattered="1", stock="1"),
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    for emp, pts, total, grade in [("C1", 3, 100, "A"), ("C2", 1, 98, "A"), ("C3", -3, 94, "A"),
                                   ("C4", -3, 84, "B")]:
        r = res[("2026-10", emp)]
        assert D(r["indicators"]["culture"]) == Decimal(pts), emp
        assert D(r["total"]) == Decimal(total), emp
        assert r["grade"] == grade, emp


def test_grade_boundaries(score):
    five = ["scattered", "stock", "sim_replace", "master_sheet", "erp", "attitude"]  # -5 each
    rows = [
        row("g90", scattered="1", stock="1"),                                  # 100 - 10 = 90 -> A
        row("g89", scattered="1", rebate_single="1", other="1"),               # 100 - 5 - 3 - 3 = 89 -> B
        row("g80", **dict.fromkeys(five[:4], "1")),                              # 100 - 20 = 80 -> B
        row("g79", **dict.fromkeys(five[:3], "1"), other="1", rebate_single="1"),  # 100-15-3-3 = 79 -> C
        row("g70", **dict.fromkeys(five, "1")),                                  # 100 - 30 = 70 -> C
        row("g69", **dict.fromkeys(five[:5], "1"), other="1", rebate_single="1"),  # 100-25-3-3 = 69 -> D
        # 100 - 30 - 4 (data_update) - 4 (card_stock) - 2 (obedience) = 60 -> D
        row("g60", **dict.fromkeys(five, "1"), data_update="1", card_stock="1", obedience="1"),
        # 100 - 30 - 4 - 4 - 3 (other) = 59 -> E
        row("g59", **dict.fromkeys(five, "1"), data_update="1", card_stock="1", other="1"),
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    for emp, total, grade in [("g90", 90, "A"), ("g89", 89, "B"), ("g80", 80, "B"), ("g79", 79, "C"),
                              ("g70", 70, "C"), ("g69", 69, "D"), ("g60", 60, "D"), ("g59", 59, "E")]:
        r = res[("2026-10", emp)]
        assert D(r["total"]) == Decimal(total), emp
        assert r["grade"] == grade, emp


def test_rank_ties_broken_by_employee_id_as_text(score):
    rows = [
        row("E9", scattered="1"),    # 95
        row("E1"),                   # 100
        row("E10", scattered="1"),   # 95; "E10" < "E9" as text
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    assert res[("2026-10", "E1")]["rank"] == 1
    assert res[("2026-10", "E10")]["rank"] == 2
    assert res[("2026-10", "E9")]["rank"] == 3


def test_chinese_label_headers(score):
    labels = {"scattered": "零散充值", "stock": "在库充值", "culture": "企业文化"}
    # scattered 1 (-5), stock 1 (-5), culture 不了解 (-3 instead of 3) -> 100 - 10 - 6 = 84 -> B
    doc = score(PRESET, to_csv([row("Z1", scattered="1", stock="1", culture="不了解")], labels))
    r = by_key(doc)[("2026-10", "Z1")]
    assert D(r["indicators"]["scattered"]) == Decimal("0")
    assert D(r["indicators"]["culture"]) == Decimal("-3")
    assert D(r["total"]) == Decimal("84")
    assert r["grade"] == "B"
