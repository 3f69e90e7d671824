"""The rating grid: a team's appraisals of one cycle × the inputs their supervisor (or
manager) rates, keyboard-first, saved cell by cell (htmx). Every save goes through
:func:`kaohe.workflow.ratings.rate`; which cells are editable comes from
:func:`kaohe.workflow.permissions.ratable` — the page decides nothing itself."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from kaohe.errors import KaoheError
from kaohe.store.models import Appraisal, Cycle, Employee
from kaohe.web import i18n
from kaohe.web.deps import (
    RecordId,
    SessionDep,
    UserDep,
    actor,
    check_csrf,
    lang_of,
    render,
)
from kaohe.workflow import cycles, ratings
from kaohe.workflow.errors import Invalid, WorkflowError
from kaohe.workflow.permissions import get_visible, is_staff, visible_appraisals

router = APIRouter()
#: the most appraisals one grid shows (a team; larger teams page by team)
MAX_ROWS = 500


def team_appraisals(session: SessionDep, user: Any, cycle_id: int,
                    team: str | None) -> tuple[list[Appraisal], list[str], str | None]:
    """The appraisals of one team of a cycle the user may see (by employee id), the teams
    they may choose from, and the team chosen (default: the first)."""
    base = visible_appraisals(user).where(Appraisal.cycle_id == cycle_id)
    teams = sorted({t for (t,) in session.execute(
        base.with_only_columns(Appraisal.team_code).distinct())})
    if not teams:
        return [], [], None
    chosen = team if team in teams else teams[0]
    apps = list(session.scalars(base.where(Appraisal.team_code == chosen)
                                .order_by(Employee.code).limit(MAX_ROWS)))
    return apps, teams, chosen


def _columns_view(columns: list[ratings.GridColumn], lang: str) -> list[dict[str, Any]]:
    roles = {c.input_id for c in columns if sum(1 for d in columns if d.input_id == c.input_id) > 1}
    out = []
    for c in columns:
        label = c.label_en if lang == "en" else c.label
        if c.input_id in roles:
            label += " (" + i18n.gettext(i18n.N_("supervisor") if c.role.value == "supervisor"
                                         else i18n.N_("manager")) + ")"
        out.append({"key": c.key, "input": c.input_id, "role": c.role.value, "label": label,
                    "type": "level" if c.type == "level" else "number",
                    "levels": list(c.levels),
                    "low": "" if c.low is None else c.low, "high": "" if c.high is None else c.high})
    return out


@router.get("/cycles/{cycle_id}/grid", response_class=HTMLResponse)
def grid_page(cycle_id: RecordId, request: Request, session: SessionDep, user: UserDep,
              team: str | None = None) -> HTMLResponse:
    if not is_staff(user):
        raise HTTPException(404, "not found")
    cycle = session.get(Cycle, cycle_id)
    apps, teams, chosen = team_appraisals(session, user, cycle_id, team)
    if cycle is None or not apps:
        raise HTTPException(404, i18n.N_("Nothing to rate here."))
    columns, rows = ratings.grid(session, actor=actor(user), apps=apps)
    cols = _columns_view(columns, lang_of(request))
    editable = sum(1 for r in rows for c in r.cells.values() if c.editable)
    return render(request, "grid.html", user=user, cycle=cycle, team=chosen, teams=teams,
                  columns=cols, rows=rows, editable=editable,
                  unrated=sum(r.unrated for r in rows),
                  unrated_people=sum(1 for r in rows if r.unrated))


@router.post("/cycles/{cycle_id}/grid/rate/{appraisal_id}", response_class=HTMLResponse)
def grid_rate(cycle_id: RecordId, appraisal_id: RecordId, request: Request,
              session: SessionDep, user: UserDep,
              input_id: Annotated[str, Form(max_length=100)],
              role: Annotated[str, Form(max_length=20)],
              value: Annotated[str, Form(max_length=100)] = "",
              version: Annotated[int | None, Form()] = None,
              row: Annotated[int, Form(ge=0, le=MAX_ROWS)] = 0,
              col: Annotated[int, Form(ge=0, le=1000)] = 0,
              csrf: Annotated[str | None, Form()] = None) -> Response:
    """Save one cell; answer with the cell as it now is (htmx swaps it in), or the cell
    with the reason next to it and the typed value kept (the refusal's status: 403 for a
    rater the rules refuse, 409 for a state or a version, 422 for a value; nothing saved)."""
    check_csrf(request, csrf)
    app_ = get_visible(session, user, appraisal_id)
    if app_.cycle_id != cycle_id:
        raise HTTPException(404, "not found")
    error = None
    status = 200
    typed = value.strip()
    try:
        if not typed:
            raise Invalid(i18n.Text(i18n.N_("enter a level or a number")))
        with session.begin_nested():  # a refused rating leaves nothing behind
            cycles.rate(session, appraisal_id=app_.id, input_id=input_id, value=typed,
                        actor=actor(user), role=role, expected_version=version)
    except KaoheError as exc:
        error = i18n.translate(exc.args[0] if exc.args else str(exc))
        status = exc.status if isinstance(exc, WorkflowError) else 422
    session.expire_all()
    columns, rows = ratings.grid(session, actor=actor(user), apps=[app_])
    cols = _columns_view(columns, lang_of(request))
    spec = next((c for c in cols if c["input"] == input_id and c["role"] == role), None)
    if spec is None:  # not a column of the grid (e.g. a self-rating): no cell to answer with
        if error is not None:
            raise HTTPException(status, error)
        return Response(status_code=204)
    cell = rows[0].cells[spec["key"]]
    return render(request, "_grid_cell.html", status=status, user=user,
                  r=rows[0], c=spec, cell=cell, ri=row, ci=col, error=error,
                  typed=typed if error else None, cycle_id=cycle_id)


def grid_links(session: SessionDep, user: Any, period: str | None,
               team: str | None) -> list[dict[str, Any]]:
    """Links to the rating grids of a period on the team board (per cycle and team)."""
    if period is None:
        return []
    q = (visible_appraisals(user).join(Cycle, Cycle.id == Appraisal.cycle_id)
         .where(Cycle.period == period)
         .with_only_columns(Appraisal.cycle_id, Cycle.scheme_id, Appraisal.team_code)
         .distinct())
    if team:
        q = q.where(Appraisal.team_code == team)
    return [{"cycle": c, "scheme": s, "team": t}
            for c, s, t in sorted(session.execute(q).all(), key=lambda x: (x[2], x[1]))][:50]


def cycle_unrated(session: SessionDep, cycle_id: int) -> dict[str, Any]:
    """未评分 of a whole cycle (the HR console): cells and people, per team."""
    rows = session.execute(select(Appraisal.id, Appraisal.team_code)
                           .where(Appraisal.cycle_id == cycle_id)).all()
    counts = ratings.unrated_counts(session, [i for i, _ in rows])
    teams: dict[str, list[int]] = {}
    for aid, code in rows:
        n = counts.get(aid, 0)
        line = teams.setdefault(code, [0, 0])
        line[0] += n
        line[1] += 1 if n else 0
    return {"cells": sum(counts.values()), "people": len(counts),
            "teams": [(t, c, p) for t, (c, p) in sorted(teams.items())]}
