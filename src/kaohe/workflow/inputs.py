"""A cycle's inputs: the sheet HR uploads (previewed with every problem, then imported all
or nothing), and the table the engine scores, where the one precedence of which value
counts is applied (import < declared rater's rating < the latest decision)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from kaohe.columns import EMPLOYEE, PERIOD, TEAM, InputTable
from kaohe.errors import InputError
from kaohe.ingest.table import (
    KIND,
    ROW,
    collecting,
    map_headers,
    prepare,
    problem,
    read_raw,
)
from kaohe.scheme.models import Scheme
from kaohe.store.models import (
    Appraisal,
    AppraisalState,
    Cycle,
    CycleState,
    Employee,
    Incident,
    PeerBallot,
    Rating,
)
from kaohe.text import N_, Term, Text
from kaohe.workflow import permissions, states
from kaohe.workflow.audit import Actor, record
from kaohe.workflow.errors import WorkflowError
from kaohe.workflow.permissions import RaterRole
from kaohe.workflow.schemes import scheme_of
from kaohe.workflow.transitions import get_cycle, require_role


@dataclass(frozen=True)
class ImportPreview:
    """What an import would do, worked out without saving anything."""

    source: str
    errors: list[InputError]
    rows: int
    columns: list[str]  # the input ids the sheet sets
    sample: list[dict[str, Any]]  # every row, as it would be stored (the sheet's values)


def _staged(session: Session, cycle: Cycle, path: str | Path
            ) -> tuple[list[dict[str, Any]], str, list[str], list[dict[str, Any]]]:
    """Validate a sheet against the cycle and work out each appraisal's new inputs. Problems
    are raised (or listed, inside ``collecting()``). Where the scheme has inputs of the year
    (or quarter), a row whose period is ``2026`` (``2026-Q4``) gives them for the employee:
    they are stored on the employee's appraisal of this cycle, which the scoring reads as
    the year's row (:func:`kaohe.workflow.scoring.with_annual_rows`)."""
    scheme = scheme_of(cycle.scheme_version)
    frame, source = read_raw(path)
    # every column present is validated; columns not in the sheet keep their stored values
    table = prepare(frame, scheme, source, default_period=cycle.period, partial=True)
    mapping = map_headers(frame, scheme, source)
    canon = frame.rename(mapping).select(list(mapping.values())).with_row_index(ROW, offset=2)
    if PERIOD in canon.columns:
        for r in table.frame.filter(pl.col(PERIOD) != cycle.period).iter_rows(named=True):
            problem(InputError(Text(N_("this sheet is for cycle %(period)s"),
                                    period=cycle.period), file=source,
                               row=int(r[ROW]), column="period", value=r[PERIOD]))
    rows_now = session.execute(
        select(Employee.code, Appraisal.id, Appraisal.inputs)
        .join(Appraisal, Appraisal.employee_id == Employee.id)
        .where(Appraisal.cycle_id == cycle.id)).all()
    apps = {code: app_id for code, app_id, _ in rows_now}
    stored = {app_id: dict(inputs or {}) for _, app_id, inputs in rows_now}
    frozen = set(session.scalars(select(Appraisal.id).where(
        Appraisal.cycle_id == cycle.id, Appraisal.state.in_(
            [AppraisalState(s) for s in states.FROZEN]))))
    input_cols = [c for c in canon.columns if c not in (EMPLOYEE, PERIOD, TEAM, "name", ROW)]
    header_of = {canon_: header for header, canon_ in mapping.items()}
    annual = _annual_rows(table, cycle, scheme, source, canon, header_of)
    month_rows: dict[int, tuple[int, dict[str, str | None]]] = {}
    annual_rows: dict[int, tuple[int, str, dict[str, str | None]]] = {}
    sample: list[dict[str, Any]] = []
    for r in canon.iter_rows(named=True):
        code = (r[EMPLOYEE] or "").strip()
        app_id = apps.get(code)
        if not code:
            continue  # blank line, or an empty id (reported by prepare)
        if app_id is None:
            problem(InputError(Text(N_("employee %(code)s has no appraisal in cycle %(period)s"),
                                    code=repr(code), period=cycle.period),
                               file=source, row=int(r[ROW]), column=EMPLOYEE, value=code))
            continue
        if app_id in frozen:
            problem(InputError(Text(N_("this appraisal is published; change it through an appeal "
                                       "or an HR correction")), file=source, row=int(r[ROW]),
                               column=EMPLOYEE, value=code))
            continue
        kind = annual.get(int(r[ROW]))
        cols = input_cols if kind is None else [c for c in input_cols
                                                if _input_period(scheme, c) == kind]
        values = {c: (r[c].strip() if isinstance(r[c], str) and r[c].strip() else None)
                  for c in cols}
        if kind is None:
            month_rows[app_id] = (int(r[ROW]), values)
        else:
            annual_rows[app_id] = (int(r[ROW]), kind, values)
        sample.append({"employee": code, **({} if kind is None else {PERIOD: r[PERIOD]}),
                       **values})  # every row: the preview pages
    updates: list[dict[str, Any]] = []
    for app_id in [*month_rows, *(a for a in annual_rows if a not in month_rows)]:
        merged = stored[app_id] | _merge_rows(
            scheme, source, header_of, month_rows.get(app_id), annual_rows.get(app_id))
        updates.append({"b_id": app_id, "b_inputs": {k: v for k, v in merged.items()
                                                      if v is not None}})
    return updates, source, input_cols, sample


def _kind(kind: str) -> Term:
    """``year`` / ``quarter`` in an English message, 年度 / 季度 in a Chinese one."""
    return Term(kind, N_("annual") if kind == "year" else N_("quarterly"))


def _input_period(scheme: Scheme, column: str) -> str:
    """Whether an input column belongs to the month's, the quarter's or the year's row."""
    spec = scheme.inputs.get(column.partition("@")[0])
    return "month" if spec is None else str(spec.period)


def _annual_rows(table: InputTable, cycle: Cycle, scheme: Scheme, source: str,
                 canon: pl.DataFrame, header_of: dict[str, str]) -> dict[int, str]:
    """The sheet's year and quarter rows (row number → ``year`` or ``quarter``), checked: of
    this cycle's year (quarter), every required input of that row given. Two such rows of one
    employee are reported by ``prepare`` (a duplicate row)."""
    if table.annual is None or table.annual.height == 0:
        return {}
    year = cycle.period[:4]
    quarter = f"{year}-Q{(int(cycle.period[5:7]) - 1) // 3 + 1}"
    kinds = {int(r[ROW]): (str(r[KIND]), str(r[PERIOD]))
             for r in table.annual.select(ROW, KIND, PERIOD).iter_rows(named=True)}
    for kind in sorted({k for k, _ in kinds.values()}):
        for ident, spec in scheme.inputs.items():
            cols = [f"{ident}@{r}" for r in spec.raters] if spec.raters else [ident]
            if spec.period != kind or not spec.required or spec.default is not None \
                    or any(c in canon.columns for c in cols):
                continue
            label = f" ({spec.label})" if spec.label else ""
            raise InputError(Text(N_("missing column %(names)s%(label)s; the %(kind)s rows "
                                     "need it"), names=repr(cols[0]), label=label,
                                  kind=_kind(kind)), file=source, column=cols[0])
    by_row = {int(r[ROW]): r for r in canon.iter_rows(named=True)}
    for row, (kind, period) in sorted(kinds.items()):
        want = year if kind == "year" else quarter
        if period != want:
            problem(InputError(Text(N_("this sheet is for cycle %(period)s: its %(kind)s row "
                                       "is %(want)s"), period=cycle.period, kind=_kind(kind),
                                    want=want), file=source, row=row,
                               column=header_of.get(PERIOD, PERIOD), value=period))
        for ident, spec in scheme.inputs.items():
            if spec.period != kind or not spec.required or spec.default is not None:
                continue
            for col in [f"{ident}@{r}" for r in spec.raters] if spec.raters else [ident]:
                cell = by_row[row].get(col)
                if col in canon.columns and not (isinstance(cell, str) and cell.strip()):
                    label = f" ({spec.label})" if spec.label else ""
                    problem(InputError(Text(N_("the value is missing%(label)s; the %(kind)s "
                                               "row of an employee needs it"), label=label,
                                            kind=_kind(kind)), file=source, row=row,
                                       column=header_of.get(col, col), value=cell or ""))
    return {row: kind for row, (kind, _) in kinds.items()}


def _merge_rows(scheme: Scheme, source: str, header_of: dict[str, str],
                month: tuple[int, dict[str, str | None]] | None,
                annual: tuple[int, str, dict[str, str | None]] | None
                ) -> dict[str, str | None]:
    """An employee's new inputs from their month row and their year (quarter) row: the
    annual row's inputs win over the month row's blank cells of the same inputs; a month row
    giving another value for one of them is bad input (which one counts?)."""
    values = dict(month[1]) if month else {}
    if annual is None:
        return values
    row, kind, given = annual
    for col, value in given.items():
        old = values.get(col)
        if month and old is not None and old != value:
            problem(InputError(Text(N_("this input belongs to the %(kind)s row, and row "
                                       "%(row)s gives it as %(other)s"), kind=_kind(kind),
                                    row=row, other=repr(value or "")),
                               file=source, row=month[0], column=header_of.get(col, col),
                               value=old))
        values[col] = value
    return values


def _importable(cycle: Cycle) -> None:
    if cycle.state not in (CycleState.open, CycleState.reviewing):
        raise WorkflowError(Text(N_("cycle %(id)s is %(state)s; inputs can be imported only "
                                    "while it is open or reviewing"), id=cycle.id,
                                 state=states.state_term(cycle.state.value)))


def preview_inputs(session: Session, *, cycle_id: int, path: str | Path,
                   actor: Actor) -> ImportPreview:
    """Every problem an import of ``path`` would meet, and what it would store; nothing is
    written. A structural problem (no header, a missing column) is the only one listed, as
    nothing after it can be checked."""
    require_role(actor, {"hr", "admin"}, "import inputs")
    cycle = get_cycle(session, cycle_id)
    _importable(cycle)
    with collecting() as found:
        try:
            _, source, columns, sample = _staged(session, cycle, path)
        except InputError as exc:
            found.append(exc)
            source, columns, sample = exc.file or str(path), [], []
    found.sort(key=lambda e: (e.row or 0, e.column or ""))
    # rows of the sheet (a month row and an annual row of one employee update one appraisal)
    return ImportPreview(source, list(found), len(sample), columns, sample)


def import_inputs(session: Session, *, cycle_id: int, path: str | Path, actor: Actor) -> int:
    """Validate an input sheet with the cycle's scheme and store it, all or nothing."""
    require_role(actor, {"hr", "admin"}, "import inputs")
    cycle = get_cycle(session, cycle_id)
    _importable(cycle)
    updates, _, _, _ = _staged(session, cycle, path)
    apps_t = Appraisal.__table__
    stmt = (update(apps_t).where(apps_t.c.id == bindparam("b_id"))  # type: ignore[arg-type]
            .values(inputs=bindparam("b_inputs"), version=apps_t.c.version + 1))
    if updates:
        session.execute(stmt, updates)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    record(session, action="cycle.inputs_imported", actor=actor, target_type="cycle",
           target_id=cycle.id, details={"file": str(path), "rows": len(updates),
                                        "sha256": digest})
    return len(updates)


def history_frame(session: Session, cycle: Cycle, scheme: Scheme,
                   origins: dict[str, dict[str, str]] | None = None) -> pl.DataFrame:
    """Inputs of this cycle and every earlier cycle of the same scheme, as a text table the
    engine reads. Which value of an input counts, lowest first (the one precedence, see
    the README):

    1. the imported value (plus the incidents recorded for a count input);
    2. the rating by a rater the scheme declares for the input (``rater:``/``raters:``);
       a rating in any other role never counts, and an input the scheme does not declare
       as rated is never rated;
    3. an HR correction or an appeal resolution, the latest decision winning.

    ``origins``, when given, receives per employee of this cycle the columns whose value
    came from a rating or a decision, and from which (for the results' explanations)."""
    periods = {c.id: c.period for c in session.scalars(select(Cycle).where(
        Cycle.scheme_id == cycle.scheme_id, Cycle.period <= cycle.period))}
    rows = session.execute(
        select(Appraisal.id, Appraisal.cycle_id, Appraisal.inputs, Appraisal.decisions,
               Appraisal.team_code, Employee.code, Employee.name)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .where(Appraisal.cycle_id.in_(list(periods)))).all()
    ids = [r.id for r in rows]
    ratings: dict[int, dict[tuple[str, str], list[str]]] = {}
    for app_id, input_id, role, value in session.execute(
            select(Rating.appraisal_id, Rating.input_id, Rating.rater_role, Rating.value)
            .where(Rating.appraisal_id.in_(ids))):
        ratings.setdefault(app_id, {}).setdefault((input_id, role), []).append(value)
    ballots = {(app_id, input_id): n for app_id, input_id, n in session.execute(
        select(PeerBallot.appraisal_id, PeerBallot.input_id, func.count())
        .where(PeerBallot.appraisal_id.in_(ids))
        .group_by(PeerBallot.appraisal_id, PeerBallot.input_id))}
    incidents: dict[int, dict[str, Decimal]] = {}
    for app_id, input_id, count in session.execute(
            select(Incident.appraisal_id, Incident.input_id, func.sum(Incident.count))
            .where(Incident.appraisal_id.in_(ids))
            .group_by(Incident.appraisal_id, Incident.input_id)):
        incidents.setdefault(app_id, {})[input_id] = Decimal(count)
    columns: dict[str, list[str | None]] = {EMPLOYEE: [], "name": [], TEAM: [], PERIOD: []}
    raters = {ident: permissions.declared_raters(spec) for ident, spec in scheme.inputs.items()}
    for ident, spec in scheme.inputs.items():
        for c in ([f"{ident}@{r}" for r in spec.raters] if spec.raters else [ident]):
            columns[c] = []
    for r in rows:
        values: dict[str, Any] = dict(r.inputs or {})
        came: dict[str, str] = {}
        for input_id, extra in incidents.get(r.id, {}).items():
            base = Decimal(values.get(input_id) or 0)
            values[input_id] = format(base + extra, "f")
            came[input_id] = "incidents"
        given = ratings.get(r.id, {})
        for ident, spec in scheme.inputs.items():
            for role in raters[ident]:
                marks = given.get((ident, role.value))
                if not marks:
                    continue
                # two supervisors of one team: the mean of their marks (a level: the last)
                given_value = marks[-1] if spec.type == "level" else format(
                    sum((Decimal(m) for m in marks), Decimal(0)) / len(marks), "f")
                col = permissions.rating_column(ident, spec, role)
                if role is RaterRole.peer:
                    n = ballots.get((r.id, ident), 0)
                    if not n:
                        continue
                    given_value = format(Decimal(given_value) / n, "f")
                values[col] = given_value
                came[col] = f"rating:{role.value}"
        decided = sorted((r.decisions or {}).items(), key=lambda kv: kv[1].get("seq", 0))
        for col, d in decided:
            values[col] = d.get("value")
            came[col] = f"{d.get('by', '')}: {d.get('reason', '')}".strip(": ")
        if origins is not None and periods[r.cycle_id] == cycle.period and came:
            origins[r.code] = came
        columns[EMPLOYEE].append(r.code)
        columns["name"].append(r.name)
        columns[TEAM].append(r.team_code)
        columns[PERIOD].append(periods[r.cycle_id])
        for c in list(columns)[4:]:
            v = values.get(c)
            columns[c].append(None if v is None else str(v))
    return pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))


def input_hash(row: dict[str, Any]) -> str:
    body = json.dumps(row, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
