"""Payroll export: the current results of a cycle, one line per employee, to the fen, with
the quarter and year awards paid in this cycle (a quarter's in the month that closes it, a
year's in December's cycle) as their own lines."""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaohe.reports.cells import csv_text
from kaohe.scheme.models import Scheme
from kaohe.store.models import AggregateResult, Appraisal, AppraisalState, Employee, Result
from kaohe.workflow import cycles
from kaohe.workflow.errors import WorkflowError
from kaohe.workflow.seal import require_intact


def payroll_rows(session: Session, *, cycle_id: int, published_only: bool = True
                 ) -> tuple[list[str], list[list[Any]]]:
    cycle = cycles.get_cycle(session, cycle_id)
    scheme = cycles.scheme_of(cycle.scheme_version)
    if not scheme.pay:
        raise WorkflowError(f"scheme {scheme.id} has no pay lines to export")
    require_intact(session, cycle_id=cycle.id)  # nothing is paid that does not verify
    q = (select(Employee.code, Employee.name, Appraisal.team_code, Appraisal.state, Result.payload)
         .join(Appraisal, Appraisal.employee_id == Employee.id)
         .join(Result, (Result.appraisal_id == Appraisal.id) & Result.is_current.is_(True))
         .where(Appraisal.cycle_id == cycle.id).order_by(Appraisal.team_code, Employee.code))
    award_cols, awards = paid_awards(session, cycle_id=cycle.id, scheme=scheme)
    header = ["工号", "姓名", "团队", "周期"] + [p.label or p.id for p in scheme.pay]
    header += [label for _, label in award_cols] + ["应发合计"]
    rows: list[list[Any]] = []
    for code, name, team, state, payload in session.execute(q):
        if published_only and state in (AppraisalState.self_review,
                                        AppraisalState.supervisor_review,
                                        AppraisalState.second_review, AppraisalState.hr_approval):
            continue
        pay = payload.get("pay") or {}
        line = [code, name, team, cycle.period]
        line += [_money(pay.get(p.id)) for p in scheme.pay]
        won = [awards.get((code, key), Decimal("0.00")) for key, _ in award_cols]
        line += won
        total = _money(pay.get("total"))
        if total is not None:
            total += sum(won, Decimal(0))
        line.append(total)
        rows.append(line)
    if not rows:
        raise WorkflowError(f"cycle {cycle.id} has no published results to pay yet")
    return header, rows


def paid_awards(session: Session, *, cycle_id: int, scheme: Scheme
                ) -> tuple[list[tuple[str, str]], dict[tuple[str, str], Decimal]]:
    """The awards this cycle pays: those of the quarters and years the cycle closes, from
    the aggregates stored when it was scored. Returns the award columns (key, header), in
    the scheme's order, and each employee's amount per key, to the fen. Awards a scheme
    marks ``paid: false`` (a raise ratio) are outcomes, not money, and are left out."""
    stored = session.execute(
        select(Employee.code, AggregateResult.period, AggregateResult.kind,
               AggregateResult.payload)
        .join(Employee, Employee.id == AggregateResult.employee_id)
        .where(AggregateResult.cycle_id == cycle_id, AggregateResult.is_current.is_(True),
               AggregateResult.closes.is_(True))).all()
    periods = {kind: period for _, period, kind, _ in stored}
    cols: list[tuple[str, str]] = []
    for spec in scheme.aggregates:
        period = periods.get(spec.period)
        if period is None:
            continue
        for award in spec.awards:
            if award.paid:
                cols.append((f"{spec.period}:{award.id}",
                             f"{period} {spec.label or spec.period} {award.id}"))
    keys = {k for k, _ in cols}
    amounts: dict[tuple[str, str], Decimal] = {}
    for code, _, kind, payload in stored:
        for award_id, amount in ((payload or {}).get("awards") or {}).items():
            key = f"{kind}:{award_id}"
            money = _money(amount)
            if key in keys and money is not None:
                amounts[(code, key)] = amounts.get((code, key), Decimal(0)) + money
    return cols, amounts


def _money(v: Any) -> Decimal | None:
    return None if v is None else Decimal(str(v)).quantize(Decimal("0.01"))


def payroll_scores(session: Session, *, cycle_id: int
                   ) -> dict[str, tuple[Decimal | None, str | None]]:
    """Each employee's current 总分 (to the hundredth) and 等级 in a cycle, by 工号."""
    q = (select(Employee.code, Result.total, Result.grade)
         .join(Appraisal, Appraisal.employee_id == Employee.id)
         .join(Result, (Result.appraisal_id == Appraisal.id) & Result.is_current.is_(True))
         .where(Appraisal.cycle_id == cycle_id))
    return {code: (None if total is None else Decimal(str(total)).quantize(
        Decimal("0.01"), ROUND_HALF_UP), grade) for code, total, grade in session.execute(q)}


def write_payroll(session: Session, *, cycle_id: int, path: Path,
                  team: str | None = None) -> int:
    """Write the payroll (of one team, or of all) as xlsx (laid out by
    :mod:`kaohe.reports.payroll_xlsx`) or CSV; the number of people."""
    header, rows = payroll_rows(session, cycle_id=cycle_id)
    if team is not None:
        rows = [r for r in rows if (r[2] or "") == team]
        if not rows:
            raise WorkflowError(f"team {team} has no published results to pay in cycle "
                                f"{cycle_id}")
    tmp = path.with_name(path.name + ".part")
    if path.suffix.lower() == ".xlsx":
        from kaohe.reports.payroll_xlsx import write_payroll_xlsx

        cycle = cycles.get_cycle(session, cycle_id)
        write_payroll_xlsx(tmp, header, rows, payroll_scores(session, cycle_id=cycle_id),
                           title=" ".join(p for p in ("工资表", cycle.period, team) if p))
    else:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([csv_text(h) for h in header])
            for row in rows:
                w.writerow(["" if v is None else (f"{v:.2f}" if isinstance(v, Decimal)
                                                  else csv_text(v)) for v in row])
    tmp.replace(path)
    return len(rows)
