"""Cycles and appraisals: open, import inputs, rate, score, move through the workflow,
publish. Services are functions; the caller owns the transaction (one per action), so a
state change and its audit event commit together or not at all. Bulk paths are set-based.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kaohe.columns import ADJUSTMENT, EMPLOYEE, PERIOD, TEAM
from kaohe.engine.load import load_scheme_text
from kaohe.engine.results import result_records
from kaohe.engine.score import score_table
from kaohe.errors import InputError
from kaohe.ingest.table import ROW, collecting, map_headers, prepare, problem, read_raw
from kaohe.numbers import to_json_number
from kaohe.presets import PRESET_IDS, preset_text
from kaohe.scheme.models import Scheme
from kaohe.settings import settings
from kaohe.store.models import (
    Appeal,
    AppealState,
    Appraisal,
    AppraisalState,
    Cycle,
    CycleState,
    Employee,
    Incident,
    PeerBallot,
    Rating,
    Result,
    Role,
    SchemeVersion,
    utcnow,
)
from kaohe.text import N_, Text
from kaohe.workflow import permissions, states
from kaohe.workflow.audit import Actor, record
from kaohe.workflow.calendar import add_workdays
from kaohe.workflow.errors import Conflict, Invalid, NotAllowed, NotFound, WorkflowError
from kaohe.workflow.permissions import RaterRole

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# -- schemes ---------------------------------------------------------------------------
def save_scheme(session: Session, *, text: str, source: str, actor: Actor) -> SchemeVersion:
    """Save a scheme text as an immutable version (the same text twice is one version)."""
    scheme = load_scheme_text(text, source)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    found = session.scalar(select(SchemeVersion).where(SchemeVersion.content_hash == digest))
    if found is not None:
        return found
    last = session.scalar(select(func.max(SchemeVersion.version)).where(
        SchemeVersion.scheme_id == scheme.id)) or 0
    sv = SchemeVersion(scheme_id=scheme.id, version=last + 1, content=text, content_hash=digest,
                       created_by=actor.username)
    session.add(sv)
    session.flush()
    record(session, action="scheme.saved", actor=actor, target_type="scheme", target_id=sv.id,
           details={"scheme": scheme.id, "version": sv.version, "hash": digest})
    return sv


def scheme_text(ref: str) -> tuple[str, str]:
    """A preset id or a YAML path → (text, source)."""
    if ref in PRESET_IDS:
        return preset_text(ref), f"preset {ref}"
    p = Path(ref)
    if not p.exists():
        raise NotFound(f"{ref!r} is neither a preset ({', '.join(PRESET_IDS)}) nor a file")
    return p.read_text("utf-8"), str(p)


_SCHEMES: dict[str, Scheme] = {}


def scheme_of(sv: SchemeVersion) -> Scheme:
    hit = _SCHEMES.get(sv.content_hash)
    if hit is None:
        hit = load_scheme_text(sv.content, f"scheme {sv.scheme_id} v{sv.version}")
        _SCHEMES[sv.content_hash] = hit
    return hit


# -- cycles ----------------------------------------------------------------------------
def get_cycle(session: Session, cycle_id: int) -> Cycle:
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise NotFound(Text(N_("no cycle %(id)s"), id=cycle_id))
    return cycle


def find_cycle(session: Session, *, scheme_id: str, period: str) -> Cycle:
    cycle = session.scalar(select(Cycle).where(Cycle.scheme_id == scheme_id,
                                               Cycle.period == period))
    if cycle is None:
        raise NotFound(f"no cycle for scheme {scheme_id!r} and period {period}")
    return cycle


def require_role(actor: Actor, roles: set[str], what: str) -> None:
    """An action on a whole cycle: one of ``roles`` (see :mod:`kaohe.workflow.permissions`)."""
    permissions.require(actor, frozenset(Role(r) for r in roles), what)


def open_cycle(session: Session, *, scheme_ref: str = "", period: str, actor: Actor,
               version_id: int | None = None) -> Cycle:
    """Create the cycle, pin the scheme version, and one appraisal per active employee. The
    scheme is a preset id or a YAML file (``scheme_ref``), or a saved version."""
    require_role(actor, {"hr", "admin"}, "open a cycle")
    if not PERIOD_RE.match(period):
        raise Invalid(Text(N_("period %(period)s: expected a month written YYYY-MM, e.g. 2026-10"),
                           period=repr(period)))
    if version_id is not None:
        found = session.get(SchemeVersion, version_id)
        if found is None:
            raise NotFound(Text(N_("no saved scheme version %(id)s"), id=version_id))
        sv = found
    else:
        text, source = scheme_text(scheme_ref)
        sv = save_scheme(session, text=text, source=source, actor=actor)
    if session.scalar(select(Cycle).where(Cycle.scheme_id == sv.scheme_id,
                                          Cycle.period == period)) is not None:
        raise WorkflowError(Text(N_("a cycle for %(scheme)s %(period)s exists already"),
                                 scheme=sv.scheme_id, period=period))
    cycle = Cycle(scheme_id=sv.scheme_id, scheme_version=sv, period=period,
                  state=CycleState.draft)
    session.add(cycle)
    session.flush()
    states.find(states.CYCLE, "open", cycle.state.value, "cycle")
    cycle.state = CycleState.open
    emps = session.execute(
        select(Employee.id, Employee.team_id).where(Employee.status == "active")).all()
    from kaohe.store.models import Team

    team_codes = dict(session.execute(select(Team.id, Team.code)).all())
    if emps:
        session.execute(insert(Appraisal), [
            {"cycle_id": cycle.id, "employee_id": e.id, "team_code": team_codes.get(e.team_id, ""),
             "state": AppraisalState.self_review, "version": 1, "inputs": {}}
            for e in emps
        ])
    session.flush()
    record(session, action="cycle.opened", actor=actor, target_type="cycle", target_id=cycle.id,
           details={"scheme": sv.scheme_id, "scheme_version": sv.version,
                    "scheme_hash": sv.content_hash, "period": period, "appraisals": len(emps)})
    return cycle


@dataclass(frozen=True)
class ImportPreview:
    """What an import would do, worked out without saving anything."""

    source: str
    errors: list[InputError]
    rows: int
    columns: list[str]  # the input ids the sheet sets
    sample: list[dict[str, Any]]  # the first rows, as they would be stored


def _staged(session: Session, cycle: Cycle, path: str | Path
            ) -> tuple[list[dict[str, Any]], str, list[str], list[dict[str, Any]]]:
    """Validate a sheet against the cycle and work out each appraisal's new inputs. Problems
    are raised (or listed, inside ``collecting()``)."""
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
    updates: list[dict[str, Any]] = []
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
        values = {c: (r[c].strip() if isinstance(r[c], str) and r[c].strip() else None)
                  for c in input_cols}
        merged = stored[app_id] | values
        updates.append({"b_id": app_id, "b_inputs": {k: v for k, v in merged.items()
                                                      if v is not None}})
        if len(sample) < 20:
            sample.append({"employee": code, **values})
    return updates, source, input_cols, sample


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
            updates, source, columns, sample = _staged(session, cycle, path)
        except InputError as exc:
            found.append(exc)
            updates, source, columns, sample = [], exc.file or str(path), [], []
    found.sort(key=lambda e: (e.row or 0, e.column or ""))
    return ImportPreview(source, list(found), len(updates), columns, sample)


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


def _history_frame(session: Session, cycle: Cycle, scheme: Scheme,
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


def _compute(session: Session, cycle: Cycle) -> tuple[list[dict[str, Any]], dict[str, str],
                                                       list[str]]:
    scheme = scheme_of(cycle.scheme_version)
    origins: dict[str, dict[str, str]] = {}
    frame = _history_frame(session, cycle, scheme, origins)
    if frame.height == 0:
        raise WorkflowError(Text(N_("cycle %(id)s has no appraisals to score"), id=cycle.id))
    hashes = {(r[EMPLOYEE], r[PERIOD]): input_hash(r) for r in frame.iter_rows(named=True)}
    try:
        table = prepare(frame, scheme, f"cycle {cycle.scheme_id} {cycle.period}")
        outcome = score_table(scheme, table).outcome
    except InputError as exc:
        raise WorkflowError(Text(N_("the stored inputs cannot be scored: %(problem)s"),
                                 problem=exc)) from None
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


def _write_results(session: Session, cycle: Cycle, recs: list[dict[str, Any]],
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
    recs, hashes, warnings = _compute(session, cycle)
    n = _write_results(session, cycle, recs, hashes, "score")
    if cycle.state is CycleState.open:
        cycle.state = CycleState.reviewing
    record(session, action="cycle.scored", actor=actor, target_type="cycle", target_id=cycle.id,
           details={"results": n, "warnings": len(warnings)})
    return n, warnings


# -- appraisal transitions ---------------------------------------------------------------
def get_appraisal(session: Session, appraisal_id: int) -> Appraisal:
    app = session.get(Appraisal, appraisal_id)
    if app is None:
        raise NotFound(Text(N_("no appraisal %(id)s"), id=appraisal_id))
    return app


def transition(session: Session, *, appraisal_id: int, trigger: str, actor: Actor,
               expected_version: int | None = None, note: str = "") -> Appraisal:
    """Fire one transition of the appraisal table, if the actor's capacity on this
    appraisal is among the transition's (own appraisals only as ``own``)."""
    app = get_appraisal(session, appraisal_id)
    user = permissions.user_of(session, actor)
    spec = states.APPRAISAL.get(trigger)
    if spec is not None and not spec.roles & permissions.capacities(actor, user, app):
        raise NotAllowed(Text(N_("%(user)s may not %(action)s appraisal %(id)s"),
                              user=actor.username, action=states.action_term(trigger), id=app.id))
    t = states.find(states.APPRAISAL, trigger, app.state.value, "appraisal")
    if expected_version is not None and app.version != expected_version:
        raise Conflict(Text(N_("appraisal %(id)s was changed by someone else (version "
                               "%(version)s, you had %(yours)s); reload and try again"),
                            id=app.id, version=app.version, yours=expected_version))
    before = app.state.value
    if trigger == "submit_self_review" and note:
        app.self_review = note
    if trigger == "submit_supervisor_review" and note:
        app.supervisor_comment = note
    if trigger == "publish" and app.cycle.state is not CycleState.published:
        raise WorkflowError(Text(N_("appraisals are published with their cycle: `kaohe cycle "
                                    "publish`")))
    if trigger == "acknowledge":
        from kaohe.store.models import Acknowledgement

        assert user is not None  # "own" needs a user
        session.add(Acknowledgement(appraisal_id=app.id, user_id=user.id))
    app_id = app.id
    app.state = AppraisalState(t.dest)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(Text(N_("appraisal %(id)s was changed by someone else; reload and try "
                               "again"), id=app_id)) from None
    record(session, action=f"appraisal.{trigger}", actor=actor, target_type="appraisal",
           target_id=app.id, details={"from": before, "to": t.dest, "note": note})
    return app


def advance_all(session: Session, *, cycle_id: int, trigger: str, actor: Actor) -> int:
    """Fire one transition on every appraisal of the cycle that is in its source state
    (HR's bulk path; one UPDATE, one audit event)."""
    cycle = get_cycle(session, cycle_id)
    t = states.APPRAISAL.get(trigger)
    if t is None:
        raise Invalid(f"unknown action {trigger!r}; known: {', '.join(states.APPRAISAL)}")
    if trigger in ("acknowledge", "appeal", "publish", "resolve"):
        raise Invalid(f"{trigger} is not a bulk action")
    require_role(actor, {"hr", "admin"}, f"{trigger} every appraisal")
    res = session.execute(
        update(Appraisal).where(Appraisal.cycle_id == cycle.id,
                                Appraisal.state.in_([AppraisalState(s) for s in t.sources]))
        .values(state=AppraisalState(t.dest), version=Appraisal.version + 1)
        .execution_options(synchronize_session=False))
    n = int(res.rowcount or 0)  # type: ignore[attr-defined]
    record(session, action=f"cycle.bulk_{trigger}", actor=actor, target_type="cycle",
           target_id=cycle.id, details={"appraisals": n, "to": t.dest})
    return n


def cycle_transition(session: Session, *, cycle_id: int, trigger: str, actor: Actor,
                     today: dt.date | None = None) -> Cycle:
    cycle = get_cycle(session, cycle_id)
    t = states.find(states.CYCLE, trigger, cycle.state.value, "cycle")
    require_role(actor, set(t.roles), f"{trigger} a cycle")
    counts = dict(session.execute(
        select(Appraisal.state, func.count()).where(Appraisal.cycle_id == cycle.id)
        .group_by(Appraisal.state)).all())
    details: dict[str, Any] = {"from": cycle.state.value, "to": t.dest}
    if trigger == "approve":
        not_ready = {k.value: v for k, v in counts.items() if k is not AppraisalState.hr_approval}
        if not_ready:
            raise WorkflowError(Text(N_("every appraisal must be waiting for HR approval first; "
                                        "still: %(states)s"),
                                     states=", ".join(f"{v} {k}"
                                                      for k, v in sorted(not_ready.items()))))
        unscored = session.scalar(
            select(func.count()).select_from(Appraisal).where(
                Appraisal.cycle_id == cycle.id,
                ~Appraisal.id.in_(select(Result.appraisal_id).where(Result.is_current.is_(True)))))
        if unscored:
            raise WorkflowError(Text(N_("%(n)s appraisals have no score yet: `kaohe cycle score`"),
                                     n=unscored))
    if trigger == "publish":
        day = today or dt.date.today()
        appeal_due = add_workdays(day, settings().appeal_window_workdays)
        feedback_due = day + dt.timedelta(days=settings().feedback_days)
        res = session.execute(
            update(Appraisal).where(Appraisal.cycle_id == cycle.id,
                                    Appraisal.state == AppraisalState.hr_approval)
            .values(state=AppraisalState.published, published_at=utcnow(),
                    appeal_due=appeal_due.due, feedback_due=feedback_due,
                    version=Appraisal.version + 1)
            .execution_options(synchronize_session=False))
        cycle.published_at = utcnow()
        details.update(published=int(res.rowcount or 0),  # type: ignore[attr-defined]
                       appeal_due=appeal_due.due, feedback_due=feedback_due,
                       calendar_official=appeal_due.official)
    if trigger == "close":
        _closable(session, cycle, today or dt.date.today())
        session.execute(
            update(Appraisal).where(Appraisal.cycle_id == cycle.id,
                                    Appraisal.state.in_([AppraisalState.published,
                                                         AppraisalState.acknowledged,
                                                         AppraisalState.resolved]))
            .values(state=AppraisalState.closed, version=Appraisal.version + 1)
            .execution_options(synchronize_session=False))
    cycle_id = cycle.id
    cycle.state = CycleState(t.dest)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(Text(N_("cycle %(id)s was changed by someone else; try again"),
                            id=cycle_id)) from None
    session.expire_all()
    record(session, action=f"cycle.{trigger}", actor=actor, target_type="cycle",
           target_id=cycle.id, details=details)
    if trigger == "publish":  # what was published goes into the hash chain
        from kaohe.workflow.seal import seal

        seal(session, cycle_id=cycle.id, actor=actor, reason="publish")
    return cycle


def _closable(session: Session, cycle: Cycle, day: dt.date) -> None:
    """A cycle closes only once no appeal is open and every appeal window has passed
    (closing archives the appraisals: nobody could appeal or acknowledge any more)."""
    open_appeals = session.scalar(
        select(func.count()).select_from(Appeal).join(Appraisal).where(
            Appraisal.cycle_id == cycle.id,
            Appeal.state.in_([AppealState.filed, AppealState.accepted])))
    if open_appeals:
        raise WorkflowError(Text(N_("%(n)s appeals are still open"), n=open_appeals))
    window = session.scalar(
        select(func.max(Appraisal.appeal_due)).where(
            Appraisal.cycle_id == cycle.id, Appraisal.state == AppraisalState.published,
            Appraisal.appeal_due >= day))
    if window is not None:
        raise WorkflowError(Text(N_("the appeal window is open until %(due)s: close the cycle "
                                    "after it"), due=window.isoformat()))


# -- ratings and incidents ---------------------------------------------------------------
def rate(session: Session, *, appraisal_id: int, input_id: str, value: str, actor: Actor,
         role: str, expected_version: int | None = None) -> Rating:
    """Save a rater's level or mark: only for an input the scheme declares as rated by
    ``role``, by someone in that role's capacity, in the state that role rates in (see
    :data:`kaohe.workflow.permissions.RATING_RULES`). Peer marks are anonymous and summed
    into one tally per input (:func:`_peer_rating`)."""
    app = get_appraisal(session, appraisal_id)
    scheme = scheme_of(app.cycle.scheme_version)
    spec = scheme.inputs.get(input_id)
    rater = permissions.check_rating(session, actor, app, input_id, spec, role)
    assert spec is not None
    _check_value(spec, value, input_id)
    user = permissions.user_of(session, actor)
    if rater is RaterRole.peer:
        assert user is not None  # a colleague is a user with an employee record
        return _peer_rating(session, app, input_id, spec, value, user.id)
    existing = session.scalar(select(Rating).where(
        Rating.appraisal_id == app.id, Rating.input_id == input_id, Rating.rater_role == role,
        Rating.rater_user_id == (user.id if user else None)))
    if existing is None:
        if expected_version not in (None, 0):
            raise Conflict(Text(N_("the %(role)s rating of %(input)s was removed meanwhile; "
                                   "reload"), role=role, input=input_id))
        rating = Rating(appraisal_id=app.id, input_id=input_id, rater_role=role,
                        rater_user_id=user.id if user else None, value=value)
        session.add(rating)
    else:
        rating = existing
        if expected_version is not None and rating.version != expected_version:
            raise Conflict(Text(N_("the %(role)s rating of %(input)s on appraisal %(id)s was "
                                   "saved by someone else (now %(value)s, version %(version)s); "
                                   "reload and try again"), role=role, input=input_id,
                                id=app.id, value=repr(rating.value), version=rating.version))
        rating.value = value
    app_id = app.id
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(Text(N_("the %(role)s rating of %(input)s on appraisal %(id)s was saved "
                               "by someone else; reload and try again"), role=role,
                            input=input_id, id=app_id)) from None
    record(session, action="rating.saved", actor=actor, target_type="appraisal",
           target_id=app.id, details={"input": input_id, "role": role, "value": value})
    return rating


def _peer_rating(session: Session, app: Appraisal, input_id: str, spec: Any, value: str,
                 user_id: int) -> Rating:
    """A peer's mark. The ballot records that this user has rated (once); the mark is added
    to the input's one peer tally, whose mean (tally / ballots) counts. No row holds one
    peer's mark, so no row id, insertion order or transaction id pairs a ballot with it."""
    if spec.type == "level":
        raise Invalid(Text(N_("%(input)s is rated by level; peers give marks"),
                           input=repr(input_id)))
    if session.scalar(select(PeerBallot).where(
            PeerBallot.appraisal_id == app.id, PeerBallot.input_id == input_id,
            PeerBallot.user_id == user_id)) is not None:
        raise Conflict(Text(N_("you have rated %(input)s of appraisal %(id)s already"),
                            input=input_id, id=app.id))
    session.add(PeerBallot(appraisal_id=app.id, input_id=input_id, user_id=user_id))
    tally = session.scalar(select(Rating).where(
        Rating.appraisal_id == app.id, Rating.input_id == input_id,
        Rating.rater_role == RaterRole.peer.value))
    if tally is None:
        tally = Rating(appraisal_id=app.id, input_id=input_id, rater_role=RaterRole.peer.value,
                       rater_user_id=None, value=value)
        session.add(tally)
    else:
        tally.value = format(Decimal(tally.value) + Decimal(value), "f")
    app_id = app.id
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(Text(N_("another peer rated %(input)s of appraisal %(id)s at the same "
                               "time; try again"), input=input_id, id=app_id)) from None
    record(session, action="rating.peer_given", actor=Actor("peer", ("peer",)),
           target_type="appraisal", target_id=app.id, details={"input": input_id})
    return tally


def _check_value(spec: Any, value: str, input_id: str) -> None:
    if spec.type == "level":
        names = set(spec.levels or {}) | {a for al in (spec.levels or {}).values() for a in al}
        if value not in names:
            raise Invalid(Text(N_("%(value)s is not a level of %(input)s (%(levels)s)"),
                               value=repr(value), input=input_id,
                               levels=", ".join(spec.levels or {})))
        return
    try:
        num = Decimal(value)
    except ArithmeticError:
        raise Invalid(Text(N_("%(value)s is not a number (%(input)s)"), value=repr(value),
                           input=input_id)) from None
    low, high = value_bounds(spec)
    if (low is not None and num < low) or (high is not None and num > high):
        raise Invalid(Text(N_("%(value)s is outside %(min)s–%(max)s (%(input)s)"), value=value,
                           min="" if low is None else low, max="" if high is None else high,
                           input=input_id))


def value_bounds(spec: Any) -> tuple[Decimal | None, Decimal | None]:
    """The range an input's values must lie in: the scheme's ``min``/``max``, else 0 for
    counts, money and ratios, and 100 % (1) for ratios."""
    low = spec.min if spec.min is not None else (
        Decimal(0) if spec.type in ("count", "money", "ratio") else None)
    high = spec.max if spec.max is not None else (Decimal(1) if spec.type == "ratio" else None)
    return low, high


def period_days(period: str) -> tuple[dt.date, dt.date]:
    """The first and last day of a cycle's month."""
    import calendar

    y, m = (int(x) for x in period.split("-"))
    return dt.date(y, m, 1), dt.date(y, m, calendar.monthrange(y, m)[1])


def _incident_fields(app: Appraisal, spec: Any, input_id: str, date: dt.date,
                     count: Decimal) -> None:
    if spec is None or spec.type not in ("count", "number") or permissions.declared_raters(spec):
        raise Invalid(Text(N_("%(input)s is not a count or points input of the scheme"),
                           input=repr(input_id)))
    first, last = period_days(app.cycle.period)
    if not first <= date <= last:
        raise Invalid(Text(N_("an incident of cycle %(period)s happens between %(first)s and "
                              "%(last)s, not on %(date)s"), period=app.cycle.period,
                           first=first.isoformat(), last=last.isoformat(),
                           date=date.isoformat()))
    if count <= 0:
        raise Invalid(Text(N_("an incident counts at least once (or a positive number of "
                              "points)")))
    if spec.type == "count" and count != count.to_integral_value():
        raise Invalid(Text(N_("%(input)s counts occurrences; %(count)s is not a whole number"),
                           input=repr(input_id), count=count))


def add_incident(session: Session, *, appraisal_id: int, input_id: str, date: dt.date,
                 count: Decimal, note: str, actor: Actor) -> Incident:
    """Record an incident (e.g. a bad review) dated inside the cycle's month; it adds to
    the imported count of its input."""
    app = get_appraisal(session, appraisal_id)
    permissions.check(session, actor, app, "record_incident")
    spec = scheme_of(app.cycle.scheme_version).inputs.get(input_id)
    _incident_fields(app, spec, input_id, date, count)
    inc = Incident(appraisal_id=app.id, input_id=input_id, date=date, count=count, note=note,
                   recorded_by=actor.username)
    session.add(inc)
    session.flush()
    record(session, action="incident.recorded", actor=actor, target_type="appraisal",
           target_id=app.id, details={"incident": inc.id, "input": input_id, "date": date,
                                      "count": count, "note": note})
    return inc


def _incident(session: Session, appraisal_id: int, incident_id: int) -> Incident:
    inc = session.get(Incident, incident_id)
    if inc is None or inc.appraisal_id != appraisal_id:
        raise NotFound(Text(N_("no incident %(id)s on appraisal %(app)s"), id=incident_id,
                            app=appraisal_id))
    return inc


def _incident_state(inc: Incident) -> dict[str, Any]:
    return {"input": inc.input_id, "date": inc.date, "count": inc.count, "note": inc.note}


def correct_incident(session: Session, *, appraisal_id: int, incident_id: int, reason: str,
                     actor: Actor, date: dt.date | None = None, count: Decimal | None = None,
                     note: str | None = None) -> Incident:
    """Change an incident's date, count or note, with a reason (audited: before and after)."""
    app = get_appraisal(session, appraisal_id)
    permissions.check(session, actor, app, "change_incident")
    if not reason.strip():
        raise Invalid(Text(N_("a correction needs a reason")))
    inc = _incident(session, app.id, incident_id)
    before = _incident_state(inc)
    new_date = inc.date if date is None else date
    new_count = inc.count if count is None else count
    spec = scheme_of(app.cycle.scheme_version).inputs.get(inc.input_id)
    _incident_fields(app, spec, inc.input_id, new_date, new_count)
    inc.date, inc.count = new_date, new_count
    if note is not None:
        inc.note = note
    session.flush()
    record(session, action="incident.corrected", actor=actor, target_type="appraisal",
           target_id=app.id, details={"incident": inc.id, "before": before,
                                      "after": _incident_state(inc), "reason": reason})
    return inc


def remove_incident(session: Session, *, appraisal_id: int, incident_id: int, reason: str,
                    actor: Actor) -> None:
    """Delete an incident recorded in error, with a reason (the audit event keeps it)."""
    app = get_appraisal(session, appraisal_id)
    permissions.check(session, actor, app, "change_incident")
    if not reason.strip():
        raise Invalid(Text(N_("removing an incident needs a reason")))
    inc = _incident(session, app.id, incident_id)
    details = {"incident": inc.id, "removed": _incident_state(inc), "reason": reason}
    session.delete(inc)
    session.flush()
    record(session, action="incident.removed", actor=actor, target_type="appraisal",
           target_id=app.id, details=details)


def scored_cycle(session: Session, *, cycle_id: int) -> tuple[Any, dict[str, Any]]:
    """The cycle scored again from its stored inputs (for forms and exports): the engine's
    outcome and the document of this cycle's period."""
    from kaohe.engine.results import to_document
    from kaohe.engine.score import Scored

    cycle = get_cycle(session, cycle_id)
    scheme = scheme_of(cycle.scheme_version)
    table = prepare(_history_frame(session, cycle, scheme), scheme,
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
    frame = _history_frame(session, cycle, scheme)
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
