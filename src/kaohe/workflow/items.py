"""A cycle's item tables: the second sheets a scheme declares under ``items:`` (e.g.
``late_payments``, the deals of each employee-month paid late; none or many rows per
employee), uploaded like the input sheet (previewed with every problem, then imported all
or nothing, replacing the table's rows) and fed to the engine with the inputs.

Each row names an ``employee`` and a ``period`` that must be an appraisal of the cycle: a row
that matches none is bad input naming the row and the employee."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from kaohe.columns import EMPLOYEE, PERIOD
from kaohe.errors import InputError
from kaohe.ingest.table import ROW, STANDARD_COLUMNS, collecting, prepare_items, problem, read_raw
from kaohe.scheme.models import ItemTable, Scheme
from kaohe.store.models import Appraisal, AppraisalState, Cycle, Employee, ItemRow
from kaohe.text import N_, Text
from kaohe.workflow import states
from kaohe.workflow.audit import Actor, record
from kaohe.workflow.errors import NotFound, WorkflowError
from kaohe.workflow.inputs import ImportPreview
from kaohe.workflow.schemes import scheme_of
from kaohe.workflow.transitions import get_cycle, require_role

#: rows shown in a preview
SAMPLE = 20


def declared(scheme: Scheme) -> dict[str, ItemTable]:
    """The item tables of a scheme, by name."""
    return dict(scheme.items)


def _table(cycle: Cycle, name: str) -> tuple[Scheme, ItemTable]:
    scheme = scheme_of(cycle.scheme_version)
    spec = scheme.items.get(name)
    if spec is None:
        raise NotFound(Text(N_("scheme %(scheme)s has no item table %(name)s (item "
                                    "tables: %(known)s)"), scheme=scheme.id, name=repr(name),
                                 known=", ".join(sorted(scheme.items)) or "-"))
    return scheme, spec


def _importable(cycle: Cycle) -> None:
    if cycle.state.value not in ("open", "reviewing"):
        raise WorkflowError(Text(N_("cycle %(id)s is %(state)s; inputs can be imported only "
                                    "while it is open or reviewing"), id=cycle.id,
                                 state=states.state_term(cycle.state.value)))


def _cells(frame: pl.DataFrame, spec: ItemTable) -> dict[int, dict[str, str]]:
    """Each row's declared columns as text (by column id), by row number in the file."""
    lookup = {n: ident for ident, col in spec.columns.items()
              for n in [ident, *([col.label] if col.label else []), *col.aliases]}
    mapping = {h: lookup[h.strip()] for h in frame.columns if h.strip() in lookup}
    out: dict[int, dict[str, str]] = {}
    for r in frame.with_row_index(ROW, offset=2).iter_rows(named=True):
        out[int(r[ROW])] = {ident: str(r[h]).strip() for h, ident in mapping.items()
                            if r[h] is not None and str(r[h]).strip()}
    return out


def _staged(session: Session, cycle: Cycle, name: str, path: str | Path
            ) -> tuple[list[dict[str, Any]], str, list[str], list[dict[str, Any]]]:
    """Validate an item sheet against the cycle: the rows to store, the file's name, the
    columns and the first rows. Problems are raised (or listed, inside ``collecting()``)."""
    scheme, spec = _table(cycle, name)
    frame, source = read_raw(path)
    items = prepare_items(frame, scheme, name, source, default_period=cycle.period)
    cells = _cells(frame, spec)
    apps = dict(session.execute(
        select(Employee.code, Appraisal.id).join(Appraisal, Appraisal.employee_id == Employee.id)
        .where(Appraisal.cycle_id == cycle.id)).all())
    frozen = set(session.scalars(select(Appraisal.id).where(
        Appraisal.cycle_id == cycle.id, Appraisal.state.in_(
            [AppraisalState(s) for s in states.FROZEN]))))
    header = next((h for h in frame.columns if h.strip() in STANDARD_COLUMNS[EMPLOYEE]),
                  EMPLOYEE)
    rows: list[dict[str, Any]] = []
    sample: list[dict[str, Any]] = []
    for r in items.frame.select(EMPLOYEE, PERIOD, ROW).iter_rows(named=True):
        code, row = r[EMPLOYEE], int(r[ROW])
        if code is None:
            continue  # an empty id (reported by prepare_items)
        if r[PERIOD] != cycle.period:
            problem(InputError(Text(N_("this sheet is for cycle %(period)s"),
                                    period=cycle.period), file=source, row=row,
                               column="period", value=r[PERIOD]))
            continue
        app_id = apps.get(code)
        if app_id is None:
            problem(InputError(Text(N_("employee %(code)s has no appraisal in cycle "
                                       "%(period)s: the item matches no employee-month"),
                                    code=repr(code), period=cycle.period),
                               file=source, row=row, column=header, value=code))
            continue
        if app_id in frozen:
            problem(InputError(Text(N_("this appraisal is published; change it through an appeal "
                                       "or an HR correction")), file=source, row=row,
                               column=header, value=code))
            continue
        rows.append({"cycle_id": cycle.id, "table_name": name, "appraisal_id": app_id,
                     "row_no": row, "cells": cells.get(row, {})})
        if len(sample) < SAMPLE:
            sample.append({"employee": code, **cells.get(row, {})})
    return rows, source, list(spec.columns), sample


def preview_items(session: Session, *, cycle_id: int, table: str, path: str | Path,
                  actor: Actor) -> ImportPreview:
    """Every problem an import of the item sheet would meet, and what it would store;
    nothing is written."""
    require_role(actor, {"hr", "admin"}, "import inputs")
    cycle = get_cycle(session, cycle_id)
    _importable(cycle)
    _table(cycle, table)
    with collecting() as found:
        try:
            rows, source, columns, sample = _staged(session, cycle, table, path)
        except InputError as exc:
            found.append(exc)
            rows, source, columns, sample = [], exc.file or str(path), [], []
    found.sort(key=lambda e: (e.row or 0, e.column or ""))
    return ImportPreview(source, list(found), len(rows), columns, sample)


def import_items(session: Session, *, cycle_id: int, table: str, path: str | Path,
                 actor: Actor) -> int:
    """Validate an item sheet and store it, all or nothing: it replaces the table's rows of
    the cycle (those of published appraisals stay as they were)."""
    require_role(actor, {"hr", "admin"}, "import inputs")
    cycle = get_cycle(session, cycle_id)
    _importable(cycle)
    rows, _, _, _ = _staged(session, cycle, table, path)
    frozen = select(Appraisal.id).where(Appraisal.cycle_id == cycle.id, Appraisal.state.in_(
        [AppraisalState(s) for s in states.FROZEN]))
    session.execute(delete(ItemRow).where(ItemRow.cycle_id == cycle.id,
                                          ItemRow.table_name == table,
                                          ItemRow.appraisal_id.not_in(frozen)))
    if rows:
        session.execute(insert(ItemRow), rows)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    record(session, action="cycle.items_imported", actor=actor, target_type="cycle",
           target_id=cycle.id, details={"table": table, "file": str(path), "rows": len(rows),
                                        "sha256": digest})
    return len(rows)


def item_counts(session: Session, *, cycle_id: int) -> dict[str, int]:
    """How many rows each item table of the cycle holds."""
    from sqlalchemy import func

    return {name: int(n) for name, n in session.execute(
        select(ItemRow.table_name, func.count()).where(ItemRow.cycle_id == cycle_id)
        .group_by(ItemRow.table_name))}


def item_frames(session: Session, cycle: Cycle, scheme: Scheme) -> dict[str, pl.DataFrame]:
    """The item tables of this cycle and every earlier cycle of the scheme, as text frames
    the engine reads (``employee``, ``period`` and the declared columns), in file order."""
    if not scheme.items:
        return {}
    rows = session.execute(
        select(ItemRow.table_name, ItemRow.cells, Employee.code, Cycle.period)
        .join(Appraisal, Appraisal.id == ItemRow.appraisal_id)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .join(Cycle, Cycle.id == ItemRow.cycle_id)
        .where(Cycle.scheme_id == cycle.scheme_id, Cycle.period <= cycle.period,
               ItemRow.table_name.in_(sorted(scheme.items)))
        .order_by(Cycle.period, ItemRow.table_name, ItemRow.row_no, ItemRow.id)).all()
    out: dict[str, pl.DataFrame] = {}
    for name, spec in scheme.items.items():
        cols: dict[str, list[str | None]] = {EMPLOYEE: [], PERIOD: [],
                                             **{c: [] for c in spec.columns}}
        for table, cells, code, period in rows:
            if table != name:
                continue
            cols[EMPLOYEE].append(code)
            cols[PERIOD].append(period)
            for c in spec.columns:
                v = (cells or {}).get(c)
                cols[c].append(None if v is None else str(v))
        out[name] = pl.DataFrame(cols, schema=dict.fromkeys(cols, pl.String))
    return out


def item_index(frames: dict[str, pl.DataFrame]) -> dict[tuple[str, str], list[Any]]:
    """Each employee-month's item rows of every table, by (employee, period): what a result
    was scored from, beside its inputs."""
    out: dict[tuple[str, str], list[Any]] = {}
    for name in sorted(frames):
        for r in frames[name].iter_rows(named=True):
            out.setdefault((r[EMPLOYEE], r[PERIOD]), []).append([name, r])
    return out
