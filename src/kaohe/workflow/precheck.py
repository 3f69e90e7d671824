"""Before a cycle is scored: every input still missing, by person (name and 工号) and team.

The engine's own check decides what is missing (the scheme's ``required``,
``required_when``, ``default`` and eligibility: :func:`kaohe.engine.checks.check_required`),
run here over the cycle's stored inputs with every problem collected instead of the first
one raised. A blank the scheme forbids blocks scoring (:func:`require_complete`, called by
``score_cycle``); a blank the scheme allows (``required: false``, a ``required_when`` that
does not hold, a ``default``) is listed too, and scoring what is complete goes ahead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from kaohe.columns import EMPLOYEE, PERIOD, TEAM
from kaohe.engine.checks import check_required
from kaohe.engine.score import plan_for
from kaohe.errors import InputError
from kaohe.ingest.table import MAX_LISTED, collecting, prepare
from kaohe.store.models import Appraisal, Cycle, Employee
from kaohe.text import N_, Text
from kaohe.workflow.errors import WorkflowError
from kaohe.workflow.inputs import history_frame
from kaohe.workflow.schemes import scheme_of

#: how many missing inputs the refusal's message names (the page lists every one)
NAMED_IN_MESSAGE = 10


@dataclass(frozen=True)
class Missing:
    """One input without a value for one person."""

    appraisal_id: int | None  # None: a person of an earlier cycle the history still needs
    code: str
    name: str
    team: str
    period: str
    input_id: str  # the column: an input id, or ``id@rater``
    label: str
    label_en: str
    rater: str  # who gives it ("" when it is imported)


@dataclass(frozen=True)
class Precheck:
    #: blanks the scheme does not allow: scoring is refused while there is one
    blocking: list[Missing]
    #: blanks the scheme allows (scored as the scheme says: default, or left out)
    allowed: list[Missing]
    #: more than the engine lists at once were missing (the list is the first ones)
    truncated: bool = False
    people: int = 0
    teams: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.blocking

    def by_team(self, which: str = "blocking") -> dict[str, list[Missing]]:
        out: dict[str, list[Missing]] = defaultdict(list)
        for m in getattr(self, which):
            out[m.team].append(m)
        return dict(sorted(out.items()))


def precheck(session: Session, cycle: Cycle) -> Precheck:
    """Every input the cycle's scoring would miss (nothing is written)."""
    scheme = scheme_of(cycle.scheme_version)
    frame = history_frame(session, cycle, scheme)
    apps = {(code, period): aid for code, period, aid in session.execute(
        select(Employee.code, Cycle.period, Appraisal.id)
        .join(Appraisal, Appraisal.employee_id == Employee.id)
        .join(Cycle, Cycle.id == Appraisal.cycle_id)
        .where(Cycle.scheme_id == cycle.scheme_id, Cycle.period <= cycle.period))}
    people = frame.filter(pl.col(PERIOD) == cycle.period).height
    if frame.height == 0:
        return Precheck([], [], people=0)
    rows = frame.select(EMPLOYEE, "name", TEAM, PERIOD).to_dicts()
    truncated = False
    source = f"cycle {cycle.scheme_id} {cycle.period}"
    with collecting() as found:
        try:
            check_required(plan_for(scheme), prepare(frame, scheme, source))
        except InputError as exc:
            if exc.row is not None or len(found) < MAX_LISTED:
                raise
            truncated = True

    def missing(index: int, column: str) -> Missing:
        r = rows[index]
        ident, _, rater = column.partition("@")
        spec = scheme.inputs[ident]
        return Missing(apps.get((r[EMPLOYEE], r[PERIOD])), r[EMPLOYEE] or "", r["name"] or "",
                       r[TEAM] or "", r[PERIOD] or "", column, spec.label or ident,
                       spec.label_en or ident, rater or (spec.rater or ""))

    blocking: list[Missing] = []
    seen: set[tuple[int, str]] = set()
    for e in found:
        if e.row is None or e.column is None:
            continue
        ident = e.column.partition("@")[0]
        if ident not in scheme.inputs:
            continue
        index = e.row - 2  # the engine counts a header row and from 1
        spec = scheme.inputs[ident]
        if spec.raters:  # no rater gave a mark: every rater's column is missing
            for r in spec.raters:
                blocking.append(missing(index, f"{ident}@{r}"))
        else:
            blocking.append(missing(index, e.column))
        seen.add((index, ident))
    allowed: list[Missing] = []
    this = [i for i, r in enumerate(rows) if r[PERIOD] == cycle.period]
    for ident, spec in scheme.inputs.items():
        cols = [f"{ident}@{r}" for r in spec.raters] if spec.raters else [ident]
        for col in cols:
            if col not in frame.columns:
                continue
            values = frame[col]
            for i in this:
                if values[i] is None and (i, ident) not in seen:
                    allowed.append(missing(i, col))
    order = {c: n for n, c in enumerate(frame.columns)}

    def key(m: Missing) -> tuple[bool, str, str, int]:
        return (m.period != cycle.period, m.team, m.code, order.get(m.input_id, 0))

    blocking.sort(key=key)
    allowed.sort(key=key)
    teams: dict[str, dict[str, int]] = defaultdict(lambda: {"people": 0, "blocking": 0})
    for i in this:
        teams[rows[i][TEAM] or ""]["people"] += 1
    for m in blocking:
        if m.period == cycle.period:
            teams[m.team]["blocking"] += 1
    return Precheck(blocking, allowed, truncated, people, dict(sorted(teams.items())))


class IncompleteInputs(WorkflowError):
    """Scoring refused: inputs the scheme requires are missing (the list is attached)."""

    def __init__(self, message: Text, found: Precheck) -> None:
        super().__init__(message)
        self.precheck = found


def require_complete(session: Session, cycle: Cycle) -> Precheck:
    """Refuse scoring while an input the scheme requires is missing, naming the people (the
    first few; ``precheck`` on the error has every one)."""
    found = precheck(session, cycle)
    if found.blocking:
        named = "; ".join(
            f"{m.team or '-'} {m.name} ({m.code}){'' if m.period == cycle.period else ' ' + m.period}"
            f" {m.label}" for m in found.blocking[:NAMED_IN_MESSAGE])
        more = len(found.blocking) - NAMED_IN_MESSAGE
        raise IncompleteInputs(Text(
            N_("cannot score yet: %(n)s required inputs are missing: %(list)s%(more)s"),
            n=len(found.blocking), list=named,
            more=Text(N_(" and %(n)s more"), n=more) if more > 0 else ""), found)
    return found
