"""Scoring a cycle with the engine: results stored as new revisions (with their reasons,
adjustment lines and where each counted value came from), the cycle re-scored for forms
and exports, and the what-if of an edited scheme."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from kaohe.columns import ADJUSTMENT, EMPLOYEE, PERIOD, TEAM
from kaohe.engine.load import load_scheme_text
from kaohe.engine.results import aggregate_records, result_records
from kaohe.engine.score import score_table
from kaohe.errors import InputError
from kaohe.ingest.table import prepare
from kaohe.numbers import to_json_number
from kaohe.scheme.models import Scheme
from kaohe.store.models import (
    AggregateResult,
    Appraisal,
    Cycle,
    CycleState,
    Employee,
    Result,
    utcnow,
)
from kaohe.text import N_, Text
from kaohe.workflow import states
from kaohe.workflow.audit import Actor, record
from kaohe.workflow.errors import Invalid, WorkflowError
from kaohe.workflow.inputs import history_frame, input_hash
from kaohe.workflow.items import item_frames, item_index
from kaohe.workflow.precheck import require_complete
from kaohe.workflow.schemes import scheme_of
from kaohe.workflow.transitions import get_cycle, require_role


def _named(exc: InputError, frame: Any, scheme: Scheme) -> WorkflowError:
    """A problem of the stored inputs naming the person (name and 工号) and the input, not
    the row of the internal table the engine read (its rows count from 2)."""
    index = (exc.row or 0) - 2
    if exc.row is None or not 0 <= index < frame.height:
        return WorkflowError(Text(N_("the stored inputs cannot be scored: %(problem)s"),
                                  problem=exc))
    row = frame.row(index, named=True)
    ident, _, role = (exc.column or "").partition("@")
    spec = scheme.inputs.get(ident)
    column = f"{spec.label or ident}{f' ({role})' if role else ''}" if spec else exc.column
    return WorkflowError(Text(N_("%(name)s (%(code)s), %(period)s, %(column)s: %(problem)s"),
                              name=row.get("name") or "", code=row.get(EMPLOYEE) or "",
                              period=row.get(PERIOD) or "", column=column or "",
                              problem=exc.detail if isinstance(exc.detail, Text)
                              else Text(str(exc.detail))))


def with_annual_rows(frame: pl.DataFrame, scheme: Scheme) -> pl.DataFrame:
    """The stored inputs with the year's (and quarter's) inputs as rows of their own: an
    input the scheme declares ``period: year`` (``quarter``) is entered on a month's
    appraisal and read on the employee's ``2026`` (``2026-Q4``) row, the latest month's
    value winning; the engine reads those rows for the aggregates only."""
    kinds: dict[str, list[str]] = {}
    for ident, spec in scheme.inputs.items():
        if spec.period != "month":
            kinds.setdefault(spec.period, []).extend(
                c for c in ([f"{ident}@{r}" for r in spec.raters] if spec.raters else [ident])
                if c in frame.columns)
    if not kinds or frame.height == 0:
        return frame
    parts = [frame]
    month = pl.col(PERIOD).str.slice(5, 2).cast(pl.Int64, strict=False)
    for kind, cols in kinds.items():
        if not cols:
            continue
        has = frame.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in cols])
                           & pl.col(PERIOD).str.contains(r"^\d{4}-\d{2}$"))
        if not has.height:
            continue
        period = (pl.col(PERIOD).str.slice(0, 4) if kind == "year" else pl.format(
            "{}-Q{}", pl.col(PERIOD).str.slice(0, 4), ((month - 1) // 3 + 1).cast(pl.String)))
        rows = (has.sort(PERIOD).with_columns(period.alias("__p"))
                .group_by([EMPLOYEE, "__p"], maintain_order=True)
                .agg(pl.col("name").last(), pl.col(TEAM).last(),
                     *[pl.col(c).drop_nulls().last() for c in cols])
                .rename({"__p": PERIOD}))
        parts.append(rows)
    return pl.concat(parts, how="diagonal_relaxed")


def engine_inputs(session: Session, cycle: Cycle, scheme: Scheme,
                  origins: dict[str, dict[str, str]] | None = None
                  ) -> tuple[pl.DataFrame, dict[str, pl.DataFrame], dict[tuple[str, str], str]]:
    """What the engine scores a cycle from: the stored inputs of the cycle and the earlier
    ones (with the year's inputs as rows of their own), the item tables, and the hash of each
    employee-month's inputs and items (as a result records what it was scored from)."""
    frame = history_frame(session, cycle, scheme, origins)
    tables = item_frames(session, cycle, scheme)
    index = item_index(tables)
    hashes = {}
    for r in frame.iter_rows(named=True):
        key = (r[EMPLOYEE], r[PERIOD])
        hashes[key] = input_hash({**r, "__items": index[key]} if key in index else r)
    return with_annual_rows(frame, scheme), tables, hashes


def compute_results(session: Session, cycle: Cycle) -> tuple[list[dict[str, Any]], dict[str, str],
                                                       list[str]]:
    scheme = scheme_of(cycle.scheme_version)
    origins: dict[str, dict[str, str]] = {}
    frame, tables, hashes = engine_inputs(session, cycle, scheme, origins)
    if frame.height == 0:
        raise WorkflowError(Text(N_("cycle %(id)s has no appraisals to score"), id=cycle.id))
    try:
        table = prepare(frame, scheme, f"cycle {cycle.scheme_id} {cycle.period}")
        outcome = score_table(scheme, table, tables=tables).outcome
    except InputError as exc:
        raise _named(exc, frame, scheme) from None
    from kaohe.engine.explain import short_reasons

    recs = []
    # the reasons in both languages, so the scorecard shows the reader's
    zh = short_reasons(outcome.plan, outcome.frame, "zh")
    en = short_reasons(outcome.plan, outcome.frame, "en")
    lines = _adjustment_lines(scheme, outcome.frame)
    for rec, why, why_en, adj in zip(result_records(outcome, table), zh, en, lines, strict=True):
        if rec["period"] == cycle.period:
            rec["reasons"] = why
            rec["reasons_en"] = why_en
            if not rec["excluded"]:
                rec["adjustments"] = adj
                rec["limit"] = _limit_line(scheme, rec)
            rec["sources"] = origins.get(rec["employee"], {})
            recs.append(rec)
    warnings = [w for w in outcome.warnings if w.startswith(cycle.period)]
    # the quarter and year this cycle is part of, as of this month: stored by write_results
    session.info.setdefault(_AGGREGATES, {})[cycle.id] = [
        a for a in aggregate_records(outcome, table) if covers(a["period"], cycle.period)]
    return recs, {k[0]: v for k, v in hashes.items() if k[1] == cycle.period}, warnings


#: where compute_results leaves a cycle's aggregates for write_results (so every caller
#: that scores and writes a cycle, an appeal's re-score too, stores them with the results)
_AGGREGATES = "kaohe.aggregates"


def aggregate_periods(period: str) -> tuple[str | None, str]:
    """The quarter (``2026-Q4``) and year (``2026``) a cycle's period belongs to; no quarter
    for a yearly cycle."""
    year, _, rest = period.partition("-")
    if rest.startswith("Q"):
        return period, year
    if rest.isdigit():
        return f"{year}-Q{(int(rest) - 1) // 3 + 1}", year
    return None, year


def covers(aggregate: str, period: str) -> bool:
    """Whether the aggregate period (``2026-Q4``, ``2026``) contains the cycle's period."""
    return aggregate in aggregate_periods(period)


def closes(aggregate: str, period: str) -> bool:
    """Whether the cycle's period is the last of the aggregate period: its awards are paid
    with this cycle (a quarter's in its third month, a year's in December)."""
    if not covers(aggregate, period):
        return False
    year, _, rest = period.partition("-")
    if not rest or aggregate == period:
        return True
    last_month = 12 if aggregate == year else 3 * int(aggregate[-1])
    return rest == f"{last_month:02d}" or (aggregate == year and rest == "Q4")


def write_aggregates(session: Session, cycle: Cycle, aggs: list[dict[str, Any]]) -> int:
    """Store the cycle's quarter and year results as a new revision (the previous ones of the
    cycle stop being current)."""
    codes = {a["employee"] for a in aggs}
    ids = dict(session.execute(select(Employee.code, Employee.id)
                               .where(Employee.code.in_(sorted(codes)))).all()) if codes else {}
    rev = session.scalar(select(func.max(AggregateResult.revision))
                         .where(AggregateResult.cycle_id == cycle.id)) or 0
    session.execute(update(AggregateResult).where(AggregateResult.cycle_id == cycle.id,
                                                  AggregateResult.is_current.is_(True))
                    .values(is_current=False))
    now = utcnow()
    rows = [{
        "cycle_id": cycle.id, "scheme_id": cycle.scheme_id, "period": a["period"],
        "kind": "quarter" if "Q" in a["period"] else "year",
        "closes": closes(a["period"], cycle.period), "employee_id": ids[a["employee"]],
        "team_code": a.get("team") or "", "revision": rev + 1, "is_current": True,
        "score": _dec(a.get("score")), "grade": a.get("grade"),
        "rank": None if a.get("rank") is None else int(a["rank"]),
        "months": int(a.get("months") or 0), "payload": a,
        "scheme_hash": cycle.scheme_version.content_hash, "created_at": now,
    } for a in aggs if a["employee"] in ids]
    if rows:
        session.execute(insert(AggregateResult), rows)
    return len(rows)


def _adjustment_lines(scheme: Scheme, frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Each row's adjustments (e.g. 差评扣分) as points, in result_records' order."""
    cols = [ADJUSTMENT + a.id for a in scheme.adjustments if ADJUSTMENT + a.id in frame.columns]
    if not cols:
        return [{} for _ in range(frame.height)]
    rows = frame.sort([PERIOD, TEAM, EMPLOYEE], nulls_last=False).select(cols).to_dicts()
    return [{c.removeprefix(ADJUSTMENT): to_json_number(Decimal(str(v)))
             for c, v in row.items() if v is not None} for row in rows]


def _limit_line(scheme: Scheme, rec: dict[str, Any]) -> Any:
    """What the total's floor, cap or veto changed (total minus the sum of the indicator and
    adjustment lines), so that the lines shown always add up to the total; None when the
    total is its lines' sum, is a formula of its own or is rescaled over the applicable
    items (its reason says how)."""
    if scheme.total.formula is not None or scheme.total.rescale is not None \
            or rec.get("total") is None:
        return None
    parts = [*(rec.get("indicators") or {}).values(), *(rec.get("adjustments") or {}).values()]
    diff = Decimal(str(rec["total"])) - sum((Decimal(str(p)) for p in parts if p is not None),
                                            Decimal(0))
    return None if diff == 0 else to_json_number(diff)


def _dec(v: Any) -> Decimal | None:
    return None if v is None else Decimal(str(v))


def write_results(session: Session, cycle: Cycle, recs: list[dict[str, Any]],
                   hashes: dict[str, str], reason: str, only: set[int] | None = None) -> int:
    aggs = session.info.get(_AGGREGATES, {}).pop(cycle.id, None)
    if aggs is not None:
        write_aggregates(session, cycle, aggs)
    apps = dict(session.execute(
        select(Employee.code, Appraisal.id).join(Appraisal, Appraisal.employee_id == Employee.id)
        .where(Appraisal.cycle_id == cycle.id)).all())
    revs = dict(session.execute(
        select(Result.appraisal_id, func.max(Result.revision))
        .join(Appraisal, Appraisal.id == Result.appraisal_id)
        .where(Appraisal.cycle_id == cycle.id).group_by(Result.appraisal_id)).all())
    rows = []
    for rec in recs:
        app_id = apps.get(rec["employee"])
        if app_id is None or (only is not None and app_id not in only):
            continue
        rows.append({
            "appraisal_id": app_id, "revision": revs.get(app_id, 0) + 1,
            "total": _dec(rec["total"]), "grade": rec["grade"], "rank": rec["rank"],
            "pay_total": _dec(rec["pay"].get("total")), "payload": rec,
            "scheme_hash": cycle.scheme_version.content_hash,
            "input_hash": hashes.get(rec["employee"], ""), "reason": reason,
            "created_at": utcnow(), "is_current": True,
        })
    if not rows:
        return 0
    ids = [r["appraisal_id"] for r in rows]
    for chunk in range(0, len(ids), 5000):
        session.execute(update(Result).where(Result.appraisal_id.in_(ids[chunk:chunk + 5000]),
                                             Result.is_current.is_(True)).values(is_current=False))
    session.execute(insert(Result), rows)
    return len(rows)


def score_cycle(session: Session, *, cycle_id: int, actor: Actor) -> tuple[int, list[str]]:
    """Score every appraisal of the cycle (history of earlier cycles feeds streak rules)."""
    require_role(actor, {"hr", "admin"}, "score a cycle")
    cycle = get_cycle(session, cycle_id)
    if cycle.state not in (CycleState.open, CycleState.reviewing):
        raise WorkflowError(Text(N_("cycle %(id)s is %(state)s: published results are frozen; "
                                    "change one through an appeal or an HR correction"),
                                 id=cycle.id, state=states.state_term(cycle.state.value)))
    try:
        recs, hashes, warnings = compute_results(session, cycle)
    except WorkflowError:
        require_complete(session, cycle)  # refused: every missing input, by person and team
        raise
    n = write_results(session, cycle, recs, hashes, "score")
    if cycle.state is CycleState.open:
        cycle.state = CycleState.reviewing
    record(session, action="cycle.scored", actor=actor, target_type="cycle", target_id=cycle.id,
           details={"results": n, "warnings": len(warnings)})
    return n, warnings


def scored_cycle(session: Session, *, cycle_id: int) -> tuple[Any, dict[str, Any]]:
    """The cycle scored again from its stored inputs (for forms and exports): the engine's
    outcome and the document of this cycle's period."""
    from kaohe.engine.results import to_document
    from kaohe.engine.score import Scored

    cycle = get_cycle(session, cycle_id)
    scheme = scheme_of(cycle.scheme_version)
    frame, tables, _ = engine_inputs(session, cycle, scheme)
    table = prepare(frame, scheme, f"cycle {cycle.scheme_id} {cycle.period}")
    scored: Scored = score_table(scheme, table, tables=tables)
    doc = to_document(scored.outcome, scored.table)
    doc["results"] = [r for r in doc["results"] if r["period"] == cycle.period]
    return scored, doc


def what_if(session: Session, *, cycle_id: int, text: str) -> list[dict[str, Any]]:
    """Score a cycle's stored inputs under an edited scheme and list who changes grade, total
    or pay against the current results. Raises SchemeError for a scheme that does not load."""
    cycle = get_cycle(session, cycle_id)
    scheme = load_scheme_text(text, "edited scheme")
    frame, tables, _ = engine_inputs(session, cycle, scheme)
    try:
        table = prepare(frame, scheme, "the cycle's stored inputs")
        outcome = score_table(scheme, table, tables=tables).outcome
    except InputError as exc:
        raise Invalid(f"the edited scheme cannot read this cycle's inputs: {exc}") from None
    new = {r["employee"]: r for r in result_records(outcome, table)
           if r["period"] == cycle.period}
    old: dict[str, Any] = dict(session.execute(
        select(Employee.code, Result.payload).join(Appraisal, Appraisal.employee_id == Employee.id)
        .join(Result, (Result.appraisal_id == Appraisal.id) & Result.is_current.is_(True))
        .where(Appraisal.cycle_id == cycle.id)).all())
    changes = []
    for code in sorted(set(new) | set(old)):
        a, b = old.get(code) or {}, new.get(code) or {}
        before = (a.get("total"), a.get("grade"), (a.get("pay") or {}).get("total"))
        after = (b.get("total"), b.get("grade"), (b.get("pay") or {}).get("total"))
        if before != after:
            changes.append({"employee": code, "total": before[0], "new_total": after[0],
                            "grade": before[1], "new_grade": after[1], "pay": before[2],
                            "new_pay": after[2]})
    return changes
