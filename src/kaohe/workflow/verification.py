"""The whole verification, as `kaohe audit verify` runs it: the hash chain (with the head
the last run saw as an anchor), every published appraisal against its seal
(:func:`kaohe.workflow.seal.check`), and a sample of them — or all — scored again by the
engine from their inputs and scheme version and compared with the stored results. Each run
is recorded; the web app warns HR while the newest failed."""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaohe.errors import KaoheError
from kaohe.store.models import (
    AggregateResult,
    Appraisal,
    AuditEvent,
    Cycle,
    Employee,
    Result,
    VerificationRun,
    utcnow,
)
from kaohe.workflow.audit import Problem, Verdict
from kaohe.workflow.audit import verify as verify_chain
from kaohe.workflow.seal import FROZEN, KEEP_FAILING, TARGET, Mismatch, canonical, check, figure

#: what scoring stores beside the engine's record to explain it (reasons in both languages,
#: the adjustment and floor/cap lines, where a value came from): not compared, since the
#: figures they explain are
EXPLANATIONS = frozenset({"reasons", "reasons_en", "adjustments", "limit", "sources"})


def _engine_results(session: Session, cycle: Cycle
                    ) -> tuple[dict[str, dict[str, Any]], dict[str, str],
                               dict[str, list[dict[str, Any]]]]:
    """The engine's result of every employee of the cycle, scored from the stored inputs
    (and earlier cycles, for streak rules) with the cycle's scheme version, and the hash of
    each employee's inputs as scoring stores it. Reasons are not worked out: they explain
    the figures, which is what is compared."""
    from kaohe.engine.results import aggregate_records, result_records
    from kaohe.engine.score import score_table
    from kaohe.ingest.table import prepare
    from kaohe.workflow import cycles
    from kaohe.workflow.scoring import covers, engine_inputs

    scheme = cycles.scheme_of(cycle.scheme_version)
    frame, tables, all_hashes = engine_inputs(session, cycle, scheme)
    hashes = {e: h for (e, p), h in all_hashes.items() if p == cycle.period}
    table = prepare(frame, scheme, f"cycle {cycle.scheme_id} {cycle.period}")
    outcome = score_table(scheme, table, tables=tables).outcome
    aggs: dict[str, list[dict[str, Any]]] = {}
    for a in aggregate_records(outcome, table):
        if covers(a["period"], cycle.period):
            aggs.setdefault(a["employee"], []).append(a)
    return ({r["employee"]: r for r in result_records(outcome, table)
             if r["period"] == cycle.period}, hashes, aggs)


def rescore(session: Session, *, sample: int | None, seed: int | None = None,
            skip: Collection[int] = ()) -> tuple[int, int, list[Mismatch]]:
    """Score again, with the engine, the cycles of ``sample`` published appraisals picked at
    random (every published appraisal when ``sample`` is None) from their inputs and
    scheme version, and compare with the stored current results. Appraisals in ``skip``
    (already found not to match their seal) are not compared. Returns (appraisals compared,
    cycles scored, mismatches)."""
    from kaohe.workflow import cycles

    rows = session.execute(
        select(Appraisal.id, Appraisal.cycle_id, Employee.code, Cycle.period)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .join(Cycle, Cycle.id == Appraisal.cycle_id)
        .where(Appraisal.state.in_(FROZEN)).order_by(Appraisal.id)).all()
    rows = [r for r in rows if r.id not in skip]
    if sample is not None and sample < len(rows):
        rows = random.Random(seed).sample(rows, sample)
    by_cycle: dict[int, list[Any]] = {}
    for r in rows:
        by_cycle.setdefault(r.cycle_id, []).append(r)
    out: list[Mismatch] = []
    for cycle_id, apps in sorted(by_cycle.items()):
        try:
            engine, hashes, engine_aggs = _engine_results(session,
                                                          cycles.get_cycle(session, cycle_id))
        except KaoheError as exc:
            out += [Mismatch(a.id, a.code, a.period, "rescore", f"cannot be scored again: {exc}")
                    for a in apps]
            continue
        stored = {r.appraisal_id: r for r in session.execute(
            select(Result.appraisal_id, Result.payload, Result.total, Result.grade,
                   Result.rank, Result.pay_total, Result.input_hash)
            .join(Appraisal, Appraisal.id == Result.appraisal_id)
            .where(Appraisal.cycle_id == cycle_id, Result.is_current.is_(True),
                   *([] if sample is None else [Appraisal.id.in_([a.id for a in apps])])))}
        out += _compare_aggregates(session, cycle_id, apps, engine_aggs)
        for a in apps:
            got, have = engine.get(a.code), stored.get(a.id)
            if got is None or have is None:
                out.append(Mismatch(a.id, a.code, a.period, "rescore",
                                    "the engine gives no result" if got is None
                                    else "no current result is stored"))
                continue
            figures = (figure(got.get("total")), got.get("grade"), figure(got.get("rank")),
                       figure((got.get("pay") or {}).get("total")))
            columns = (figure(have.total), have.grade, figure(have.rank),
                       figure(have.pay_total))
            stored_payload = {k: v for k, v in (have.payload or {}).items()
                              if k not in EXPLANATIONS}
            if canonical(got) == canonical(stored_payload) and figures == columns \
                    and hashes.get(a.code) == have.input_hash:
                continue
            if figures != columns:
                detail = (f"scored again from its inputs and scheme version the engine gives "
                          f"total {figures[0]}, grade {figures[1]}, rank {figures[2]}, pay "
                          f"{figures[3]}; stored: total {columns[0]}, grade {columns[1]}, rank "
                          f"{columns[2]}, pay {columns[3]}")
            elif hashes.get(a.code) != have.input_hash:
                detail = "the stored result was not scored from the inputs it now has"
            else:
                detail = ("scored again, the engine's details (indicators or pay lines) "
                          "differ from the stored result")
            out.append(Mismatch(a.id, a.code, a.period, "rescore", detail))
    return len(rows), len(by_cycle), out


def _compare_aggregates(session: Session, cycle_id: int, apps: list[Any],
                        engine: dict[str, list[dict[str, Any]]]) -> list[Mismatch]:
    """The stored quarter and year results of the appraisals' employees against the engine's
    (scored again from the same inputs)."""
    stored: dict[str, list[Any]] = {}
    for code, payload in session.execute(
            select(Employee.code, AggregateResult.payload)
            .join(Employee, Employee.id == AggregateResult.employee_id)
            .where(AggregateResult.cycle_id == cycle_id, AggregateResult.is_current.is_(True),
                   Employee.code.in_([a.code for a in apps]))):
        stored.setdefault(code, []).append(payload)
    out = []
    for a in apps:
        got = sorted(canonical(x) for x in engine.get(a.code, []))
        have = sorted(canonical(x) for x in stored.get(a.code, []))
        if got != have:
            out.append(Mismatch(a.id, a.code, a.period, "rescore",
                                "scored again, the engine's quarter and year results differ "
                                "from the stored ones"))
    return out


# -- the whole verification ----------------------------------------------------------------
@dataclass(frozen=True)
class Report:
    scope: str  # log | records | full
    log: Verdict
    appraisals: int = 0
    rescored: int = 0
    rescored_cycles: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.log.ok and not self.mismatches

    @property
    def problems(self) -> int:
        return len(self.log.problems) + len(self.mismatches)


def _anchor(session: Session) -> Problem | None:
    """The head the last successful verification saw must still be in the log (a failed
    run's head is not trusted, so a removal keeps being reported until it is dealt with)."""
    last = session.scalar(select(VerificationRun).where(VerificationRun.head_seq > 0,
                                                        VerificationRun.ok.is_(True))
                          .order_by(VerificationRun.id.desc()).limit(1))
    if last is None:
        return None
    found = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == last.head_seq))
    if found == last.head_hash:
        return None
    return Problem(last.head_seq, None, f"the head seen by the last successful verification (event "
                   f"{last.head_seq} {last.head_hash[:16]}…, at {last.at:%Y-%m-%d %H:%M} UTC) "
                   "is no longer in the log: events were removed or the log was replaced")


def _describe(session: Session, ev: AuditEvent) -> str:
    """An event as an auditor reads it: its action and whom it was about."""
    from kaohe.store.models import Appeal

    what = f"{ev.target_type} {ev.target_id}"
    app_id: int | None = None
    if ev.target_type == "appraisal" and ev.target_id.isdigit():
        app_id = int(ev.target_id)
    elif ev.target_type == "appeal" and ev.target_id.isdigit():
        app_id = session.scalar(select(Appeal.appraisal_id).where(
            Appeal.id == int(ev.target_id)))
    elif ev.target_type in ("cycle", TARGET) and ev.target_id.isdigit():
        c = session.get(Cycle, int(ev.target_id))
        what = f"cycle {c.scheme_id} {c.period}" if c else what
    if app_id is not None:
        row = session.execute(select(Employee.code, Cycle.period)
                              .join(Appraisal, Appraisal.employee_id == Employee.id)
                              .join(Cycle, Cycle.id == Appraisal.cycle_id)
                              .where(Appraisal.id == app_id)).first()
        what = f"{row[0]} {row[1]}" if row else what
    return f"event {ev.seq} {ev.action} on {what}"


def _near(session: Session, problem: Problem) -> Problem:
    """A chain problem with the events on either side of it named."""
    if problem.seq is None:
        return problem
    around = list(session.scalars(select(AuditEvent).where(
        AuditEvent.seq < problem.seq).order_by(AuditEvent.seq.desc()).limit(1)))
    around += session.scalars(select(AuditEvent).where(AuditEvent.seq == problem.seq)).all()
    if not around:
        return problem
    return Problem(problem.seq, problem.row_id, f"{problem.message} (between "
                   f"{' and '.join(_describe(session, ev) for ev in around)})")


def verify_all(session: Session, *, expect_head: str | None = None, scope: str = "records",
               sample: int | None = 50, seed: int | None = None) -> Report:
    """The chain, then (scope ``records``) every published appraisal against its seal and
    a re-score of ``sample`` of them, or (scope ``full``) a re-score of all of them."""
    log = verify_chain(session, expect_head=expect_head)
    anchor = _anchor(session)
    problems = [_near(session, p) for p in log.problems[:50]] + log.problems[50:]
    log = Verdict(log.events, log.head_seq, log.head_hash,
                  problems + ([anchor] if anchor is not None else []))
    if scope == "log":
        return Report(scope, log)
    checked, mismatches = check(session)
    if scope != "full" and not sample:
        return Report(scope, log, checked, 0, 0, mismatches)
    compared, cycles_n, more = rescore(
        session, sample=None if scope == "full" else sample, seed=seed,
        skip={m.appraisal_id for m in mismatches})
    return Report(scope, log, checked, compared, cycles_n, mismatches + more)


def record_run(session: Session, report: Report) -> VerificationRun:
    failing = [m.brief() for m in report.mismatches[:KEEP_FAILING]]
    run = VerificationRun(at=utcnow(), scope=report.scope, ok=report.ok,
                          events=report.log.events, head_seq=report.log.head_seq,
                          head_hash=report.log.head_hash, appraisals=report.appraisals,
                          rescored=report.rescored, problems=report.problems, failing=failing)
    session.add(run)
    session.flush()
    return run


def last_run(session: Session) -> VerificationRun | None:
    return session.scalar(select(VerificationRun).order_by(VerificationRun.id.desc()).limit(1))
