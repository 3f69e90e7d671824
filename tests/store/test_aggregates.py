"""Quarter and year results stored with each scored cycle, and the awards paid in the
month that closes the quarter (rulebook 4.4: quarterly awards 800/600/300 to the top three
of the team by the sum of the quarter's monthly totals)."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from kaohe.errors import InputError
from kaohe.store.db import Database
from kaohe.store.models import AggregateResult, Appraisal, Employee
from kaohe.workflow import cycles, items, org, payroll
from kaohe.workflow.errors import WorkflowError
from kaohe.workflow.scoring import aggregate_periods, closes, covers

from .factories import ADMIN, write_org

HEADER = ["employee", "period", "response_s", "received", "replied", "very_satisfied",
          "satisfied", "surveys", "inquiries", "buyers", "sales"]
#: (response_s, replied of 100, satisfied of 100) → indicator points, total = 2 × sum
LEVEL = {100: ("25", "100", "95"),  # 15 + 15 + 20 = 50 → 100
         80: ("35", "99", "92"),  # 12 + 12 + 16 = 40 → 80
         56: ("45", "97", "90"),  # 8 + 8 + 12 = 28 → 56
         32: ("55", "95", "88")}  # 4 + 4 + 8 = 16 → 32
SALES = {"E001": "40000", "E002": "30000", "E003": "20000", "E004": "10000"}
#: each employee's monthly total: E003 drops in December, E004 rises
TOTALS = {"2026-10": {"E001": 100, "E002": 80, "E003": 56, "E004": 32},
          "2026-11": {"E001": 100, "E002": 80, "E003": 56, "E004": 32},
          "2026-12": {"E001": 100, "E002": 80, "E003": 32, "E004": 100}}


def _sheet(path: Path, period: str) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for code, total in TOTALS[period].items():
            resp, replied, sat = LEVEL[total]
            # 60 buyers of 100 inquiries: 成功率 60% → 6‰
            w.writerow([code, period, resp, "100", replied, "0", sat, "100", "100", "60",
                        SALES[code]])
    return path


def _publish(db: Database, cid: int) -> None:
    with db.transaction() as s:
        for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=cid, trigger=step, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="approve", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="publish", actor=ADMIN,
                                today=dt.date(2027, 1, 5))


def _quarter(db: Database, tmp: Path) -> dict[str, int]:
    with db.transaction() as s:
        org.import_employees(s, path=write_org(tmp / "org.csv", 4, teams=("一组",)), actor=ADMIN)
    ids = {}
    for period in TOTALS:
        with db.transaction() as s:
            cid = cycles.open_cycle(s, scheme_ref="ecommerce-commission", period=period,
                                    actor=ADMIN).id
            cycles.import_inputs(s, cycle_id=cid, path=_sheet(tmp / f"{period}.csv", period),
                                 actor=ADMIN)
        with db.transaction() as s:
            cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
        ids[period] = cid
    return ids


def _current(db: Database, cid: int) -> dict[str, AggregateResult]:
    with db.transaction() as s:
        rows = s.execute(select(Employee.code, AggregateResult)
                         .join(Employee, Employee.id == AggregateResult.employee_id)
                         .where(AggregateResult.cycle_id == cid, AggregateResult.kind == "quarter",
                                AggregateResult.is_current.is_(True))).all()
        s.expunge_all()
        return dict(rows)


def test_each_scored_cycle_stores_its_quarter_as_of_that_month(db: Database,
                                                                tmp_path: Path) -> None:
    ids = _quarter(db, tmp_path)
    oct_ = _current(db, ids["2026-10"])
    assert {c: (a.period, a.score, a.months, a.closes) for c, a in oct_.items()} == {
        "E001": ("2026-Q4", Decimal("100.00"), 1, False),
        "E002": ("2026-Q4", Decimal("80.00"), 1, False),
        "E003": ("2026-Q4", Decimal("56.00"), 1, False),
        "E004": ("2026-Q4", Decimal("32.00"), 1, False)}
    dec = _current(db, ids["2026-12"])
    # sums: E001 300, E002 240, E003 56+56+32 = 144, E004 32+32+100 = 164
    assert {c: (a.score, a.rank, a.months, a.closes, a.kind) for c, a in dec.items()} == {
        "E001": (Decimal("300.00"), 1, 3, True, "quarter"),
        "E002": (Decimal("240.00"), 2, 3, True, "quarter"),
        "E003": (Decimal("144.00"), 4, 3, True, "quarter"),
        "E004": (Decimal("164.00"), 3, 3, True, "quarter")}
    assert dec["E001"].payload["awards"] == {"quarterly_award": 800}
    assert dec["E002"].payload["awards"] == {"quarterly_award": 600}
    assert dec["E004"].payload["awards"] == {"quarterly_award": 300}
    assert dec["E003"].payload["awards"] == {}
    assert all(a.team_code == "一组" for a in dec.values())


def test_scoring_again_makes_a_new_current_revision(db: Database, tmp_path: Path) -> None:
    ids = _quarter(db, tmp_path)
    with db.transaction() as s:
        cycles.score_cycle(s, cycle_id=ids["2026-11"], actor=ADMIN)
    with db.transaction() as s:
        revs = s.execute(select(AggregateResult.revision, AggregateResult.is_current)
                         .where(AggregateResult.cycle_id == ids["2026-11"])).all()
    assert sorted(revs) == [(1, False)] * 4 + [(2, True)] * 4


def test_payroll_pays_the_quarter_awards_in_the_closing_month(db: Database,
                                                               tmp_path: Path) -> None:
    ids = _quarter(db, tmp_path)
    for cid in ids.values():
        _publish(db, cid)
    with db.transaction() as s:
        header, rows = payroll.payroll_rows(s, cycle_id=ids["2026-12"])
    assert header == ["工号", "姓名", "团队", "周期", "提成", "月度销售奖",
                      "2026-Q4 季度累计 quarterly_award", "应发合计"]
    # commission = sales × 6‰ × total / 100; sales award 300/200/100 by sales in the team
    assert [r[4:] for r in rows] == [
        [Decimal("240.00"), Decimal("300.00"), Decimal("800.00"), Decimal("1340.00")],
        [Decimal("144.00"), Decimal("200.00"), Decimal("600.00"), Decimal("944.00")],
        [Decimal("38.40"), Decimal("100.00"), Decimal("0.00"), Decimal("138.40")],
        [Decimal("60.00"), Decimal("0.00"), Decimal("300.00"), Decimal("360.00")]]
    with db.transaction() as s:
        header, rows = payroll.payroll_rows(s, cycle_id=ids["2026-11"])
    assert "2026-Q4 季度累计 quarterly_award" not in header  # paid in December only
    assert rows[0][4:] == [Decimal("240.00"), Decimal("300.00"), Decimal("540.00")]
    out = tmp_path / "pay.csv"
    with db.transaction() as s:
        payroll.write_payroll(s, cycle_id=ids["2026-12"], path=out)
    lines = out.read_text("utf-8-sig").splitlines()
    assert lines[1].endswith(",240.00,300.00,800.00,1340.00")


@pytest.mark.parametrize(("period", "quarter", "year", "closing"), [
    ("2026-01", "2026-Q1", "2026", set()),
    ("2026-03", "2026-Q1", "2026", {"2026-Q1"}),
    ("2026-11", "2026-Q4", "2026", set()),
    ("2026-12", "2026-Q4", "2026", {"2026-Q4", "2026"}),
    ("2026-Q2", "2026-Q2", "2026", {"2026-Q2"}),
    ("2026-Q4", "2026-Q4", "2026", {"2026-Q4", "2026"}),
    ("2026", None, "2026", {"2026"}),
])
def test_which_quarter_and_year_a_cycle_closes(period: str, quarter: str | None, year: str,
                                               closing: set[str]) -> None:
    assert aggregate_periods(period) == (quarter, year)
    assert {p for p in (quarter, year) if p and closes(p, period)} == closing


@given(st.integers(2020, 2030), st.integers(1, 12))
def test_a_month_belongs_to_one_quarter_and_closes_it_only_at_its_end(year: int,
                                                                     month: int) -> None:
    period = f"{year}-{month:02d}"
    quarters = [f"{year}-Q{q}" for q in range(1, 5) if covers(f"{year}-Q{q}", period)]
    assert len(quarters) == 1
    assert closes(quarters[0], period) == (month % 3 == 0)
    assert closes(str(year), period) == (month == 12)
    assert not covers(str(year + 1), period)


# -- foreign-trade (rulebook 4.12): an item table uploaded per cycle, quarter and year awards
FT_HEADER = ["employee", "period", "position", "job_grade", "score@self", "score@supervisor",
             "score@manager", "attendance_days", "collected", "costs", "violation"]
#: marks (self, supervisor, manager): E001 the rulebook's worked example (84.50 良)
MARKS = {"E001": ("90", "85", "80"), "E002": ("95", "95", "95"), "E003": ("75", "75", "75"),
         "E004": ("90", "90", "90")}


def _ft_sheet(path: Path, period: str) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(FT_HEADER)
        for code, marks in MARKS.items():
            # E004 broke the rules every month: excluded, never ranked
            w.writerow([code, period, "业务员", "Ⅱ级", *marks, "18", "500000", "200000",
                        "1" if code == "E004" else "0"])
    return path


def _deals(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["工号", "period", "deal", "未回款金额", "逾期天数", "该笔提成"])
        w.writerows(rows)
    return path


def _foreign_trade(db: Database, tmp: Path) -> dict[str, int]:
    with db.transaction() as s:
        org.import_employees(s, path=write_org(tmp / "org.csv", 4, teams=("一组",)), actor=ADMIN)
    ids = {}
    for period in ("2026-10", "2026-11", "2026-12"):
        with db.transaction() as s:
            cid = cycles.open_cycle(s, scheme_ref="foreign-trade", period=period,
                                    actor=ADMIN).id
            cycles.import_inputs(s, cycle_id=cid, path=_ft_sheet(tmp / f"{period}.csv", period),
                                 actor=ADMIN)
        ids[period] = cid
    return ids


def test_an_item_row_matching_no_employee_is_refused_and_nothing_is_written(
        db: Database, tmp_path: Path) -> None:
    ids = _foreign_trade(db, tmp_path)
    bad = _deals(tmp_path / "deals.csv", [["E001", "2026-12", "A", "100000", "16", "920"],
                                          ["E999", "2026-12", "B", "80000", "60", "100"],
                                          ["E002", "2026-11", "C", "80000", "60", "100"]])
    with db.transaction() as s:
        preview = items.preview_items(s, cycle_id=ids["2026-12"], table="late_payments",
                                      path=bad, actor=ADMIN)
    assert [(e.row, e.column, e.value) for e in preview.errors] == [
        (3, "工号", "E999"), (4, "period", "2026-11")]
    assert "employee 'E999' has no appraisal in cycle 2026-12" in str(preview.errors[0])
    with pytest.raises(InputError, match=r"row 3.*E999"), db.transaction() as s:
        items.import_items(s, cycle_id=ids["2026-12"], table="late_payments", path=bad,
                           actor=ADMIN)
    with db.transaction() as s:
        assert items.item_counts(s, cycle_id=ids["2026-12"]) == {}
        with pytest.raises(WorkflowError, match="no item table 'deals'"):
            items.preview_items(s, cycle_id=ids["2026-12"], table="deals", path=bad,
                                actor=ADMIN)


def test_item_table_quarter_and_year_awards_reach_the_december_payroll(
        db: Database, tmp_path: Path) -> None:
    ids = _foreign_trade(db, tmp_path)
    deals = _deals(tmp_path / "deals.csv", [["E001", "2026-12", "A", "100000", "16", "920"],
                                            ["E001", "2026-12", "B", "80000", "60", "100"]])
    with db.transaction() as s:
        preview = items.preview_items(s, cycle_id=ids["2026-12"], table="late_payments",
                                      path=deals, actor=ADMIN)
        assert (preview.errors, preview.rows) == ([], 2)
        assert preview.sample[0] == {"employee": "E001", "amount": "100000", "days_late": "16",
                                     "deal_commission": "920"}
        assert items.import_items(s, cycle_id=ids["2026-12"], table="late_payments",
                                  path=deals, actor=ADMIN) == 2
    for cid in ids.values():
        with db.transaction() as s:
            cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
    dec = _current(db, ids["2026-12"])
    quarter = {c: (a.score, a.rank, a.months, a.payload["awards"]) for c, a in dec.items()
               if a.kind == "quarter"}
    assert quarter == {"E001": (Decimal("84.50"), 2, 3, {"quarter_award": 1500}),
                       "E002": (Decimal("95.00"), 1, 3, {"quarter_award": 2000}),
                       "E003": (Decimal("75.00"), 3, 3, {"quarter_award": 800})}
    year = _year(db, ids["2026-12"])
    assert {c: (a.rank, a.payload["awards"]) for c, a in year.items()} == {
        "E001": (2, {"annual_award": 2000}), "E002": (1, {"annual_award": 3000}),
        "E003": (3, {"annual_award": 1000})}
    # reserve held: 30% of the commission, three months: 828 × 3; 910.80 × 3; 662.40 × 3
    assert {c: a.payload["values"] for c, a in year.items()} == {
        "E001": {"reserve_held": 2484}, "E002": {"reserve_held": 2732.4},
        "E003": {"reserve_held": 1987.2}}
    _publish(db, ids["2026-12"])
    with db.transaction() as s:
        header, rows = payroll.payroll_rows(s, cycle_id=ids["2026-12"])
    assert header[4:] == ["基本工资", "浮动工资", "业务津贴", "业务提成", "风险保证金",
                          "逾期回款扣款", "2026-Q4 季度个人奖 quarter_award",
                          "2026 年度个人奖 annual_award", "应发合计"]
    m = [[None if v is None else str(v) for v in r[4:]] for r in rows]
    assert m == [
        # 4550 + 550 × 50% + 300 × 50% + 300000 × 0.92% × 1.0 − 828 − (50 + 100) + awards
        ["4550.00", "275.00", "150.00", "2760.00", "-828.00", "-150.00", "1500.00", "2000.00",
         "10257.00"],
        # 优: commission × 1.1 = 3036.00, reserve −910.80
        ["4550.00", "275.00", "150.00", "3036.00", "-910.80", "0.00", "2000.00", "3000.00",
         "12100.20"],
        # 中: commission × 0.8 = 2208.00, reserve −662.40
        ["4550.00", "275.00", "150.00", "2208.00", "-662.40", "0.00", "800.00", "1000.00",
         "8320.60"],
        # excluded (违规): no pay, no award
        [None, None, None, None, None, None, "0.00", "0.00", None]]


def _year(db: Database, cid: int) -> dict[str, AggregateResult]:
    with db.transaction() as s:
        rows = s.execute(select(Employee.code, AggregateResult)
                         .join(Employee, Employee.id == AggregateResult.employee_id)
                         .where(AggregateResult.cycle_id == cid, AggregateResult.kind == "year",
                                AggregateResult.is_current.is_(True))).all()
        s.expunge_all()
        return dict(rows)


def test_a_stored_award_changed_after_publication_is_caught_and_not_paid(
        db: Database, tmp_path: Path) -> None:
    from sqlalchemy import update

    from kaohe.workflow.seal import Tampered, check
    from kaohe.workflow.verification import verify_all

    ids = _quarter(db, tmp_path)
    dec = ids["2026-12"]
    _publish(db, dec)
    with db.transaction() as s:
        assert check(s, cycle_ids=[dec])[1] == []
        report = verify_all(s, scope="full")
        assert report.ok, [m.message for m in report.mismatches]
    with db.transaction() as s:
        e3 = s.scalar(select(Employee.id).where(Employee.code == "E003"))
        row = s.scalar(select(AggregateResult).where(AggregateResult.cycle_id == dec,
                                                     AggregateResult.employee_id == e3,
                                                     AggregateResult.is_current.is_(True)))
        assert row is not None
        payload = dict(row.payload) | {"awards": {"quarterly_award": 300}}
        s.execute(update(AggregateResult).where(AggregateResult.id == row.id)
                  .values(payload=payload))
    with db.transaction() as s:
        _, found = check(s, cycle_ids=[dec])
        assert [(m.employee, m.period, m.what) for m in found] == [
            ("E003", "2026-12", "aggregates")]
        assert "differ from what was sealed" in found[0].detail
        with pytest.raises(Tampered, match=r"E003 2026-12 \(aggregates\)"):
            payroll.payroll_rows(s, cycle_id=dec)


def test_verification_scores_the_aggregates_again(db: Database, tmp_path: Path) -> None:
    """A stored quarter result that the engine does not give (edited, and re-sealed as if
    legitimately) is found by scoring the cycle again."""
    from sqlalchemy import update

    from kaohe.workflow.seal import seal_unsealed
    from kaohe.workflow.verification import rescore

    ids = _quarter(db, tmp_path)
    dec = ids["2026-12"]
    _publish(db, dec)
    with db.transaction() as s:
        assert rescore(s, sample=None)[2] == []
        e1 = s.scalar(select(Employee.id).where(Employee.code == "E001"))
        s.execute(update(AggregateResult).where(AggregateResult.cycle_id == dec,
                                                AggregateResult.employee_id == e1)
                  .values(payload={"period": "2026-Q4", "employee": "E001", "score": 1}))
        assert seal_unsealed(s, cycle_id=dec, actor=ADMIN, reason="x") == 0
    with db.transaction() as s:
        found = rescore(s, sample=None)[2]
        assert [(m.employee, m.what) for m in found] == [("E001", "rescore")]
        assert "quarter and year results differ" in found[0].detail


# -- rnd-annual (rulebook 4.11): the year's inputs entered on a month's appraisal ----------
RND_MONTHLY = ["responsibility", "initiative", "teamwork", "learning_attitude", "analysis",
               "judgement", "planning", "innovation", "learning", "adaptability",
               "understanding"]
#: attitude 30 + 20 + 20 + 20 = 90; ability all 良: 88 of 110 → 80.00
RND_LEVELS = ["优", "良", "良", "优"] + ["良"] * 7
RND_ANNUAL = {"role": "研发人员", "kpi1": "90", "kpi2": "80", "kpi3": "100", "kpi4": "60",
              "kpi5": "50", "bonus_points": "2", "salary_step": "5", "step_min": "1",
              "step_max": "8"}


def test_the_years_inputs_on_decembers_appraisal_feed_the_year(db: Database,
                                                               tmp_path: Path) -> None:
    with db.transaction() as s:
        org.import_employees(s, path=write_org(tmp_path / "org.csv", 2, teams=("研发",)),
                             actor=ADMIN)
    ids = {}
    for period in ("2026-11", "2026-12"):
        path = tmp_path / f"{period}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            annual = list(RND_ANNUAL) if period == "2026-12" else []
            w.writerow(["employee", "period", *RND_MONTHLY, *annual])
            # E002 has no annual inputs: no year result (the engine warns)
            w.writerow(["E001", period, *RND_LEVELS, *[RND_ANNUAL[k] for k in annual]])
            w.writerow(["E002", period, *RND_LEVELS, *[""] * len(annual)])
        with db.transaction() as s:
            cid = cycles.open_cycle(s, scheme_ref="rnd-annual", period=period, actor=ADMIN).id
            cycles.import_inputs(s, cycle_id=cid, path=path, actor=ADMIN)
        with db.transaction() as s:
            cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
        ids[period] = cid
    assert _year(db, ids["2026-11"]) == {}
    year = _year(db, ids["2026-12"])
    assert list(year) == ["E001"]
    a = year["E001"]
    # performance 27 + 20 + 20 + 9 + 5 = 81; 81 × 70% + 90 × 15% + 80 × 15% + 2 = 84.20
    assert (a.period, a.score, a.grade, a.rank, a.months, a.closes) == (
        "2026", Decimal("84.20"), "符合要求", None, 2, True)
    assert a.payload["values"] == {"step_change": 1, "new_step": 6}
    assert a.payload["flags"] == ["提升培训"]
    assert a.team_code == "研发"


def test_an_hr_correction_rescores_the_quarter_and_seals_it_again(db: Database,
                                                                  tmp_path: Path) -> None:
    """E003's December response time corrected from 55 s (4 points) to 25 s (15 points):
    December's total 32 → 54, the quarter 144 → 166, now ahead of E004 (164): third place
    and the 300 award move from E004 to E003, and the payroll that follows pays it so."""
    from kaohe.workflow.appeals import correct
    from kaohe.workflow.seal import check

    ids = _quarter(db, tmp_path)
    dec = ids["2026-12"]
    with db.transaction() as s:
        org.create_user(s, username="hr", roles=["hr"], actor=ADMIN)
    _publish(db, dec)
    with db.transaction() as s:
        app = s.scalar(select(Appraisal.id).join(Employee).where(
            Appraisal.cycle_id == dec, Employee.code == "E003"))
        hr, _ = org.actor_for(s, "hr")
        correct(s, appraisal_id=int(app or 0), changes={"response_s": "25"},
                reason="响应时间统计有误", actor=hr)
    quarter = _current(db, dec)
    assert {c: (a.score, a.rank, a.payload["awards"]) for c, a in quarter.items()} == {
        "E001": (Decimal("300.00"), 1, {"quarterly_award": 800}),
        "E002": (Decimal("240.00"), 2, {"quarterly_award": 600}),
        "E003": (Decimal("166.00"), 3, {"quarterly_award": 300}),
        "E004": (Decimal("164.00"), 4, {})}
    with db.transaction() as s:
        assert check(s, cycle_ids=[dec])[1] == []
        _, rows = payroll.payroll_rows(s, cycle_id=dec)
    # E003: commission 20000 × 6‰ × 54 / 100 = 64.80, sales award 100, quarter award 300
    assert [str(v) for v in rows[2][4:]] == ["64.80", "100.00", "300.00", "464.80"]
    assert [str(v) for v in rows[3][4:]] == ["60.00", "0.00", "0.00", "60.00"]
