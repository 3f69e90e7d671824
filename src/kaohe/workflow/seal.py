"""Sealed results: what was published, bound into the audit log's hash chain.

Publishing a cycle, and every change allowed after it (an appeal's re-score, an HR
correction), writes one ``results.sealed`` event holding, per appraisal, SHA-256 digests of
a canonical form of exactly what was decided:

- ``inputs``: the stored input values and the incidents that add to them;
- ``ratings``: every rating (input, rater role, rater, value);
- ``result``: every result row — each indicator, the total, grade, rank and every pay line
  of the payload, the ``Numeric`` columns, the scheme hash and input hash it was scored
  from, its revision and whether it is current;

plus, per employee, the digest of the cycle's current quarter and year results (the
``aggregate_results`` rows stored when it was scored: score, grade, rank, months, flags,
awards, values), plus the scheme version's hash for the cycle, the employee code and the period, the key
figures in plain text (so a mismatch can say what it was), and the digest of the audit
log's events about the appraisal so far (its own, its appeals', its cycle's), so an event
removed from the log before the seal names the appraisals it was about. The newest seal of
an appraisal is the one that counts.

Canonical means deterministic on SQLite and PostgreSQL alike: JSON with sorted keys and no
spacing, text as UTF-8; ``Numeric`` columns quantized to their scale and written as decimal
text (``2288.00``), other ``Decimal`` values as their normalised decimal text (``0.5``,
never ``5E-1``); the numbers of a JSON payload as JSON writes them (the payload is stored
and read back through the same JSON on both databases, so an int stays an int and a float
keeps its shortest round-trip form).

:func:`check` recomputes the digests from the tables and names every appraisal that no
longer matches; exports call :func:`require_intact` before writing anything. The whole
verification (the chain, the records, scoring again) is :mod:`kaohe.workflow.verification`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from kaohe.store.models import (
    AggregateResult,
    Appraisal,
    AppraisalState,
    AuditEvent,
    Cycle,
    Employee,
    Incident,
    Rating,
    Result,
    SchemeVersion,
)
from kaohe.text import N_, Text
from kaohe.workflow import states
from kaohe.workflow.audit import Actor, event_hash, record
from kaohe.workflow.errors import WorkflowError

SEALED = "results.sealed"
#: a seal's target: the cycle's results (not the cycle itself, so an appraisal's history,
#: which lists its cycle's events, does not load every seal of a large cycle)
TARGET = "cycle_results"
FROZEN = [AppraisalState(s) for s in sorted(states.FROZEN)]
Q2 = Decimal("0.01")
Q4 = Decimal("0.0001")
#: how many failing appraisals a verification run keeps, and an export refusal names
KEEP_FAILING = 200
NAME_IN_REFUSAL = 20


# -- canonical form ------------------------------------------------------------------------
def _number(value: Decimal) -> str:
    if not value.is_finite():
        return str(value)
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot seal a {type(value).__name__}: {value!r}")


def figure(value: Any) -> str | None:
    """A number however it was read (Decimal column, JSON int or float) as decimal text, for
    comparing figures and naming them in messages."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    try:
        return _number(Decimal(str(value)))
    except ArithmeticError:
        return str(value)


def canonical(value: Any) -> str:
    """The canonical text of a value (see the module docstring). JSON numbers read back from
    a payload keep JSON's own shortest form; ``Decimal`` values are written as their
    normalised decimal text."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=_default)


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode("utf-8")).hexdigest()


def _fixed(value: Any, quantum: Decimal) -> str | None:
    return None if value is None else format(Decimal(str(value)).quantize(quantum), "f")


# -- reading the records -------------------------------------------------------------------
@dataclass
class _Record:
    """One appraisal as the tables hold it now."""

    app_id: int
    cycle_id: int
    team: str
    employee: str
    period: str
    state: str
    inputs: dict[str, Any]
    incidents: list[str] = field(default_factory=list)
    ratings: list[str] = field(default_factory=list)
    results: list[list[Any]] = field(default_factory=list)  # canonical rows, any order

    def entry(self) -> dict[str, Any]:
        """What a seal keeps for this appraisal."""
        rows = sorted(self.results, key=lambda r: (int(r[0]), bool(r[1])))
        current = [r for r in rows if r[1]]
        cur = current[-1] if current else None
        return {
            "employee": self.employee, "period": self.period,
            "inputs": digest({"inputs": self.inputs, "incidents": sorted(self.incidents)}),
            "ratings": digest(sorted(self.ratings)), "ratings_n": len(self.ratings),
            "result": digest(rows), "rows": len(rows), "current": len(current),
            "revision": cur[0] if cur else None, "total": cur[2] if cur else None,
            "grade": cur[3] if cur else None, "rank": cur[4] if cur else None,
            "pay_total": cur[5] if cur else None,
        }

    def payload_figures(self) -> tuple[Any, Any]:
        """The current result payload's own total and pay total, as canonical text."""
        cur = [r for r in self.results if r[1]]
        if not cur:
            return None, None
        payload = cur[-1][6] if isinstance(cur[-1][6], dict) else {}
        pay = payload.get("pay") if isinstance(payload.get("pay"), dict) else {}
        return figure(payload.get("total")), figure((pay or {}).get("total"))


def _load(session: Session, where: list[ColumnElement[bool]]) -> dict[int, _Record]:
    recs: dict[int, _Record] = {}
    for row in session.execute(
            select(Appraisal.id, Appraisal.cycle_id, Appraisal.team_code, Appraisal.state,
                   Appraisal.inputs, Employee.code, Cycle.period)
            .join(Employee, Employee.id == Appraisal.employee_id)
            .join(Cycle, Cycle.id == Appraisal.cycle_id).where(*where)):
        state = row.state.value if isinstance(row.state, AppraisalState) else str(row.state)
        recs[row.id] = _Record(row.id, row.cycle_id, row.team_code or "", row.code, row.period,
                               state, dict(row.inputs or {}))
    if not recs:
        return recs
    for app_id, input_id, role, rater, value in session.execute(
            select(Rating.appraisal_id, Rating.input_id, Rating.rater_role,
                   Rating.rater_user_id, Rating.value)
            .join(Appraisal, Appraisal.id == Rating.appraisal_id).where(*where)):
        if app_id in recs:
            recs[app_id].ratings.append(canonical([input_id, role, rater, value]))
    for app_id, input_id, day, count in session.execute(
            select(Incident.appraisal_id, Incident.input_id, Incident.date, Incident.count)
            .join(Appraisal, Appraisal.id == Incident.appraisal_id).where(*where)):
        if app_id in recs:
            recs[app_id].incidents.append(canonical([input_id, day, _fixed(count, Q4)]))
    for r in session.execute(
            select(Result.appraisal_id, Result.revision, Result.is_current, Result.total,
                   Result.grade, Result.rank, Result.pay_total, Result.payload,
                   Result.scheme_hash, Result.input_hash, Result.reason)
            .join(Appraisal, Appraisal.id == Result.appraisal_id).where(*where)):
        if r.appraisal_id in recs:
            recs[r.appraisal_id].results.append([
                r.revision, bool(r.is_current), _fixed(r.total, Q2), r.grade, r.rank,
                _fixed(r.pay_total, Q2), r.payload, r.scheme_hash, r.input_hash, r.reason])
    return recs


def aggregate_digests(session: Session, cycle_id: int) -> dict[str, str]:
    """Each employee's current quarter and year results of a cycle, as one digest."""
    return _aggregate_digests(session, [cycle_id]).get(cycle_id, {})


def _aggregate_digests(session: Session, cycle_ids: list[int]) -> dict[int, dict[str, str]]:
    """:func:`aggregate_digests` of several cycles, in one statement."""
    rows: dict[tuple[int, str], list[Any]] = {}
    for r in session.execute(
            select(AggregateResult.cycle_id, Employee.code, AggregateResult.period,
                   AggregateResult.kind,
                   AggregateResult.closes, AggregateResult.team_code, AggregateResult.score,
                   AggregateResult.grade, AggregateResult.rank, AggregateResult.months,
                   AggregateResult.payload, AggregateResult.scheme_hash)
            .join(Employee, Employee.id == AggregateResult.employee_id)
            .where(AggregateResult.cycle_id.in_(cycle_ids),
                   AggregateResult.is_current.is_(True))):
        rows.setdefault((r.cycle_id, r.code), []).append([
            r.period, r.kind, bool(r.closes), r.team_code, _fixed(r.score, Q2), r.grade, r.rank,
            r.months, r.payload, r.scheme_hash])
    out: dict[int, dict[str, str]] = {}
    for (cid, code), v in rows.items():
        out.setdefault(cid, {})[code] = digest(sorted(v, key=lambda x: str(x[0])))
    return out


@dataclass
class _History:
    """The audit log's events about appraisals (their own, their appeals', their cycle's,
    the cycle's earlier seals), as (seq, hash) pairs: a seal keeps the digest of an
    appraisal's events before it, so an event removed, added or edited there names the
    appraisals it was about."""

    by_target: dict[tuple[str, str], list[tuple[int, str]]]
    appeals: dict[int, list[int]]

    def of(self, app_id: int, cycle_id: int, before: int | None = None) -> tuple[str, int]:
        events = list(self.by_target.get(("appraisal", str(app_id)), []))
        for appeal_id in self.appeals.get(app_id, []):
            events += self.by_target.get(("appeal", str(appeal_id)), [])
        events += self.by_target.get(("cycle", str(cycle_id)), [])
        events += self.by_target.get((TARGET, str(cycle_id)), [])
        chosen = sorted(e for e in events if before is None or e[0] < before)
        return digest(chosen), len(chosen)


def _history(session: Session, cycle_ids: Collection[int]) -> _History:
    from kaohe.store.models import Appeal

    ids = sorted(set(cycle_ids))
    # every event about a cycle's appraisals comes after the cycle was opened
    opened = dict(session.execute(select(AuditEvent.target_id, func.min(AuditEvent.seq)).where(
        AuditEvent.action == "cycle.opened", AuditEvent.target_type == "cycle",
        AuditEvent.target_id.in_([str(c) for c in ids])).group_by(AuditEvent.target_id)).all())
    since = min(opened.values()) if ids and len(opened) == len(ids) else 0
    by_target: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for seq, hash_, ttype, tid in session.execute(
            select(AuditEvent.seq, AuditEvent.hash, AuditEvent.target_type, AuditEvent.target_id)
            .where(AuditEvent.seq >= since,
                   AuditEvent.target_type.in_(["appraisal", "appeal", "cycle", TARGET]))):
        by_target.setdefault((ttype, tid), []).append((seq, hash_))
    appeals: dict[int, list[int]] = {}
    for appeal_id, app_id in session.execute(
            select(Appeal.id, Appeal.appraisal_id).join(
                Appraisal, Appraisal.id == Appeal.appraisal_id).where(Appraisal.cycle_id.in_(ids))):
        appeals.setdefault(app_id, []).append(appeal_id)
    return _History(by_target, appeals)


# -- sealing -------------------------------------------------------------------------------
def seal(session: Session, *, cycle_id: int, actor: Actor, reason: str,
         appraisal_ids: Iterable[int] | None = None) -> int:
    """Seal the published appraisals of a cycle (or only ``appraisal_ids`` of them) as the
    tables hold them now, in the caller's transaction. Returns how many were sealed."""
    session.flush()
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise WorkflowError(Text(N_("no cycle %(id)s"), id=cycle_id))
    where: list[ColumnElement[bool]] = [Appraisal.cycle_id == cycle_id,
                                        Appraisal.state.in_(FROZEN)]
    if appraisal_ids is not None:
        where.append(Appraisal.id.in_(sorted(set(appraisal_ids))))
    recs = _load(session, where)
    if not recs:
        return 0
    past = _history(session, [cycle_id])
    entries = {}
    for k in sorted(recs):
        entry = recs[k].entry()
        entry["history"], entry["events"] = past.of(k, cycle_id)
        entries[str(k)] = entry
    record(session, action=SEALED, actor=actor, target_type=TARGET, target_id=cycle_id,
           details={"cycle": cycle_id, "scheme": cycle.scheme_id, "period": cycle.period,
                    "scheme_hash": cycle.scheme_version.content_hash, "reason": reason,
                    "appraisals": entries,
                    "aggregates": aggregate_digests(session, cycle_id)})
    return len(recs)


def seal_unsealed(session: Session, *, cycle_id: int, actor: Actor, reason: str) -> int:
    """Seal the published appraisals of a cycle that have never been sealed (published
    before sealing existed), attesting to them as they are now. Appraisals that have a seal
    are left alone: one that no longer matches its seal is never sealed again this way."""
    from kaohe.workflow.cycles import require_role

    require_role(actor, {"hr", "admin"}, "seal published results")
    if not reason.strip():
        raise WorkflowError(Text(N_("sealing after publication needs a reason")))
    sealed = _seals(session, [cycle_id])
    ids = set(session.scalars(select(Appraisal.id).where(
        Appraisal.cycle_id == cycle_id, Appraisal.state.in_(FROZEN)))) - set(sealed)
    if not ids:
        return 0
    return seal(session, cycle_id=cycle_id, actor=actor,
                reason=f"sealed after publication: {reason}", appraisal_ids=ids)


@dataclass(frozen=True)
class _Sealed:
    seq: int
    cycle_id: int
    scheme_hash: str
    entry: dict[str, Any]
    intact: bool  # the seal event still matches its own hash


def _seals(session: Session, cycle_ids: Collection[int] | None,
           aggregates: dict[int, tuple[int, dict[str, str]]] | None = None
           ) -> dict[int, _Sealed]:
    """The newest seal of every appraisal (of the given cycles); ``aggregates``, when given,
    receives each cycle's newest sealed quarter and year digests, as (seq, digests)."""
    q = select(AuditEvent).where(AuditEvent.action == SEALED)
    if cycle_ids is not None:
        q = q.where(AuditEvent.target_type == TARGET,
                    AuditEvent.target_id.in_([str(c) for c in cycle_ids]))
    out: dict[int, _Sealed] = {}
    for ev in session.scalars(q.order_by(AuditEvent.seq)):
        intact = ev.hash == event_hash(
            seq=ev.seq, at=ev.at, action=ev.action, actor=ev.actor, target_type=ev.target_type,
            target_id=ev.target_id, details=ev.details, prev_hash=ev.prev_hash)
        details = ev.details if isinstance(ev.details, dict) else {}
        aggs = details.get("aggregates")
        if aggregates is not None and isinstance(aggs, dict) and ev.target_id.isdigit():
            aggregates[int(ev.target_id)] = (ev.seq, {str(k): str(v) for k, v in aggs.items()})
        apps = details.get("appraisals") if isinstance(details.get("appraisals"), dict) else {}
        for key, entry in (apps or {}).items():
            if str(key).isdigit() and isinstance(entry, dict):
                out[int(key)] = _Sealed(ev.seq, int(ev.target_id) if ev.target_id.isdigit()
                                        else 0, str(details.get("scheme_hash", "")), entry,
                                        intact)
    return out


def _check_aggregates(session: Session, cids: list[int], recs: dict[int, _Record],
                      filtered: bool, sealed: dict[int, tuple[int, dict[str, str]]]
                      ) -> list[Mismatch]:
    """Each cycle's current quarter and year results against its newest seal: an employee
    whose results differ (or were added or removed) is named, with their appraisal in the
    cycle. Under a filter (a team, some appraisals) only the appraisals in scope count."""
    sealed = {cid: v for cid, v in sealed.items() if cid in cids}
    if not sealed:
        return []
    apps = {(r.cycle_id, r.employee): (k, r.period) for k, r in recs.items()}
    periods = {r.cycle_id: r.period for r in recs.values()}
    current = _aggregate_digests(session, sorted(sealed))
    out: list[Mismatch] = []
    for cid, (seq, was) in sealed.items():
        now = current.get(cid, {})
        for code in sorted(set(was) | set(now)):
            if was.get(code) == now.get(code):
                continue
            app = apps.get((cid, code))
            if app is None and filtered:
                continue
            how = ("were removed" if code not in now else "were added" if code not in was
                   else "differ from what was sealed")
            out.append(Mismatch(app[0] if app else 0, code,
                                app[1] if app else periods.get(cid, f"cycle {cid}"),
                                "aggregates", f"the stored quarter and year results {how} "
                                              f"(sealed in audit event {seq})"))
    return out


# -- checking ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mismatch:
    """One appraisal that does not match what was sealed (or what the engine gives).

    ``what`` is one of: result, inputs, ratings, history, missing, extra row, unsealed,
    seal, scheme, identity, state, rescore."""

    appraisal_id: int
    employee: str
    period: str
    what: str
    detail: str

    @property
    def message(self) -> str:
        return (f"{self.employee} {self.period} (appraisal {self.appraisal_id}): {self.what}: "
                f"{self.detail}")

    def brief(self) -> dict[str, Any]:
        return {"appraisal": self.appraisal_id, "employee": self.employee,
                "period": self.period, "what": self.what}


def _result_detail(sealed: dict[str, Any], rec: _Record, now: dict[str, Any]) -> str:
    labels = {"total": "total", "grade": "grade", "rank": "rank", "pay_total": "pay total"}
    diffs = [f"{label} {now.get(k)}, sealed {sealed.get(k)}" for k, label in labels.items()
             if canonical(now.get(k)) != canonical(sealed.get(k))]
    p_total, p_pay = rec.payload_figures()
    if sealed.get("pay_total") is not None and p_pay is not None \
            and Decimal(str(p_pay)) != Decimal(str(sealed["pay_total"])):
        diffs.append(f"pay total in the result details {p_pay}, sealed {sealed['pay_total']}")
    if sealed.get("total") is not None and p_total is not None \
            and Decimal(str(p_total)) != Decimal(str(sealed["total"])):
        diffs.append(f"total in the result details {p_total}, sealed {sealed['total']}")
    if not diffs:
        diffs.append("the stored result (indicators, pay lines, reasons or what it was scored "
                     "from) differs from what was sealed")
    return "; ".join(diffs)


def _compare(app_id: int, rec: _Record, sealed: _Sealed, scheme_now: str | None,
             past: _History) -> list[Mismatch]:
    s = sealed.entry
    emp, period = rec.employee, rec.period
    out: list[Mismatch] = []

    def add(what: str, detail: str) -> None:
        out.append(Mismatch(app_id, emp, period, what, detail))

    if not sealed.intact:
        add("seal", f"its seal (audit event {sealed.seq}) was edited: it no longer matches "
                    "its own hash")
        return out
    if (s.get("employee"), s.get("period")) != (rec.employee, rec.period):
        add("identity", f"sealed for {s.get('employee')} {s.get('period')}, now belongs to "
                        f"{rec.employee} {rec.period}")
    if rec.state not in states.FROZEN:
        add("state", f"sealed as published, now {rec.state}")
    if scheme_now != sealed.scheme_hash:
        add("scheme", f"scored with scheme {sealed.scheme_hash[:12]}…, the cycle's scheme "
                      f"version now {'does not match its own hash' if scheme_now is None else scheme_now[:12] + '…'}")
    if "history" in s:
        history, n = past.of(app_id, rec.cycle_id, before=sealed.seq)
        was = int(s.get("events") or 0)
        if history != s["history"]:
            how = "removed" if n < was else "added" if n > was else "edited"
            add("history", f"{n} audit events about it (its own, its appeals', its cycle's) "
                           f"before its seal (event {sealed.seq}), {was} when sealed: one was "
                           f"{how}")
    now = rec.entry()
    if now["inputs"] != s.get("inputs"):
        add("inputs", "the stored inputs or incidents differ from what was sealed")
    if now["ratings"] != s.get("ratings"):
        rated, rated_was = now["ratings_n"], s.get("ratings_n")
        add("ratings", f"{rated} ratings now, {rated_was} when sealed" if rated != rated_was
            else "a rating's value differs from what was sealed")
    rows, cur = now["rows"], now["current"]
    if rows > int(s.get("rows") or 0) or cur > 1:
        add("extra row", f"{rows} result rows ({cur} current), sealed {s.get('rows')} "
                         f"({s.get('current')} current): a result row was added")
    elif rows < int(s.get("rows") or 0) or cur < int(s.get("current") or 0):
        add("missing", f"{rows} result rows ({cur} current), sealed {s.get('rows')} "
                       f"({s.get('current')} current): a result row was removed")
    elif now["result"] != s.get("result"):
        add("result", _result_detail(s, rec, now))
    return out


def _scope(session: Session, cycle_ids: Collection[int] | None,
           seals: dict[int, _Sealed]) -> list[int]:
    if cycle_ids is not None:
        return sorted(set(cycle_ids))
    published = set(session.scalars(select(Appraisal.cycle_id).where(
        Appraisal.state.in_(FROZEN)).distinct()))
    return sorted(published | {s.cycle_id for s in seals.values()})


def _schemes(session: Session, cycle_ids: list[int]) -> dict[int, str | None]:
    """Each cycle's scheme hash, or None where the scheme text no longer matches it."""
    out: dict[int, str | None] = {}
    for cid, content, content_hash in session.execute(
            select(Cycle.id, SchemeVersion.content, SchemeVersion.content_hash)
            .join(SchemeVersion, SchemeVersion.id == Cycle.scheme_version_id)
            .where(Cycle.id.in_(cycle_ids))):
        ok = hashlib.sha256(content.encode("utf-8")).hexdigest() == content_hash
        out[cid] = content_hash if ok else None
    return out


def check(session: Session, *, cycle_ids: Collection[int] | None = None,
          appraisal_ids: Collection[int] | None = None,
          team: str | None = None) -> tuple[int, list[Mismatch]]:
    """Recompute the digests of the published appraisals (all, or of some cycles, one team,
    some appraisals) and compare them with their newest seals. Returns how many appraisals
    were checked and every mismatch, in employee order."""
    sealed_aggregates: dict[int, tuple[int, dict[str, str]]] = {}
    seals = _seals(session, cycle_ids, sealed_aggregates)
    cids = _scope(session, cycle_ids, seals)
    where: list[ColumnElement[bool]] = [Appraisal.cycle_id.in_(cids)]
    if team is not None:
        where.append(Appraisal.team_code == team)
    if appraisal_ids is not None:
        where.append(Appraisal.id.in_(sorted(set(appraisal_ids))))
    recs = _load(session, where) if cids else {}
    schemes = _schemes(session, cids) if cids else {}
    past = _history(session, cids) if cids else _History({}, {})
    mismatches: list[Mismatch] = []
    checked = 0
    for app_id, rec in recs.items():
        sealed = seals.get(app_id)
        if sealed is None:
            if rec.state in states.FROZEN:
                checked += 1
                mismatches.append(Mismatch(
                    app_id, rec.employee, rec.period, "unsealed",
                    f"{rec.state} but not sealed: its seal event is missing (or it was "
                    "published before sealing; `kaohe audit seal` attests to it as it is now)"))
            continue
        checked += 1
        mismatches.extend(_compare(app_id, rec, sealed, schemes.get(rec.cycle_id), past))
    filtered = team is not None or appraisal_ids is not None
    exists = set(session.scalars(select(Appraisal.id).where(
        Appraisal.cycle_id.in_(cids)))) if filtered and cids else set(recs)
    for app_id, sealed in seals.items():
        if app_id in exists or (appraisal_ids is not None and app_id not in appraisal_ids):
            continue  # checked above, or outside the scope asked for
        checked += 1
        mismatches.append(Mismatch(app_id, str(sealed.entry.get("employee", "?")),
                                   str(sealed.entry.get("period", "?")), "missing",
                                   f"sealed in audit event {sealed.seq}, but the appraisal "
                                   "is gone"))
    if cids:
        mismatches += _check_aggregates(session, cids, recs, filtered, sealed_aggregates)
    mismatches.sort(key=lambda m: (m.period, m.employee, m.appraisal_id, m.what))
    return checked, mismatches


# -- exports -------------------------------------------------------------------------------
class Tampered(WorkflowError):
    """An export refused because records no longer match what was published."""

    status = 409


def names(mismatches: list[Mismatch], limit: int = NAME_IN_REFUSAL) -> str:
    seen: dict[tuple[str, str, int], list[str]] = {}
    for m in mismatches:
        seen.setdefault((m.employee, m.period, m.appraisal_id), []).append(m.what)
    items = [f"{e} {p} ({', '.join(w)})" for (e, p, _), w in seen.items()]
    more = f", … and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def require_intact(session: Session, *, cycle_id: int, team: str | None = None,
                   appraisal_ids: Collection[int] | None = None) -> None:
    """Refuse (raise :class:`Tampered`) when a published appraisal of the cycle (or of one
    team, or the given appraisals) no longer matches its seal."""
    _, mismatches = check(session, cycle_ids=[cycle_id], appraisal_ids=appraisal_ids,
                          team=team)
    if mismatches:
        n = len({m.appraisal_id for m in mismatches})
        raise Tampered(Text(N_("refused: %(n)s published appraisals no longer match what was "
                               "sealed: %(names)s. Run `kaohe audit verify` for the details."),
                            n=n, names=names(mismatches)))
