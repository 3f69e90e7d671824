"""Golden tests for preset `property-service` (rulebook 4.10), every expected value computed
by hand.

Items and standard points: phone 电话接听 40 = phone_hours 10, phone_staffing 10,
answer_speed 5, greeting 5, listening 5, closing 5; reception 业务接待与处理 60 = move_in 15,
renovation 10, billing 10, requests 15, complaints 10. Levels: 符合 1.0, 基本符合 0.8,
一般符合 0.6, 不符合 0; 不适用 takes the item out (absent from `indicators`).
Total: all applicable → the sum; otherwise round(Σ points × 100 ÷ Σ applicable standard
points, 2) half-up; none applicable → excluded, `无适用项` in warnings. Flag `需整改` when an
applicable item is 不符合. Quarter: score = mean of the scored months' totals, half-up;
`连续整改` when 需整改 on all three months of the quarter (three scored months).

The tests run the real `kaohe score --preset property-service --input X.csv --format json`
in-process (Typer's CliRunner); one also runs it as a subprocess through `score`.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from .inprocess import D, aggs, by_key, run_preset

PRESET = "property-service"
ITEMS = ["phone_hours", "phone_staffing", "answer_speed", "greeting", "listening", "closing",
         "move_in", "renovation", "billing", "requests", "complaints"]
PHONE = ITEMS[:6]
RECEPTION = ITEMS[6:]
HEADER = "employee,team,period," + ",".join(ITEMS)

Y, B, G, N, NA = "符合", "基本符合", "一般符合", "不符合", "不适用"
WORKED = [Y, B, G, NA, Y, N, Y, NA, B, G, Y]


def row(employee: str, levels: list[str], period: str = "2026-10", team: str = "A") -> str:
    assert len(levels) == len(ITEMS)
    return f"{employee},{team},{period}," + ",".join(levels)


def csv(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def test_the_worked_example_through_a_subprocess(score) -> None:
    doc = score(PRESET, csv(row("u1", WORKED)))
    assert doc["scheme"] == PRESET
    r = doc["results"][0]
    assert D(r["total"]) == Decimal("80.00")  # 68 × 100 / 85
    assert {k: D(v) for k, v in r["sections"].items()} == {"phone": 26, "reception": 42}
    assert {k: D(v) for k, v in r["indicators"].items()} == {
        "phone_hours": 10, "phone_staffing": 8, "answer_speed": 3, "listening": 5,
        "closing": 0, "move_in": 15, "billing": 8, "requests": 9, "complaints": 10}
    assert "greeting" not in r["indicators"] and "renovation" not in r["indicators"]
    assert r["flags"] == ["需整改"]
    assert (r["grade"], r["coefficient"], r["pay"], r["excluded"]) == (None, None, {}, False)
    assert r["rank"] == 1
    assert doc["warnings"] == []


def test_all_conforming_is_100(cli) -> None:
    r = cli(csv(row("u1", [Y] * 11)))["results"][0]
    assert D(r["total"]) == 100
    assert {k: D(v) for k, v in r["sections"].items()} == {"phone": 40, "reception": 60}
    assert len(r["indicators"]) == 11 and r["flags"] == []


def test_all_levels_one_step_down_without_rescaling(cli) -> None:
    # 基本符合 everywhere: 8+8+4+4+4+4 = 32, 12+8+8+12+8 = 48, total 80 (no N/A: a plain sum)
    r = cli(csv(row("u1", [B] * 11)))["results"][0]
    assert (D(r["total"]), D(r["sections"]["phone"]), D(r["sections"]["reception"])) == (80, 32, 48)
    # 一般符合 everywhere: 3/5 of every item = 60
    r = cli(csv(row("u1", [G] * 11)))["results"][0]
    assert D(r["total"]) == 60 and r["flags"] == []


def test_all_not_applicable_is_excluded_with_the_reason(cli) -> None:
    doc = cli(csv(row("u1", [NA] * 11), row("u2", [Y] * 11)))
    res = by_key(doc)
    r = res[("2026-10", "u1")]
    assert r["excluded"] is True
    assert (r["total"], r["rank"], r["indicators"], r["sections"], r["flags"]) == (
        None, None, {}, {}, [])
    assert res[("2026-10", "u2")]["rank"] == 1  # the excluded row does not take a place
    assert len(doc["warnings"]) == 1
    assert "无适用项" in doc["warnings"][0] and "u1" in doc["warnings"][0]
    assert "2026-10" in doc["warnings"][0]


def test_a_section_with_every_item_not_applicable_shows_0(cli) -> None:
    # phone all N/A; reception 12 + 6 + 10 + 0 + 10 = 38 of 60 → 63.333… → 63.33, 需整改
    r = cli(csv(row("u1", [NA] * 6 + [B, G, Y, N, Y])))["results"][0]
    assert D(r["sections"]["phone"]) == 0 and D(r["sections"]["reception"]) == 38
    assert D(r["total"]) == Decimal("63.33")
    assert set(r["indicators"]) == set(RECEPTION)
    assert r["flags"] == ["需整改"]
    # reception all N/A, phone all 符合: 40 of 40 → 100
    r = cli(csv(row("u1", [Y] * 6 + [NA] * 5)))["results"][0]
    assert (D(r["sections"]["phone"]), D(r["sections"]["reception"]), D(r["total"])) == (40, 0, 100)


def test_the_rescaled_total_rounds_half_up(cli) -> None:
    # only answer_speed, greeting, listening apply (15 points): 5 + 5 + 3 = 13 → 86.666… → 86.67
    only3 = [NA, NA, Y, Y, G, NA, NA, NA, NA, NA, NA]
    # greeting N/A (95 points apply): closing 基本符合 → 94 → 98.947… → 98.95
    up = [Y, Y, Y, NA, Y, B, Y, Y, Y, Y, Y]
    # greeting N/A: closing 一般符合 → 93 → 97.894… → 97.89
    down = [Y, Y, Y, NA, Y, G, Y, Y, Y, Y, Y]
    # phone all N/A and requests 一般符合: 15 + 10 + 10 + 9 + 10 = 54 of 60 → 90
    exact = [NA] * 6 + [Y, Y, Y, G, Y]
    doc = cli(csv(row("a", only3), row("b", up), row("c", down), row("d", exact)))
    got = {r["employee"]: D(r["total"]) for r in doc["results"]}
    assert got == {"a": Decimal("86.67"), "b": Decimal("98.95"), "c": Decimal("97.89"),
                   "d": Decimal("90")}
    # rank within the team by total: b 98.95, c 97.89, d 90, a 86.67
    assert {r["employee"]: r["rank"] for r in doc["results"]} == {"b": 1, "c": 2, "d": 3, "a": 4}


def test_rank_is_within_team_with_ties_broken_by_employee_id(cli) -> None:
    doc = cli(csv(row("z9", [Y] * 11, team="北区"), row("a1", [Y] * 11, team="北区"),
                  row("m5", WORKED, team="北区"), row("b2", WORKED, team="南区")))
    ranks = {r["employee"]: r["rank"] for r in doc["results"]}
    assert ranks == {"a1": 1, "z9": 2, "m5": 3, "b2": 1}


def test_a_blank_item_is_bad_input_naming_row_and_column(tmp_path: Path) -> None:
    levels = [Y] * 11
    levels[4] = ""
    code, out, err = run_preset(tmp_path, PRESET, csv(row("u1", [Y] * 11), row("u2", levels)))
    assert code == 2 and out == ""
    assert "row 3" in err and "listening" in err
    levels[4] = "部分符合"
    code, out, err = run_preset(tmp_path, PRESET, csv(row("u2", levels)))
    assert code == 2 and out == "" and "row 2" in err and "部分符合" in err


def _quarter(rows: list[str], tmp_path: Path) -> dict:
    code, out, err = run_preset(tmp_path, PRESET, csv(*rows))
    assert code == 0, err
    import json

    return dict(json.loads(out))


def test_quarter_flag_needs_three_months_each_needing_correction(tmp_path: Path) -> None:
    fix = WORKED  # 80.00, 需整改
    ok = [Y] * 11  # 100
    rows = [
        # three months, each 需整改 → 连续整改; score (80 + 80 + 80) / 3 = 80
        row("a", fix, "2026-10"), row("a", fix, "2026-11"), row("a", fix, "2026-12"),
        # two months only → no flag; score 80
        row("b", fix, "2026-10"), row("b", fix, "2026-12"),
        # three months, one without 不符合 → no flag; (80 + 100 + 80) / 3 = 86.666… → 86.67
        row("c", fix, "2026-10"), row("c", ok, "2026-11"), row("c", fix, "2026-12"),
        # three rows but one excluded (all N/A): two scored months → no flag, months 2
        row("d", fix, "2026-10"), row("d", [NA] * 11, "2026-11"), row("d", fix, "2026-12"),
    ]
    doc = _quarter(rows, tmp_path)
    q = aggs(doc)
    assert q[("2026-Q4", "a")]["flags"] == ["连续整改"]
    assert (D(q[("2026-Q4", "a")]["score"]), q[("2026-Q4", "a")]["months"]) == (80, 3)
    assert q[("2026-Q4", "b")]["flags"] == [] and q[("2026-Q4", "b")]["months"] == 2
    assert D(q[("2026-Q4", "c")]["score"]) == Decimal("86.67")
    assert q[("2026-Q4", "c")]["flags"] == []
    assert (q[("2026-Q4", "d")]["months"], q[("2026-Q4", "d")]["flags"]) == (2, [])
    assert all(a["grade"] is None and a["awards"] == {} for a in doc["aggregates"])
    # the monthly flag is on each month that has a 不符合 item
    res = by_key(doc)
    assert res[("2026-11", "c")]["flags"] == [] and res[("2026-10", "c")]["flags"] == ["需整改"]


def test_the_quarter_mean_rounds_half_up(tmp_path: Path) -> None:
    # 63.33 (see the section test) and 100: mean 81.665 → 81.67 (not 81.66)
    low = [NA] * 6 + [B, G, Y, N, Y]
    doc = _quarter([row("a", low, "2026-07"), row("a", [Y] * 11, "2026-09")], tmp_path)
    q = aggs(doc)[("2026-Q3", "a")]
    assert (D(q["score"]), q["months"], q["flags"]) == (Decimal("81.67"), 2, [])
