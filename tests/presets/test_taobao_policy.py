"""Golden tests for preset `taobao-policy` (rulebook 4.9), every expected value computed by hand.

Sections (0-100 marks): performance 50%, ability 30%, attitude 20%; each rated by
self 20%, supervisor 50%, manager 30% (columns `<section>@<rater>`).  A missing rater's weight is
shared out over the raters present (with a warning); section points = the exact weighted mark x the
section weight, rounded half-up once.  No marks at all in a section on an assessed row: bad input.
Grades: A >= 90, B [80,90), C [70,80), D [60,70), E < 60.  No coefficient.
Eligibility: absent_months > 2 -> excluded (total, grade, rank null; indicators and pay {}).
Pay lines: position_salary, personal_commission, public_commission, seniority_pay, streak_award;
  public_commission = team_public_sales x 0.5% / assessed members of the team (this period).
Cross-period: rank 1 in the team three periods running -> streak_award 300 on the third, once per
run; three consecutive E -> flag `自动请辞` (on the period completing the run).

The tests run the real `kaohe score` command in-process (Typer's CliRunner) to keep the folder
fast; test_sales_rep.py also runs it as a subprocess through the shared `score` fixture.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from .inprocess import D, by_key, run_preset

PRESET = "taobao-policy"
SECTIONS = ["performance", "ability", "attitude"]
RATERS = ["self", "supervisor", "manager"]
MARKS = [f"{s}@{r}" for s in SECTIONS for r in RATERS]
OTHER = ["absent_months", "position_salary", "personal_commission", "team_public_sales", "seniority_pay"]
COLUMNS = ["employee", "period", "team", *MARKS, *OTHER]
PAY_KEYS = {"position_salary", "personal_commission", "public_commission", "seniority_pay", "streak_award",
            "total"}

# The hand example:
#   performance 90 / 80 / 70: 0.2 x 90 + 0.5 x 80 + 0.3 x 70 = 18 + 40 + 21 = 79   x 50% = 39.50
#   ability    100 / 85 / 90: 20 + 42.5 + 27 = 89.5                                x 30% = 26.85
#   attitude    80 / 90 / 95: 16 + 45 + 28.5 = 89.5                                x 20% = 17.90
#   total 84.25 -> B
BASE_MARKS = {
    "performance@self": "90", "performance@supervisor": "80", "performance@manager": "70",
    "ability@self": "100", "ability@supervisor": "85", "ability@manager": "90",
    "attitude@self": "80", "attitude@supervisor": "90", "attitude@manager": "95",
}
DEFAULT = {**BASE_MARKS, "absent_months": "0", "position_salary": "3000", "personal_commission": "1234.56",
           "team_public_sales": "100000", "seniority_pay": "200"}

def uniform(mark: str, attitude: str | None = None) -> dict[str, str]:
    """Every rater gives `mark` in every section (attitude may differ): total = weighted sum."""
    m = dict.fromkeys(MARKS, mark)
    if attitude is not None:
        m.update(dict.fromkeys([f"attitude@{r}" for r in RATERS], attitude))
    return m


def row(employee: str, period: str = "2026-10", team: str = "T1", marks: dict[str, str] | None = None,
        **over: str) -> dict[str, str]:
    r = {"employee": employee, "period": period, "team": team, **DEFAULT, **(marks or {})}
    r.update({k.replace("__", "@"): v for k, v in over.items()})
    return r


def to_csv(rows: list[dict[str, str]]) -> str:
    return "\n".join([",".join(COLUMNS)] + [",".join(r[c] for c in COLUMNS) for r in rows]) + "\n"


def run_cli(folder: Path, csv_text: str) -> tuple[int, str, str]:
    return run_preset(folder, PRESET, csv_text)


# ---------------------------------------------------------------- hand example, end to end


def test_hand_example_through_the_cli(cli):
    doc = cli(to_csv([row("P001")]))
    assert doc["scheme"] == PRESET
    [res] = doc["results"]
    ind = res["indicators"]
    assert set(ind) == set(SECTIONS)
    assert D(ind["performance"]) == Decimal("39.50")
    assert D(ind["ability"]) == Decimal("26.85")
    assert D(ind["attitude"]) == Decimal("17.90")
    assert D(res["total"]) == Decimal("84.25")
    assert res["grade"] == "B"
    assert res["coefficient"] is None
    assert res["rank"] == 1
    assert res["excluded"] is False
    assert res["flags"] == []
    pay = res["pay"]
    assert set(pay) == PAY_KEYS
    assert D(pay["position_salary"]) == Decimal("3000.00")
    assert D(pay["personal_commission"]) == Decimal("1234.56")
    assert D(pay["public_commission"]) == Decimal("500.00")   # 100000 x 0.5% / 1 member
    assert D(pay["seniority_pay"]) == Decimal("200.00")
    assert D(pay["streak_award"]) == Decimal("0")             # only one period
    assert D(pay["total"]) == Decimal("4934.56")              # 3000 + 1234.56 + 500 + 200 + 0
    assert doc["warnings"] == []                              # every rater present
    assert doc["aggregates"] == []


# ---------------------------------------------------------------- missing raters


def test_missing_rater_weight_shared_over_those_present(cli):
    rows = [
        # performance: self missing -> supervisor 50/80, manager 30/80:
        #   (0.5 x 80 + 0.3 x 70) / 0.8 = 61 / 0.8 = 76.25; x 50% = 38.125 -> 38.13
        #   total 38.13 + 26.85 + 17.90 = 82.88 -> B
        row("m1", performance__self=""),
        # performance 60 / 62 / (manager missing): (12 + 31) / 0.7 = 61.428571..; x 50% = 30.7142.. -> 30.71
        #   (rounding the mark first, 61.43 x 50% = 30.715 -> 30.72, would be wrong: rounded once)
        #   total 30.71 + 26.85 + 17.90 = 75.46 -> C
        row("m2", performance__self="60", performance__supervisor="62", performance__manager=""),
        # ability: only the supervisor (77): 77 x 30% = 23.10; total 39.50 + 23.10 + 17.90 = 80.50 -> B
        row("m3", ability__self="", ability__manager="", ability__supervisor="77"),
        # attitude: supervisor missing -> self 20/50, manager 30/50: (16 + 28.5) / 0.5 = 89; x 20% = 17.80
        #   total 39.50 + 26.85 + 17.80 = 84.15 -> B
        row("m4", attitude__supervisor=""),
        row("full"),   # 84.25, no warning
    ]
    doc = cli(to_csv(rows))
    res = by_key(doc)
    expect = {"m1": ("performance", "38.13", "82.88", "B"), "m2": ("performance", "30.71", "75.46", "C"),
              "m3": ("ability", "23.10", "80.50", "B"), "m4": ("attitude", "17.80", "84.15", "B"),
              "full": ("performance", "39.50", "84.25", "B")}
    for emp, (sec, pts, total, grade) in expect.items():
        r = res[("2026-10", emp)]
        assert D(r["indicators"][sec]) == Decimal(pts), emp
        assert D(r["total"]) == Decimal(total), emp
        assert r["grade"] == grade, emp

    labels = {"performance": "工作业绩", "ability": "工作能力", "attitude": "工作态度"}

    def warned(emp: str, sec: str) -> bool:
        return any(emp in w and "2026-10" in w and (sec in w or labels[sec] in w) for w in doc["warnings"])

    assert warned("m1", "performance"), doc["warnings"]
    assert warned("m2", "performance"), doc["warnings"]
    assert warned("m3", "ability"), doc["warnings"]
    assert warned("m4", "attitude"), doc["warnings"]
    assert not any("full" in w for w in doc["warnings"]), doc["warnings"]


def test_section_without_any_mark_is_bad_input(tmp_path):
    blank = dict.fromkeys([f"attitude@{r}" for r in RATERS], "")
    code, out, err = run_cli(tmp_path, to_csv([row("ok"), row("bad", marks=blank)]))
    assert code == 2
    assert out == ""
    assert "row 3" in err, err
    assert "attitude" in err or "工作态度" in err, err


# ---------------------------------------------------------------- grades


def test_grade_cut_offs(cli):
    # uniform marks m give m x (50% + 30% + 20%) = m; attitude m - 0.05 takes 0.01 off (x 20%)
    cases = {
        "g100": (uniform("100"), "100.00", "A"),
        "g90": (uniform("90"), "90.00", "A"),
        # performance 89.99 x 50% = 44.995 -> 45.00; + 27 + 18 = 90.00: the grade is read from the
        # rounded total (the unrounded 89.995 would be B)
        "g90r": ({**uniform("90"), **dict.fromkeys([f"performance@{r}" for r in RATERS], "89.99")}, "90.00", "A"),
        "g8999": (uniform("90", attitude="89.95"), "89.99", "B"),   # 45 + 27 + 17.99
        "g80": (uniform("80"), "80.00", "B"),
        "g7999": (uniform("80", attitude="79.95"), "79.99", "C"),   # 40 + 24 + 15.99
        "g70": (uniform("70"), "70.00", "C"),
        "g6999": (uniform("70", attitude="69.95"), "69.99", "D"),   # 35 + 21 + 13.99
        "g60": (uniform("60"), "60.00", "D"),
        "g5999": (uniform("60", attitude="59.95"), "59.99", "E"),   # 30 + 18 + 11.99
        "g0": (uniform("0"), "0.00", "E"),
    }
    res = by_key(cli(to_csv([row(emp, marks=m) for emp, (m, *_) in cases.items()])))
    for emp, (_, total, grade) in cases.items():
        r = res[("2026-10", emp)]
        assert D(r["total"]) == Decimal(total), emp
        assert r["grade"] == grade, emp
    # ranks follow the totals (g90 and g90r tie at 90.00: "g90" < "g90r" as text)
    assert [res[("2026-10", e)]["rank"] for e in cases] == list(range(1, 12))


# ---------------------------------------------------------------- eligibility and the public commission


def test_excluded_rows_are_not_scored_ranked_or_paid(cli):
    blank = dict.fromkeys(MARKS, "")
    rows = [
        row("ex3", absent_months="3"),                 # > 2 -> excluded
        row("ex9", absent_months="9", marks=blank),    # excluded; its blank marks are not read
        row("in2", absent_months="2"),                 # exactly 2 -> assessed
        row("in0"),
        # a team whose every member is excluded: nobody is paid, nothing divides by zero
        row("all1", team="X", absent_months="3"),
        row("all2", team="X", absent_months="5"),
    ]
    res = by_key(cli(to_csv(rows)))
    for emp in ("ex3", "ex9", "all1", "all2"):
        r = res[("2026-10", emp)]
        assert r["excluded"] is True, emp
        assert r["total"] is None, emp
        assert r["grade"] is None, emp
        assert r["rank"] is None, emp
        assert r["indicators"] == {}, emp
        assert r["pay"] == {}, emp
    for emp, rank in (("in0", 1), ("in2", 2)):   # both 84.25: "in0" < "in2" as text
        r = res[("2026-10", emp)]
        assert r["excluded"] is False, emp
        assert D(r["total"]) == Decimal("84.25"), emp
        assert r["rank"] == rank, emp
        # 2 assessed members: 100000 x 0.5% / 2 = 250.00; total 3000 + 1234.56 + 250 + 200 = 4684.56
        assert D(r["pay"]["public_commission"]) == Decimal("250.00"), emp
        assert D(r["pay"]["total"]) == Decimal("4684.56"), emp


def test_public_commission_per_assessed_head_rounded_half_up(cli):
    rows = [
        # team P: three assessed + one excluded; 100001 x 0.5% = 500.005 / 3 = 166.668.. -> 166.67
        row("p1", team="P", team_public_sales="100001", marks=uniform("95")),
        row("p2", team="P", team_public_sales="100001", marks=uniform("85")),
        row("p3", team="P", team_public_sales="100001", marks=uniform("85")),
        row("p4", team="P", team_public_sales="100001", absent_months="4"),
        # team Q alone: 33333 x 0.5% = 166.665 -> 166.67 (half-up)
        row("q1", team="Q", team_public_sales="33333"),
        # team R of two: 166.665 / 2 = 83.3325 -> 83.33
        row("r1", team="R", team_public_sales="33333"),
        row("r2", team="R", team_public_sales="33333"),
        # team Z: no public sales -> 0
        row("z1", team="Z", team_public_sales="0"),
    ]
    res = by_key(cli(to_csv(rows)))
    expect = {"p1": "166.67", "p2": "166.67", "p3": "166.67", "q1": "166.67", "r1": "83.33", "r2": "83.33",
              "z1": "0"}
    for emp, amount in expect.items():
        pay = res[("2026-10", emp)]["pay"]
        assert D(pay["public_commission"]) == Decimal(amount), emp
        # total = 3000 + 1234.56 + 200 + public commission (no streak)
        assert D(pay["total"]) == Decimal("4434.56") + Decimal(amount), emp
    assert res[("2026-10", "p4")]["pay"] == {}
    # ranks in P: p1 95 > p2 = p3 85 (id order); p4 unranked
    assert [res[("2026-10", e)]["rank"] for e in ("p1", "p2", "p3", "p4")] == [1, 2, 3, None]


def test_disagreeing_team_public_sales_is_bad_input(tmp_path):
    rows = [row("a", team="P", team_public_sales="100000"), row("b", team="P", team_public_sales="90000")]
    code, out, err = run_cli(tmp_path, to_csv(rows))
    assert code == 2
    assert out == ""
    assert "team_public_sales" in err or "团队公共销售额" in err, err


# ---------------------------------------------------------------- the three-months-at-rank-1 award


def test_streak_award_on_the_third_period_once_per_run(cli):
    top, low = uniform("95"), uniform("70")
    # s1 against s2 (always 80) in team S
    s1 = {"2026-01": top, "2026-02": top, "2026-03": top,   # third running -> 300
          "2026-04": top, "2026-05": top, "2026-06": top,   # same run continues: once per run -> 0
          "2026-07": low,                                   # rank 2 breaks the run
          "2026-08": top, "2026-09": top,                   # 2026-10: no s1 row breaks the run
          "2026-11": top, "2026-12": top, "2027-01": top}   # run of 3 across the new year -> 300
    months = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08",
              "2026-09", "2026-10", "2026-11", "2026-12", "2027-01"]
    rows = [row("s2", period=p, team="S", marks=uniform("80")) for p in months]
    rows += [row("s1", period=p, team="S", marks=m) for p, m in s1.items()]
    # x alone in team X; the excluded 2026-03 row breaks its run: award on 2026-06 only
    x_months = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    rows += [row("x", period=p, team="X", absent_months="3" if p == "2026-03" else "0") for p in x_months]
    # T1 and T10 tie every month (84.25): "T1" < "T10" as text, so T1 is rank 1 three times
    rows += [row(e, period=p, team="TT") for e in ("T10", "T1") for p in ("2026-01", "2026-02", "2026-03")]
    res = by_key(cli(to_csv(rows[::-1])))

    def award(p: str, e: str) -> Decimal:
        return D(res[(p, e)]["pay"]["streak_award"])

    awarded = {("2026-03", "s1"), ("2027-01", "s1"), ("2026-06", "x"), ("2026-03", "T1")}
    for p in s1:
        assert res[(p, "s1")]["rank"] == (2 if p == "2026-07" else 1), p
        assert award(p, "s1") == (300 if (p, "s1") in awarded else 0), p
    # s2 is rank 1 only in 2026-07 and 2026-10 (not running) -> never awarded
    for p in months:
        assert award(p, "s2") == 0, p
    assert res[("2026-03", "x")]["excluded"] is True
    assert res[("2026-03", "x")]["pay"] == {}
    for p in ("2026-01", "2026-02", "2026-04", "2026-05", "2026-06"):
        assert award(p, "x") == (300 if (p, "x") in awarded else 0), p
    for p in ("2026-01", "2026-02", "2026-03"):
        assert res[(p, "T1")]["rank"] == 1, p
        assert award(p, "T1") == (300 if p == "2026-03" else 0), p
        assert award(p, "T10") == 0, p
    # the award is a pay line counted in the total: 3000 + 1234.56 + 500 + 200 + 300 = 5234.56
    assert D(res[("2026-06", "x")]["pay"]["total"]) == Decimal("5234.56")
    # s1 2026-03: team S of two -> public 250; 3000 + 1234.56 + 250 + 200 + 300 = 4984.56
    assert D(res[("2026-03", "s1")]["pay"]["total"]) == Decimal("4984.56")


# ---------------------------------------------------------------- three consecutive E


def test_three_consecutive_e_flag_automatic_resignation(cli):
    e, d = uniform("50"), uniform("60")                  # 50.00 -> E; 60.00 -> D
    e_edge = uniform("60", attitude="59.95")             # 59.99 -> E
    plan = {
        "2026-01": e, "2026-02": e,
        "2026-03": e,        # third consecutive E -> flag
        "2026-04": e,        # 02, 03, 04 are also three consecutive E -> flag (period completing it)
        "2026-05": d,        # 60.00 is D: breaks the run
        "2026-06": e, "2026-07": e,
        # 2026-08: no row -> breaks the run
        "2026-09": e,
        "2026-10": e_edge,   # 59.99 is E
        "2026-11": e,        # 09, 10, 11 -> flag
    }
    rows = [row("w", period=p, team="W", marks=m) for p, m in plan.items()]
    rows += [row("h", period=p, team="W", marks=uniform("95")) for p in plan]   # keeps w off rank 1
    res = by_key(cli(to_csv(rows)))
    flagged = {"2026-03", "2026-04", "2026-11"}
    assert res[("2026-10", "w")]["grade"] == "E"
    assert res[("2026-05", "w")]["grade"] == "D"
    for p in plan:
        assert res[(p, "w")]["flags"] == (["自动请辞"] if p in flagged else []), p
        assert res[(p, "h")]["flags"] == [], p
