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
from kaohe.engine.results import result_records
from kaohe.engine.score import score_table
from kaohe.errors import InputError
from kaohe.ingest.table import prepare
from kaohe.numbers import to_json_number
from kaohe.scheme.models import Scheme
from kaohe.store.models import (
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


def compute_results(session: Session, cycle: Cycle) -> tuple[list[dict[str, Any]], dict[str, str],
                                                       list[str]]:
    scheme = scheme_of(cycle.scheme_version)
    origins: dict[str, dict[str, str]] = {}
    frame = history_frame(session, cycle, scheme, origins)
    if frame.height == 0:
        raise WorkflowError(Text(N_("cycle %(id)s has no appraisals to score"), id=cycle.id))
    hashes = {(r[EMPLOYEE], r[PERIOD]): input_hash(r) for r in frame.iter_rows(named=True)}
    try:
        table = prepare(frame, scheme, f"cycle {cycle.scheme_id} {cycle.period}")
        outcome = score_table(scheme, table).outcome
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
    return recs, {k[0]: v for k, v in hashes.items() if k[1] == cycle.period}, warnings


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
    total is its lines' sum or is a formula of its own."""
    if scheme.total.formula is not None or rec.get("total") is None:
        return None
    parts = [*(rec.get("indicators") or {}).values(), *(rec.get("adjustments") or {}).values()]
    diff = Decimal(str(rec["total"])) - sum((Decimal(str(p)) for p in parts if p is not None),
                                            Decimal(0))
    return None if diff == 0 else to_json_number(diff)


def _dec(v: Any) -> Decimal | None:
    return None if v is None else Decimal(str(v))


def write_results(session: Session, cycle: Cycle, recs: list[dict[str, Any]],
                   hashes: dict[str, str], reason: str, only: set[int] | None = None) -> int:
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
    recs, hashes, warnings = compute_results(session, cycle)
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
    table = prepare(history_frame(session, cycle, scheme), scheme,
                    f"cycle {cycle.scheme_id} {cycle.period}")
    scored: Scored = score_table(scheme, table)
    doc = to_document(scored.outcome, scored.table)
    doc["results"] = [r for r in doc["results"] if r["period"] == cycle.period]
    return scored, doc


def what_if(session: Session, *, cycle_id: int, text: str) -> list[dict[str, Any]]:
    """Score a cycle's stored inputs under an edited scheme and list who changes grade, total
    or pay against the current results. Raises SchemeError for a scheme that does not load."""
    cycle = get_cycle(session, cycle_id)
    scheme = load_scheme_text(text, "edited scheme")
    frame = history_frame(session, cycle, scheme)
    try:
        table = prepare(frame, scheme, "the cycle's stored inputs")
        outcome = score_table(scheme, table).outcome
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
