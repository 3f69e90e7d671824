"""Golden tests for preset `rnd-annual` (rulebook 4.11), through `kaohe score --format json`.

Every expected number is computed by hand from the rulebook:
  monthly attitude = Σ of 4 items (优/良/中/差 points of the seed); ability = round(Σ of 7
  items × 100 / 110, 2); year: performance = Σ round(mark × weight, 2), score =
  round(perf × 70%, 2) + round(mean attitude × 15%, 2) + round(mean ability × 15%, 2) + bonus.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from .inprocess import D, by_key, run_preset

PRESET = "rnd-annual"
MONTHLY = ["responsibility", "initiative", "teamwork", "learning_attitude", "analysis",
           "judgement", "planning", "innovation", "learning", "adaptability", "understanding"]
ANNUAL = ["role", "kpi1", "kpi2", "kpi3", "kpi4", "kpi5", "bonus_points", "salary_step",
          "step_min", "step_max"]
COLUMNS = ["employee", "team", "period", *MONTHLY, *ANNUAL]

# attitude 30 + 20 + 20 + 20 = 90; ability 20 + 20 + 16 + 12 + 12 + 6 + 2 = 88 → 80.00
MONTH_90_80 = ["优", "良", "良", "优", "优", "优", "良", "良", "良", "中", "差"]


def month(employee: str, period: str, levels: list[str] | None = None,
          team: str = "R") -> dict[str, str]:
    return {"employee": employee, "team": team, "period": period,
            **dict(zip(MONTHLY, levels or MONTH_90_80, strict=True))}


def year(employee: str, kpis: tuple[str, ...] = ("90", "80", "100", "60", "50"), *,
         role: str = "研发人员", bonus: str = "0", step: str = "5", lo: str = "1",
         hi: str = "8", period: str = "2026", team: str = "R") -> dict[str, str]:
    return {"employee": employee, "team": team, "period": period, "role": role,
            **{f"kpi{i + 1}": k for i, k in enumerate(kpis)}, "bonus_points": bonus,
            "salary_step": step, "step_min": lo, "step_max": hi}


def to_csv(rows: list[dict[str, str]]) -> str:
    return "\n".join([",".join(COLUMNS)] + [",".join(r.get(c, "") for c in COLUMNS)
                                            for r in rows]) + "\n"


def score_only(target: str, **kw: str) -> dict[str, str]:
    """An annual row whose score is exactly ``target``: all KPI marks 0, no months (averages
    0), the bonus points carry the score."""
    return year("B", ("0", "0", "0", "0", "0"), bonus=target, **kw)


def test_worked_example(cli: Any) -> None:
    rows = [month("E1", f"2026-{m:02d}") for m in range(1, 13)] + [
        year("E1", bonus="2", step="5", lo="1", hi="8")]
    doc = cli(to_csv(rows))
    assert len(doc["results"]) == 12  # the annual row is not a result
    r = by_key(doc)[("2026-03", "E1")]
    assert r["total"] is None and r["grade"] is None and r["rank"] is None
    assert r["coefficient"] is None and r["pay"] == {}
    assert D(r["indicators"]["responsibility"]) == 30
    assert D(r["indicators"]["understanding"]) == 2
    assert set(r["indicators"]) == set(MONTHLY)
    [a] = doc["aggregates"]
    # performance 27 + 20 + 20 + 9 + 5 = 81 → 56.70; 90 × 15% = 13.50; 80 × 15% = 12.00; + 2
    assert a == {"period": "2026", "employee": "E1", "team": "R", "score": 84.2,
                 "grade": "符合要求", "rank": None, "months": 12, "flags": ["提升培训"],
                 "awards": {}, "values": {"step_change": 1, "new_step": 6}}
    assert doc["warnings"] == []


def test_sections(cli: Any) -> None:
    # Jan: ability 88 → 80.00; Feb: attitude 24+20+20+16 = 80, ability 12×3+8+8+6+6 = 64
    # → 64 × 100 / 110 = 58.1818… → 58.18
    feb = ["良", "良", "良", "良", "中", "中", "中", "中", "中", "中", "中"]
    doc = cli(to_csv([month("E1", "2026-01"), month("E1", "2026-02", feb), year("E1")]))
    res = by_key(doc)
    assert res[("2026-01", "E1")]["sections"] == {"attitude": 90, "ability": 80}
    assert res[("2026-02", "E1")]["sections"] == {"attitude": 80, "ability": 58.18}


def test_averages_of_rounded_sections_half_up(cli: Any) -> None:
    # Jan: attitude 30+25+25+16 = 96; ability 20+20+16+12+12+8+8 = 96 → 87.27
    # Feb: attitude 24+20+20+16 = 80; ability 12×3+8+8+6+6 = 64 → 58.18
    jan = ["优", "优", "优", "良", "优", "优", "良", "良", "良", "良", "良"]
    feb = ["良", "良", "良", "良", "中", "中", "中", "中", "中", "中", "中"]
    doc = cli(to_csv([month("E1", "2026-01", jan), month("E1", "2026-02", feb),
                      year("E1", bonus="2")]))
    [a] = doc["aggregates"]
    # attitude mean 88 → 13.20; ability mean (87.27 + 58.18) / 2 = 72.725 → 72.73 → 10.9095
    # → 10.91; 56.70 + 13.20 + 10.91 + 2 = 82.81
    assert D(a["score"]) == Decimal("82.81")
    assert a["months"] == 2


def test_technician_weights(cli: Any) -> None:
    # 技术人员 30/25/25/10/10: 90×.30 + 80×.25 + 100×.25 + 60×.10 + 50×.10 = 27+20+25+6+5 = 83
    # → 58.10; no months: averages 0 → score 58.10 → 尚待改进, −1, 适职培训
    doc = cli(to_csv([year("T1", role="技术人员")]))
    [a] = doc["aggregates"]
    assert D(a["score"]) == Decimal("58.1")
    assert a["grade"] == "尚待改进"
    assert a["values"] == {"step_change": -1, "new_step": 4}
    assert a["flags"] == ["适职培训"]
    assert a["months"] == 0
    assert any("T1" in w and "2026" in w for w in doc["warnings"])


@pytest.mark.parametrize(("target", "grade", "change", "flags"), [
    ("95.01", "优秀", 2, ["提升培训"]),
    ("95", "优秀", 1, ["提升培训"]),
    ("90", "优秀", 1, ["提升培训"]),
    ("89.99", "符合要求", 1, ["提升培训"]),
    ("80.01", "符合要求", 1, ["提升培训"]),
    ("80", "符合要求", 0, ["提升培训"]),
    ("79.99", "符合要求", 0, ["可申请培训"]),
    ("70", "符合要求", 0, ["可申请培训"]),
    ("69.99", "尚待改进", 0, []),
    ("60.01", "尚待改进", 0, []),
    ("60", "尚待改进", 0, ["适职培训"]),
    ("59.99", "尚待改进", -1, ["适职培训"]),
])
def test_boundaries(cli: Any, target: str, grade: str, change: int, flags: list[str]) -> None:
    doc = cli(to_csv([score_only(target, step="4", lo="1", hi="8")]))
    [a] = doc["aggregates"]
    assert D(a["score"]) == Decimal(target)
    assert a["grade"] == grade
    assert a["values"] == {"step_change": change, "new_step": 4 + change}
    assert a["flags"] == flags


@pytest.mark.parametrize(("target", "step", "lo", "hi", "change", "new"), [
    ("96", "8", "1", "8", 0, 8),    # +2 clamped at the top of the range: 0 included
    ("96", "7", "1", "8", 1, 8),    # +2 clamped to +1
    ("50", "1", "1", "8", 0, 1),    # −1 clamped at the bottom
    ("50", "3", "3", "6", 0, 3),
    ("85", "6", "1", "6", 0, 6),
])
def test_step_clamping(cli: Any, target: str, step: str, lo: str, hi: str, change: int,
                       new: int) -> None:
    doc = cli(to_csv([score_only(target, step=step, lo=lo, hi=hi)]))
    assert doc["aggregates"][0]["values"] == {"step_change": change, "new_step": new}


def test_bonus_rounded_half_up(cli: Any) -> None:
    doc = cli(to_csv([score_only("2.005")]))
    assert D(doc["aggregates"][0]["score"]) == Decimal("2.01")


def test_missing_annual_row_warns_and_gives_no_aggregate(cli: Any) -> None:
    doc = cli(to_csv([month("E1", "2026-01"), month("E2", "2026-01"), year("E2")]))
    assert [a["employee"] for a in doc["aggregates"]] == ["E2"]
    assert len(doc["results"]) == 2
    assert [w for w in doc["warnings"] if "E1" in w and "2026" in w]


def test_aggregate_team_is_the_annual_rows(cli: Any) -> None:
    doc = cli(to_csv([month("E1", "2026-01", team="A"), year("E1", team="B")]))
    assert doc["aggregates"][0]["team"] == "B"


def test_cells_of_the_other_kind_of_row_are_ignored(cli: Any) -> None:
    m = month("E1", "2026-01")
    m.update({"kpi1": "not a mark", "role": "??"})
    y = year("E1", bonus="2")
    y.update({"responsibility": "bad level"})
    doc = cli(to_csv([m, y]))
    [a] = doc["aggregates"]
    # 56.70 + 13.50 + 12.00 + 2 = 84.20 with one month
    assert D(a["score"]) == Decimal("84.2")


def test_two_years(cli: Any) -> None:
    doc = cli(to_csv([month("E1", "2025-12"), year("E1", period="2025", bonus="1"),
                      month("E1", "2026-01"), year("E1", period="2026", bonus="2")]))
    got = {a["period"]: D(a["score"]) for a in doc["aggregates"]}
    assert got == {"2025": Decimal("83.2"), "2026": Decimal("84.2")}


def test_blank_kpi_is_bad_input(tmp_path: Any) -> None:
    y = year("E1")
    y["kpi3"] = ""
    code, out, err = run_preset(tmp_path, PRESET, to_csv([month("E1", "2026-01"), y]))
    assert code == 2 and out == ""
    assert "row 3" in err and "'kpi3'" in err and "missing" in err


def test_duplicate_annual_row_is_bad_input(tmp_path: Any) -> None:
    code, out, err = run_preset(tmp_path, PRESET, to_csv(
        [year("E1"), month("E1", "2026-01"), year("E1", bonus="3")]))
    assert code == 2 and out == ""
    assert "row 4" in err and "'E1'" in err and "2026" in err and "row 2" in err


def test_bad_annual_mark_is_bad_input(tmp_path: Any) -> None:
    code, out, err = run_preset(tmp_path, PRESET, to_csv(
        [year("E1", ("90", "80", "120", "60", "50"))]))
    assert code == 2 and out == ""
    assert "row 2" in err and "'kpi3'" in err and "120" in err


def test_quarter_row_is_refused_without_quarterly_inputs(tmp_path: Any) -> None:
    y = year("E1", period="2026-Q4")
    code, out, err = run_preset(tmp_path, PRESET, to_csv([y]))
    assert code == 2 and out == ""
    assert "row 2" in err and "2026-Q4" in err and "YYYY" in err
