"""Quarter and year results on the web: the team page of a period's quarter awards and year
outcomes (HR, managers and supervisors, for the teams they see), and the parts the agent's
own pages include (``_aggregates.html``). Who sees what is decided by
:mod:`kaohe.workflow.aggregates`; these routes only ask."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from kaohe.web.deps import SessionDep, UserDep, render
from kaohe.web.services import periods, teams_of
from kaohe.workflow.aggregates import appraisal_aggregates, my_aggregates, team_aggregates
from kaohe.workflow.permissions import is_staff

router = APIRouter()

__all__ = ["appraisal_aggregates", "my_aggregates", "router"]


@router.get("/team/results", response_class=HTMLResponse)
def team_results(request: Request, session: SessionDep, user: UserDep,
                 period: str | None = None, team: str | None = None) -> HTMLResponse:
    """The quarter awards and year outcomes per team, as of one month's cycles."""
    if not is_staff(user):
        raise HTTPException(404, "not found")
    all_periods = periods(session)
    chosen = period if period in all_periods else (all_periods[0] if all_periods else None)
    teams = teams_of(session, user)
    team = team if team in teams else None
    data: dict[str, Any] = team_aggregates(session, user=user, period=chosen, team=team)
    return render(request, "team_results.html", user=user, period=chosen, periods=all_periods,
                  team=team, teams=teams, groups=data["groups"], truncated=data["truncated"])
