"""Load the demo shop into a database: a lived-in system for a newcomer to open.

Employees in three teams, a user for every role, six monthly cycles taken through the
workflow to published (scored with taobao-presales; earlier months feed the streak rules),
appeals in every state, and the following month open: agents can write their self-review,
supervisors rate, and HR uploads the month's sheet (written beside the database files)
through the console's preview. Every action goes through the services, so the audit log is
the real thing.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaohe.demo import agents, months
from kaohe.store import migrate
from kaohe.store.db import Database
from kaohe.store.models import Appraisal, Cycle, Employee, User
from kaohe.workflow import appeals, cycles, org
from kaohe.workflow.audit import Actor
from kaohe.workflow.calendar import add_workdays

DEMO_PASSWORD = "kaohe-demo"
SYSTEM = Actor("demo-loader", ("admin",))
#: the staff logins' people (agents are named by the org sheet); contacts use the reserved
#: example.com domain and 1380000xxxx numbers
STAFF = {"admin": ("系统管理员", "13800000001"), "hr": ("周敏", "13800000002"),
         "manager": ("郑建国", "13800000003"), "sup1": ("林晓", "13800000011"),
         "sup2": ("何静", "13800000012"), "sup3": ("宋涛", "13800000013")}


@dataclass(frozen=True)
class Loaded:
    already: bool
    users: list[tuple[str, str]]  # (username, role)
    cycles: int  # published
    open_period: str = ""  # the month left open
    open_sheet: Path | None = None  # its inputs, ready for HR to upload


def _publish_day(period: str) -> dt.date:
    y, m = (int(x) for x in period.split("-"))
    first = dt.date(y + (m == 12), m % 12 + 1, 1)
    return add_workdays(first, 5).due  # 考核 on the 5th–10th of the next month


def load_demo(db: Database, inputs: Path, work: Path,
              progress: Callable[[str], None] | None = None) -> Loaded:
    migrate.upgrade(db)
    say = progress or (lambda _m: None)
    team_names = sorted({a.team for a in agents()})
    users = [("admin", "admin"), ("hr", "hr"), ("manager", "manager")]
    users += [(f"sup{i + 1}", "supervisor") for i in range(len(team_names))]
    users += [(a.employee.lower(), "agent") for a in agents()]
    with db.transaction() as s:
        if s.scalar(select(Cycle).where(Cycle.scheme_id == "taobao-presales",
                                        Cycle.period == months()[0])) is not None:
            return Loaded(True, users, 0)
    work.mkdir(parents=True, exist_ok=True)
    emp_file = work / "employees.csv"
    with emp_file.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["工号", "姓名", "团队", "岗位", "入职日期", "邮箱", "手机"])
        for i, a in enumerate(agents(), start=1):
            w.writerow([a.employee, a.name, a.team, "售前客服", "2025-06-01",
                        f"{a.employee.lower()}@example.com", f"1380010{i:04d}"])
    with db.transaction() as s:
        say("employees and users")
        org.import_employees(s, path=emp_file, actor=SYSTEM)
        for name, role in users:
            if s.scalar(select(User).where(User.username == name)) is not None:
                continue
            kw: dict[str, object] = {}
            if role == "supervisor":
                kw["teams"] = [team_names[int(name[3:]) - 1]]
            if role == "agent":
                kw["employee_code"] = name.upper()
            if role == "manager":
                kw["teams"] = team_names
            if name in STAFF:
                kw["display_name"], kw["mobile"] = STAFF[name]
                kw["email"] = f"{name}@example.com"
            org.create_user(s, username=name, roles=[role], actor=SYSTEM,
                            password=DEMO_PASSWORD, **kw)  # type: ignore[arg-type]
    rows = list(csv.DictReader(inputs.open(encoding="utf-8")))
    hr = Actor("hr", ("hr",))
    for period in months():
        say(f"cycle {period}")
        sheet = work / f"inputs-{period}.csv"
        chosen = [r for r in rows if r["period"] == period]
        with sheet.open("w", encoding="utf-8", newline="") as fh:
            dw = csv.DictWriter(fh, fieldnames=list(chosen[0]))
            dw.writeheader()
            dw.writerows(chosen)
        with db.transaction() as s:
            cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period=period, actor=hr).id
        with db.transaction() as s:
            cycles.import_inputs(s, cycle_id=cid, path=sheet, actor=hr)
        with db.transaction() as s:  # supervisors rate during the supervisor review
            cycles.advance_all(s, cycle_id=cid, trigger="submit_self_review", actor=hr)
        with db.transaction() as s:
            _supervisor_ratings(s, cid, chosen, team_names)
        with db.transaction() as s:
            cycles.score_cycle(s, cycle_id=cid, actor=hr)
        with db.transaction() as s:
            for step in ("submit_supervisor_review", "approve_second_review"):
                cycles.advance_all(s, cycle_id=cid, trigger=step, actor=hr)
            cycles.cycle_transition(s, cycle_id=cid, trigger="approve", actor=hr)
            cycles.cycle_transition(s, cycle_id=cid, trigger="publish", actor=hr,
                                    today=_publish_day(period))
    _appeals(db)
    period, sheet = _open_next_month(db, rows, work, hr)
    say("verification")  # a first verification run: its head anchors the log from here on
    from kaohe.workflow import verification

    with db.read() as s:
        report = verification.verify_all(s, sample=0)
    with db.transaction() as s:
        verification.record_run(s, report)
    return Loaded(False, users, len(months()), period, sheet)


def _supervisor_ratings(s: Session, cycle_id: int, rows: list[dict[str, str]],
                        team_names: list[str], per_team: int = 3) -> None:
    """Each supervisor records the execution (执行力) level of the first agents of the team in
    kaohe itself, as the sheet has it (so the scores are the sheet's either way)."""
    apps = dict(s.execute(select(Employee.code, Appraisal.id).join(
        Appraisal, Appraisal.employee_id == Employee.id).where(
        Appraisal.cycle_id == cycle_id)).all())
    for i, team in enumerate(team_names):
        sup, _ = org.actor_for(s, f"sup{i + 1}")
        for r in [r for r in rows if r["team"] == team][:per_team]:
            cycles.rate(s, appraisal_id=apps[r["employee"]], input_id="execution",
                        value=r["execution"], actor=sup, role="supervisor")


def _open_next_month(db: Database, rows: list[dict[str, str]], work: Path,
                     hr: Actor) -> tuple[str, Path]:
    """Open the month after the last, in self-review, and write its sheet (the platform
    figures of the last month carried over; 执行力 is left to the supervisors' ratings)."""
    last = months()[-1]
    period = months(last, 2)[1]
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period=period, actor=hr).id
        opened = dict(s.execute(select(Employee.code, Appraisal.id).join(
            Appraisal, Appraisal.employee_id == Employee.id)
            .where(Appraisal.cycle_id == cid)).all())
    # every other agent has handed in the self-review, so their supervisor can rate 执行力
    # now (the supervisor rates in the supervisor review, the agent in the self-review)
    for code in sorted(opened)[::2]:
        with db.transaction() as s:
            actor, _ = org.actor_for(s, code.lower())
            cycles.transition(s, appraisal_id=opened[code], trigger="submit_self_review",
                              actor=actor, note="本月按计划完成接待与跟进，下月提升响应速度")
    chosen = [{k: v for k, v in r.items() if k != "execution"} | {"period": period}
              for r in rows if r["period"] == last]
    sheet = work / f"inputs-{period}.csv"
    with sheet.open("w", encoding="utf-8", newline="") as fh:
        dw = csv.DictWriter(fh, fieldnames=list(chosen[0]))
        dw.writeheader()
        dw.writerows(chosen)
    return period, sheet


def _appeals(db: Database) -> None:
    """Appeals in each state on the newest cycle, acknowledgements on the one before."""
    periods = months()
    with db.transaction() as s:
        apps = {(p, code): (aid, ) for p, code, aid in s.execute(
            select(Cycle.period, Employee.code, Appraisal.id)
            .join(Appraisal, Appraisal.cycle_id == Cycle.id)
            .join(Employee, Employee.id == Appraisal.employee_id))}
    latest, previous = periods[-1], periods[-2]
    day = _publish_day(latest) + dt.timedelta(days=1)
    hr = Actor("hr", ("hr",))
    plans = [("KF004", "filed"), ("KF010", "accepted"), ("KF016", "resolved"),
             ("KF022", "rejected")]
    for code, state in plans:
        with db.transaction() as s:
            actor, _ = org.actor_for(s, code.lower())
            ap = appeals.file_appeal(s, appraisal_id=apps[(latest, code)][0],
                                     reason="对执行力评级有异议，申请复核聊天记录", actor=actor,
                                     today=day)
            aid = ap.id
        if state == "filed":
            continue
        with db.transaction() as s:
            appeals.decide_appeal(s, appeal_id=aid, accept=state != "rejected",
                                  note="已受理" if state != "rejected" else "评级有据，维持原结果",
                                  actor=hr, today=day + dt.timedelta(days=1))
        if state == "resolved":
            with db.transaction() as s:
                appeals.resolve_appeal(s, appeal_id=aid, changes={"execution": "非常满意"},
                                       resolution="复核聊天记录后上调执行力评级", actor=hr,
                                       today=day + dt.timedelta(days=3))
    for code in ("KF001", "KF002", "KF003", "KF012", "KF023"):
        with db.transaction() as s:
            actor, _ = org.actor_for(s, code.lower())
            cycles.transition(s, appraisal_id=apps[(previous, code)][0], trigger="acknowledge",
                              actor=actor)
    with db.transaction() as s:
        sup, _ = org.actor_for(s, "sup1")
        appeals.record_feedback(s, appraisal_id=apps[(previous, "KF001")][0],
                                held_on=_publish_day(previous) + dt.timedelta(days=2),
                                notes="肯定本月转化率，提醒关注响应时间", actor=sup)
