"""Golden tests for preset `ecommerce-commission` (rulebook 4.4), every expected value computed by hand.

Points (form's 50-point scale):
  response (s) 15: <30: 15; [30,40): 12; [40,50): 8; [50,60): 4; >=60: 0
  reply_rate = replied / received, 15: >=100%: 15; [98,100): 12; [96,98): 8; [94,96): 4; [90,94): 2; <90: 0
  satisfaction = (very_satisfied + satisfied) / surveys, 20:
      >=95%: 20; [92,95): 16; [90,92): 12; [88,90): 8; [85,88): 4; <85: 0
total = 2 x (sum of points). grade and coefficient null.
Commission rate by buyers / inquiries: >=60%: 6‰; [55,60): 4‰; [50,55): 3‰; [40,50): 2‰; <40%: 1‰.
commission = sales x rate x total / 100.
sales_award: team >= 3: 300/200/100 to the top 3 by sales (ties: employee id); team of 1 or 2: 200
to rank 1 only. Quarterly aggregate: score = sum of monthly totals; quarterly_award 800/600/300.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

PRESET = "ecommerce-commission"
INPUTS = ["response_s", "received", "replied", "very_satisfied", "satisfied", "surveys",
          "inquiries", "buyers", "sales"]
COLUMNS = ["employee", "period", "team", *INPUTS]

# response 25 s -> 15; 500/500 = 100% -> 15; (150+42)/200 = 96% -> 20 => total 2 x 50 = 100
# 180/300 = 60% -> 6‰
DEFAULT = {"response_s": "25", "received": "500", "replied": "500", "very_satisfied": "150",
           "satisfied": "42", "surveys": "200", "inquiries": "300", "buyers": "180",
           "sales": "200000"}


def D(x: Any) -> Decimal:
    return Decimal(str(x))


def row(employee: str, team: str = "T1", period: str = "2026-10", **over: str) -> dict[str, str]:
    r = {"employee": employee, "period": period, "team": team, **DEFAULT}
    r.update(over)
    return r


def to_csv(rows: list[dict[str, str]], labels: dict[str, str] | None = None) -> str:
    head = [(labels or {}).get(c, c) for c in COLUMNS]
    return "\n".join([",".join(head)] + [",".join(r[c] for c in COLUMNS) for r in rows]) + "\n"


def by_key(doc: dict[str, Any]) -> dict[tuple[Any, str], dict[str, Any]]:
    return {(r["period"], r["employee"]): r for r in doc["results"]}


def aggs(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(a["period"], a["employee"]): a for a in doc["aggregates"]}


def test_full_marks_commission_and_key_sets(score):
    doc = score(PRESET, to_csv([row("A1")]))
    r = by_key(doc)[("2026-10", "A1")]
    assert set(r["indicators"]) == {"response", "reply_rate", "satisfaction"}
    assert set(r["pay"]) == {"commission", "sales_award", "total"}
    assert D(r["indicators"]["response"]) == Decimal("15")
    assert D(r["indicators"]["reply_rate"]) == Decimal("15")
    assert D(r["indicators"]["satisfaction"]) == Decimal("20")
    # 2 x (15 + 15 + 20) = 100
    assert D(r["total"]) == Decimal("100.00")
    assert r["grade"] is None
    assert r["coefficient"] is None
    # 200000 x 6‰ x 100 / 100 = 1200.00; alone in its team -> sales_award 200
    assert D(r["pay"]["commission"]) == Decimal("1200.00")
    assert D(r["pay"]["sales_award"]) == Decimal("200.00")
    assert D(r["pay"]["total"]) == Decimal("1400.00")


def test_chinese_label_for_sales(score):
    doc = score(PRESET, to_csv([row("A1")], labels={"sales": "成交订单金额"}))
    r = by_key(doc)[("2026-10", "A1")]
    assert D(r["total"]) == Decimal("100")
    assert D(r["pay"]["commission"]) == Decimal("1200.00")


def test_band_boundaries_and_commission_rates(score):
    rows = [
        # 30 s -> 12; 490/500 = 98% -> 12; (60+32)/100 = 92% -> 16 => 2 x 40 = 80
        # 110/200 = 55% -> 4‰; 123456 x 0.004 x 80/100 = 395.0592 -> 395.06
        row("M2", response_s="30", replied="490", surveys="100", very_satisfied="60",
            satisfied="32", inquiries="200", buyers="110", sales="123456"),
        # 50 s -> 4; 470/500 = 94% -> 4; 85/100 = 85% -> 4 => 2 x 12 = 24
        # 40/100 = 40% -> 2‰; 50000 x 0.002 x 24/100 = 24.00
        row("M3", response_s="50", replied="470", surveys="100", very_satisfied="50",
            satisfied="35", inquiries="100", buyers="40", sales="50000"),
        # 60 s -> 0; 450/500 = 90% -> 2; 88/100 = 88% -> 8 => 2 x 10 = 20
        # 50/100 = 50% -> 3‰; 10000 x 0.003 x 20/100 = 6.00
        row("M4", response_s="60", replied="450", surveys="100", very_satisfied="80",
            satisfied="8", inquiries="100", buyers="50", sales="10000"),
        # 40 s -> 8; 480/500 = 96% -> 8; 90/100 = 90% -> 12 => 2 x 28 = 56
        # 399/1000 = 39.9% -> 1‰; 77777 x 0.001 x 56/100 = 43.55512 -> 43.56
        row("M5", response_s="40", replied="480", surveys="100", very_satisfied="90",
            satisfied="0", inquiries="1000", buyers="399", sales="77777"),
        # 59.99 s -> 4; 449/500 = 89.8% -> 0; 169/200 = 84.5% -> 0 => 2 x 4 = 8
        # 60/100 = 60% -> 6‰; 100000 x 0.006 x 8/100 = 48.00
        row("M6", response_s="59.99", replied="449", surveys="200", very_satisfied="100",
            satisfied="69", inquiries="100", buyers="60", sales="100000"),
        # 29.99 s -> 15; 499/500 = 99.8% -> 12; 95/100 = 95% -> 20 => 2 x 47 = 94
        # 59/100 = 59% -> 4‰; 1000 x 0.004 x 94/100 = 3.76
        row("M7", response_s="29.99", replied="499", surveys="100", very_satisfied="95",
            satisfied="0", inquiries="100", buyers="59", sales="1000"),
        # 25 s -> 15; 450/500 = 90% -> 2; 88/100 -> 8 => 2 x 25 = 50
        # 10/100 = 10% -> 1‰; 10050 x 0.001 x 50/100 = 5.025 -> half-up 5.03
        row("M8", response_s="25", replied="450", surveys="100", very_satisfied="80",
            satisfied="8", inquiries="100", buyers="10", sales="10050"),
        # 49.99 s -> 8; 489/500 = 97.8% -> 8; 91/100 -> 12 => 2 x 28 = 56
        # 54/100 = 54% -> 3‰; 20000 x 0.003 x 56/100 = 33.60
        row("M9", response_s="49.99", replied="489", surveys="100", very_satisfied="91",
            satisfied="0", inquiries="100", buyers="54", sales="20000"),
        # 39.99 s -> 12; 479/500 = 95.8% -> 4; 89/100 -> 8 => 2 x 24 = 48
        # 49/100 = 49% -> 2‰; 20000 x 0.002 x 48/100 = 19.20
        row("M10", response_s="39.99", replied="479", surveys="100", very_satisfied="89",
            satisfied="0", inquiries="100", buyers="49", sales="20000"),
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    expect = {  # id: (response, reply_rate, satisfaction, total, commission)
        "M2": (12, 12, 16, "80", "395.06"),
        "M3": (4, 4, 4, "24", "24.00"),
        "M4": (0, 2, 8, "20", "6.00"),
        "M5": (8, 8, 12, "56", "43.56"),
        "M6": (4, 0, 0, "8", "48.00"),
        "M7": (15, 12, 20, "94", "3.76"),
        "M8": (15, 2, 8, "50", "5.03"),
        "M9": (8, 8, 12, "56", "33.60"),
        "M10": (12, 4, 8, "48", "19.20"),
    }
    for emp, (resp, reply, sat, total, commission) in expect.items():
        r = res[("2026-10", emp)]
        assert D(r["indicators"]["response"]) == Decimal(resp), emp
        assert D(r["indicators"]["reply_rate"]) == Decimal(reply), emp
        assert D(r["indicators"]["satisfaction"]) == Decimal(sat), emp
        assert D(r["total"]) == Decimal(total), emp
        assert D(r["pay"]["commission"]) == Decimal(commission), emp


def test_zero_denominators_give_lowest_and_warnings(score):
    # 25 s -> 15; received 0 -> reply_rate 0; surveys 0 -> satisfaction 0 => 2 x 15 = 30
    # inquiries 0 -> 1‰: 30000 x 0.001 x 30/100 = 9.00; alone in team -> sales_award 200
    doc = score(PRESET, to_csv([row("Z1", team="z", received="0", replied="0", surveys="0",
                                    very_satisfied="0", satisfied="0", inquiries="0", buyers="0",
                                    sales="30000")]))
    r = by_key(doc)[("2026-10", "Z1")]
    assert D(r["indicators"]["response"]) == Decimal("15")
    assert D(r["indicators"]["reply_rate"]) == Decimal("0")
    assert D(r["indicators"]["satisfaction"]) == Decimal("0")
    assert D(r["total"]) == Decimal("30")
    assert D(r["pay"]["commission"]) == Decimal("9.00")
    assert D(r["pay"]["total"]) == Decimal("209.00")
    mine = [w for w in doc["warnings"] if "Z1" in w]
    assert any("reply_rate" in w or "旺旺回复率" in w for w in mine), doc["warnings"]
    assert any("satisfaction" in w or "满意度" in w for w in mine), doc["warnings"]
    # one warning per undefined ratio: reply_rate, satisfaction and the 成功率 behind the rate
    assert len(mine) >= 3, doc["warnings"]


def test_sales_award_for_teams_of_one_two_and_four_and_rank_by_total_then_id(score):
    rows = [
        row("one01", team="one", sales="50000"),
        row("two01", team="two", sales="40000"),
        row("two02", team="two", sales="60000"),
        row("four01", team="four", sales="80000"),
        row("four04", team="four", sales="100000"),
        row("four03", team="four", sales="90000"),
        row("four02", team="four", sales="90000"),
    ]
    res = by_key(score(PRESET, to_csv(rows)))

    def pay(emp: str, line: str) -> Decimal:
        return D(res[("2026-10", emp)]["pay"][line])

    # everyone totals 100, commission = sales x 6‰
    # one: one01 rank 1 -> 200;  300.00 + 200 = 500.00
    assert pay("one01", "commission") == Decimal("300.00")
    assert pay("one01", "sales_award") == Decimal("200")
    assert pay("one01", "total") == Decimal("500.00")
    # two: by sales two02 (60000) 200, two01 0
    assert pay("two02", "sales_award") == Decimal("200")
    assert pay("two01", "sales_award") == Decimal("0")
    assert pay("two02", "total") == Decimal("560.00")  # 360 + 200
    assert pay("two01", "total") == Decimal("240.00")  # 240 + 0
    # four: by sales four04 100000 -> 300; four02 / four03 90000 (tie, id) -> 200 / 100; four01 0
    assert pay("four04", "sales_award") == Decimal("300")
    assert pay("four02", "sales_award") == Decimal("200")
    assert pay("four03", "sales_award") == Decimal("100")
    assert pay("four01", "sales_award") == Decimal("0")
    assert pay("four04", "total") == Decimal("900.00")  # 600 + 300
    assert pay("four02", "total") == Decimal("740.00")  # 540 + 200
    assert pay("four03", "total") == Decimal("640.00")  # 540 + 100
    assert pay("four01", "total") == Decimal("480.00")  # 480 + 0
    # result rank: equal totals (100) -> employee id, not sales
    assert [res[("2026-10", e)]["rank"] for e in ("four01", "four02", "four03", "four04")] == [1, 2, 3, 4]
    assert [res[("2026-10", e)]["rank"] for e in ("two01", "two02")] == [1, 2]


def test_rank_ties_broken_by_employee_id_as_text(score):
    rows = [
        row("E9", team="r"),                                   # 100
        row("E2", team="r", response_s="35", sales="900000"),  # 12 -> 2 x 47 = 94, biggest sales
        row("E10", team="r"),                                  # 100; "E10" < "E9"
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    assert D(res[("2026-10", "E2")]["total"]) == Decimal("94")
    assert res[("2026-10", "E10")]["rank"] == 1
    assert res[("2026-10", "E9")]["rank"] == 2
    assert res[("2026-10", "E2")]["rank"] == 3
    # sales_award ranks by sales: E2 (900000) 300, E10 / E9 (200000 tie, id) 200 / 100
    assert D(res[("2026-10", "E2")]["pay"]["sales_award"]) == Decimal("300")
    assert D(res[("2026-10", "E10")]["pay"]["sales_award"]) == Decimal("200")
    assert D(res[("2026-10", "E9")]["pay"]["sales_award"]) == Decimal("100")


def test_quarterly_aggregates_and_awards(score):
    # totals by response_s only: 25 -> 100, 35 -> 94, 45 -> 86, 55 -> 78, 65 -> 70
    t = {100: "25", 94: "35", 86: "45", 78: "55", 70: "65"}
    plan = {
        # (employee, team): {period: total}
        ("qa", "q"): {"2026-09": 100, "2026-10": 100, "2026-11": 100, "2026-12": 70},  # Q4 270
        ("qb", "q"): {"2026-10": 94, "2026-11": 94, "2026-12": 86},                    # Q4 274
        ("qc", "q"): {"2026-10": 100, "2026-11": 86},                                  # Q4 186
        ("qd", "q"): {"2026-10": 100, "2026-11": 70, "2026-12": 100},                  # Q4 270
        ("pa", "p"): {"2026-10": 78, "2026-11": 78, "2026-12": 78},                    # Q4 234
        ("pb", "p"): {"2026-10": 100, "2026-12": 100},                                 # Q4 200
        ("sa", "s"): {"2026-11": 86},                                                  # Q4 86
    }
    rows = [row(emp, team=team, period=per, response_s=t[total])
            for (emp, team), months in plan.items() for per, total in months.items()]
    rows.reverse()  # any order
    doc = score(PRESET, to_csv(rows))
    res = by_key(doc)
    for (emp, _team), months in plan.items():
        for per, total in months.items():
            assert D(res[(per, emp)]["total"]) == Decimal(total), (per, emp)
    ag = aggs(doc)
    expect = {
        # (period, employee): (team, score, months, awards)
        # team q: qb 274 -> 800; qa 270 and qd 270 tie -> id: qa 600, qd 300; qc 186 -> none
        ("2026-Q4", "qb"): ("q", "274", 3, {"quarterly_award": 800}),
        ("2026-Q4", "qa"): ("q", "270", 3, {"quarterly_award": 600}),
        ("2026-Q4", "qd"): ("q", "270", 3, {"quarterly_award": 300}),
        ("2026-Q4", "qc"): ("q", "186", 2, {}),
        # team p (2 members): pa 234 -> 800, pb 200 -> 600
        ("2026-Q4", "pa"): ("p", "234", 3, {"quarterly_award": 800}),
        ("2026-Q4", "pb"): ("p", "200", 2, {"quarterly_award": 600}),
        # team s (1 member): sa 86 -> 800
        ("2026-Q4", "sa"): ("s", "86", 1, {"quarterly_award": 800}),
        # Q3: qa alone (one month) -> 800
        ("2026-Q3", "qa"): ("q", "100", 1, {"quarterly_award": 800}),
    }
    assert set(ag) == set(expect)
    for key, (team, sc, months, awards) in expect.items():
        a = ag[key]
        assert a["team"] == team, key
        assert D(a["score"]) == Decimal(sc), key
        assert a["months"] == months, key
        assert a["grade"] is None, key
        assert a["flags"] == [], key
        assert {k: D(v) for k, v in a["awards"].items()} == {k: D(v) for k, v in awards.items()}, key
