"""Organisation: teams, positions, employees and users."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from kaohe.errors import InputError
from kaohe.ingest.table import read_raw
from kaohe.store.models import Employee, Position, Role, Team, User
from kaohe.workflow.audit import Actor, record
from kaohe.workflow.errors import Invalid, NotAllowed, NotFound

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("employee", "工号", "员工工号", "code"),
    "name": ("name", "姓名"),
    "team": ("team", "团队", "部门", "组别"),
    "position": ("position", "岗位", "职位"),
    "hire_date": ("hire_date", "入职日期"),
    "probation_end": ("probation_end", "试用期结束", "转正日期"),
    "manager": ("manager", "上级", "上级工号"),
    "status": ("status", "状态"),
    "email": ("email", "邮箱", "电子邮箱", "企业邮箱", "邮件"),
    "mobile": ("mobile", "手机", "手机号", "手机号码", "电话"),
}
STATUSES = {"active": "active", "在职": "active", "left": "left", "离职": "left",
            "leave": "leave", "休假": "leave"}
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
#: an address as mail servers take it (no display name), and a mainland mobile number as the
#: group robots @-mention it (address-book exports write +86 138 0013 8000, 138-0013-8000)
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normal_email(value: str) -> str:
    """The address, trimmed; :class:`ValueError` naming what is expected otherwise."""
    text = value.strip()
    if len(text) > 254 or not _EMAIL.match(text):
        raise ValueError("expected an e-mail address such as name@example.com")
    return text


def normal_mobile(value: str) -> str:
    """An 11-digit mainland mobile number (spaces, dashes and a +86 prefix are dropped)."""
    text = re.sub(r"[\s-]", "", value.strip())
    for prefix in ("+86", "0086", "86"):
        if text.startswith(prefix) and len(text) == 11 + len(prefix):
            text = text[len(prefix):]
    if not _MOBILE.match(text):
        raise ValueError("expected an 11-digit mobile number such as 13800138000")
    return text


def _contact(value: str | None, check: Any, source: str, row: int, column: str) -> str | None:
    if value is None:
        return None
    try:
        return str(check(value))
    except ValueError as exc:
        raise InputError(str(exc), file=source, row=row, column=column, value=value) from None


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    teams: int


def _date(value: str | None, source: str, row: int, column: str) -> dt.date | None:
    if value is None:
        return None
    m = _DATE.match(value.strip())
    if not m:
        raise InputError("expected a date such as 2026-03-01", file=source, row=row,
                         column=column, value=value)
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise InputError("not a real date", file=source, row=row, column=column,
                         value=value) from None


def import_employees(session: Session, *, path: str | Path, actor: Actor) -> ImportSummary:
    """Create or update employees from a CSV/XLSX sheet, all or nothing."""
    frame, source = read_raw(path)
    if frame.height == 0:
        raise InputError("the file has a header but no data rows", file=source)
    header: dict[str, str] = {}
    for col in frame.columns:
        for canon, names in COLUMNS.items():
            if col.strip() in names:
                if canon in header:
                    raise InputError(f"columns {header[canon]!r} and {col!r} both give {canon}",
                                     file=source, row=1, column=col)
                header[canon] = col
    for required in ("code", "name"):
        if required not in header:
            raise InputError(f"missing column {COLUMNS[required][0]!r} ({COLUMNS[required][1]})",
                             file=source, column=COLUMNS[required][0])
    rows = frame.select([pl.col(c).str.strip_chars().replace("", None).alias(k)
                         for k, c in header.items()]).to_dicts()
    teams = {t.code: t for t in session.scalars(select(Team))}
    positions = {p.code: p for p in session.scalars(select(Position))}
    existing = {e.code: e for e in session.scalars(select(Employee))}
    seen: dict[str, int] = {}
    created = updated = 0
    pending_manager: list[tuple[Employee, str, int]] = []
    for i, r in enumerate(rows, start=2):
        code, name = r.get("code"), r.get("name")
        if not code:
            raise InputError("the employee id is empty", file=source, row=i, column=header["code"])
        if code in seen:
            raise InputError(f"employee {code!r} appears twice (row {seen[code]} too)",
                             file=source, row=i, column=header["code"], value=code)
        seen[code] = i
        if not name:
            raise InputError("the name is empty", file=source, row=i, column=header["name"])
        status_raw = r.get("status") or "active"
        status = STATUSES.get(status_raw)
        if status is None:
            raise InputError(f"unknown status; expected one of {', '.join(STATUSES)}",
                             file=source, row=i, column=header["status"], value=status_raw)
        emp = existing.get(code)
        if emp is None:
            emp = Employee(code=code, name=name)
            session.add(emp)
            existing[code] = emp
            created += 1
        else:
            updated += 1
        emp.name = name
        emp.status = status
        if r.get("team"):
            emp.team = _named(session, teams, Team, r["team"])
        if r.get("position"):
            emp.position = _named(session, positions, Position, r["position"])
        if "hire_date" in header:
            emp.hire_date = _date(r.get("hire_date"), source, i, header["hire_date"])
        if "probation_end" in header:
            emp.probation_end = _date(r.get("probation_end"), source, i, header["probation_end"])
        if "email" in header:
            emp.email = _contact(r.get("email"), normal_email, source, i, header["email"])
        if "mobile" in header:
            emp.mobile = _contact(r.get("mobile"), normal_mobile, source, i, header["mobile"])
        if r.get("manager"):
            pending_manager.append((emp, r["manager"], i))
    session.flush()
    for emp, mgr_code, i in pending_manager:
        mgr = existing.get(mgr_code)
        if mgr is None:
            raise InputError("no employee has this id", file=source, row=i,
                             column=header["manager"], value=mgr_code)
        if mgr is emp:
            raise InputError("an employee cannot be their own manager", file=source, row=i,
                             column=header["manager"], value=mgr_code)
        emp.manager_id = mgr.id
    session.flush()
    record(session, action="org.imported", actor=actor, target_type="org", target_id=source,
           details={"created": created, "updated": updated, "file": str(path)})
    return ImportSummary(created, updated, len(teams))


def _named(session: Session, known: dict[str, Any], model: type[Any], name: str) -> Any:
    """The team or position of this name, created on first sight."""
    found = known.get(name)
    if found is None:
        found = model(code=name, name=name)
        session.add(found)
        known[name] = found
    return found


def create_user(session: Session, *, username: str, roles: list[str], actor: Actor,
                password: str | None = None, employee_code: str | None = None,
                teams: list[str] | None = None, display_name: str = "",
                email: str | None = None, mobile: str | None = None) -> User:
    from kaohe.workflow.passwords import hash_password

    bad = [r for r in roles if r not in Role.__members__]
    if bad:
        raise Invalid(f"unknown role {bad[0]!r}; roles: {', '.join(Role.__members__)}")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Invalid(f"user {username!r} exists already")
    emp = None
    if employee_code is not None:
        emp = session.scalar(select(Employee).where(Employee.code == employee_code))
        if emp is None:
            raise NotFound(f"no employee {employee_code!r}")
        other = session.scalar(select(User.username).where(User.employee_id == emp.id))
        if other is not None:
            raise Invalid(f"employee {employee_code!r} has the user {other!r} already")
    team_ids: list[int] = []
    for code in teams or []:
        team = session.scalar(select(Team).where(Team.code == code))
        if team is None:
            raise NotFound(f"no team {code!r}")
        team_ids.append(team.id)
    user = User(username=username, roles=list(roles), employee=emp, team_ids=team_ids,
                display_name=display_name or (emp.name if emp else username),
                password_hash=hash_password(password) if password else None,
                email=_checked(normal_email, email), mobile=_checked(normal_mobile, mobile))
    session.add(user)
    session.flush()
    record(session, action="user.created", actor=actor, target_type="user", target_id=user.id,
           details={"username": username, "roles": roles, "employee": employee_code,
                    "teams": teams or []})
    return user


def _checked(check: Any, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return str(check(value))
    except ValueError as exc:
        raise Invalid(f"{value!r}: {exc}") from None


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def set_contact(session: Session, *, username: str, actor: Actor, email: str | None = None,
                mobile: str | None = None, display_name: str | None = None) -> User:
    """Set a user's own e-mail, mobile or name; an empty value clears the e-mail or mobile
    (the employee's, from the org sheet, applies again)."""
    from kaohe.workflow.cycles import require_role

    require_role(actor, {"hr", "admin"}, "change a user's contact")
    user = get_user(session, username)
    changed: dict[str, Any] = {}
    if email is not None:
        user.email = changed["email"] = _checked(normal_email, email)
    if mobile is not None:
        user.mobile = changed["mobile"] = _checked(normal_mobile, mobile)
    if display_name is not None:
        if not display_name.strip():
            raise Invalid("the name is empty")
        user.display_name = changed["display_name"] = display_name.strip()
    if not changed:
        raise Invalid("nothing to change: give --email, --mobile or --name")
    session.flush()
    record(session, action="user.contact_changed", actor=actor, target_type="user",
           target_id=user.id, details=changed)
    return user


def set_reminders(session: Session, *, username: str, on: bool, actor: Actor) -> User:
    """Opt a person in to reminders or out of them: themself, or HR and admins for anyone."""
    user = get_user(session, username)
    if actor.user_id != user.id and not {"hr", "admin"} & set(actor.roles):
        raise NotAllowed(f"{actor.username} may not change the reminders of {username}")
    if user.reminders_off == (not on):
        return user
    user.reminders_off = not on
    session.flush()
    record(session, action="user.reminders_on" if on else "user.reminders_off", actor=actor,
           target_type="user", target_id=user.id, details={"username": username})
    return user


def actor_for(session: Session, username: str) -> tuple[Actor, User]:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        raise NotFound(f"no active user {username!r}; create one with `kaohe user add`")
    return Actor(user.username, tuple(user.roles), user.id), user
