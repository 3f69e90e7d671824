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

from kaohe.store.db import Database
from kaohe.store.models import AggregateResult, Employee
from kaohe.workflow import cycles, org, payroll
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
                         .where(AggregateResult.cycle_id == cid,
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
