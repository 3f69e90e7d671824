"""Payroll export: the current results of a cycle, one line per employee, to the fen."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaohe.reports.cells import WORKBOOK_OPTIONS, csv_text, write_cell, write_cells
from kaohe.store.models import Appraisal, AppraisalState, Employee, Result
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
    header = ["工号", "姓名", "团队", "周期"] + [p.label or p.id for p in scheme.pay] + ["应发合计"]
    rows: list[list[Any]] = []
    for code, name, team, state, payload in session.execute(q):
        if published_only and state in (AppraisalState.self_review,
                                        AppraisalState.supervisor_review,
                                        AppraisalState.second_review, AppraisalState.hr_approval):
            continue
        pay = payload.get("pay") or {}
        line = [code, name, team, cycle.period]
        line += [_money(pay.get(p.id)) for p in scheme.pay] + [_money(pay.get("total"))]
        rows.append(line)
    if not rows:
        raise WorkflowError(f"cycle {cycle.id} has no published results to pay yet")
    return header, rows


def _money(v: Any) -> Decimal | None:
    return None if v is None else Decimal(str(v)).quantize(Decimal("0.01"))


def write_payroll(session: Session, *, cycle_id: int, path: Path) -> int:
    header, rows = payroll_rows(session, cycle_id=cycle_id)
    tmp = path.with_name(path.name + ".part")
    if path.suffix.lower() == ".xlsx":
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
        ws = wb.add_worksheet("工资表")
        bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        money = wb.add_format({"num_format": "#,##0.00", "border": 1})
        text = wb.add_format({"border": 1})
        write_cells(ws, 0, header, bold)
        for i, row in enumerate(rows, start=1):
            for j, v in enumerate(row):
                write_cell(ws, i, j, v, money if isinstance(v, Decimal) else text)
        ws.set_column(0, len(header) - 1, 12)
        wb.close()
    else:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([csv_text(h) for h in header])
            for row in rows:
                w.writerow(["" if v is None else (f"{v:.2f}" if isinstance(v, Decimal)
                                                  else csv_text(v)) for v in row])
    tmp.replace(path)
    return len(rows)
