"""Golden tests for preset `foreign-trade` (rulebook 4.12), through `kaohe score --format json`
with the item table `--table late_payments=FILE.csv`. Every expected value is computed by hand:

  total = round(0.2 self + 0.5 supervisor + 0.3 manager, 2); 优 >90 1.3, 良 (80,90] 1.1,
  中 (70,80] 1.0, 基本合格 (60,70] 0.8, 不合格 <=60 0.4; commission coefficient 1.1/1.0/0.8/0.8/0.4;
  attendance factor: <=10 → 0, <=20 → 50%, else 100%; commission = max(collected − costs, 0)
  × rate(position, 职等) × coefficient; reserve = −30% × commission; late penalty per deal
  min(amount × 0.05% × ceil((days − 15) / 15), deal commission) when days > 15.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kaohe.cli import app

from .inprocess import D, aggs, by_key

PRESET = "foreign-trade"
COLUMNS = ["employee", "team", "period", "position", "job_grade", "score@self",
           "score@supervisor", "score@manager", "attendance_days", "collected", "costs",
           "violation"]
DEAL_COLUMNS = ["employee", "period", "deal", "amount", "days_late", "deal_commission"]
_RUNNER = CliRunner()


def row(employee: str, mark: str = "84.5", *, period: str = "2026-10", team: str = "T",
        position: str = "业务员", grade: str = "Ⅱ级", days: str = "21", collected: str = "0",
        costs: str = "0", violation: str = "0", marks: tuple[str, str, str] | None = None
        ) -> dict[str, str]:
    s, u, m = marks or (mark, mark, mark)
    return {"employee": employee, "team": team, "period": period, "position": position,
            "job_grade": grade, "score@self": s, "score@supervisor": u, "score@manager": m,
            "attendance_days": days, "collected": collected, "costs": costs,
            "violation": violation}


def deal(employee: str, amount: str, days: str, commission: str, period: str = "2026-10",
         name: str = "D") -> dict[str, str]:
    return {"employee": employee, "period": period, "deal": name, "amount": amount,
            "days_late": days, "deal_commission": commission}


def _csv(columns: list[str], rows: list[dict[str, str]]) -> str:
    return "\n".join([",".join(columns)] + [",".join(r.get(c, "") for c in columns)
                                            for r in rows]) + "\n"


def run(tmp: Path, rows: list[dict[str, str]], deals: list[dict[str, str]] | None = None,
        ) -> tuple[int, str, str]:
    n = len(list(tmp.glob("in-*.csv")))
    main = tmp / f"in-{n}.csv"
    main.write_text(_csv(COLUMNS, rows), encoding="utf-8")
    args = ["score", "--preset", PRESET, "--input", str(main), "--format", "json"]
    if deals is not None:
        table = tmp / f"deals-{n}.csv"
        table.write_text(_csv(DEAL_COLUMNS, deals), encoding="utf-8")
        args += ["--table", f"late_payments={table}"]
    res = _RUNNER.invoke(app, args)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture
def ft(tmp_path: Path) -> Any:
    import json

    def score(rows: list[dict[str, str]], deals: list[dict[str, str]] | None = None
              ) -> dict[str, Any]:
        code, out, err = run(tmp_path, rows, deals)
        assert code == 0, err
        doc: dict[str, Any] = json.loads(out)
        return doc

    return score


def test_worked_example(ft: Any) -> None:
    doc = ft([row("F1", marks=("90", "85", "80"), days="18", collected="500000",
                  costs="200000")],
             [deal("F1", "100000", "16", "920"), deal("F1", "80000", "60", "100")])
    [r] = doc["results"]
    assert r["total"] == 84.5 and r["grade"] == "良" and r["coefficient"] == 1.1
    assert r["indicators"] == {"score": 84.5} and r["sections"] == {}
    assert r["rank"] == 1 and r["flags"] == [] and r["excluded"] is False
    assert {k: D(v) for k, v in r["pay"].items()} == {
        "base": 4550, "float_pay": Decimal("275.00"), "allowance": Decimal("150.00"),
        "commission": Decimal("2760.00"), "reserve": Decimal("-828.00"),
        "late_penalty": Decimal("-150.00"), "total": Decimal("6757.00")}
    q, y = doc["aggregates"]
    assert q == {"period": "2026-Q4", "employee": "F1", "team": "T", "score": 84.5,
                 "grade": None, "rank": 1, "months": 1, "flags": [],
                 "awards": {"quarter_award": 2000}, "values": {}}
    assert y == {"period": "2026", "employee": "F1", "team": "T", "score": 84.5,
                 "grade": None, "rank": 1, "months": 1, "flags": [],
                 "awards": {"annual_award": 3000}, "values": {"reserve_held": 828}}


@pytest.mark.parametrize(("marks", "total", "grade", "coef", "commission"), [
    (("90.05", "90", "90"), "90.01", "优", "1.3", "880.00"),
    (("90", "90", "90"), "90", "良", "1.1", "800.00"),
    (("80.05", "80", "80"), "80.01", "良", "1.1", "800.00"),
    (("80", "80", "80"), "80", "中", "1", "640.00"),
    (("70", "70", "70"), "70", "基本合格", "0.8", "640.00"),
    (("60.05", "60", "60"), "60.01", "基本合格", "0.8", "640.00"),
    (("60", "60", "60"), "60", "不合格", "0.4", "320.00"),
])
def test_grade_boundaries_and_commission_coefficient(
        ft: Any, marks: tuple[str, str, str], total: str, grade: str, coef: str,
        commission: str) -> None:
    # 业务助理 Ⅰ级: rate 0.80%; 100000 × 0.8% = 800 × the commission coefficient
    doc = ft([row("A", marks=marks, position="业务助理", grade="1", collected="100000")])
    [r] = doc["results"]
    assert D(r["total"]) == Decimal(total)
    assert r["grade"] == grade and D(r["coefficient"]) == Decimal(coef)
    assert D(r["pay"]["commission"]) == Decimal(commission)
    assert D(r["pay"]["reserve"]) == -Decimal(commission) * Decimal("0.3")


def test_missing_rater_shares_weight(ft: Any) -> None:
    # self blank: supervisor 5/8, manager 3/8 → 80 × 0.625 + 88 × 0.375 = 83
    doc = ft([row("A", marks=("", "80", "88"))])
    assert D(doc["results"][0]["total"]) == Decimal("83")
    assert any("A" in w and "self" in w for w in doc["warnings"])


@pytest.mark.parametrize(("days", "float_pay", "allowance"), [
    ("10", "0", "0"), ("10.5", "275.00", "150.00"), ("20", "275.00", "150.00"),
    ("20.5", "550.00", "300.00"), ("21", "550.00", "300.00"), ("0", "0", "0"),
])
def test_attendance_factor(ft: Any, days: str, float_pay: str, allowance: str) -> None:
    doc = ft([row("A", days=days)])  # 业务员 Ⅱ级: float 550, allowance 300
    pay = doc["results"][0]["pay"]
    assert D(pay["base"]) == 4550
    assert D(pay["float_pay"]) == Decimal(float_pay)
    assert D(pay["allowance"]) == Decimal(allowance)


@pytest.mark.parametrize(("position", "grade", "base", "float_pay", "allowance", "rate"), [
    ("业务助理", "Ⅰ级", 3050, 300, 150, "0.0080"), ("业务助理", "Ⅲ级", 3500, 500, 250, "0.010"),
    ("初级业务员", "Ⅱ级", 4000, 500, 250, "0.0091"), ("初级业务员", "3", 4250, 550, 300, "0.0101"),
    ("业务员", "1", 4250, 500, 250, "0.0082"), ("业务员", "Ⅲ级", 4800, 600, 350, "0.0102"),
])
def test_pay_tables(ft: Any, position: str, grade: str, base: int, float_pay: int,
                    allowance: int, rate: str) -> None:
    # mark 85 → 良, commission coefficient 1.0; profit 100000
    doc = ft([row("A", "85", position=position, grade=grade, collected="150000",
                  costs="50000")])
    pay = doc["results"][0]["pay"]
    assert (D(pay["base"]), D(pay["float_pay"]), D(pay["allowance"])) == (
        base, float_pay, allowance)
    assert D(pay["commission"]) == Decimal(100000) * Decimal(rate)


def test_reserve_rounds_half_away_from_zero(ft: Any) -> None:
    # 业务助理 Ⅲ级 1.0%, 良 1.0: 123455 × 1% = 1234.55; × 30% = 370.365 → −370.37
    doc = ft([row("A", "85", position="业务助理", grade="Ⅲ级", collected="123455")])
    pay = doc["results"][0]["pay"]
    assert D(pay["commission"]) == Decimal("1234.55")
    assert D(pay["reserve"]) == Decimal("-370.37")


def test_costs_above_collected_give_no_commission(ft: Any) -> None:
    doc = ft([row("A", "85", collected="1000", costs="5000")])
    pay = doc["results"][0]["pay"]
    assert D(pay["commission"]) == 0 and D(pay["reserve"]) == 0


@pytest.mark.parametrize(("days", "penalty", "review"), [
    ("15", "0", False), ("16", "50.00", False), ("30", "50.00", False),
    ("31", "100.00", False), ("180", "550.00", False), ("181", "600.00", True),
    ("0", "0", False),
])
def test_days_late(ft: Any, days: str, penalty: str, review: bool) -> None:
    doc = ft([row("A")], [deal("A", "100000", days, "10000")])
    r = doc["results"][0]
    assert D(r["pay"]["late_penalty"]) == -Decimal(penalty)
    assert r["flags"] == (["风险赔偿审查"] if review else [])


def test_penalty_capped_by_deal_commission_and_rounded_per_deal(ft: Any) -> None:
    # 80000 at 60 days: 120.00 capped at 100; 12345.67 at 16 days twice: 6.172835 → 6.17 each
    doc = ft([row("A")], [deal("A", "80000", "60", "100"), deal("A", "12345.67", "16", "500"),
                          deal("A", "12345.67", "16", "500")])
    assert D(doc["results"][0]["pay"]["late_penalty"]) == Decimal("-112.34")


def test_without_the_table_no_late_deals(ft: Any) -> None:
    doc = ft([row("A")])
    r = doc["results"][0]
    assert D(r["pay"]["late_penalty"]) == 0 and r["flags"] == []


def test_deals_only_in_their_own_month(ft: Any) -> None:
    doc = ft([row("A"), row("A", period="2026-11")], [deal("A", "100000", "200", "10000")])
    res = by_key(doc)
    assert res[("2026-10", "A")]["flags"] == ["风险赔偿审查"]
    assert res[("2026-11", "A")]["flags"] == []
    assert D(res[("2026-11", "A")]["pay"]["late_penalty"]) == 0


def test_violation_excludes(ft: Any) -> None:
    doc = ft([row("A", "70"), row("B", "90", violation="1"),
              row("A", "80", period="2026-11"), row("B", "60", period="2026-11")])
    res = by_key(doc)
    b = res[("2026-10", "B")]
    assert b["excluded"] is True and b["total"] is None and b["rank"] is None
    assert b["pay"] == {} and b["indicators"] == {}
    assert res[("2026-10", "A")]["rank"] == 1
    assert any("B" in w and "违规取消考核资格" in w for w in doc["warnings"])
    q = aggs(doc)
    # A: (70 + 80) / 2 = 75 over 2 months; B: only November counts → 60, 1 month
    assert q[("2026-Q4", "A")]["months"] == 2 and D(q[("2026-Q4", "A")]["score"]) == 75
    assert q[("2026-Q4", "B")]["months"] == 1 and D(q[("2026-Q4", "B")]["score"]) == 60


def test_only_excluded_months_give_no_aggregate(ft: Any) -> None:
    doc = ft([row("A", "70"), row("B", "90", violation="1")])
    assert {a["employee"] for a in doc["aggregates"]} == {"A"}


def test_quarter_awards_by_rank_and_threshold(ft: Any) -> None:
    doc = ft([row("P1", "85"), row("P2", "75"), row("P3", "65"), row("P4", "50"),
              row("Q1", "79.99", team="U"), row("Q2", "75", team="U"), row("Q3", "59.99", team="U")])
    q = {e: a for (p, e), a in aggs(doc).items() if p == "2026-Q4"}
    assert [q[e]["rank"] for e in ("P1", "P2", "P3", "P4")] == [1, 2, 3, 4]
    assert q["P1"]["awards"] == {"quarter_award": 2000}
    assert q["P2"]["awards"] == {"quarter_award": 1500}
    assert q["P3"]["awards"] == {"quarter_award": 800}
    assert q["P4"]["awards"] == {}
    # rank 1 below 80: nothing, and nothing passed down; rank 3 below 60: nothing
    assert q["Q1"]["awards"] == {} and q["Q2"]["awards"] == {"quarter_award": 1500}
    assert q["Q3"]["awards"] == {}


@pytest.mark.parametrize(("scores", "awards"), [
    (("80", "70", "60"), (2000, 1500, 800)),
    (("79.99", "69.99", "59.99"), (None, None, None)),
])
def test_quarter_award_thresholds_exact(ft: Any, scores: tuple[str, str, str],
                                        awards: tuple[int | None, ...]) -> None:
    doc = ft([row(f"P{i}", s) for i, s in enumerate(scores, start=1)])
    q = aggs(doc)
    for i, want in enumerate(awards, start=1):
        got = q[("2026-Q4", f"P{i}")]["awards"]
        assert got == ({"quarter_award": want} if want else {})


def test_ties_broken_by_employee_id_as_text(ft: Any) -> None:
    doc = ft([row("E9", "85"), row("E10", "85")])
    q = aggs(doc)
    assert q[("2026-Q4", "E10")]["rank"] == 1 and q[("2026-Q4", "E9")]["rank"] == 2
    assert q[("2026-Q4", "E9")]["awards"] == {"quarter_award": 1500}
    assert by_key(doc)[("2026-10", "E10")]["rank"] == 1


def test_quarter_mean_rounded(ft: Any) -> None:
    doc = ft([row("A", "84.33"), row("A", "85", period="2026-11"),
              row("A", "85", period="2026-12")])
    # (84.33 + 85 + 85) / 3 = 84.7766… → 84.78
    assert D(aggs(doc)[("2026-Q4", "A")]["score"]) == Decimal("84.78")


def test_year_awards_and_reserve_held(ft: Any) -> None:
    rows = [row("A", "90", collected="100000"), row("A", "88", period="2026-03",
                                                    collected="50000"),
            row("B", "85"), row("C", "70"), row("D", "65")]
    doc = ft(rows)
    y = {e: a for (p, e), a in aggs(doc).items() if p == "2026"}
    # A: (90 + 88) / 2 = 89 → rank 1; B 85; C 70; D 65
    assert [y[e]["rank"] for e in "ABCD"] == [1, 2, 3, 4]
    assert [y[e]["awards"] for e in "ABCD"] == [
        {"annual_award": 3000}, {"annual_award": 2000}, {"annual_award": 1000}, {}]
    # A: 业务员 Ⅱ级 0.92% × 良 1.0: 920 → reserve 276; 460 → 138; held 414
    assert y["A"]["values"] == {"reserve_held": 414}
    assert y["B"]["values"] == {"reserve_held": 0}
    assert y["A"]["months"] == 2
    assert y["A"]["grade"] is None
    q1 = aggs(doc)[("2026-Q1", "A")]
    assert q1["values"] == {} and q1["months"] == 1


def test_item_row_matching_no_employee_month_is_bad_input(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, [row("A")], [deal("A", "100", "20", "10"),
                                                deal("Z9", "100", "20", "10")])
    assert code == 2 and out == ""
    assert "deals-0.csv" in err and "row 3" in err and "Z9" in err


def test_item_row_in_another_month_is_bad_input(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, [row("A")], [deal("A", "100", "20", "10", period="2026-11")])
    assert code == 2 and out == ""
    assert "row 2" in err and "'A'" in err and "2026-11" in err


def test_bad_item_value_is_bad_input(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, [row("A")], [deal("A", "100", "-3", "10")])
    assert code == 2 and out == ""
    assert "deals-0.csv" in err and "row 2" in err and "days_late" in err


def test_unknown_item_table_is_an_error(tmp_path: Path) -> None:
    main = tmp_path / "in.csv"
    main.write_text(_csv(COLUMNS, [row("A")]), encoding="utf-8")
    other = tmp_path / "x.csv"
    other.write_text("employee,period\nA,2026-10\n", encoding="utf-8")
    res = _RUNNER.invoke(app, ["score", "--preset", PRESET, "--input", str(main),
                               "--format", "json", "--table", f"bonuses={other}"])
    assert res.exit_code == 2 and "late_payments" in res.stderr
