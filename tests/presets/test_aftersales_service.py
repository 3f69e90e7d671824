"""Golden tests for preset `aftersales-service` (rulebook 4.7), every expected value computed by hand.

satisfaction (0-100 survey score) 20: >=90: 20; [85,90): 10; [80,85): 5; <80: 0
service_detail 40: level 1级 8, 2级 16, 3级 24, 4级 32, 5级 40 (written 1-5 or 1级-5级)
revisit 20: revisit_target_met = 1 -> 20; else revisit_rate >= 90% -> 10; else 0
            (revisit_rate is read only when the target is not met)
complaints 20: 20 - 5 x unmet (0-3)
Grade / coefficient: A >=90 1.2; B [80,90) 1.0; C [70,80) 0.8; D [60,70) 0.5; E <60 0.
Pay: perf_pay = coefficient x perf_pay_base, rounded half-up to the fen.

Achievable totals move in steps of 1-5 points (e.g. 89 cannot be reached: the only service score
that is 4 mod 5 is 24, and 89 - 24 = 65 > 60), so the grade edges are tested with the nearest
reachable totals on either side.

The tests run the real `kaohe score` command in-process (Typer's CliRunner) to keep the folder
fast; test_sales_rep.py also runs it as a subprocess through the shared `score` fixture.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from .inprocess import D, by_key, run_preset

PRESET = "aftersales-service"
INPUTS = ["satisfaction", "service_level", "revisit_target_met", "revisit_rate", "unmet", "perf_pay_base"]
COLUMNS = ["employee", "period", "team", *INPUTS]

# base row: 20 (92 >= 90) + 32 (4级) + 20 (target met) + 15 (1 unmet) = 87 -> B, 1.0
DEFAULT = {"satisfaction": "92", "service_level": "4", "revisit_target_met": "1", "revisit_rate": "",
           "unmet": "1", "perf_pay_base": "2000"}

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
    doc = cli(to_csv([row("AS01")]))
    assert doc["scheme"] == PRESET
    [res] = doc["results"]
    ind = res["indicators"]
    assert set(ind) == {"satisfaction", "service_detail", "revisit", "complaints"}
    assert D(ind["satisfaction"]) == Decimal("20")    # 92 >= 90
    assert D(ind["service_detail"]) == Decimal("32")  # 4级
    assert D(ind["revisit"]) == Decimal("20")         # target met; the blank rate is not read
    assert D(ind["complaints"]) == Decimal("15")      # 20 - 5 x 1
    assert D(res["total"]) == Decimal("87.00")
    assert res["grade"] == "B"
    assert D(res["coefficient"]) == Decimal("1.0")
    assert res["rank"] == 1
    assert set(res["pay"]) == {"perf_pay", "total"}
    assert D(res["pay"]["perf_pay"]) == Decimal("2000.00")  # 1.0 x 2000
    assert D(res["pay"]["total"]) == Decimal("2000.00")
    assert res["flags"] == []
    assert res["excluded"] is False
    assert doc["aggregates"] == []


# ---------------------------------------------------------------- satisfaction bands


def test_satisfaction_band_edges(cli):
    cases = {  # survey score: points
        "100": "20", "90": "20", "89.99": "10", "85": "10", "84.99": "5", "80": "5", "79.99": "0", "0": "0",
    }
    rows = [row(f"s{i}", satisfaction=v) for i, v in enumerate(cases)]
    res = by_key(cli(to_csv(rows)))
    for i, (v, pts) in enumerate(cases.items()):
        r = res[("2026-10", f"s{i}")]
        assert D(r["indicators"]["satisfaction"]) == Decimal(pts), v
        # total = points + 32 + 20 + 15 = points + 67
        assert D(r["total"]) == Decimal(pts) + 67, v


# ---------------------------------------------------------------- service detail levels


def test_service_levels_in_both_spellings(cli):
    expect = {"1": "8", "1级": "8", "2": "16", "2级": "16", "3": "24", "3级": "24",
              "4": "32", "4级": "32", "5": "40", "5级": "40"}
    rows = [row(f"l{i}", service_level=lv) for i, lv in enumerate(expect)]
    res = by_key(cli(to_csv(rows)))
    for i, (lv, pts) in enumerate(expect.items()):
        r = res[("2026-10", f"l{i}")]
        assert D(r["indicators"]["service_detail"]) == Decimal(pts), lv
        assert D(r["total"]) == Decimal(pts) + 55, lv  # 20 + 20 + 15 + service


def test_unknown_service_level_is_bad_input(tmp_path):
    code, out, err = run_cli(tmp_path, to_csv([row("ok"), row("bad", service_level="6级")]))
    assert code == 2
    assert out == ""
    assert "row 3" in err and "service_level" in err and "6级" in err, err


# ---------------------------------------------------------------- revisits


def test_revisit_target_then_rate(cli):
    rows = [
        row("met", revisit_target_met="1", revisit_rate=""),        # 20
        row("met_low", revisit_target_met="1", revisit_rate="10%"),  # 20: the rate is not read
        row("r90p", revisit_target_met="0", revisit_rate="90%"),    # exactly 90% -> 10
        row("r90r", revisit_target_met="0", revisit_rate="0.9"),    # same as a ratio -> 10
        row("r100", revisit_target_met="0", revisit_rate="100%"),   # 10 (not 20: target not met)
        row("r8999", revisit_target_met="0", revisit_rate="89.99%"),  # 0
        row("r0", revisit_target_met="0", revisit_rate="0"),        # 0
    ]
    res = by_key(cli(to_csv(rows)))
    expect = {"met": "20", "met_low": "20", "r90p": "10", "r90r": "10", "r100": "10", "r8999": "0", "r0": "0"}
    for emp, pts in expect.items():
        r = res[("2026-10", emp)]
        assert D(r["indicators"]["revisit"]) == Decimal(pts), emp
        assert D(r["total"]) == Decimal(pts) + 67, emp  # 20 + 32 + 15 + revisit


def test_missing_revisit_rate_when_target_not_met_is_bad_input(tmp_path):
    # the rate is read when the target is not met, so a blank there cannot be scored
    code, out, err = run_cli(tmp_path, to_csv([row("bad", revisit_target_met="0", revisit_rate="")]))
    assert code == 2
    assert out == ""
    assert "revisit_rate" in err, err


# ---------------------------------------------------------------- complaints


def test_complaints_five_per_unmet_requirement(cli):
    rows = [row(f"u{n}", unmet=str(n)) for n in range(4)]
    res = by_key(cli(to_csv(rows)))
    for n in range(4):
        r = res[("2026-10", f"u{n}")]
        pts = 20 - 5 * n  # 20, 15, 10, 5
        assert D(r["indicators"]["complaints"]) == Decimal(pts), n
        assert D(r["total"]) == Decimal(72 + pts), n  # 20 + 32 + 20 + complaints
    # 92 -> A, 87 -> B, 82 -> B, 77 -> C
    assert [res[("2026-10", f"u{n}")]["grade"] for n in range(4)] == ["A", "B", "B", "C"]


def test_unmet_above_three_is_bad_input(tmp_path):
    # unmet counts the three requirements (2h response, 3 working days, 100% resolution): 0-3
    code, out, err = run_cli(tmp_path, to_csv([row("bad", unmet="4")]))
    assert code == 2
    assert out == ""
    assert "unmet" in err and "4" in err, err


# ---------------------------------------------------------------- grades, coefficients and pay


def test_grade_cut_offs_coefficients_and_pay(cli):
    base = "3333.33"
    cases = [
        # employee, satisfaction, level, target met, rate, unmet -> total, grade, coefficient, perf_pay
        ("t100", "95", "5", "1", "", "0", "100", "A", "1.2", "4000.00"),  # 3333.33 x 1.2 = 3999.996
        ("t90", "90", "5", "0", "90%", "0", "90", "A", "1.2", "4000.00"),  # 20 + 40 + 10 + 20
        ("t87", "90", "4", "1", "", "1", "87", "B", "1.0", "3333.33"),     # 20 + 32 + 20 + 15
        ("t80", "85", "5", "0", "95%", "0", "80", "B", "1.0", "3333.33"),  # 10 + 40 + 10 + 20
        ("t79", "90", "3", "1", "", "1", "79", "C", "0.8", "2666.66"),     # 20 + 24 + 20 + 15; 2666.664
        ("t70", "89", "5", "0", "50%", "0", "70", "C", "0.8", "2666.66"),  # 10 + 40 + 0 + 20
        ("t69", "85", "3", "1", "", "1", "69", "D", "0.5", "1666.67"),     # 10 + 24 + 20 + 15; 1666.665
        ("t60", "79", "5", "0", "0.5", "0", "60", "D", "0.5", "1666.67"),  # 0 + 40 + 0 + 20
        ("t59", "80", "3", "0", "90%", "0", "59", "E", "0", "0.00"),       # 5 + 24 + 10 + 20
        ("t13", "0", "1", "0", "0", "3", "13", "E", "0", "0.00"),          # 0 + 8 + 0 + 5 (the lowest)
    ]
    rows = [row(emp, satisfaction=s, service_level=lv, revisit_target_met=m, revisit_rate=rate, unmet=u,
                perf_pay_base=base)
            for emp, s, lv, m, rate, u, *_ in cases]
    res = by_key(cli(to_csv(rows)))
    for emp, *_, total, grade, coef, pay in cases:
        r = res[("2026-10", emp)]
        assert D(r["total"]) == Decimal(total), emp
        assert r["grade"] == grade, emp
        assert D(r["coefficient"]) == Decimal(coef), emp
        assert D(r["pay"]["perf_pay"]) == Decimal(pay), emp
        assert D(r["pay"]["total"]) == Decimal(pay), emp
    # ranks by total: t100, t90, t87, t80, t79, t70, t69, t60, t59, t13
    assert [res[("2026-10", c[0])]["rank"] for c in cases] == list(range(1, 11))


def test_pay_rounding_to_the_fen(cli):
    rows = [
        row("p1", unmet="0", perf_pay_base="1234.57"),   # 92 -> A: 1234.57 x 1.2 = 1481.484 -> 1481.48
        row("p2", unmet="0", perf_pay_base="2345.68"),   # 1.2 x 2345.68 = 2814.816 -> 2814.82
        row("p3", unmet="3", perf_pay_base="1234.57"),   # 77 -> C: 0.8 x 1234.57 = 987.656 -> 987.66
        row("p4", unmet="3", service_level="3", perf_pay_base="1111.11"),  # 69 -> D: 555.555 -> 555.56
        row("p5", perf_pay_base="0"),                    # B x 0 = 0
    ]
    res = by_key(cli(to_csv(rows)))
    expect = {"p1": ("A", "1481.48"), "p2": ("A", "2814.82"), "p3": ("C", "987.66"), "p4": ("D", "555.56"),
              "p5": ("B", "0")}
    for emp, (grade, pay) in expect.items():
        r = res[("2026-10", emp)]
        assert r["grade"] == grade, emp
        assert D(r["pay"]["perf_pay"]) == Decimal(pay), emp


def test_rank_ties_by_employee_id_text_per_team_and_period(cli):
    rows = [row("K9"), row("K10"), row("K1", unmet="0"),      # 87, 87, 92
            row("K2", team="T2"), row("K3", period="2026-11")]
    res = by_key(cli(to_csv(rows)))
    # T1 2026-10: K1 92 > K10 87 = K9 87 ("K10" < "K9" as text)
    assert res[("2026-10", "K1")]["rank"] == 1
    assert res[("2026-10", "K10")]["rank"] == 2
    assert res[("2026-10", "K9")]["rank"] == 3
    assert res[("2026-10", "K2")]["rank"] == 1
    assert res[("2026-11", "K3")]["rank"] == 1
