"""Golden tests for preset `taobao-presales` (rulebook 4.1), every expected value computed by hand.

Scoring recap (rulebook 4.1): each indicator = band score (0-100) x weight, rounded half-up to 2 dp.
  completion 30%, conversion 20%, aov 10%, reply_rate 10%, response 5%, followup 5%,
  execution 10%, satisfaction 10%.  Total = sum - 50 x bad_reviews, floor 0.
  Grade: 高级 >=90, 中级 [80,90), 初级 [70,80), 不合格 <70.
  Pay: base 1280 + position_bonus (高级 400 / 中级 200 / else 0) + meal 150
       + full_attendance 100 (if flag) + pool_share.
  Pool = sum(silent_sales) x 0.6% per (team, period); rank 1: 40% + 200, rank 2: 30% + 100,
  the others share 30% equally; with < 3 members the unassigned part is a warning, not paid.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

INPUTS = ["sales", "sales_target", "inquiries", "buyers", "received", "replied", "response_s",
          "followup_amount", "execution", "satisfaction", "bad_reviews", "full_attendance",
          "silent_sales"]

LABELS = {
    "sales": "实际销售额", "sales_target": "计划销售额", "inquiries": "询单人数",
    "buyers": "最终下单人数", "received": "总接待客户数", "replied": "回复过的客户数",
    "response_s": "平均响应时间(秒)", "followup_amount": "协助跟进服务金额", "execution": "执行力",
    "satisfaction": "旺旺满意度", "bad_reviews": "差评数", "full_attendance": "全勤",
    "silent_sales": "静默下单销售额",
}

# The rulebook 4.1 worked example.
WORKED = {
    "sales": "105000", "sales_target": "100000", "inquiries": "400", "buyers": "190",
    "received": "420", "replied": "410", "response_s": "32", "followup_amount": "35000",
    "execution": "比较满意", "satisfaction": "98.5%", "bad_reviews": "0", "full_attendance": "1",
    "silent_sales": "20000",
}

INDICATOR_IDS = {"completion", "conversion", "aov", "reply_rate", "response", "followup",
                 "execution", "satisfaction"}
PAY_KEYS = {"base", "position_bonus", "meal", "full_attendance", "pool_share", "total"}

PRESET = "taobao-presales"


def D(x: Any) -> Decimal:
    return Decimal(str(x))


def row(employee: str, period: str = "2026-10", team: str = "T1", **over: str) -> dict[str, str]:
    r = {"employee": employee, "period": period, "team": team, **WORKED}
    r.update(over)
    return r


def to_csv(rows: list[dict[str, str]], labels: dict[str, str] | None = None) -> str:
    cols = ["employee", "period", "team", *INPUTS]
    head = [(labels or {}).get(c, c) for c in cols]
    lines = [",".join(head)] + [",".join(r[c] for c in cols) for r in rows]
    return "\n".join(lines) + "\n"


def by_key(doc: dict[str, Any]) -> dict[tuple[Any, str], dict[str, Any]]:
    return {(r["period"], r["employee"]): r for r in doc["results"]}


def warnings_about(doc: dict[str, Any], *needles: str) -> list[str]:
    return [w for w in doc["warnings"] if all(n in w for n in needles)]


# ---------------------------------------------------------------- the worked example


def test_worked_example_exactly_as_in_rulebook(score):
    # No team / period columns at all: one default team, one default period.
    cols = ["employee", *INPUTS]
    text = ",".join(cols) + "\n" + ",".join(["E001", *(WORKED[c] for c in INPUTS)]) + "\n"
    doc = score(PRESET, text)
    assert doc["scheme"] == PRESET
    [res] = [r for r in doc["results"] if r["employee"] == "E001"]
    ind = res["indicators"]
    # completion 105000/100000 = 105% >= 100% -> 100 x 30% = 30
    assert D(ind["completion"]) == Decimal("30.00")
    # conversion 190/400 = 47.5% in [45%,50%) -> 80 x 20% = 16
    assert D(ind["conversion"]) == Decimal("16.00")
    # aov 105000/190 = 552.63 >= 250 -> 100 x 10% = 10
    assert D(ind["aov"]) == Decimal("10.00")
    # reply_rate 410/420 = 97.62% in [95%,98%) -> 80 x 10% = 8
    assert D(ind["reply_rate"]) == Decimal("8.00")
    # response 32 s in (30,45] -> 80 x 5% = 4
    assert D(ind["response"]) == Decimal("4.00")
    # followup 35000 in [30000,40000) -> 80 x 5% = 4
    assert D(ind["followup"]) == Decimal("4.00")
    # execution 比较满意 -> 80 x 10% = 8
    assert D(ind["execution"]) == Decimal("8.00")
    # satisfaction 98.5% >= 98% -> 100 x 10% = 10
    assert D(ind["satisfaction"]) == Decimal("10.00")
    # 30 + 16 + 10 + 8 + 4 + 4 + 8 + 10 = 90.00
    assert D(res["total"]) == Decimal("90.00")
    assert res["grade"] == "高级"
    assert res["coefficient"] is None
    assert res["rank"] == 1
    assert res["flags"] == []
    assert res["excluded"] is False
    pay = res["pay"]
    assert D(pay["base"]) == Decimal("1280.00")
    assert D(pay["position_bonus"]) == Decimal("400.00")  # 高级
    assert D(pay["meal"]) == Decimal("150.00")
    assert D(pay["full_attendance"]) == Decimal("100.00")  # full_attendance = 1
    # pool 20000 x 0.6% = 120; rank 1: 120 x 40% + 200 = 48 + 200 = 248.00
    assert D(pay["pool_share"]) == Decimal("248.00")
    # 1280 + 400 + 150 + 100 + 248 = 2178.00
    assert D(pay["total"]) == Decimal("2178.00")
    # one-member team: rank 2's 30% (36.00) and the others' 30% (36.00) are unallocated -> warning
    assert doc["warnings"], "a one-member team leaves pool shares unallocated: expected a warning"
    assert doc["aggregates"] == []


def test_indicator_and_pay_key_sets(score):
    doc = score(PRESET, to_csv([row("E001")]))
    res = by_key(doc)[("2026-10", "E001")]
    assert set(res["indicators"]) == INDICATOR_IDS
    assert set(res["pay"]) == PAY_KEYS
    assert res["team"] == "T1"


def test_chinese_label_headers_score_like_ids(score):
    doc = score(PRESET, to_csv([row("E001")], labels=LABELS))
    res = by_key(doc)[("2026-10", "E001")]
    assert D(res["total"]) == Decimal("90.00")
    assert res["grade"] == "高级"
    assert D(res["indicators"]["conversion"]) == Decimal("16.00")
    assert D(res["pay"]["total"]) == Decimal("2178.00")


# ---------------------------------------------------------------- boundaries


def test_conversion_boundaries(score):
    rows = [
        row("c50", inquiries="98", buyers="49"),   # 49/98 = exactly 50% -> 100 x 20% = 20
        row("c45", inquiries="100", buyers="45"),  # 45% -> [45,50) 80 -> 16
        row("c44", inquiries="100", buyers="44"),  # 44% -> [40,45) 60 -> 12
        row("c40", inquiries="100", buyers="40"),  # 40% -> [40,45) 60 -> 12
        row("c39", inquiries="1000", buyers="399"),  # 39.9% -> <40% 0 -> 0
    ]
    doc = score(PRESET, to_csv(rows))
    res = by_key(doc)
    # aov stays >= 250 in all rows: 105000/49 = 2142.86, /45 = 2333.33, /399 = 263.16
    expect = {
        # id: (conversion points, total)
        "c50": ("20.00", "94.00"),  # 90 - 16 + 20
        "c45": ("16.00", "90.00"),
        "c44": ("12.00", "86.00"),  # 90 - 16 + 12
        "c40": ("12.00", "86.00"),
        "c39": ("0.00", "74.00"),   # 90 - 16
    }
    for emp, (conv, total) in expect.items():
        r = res[("2026-10", emp)]
        assert D(r["indicators"]["conversion"]) == Decimal(conv), emp
        assert D(r["indicators"]["aov"]) == Decimal("10.00"), emp
        assert D(r["total"]) == Decimal(total), emp
    assert res[("2026-10", "c50")]["grade"] == "高级"
    assert res[("2026-10", "c44")]["grade"] == "中级"
    assert res[("2026-10", "c39")]["grade"] == "初级"


def test_response_time_boundaries(score):
    rows = [
        row("r30", response_s="30"),      # <=30 -> 100 x 5% = 5
        row("r45", response_s="45"),      # (30,45] -> 80 -> 4
        row("r455", response_s="45.5"),   # (45,55] -> 60 -> 3
        row("r55", response_s="55"),      # (45,55] -> 60 -> 3
        row("r56", response_s="56"),      # >55 -> 0
        row("r29", response_s="29"),      # <=30 -> 5
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    expect = {  # id: (response points, total = 90 - 4 + points)
        "r30": ("5.00", "91.00"),
        "r45": ("4.00", "90.00"),
        "r455": ("3.00", "89.00"),
        "r55": ("3.00", "89.00"),
        "r56": ("0.00", "86.00"),
        "r29": ("5.00", "91.00"),
    }
    for emp, (pts, total) in expect.items():
        r = res[("2026-10", emp)]
        assert D(r["indicators"]["response"]) == Decimal(pts), emp
        assert D(r["total"]) == Decimal(total), emp
    assert res[("2026-10", "r45")]["grade"] == "高级"   # 90.00 exactly -> 高级
    assert res[("2026-10", "r455")]["grade"] == "中级"  # 89.00


def test_completion_boundaries(score):
    rows = [
        row("p100", sales="100000"),  # 100000/100000 = exactly 100% -> 100 x 30% = 30
        row("p99", sales="99999"),    # 99.999% -> [90,100) 85 -> 25.5
        row("p90", sales="90000"),    # exactly 90% -> 85 -> 25.5
        row("p89", sales="89999"),    # 89.999% -> [80,90) 70 -> 21
        row("p55", sales="55000"),    # 55% -> [50,60) 25 -> 7.5
        row("p40", sales="40000"),    # exactly 40% -> [40,50) 10 -> 3
        row("p39", sales="39999"),    # <40% -> 0
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    # aov = sales / 190:
    #   100000/190 = 526.3, 99999/190 = 526.3, 90000/190 = 473.7, 89999/190 = 473.7,
    #   55000/190 = 289.5 -> >= 250 -> aov 10 for these;
    #   40000/190 = 210.53 and 39999/190 = 210.52 -> [210,230) 60 -> aov 6.
    # other indicators unchanged: 16 + 8 + 4 + 4 + 8 + 10 = 50
    expect = {  # id: (completion, aov, total = 50 + completion + aov)
        "p100": ("30.00", "10.00", "90.00"),
        "p99": ("25.50", "10.00", "85.50"),
        "p90": ("25.50", "10.00", "85.50"),
        "p89": ("21.00", "10.00", "81.00"),
        "p55": ("7.50", "10.00", "67.50"),
        "p40": ("3.00", "6.00", "59.00"),
        "p39": ("0.00", "6.00", "56.00"),
    }
    for emp, (comp, aov, total) in expect.items():
        r = res[("2026-10", emp)]
        assert D(r["indicators"]["completion"]) == Decimal(comp), emp
        assert D(r["indicators"]["aov"]) == Decimal(aov), emp
        assert D(r["total"]) == Decimal(total), emp
    assert res[("2026-10", "p100")]["grade"] == "高级"
    assert res[("2026-10", "p99")]["grade"] == "中级"
    assert res[("2026-10", "p55")]["grade"] == "不合格"


def test_satisfaction_percent_strings_and_ratios(score):
    rows = [
        row("s965p", satisfaction="96.5%"),   # [95,98) -> 90 x 10% = 9
        row("s965r", satisfaction="0.965"),   # same value as a ratio -> 9
        row("s98p", satisfaction="98%"),      # exactly 98% -> 100 -> 10
        row("s98r", satisfaction="0.98"),     # -> 10
        row("s95p", satisfaction="95%"),      # exactly 95% -> 90 -> 9
        row("s9499", satisfaction="94.99%"),  # [90,95) -> 60 -> 6
        row("s90r", satisfaction="0.9"),      # exactly 90% -> 60 -> 6
        row("s899", satisfaction="89.9%"),    # <90% -> 0
        row("s100", satisfaction="100%"),     # -> 10
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    expect = {  # id: (satisfaction points, total = 80 + points)
        "s965p": ("9.00", "89.00"),
        "s965r": ("9.00", "89.00"),
        "s98p": ("10.00", "90.00"),
        "s98r": ("10.00", "90.00"),
        "s95p": ("9.00", "89.00"),
        "s9499": ("6.00", "86.00"),
        "s90r": ("6.00", "86.00"),
        "s899": ("0.00", "80.00"),
        "s100": ("10.00", "90.00"),
    }
    for emp, (pts, total) in expect.items():
        r = res[("2026-10", emp)]
        assert D(r["indicators"]["satisfaction"]) == Decimal(pts), emp
        assert D(r["total"]) == Decimal(total), emp
    # total exactly 80.00 -> 中级 (lower edge of [80,90))
    assert res[("2026-10", "s899")]["grade"] == "中级"


def test_reply_rate_aov_followup_and_execution_boundaries(score):
    rows = [
        row("rr98", received="100", replied="98"),    # exactly 98% -> 100 -> 10
        row("rr95", received="420", replied="399"),   # 399/420 = exactly 95% -> 80 -> 8
        row("rr92", received="100", replied="92"),    # exactly 92% -> 60 -> 6
        row("rr91", received="1000", replied="919"),  # 91.9% -> 0
        # aov exactly 250: 47500/190 = 250; target 47500 keeps completion at 100%
        row("av250", sales="47500", sales_target="47500"),   # aov 100 -> 10
        row("av249", sales="47499", sales_target="47499"),   # 249.99.. -> 80 -> 8
        row("av230", sales="43700", sales_target="43700"),   # 43700/190 = 230 -> 80 -> 8
        row("av210", sales="39900", sales_target="39900"),   # 39900/190 = 210 -> 60 -> 6
        row("fu40k", followup_amount="40000"),      # >=40000 -> 100 -> 5
        row("fu30k", followup_amount="30000"),      # [30000,40000) -> 80 -> 4
        row("fu2999", followup_amount="29999.99"),  # [20000,30000) -> 60 -> 3
        row("fu19k", followup_amount="19999"),      # <20000 -> 0
        row("ex1", execution="非常满意"),  # 100 x 10% = 10
        row("ex3", execution="一般"),      # 60 -> 6
        row("ex4", execution="不满意"),    # 0
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    expect = {  # id: (indicator, points, total)
        "rr98": ("reply_rate", "10.00", "92.00"),  # 90 - 8 + 10
        "rr95": ("reply_rate", "8.00", "90.00"),
        "rr92": ("reply_rate", "6.00", "88.00"),
        "rr91": ("reply_rate", "0.00", "82.00"),
        "av250": ("aov", "10.00", "90.00"),
        "av249": ("aov", "8.00", "88.00"),         # 90 - 10 + 8
        "av230": ("aov", "8.00", "88.00"),
        "av210": ("aov", "6.00", "86.00"),
        "fu40k": ("followup", "5.00", "91.00"),     # 90 - 4 + 5
        "fu30k": ("followup", "4.00", "90.00"),
        "fu2999": ("followup", "3.00", "89.00"),
        "fu19k": ("followup", "0.00", "86.00"),
        "ex1": ("execution", "10.00", "92.00"),     # 90 - 8 + 10
        "ex3": ("execution", "6.00", "88.00"),
        "ex4": ("execution", "0.00", "82.00"),
    }
    for emp, (ind, pts, total) in expect.items():
        r = res[("2026-10", emp)]
        assert D(r["indicators"][ind]) == Decimal(pts), emp
        assert D(r["total"]) == Decimal(total), emp
    # completion stays 100% for the aov rows
    assert D(res[("2026-10", "av249")]["indicators"]["completion"]) == Decimal("30.00")


def test_grade_boundaries_and_half_points(score):
    rows = [
        # 25.5 (99999/100000 -> 85) + 20 (49/98 = 50%) + 10 (aov 99999/49 = 2040.8) + 10 (98/100)
        # + 5 (30 s) + 5 (40000) + 8 (比较满意) + 6 (92% -> [90,95) 60) = 89.50 -> 中级
        row("g895", sales="99999", inquiries="98", buyers="49", received="100", replied="98",
            response_s="30", followup_amount="40000", satisfaction="92%"),
        # 30 + 16 + 10 + 6 (390/420 = 92.86% -> 60) + 4 + 4 + 0 (不满意) + 0 (50% sat) = 70.00 -> 初级
        row("g70", received="420", replied="390", execution="不满意", satisfaction="0.5"),
        # 25.5 + 16 + 10 (99999/190 = 526.3) + 6 (92/100) + 3 (50 s) + 3 (25000) + 0 + 6 (92%)
        # = 69.50 -> 不合格
        row("g695", sales="99999", received="100", replied="92", response_s="50",
            followup_amount="25000", execution="不满意", satisfaction="92%"),
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    assert D(res[("2026-10", "g895")]["total"]) == Decimal("89.50")
    assert res[("2026-10", "g895")]["grade"] == "中级"
    assert D(res[("2026-10", "g70")]["total"]) == Decimal("70.00")
    assert res[("2026-10", "g70")]["grade"] == "初级"
    assert D(res[("2026-10", "g695")]["total"]) == Decimal("69.50")
    assert res[("2026-10", "g695")]["grade"] == "不合格"
    # pay lines follow the grade: 中级 -> 200, 初级 / 不合格 -> 0
    assert D(res[("2026-10", "g895")]["pay"]["position_bonus"]) == Decimal("200.00")
    assert D(res[("2026-10", "g70")]["pay"]["position_bonus"]) == Decimal("0.00")
    assert D(res[("2026-10", "g695")]["pay"]["position_bonus"]) == Decimal("0.00")


# ---------------------------------------------------------------- bad reviews / floor


def test_bad_reviews_deduction_and_floor_zero(score):
    rows = [
        row("b1", team="B1", bad_reviews="1"),   # 90 - 50 = 40.00 -> 不合格
        row("b2", team="B2", bad_reviews="2"),   # 90 - 100 = -10 -> floor 0.00
        row("b0", team="B3", bad_reviews="0", full_attendance="0"),  # 90.00, no 全勤奖
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    b1 = res[("2026-10", "b1")]
    assert D(b1["total"]) == Decimal("40.00")
    assert b1["grade"] == "不合格"
    # indicators are untouched by the adjustment
    assert D(b1["indicators"]["completion"]) == Decimal("30.00")
    b2 = res[("2026-10", "b2")]
    assert D(b2["total"]) == Decimal("0.00")
    assert b2["grade"] == "不合格"
    # b2 pay: 1280 + 0 + 150 + 100 + (alone in team: 120 x 40% + 200 = 248) = 1778.00
    assert D(b2["pay"]["position_bonus"]) == Decimal("0")
    assert D(b2["pay"]["pool_share"]) == Decimal("248.00")
    assert D(b2["pay"]["total"]) == Decimal("1778.00")
    b0 = res[("2026-10", "b0")]
    # 1280 + 400 + 150 + 0 + 248 = 2078.00
    assert D(b0["pay"]["full_attendance"]) == Decimal("0")
    assert D(b0["pay"]["total"]) == Decimal("2078.00")


# ---------------------------------------------------------------- undefined ratios


def test_zero_denominators_give_lowest_score_and_warning(score):
    rows = [
        row("zrecv", received="0", replied="0"),  # reply_rate undefined -> 0; total 90 - 8 = 82.00
        row("ztarget", sales_target="0"),         # completion undefined -> 0; total 90 - 30 = 60.00
        # conversion 0/0 and aov 105000/0 undefined -> 0 and 0; total 90 - 16 - 10 = 64.00
        row("zinq", inquiries="0", buyers="0"),
    ]
    doc = score(PRESET, to_csv(rows))
    res = by_key(doc)
    zr = res[("2026-10", "zrecv")]
    assert D(zr["indicators"]["reply_rate"]) == Decimal("0")
    assert D(zr["total"]) == Decimal("82.00")
    zt = res[("2026-10", "ztarget")]
    assert D(zt["indicators"]["completion"]) == Decimal("0")
    assert D(zt["total"]) == Decimal("60.00")
    assert zt["grade"] == "不合格"
    zi = res[("2026-10", "zinq")]
    assert D(zi["indicators"]["conversion"]) == Decimal("0")
    assert D(zi["indicators"]["aov"]) == Decimal("0")
    assert D(zi["total"]) == Decimal("64.00")

    def warned(emp: str, ind: str, label: str) -> bool:
        return any(emp in w and (ind in w or label in w) and "2026-10" in w
                   for w in doc["warnings"])

    assert warned("zrecv", "reply_rate", "旺旺回复率"), doc["warnings"]
    assert warned("ztarget", "completion", "成交额完成度"), doc["warnings"]
    assert warned("zinq", "conversion", "询单转化率"), doc["warnings"]
    assert warned("zinq", "aov", "客单价"), doc["warnings"]


# ---------------------------------------------------------------- ranking ties and the pool


def test_rank_ties_broken_by_sales_then_employee_id_as_text(score):
    rows = [
        row("E1", team="tie", sales="300000", execution="一般"),  # 88.00 (exec 6), biggest sales
        row("E9", team="tie"),                                   # 90.00, sales 105000
        row("E2", team="tie", sales="110000"),   # 110% -> 30; aov 578.9 -> 10: 90.00, sales 110000
        row("E10", team="tie"),                                  # 90.00, sales 105000
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    # 90 & 110000 (E2) > 90 & 105000 (E10, E9: "E10" < "E9" as text) > 88 (E1)
    assert res[("2026-10", "E2")]["rank"] == 1
    assert res[("2026-10", "E10")]["rank"] == 2
    assert res[("2026-10", "E9")]["rank"] == 3
    assert res[("2026-10", "E1")]["rank"] == 4
    # pool = 4 x 20000 x 0.6% = 480
    # E2: 480 x 40% + 200 = 392.00; E10: 480 x 30% + 100 = 244.00; E9, E1: 480 x 30% / 2 = 72.00
    assert D(res[("2026-10", "E2")]["pay"]["pool_share"]) == Decimal("392.00")
    assert D(res[("2026-10", "E10")]["pay"]["pool_share"]) == Decimal("244.00")
    assert D(res[("2026-10", "E9")]["pay"]["pool_share"]) == Decimal("72.00")
    assert D(res[("2026-10", "E1")]["pay"]["pool_share"]) == Decimal("72.00")
    # totals: E2 1280+400+150+100+392 = 2322.00; E10 ... +244 = 2174.00; E9 ... +72 = 2002.00;
    #         E1 (中级) 1280+200+150+100+72 = 1802.00
    assert D(res[("2026-10", "E2")]["pay"]["total"]) == Decimal("2322.00")
    assert D(res[("2026-10", "E10")]["pay"]["total"]) == Decimal("2174.00")
    assert D(res[("2026-10", "E9")]["pay"]["total"]) == Decimal("2002.00")
    assert D(res[("2026-10", "E1")]["pay"]["total"]) == Decimal("1802.00")


def test_pool_for_teams_of_one_two_three_and_four(score):
    rows = [
        # quad (4 members), listed out of order; pool = (2000+3000+4000+1006) x 0.6% = 60.036
        row("quad04", team="quad", response_s="60", execution="不满意", silent_sales="1006"),  # 78
        row("quad03", team="quad", execution="不满意", full_attendance="0", silent_sales="4000"),  # 82
        row("quad01", team="quad", silent_sales="2000"),                                  # 90
        row("quad02", team="quad", execution="一般", silent_sales="3000"),                 # 88
        # solo (1 member): pool 20000 x 0.6% = 120
        row("solo01", team="solo"),
        # duo (2 members): pool (10000 + 15000) x 0.6% = 150
        row("duo02", team="duo", execution="一般", silent_sales="15000"),  # 88
        row("duo01", team="duo", silent_sales="10000"),                   # 90
        # trio (3 members): pool 3 x 1000 x 0.6% = 18
        row("trio01", team="trio", silent_sales="1000"),                          # 90
        row("trio02", team="trio", execution="一般", silent_sales="1000"),         # 88
        row("trio03", team="trio", execution="不满意", silent_sales="1000"),       # 82
    ]
    doc = score(PRESET, to_csv(rows))
    res = by_key(doc)

    def line(emp: str, name: str) -> Decimal:
        return D(res[("2026-10", emp)]["pay"][name])

    # totals / ranks in quad: 90 (quad01), 88 (quad02), 82 (quad03), 78 (quad04: 90 - 4 - 8)
    for emp, total, rank, grade in [("quad01", "90.00", 1, "高级"), ("quad02", "88.00", 2, "中级"),
                                    ("quad03", "82.00", 3, "中级"), ("quad04", "78.00", 4, "初级")]:
        r = res[("2026-10", emp)]
        assert D(r["total"]) == Decimal(total), emp
        assert r["rank"] == rank, emp
        assert r["grade"] == grade, emp
    # the pool is not rounded before sharing (a rounded pool 60.04 would give 224.02):
    # quad01: 60.036 x 40% + 200 = 224.0144 -> 224.01
    # quad02: 60.036 x 30% + 100 = 118.0108 -> 118.01
    # quad03, quad04: 60.036 x 30% / 2 = 9.0054 -> 9.01
    assert line("quad01", "pool_share") == Decimal("224.01")
    assert line("quad02", "pool_share") == Decimal("118.01")
    assert line("quad03", "pool_share") == Decimal("9.01")
    assert line("quad04", "pool_share") == Decimal("9.01")
    # quad01: 1280 + 400 + 150 + 100 + 224.01 = 2154.01
    # quad02: 1280 + 200 + 150 + 100 + 118.01 = 1848.01
    # quad03: 1280 + 200 + 150 + 0 + 9.01 = 1639.01
    # quad04: 1280 + 0 + 150 + 100 + 9.01 = 1539.01
    assert line("quad01", "total") == Decimal("2154.01")
    assert line("quad02", "total") == Decimal("1848.01")
    assert line("quad03", "total") == Decimal("1639.01")
    assert line("quad03", "full_attendance") == Decimal("0")
    assert line("quad04", "total") == Decimal("1539.01")
    assert line("quad04", "position_bonus") == Decimal("0")
    # solo: 120 x 40% + 200 = 248.00 -> total 2178.00
    assert line("solo01", "pool_share") == Decimal("248.00")
    assert line("solo01", "total") == Decimal("2178.00")
    # duo: duo01 (90) 150 x 40% + 200 = 260.00; duo02 (88) 150 x 30% + 100 = 145.00
    assert res[("2026-10", "duo01")]["rank"] == 1
    assert res[("2026-10", "duo02")]["rank"] == 2
    assert line("duo01", "pool_share") == Decimal("260.00")
    assert line("duo02", "pool_share") == Decimal("145.00")
    assert line("duo01", "total") == Decimal("2190.00")  # 1280 + 400 + 150 + 100 + 260
    assert line("duo02", "total") == Decimal("1875.00")  # 1280 + 200 + 150 + 100 + 145
    # trio: 18 x 40% + 200 = 207.20; 18 x 30% + 100 = 105.40; the one other gets 18 x 30% = 5.40
    assert line("trio01", "pool_share") == Decimal("207.20")
    assert line("trio02", "pool_share") == Decimal("105.40")
    assert line("trio03", "pool_share") == Decimal("5.40")
    # unallocated shares are warned about for solo (72.00) and duo (45.00), not for trio or quad
    assert any("solo" in w for w in doc["warnings"]), doc["warnings"]
    assert any("duo" in w for w in doc["warnings"]), doc["warnings"]
    assert not any("quad" in w or "trio" in w for w in doc["warnings"]), doc["warnings"]


# ---------------------------------------------------------------- cross-period 淘汰


def test_taotai_flag_on_second_sub70_period_only(score):
    t70 = {"received": "420", "replied": "390", "execution": "不满意", "satisfaction": "0.5"}  # 70.00
    rows = [
        # X: 06 = 70.00 (not < 70), 07 = 40 (1st), 08 = 90, (no 09), 10 = 40 (2nd -> 淘汰),
        #    11 = 40 (3rd: no flag), 12 = 40 (4th: no flag). Rows deliberately out of order.
        row("X", period="2026-11", bad_reviews="1"),
        row("X", period="2026-07", bad_reviews="1"),
        row("X", period="2026-12", bad_reviews="1"),
        row("X", period="2026-06", **t70),
        row("X", period="2026-10", bad_reviews="1"),
        row("X", period="2026-08"),
        # Y: 07 = 90, 08 = 40 (1st), 09 = 0 (floor; 2nd, consecutive -> 淘汰), 10 = 70.00
        row("Y", period="2026-09", bad_reviews="3"),
        row("Y", period="2026-07"),
        row("Y", period="2026-08", bad_reviews="1"),
        row("Y", period="2026-10", **t70),
        # W: a single period below 70 -> never flagged
        row("W", period="2026-10", bad_reviews="1"),
    ]
    res = by_key(score(PRESET, to_csv(rows)))
    assert D(res[("2026-06", "X")]["total"]) == Decimal("70.00")
    assert D(res[("2026-07", "X")]["total"]) == Decimal("40.00")
    assert D(res[("2026-09", "Y")]["total"]) == Decimal("0.00")
    expected_flags = {
        ("2026-06", "X"): [], ("2026-07", "X"): [], ("2026-08", "X"): [],
        ("2026-10", "X"): ["淘汰"], ("2026-11", "X"): [], ("2026-12", "X"): [],
        ("2026-07", "Y"): [], ("2026-08", "Y"): [], ("2026-09", "Y"): ["淘汰"],
        ("2026-10", "Y"): [],
        ("2026-10", "W"): [],
    }
    for key, flags in expected_flags.items():
        assert res[key]["flags"] == flags, key
