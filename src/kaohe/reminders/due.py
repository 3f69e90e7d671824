"""The reminders due on a day, from the workflow's own deadlines.

- ``self_review``: agents whose appraisal is still in self-review while its cycle is open or
  under review; due ``settings().self_review_workdays`` working days after the cycle opened.
- ``supervisor_review``: each supervisor (a team without one: its managers) with team
  members still in supervisor review; due
  ``settings().supervisor_review_workdays`` working days after the cycle opened.
- ``appeal_decision`` / ``appeal_resolution``: HR (admins when there is no HR user), for
  filed appeals near or past their answer deadline (3 working days) and accepted ones near
  or past their resolution deadline (10) — :func:`kaohe.workflow.appeals.overdue`,
  looking ``settings().remind_ahead_workdays`` working days ahead.
- ``feedback_meeting``: supervisors of the team, for published results whose feedback
  meeting (面谈) is not recorded, near or past its deadline (the same look-ahead).

One reminder per person and kind (and cycle, for the reviews), listing what it is about;
its ``key`` is what a day's deliveries are counted by.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaohe.settings import settings
from kaohe.store.models import Appraisal, AppraisalState, Cycle, CycleState, Employee, User
from kaohe.workflow import appeals
from kaohe.workflow.calendar import add_workdays

BEIJING = ZoneInfo("Asia/Shanghai")
KINDS = ("self_review", "supervisor_review", "appeal_decision", "appeal_resolution",
         "feedback_meeting")
#: cycle states in which the reviews are under way
ACTIVE = (CycleState.open, CycleState.reviewing)


def beijing_today() -> dt.date:
    return dt.datetime.now(BEIJING).date()


def beijing_date(utc: dt.datetime) -> dt.date:
    """A stored (naive UTC) time's day in Beijing."""
    return utc.replace(tzinfo=dt.UTC).astimezone(BEIJING).date()


@dataclass(frozen=True)
class Item:
    """One thing a reminder is about: an appraisal, an appeal or a meeting."""

    due: dt.date
    name: str  # the person it concerns
    code: str  # their 工号
    appraisal_id: int
    period: str
    appeal_id: int | None = None


@dataclass(frozen=True)
class Reminder:
    kind: str
    key: str
    #: a group robot sends the reminders of one group as one message
    group: str
    user_id: int
    name: str  # the person reminded, by name
    email: str | None
    mobile: str | None
    opted_out: bool
    items: tuple[Item, ...]

    @property
    def due(self) -> dt.date:
        return min(i.due for i in self.items)

    @property
    def period(self) -> str:
        return self.items[0].period


def due_reminders(session: Session, *, today: dt.date) -> list[Reminder]:
    """Every reminder due on ``today`` (a Beijing day), opted-out people included (marked)."""
    users = list(session.scalars(select(User).where(User.is_active.is_(True))))
    by_employee = {u.employee_id: u for u in users if u.employee_id is not None}
    # a team's supervisors; a team without one: its managers
    supervisors: dict[int, list[User]] = defaultdict(list)
    managers: dict[int, list[User]] = defaultdict(list)
    for u in users:
        for team_id in u.team_ids or []:
            if "supervisor" in u.roles:
                supervisors[int(team_id)].append(u)
            elif "manager" in u.roles:
                managers[int(team_id)].append(u)
    for team_id, found in managers.items():
        supervisors.setdefault(team_id, found)
    hr = [u for u in users if "hr" in u.roles] or [u for u in users if "admin" in u.roles]
    out: list[Reminder] = []
    team_waiting: dict[tuple[int, int], list[Item]] = defaultdict(list)
    rows = session.execute(
        select(Appraisal.id, Appraisal.state, Employee, Cycle)
        .join(Employee, Employee.id == Appraisal.employee_id)
        .join(Cycle, Cycle.id == Appraisal.cycle_id)
        .where(Cycle.state.in_(ACTIVE), Appraisal.state.in_(
            [AppraisalState.self_review, AppraisalState.supervisor_review]))
        .order_by(Cycle.id, Employee.code))
    for aid, state, emp, cycle in rows:
        opened = beijing_date(cycle.opened_at)
        if state is AppraisalState.self_review:
            user = by_employee.get(emp.id)
            if user is None:
                continue
            item = Item(add_workdays(opened, settings().self_review_workdays).due, emp.name,
                        emp.code, aid, cycle.period)
            out.append(_reminder("self_review", f"self_review/c{cycle.id}/u{user.id}",
                                 f"self_review/c{cycle.id}", user, [item]))
        elif emp.team_id is not None:
            item = Item(add_workdays(opened, settings().supervisor_review_workdays).due,
                        emp.name, emp.code, aid, cycle.period)
            for sup in supervisors.get(emp.team_id, []):
                team_waiting[(cycle.id, sup.id)].append(item)
    people = {u.id: u for u in users}
    for (cycle_id, uid), items in team_waiting.items():
        out.append(_reminder("supervisor_review", f"supervisor_review/c{cycle_id}/u{uid}",
                             f"supervisor_review/c{cycle_id}", people[uid], items))
    horizon = add_workdays(today, settings().remind_ahead_workdays).due
    late = appeals.overdue(session, today=today, until=horizon)
    for kind in ("appeal_decision", "appeal_resolution"):
        items = [_item(o) for o in late if o.kind == kind]
        if items:
            out += [_reminder(kind, f"{kind}/u{u.id}", kind, u, items) for u in hr]
    meetings: dict[int, list[Item]] = defaultdict(list)
    for o in late:
        if o.kind == "feedback_meeting" and o.team_id is not None:
            for sup in supervisors.get(o.team_id, []):
                meetings[sup.id].append(_item(o))
    out += [_reminder("feedback_meeting", f"feedback_meeting/u{uid}", "feedback_meeting",
                      people[uid], items) for uid, items in meetings.items()]
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(out, key=lambda r: (order[r.kind], r.group, r.name, r.user_id))


def _item(o: appeals.Overdue) -> Item:
    return Item(o.due, o.name, o.employee, o.appraisal_id, o.period, o.appeal_id)


def _reminder(kind: str, key: str, group: str, user: User, items: list[Item]) -> Reminder:
    return Reminder(kind, key, group, user.id, user.person_name, user.contact_email,
                    user.contact_mobile, bool(user.reminders_off),
                    tuple(sorted(items, key=lambda i: (i.due, i.code, i.appeal_id or 0))))
