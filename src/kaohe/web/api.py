"""The JSON API under ``/api``, documented by OpenAPI at ``/api/docs``. It uses the same
services and visibility rules as the pages; a write needs the session's CSRF token in the
``X-CSRF-Token`` header (``GET /api/me`` returns it)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from kaohe.store.models import Appraisal as AppraisalRecord
from kaohe.store.models import Cycle, User
from kaohe.web import schemas
from kaohe.web.deps import (
    RecordId,
    SessionDep,
    UserDep,
    actor,
    check_csrf,
    csrf_token,
)
from kaohe.web.services import appraisal_doc, board_rows, rows_for
from kaohe.workflow import appeals, cycles
from kaohe.workflow.aggregates import appraisal_aggregates, my_aggregates
from kaohe.workflow.permissions import get_visible, is_staff, visible_appraisals

router = APIRouter(prefix="/api", tags=["api"], responses={
    401: {"model": schemas.Problem, "description": "not logged in"},
    403: {"model": schemas.Problem, "description": "no CSRF token, or the rules refuse you"},
    404: {"model": schemas.Problem, "description": "no such record, or not yours to see"},
    409: {"model": schemas.Problem, "description": "not in this state, or changed meanwhile"},
})
CsrfHeader = Annotated[str | None, Header(alias="X-CSRF-Token")]


class Transition(BaseModel):
    action: Literal["submit_self_review", "submit_supervisor_review", "approve_second_review",
                    "return_for_review", "publish", "acknowledge", "close"]
    version: int | None = Field(default=None, ge=0, le=2**31 - 1)
    note: str = Field(default="", max_length=5000)


class AppealIn(BaseModel):
    reason: str = Field(min_length=1, max_length=5000)


class RatingIn(BaseModel):
    input_id: str = Field(min_length=1, max_length=100)
    value: str = Field(min_length=1, max_length=100)
    role: Literal["self", "peer", "supervisor", "manager"] = "supervisor"
    version: int | None = Field(default=None, ge=0, le=2**31 - 1)


@router.get("/me")
def api_me(request: Request, user: UserDep) -> schemas.Me:
    """Who is logged in, and the CSRF token to send with writes."""
    return schemas.Me(username=user.username, display_name=user.display_name,
                      roles=list(user.roles), csrf=csrf_token(request))


@router.get("/appraisals")
def api_appraisals(session: SessionDep, user: UserDep,
                   period: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None
                   ) -> list[schemas.AppraisalRow]:
    """The appraisals you may see, newest period first (your own without a result until
    it is published)."""
    q = visible_appraisals(user)
    if period is not None:
        q = q.where(Cycle.period == period)
    return [schemas.AppraisalRow.model_validate(r) for r in rows_for(session, q, viewer=user)]


@router.get("/appraisals/{appraisal_id}")
def api_appraisal(appraisal_id: RecordId, session: SessionDep,
                  user: UserDep) -> schemas.Appraisal:
    """One appraisal you may see (any other is a 404)."""
    return _appraisal(session, get_visible(session, user, appraisal_id), user)


def _appraisal(session: Session, app: AppraisalRecord, user: User) -> schemas.Appraisal:
    """An appraisal with its result and its employee's quarter and year, as far as the
    viewer may see them (decided by the services)."""
    doc = appraisal_doc(session, app, user)
    doc["aggregates"] = appraisal_aggregates(session, user=user, appraisal=app)
    return schemas.Appraisal.model_validate(doc)


@router.get("/aggregates")
def api_my_aggregates(session: SessionDep, user: UserDep) -> list[schemas.AggregateOut]:
    """Your own quarters and years, each as of your newest published month, newest first."""
    return [schemas.AggregateOut.model_validate(a) for a in my_aggregates(session, user=user)]


@router.get("/team")
def api_team(session: SessionDep, user: UserDep, period: str | None = None,
             team: str | None = None) -> schemas.TeamBoard:
    """The team board of a period (supervisors, managers and HR)."""
    if not is_staff(user):
        from kaohe.workflow.errors import NotFound

        raise NotFound("not found")
    return schemas.TeamBoard.model_validate(board_rows(session, user, period=period,
                                                       team=team))


@router.post("/appraisals/{appraisal_id}/transitions")
def api_transition(appraisal_id: RecordId, body: Transition, request: Request,
                   session: SessionDep, user: UserDep,
                   x_csrf_token: CsrfHeader = None) -> schemas.Appraisal:
    """Move the appraisal on (as the permission rules allow you)."""
    check_csrf(request, x_csrf_token)
    get_visible(session, user, appraisal_id)
    app = cycles.transition(session, appraisal_id=appraisal_id, trigger=body.action,
                            actor=actor(user), expected_version=body.version, note=body.note)
    return _appraisal(session, app, user)


@router.post("/appraisals/{appraisal_id}/appeals", status_code=201)
def api_appeal(appraisal_id: RecordId, body: AppealIn, request: Request, session: SessionDep,
               user: UserDep, x_csrf_token: CsrfHeader = None) -> schemas.AppealFiled:
    """Appeal your own published result, within the appeal window."""
    check_csrf(request, x_csrf_token)
    get_visible(session, user, appraisal_id)
    appeal = appeals.file_appeal(session, appraisal_id=appraisal_id, reason=body.reason,
                                 actor=actor(user))
    return schemas.AppealFiled(id=appeal.id, state=appeal.state.value,
                               accept_due=appeal.accept_due, resolve_due=appeal.resolve_due)


@router.post("/appraisals/{appraisal_id}/ratings")
def api_rate(appraisal_id: RecordId, body: RatingIn, request: Request, session: SessionDep,
             user: UserDep, x_csrf_token: CsrfHeader = None) -> schemas.RatingSaved:
    """Rate an input: only one the scheme declares as rated by ``role``, in the state that
    role rates in, never your own appraisal in another role (4xx otherwise)."""
    check_csrf(request, x_csrf_token)
    get_visible(session, user, appraisal_id)
    rating = cycles.rate(session, appraisal_id=appraisal_id, input_id=body.input_id,
                         value=body.value, actor=actor(user), role=body.role,
                         expected_version=body.version)
    if rating.rater_role == "peer":  # the tally of all peers' marks is nobody's to read
        return schemas.RatingSaved(input_id=rating.input_id, role="peer", value=body.value)
    return schemas.RatingSaved(input_id=rating.input_id, role=rating.rater_role,
                               value=rating.value)

