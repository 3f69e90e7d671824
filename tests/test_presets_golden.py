"""Hand-computed worked examples for every preset (rulebook §4), boundaries included.

Each expected number is worked out in the comment above it from the rulebook's rules,
not from the engine.
"""

from __future__ import annotations

from pathlib import Path

from .golden_helpers import D, by_key, score

# -- 4.1 taobao-presales -------------------------------------------------------------------
H41 = ("employee,team,period,sales,sales_target,inquiries,buyers,received,replied,response_s,"
       "followup_amount,execution,satisfaction,bad_reviews,full_attendance,silent_sales\n")


def row41(emp: str, team: str = "T", period: str = "2026-10", **kw: str) -> str:
    v = {"sales": "105000", "sales_target": "100000", "inquiries": "400", "buyers": "190",
         "received": "420", "replied": "410", "response_s": "32", "followup_amount": "35000",
         "execution": "比较满意", "satisfaction": "98.5%", "bad_reviews": "0",
         "full_attendance": "1", "silent_sales": "20000"} | kw
    return ",".join([emp, team, period, *v.values()]) + "\n"


def test_41_worked_example(tmp_path: Path) -> None:
    r = score(tmp_path, "taobao-presales", H41 + row41("E001"))["results"][0]
    assert r["indicators"] == {"completion": 30, "conversion": 16, "aov": 10, "reply_rate": 8,
                               "response": 4, "followup": 4, "execution": 8,
                               "satisfaction": 10}
    assert D(r["total"]) == D("90.00") and r["grade"] == "高级" and r["rank"] == 1
    # pool 20000 × 0.6% = 120; rank 1: 120 × 40% + 200 = 248
    assert r["pay"] == {"base": 1280, "position_bonus": 400, "meal": 150,
                        "full_attendance": 100, "pool_share": 248, "total": 2178}


def test_41_boundaries(tmp_path: Path) -> None:
    # 49/98 is exactly 50% → the ≥50% band (100 × 20% = 20); response exactly 30 s → 100 × 5%;
    # sales exactly the target → ≥100%; reply 95/100 exactly → [95%,98%) 80 × 10% = 8;
    # satisfaction "95%" string → [95%,98%) → 90 × 10% = 9; followup exactly 40000 → 5
    doc = score(tmp_path, "taobao-presales", H41 + row41(
        "E1", sales="100000", inquiries="98", buyers="49", received="100", replied="95",
        response_s="30", followup_amount="40000", satisfaction="95%"))
    r = doc["results"][0]
    assert r["indicators"]["conversion"] == 20
    assert r["indicators"]["response"] == 5
    assert r["indicators"]["completion"] == 30
    assert r["indicators"]["reply_rate"] == 8
    assert r["indicators"]["satisfaction"] == 9
    assert r["indicators"]["followup"] == 5
    # aov = 100000 / 49 = 2040.8 ≥ 250 → 10
    assert D(r["total"]) == D(30 + 20 + 10 + 8 + 5 + 5 + 8 + 9)


def test_41_zero_denominator_gives_lowest_score_and_a_warning(tmp_path: Path) -> None:
    doc = score(tmp_path, "taobao-presales", H41 + row41("E1", inquiries="0", buyers="0"))
    r = doc["results"][0]
    assert r["indicators"]["conversion"] == 0 and r["indicators"]["aov"] == 0
    assert any("E1" in w and "conversion" in w for w in doc["warnings"])
    assert any("E1" in w and "aov" in w for w in doc["warnings"])


def test_41_pool_ties_and_teams(tmp_path: Path) -> None:
    # team A: three members with total 90; ties broken by sales desc, then employee id
    # E2 and E3 share sales 105000 → E2 before E3; E1 has more sales → rank 1
    body = (row41("E3", "A") + row41("E2", "A") + row41("E1", "A", sales="106000")
            + row41("X1", "B", silent_sales="10000") + row41("X2", "B", silent_sales="0"))
    doc = score(tmp_path, "taobao-presales", H41 + body)
    res = by_key(doc)
    ranks = {k[1]: v["rank"] for k, v in res.items()}
    assert (ranks["E1"], ranks["E2"], ranks["E3"]) == (1, 2, 3)
    # team A pool = 60000 × 0.6% = 360: 144 + 200, 108 + 100, 108 (the only other member)
    assert res[("2026-10", "E1")]["pay"]["pool_share"] == 344
    assert res[("2026-10", "E2")]["pay"]["pool_share"] == 208
    assert res[("2026-10", "E3")]["pay"]["pool_share"] == 108
    # team B (2 members): pool 60 → 24 + 200 and 18 + 100; the 30% for others unallocated
    assert res[("2026-10", "X1")]["pay"]["pool_share"] == 224
    assert res[("2026-10", "X2")]["pay"]["pool_share"] == 118
    assert any("unallocated" in w and "B" in w for w in doc["warnings"])


def test_41_second_period_below_70_is_flagged_once(tmp_path: Path) -> None:
    # sales 30000 → completion <40% → 0 and aov 30000/190 = 157.9 < 210 → 0: 90 − 30 − 10 = 50
    body = "".join(row41("E1", period=p, sales=s) for p, s in [
        ("2026-07", "30000"), ("2026-08", "105000"), ("2026-09", "30000"), ("2026-10", "30000")])
    res = by_key(score(tmp_path, "taobao-presales", H41 + body))
    assert D(res[("2026-07", "E1")]["total"]) == D(50)
    assert [res[("2026-0" + m, "E1")]["flags"] for m in "789"] + [
        res[("2026-10", "E1")]["flags"]] == [[], [], ["淘汰"], []]


def test_41_bad_reviews_floor_at_zero(tmp_path: Path) -> None:
    r = score(tmp_path, "taobao-presales", H41 + row41("E1", bad_reviews="2"))["results"][0]
    assert r["total"] == 0 and r["grade"] == "不合格" and r["pay"]["position_bonus"] == 0


# -- 4.2 recharge-specialist ------------------------------------------------------------------
IDS42 = ["scattered", "stock", "other", "rebate_single", "rebate_ext", "renewal_recharge",
         "data_update", "health", "sim_replace", "card_stock", "month_end_sheet", "renewal",
         "master_sheet", "erp", "attitude", "participation", "plan_late", "plan_missing",
         "execution_lapses", "execution_refusals", "coordination", "obedience",
         "responsibility", "culture", "ethics", "initiative", "proactive"]


def row42(emp: str, **kw: str) -> str:
    v = dict.fromkeys(IDS42, "0") | {"culture": "透彻"} | kw
    return ",".join([emp] + [v[i] for i in IDS42]) + "\n"


def test_42_deductions_floors_schedules_and_negative_level(tmp_path: Path) -> None:
    body = row42("R1", scattered="1", stock="2", other="1", renewal_recharge="1", health="3",
                 plan_late="1", execution_lapses="1", coordination="2", responsibility="1",
                 culture="不了解", proactive="1")
    r = score(tmp_path, "recharge-specialist", "employee," + ",".join(IDS42) + "\n" + body)[
        "results"][0]
    ind = r["indicators"]
    assert (ind["scattered"], ind["stock"], ind["other"], ind["health"]) == (0, 0, 2, 0)
    assert (ind["planning"], ind["execution"], ind["coordination"]) == (2, 2, 0)
    assert (ind["responsibility"], ind["culture"], ind["proactive"]) == (0, -3, 1)
    # 绩 51, 能 3+2+2+0+2+0 = 9, 德 −3+2 = −1, 勤 2+1 = 3 → 62 → D
    assert D(r["total"]) == D(62) and r["grade"] == "D"
    assert r["pay"] == {} and r["coefficient"] is None
    assert set(ind) == {*IDS42} - {"plan_late", "plan_missing", "execution_lapses",
                                   "execution_refusals"} | {"planning", "execution"}


def test_42_grade_boundary_and_escalation(tmp_path: Path) -> None:
    head = "employee," + ",".join(IDS42) + "\n"
    body = (row42("A", scattered="1", stock="1")  # 100 − 10 = 90 → A
            + row42("B", execution_lapses="3", execution_refusals="1"))  # 4 − 4 − 4 → 0
    res = by_key(score(tmp_path, "recharge-specialist", head + body))
    assert D(res[(None, "A")]["total"]) == D(90) and res[(None, "A")]["grade"] == "A"
    assert res[(None, "B")]["indicators"]["execution"] == 0
    assert D(res[(None, "B")]["total"]) == D(96) and res[(None, "B")]["grade"] == "A"


# -- 4.3 aftersales-130 ------------------------------------------------------------------------
H43 = ("employee,quality,refund_rate,disputes,teamwork,execution,late,leave,absence,"
       "low_reviews,complaint_points,praises,outstanding,kpi_pool,base_salary\n")


def test_43_total_adjustments_and_kpi_bonus(tmp_path: Path) -> None:
    body = ("S1,优,5%,良,中,优,1,0,0,1,10,3,2,1000,3000\n"
            # 20+20+20+20+10+20 = 110 − 19 = 91.00 exactly → qualifies: 1300 × 91/130 = 910
            "S2,优,5.01%,优,优,中,0,0,0,0,19,0,0,1300,3000\n"
            "S3,优,5.01%,优,优,中,0,0,0,0,19.01,0,0,1300,3000\n"
            "S4,差,12%,差,差,差,2,1,1,0,200,0,0,1000,3000\n")
    res = by_key(score(tmp_path, "aftersales-130", H43 + body))
    s1 = res[(None, "S1")]
    # 20 + 30 (≤5%) + 15 + 10 + 20 + (20 − 5) = 110; −5 −10 +6 +2 → 103
    assert D(s1["total"]) == D(103) and s1["grade"] == "合格"
    # 1000 × 103 / 130 = 792.307… → 792.31
    assert s1["pay"] == {"base_salary": 3000, "kpi_bonus": 792.31, "total": 3792.31}
    assert res[(None, "S2")]["indicators"]["refund_rate"] == 20
    assert D(res[(None, "S2")]["total"]) == D("91.00") and res[(None, "S2")]["grade"] == "合格"
    assert res[(None, "S2")]["pay"]["kpi_bonus"] == 910
    assert D(res[(None, "S3")]["total"]) == D("90.99") and res[(None, "S3")]["grade"] == "不合格"
    assert res[(None, "S3")]["pay"] == {"base_salary": 3000, "kpi_bonus": 0, "total": 3000}
    s4 = res[(None, "S4")]
    assert s4["indicators"]["attendance"] == 0 and s4["total"] == 0


# -- 4.4 ecommerce-commission ------------------------------------------------------------------
H44 = ("employee,team,period,response_s,received,replied,very_satisfied,satisfied,surveys,"
       "inquiries,buyers,sales\n")


def test_44_points_total_commission_and_awards(tmp_path: Path) -> None:
    # response 30 → [30,40) 12; reply 98/100 → 12; satisfaction 95/100 → 20; total 2 × 44 = 88
    # rate: 60/100 = 60% → 6‰; commission 100000 × 0.006 × 88 / 100 = 528
    body = ("E1,A,2026-10,30,100,98,90,5,100,100,60,100000\n"
            "E2,A,2026-10,29.9,100,100,50,50,100,100,40,200000\n"
            "E3,A,2026-10,60,100,89,0,0,100,0,0,50000\n"
            "S1,B,2026-10,30,100,98,90,5,100,100,60,100000\n")
    doc = score(tmp_path, "ecommerce-commission", H44 + body)
    res = by_key(doc)
    e1 = res[("2026-10", "E1")]
    assert e1["indicators"] == {"response": 12, "reply_rate": 12, "satisfaction": 20}
    assert D(e1["total"]) == D(88) and e1["grade"] is None and e1["coefficient"] is None
    assert e1["pay"]["commission"] == 528
    # E2: 15 + 15 + 20 = 50 → 100; rate 40% → 2‰: 200000 × 0.002 × 100/100 = 400
    assert D(res[("2026-10", "E2")]["total"]) == D(100)
    assert res[("2026-10", "E2")]["pay"]["commission"] == 400
    # E3: zero inquiries → 1‰ with a warning: 50000 × 0.001 × 0 = 0 (total 0)
    assert res[("2026-10", "E3")]["total"] == 0
    assert any("E3" in w and "commission_rate" in w for w in doc["warnings"])
    # sales awards in team A (3 members): E2 300, E1 200, E3 100; team B of one: 200
    assert [res[("2026-10", e)]["pay"]["sales_award"] for e in ("E2", "E1", "E3")] == [
        300, 200, 100]
    assert res[("2026-10", "S1")]["pay"]["sales_award"] == 200


def test_44_quarterly_aggregate(tmp_path: Path) -> None:
    rows = []
    for m in ("10", "11", "12"):
        rows.append(f"E1,A,2026-{m},30,100,98,90,5,100,100,60,100000\n")  # 88 each
        rows.append(f"E2,A,2026-{m},29,100,100,50,50,100,100,40,200000\n")  # 100 each
    doc = score(tmp_path, "ecommerce-commission", H44 + "".join(rows))
    aggs = {(a["period"], a["employee"]): a for a in doc["aggregates"]}
    assert aggs[("2026-Q4", "E2")]["score"] == 300 and aggs[("2026-Q4", "E2")]["months"] == 3
    assert aggs[("2026-Q4", "E2")]["awards"] == {"quarterly_award": 800}
    assert aggs[("2026-Q4", "E1")]["score"] == 264
    assert aggs[("2026-Q4", "E1")]["awards"] == {"quarterly_award": 600}
    assert aggs[("2026-Q4", "E1")]["grade"] is None


# -- 4.5 sales-rep -----------------------------------------------------------------------------
H45 = ("employee,period,dealer_lapses,weekly_report_points,market_feedback,quality_feedback,"
       "ad_plan_lapses,promo_plan_lapses,promo_review_lapses,vehicle_violations,absent_days,"
       "salary_total,plan_completion,over_plan_bonus\n")


def test_45_daily_attendance_total_pay_and_annual_mean(tmp_path: Path) -> None:
    body = ("P1,2026-01,1,33.5,如实,不符,1,0,3,0,1.5,5000,90%,100\n"
            "P1,2026-02,1,35,如实,不符,1,0,3,0,1.5,5000,90%,100\n")
    doc = score(tmp_path, "sales-rep", H45 + body)
    r = by_key(doc)[("2026-01", "P1")]
    # daily = 25 + 33.5 + 5 + 0 + 3 + 5 + 0 + 5 = 76.5; attendance 100 − 4 × ceil(1.5) = 92
    assert r["indicators"]["attendance"] == 92
    # 76.5 × 70% = 53.55; 92 × 30% = 27.6 → 81.15
    assert D(r["total"]) == D("81.15")
    # 2500 + 5000 × 35% × 0.9 = 1575 + 5000 × 15% × 76.5/100 = 573.75 + 100
    assert r["pay"] == {"base": 2500, "plan": 1575, "daily_work": 573.75,
                        "over_plan_bonus": 100, "total": 4748.75}
    # Feb: daily 78 → 54.6 + 27.6 = 82.2; annual mean (81.15 + 82.2) / 2 = 81.675 → 81.68
    agg = doc["aggregates"][0]
    assert (agg["period"], agg["months"], D(agg["score"]), agg["grade"]) == (
        "2026", 2, D("81.68"), None)


def test_45_each_part_rounded_before_adding(tmp_path: Path) -> None:
    # weekly 33.33 → daily 76.33 × 70% = 53.431 → 53.43; 0.5 day → 1 → 96 × 30% = 28.8
    body = "P1,2026-01,1,33.33,如实,不符,1,0,3,0,0.5,5000,100%,0\n"
    r = score(tmp_path, "sales-rep", H45 + body)["results"][0]
    assert D(r["total"]) == D("82.23")


# -- 4.6 logistics-composite -----------------------------------------------------------------
H46 = ("employee,period,perf,skill,quality,attitude,late_early,absent_days,personal_leave_days,"
       "sick_days,warnings,minor_demerits,major_demerits,commendations,minor_merits,"
       "major_merits\n")


def test_46_evaluation_adjustments_and_grade(tmp_path: Path) -> None:
    body = ("L1,2026-01,8.5,9,7.25,8,1,0,1,1,1,0,0,1,1,0\n"
            "L2,2026-01,9,9,9,9,0,0,0,0,0,0,0,0,0,0\n")
    res = by_key(score(tmp_path, "logistics-composite", H46 + body))
    l1 = res[("2026-01", "L1")]
    assert l1["indicators"] == {"perf": 34, "skill": 18, "quality": 14.5, "attitude": 16}
    # 82.5 − (0.5 + 0.5 + 0.2) − 1 + (1 + 3) = 84.3
    assert D(l1["total"]) == D("84.3") and l1["grade"] == "良好"
    assert D(res[("2026-01", "L2")]["total"]) == D(90)
    assert res[("2026-01", "L2")]["grade"] == "优秀"


def test_46_two_consecutive_barely_competent_months(tmp_path: Path) -> None:
    # 6.5 everywhere → 26 + 13 + 13 + 13 = 65 → 基本称职; March is missing
    months = ["01", "02", "04", "05"]
    body = "".join(f"L1,2026-{m},6.5,6.5,6.5,6.5,0,0,0,0,0,0,0,0,0,0\n" for m in months)
    res = by_key(score(tmp_path, "logistics-composite", H46 + body))
    assert [res[(f"2026-{m}", "L1")]["flags"] for m in months] == [
        [], ["降薪/调岗审查"], [], ["降薪/调岗审查"]]


# -- 4.7 aftersales-service ----------------------------------------------------------------------
H47 = "employee,satisfaction,service_level,revisit_target_met,revisit_rate,unmet,perf_pay_base\n"


def test_47_scores_grades_coefficients_pay(tmp_path: Path) -> None:
    body = ("A1,90,3级,1,,1,2000\n"      # 20 + 24 + 20 + 15 = 79 → C 0.8 → 1600
            "A2,85,5,0,90%,0,2000\n"     # 10 + 40 + 10 + 20 = 80 → B 1.0 → 2000
            "A3,84.99,1,0,89%,3,2000\n")  # 5 + 8 + 0 + 5 = 18 → E 0 → 0
    res = by_key(score(tmp_path, "aftersales-service", H47 + body))
    a1, a2, a3 = (res[(None, k)] for k in ("A1", "A2", "A3"))
    assert a1["indicators"] == {"satisfaction": 20, "service_detail": 24, "revisit": 20,
                                "complaints": 15}
    assert (D(a1["total"]), a1["grade"], D(a1["coefficient"])) == (D(79), "C", D("0.8"))
    assert a1["pay"] == {"perf_pay": 1600, "total": 1600}
    assert (D(a2["total"]), a2["grade"], a2["pay"]["perf_pay"]) == (D(80), "B", 2000)
    assert (D(a3["total"]), a3["grade"], a3["pay"]["total"]) == (D(18), "E", 0)


# -- 4.8 operator-monthly ----------------------------------------------------------------------


def test_48_monthly_pay_and_annual_review(tmp_path: Path) -> None:
    rows = []
    for m in range(1, 13):
        rows.append(f"O1,2026-{m:02d},A,3000\n")  # 12 A → 6 → A, +5%
        rows.append(f"O2,2026-{m:02d},{'A' if m <= 10 else 'B'},3000\n")  # 5 → A, +2%
        rows.append(f"O3,2026-{m:02d},{'D' if m <= 6 else 'B'},3000\n")  # −3 → D, 辞退
        rows.append(f"O4,2026-{m:02d},{'A' if m <= 6 else 'B'},3000\n")  # 3 → B
        rows.append(f"O5,2026-{m:02d},B,3000\n")  # 0 → C
    doc = score(tmp_path, "operator-monthly", "employee,period,grade,base_salary\n" + "".join(rows))
    res = by_key(doc)
    o1 = res[("2026-01", "O1")]
    assert (o1["total"], o1["rank"], o1["coefficient"], o1["grade"]) == (None, None, None, "A")
    assert o1["pay"] == {"monthly_pay": 3090, "total": 3090}
    assert res[("2026-01", "O3")]["pay"]["monthly_pay"] == 2640  # 3000 × 0.88
    aggs = {a["employee"]: a for a in doc["aggregates"]}
    assert (D(aggs["O1"]["score"]), aggs["O1"]["grade"], aggs["O1"]["awards"]) == (
        D(6), "A", {"raise": 0.05})
    assert (D(aggs["O2"]["score"]), aggs["O2"]["grade"], aggs["O2"]["awards"]) == (
        D(5), "A", {"raise": 0.02})
    assert (D(aggs["O3"]["score"]), aggs["O3"]["grade"], aggs["O3"]["flags"]) == (
        D(-3), "D", ["辞退"])
    assert (D(aggs["O4"]["score"]), aggs["O4"]["grade"], aggs["O4"]["awards"]) == (D(3), "B", {})
    assert (D(aggs["O5"]["score"]), aggs["O5"]["grade"]) == (D(0), "C")
    assert all(a["months"] == 12 and a["period"] == "2026" for a in aggs.values())


# -- 4.9 taobao-policy -------------------------------------------------------------------------
H49 = ("employee,team,period,performance@self,performance@supervisor,performance@manager,"
       "ability@self,ability@supervisor,ability@manager,attitude@self,attitude@supervisor,"
       "attitude@manager,absent_months,position_salary,personal_commission,team_public_sales,"
       "seniority_pay\n")


def row49(emp: str, period: str, mark: str, *, team: str = "T", absent: str = "0",
          self_perf: str | None = None) -> str:
    marks = [self_perf if self_perf is not None else mark, mark, mark] + [mark] * 6
    return ",".join([emp, team, period, *marks, absent, "3000", "500", "100000", "100"]) + "\n"


def test_49_rater_weights_exclusion_and_public_commission(tmp_path: Path) -> None:
    body = (row49("A1", "2026-01", "90")
            # performance: self missing → (80 × 50 + 80 × 30) / 80 = 80 … use 70 for manager
            + "A2,T,2026-01,,80,70,80,80,80,80,80,80,0,3000,400,100000,100\n"
            + row49("A3", "2026-01", "", absent="3").replace(",,,", ",,,"))
    doc = score(tmp_path, "taobao-policy", H49 + body)
    res = by_key(doc)
    a1 = res[("2026-01", "A1")]
    assert a1["indicators"] == {"performance": 45, "ability": 27, "attitude": 18}
    assert (D(a1["total"]), a1["grade"], a1["rank"]) == (D(90), "A", 1)
    # public commission 100000 × 0.5% / 2 assessed = 250
    assert a1["pay"] == {"position_salary": 3000, "personal_commission": 500,
                         "public_commission": 250, "seniority_pay": 100, "streak_award": 0,
                         "total": 3850}
    a2 = res[("2026-01", "A2")]
    # (80 × 0.5 + 70 × 0.3) / 0.8 = 76.25 × 50% = 38.125 → 38.13
    assert D(a2["indicators"]["performance"]) == D("38.13")
    assert D(a2["total"]) == D("78.13") and a2["grade"] == "C"
    assert any("A2" in w and "performance" in w and "self" in w for w in doc["warnings"])
    a3 = res[("2026-01", "A3")]
    assert a3["excluded"] is True
    assert (a3["total"], a3["grade"], a3["rank"], a3["indicators"], a3["pay"]) == (
        None, None, None, {}, {})


def test_49_streak_award_once_per_run_and_resignation(tmp_path: Path) -> None:
    months = ["01", "02", "03", "04", "05"]
    body = "".join(row49("A1", f"2026-{m}", "95") + row49("B1", f"2026-{m}", "50")
                   for m in months)
    res = by_key(score(tmp_path, "taobao-policy", H49 + body))
    assert [res[(f"2026-{m}", "A1")]["pay"]["streak_award"] for m in months] == [
        0, 0, 300, 0, 0]
    assert [res[(f"2026-{m}", "B1")]["flags"] for m in months] == [
        [], [], ["自动请辞"], ["自动请辞"], ["自动请辞"]]
