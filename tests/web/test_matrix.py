"""The role × route matrix: every route of the web app, every role, the status it must answer.

Roles are a user and the record they aim at: an agent on their own appraisal, on a colleague's
of another team and of their own team; a supervisor on their team's and on another team's;
the manager, HR and an admin. The rules the table spells out:

* pages answer an anonymous visitor with a 303 to ``/login``, the API with 401;
* a record you may not see is a 404 — never a 403 — on pages and API alike, and the 404
  says nothing about the record; HR's pages are a 404 to everyone but HR (and admins);
* a POST without the session's CSRF token is a 403; with it, on a hidden record, a 404;
* a POST that is allowed succeeds: a 303 on pages, 200/201 on the API. Bodies are the ones
  each role would really send (after bringing the record into the state they act in), so a
  status is about access, not about validation. A 403 remains where the record is visible
  but the permission rules refuse the role (an agent recording incidents, HR filing an
  appeal, anyone but the team's supervisor rating 执行力, which the scheme declares as the
  supervisor's, an agent rating their own 执行力 or 销售额);
* the appraised agent sees no result before publication: their form and scorecard
  (xlsx, PDF) are a 404 while the shop's cycle is in self-review;
* an id in a URL outside 1..2**31-1 (or not a number) is a 422, one that does not exist a
  404 — never a 500;
* a peer's rating never shows who gave it.

A new route fails :func:`test_every_route_is_in_the_matrix` until it has a row here.

Speed: the shop (test_access.shop, plus an admin) is built once per module and copied per
case that writes; cases that only read share one database and one logged-in client per user.
The matrix exercises the web layer, so it always runs on SQLite files, also when the rest of
the suite runs against PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sqlite3
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from kaohe.store import migrate
from kaohe.store.db import Database
from kaohe.store.models import (
    Appeal,
    Appraisal,
    AuditEvent,
    Cycle,
    Employee,
    Incident,
    PeerBallot,
    Rating,
    User,
)
from kaohe.web.app import create_app
from kaohe.workflow import appeals, cycles, org
from kaohe.workflow.audit import Actor
from kaohe.workflow.passwords import hash_password

from ..store.factories import ADMIN, input_row, setup_org, write_inputs

SECRET = "matrix-secret"
PERIOD = "2026-10"
NOT_ROUTES = {"/static", "/api/docs", "/api/openapi.json", "/api/docs/oauth2-redirect"}

# -- who asks, about whose record -------------------------------------------------------------
#: role -> (username or None for anonymous, the employee whose records the role aims at)
ROLES: dict[str, tuple[str | None, str]] = {
    "anonymous": (None, "E001"),
    "agent_own": ("e1", "E001"),
    "agent_other_team": ("e1", "E002"),  # a colleague in 二组
    "agent_same_team": ("e1", "E003"),  # a colleague in 一组: still not theirs
    "sup_team_E001": ("sup1", "E001"),
    "sup_team_E003": ("sup1", "E003"),
    "sup_other_team": ("sup1", "E002"),
    "manager": ("boss", "E002"),
    "hr": ("hr", "E002"),
    "admin": ("admin", "E002"),
}
USERS = sorted({u for u, _ in ROLES.values() if u is not None})

#: what each user does on an appraisal, and the state it must be in for that
ACTION = {"e1": "submit_self_review", "sup1": "submit_supervisor_review",
          "boss": "approve_second_review", "hr": "submit_self_review",
          "admin": "submit_self_review"}
ACTION_STATE = {"sup1": "supervisor_review", "boss": "second_review"}
#: the role each user would claim when rating 执行力 (the scheme's `rater: supervisor`)
RATER = {"e1": "self", "boss": "manager"}  # everyone else rates as supervisor
RATE_STATE = {"sup1": "supervisor_review"}  # the supervisor rates in the supervisor review


@dataclass
class Ctx:
    """Real ids and inputs from one database."""

    aid: dict[str, int]  # employee code -> appraisal id of PERIOD
    names: dict[str, str]  # employee code -> name
    cycle: int
    scheme: str
    sheet: bytes
    appeal: int | None = None
    upload: str | None = None
    user_id: int = 0  # the user an admin manages (e2's)
    incident: int | None = None


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as declared by the app
    url: str = ""  # to call: {aid} the target's appraisal, {cid} the cycle, {appeal}
    body: Callable[[str | None, Ctx], dict[str, Any]] | None = None
    api: bool = False
    upload: bool = False
    #: the state to bring the database into first (by user); "upload" stages a sheet
    prep: Callable[[str | None], str | None] = field(default=lambda _user: None)
    writes: bool = False  # a success changes the database (run on a copy)
    own_client: bool = False  # a success changes the session (login, logout)
    done: str = ""  # where a successful POST redirects (a regex, formatted like url)

    def target_url(self, ctx: Ctx, code: str, *, record: object = None) -> str:
        url = self.url or self.path
        ids = {"aid": ctx.aid[code], "cid": ctx.cycle, "appeal": ctx.appeal or 1,
               "uid": ctx.user_id,
               "inc": ctx.incident or 1, "up": ctx.upload or "x" * 22, "code": code}
        if record is not None:
            ids = dict.fromkeys(ids, record)
        return url.format(**ids)


def _always(state: str) -> Callable[[str | None], str | None]:
    return lambda _user: state


def _action(user: str | None) -> str | None:
    return ACTION_STATE.get(user or "")


def _rate_state(user: str | None) -> str | None:
    return RATE_STATE.get(user or "")


def _incident_state(user: str | None) -> str | None:
    return "incident" if user in ("sup1", "hr", "admin") else None


def _hr_upload(user: str | None) -> str | None:
    return "upload" if user in ("hr", "admin") else None


def _form_action(user: str | None, _ctx: Ctx) -> dict[str, Any]:
    return {"action": ACTION.get(user or "", "submit_self_review"), "note": "本月完成目标"}


def _rating(user: str | None, _ctx: Ctx) -> dict[str, Any]:
    return {"input_id": "execution", "value": "非常满意", "role": RATER.get(user or "", "supervisor")}


def _fixed(**body: Any) -> Callable[[str | None, Ctx], dict[str, Any]]:
    return lambda _user, _ctx: dict(body)


R = "redirect"  # 303 to the route's `done`
L = "login"  # 303 to /login

# -- the routes --------------------------------------------------------------------------------
ROUTES: list[Route] = [
    Route("GET", "/login"),
    Route("POST", "/login", body=lambda user, _c: {"username": user or "e1", "password": "pw"},
          own_client=True, writes=True, done="/"),
    Route("POST", "/logout", own_client=True, writes=True, done="/login"),
    Route("GET", "/account"),
    Route("POST", "/account/password",
          body=_fixed(current="pw", new="new-password", confirm="new-password"),
          writes=True, done="/account"),
    Route("GET", "/admin/users"),
    Route("POST", "/admin/users/{user_id}/password", "/admin/users/{uid}/password",
          body=_fixed(password="new-password"), writes=True, done="/admin/users"),
    Route("POST", "/admin/users/{user_id}/active", "/admin/users/{uid}/active",
          body=_fixed(active="false"), writes=True, done="/admin/users"),
    Route("POST", "/admin/users/{user_id}/sessions", "/admin/users/{uid}/sessions",
          writes=True, done="/admin/users"),
    Route("GET", "/people"),
    Route("POST", "/people/users",
          body=_fixed(username="new.agent", name="新人", roles="agent"), writes=True),
    Route("POST", "/people/users/{user_id}/password", "/people/users/{uid}/password",
          writes=True),
    Route("POST", "/people/users/{user_id}/active", "/people/users/{uid}/active",
          body=_fixed(active="false"), writes=True, done="/people"),
    Route("POST", "/people/users/{user_id}/roles", "/people/users/{uid}/roles",
          body=_fixed(roles=["agent", "supervisor"]), writes=True, done="/people"),
    Route("POST", "/people/users/{user_id}/teams", "/people/users/{uid}/teams",
          writes=True, done="/people"),
    Route("POST", "/people/users/{user_id}/employee", "/people/users/{uid}/employee",
          body=_fixed(employee="E002"), writes=True, done="/people"),
    Route("POST", "/people/org", upload=True),
    Route("POST", "/people/org/confirm", body=_fixed(token="x" * 22)),
    Route("GET", "/", done="/{home}"),
    Route("GET", "/me"),
    Route("GET", "/team"),
    Route("GET", "/team/results"),
    Route("GET", "/appraisals/{appraisal_id}", "/appraisals/{aid}"),
    Route("POST", "/appraisals/{appraisal_id}/action", "/appraisals/{aid}/action",
          body=_form_action, prep=_action, writes=True, done="/appraisals/{aid}"),
    Route("POST", "/appraisals/{appraisal_id}/appeal", "/appraisals/{aid}/appeal",
          body=_fixed(reason="执行力评级有误"), prep=_always("published"), writes=True,
          done="/appraisals/{aid}#appeals"),
    Route("POST", "/appraisals/{appraisal_id}/rate", "/appraisals/{aid}/rate", body=_rating,
          prep=_rate_state, writes=True, done="/appraisals/{aid}#rate-execution-.*"),
    Route("POST", "/appraisals/{appraisal_id}/incident", "/appraisals/{aid}/incident",
          body=_fixed(input_id="bad_reviews", date="2026-10-15", count="1", note="差评一次"),
          writes=True, done="/appraisals/{aid}#incidents"),
    Route("POST", "/appraisals/{appraisal_id}/incidents/{incident_id}/correct",
          "/appraisals/{aid}/incidents/{inc}/correct",
          body=_fixed(date="2026-10-16", count="2", note="差评两次", reason="漏记一单"),
          prep=_incident_state, writes=True, done="/appraisals/{aid}#incidents"),
    Route("POST", "/appraisals/{appraisal_id}/incidents/{incident_id}/remove",
          "/appraisals/{aid}/incidents/{inc}/remove", body=_fixed(reason="差评已撤销"),
          prep=_incident_state, writes=True, done="/appraisals/{aid}#incidents"),
    Route("POST", "/appraisals/{appraisal_id}/feedback", "/appraisals/{aid}/feedback",
          body=_fixed(held_on="2026-11-20", notes="回复速度需提升"), writes=True,
          prep=_always("published"), done="/appraisals/{aid}#feedback"),
    Route("GET", "/cycles/{cycle_id}/grid", "/cycles/{cid}/grid"),
    Route("POST", "/cycles/{cycle_id}/grid/rate/{appraisal_id}", "/cycles/{cid}/grid/rate/{aid}",
          body=_rating, prep=_rate_state, writes=True),
    Route("GET", "/appraisals/{appraisal_id}/form.xlsx", "/appraisals/{aid}/form.xlsx"),
    Route("GET", "/appraisals/{appraisal_id}/scorecard.pdf", "/appraisals/{aid}/scorecard.pdf"),
    Route("GET", "/hr/cycles"),
    Route("POST", "/hr/cycles", body=_fixed(scheme="taobao-presales", period="2026-11"),
          writes=True, done=r"/hr/cycles/\d+"),
    Route("GET", "/hr/cycles/{cycle_id}", "/hr/cycles/{cid}"),
    Route("POST", "/hr/cycles/{cycle_id}/step/{step}", "/hr/cycles/{cid}/step/score",
          writes=True, done="/hr/cycles/{cid}"),
    Route("POST", "/hr/cycles/{cycle_id}/inputs", "/hr/cycles/{cid}/inputs", upload=True),
    Route("GET", "/hr/cycles/{cycle_id}/export", "/hr/cycles/{cid}/export"),
    # item tables: the shop's scheme has none, so HR's upload of one is a 404 too
    Route("GET", "/hr/cycles/{cycle_id}/items", "/hr/cycles/{cid}/items"),
    Route("POST", "/hr/cycles/{cycle_id}/items/{table}", "/hr/cycles/{cid}/items/late_payments",
          upload=True),
    Route("POST", "/hr/cycles/{cycle_id}/items/{table}/confirm",
          "/hr/cycles/{cid}/items/late_payments/confirm",
          body=lambda _u, _ctx: {"token": "x" * 22}),
    Route("POST", "/hr/cycles/{cycle_id}/export", "/hr/cycles/{cid}/export", upload=True,
          body=_fixed(platform="generic")),
    Route("POST", "/hr/cycles/{cycle_id}/inputs/confirm", "/hr/cycles/{cid}/inputs/confirm",
          body=lambda _u, ctx: {"token": ctx.upload or "x" * 22}, prep=_hr_upload,
          writes=True, done="/hr/cycles/{cid}"),
    Route("GET", "/hr/cycles/{cycle_id}/payroll.xlsx", "/hr/cycles/{cid}/payroll.xlsx",
          prep=_always("published")),
    Route("GET", "/hr/cycles/{cycle_id}/template.xlsx", "/hr/cycles/{cid}/template.xlsx"),
    Route("GET", "/hr/cycles/{cycle_id}/inputs/preview",
          "/hr/cycles/{cid}/inputs/preview?token={up}&page=1", prep=_hr_upload),
    Route("GET", "/team/months"),
    Route("GET", "/team/people/{code}", "/team/people/{code}"),
    Route("GET", "/team/export.xlsx"),
    Route("GET", "/hr/cycles/{cycle_id}/forms.zip", "/hr/cycles/{cid}/forms.zip"),
    Route("GET", "/hr/cycles/{cycle_id}/scheme", "/hr/cycles/{cid}/scheme"),
    Route("POST", "/hr/cycles/{cycle_id}/what-if", "/hr/cycles/{cid}/what-if",
          body=lambda _u, ctx: {"content": ctx.scheme}),
    Route("POST", "/hr/cycles/{cycle_id}/scheme", "/hr/cycles/{cid}/scheme",
          body=lambda _u, ctx: {"content": ctx.scheme.replace("max_total", "# saved\nmax_total",
                                                              1)},
          writes=True, done="/hr/cycles"),
    Route("POST", "/hr/reminders", body=_fixed(), writes=True, done="/hr/cycles#reminders"),
    Route("POST", "/me/reminders", body=_fixed(remind="1"), writes=True, done="/me#reminders"),
    Route("GET", "/hr/appeals"),
    Route("POST", "/hr/appeals/{appeal_id}/decide", "/hr/appeals/{appeal}/decide",
          body=_fixed(decision="accept", note="受理"), prep=_always("appeal_filed"),
          writes=True, done="/hr/appeals"),
    Route("POST", "/hr/appeals/{appeal_id}/resolve", "/hr/appeals/{appeal}/resolve",
          body=_fixed(resolution="复核后调整", changes="execution=比较满意"),
          prep=_always("appeal_accepted"), writes=True, done="/hr/appeals"),
    # the guided cycle and the appeal desk (web-cycle)
    Route("GET", "/hr/cycles/{cycle_id}/precheck", "/hr/cycles/{cid}/precheck"),
    Route("GET", "/hr/cycles/{cycle_id}/confirm/{step}",
          "/hr/cycles/{cid}/confirm/submit_self_review"),
    Route("POST", "/hr/cycles/{cycle_id}/undo/{event_id}", "/hr/cycles/{cid}/undo/1",
          done=r"/hr/cycles/{cid}/confirm/undo\?event=1"),  # unconfirmed: asks first
    Route("POST", "/hr/appeals/{appeal_id}/preview", "/hr/appeals/{appeal}/preview",
          body=_fixed(input_id="execution", value="一般", resolution="复核后调整"),
          prep=_always("appeal_accepted")),
    Route("GET", "/appeals/{appeal_id}/evidence", "/appeals/{appeal}/evidence",
          prep=_always("appeal_filed")),
    Route("POST", "/appeals/{appeal_id}/evidence", "/appeals/{appeal}/evidence", upload=True,
          prep=_always("appeal_filed"), writes=True, done=r"/appeals/\d+/evidence"),
    Route("GET", "/appeals/{appeal_id}/evidence/{evidence_id}", "/appeals/{appeal}/evidence/1",
          prep=_always("appeal_evidence")),
    Route("GET", "/appraisals/{appraisal_id}/confirm/acknowledge",
          "/appraisals/{aid}/confirm/acknowledge", prep=_always("published")),
    Route("GET", "/api/me", api=True),
    Route("GET", "/api/appraisals", api=True),
    Route("GET", "/api/appraisals/{appraisal_id}", "/api/appraisals/{aid}", api=True),
    Route("GET", "/api/team", api=True),
    Route("GET", "/api/aggregates", api=True),
    Route("POST", "/api/appraisals/{appraisal_id}/transitions",
          "/api/appraisals/{aid}/transitions", api=True, prep=_action, writes=True,
          body=_form_action),
    Route("POST", "/api/appraisals/{appraisal_id}/appeals", "/api/appraisals/{aid}/appeals",
          api=True, body=_fixed(reason="执行力评级有误"), prep=_always("published"), writes=True),
    Route("POST", "/api/appraisals/{appraisal_id}/ratings", "/api/appraisals/{aid}/ratings",
          api=True, body=_rating, prep=_rate_state, writes=True),
]
ROUTE = {(r.method, r.path): r for r in ROUTES}

# -- the matrix --------------------------------------------------------------------------------
# columns, as ROLES: anonymous, agent_own, agent_other_team, agent_same_team, sup_team_E001,
#                   sup_team_E003, sup_other_team, manager, hr, admin
MATRIX: dict[tuple[str, str], tuple[int | str, ...]] = {
    # pages for everyone
    ("GET", "/login"): (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/login"): (R, R, R, R, R, R, R, R, R, R),
    ("POST", "/logout"): (R, R, R, R, R, R, R, R, R, R),
    ("GET", "/"): (L, R, R, R, R, R, R, R, R, R),
    ("GET", "/me"): (L, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    # one's own account; the admin's user page (not there for anyone else, HR included)
    ("GET", "/account"): (L, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/account/password"): (L, R, R, R, R, R, R, R, R, R),
    ("GET", "/admin/users"): (L, 404, 404, 404, 404, 404, 404, 404, 404, 200),
    ("POST", "/admin/users/{user_id}/password"): (L, 404, 404, 404, 404, 404, 404, 404, 404, R),
    ("POST", "/admin/users/{user_id}/active"): (L, 404, 404, 404, 404, 404, 404, 404, 404, R),
    ("POST", "/admin/users/{user_id}/sessions"): (L, 404, 404, 404, 404, 404, 404, 404, 404, R),
    # people and accounts: HR and admins (an input sheet is no address book: 422; a
    # confirmation without a staged upload: 404)
    ("GET", "/people"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("POST", "/people/users"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("POST", "/people/users/{user_id}/password"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("POST", "/people/users/{user_id}/active"): (L, 404, 404, 404, 404, 404, 404, 404, R, R),
    ("POST", "/people/users/{user_id}/roles"): (L, 404, 404, 404, 404, 404, 404, 404, R, R),
    ("POST", "/people/users/{user_id}/teams"): (L, 404, 404, 404, 404, 404, 404, 404, R, R),
    ("POST", "/people/users/{user_id}/employee"): (L, 404, 404, 404, 404, 404, 404, 404, R, R),
    ("POST", "/people/org"): (L, 404, 404, 404, 404, 404, 404, 404, 422, 422),
    ("POST", "/people/org/confirm"): (L, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    ("GET", "/team"): (L, 404, 404, 404, 200, 200, 200, 200, 200, 200),
    ("GET", "/team/results"): (L, 404, 404, 404, 200, 200, 200, 200, 200, 200),
    # one appraisal
    ("GET", "/appraisals/{appraisal_id}"): (L, 200, 404, 404, 200, 200, 404, 200, 200, 200),
    ("POST", "/appraisals/{appraisal_id}/action"): (L, R, 404, 404, R, R, 404, R, R, R),
    ("POST", "/appraisals/{appraisal_id}/appeal"): (L, R, 404, 404, 403, 403, 404, 403, 403, 403),
    ("POST", "/appraisals/{appraisal_id}/rate"): (L, 403, 404, 404, R, R, 404, 403, 403, 403),
    # the rating grid of a team (staff); a cell is saved as the per-agent form saves it
    ("GET", "/cycles/{cycle_id}/grid"): (L, 404, 404, 404, 200, 200, 200, 200, 200, 200),
    ("POST", "/cycles/{cycle_id}/grid/rate/{appraisal_id}"): (L, 403, 404, 404, 200, 200, 404, 403, 403, 403),
    ("POST", "/appraisals/{appraisal_id}/incident"): (L, 403, 404, 404, R, R, 404, 403, R, R),
    ("POST", "/appraisals/{appraisal_id}/incidents/{incident_id}/correct"): (L, 403, 404, 404, R, R, 404, 403, R, R),
    ("POST", "/appraisals/{appraisal_id}/incidents/{incident_id}/remove"): (L, 403, 404, 404, R, R, 404, 403, R, R),
    ("POST", "/appraisals/{appraisal_id}/feedback"): (L, 403, 404, 404, R, R, 404, 403, R, R),
    ("GET", "/appraisals/{appraisal_id}/form.xlsx"): (L, 404, 404, 404, 200, 200, 404, 200, 200, 200),
    ("GET", "/appraisals/{appraisal_id}/scorecard.pdf"): (L, 404, 404, 404, 200, 200, 404, 200, 200, 200),
    # HR's console: not there for anyone else
    ("GET", "/hr/cycles"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("POST", "/hr/cycles"): (L, 404, 404, 404, 404, 404, 404, 404, R, R),
    ("GET", "/hr/cycles/{cycle_id}"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("POST", "/hr/cycles/{cycle_id}/step/{step}"): (L, 404, 404, 404, 404, 404, 404, 404, R, R),
    ("POST", "/hr/cycles/{cycle_id}/inputs"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("GET", "/hr/cycles/{cycle_id}/export"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("GET", "/hr/cycles/{cycle_id}/items"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("POST", "/hr/cycles/{cycle_id}/items/{table}"): (L, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    ("POST", "/hr/cycles/{cycle_id}/items/{table}/confirm"): (L, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    ("POST", "/hr/cycles/{cycle_id}/export"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("POST", "/hr/cycles/{cycle_id}/inputs/confirm"): (L, 404, 404, 404, 404, 404, 404, 404, R, R),
    ("GET", "/hr/cycles/{cycle_id}/payroll.xlsx"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("GET", "/hr/cycles/{cycle_id}/template.xlsx"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("GET", "/hr/cycles/{cycle_id}/inputs/preview"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    # the board's team and year views and its tables as xlsx (an agent: their own year only)
    ("GET", "/team/months"): (L, 404, 404, 404, 200, 200, 200, 200, 200, 200),
    ("GET", "/team/people/{code}"): (L, 200, 404, 404, 200, 200, 404, 200, 200, 200),
    ("GET", "/team/export.xlsx"): (L, 404, 404, 404, 200, 200, 200, 200, 200, 200),
    ("GET", "/hr/cycles/{cycle_id}/forms.zip"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("GET", "/hr/cycles/{cycle_id}/scheme"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("POST", "/hr/cycles/{cycle_id}/what-if"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("POST", "/hr/cycles/{cycle_id}/scheme"): (L, 404, 404, 404, 404, 404, 404, 404, R, R),
    ("POST", "/hr/reminders"): (L, 404, 404, 404, 404, 404, 404, 404, R, R),
    ("POST", "/me/reminders"): (L, R, R, R, R, R, R, R, R, R),
    ("GET", "/hr/appeals"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("POST", "/hr/appeals/{appeal_id}/decide"): (L, 404, 404, 404, 404, 404, 404, 404, R, R),
    ("POST", "/hr/appeals/{appeal_id}/resolve"): (L, 404, 404, 404, 404, 404, 404, 404, R, R),
    # the guided cycle and the appeal desk: HR's; evidence for the appellant and HR only
    ("GET", "/hr/cycles/{cycle_id}/precheck"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("GET", "/hr/cycles/{cycle_id}/confirm/{step}"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("POST", "/hr/cycles/{cycle_id}/undo/{event_id}"): (L, 404, 404, 404, 404, 404, 404, 404, R, R),
    ("POST", "/hr/appeals/{appeal_id}/preview"): (L, 404, 404, 404, 404, 404, 404, 404, 200, 200),
    ("GET", "/appeals/{appeal_id}/evidence"): (L, 200, 200, 200, 403, 403, 403, 403, 200, 200),
    ("POST", "/appeals/{appeal_id}/evidence"): (L, R, R, R, 403, 403, 403, 403, 403, 403),
    ("GET", "/appeals/{appeal_id}/evidence/{evidence_id}"): (L, 200, 200, 200, 403, 403, 403, 403, 200, 200),
    ("GET", "/appraisals/{appraisal_id}/confirm/acknowledge"): (L, 200, 404, 404, 403, 403, 404, 403, 403, 403),
    # the JSON API
    ("GET", "/api/me"): (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/appraisals"): (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/appraisals/{appraisal_id}"): (401, 200, 404, 404, 200, 200, 404, 200, 200, 200),
    ("GET", "/api/team"): (401, 404, 404, 404, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/aggregates"): (401, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/appraisals/{appraisal_id}/transitions"): (401, 200, 404, 404, 200, 200, 404, 200, 200, 200),
    ("POST", "/api/appraisals/{appraisal_id}/appeals"): (401, 201, 404, 404, 403, 403, 404, 403, 403, 403),
    ("POST", "/api/appraisals/{appraisal_id}/ratings"): (401, 403, 404, 404, 200, 200, 404, 403, 403, 403),
}

CASES = [(key, role, expected) for key, row in MATRIX.items()
         for role, expected in zip(ROLES, row, strict=True)]
ID_ROUTES = [r for r in ROUTES if "_id}" in r.path]
BAD_IDS = ["0", "-1", str(2**31), "abc"]


# -- building and copying the shop -------------------------------------------------------------
def build_shop(db: Database, folder: Path) -> None:
    """test_access.shop (one password hash shared by all users), plus an admin."""
    setup_org(db, folder)
    password = hash_password("pw")
    with db.transaction() as s:
        org.create_user(s, username="admin", roles=["admin"], actor=ADMIN)
        for u in s.scalars(select(User)):
            u.password_hash = password
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period=PERIOD, actor=ADMIN).id
    rows = [input_row(f"E{i:03d}", PERIOD) for i in range(1, 7)]
    with db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=write_inputs(folder / "i.csv", rows),
                             actor=ADMIN)
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)


def copy_of(template: Path, folder: Path) -> Database:
    dest = folder / f"kaohe-{uuid.uuid4().hex[:8]}.db"
    src, dst = sqlite3.connect(template), sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return Database(f"sqlite:///{dest}")


def context(db: Database, sheet: bytes) -> Ctx:
    with db.read() as s:
        rows = s.execute(select(Employee.code, Employee.name, Appraisal.id).join(Appraisal)
                         .join(Cycle).where(Cycle.period == PERIOD)).all()
        cycle = s.scalars(select(Cycle).where(Cycle.period == PERIOD)).one()
        return Ctx(aid={c: i for c, _, i in rows}, names={c: n for c, n, _ in rows},
                   cycle=cycle.id, scheme=cycle.scheme_version.content, sheet=sheet,
                   appeal=s.scalar(select(Appeal.id).order_by(Appeal.id)),
                   user_id=s.scalars(select(User.id).where(User.username == "e2")).one(),
                   incident=s.scalar(select(Incident.id).order_by(Incident.id)))


def user_actor(db: Database, username: str) -> Actor:
    with db.read() as s:
        u = s.scalars(select(User).where(User.username == username)).one()
        return Actor(u.username, tuple(u.roles), u.id)


def prepare(db: Database, state: str, ctx: Ctx, code: str) -> None:
    """Bring the database into the state a role acts in (as the admin, or as e1)."""
    if state == "incident":
        with db.transaction() as s:
            cycles.add_incident(s, appraisal_id=ctx.aid[code], input_id="bad_reviews",
                                date=dt.date(2026, 10, 15), count=Decimal(1), note="差评一次",
                                actor=ADMIN)
        return
    with db.transaction() as s:
        if state in ("supervisor_review", "second_review"):
            cycles.transition(s, appraisal_id=ctx.aid[code], trigger="submit_self_review",
                              actor=ADMIN)
            if state == "second_review":
                cycles.transition(s, appraisal_id=ctx.aid[code],
                                  trigger="submit_supervisor_review", actor=ADMIN)
            return
        for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=ctx.cycle, trigger=step, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=ctx.cycle, trigger="approve", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=ctx.cycle, trigger="publish", actor=ADMIN)
    if state == "published":
        return
    with db.transaction() as s:
        appeal = appeals.file_appeal(s, appraisal_id=ctx.aid["E001"], reason="执行力评级有误",
                                     actor=user_actor(db, "e1"))
        if state == "appeal_accepted":
            appeals.decide_appeal(s, appeal_id=appeal.id, accept=True, note="受理", actor=ADMIN)
        if state == "appeal_evidence":
            from kaohe.workflow import evidence

            evidence.attach(s, appeal_id=appeal.id, filename="聊天截图.png",
                            data=b"\x89PNG\r\n\x1a\n" + bytes(16), actor=user_actor(db, "e1"))


def login(client: TestClient, user: str) -> None:
    m = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert m
    r = client.post("/login", data={"username": user, "password": "pw", "csrf": m.group(1)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


def audit_events(db: Database) -> int:
    with db.read() as s:
        return len(s.scalars(select(AuditEvent.id)).all())


def csrf_of(client: TestClient, user: str | None) -> str:
    if user is None:
        m = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert m
        return m.group(1)
    return str(client.get("/api/me").json()["csrf"])


@dataclass
class Shared:
    """One database and one logged-in client per user, for every case that only reads."""

    db: Database
    ctx: Ctx
    clients: dict[str | None, TestClient]
    csrf: dict[str | None, str]
    template: Path
    folder: Path


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    folder = tmp_path_factory.mktemp("matrix")
    template = folder / "template.db"
    db = Database(f"sqlite:///{template}")
    migrate.upgrade(db)
    build_shop(db, folder)
    # every user logs in once on the template, so each copy of it holds their sessions
    cookies: dict[str, str] = {}
    with TestClient(create_app(db, secret=SECRET)) as first:
        for user in USERS:
            first.cookies.clear()
            login(first, user)
            cookies[user] = first.cookies["kaohe_session"]
    db.dispose()
    sheet = write_inputs(folder / "upload.csv",
                         [input_row(f"E{i:03d}", PERIOD, sales=str(100000 + i))
                          for i in range(1, 7)]).read_bytes()
    db = copy_of(template, folder)
    app = create_app(db, secret=SECRET)
    app.state.uploads = folder / "uploads"  # staged sheets stay in this module's tmp folder
    with ExitStack() as stack:
        clients: dict[str | None, TestClient] = {}
        for user in [None, *USERS]:
            client = stack.enter_context(TestClient(app, raise_server_exceptions=False))
            if user is not None:
                # as the login's answer would have set it (one cookie, replaced when it changes)
                client.cookies.set("kaohe_session", cookies[user], domain="testserver.local")
            clients[user] = client
        yield Shared(db, context(db, sheet), clients,
                     {u: csrf_of(c, u) for u, c in clients.items()}, template, folder)
    db.dispose()


@dataclass
class Run:
    client: TestClient
    ctx: Ctx
    csrf: str
    db: Database


@pytest.fixture
def runner(shared: Shared) -> Iterator[Callable[..., Run]]:
    """Hands out the shared client, or a fresh one (on a fresh copy of the shop when the case
    writes), logged in with the shared client's session cookie."""
    stack = ExitStack()

    def run(user: str | None, code: str, *, state: str | None, copy: bool,
            own_client: bool) -> Run:
        if not (copy or own_client):
            return Run(shared.clients[user], shared.ctx, shared.csrf[user], shared.db)
        db = copy_of(shared.template, shared.folder) if copy else shared.db
        if copy:
            stack.callback(db.dispose)
            if state not in (None, "upload"):
                prepare(db, state, context(db, shared.ctx.sheet), code)
        ctx = context(db, shared.ctx.sheet) if copy else shared.ctx
        app = create_app(db, secret=SECRET)
        app.state.uploads = shared.folder / "uploads"
        client = stack.enter_context(TestClient(app, raise_server_exceptions=False))
        if user is not None:
            client.cookies.set("kaohe_session", shared.clients[user].cookies["kaohe_session"])
        csrf = csrf_of(client, user)
        if state == "upload":  # stage a valid sheet in this session, as HR would
            r = client.post(f"/hr/cycles/{ctx.cycle}/inputs", data={"csrf": csrf},
                            files={"file": ("2026-10.csv", ctx.sheet, "text/csv")})
            m = re.search(r'name="token" value="([^"]+)"', r.text)
            assert r.status_code == 200 and m, r.text[:500]
            ctx.upload = m.group(1)
        return Run(client, ctx, csrf, db)

    yield run
    stack.close()


def send(run: Run, route: Route, user: str | None, code: str, *, csrf: bool = True,
         record: object = None) -> httpx.Response:
    url = route.target_url(run.ctx, code, record=record)
    if route.method == "GET":
        return run.client.get(url, follow_redirects=False)
    body = route.body(user, run.ctx) if route.body else {}
    if route.api:
        headers = {"X-CSRF-Token": run.csrf} if csrf else {}
        return run.client.post(url, json=body, headers=headers, follow_redirects=False)
    data = {**body, **({"csrf": run.csrf} if csrf else {})}
    files = {"file": ("2026-10.csv", run.ctx.sheet, "text/csv")} if route.upload else None
    return run.client.post(url, data=data, files=files, follow_redirects=False)


def _success(route: Route, expected: int | str) -> bool:
    return expected == R or (route.method == "POST" and expected in (200, 201))


def check(r: httpx.Response, route: Route, user: str | None, code: str, ctx: Ctx,
          expected: int | str) -> None:
    where = f"{route.method} {route.path} as {user or 'anonymous'} on {code}"
    status = 303 if expected in (R, L) else expected
    assert r.status_code == status, f"{where}: {r.status_code}, not {status}: {r.text[:300]}"
    location = r.headers.get("location", "")
    if expected == L:
        assert location == "/login", where
    elif expected == R:
        home = "me" if user == "e1" else "team"
        want = route.done.format(aid=ctx.aid[code], cid=ctx.cycle, home=home)
        assert re.fullmatch(want, location), f"{where}: redirected to {location!r}"
    elif expected == 404 and "{aid}" in route.url and user is not None and (user, code) != (
            "e1", "E001"):  # (their own, not yet published, is no secret to e1)
        # a hidden record's 404 tells nothing about it
        assert code not in r.text and ctx.names[code] not in r.text, where


# -- the tests ---------------------------------------------------------------------------------
def declared_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every APIRoute, also on FastAPI versions that keep included routers
    as one entry of ``app.routes``."""
    try:
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined]
    except ImportError:
        pairs: list[tuple[Any, Any]] = [(r, r) for r in app.routes]
    else:
        pairs = [(c.original_route, c) for c in iter_route_contexts(app.routes)]
    out: set[tuple[str, str]] = set()
    for original, route in pairs:
        if isinstance(original, APIRoute) and route.path not in NOT_ROUTES:
            out |= {(m, route.path) for m in route.methods if m != "HEAD"}
    return out


def test_every_route_is_in_the_matrix(tmp_path: Path) -> None:
    app = create_app(Database(f"sqlite:///{tmp_path / 'empty.db'}"), secret=SECRET)
    declared = declared_routes(app)
    assert len(declared) > 30
    missing = sorted(declared - set(MATRIX))
    stale = sorted(set(MATRIX) - declared)
    assert not missing, f"routes without a row in MATRIX (and ROUTES): {missing}"
    assert not stale, f"rows in MATRIX for routes the app no longer has: {stale}"
    assert set(ROUTE) == set(MATRIX)


@pytest.mark.parametrize(("key", "role", "expected"), CASES,
                         ids=[f"{m} {p} | {role}" for (m, p), role, _ in CASES])
def test_matrix(runner: Callable[..., Run], key: tuple[str, str], role: str,
                expected: int | str) -> None:
    route = ROUTE[key]
    user, code = ROLES[role]
    state = route.prep(user)
    run = runner(user, code, state=state, own_client=route.own_client,
                 copy=state is not None or (route.writes and _success(route, expected)))
    check(send(run, route, user, code), route, user, code, run.ctx, expected)


POSTS = [(key, role, expected) for key, role, expected in CASES if key[0] == "POST"]


@pytest.mark.parametrize(("key", "role", "with_token"), POSTS,
                         ids=[f"{m} {p} | {role}" for (m, p), role, _ in POSTS])
def test_posts_without_the_csrf_token_are_refused(runner: Callable[..., Run], shared: Shared,
                                                  key: tuple[str, str], role: str,
                                                  with_token: int | str) -> None:
    """403 before anything else is looked at (anonymous: first the login)."""
    route = ROUTE[key]
    user, code = ROLES[role]
    state = route.prep(user)
    run = runner(user, code, state=state, own_client=route.own_client,
                 copy=state is not None or (route.writes and _success(route, with_token)))
    if user is None and not route.own_client:
        expected: int | str = 401 if route.api else L
    else:
        expected = 403
    before = audit_events(run.db)
    r = send(run, route, user, code, csrf=False)
    check(r, route, user, code, run.ctx, expected)
    assert audit_events(run.db) == before, "a refused POST wrote to the audit log"


@pytest.mark.parametrize("user", [None, "e1", "hr"], ids=["anonymous", "agent", "hr"])
@pytest.mark.parametrize("route", ID_ROUTES, ids=[f"{r.method} {r.path}" for r in ID_ROUTES])
def test_ids_out_of_range_are_422(shared: Shared, route: Route, user: str | None) -> None:
    """Validation comes before any lookup (after the login), for HR's routes too."""
    run = Run(shared.clients[user], shared.ctx, shared.csrf[user], shared.db)
    for bad in BAD_IDS:
        r = send(run, route, user, "E001", record=bad)
        if user is None:
            check(r, route, user, "E001", run.ctx, 401 if route.api else L)
            continue
        assert r.status_code == 422, (route.path, bad, r.status_code, r.text[:300])
        if route.api:
            assert r.json()["detail"], (route.path, bad)


@pytest.mark.parametrize("route", ID_ROUTES, ids=[f"{r.method} {r.path}" for r in ID_ROUTES])
def test_ids_that_do_not_exist_are_404(shared: Shared, route: Route) -> None:
    run = Run(shared.clients["hr"], shared.ctx, shared.csrf["hr"], shared.db)
    r = send(run, route, "hr", "E001", record=2**31 - 1)
    assert r.status_code == 404, (route.path, r.status_code, r.text[:300])


def test_what_if_fragment_for_a_cycle_that_does_not_exist_is_404(shared: Shared) -> None:
    hr = shared.clients["hr"]
    r = hr.post(f"/hr/cycles/{2**31 - 1}/what-if", headers={"HX-Request": "true"},
                data={"csrf": shared.csrf["hr"], "content": shared.ctx.scheme})
    assert r.status_code == 404, (r.status_code, r.text[:300])


# -- the anonymous peer rating -------------------------------------------------------------------
def _text(r: httpx.Response) -> str:
    kind = r.headers.get("content-type", "")
    if "pdf" in kind:
        from pypdf import PdfReader

        return "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    if "spreadsheet" in kind:
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(r.content))
        return " ".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                        for v in row if v is not None)
    if "zip" in kind:
        return " ".join(zipfile.ZipFile(io.BytesIO(r.content)).namelist())
    return r.text


PEER_SCHEME = """
id: peer-test
name: 同事评分
inputs:
  teamwork: {label: 团队协作, type: score, min: 0, max: 100, raters: [supervisor, peer]}
indicators:
  - {id: teamwork, label: 团队协作, rated: {raters: {supervisor: 60%, peer: 40%}}}
"""


def test_a_peer_rating_never_names_the_peer(shared: Shared) -> None:
    """e3 rates E001's 团队协作 (a scheme that declares peers as raters); after
    publication nobody, E001 included, can tell from any page who it was."""
    db = copy_of(shared.template, shared.folder)
    src = shared.folder / "peer.yaml"
    src.write_text(PEER_SCHEME, encoding="utf-8")
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref=str(src), period="2026-11", actor=ADMIN).id
        aid = dict(s.execute(select(Employee.code, Appraisal.id).join(Appraisal)
                             .where(Appraisal.cycle_id == cid)).all())
    a1 = aid["E001"]
    for code, rater in [("E001", "e3")] + [(c, "e1") for c in aid if c != "E001"]:
        with db.transaction() as s:
            cycles.rate(s, appraisal_id=aid[code], input_id="teamwork", value="85",
                        actor=user_actor(db, rater), role="peer")
    with db.transaction() as s:
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
        for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=cid, trigger=step, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="approve", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="publish", actor=ADMIN)
        display = s.scalars(select(User.display_name).where(User.username == "e3")).one()
    with db.read() as s:
        given = s.scalars(select(Rating).where(Rating.appraisal_id == a1)).one()
        assert given.rater_role == "peer" and given.rater_user_id is None
        assert s.scalar(select(PeerBallot.user_id).where(PeerBallot.appraisal_id == a1))
    e3 = re.compile(r"(?<![A-Za-z0-9_-])e3(?![A-Za-z0-9_-])")
    pages = [f"/appraisals/{a1}", f"/appraisals/{a1}?lang=en", f"/api/appraisals/{a1}",
             f"/appraisals/{a1}/form.xlsx", f"/appraisals/{a1}/scorecard.pdf"]
    seen = 0
    with ExitStack() as stack:
        for user in ("hr", "boss", "sup1", "e1"):
            client = stack.enter_context(TestClient(create_app(db, secret=SECRET),
                                                    raise_server_exceptions=False))
            client.cookies.set("kaohe_session", shared.clients[user].cookies["kaohe_session"])
            texts = {}
            for path in pages:
                r = client.get(path)
                assert r.status_code == 200, (user, path, r.status_code)
                texts[path] = _text(r)
            # E001's rows in the lists
            texts["/api/appraisals"] = str([row for row in client.get("/api/appraisals").json()
                                            if row["id"] == a1])
            if user != "e1":
                board = client.get("/api/team", params={"team": "一组",
                                                        "period": "2026-11"}).json()
                texts["/api/team"] = str([row for row in board["rows"] if row["id"] == a1])
            else:
                texts["/me"] = client.get("/me").text
            for path, text in texts.items():
                flat = re.sub(r"\s+", "", text)  # the response is about E001 (/me: a link)
                assert "E001" in flat or f"/appraisals/{a1}" in flat, (user, path)
                assert not e3.search(text), (user, path, "username")
                assert display not in text, (user, path, "display name")
                seen += 1
    assert seen == 4 * 7
    db.dispose()


# -- who may set what, when: the review's reproductions, through the API and the pages -----------
def _client(stack: ExitStack, shared: Shared, db: Database, user: str) -> tuple[TestClient, str]:
    client = stack.enter_context(TestClient(create_app(db, secret=SECRET),
                                            raise_server_exceptions=False))
    client.cookies.set("kaohe_session", shared.clients[user].cookies["kaohe_session"])
    return client, csrf_of(client, user)


@pytest.mark.parametrize(("state", "input_id", "value", "role"), [
    (None, "sales", "99999999", "self"),  # an imported input
    (None, "sales", "99999999", "supervisor"),
    (None, "execution", "非常满意", "self"),  # the supervisor's input
    (None, "execution", "非常满意", "supervisor"),  # not the agent's capacity
    (None, "execution", "非常满意", "peer"),
    ("supervisor_review", "execution", "非常满意", "self"),  # after the self-review
])
def test_an_agent_cannot_move_their_own_numbers(shared: Shared, state: str | None,
                                                input_id: str, value: str, role: str) -> None:
    db = copy_of(shared.template, shared.folder)
    ctx = context(db, shared.ctx.sheet)
    if state is not None:
        prepare(db, state, ctx, "E001")
    before = audit_events(db)
    with ExitStack() as stack:
        e1, token = _client(stack, shared, db, "e1")
        r = e1.post(f"/api/appraisals/{ctx.aid['E001']}/ratings", headers={
            "X-CSRF-Token": token}, json={"input_id": input_id, "value": value, "role": role})
        assert 400 <= r.status_code < 500, (r.status_code, r.text)
        r = e1.post(f"/appraisals/{ctx.aid['E001']}/rate", data={
            "csrf": token, "input_id": input_id, "value": value, "role": role},
            follow_redirects=False)
        assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    with db.read() as s:
        assert s.scalar(select(Rating.id)) is None
    assert audit_events(db) == before
    db.dispose()


def test_a_supervisor_appraised_in_their_own_team_cannot_rate_or_pass_it(
        shared: Shared) -> None:
    db = copy_of(shared.template, shared.folder)
    ctx = context(db, shared.ctx.sheet)
    with db.transaction() as s:  # e1 (E001, 一组) leads 一组 as well
        e1 = s.scalars(select(User).where(User.username == "e1")).one()
        sup1 = s.scalars(select(User).where(User.username == "sup1")).one()
        e1.roles, e1.team_ids = ["agent", "supervisor"], list(sup1.team_ids)
    prepare(db, "supervisor_review", ctx, "E001")
    prepare(db, "supervisor_review", ctx, "E003")
    with ExitStack() as stack:
        client, token = _client(stack, shared, db, "e1")
        own, mate = ctx.aid["E001"], ctx.aid["E003"]
        body = {"input_id": "execution", "value": "非常满意", "role": "supervisor"}
        r = client.post(f"/api/appraisals/{own}/ratings", json=body,
                        headers={"X-CSRF-Token": token})
        assert r.status_code == 403, r.text
        r = client.post(f"/api/appraisals/{own}/transitions", headers={"X-CSRF-Token": token},
                        json={"action": "submit_supervisor_review"})
        assert r.status_code == 403, r.text
        page = client.get(f"/appraisals/{own}").text
        assert 'value="submit_supervisor_review"' not in page and 'name="role"' not in page
        r = client.post(f"/api/appraisals/{mate}/ratings", json=body,
                        headers={"X-CSRF-Token": token})
        assert r.status_code == 200, r.text  # a teammate's: yes
        assert 'value="submit_supervisor_review"' in client.get(f"/appraisals/{mate}").text
    db.dispose()


def test_the_agent_sees_results_only_once_published(shared: Shared) -> None:
    """Total, rank, pay and the supervisor's rating stay hidden from the appraised agent in
    self-review (page, API, lists, forms); the supervisor sees them."""
    db = copy_of(shared.template, shared.folder)
    ctx = context(db, shared.ctx.sheet)
    a1 = ctx.aid["E001"]
    prepare(db, "supervisor_review", ctx, "E001")
    with db.transaction() as s:
        cycles.rate(s, appraisal_id=a1, input_id="execution", value="不满意",
                    actor=user_actor(db, "sup1"), role="supervisor")
        cycles.score_cycle(s, cycle_id=ctx.cycle, actor=ADMIN)
    with ExitStack() as stack:
        e1, _ = _client(stack, shared, db, "e1")
        sup, _ = _client(stack, shared, db, "sup1")
        assert e1.get(f"/api/appraisals/{a1}").json()["result"] is None
        assert [r["result"] for r in e1.get("/api/appraisals").json()] == [None]
        for path in (f"/appraisals/{a1}/form.xlsx", f"/appraisals/{a1}/scorecard.pdf"):
            assert e1.get(path).status_code == 404
        page = e1.get(f"/appraisals/{a1}?lang=en").text
        assert "Pay total" not in page and "Place in team" not in page
        assert "不满意" not in page  # the supervisor's rating, also in the history
        assert sup.get(f"/api/appraisals/{a1}").json()["result"]["total"] is not None
        assert "不满意" in sup.get(f"/appraisals/{a1}").text
    prepare(db, "published", ctx, "E001")
    with ExitStack() as stack:
        e1, _ = _client(stack, shared, db, "e1")
        assert e1.get(f"/api/appraisals/{a1}").json()["result"]["total"] is not None
        assert e1.get(f"/appraisals/{a1}/form.xlsx").status_code == 200
    db.dispose()


def test_the_agent_history_shows_no_incident_note_or_author(shared: Shared) -> None:
    db = copy_of(shared.template, shared.folder)
    ctx = context(db, shared.ctx.sheet)
    a1 = ctx.aid["E001"]
    with db.transaction() as s:
        cycles.add_incident(s, appraisal_id=a1, input_id="bad_reviews",
                            date=dt.date(2026, 10, 12), count=Decimal(1),
                            note="订单 123 差评机密备注", actor=user_actor(db, "sup1"))
    with ExitStack() as stack:
        e1, _ = _client(stack, shared, db, "e1")
        sup, _ = _client(stack, shared, db, "sup1")
        page = e1.get(f"/appraisals/{a1}").text
        assert "机密备注" not in page and "sup1" not in page
        assert "机密备注" in sup.get(f"/appraisals/{a1}").text
    db.dispose()


def test_an_incident_outside_the_cycle_month_is_refused(shared: Shared) -> None:
    db = copy_of(shared.template, shared.folder)
    ctx = context(db, shared.ctx.sheet)
    with ExitStack() as stack:
        sup, token = _client(stack, shared, db, "sup1")
        r = sup.post(f"/appraisals/{ctx.aid['E001']}/incident", data={
            "csrf": token, "input_id": "bad_reviews", "date": "2026-12-25", "count": "1"},
            follow_redirects=False)
        assert r.status_code == 422, r.status_code
        assert "2026-10-31" in r.text
    with db.read() as s:
        assert s.scalar(select(Incident.id)) is None
    db.dispose()
