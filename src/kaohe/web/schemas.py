"""The JSON API's answers as typed models, so the OpenAPI document at ``/api/docs``
describes every field (the ORM models live in kaohe.store.models; these are what a client
reads). Numbers of a result are JSON numbers, exact to the fen as the engine gives them."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Number = int | float


class Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Problem(Out):
    """Why a request was refused (a record you may not see is a 404, never a 403)."""

    detail: str


class Me(Out):
    """Who is logged in, and the CSRF token to send with writes (``X-CSRF-Token``)."""

    username: str
    display_name: str
    roles: list[str]
    csrf: str


class ResultOut(Out):
    """An appraisal's current result: points per indicator and adjustment (they add up to
    the total, with ``limit`` for what the total's floor or cap changed), grade, rank, pay,
    and which inputs came from a rating or a decision."""

    period: str | None = None
    employee: str
    name: str | None = None
    team: str | None = None
    total: Number | None = None
    grade: str | None = None
    coefficient: Number | None = None
    rank: Number | None = None
    indicators: dict[str, Number | None] = Field(default_factory=dict)
    adjustments: dict[str, Number | None] = Field(
        default_factory=dict, description="adjustments such as 差评扣分, in points")
    limit: Number | None = Field(
        default=None, description="what the total's floor, cap or veto changed, in points")
    pay: dict[str, Number | None] = Field(default_factory=dict)
    sections: dict[str, Number | None] = Field(
        default_factory=dict, description="section id → points (小计), where the scheme has "
                                          "sections")
    flags: list[str] = Field(default_factory=list)
    excluded: bool = False
    reasons: dict[str, str] = Field(default_factory=dict)
    sources: dict[str, str] = Field(
        default_factory=dict,
        description="input column → where its counted value came from: rating:<role>, "
                    "incidents, appeal <id>: <reason>, correction: <reason>")


class AppraisalRow(Out):
    """One appraisal in a list (its result only once the viewer may see it)."""

    id: int
    period: str
    scheme: str
    code: str
    name: str
    team: str
    state: str
    result: ResultOut | None
    grade_label: str | None = None
    grade_rank: int | None = Field(default=None,
                                   description="the grade's place in the scheme's order")
    late: str | None = Field(default=None, description="on the team board: what is late")


class AggregateOut(Out):
    """A quarter or year result of the appraisal's employee (rulebook §5 ``aggregates``), as
    of the appraisal's month: what the months scored so far give, final once ``closes``."""

    scheme: str
    label: str = Field(description="the scheme's name for it, e.g. 季度个人奖")
    period: str = Field(description="2026-Q4 or 2026")
    kind: Literal["quarter", "year"]
    as_of: str = Field(description="the month (YYYY-MM) it is computed as of")
    closes: bool = Field(description="the month is the last of the quarter or year: its "
                                     "awards are paid with this month")
    employee: str
    name: str
    team: str
    score: Number | None = None
    grade: str | None = None
    rank: int | None = Field(default=None, description="within the team, where ranked")
    months: int = Field(description="monthly results counted")
    flags: list[str] = Field(default_factory=list)
    awards: dict[str, Number | None] = Field(
        default_factory=dict, description="award → amount paid (money)")
    values: dict[str, Number | None] = Field(
        default_factory=dict, description="outcomes that are not money (e.g. step_change, "
                                          "new_step, an unpaid award), zeros included")
    at: dt.datetime | None = Field(default=None, description="when it was computed")


class Appraisal(Out):
    id: int
    employee: str
    name: str
    team: str
    period: str
    scheme: str
    cycle: int
    state: str
    version: int
    appeal_due: dt.date | None
    feedback_due: dt.date | None
    result: ResultOut | None
    aggregates: list[AggregateOut] = Field(
        default_factory=list, description="the employee's quarter and year as of this month "
                                          "(none while the result is hidden from you)")


class TeamLine(Out):
    """One team of a period on the overview."""

    team: str
    scheme: str
    appraisals: int
    scored: int
    waiting: int
    mean: Number | None
    grades: dict[str, int] = Field(description="count per grade, in the scheme's order")


class TeamBoard(Out):
    period: str | None
    periods: list[str]
    team: str | None
    teams: list[str]
    rows: list[AppraisalRow]
    overview: list[TeamLine]


class AppealFiled(Out):
    id: int
    state: Literal["filed", "accepted", "rejected", "resolved"]
    accept_due: dt.date
    resolve_due: dt.date | None


class RatingSaved(Out):
    input_id: str
    role: str
    value: str
