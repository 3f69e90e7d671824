"""The team board's views beyond one month: search and sort of the board (query parameters,
so they work without JavaScript), a team's months side by side (each agent's total per
month of a year, the team's mean per month), an agent's year as a table of months, and the
flags (淘汰, 自动请辞, …) a board lists. Every row comes from
:func:`kaohe.web.services.rows_for`, which starts from the rows the user may see."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from kaohe.store.models import Appraisal, Cycle, Employee
from kaohe.web import i18n
from kaohe.web.deps import SessionDep, UserDep, render
from kaohe.web.services import periods, rows_for, teams_of
from kaohe.workflow import states
from kaohe.workflow.permissions import is_staff, visible_appraisals

router = APIRouter()

#: the board's sort keys (a leading ``-`` reverses); ``rank`` is the default
SORTS = ("rank", "total", "-total", "code", "name", "grade", "state", "team", "pay", "-pay")
SORT_PATTERN = "^(" + "|".join(re.escape(s) for s in SORTS) + ")$"
Search = Annotated[str, Query(max_length=64)]
Sort = Annotated[str, Query(pattern=SORT_PATTERN)]
Year = Annotated[str | None, Query(pattern=r"^\d{4}$")]
CENT = Decimal("0.01")


def _total(r: dict[str, Any]) -> Decimal | None:
    v = (r.get("result") or {}).get("total")
    return None if v is None else Decimal(str(v))


def _pay(r: dict[str, Any]) -> Decimal | None:
    v = ((r.get("result") or {}).get("pay") or {}).get("total")
    return None if v is None else Decimal(str(v))


def state_label(state: str) -> str:
    return i18n.gettext(states.STATE_LABELS.get(state, state))


def flags_of(r: dict[str, Any]) -> list[str]:
    """The flags a row's result raised (淘汰, 自动请辞, …), as the scheme names them."""
    return [str(f) for f in ((r.get("result") or {}).get("flags") or [])]


def matches(r: dict[str, Any], q: str) -> bool:
    """Whether a board row matches a search: every word in its 工号, name, team, grade,
    state or flags (case-insensitive)."""
    hay = " ".join([str(r.get("code") or ""), str(r.get("name") or ""),
                    str(r.get("team") or ""), str(r.get("grade_label") or ""),
                    state_label(str(r.get("state") or "")), *flags_of(r)]).casefold()
    return all(w in hay for w in q.casefold().split())


def search_sort(rows: list[dict[str, Any]], q: str = "", sort: str = "rank"
                ) -> list[dict[str, Any]]:
    """The board's rows matching ``q``, in the ``sort`` order; rows without the sorted
    value (no total yet) last whichever the direction."""
    out = [r for r in rows if matches(r, q)] if q.strip() else list(rows)
    key = sort.lstrip("-")
    desc = sort.startswith("-")
    big = Decimal(10) ** 12

    def value(r: dict[str, Any]) -> Any:
        if key == "total":
            v = _total(r)
            return (v is None, -(v or 0) if desc else (v or 0))
        if key == "pay":
            v = _pay(r)
            return (v is None, -(v or 0) if desc else (v or 0))
        if key == "rank":
            rank = (r.get("result") or {}).get("rank")
            return (rank is None, r.get("scheme") or "", r.get("team") or "", rank or big)
        if key == "grade":
            return (r.get("grade_rank") is None, r.get("grade_rank") or 0)
        return (str(r.get(key) or ""),)

    return sorted(out, key=lambda r: (*value(r), str(r.get("code") or "")))


def flagged(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows whose result raised a flag, each with its flags."""
    return [{**r, "flags": flags_of(r)} for r in rows if flags_of(r)]


def _mean(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(CENT, ROUND_HALF_UP)


def _year_rows(session: SessionDep, user: Any, year: str, *, team: str | None = None,
               code: str | None = None) -> list[dict[str, Any]]:
    q = visible_appraisals(user).where(Cycle.period.like(f"{year}-%"))
    if team is not None:
        q = q.where(Appraisal.team_code == team)
    if code is not None:
        q = q.where(Employee.code == code)
    return rows_for(session, q, viewer=user)


def _years(session: SessionDep) -> list[str]:
    return sorted({p[:4] for p in periods(session)}, reverse=True)


def month_comparison(session: SessionDep, user: Any, *, team: str, year: str
                     ) -> dict[str, Any]:
    """A team's months side by side: per agent, the total (and grade) of each month of the
    year; per month, the team's mean total and how many were scored."""
    rows = _year_rows(session, user, year, team=team)
    months = sorted({r["period"] for r in rows})
    agents: dict[str, dict[str, Any]] = {}
    for r in rows:
        a = agents.setdefault(r["code"], {"code": r["code"], "name": r["name"], "months": {},
                                          "flags": []})
        a["months"][r["period"]] = {"id": r["id"], "total": _total(r),
                                    "grade": r["grade_label"]}
        a["flags"] += [f"{r['period'][5:]}月 {f}" for f in flags_of(r)]
    for a in agents.values():
        a["mean"] = _mean([m["total"] for m in a["months"].values() if m["total"] is not None])
    means = {m: _mean([a["months"][m]["total"] for a in agents.values()
                       if m in a["months"] and a["months"][m]["total"] is not None])
             for m in months}
    scored = {m: sum(1 for a in agents.values() if m in a["months"]
                     and a["months"][m]["total"] is not None) for m in months}
    return {"team": team, "year": year, "months": months,
            "agents": [agents[k] for k in sorted(agents)], "means": means, "scored": scored}


def agent_year(session: SessionDep, user: Any, *, code: str, year: str) -> dict[str, Any]:
    """One agent's year as a table of months: total, grade, rank, pay, flags and state."""
    rows = sorted(_year_rows(session, user, year, code=code), key=lambda r: r["period"])
    lines = [{"id": r["id"], "period": r["period"], "scheme": r["scheme"], "team": r["team"],
              "total": _total(r), "grade": r["grade_label"],
              "rank": (r["result"] or {}).get("rank"), "pay": _pay(r), "flags": flags_of(r),
              "state": r["state"]} for r in rows]
    totals = [ln["total"] for ln in lines if ln["total"] is not None]
    pays = [ln["pay"] for ln in lines if ln["pay"] is not None]
    return {"code": code, "name": rows[0]["name"] if rows else "", "year": year,
            "lines": lines, "mean": _mean(totals),
            "pay": sum(pays, Decimal(0)).quantize(CENT) if pays else None}


@router.get("/team/months", response_class=HTMLResponse)
def team_months(request: Request, session: SessionDep, user: UserDep,
                team: Annotated[str | None, Query(max_length=64)] = None,
                year: Year = None) -> HTMLResponse:
    """A team's months side by side (staff only; the teams they may see)."""
    if not is_staff(user):
        raise HTTPException(404, "not found")
    teams = teams_of(session, user)
    years = _years(session)
    chosen_year = year if year in years else (years[0] if years else None)
    chosen = team if team in teams else (teams[0] if teams else None)
    view = (month_comparison(session, user, team=chosen, year=chosen_year)
            if chosen is not None and chosen_year is not None else None)
    return render(request, "team_months.html", user=user, view=view, teams=teams,
                  years=years, team=chosen, year=chosen_year)


@router.get("/team/people/{code}", response_class=HTMLResponse)
def team_person_year(code: Annotated[str, Path(max_length=64)], request: Request,
                     session: SessionDep, user: UserDep, year: Year = None) -> HTMLResponse:
    """An agent's year, month by month (what the user may see of it)."""
    own = session.scalar(select(Employee.code).where(Employee.id == user.employee_id)) \
        if user.employee_id is not None else None
    if not is_staff(user) and code != own:
        raise HTTPException(404, "not found")
    years = _years(session)
    chosen = year if year in years else (years[0] if years else None)
    view = agent_year(session, user, code=code, year=chosen) if chosen else None
    if view is None or (not view["lines"] and session.scalar(
            visible_appraisals(user).where(Employee.code == code).limit(1)) is None):
        raise HTTPException(404, "not found")
    return render(request, "team_person.html", user=user, view=view, years=years,
                  year=chosen)
