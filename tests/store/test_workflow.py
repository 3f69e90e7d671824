"""The monthly cycle through the services: open, import, score, review, publish, appeal,
correct; illegal moves and wrong roles refused with a reason and nothing written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from kaohe.errors import InputError
from kaohe.store.db import Database
from kaohe.store.models import Appraisal, AppraisalState, AuditEvent, Result
from kaohe.workflow import appeals, cycles, payroll
from kaohe.workflow.audit import verify
from kaohe.workflow.errors import NotAllowed, WorkflowError
from kaohe.workflow.org import actor_for

from .factories import ADMIN, input_row, setup_org, write_inputs

CODES = [f"E{i:03d}" for i in range(1, 7)]


def _events(db: Database) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def _open_scored(db: Database, tmp: Path, period: str = "2026-10") -> int:
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period=period, actor=ADMIN).id
    rows = [input_row(c, period, sales=str(105000 + i)) for i, c in enumerate(CODES)]
    with db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=write_inputs(tmp / f"{period}.csv", rows),
                             actor=ADMIN)
    with db.transaction() as s:
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
    return cid


def _publish(db: Database, cid: int, day: dt.date) -> None:
    with db.transaction() as s:
        for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=cid, trigger=step, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="approve", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="publish", actor=ADMIN, today=day)


def _app_id(db: Database, cid: int, code: str) -> int:
    from kaohe.store.models import Employee

    with db.transaction() as s:
        return int(s.scalar(select(Appraisal.id).join(Employee).where(
            Appraisal.cycle_id == cid, Employee.code == code)) or 0)


def test_full_month_scores_to_the_fen_and_publishes(db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    cid = _open_scored(db, tmp_path)
    # team 一组 = E001, E003, E005, identical totals 90, ranked by sales desc: E005, E003, E001
    # pool = 3 × 20000 × 0.6% = 360: rank 1 gets 144 + 200, rank 2 108 + 100, rank 3 108
    with db.transaction() as s:
        got = {r.payload["employee"]: (r.total, r.rank, r.pay_total) for r in s.scalars(
            select(Result).where(Result.is_current.is_(True)))}
    assert got["E005"] == (Decimal("90.00"), 1, Decimal(1280 + 400 + 150 + 100 + 344))
    assert got["E003"] == (Decimal("90.00"), 2, Decimal(1280 + 400 + 150 + 100 + 208))
    assert got["E001"] == (Decimal("90.00"), 3, Decimal(1280 + 400 + 150 + 100 + 108))
    _publish(db, cid, dt.date(2026, 11, 5))
    with db.transaction() as s:
        states = set(s.scalars(select(Appraisal.state).where(Appraisal.cycle_id == cid)))
        due = s.scalar(select(Appraisal.appeal_due).where(Appraisal.cycle_id == cid).limit(1))
    assert states == {AppraisalState.published}
    # published Thu 2026-11-05: 5 working days → Fri 6, Mon 9, Tue 10, Wed 11, Thu 12
    assert due == dt.date(2026, 11, 12)
    out = tmp_path / "pay.xlsx"
    with db.transaction() as s:
        payroll.write_payroll(s, cycle_id=cid, path=out)
    ws = load_workbook(out).active
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["E005"][-1] == 2274.0
    assert ws.cell(1, 1).value == "工号"
    with db.transaction() as s:
        assert verify(s).ok


def test_published_results_are_frozen(db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    cid = _open_scored(db, tmp_path)
    _publish(db, cid, dt.date(2026, 11, 5))
    before = _events(db)
    with pytest.raises(WorkflowError, match=r"published results are frozen"), db.transaction() as s:
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
    assert _events(db) == before


def test_illegal_transition_is_refused_with_a_reason_and_writes_nothing(
        db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    cid = _open_scored(db, tmp_path)
    app = _app_id(db, cid, "E001")
    before = _events(db)
    with pytest.raises(WorkflowError, match=r"^cannot acknowledge an appraisal in state "
                                            r"self_review \(allowed from: published\)"), db.transaction() as s:
        actor, _ = actor_for(s, "e1")
        cycles.transition(s, appraisal_id=app, trigger="acknowledge", actor=actor)
    with pytest.raises(WorkflowError, match=r"every appraisal must be waiting for HR"), db.transaction() as s:
        cycles.cycle_transition(s, cycle_id=cid, trigger="approve", actor=ADMIN)
    assert _events(db) == before


def test_roles_are_checked(db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    cid = _open_scored(db, tmp_path)
    other = _app_id(db, cid, "E002")
    mine = _app_id(db, cid, "E001")
    with db.transaction() as s:
        e1, _ = actor_for(s, "e1")
        with pytest.raises(NotAllowed):
            cycles.transition(s, appraisal_id=other, trigger="submit_self_review", actor=e1)
        cycles.transition(s, appraisal_id=mine, trigger="submit_self_review", actor=e1,
                          note="本月完成目标")
    with db.transaction() as s:
        sup1, _ = actor_for(s, "sup1")  # looks after 一组 only
        with pytest.raises(NotAllowed):
            cycles.transition(s, appraisal_id=other, trigger="submit_supervisor_review",
                              actor=sup1)
        cycles.transition(s, appraisal_id=mine, trigger="submit_supervisor_review", actor=sup1)
    with db.transaction() as s:
        e1, _ = actor_for(s, "e1")
        with pytest.raises(NotAllowed):
            cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-11", actor=e1)


def test_bad_import_names_the_row_and_writes_nothing(db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-10", actor=ADMIN).id
    rows = [input_row(c, "2026-10") for c in CODES]
    rows[3][2] = "lots"
    path = write_inputs(tmp_path / "bad.csv", rows)
    with pytest.raises(InputError, match=r"bad\.csv, row 5, column 'sales': value 'lots': not a number"):
        with db.transaction() as s:
            cycles.import_inputs(s, cycle_id=cid, path=path, actor=ADMIN)
    rows = [input_row(c, "2026-10") for c in [*CODES, "E999"]]
    path = write_inputs(tmp_path / "stranger.csv", rows)
    with pytest.raises(InputError, match=r"row 8, column 'employee': value 'E999'"), db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=path, actor=ADMIN)
    with db.transaction() as s:
        assert all(not a.inputs for a in s.scalars(select(Appraisal)))


def test_appeal_with_working_day_deadlines_and_rescoring(db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    cid = _open_scored(db, tmp_path)
    _publish(db, cid, dt.date(2026, 9, 25))
    app = _app_id(db, cid, "E001")
    with db.transaction() as s:
        e1, _ = actor_for(s, "e1")
        # filed Mon 2026-09-28: 国庆 1–7 Oct are holidays, Sun 27 Sep and Sat 10 Oct are
        # make-up working days → 3 working days: 29, 30 Sep, 8 Oct
        ap = appeals.file_appeal(s, appraisal_id=app, reason="执行力评级有误", actor=e1,
                                 today=dt.date(2026, 9, 28))
        assert ap.accept_due == dt.date(2026, 10, 8)
        aid = ap.id
    with db.transaction() as s:
        hr, _ = actor_for(s, "hr")
        appeals.decide_appeal(s, appeal_id=aid, accept=True, note="受理", actor=hr)
    with db.transaction() as s:
        hr, _ = actor_for(s, "hr")
        moved = appeals.resolve_appeal(s, appeal_id=aid, changes={"bad_reviews": "0",
                                                                  "execution": "一般"},
                                       resolution="复核后下调执行力", actor=hr)
    assert app in moved
    with db.transaction() as s:
        res = s.scalars(select(Result).where(Result.appraisal_id == app)
                        .order_by(Result.revision)).all()
        assert [r.revision for r in res] == [1, 2]
        assert res[-1].is_current and not res[0].is_current
        # execution 比较满意 (8 points) → 一般 (6 points)
        assert res[-1].total == res[0].total - 2
        assert s.get(Appraisal, app).state is AppraisalState.resolved  # type: ignore[union-attr]
        assert verify(s).ok


def test_appeal_after_the_window_is_refused(db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    cid = _open_scored(db, tmp_path)
    _publish(db, cid, dt.date(2026, 11, 5))
    app = _app_id(db, cid, "E001")
    with pytest.raises(WorkflowError, match=r"appeal window closed on 2026-11-12"), db.transaction() as s:
        e1, _ = actor_for(s, "e1")
        appeals.file_appeal(s, appraisal_id=app, reason="x", actor=e1,
                            today=dt.date(2026, 11, 13))


def test_overdue_lists_late_feedback_and_appeals(db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    cid = _open_scored(db, tmp_path)
    _publish(db, cid, dt.date(2026, 11, 2))
    app = _app_id(db, cid, "E001")
    e3 = _app_id(db, cid, "E003")
    with db.transaction() as s:
        e1, _ = actor_for(s, "e1")
        appeals.file_appeal(s, appraisal_id=app, reason="x", actor=e1, today=dt.date(2026, 11, 3))
        sup1, _ = actor_for(s, "sup1")
        appeals.record_feedback(s, appraisal_id=e3,
                                held_on=dt.date(2026, 11, 4), notes="面谈完成", actor=sup1)
    with db.transaction() as s:
        items = appeals.overdue(s, today=dt.date(2026, 11, 20))
    kinds = {(o.kind, o.employee) for o in items}
    assert ("appeal_decision", "E001") in kinds
    assert ("feedback_meeting", "E002") in kinds
    assert ("feedback_meeting", "E003") not in kinds


def test_history_feeds_cross_period_flags(db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    low = "10000"  # completion 10% → total 70 − 30 … well under 70
    for period in ("2026-08", "2026-09"):
        with db.transaction() as s:
            cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period=period,
                                    actor=ADMIN).id
        rows = [input_row(c, period, sales=low if c == "E001" else "105000") for c in CODES]
        with db.transaction() as s:
            cycles.import_inputs(s, cycle_id=cid, path=write_inputs(tmp_path / f"{period}.csv",
                                                                    rows), actor=ADMIN)
            cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
    with db.transaction() as s:
        res = s.scalar(select(Result).join(Appraisal).where(
            Appraisal.cycle_id == cid, Result.is_current.is_(True),
            Result.payload["employee"].as_string() == "E001"))
        assert res is not None
        assert res.payload["flags"] == ["淘汰"]


def test_org_import_bad_row_names_it_and_writes_nothing(db: Database, tmp_path: Path) -> None:
    from kaohe.store.models import Employee
    from kaohe.workflow import org

    sheet = tmp_path / "org.csv"
    sheet.write_text("工号,姓名,团队,入职日期\nE001,张三,一组,2025-01-01\n"
                     "E002,李四,一组,2025-02-30\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"org\.csv, row 3, column '入职日期': value "
                                         r"'2025-02-30': not a real date"):
        with db.transaction() as s:
            org.import_employees(s, path=sheet, actor=ADMIN)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Employee)) == 0


def test_acknowledgement_and_incidents(db: Database, tmp_path: Path) -> None:
    from kaohe.store.models import Acknowledgement

    setup_org(db, tmp_path)
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-10", actor=ADMIN).id
    rows = [input_row(c, "2026-10") for c in CODES]
    with db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=write_inputs(tmp_path / "i.csv", rows),
                             actor=ADMIN)
    app = _app_id(db, cid, "E001")
    with db.transaction() as s:
        sup1, _ = actor_for(s, "sup1")
        cycles.add_incident(s, appraisal_id=app, input_id="bad_reviews",
                            date=dt.date(2026, 10, 12), count=Decimal(1), note="订单差评",
                            actor=sup1)
        with pytest.raises(WorkflowError, match=r"not a whole number"):
            cycles.add_incident(s, appraisal_id=app, input_id="bad_reviews",
                                date=dt.date(2026, 10, 12), count=Decimal("0.5"), note="",
                                actor=sup1)
    with db.transaction() as s:
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
        res = s.scalar(select(Result).where(Result.appraisal_id == app,
                                            Result.is_current.is_(True)))
        assert res is not None
        # the imported 0 bad reviews plus the recorded incident: 90 − 50 = 40
        assert res.total == Decimal("40.00")
        # the stored reasons are worded for people, in both languages: labels, not ids
        why = res.payload["reasons"]["completion"]
        assert why.startswith("成交额完成度：实际销售额 ") and "× 权重 30% = " in why
        assert "sales" not in why and "band" not in why
        assert res.payload["reasons_en"]["completion"].startswith("Sales completion: Sales ")
        assert res.payload["reasons"]["bad_review_deduction"] == "差评扣分：差评数 1 次 × 50 = −50.00"
    _publish(db, cid, dt.date(2026, 11, 5))
    with db.transaction() as s:
        e1, _ = actor_for(s, "e1")
        cycles.transition(s, appraisal_id=app, trigger="acknowledge", actor=e1)
    with db.transaction() as s:
        assert s.scalar(select(Acknowledgement.appraisal_id)) == app


def test_inputs_imported_in_parts(db: Database, tmp_path: Path) -> None:
    """Metrics from the platform first, the supervisors' sheet later: both are kept."""
    setup_org(db, tmp_path)
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-10", actor=ADMIN).id
    full = [input_row(c, "2026-10") for c in CODES]
    header = ["employee", "period", "sales", "sales_target", "inquiries", "buyers", "received",
              "replied", "response_s", "followup_amount"]
    first = tmp_path / "metrics.csv"
    first.write_text("\n".join([",".join(header)] + [",".join(r[:10]) for r in full]) + "\n",
                     encoding="utf-8")
    second = tmp_path / "sheet.csv"
    second.write_text("\n".join(["employee,execution,satisfaction,bad_reviews,full_attendance,"
                                 "silent_sales"] + [",".join([r[0], *r[10:]]) for r in full])
                      + "\n", encoding="utf-8")
    with db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=first, actor=ADMIN)
    with db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=second, actor=ADMIN)
    with db.transaction() as s:
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
        totals = set(s.scalars(select(Result.total)))
    assert totals == {Decimal("90.00")}
