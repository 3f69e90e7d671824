"""The org sheet as an address book exports it: 钉钉 (DingTalk) 通讯录导出 or 企业微信 (WeCom)
成员导出, xlsx or csv, read as it comes.

Those exports put a title or instructions above the header (merged cells across the
table), so the header is the first of the top rows that names the person (姓名) and an id
(工号, 账号/帐号 or UserID). The columns read, by their headers in either export (others,
such as 性别, 座机, 地址, 别名, 办公地点, are left alone):

=============  =================================================================
what           headers
=============  =================================================================
employee id    工号, then 账号 / 帐号 / UserID / 员工UserID (the first one filled in)
name           姓名
team           部门 (a path such as ``总部/客服部/售前组``: the last part; of several
               departments, separated by ``;``, the first)
position       职位 / 职务 / 岗位
supervisor     直属主管 / 直属上级 / 主管 / 上级 / 汇报对象: an id in the sheet or the
               records, else a name that only one person has
mobile         手机 / 手机号 / 手机号码 (a masked number such as 138****8000 is skipped)
e-mail         企业邮箱, then 邮箱 / 电子邮箱 / 个人邮箱
hire date      入职时间 / 入职日期
status         在职状态 / 员工状态 / 状态 (离职 / 已离职 / 已退出 mark a person who left)
=============  =================================================================

:func:`plan` compares the sheet with the records (new, changed and unchanged people, teams
to create, supervisors to assign) without writing; :func:`apply` writes that plan in the
caller's transaction and records it in the audit log. Every bad cell is named by row (as the
spreadsheet numbers it), column header and value; with any, nothing is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaohe.errors import InputError
from kaohe.store.models import Employee, Position, Team, User
from kaohe.text import N_, Text
from kaohe.workflow.accounts import require_people
from kaohe.workflow.audit import Actor, record
from kaohe.workflow.org import normal_email, normal_mobile

#: the canonical fields and their headers, in order of preference within a field
HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("工号", "员工工号", "账号", "帐号", "UserID", "UserId", "userid", "员工UserID",
             "员工UserId", "企业微信账号", "employee", "code"),
    "name": ("姓名", "员工姓名", "name"),
    "team": ("部门", "所在部门", "主部门", "团队", "team"),
    "position": ("职位", "职务", "岗位", "position"),
    "manager": ("直属主管", "直属上级", "主管", "上级", "汇报对象", "上级工号", "manager"),
    "mobile": ("手机", "手机号", "手机号码", "mobile"),
    "email": ("企业邮箱", "邮箱", "电子邮箱", "个人邮箱", "email"),
    "hire_date": ("入职时间", "入职日期", "hire_date"),
    "status": ("在职状态", "员工状态", "状态", "status"),
}
_ID_HEADERS = set(HEADERS["code"])
#: the header is looked for in this many top rows
HEADER_SEARCH = 10
#: problems listed at most (the rest are counted)
MAX_PROBLEMS = 200
LEFT = {"离职", "已离职", "已退出", "退出", "left"}
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s.*)?$")
_SPLIT_DEPTS = re.compile(r"[;；,，\n]")
_SPLIT_PATH = re.compile(r"[/／>]")


@dataclass
class SheetRow:
    row: int
    code: str
    name: str
    team: str | None = None
    position: str | None = None
    manager: str | None = None
    mobile: str | None = None
    email: str | None = None
    hire_date: dt.date | None = None
    left: bool = False


@dataclass
class Sheet:
    source: str
    kind: str  # dingtalk, wecom or plain
    header_row: int
    columns: dict[str, list[str]]  # field → the headers found, in preference order
    rows: list[SheetRow]
    problems: list[InputError]


@dataclass
class PersonChange:
    row: int
    code: str
    name: str
    kind: str  # new, changed, unchanged
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # field, before, after


@dataclass
class OrgPlan:
    source: str
    kind: str
    people: list[PersonChange]
    teams_created: list[str]
    #: (employee code, name, supervisor code, supervisor name)
    supervisors: list[tuple[str, str, str, str]]
    #: (supervisor's login, their name, team): a supervisor's account looks after the team
    team_supervisors: list[tuple[str, str, str]]
    problems: list[InputError]
    rows: list[SheetRow] = field(default_factory=list, repr=False)
    #: the names of the people a change names by id (supervisors before and after)
    names: dict[str, str] = field(default_factory=dict)

    def count(self, kind: str) -> int:
        return sum(1 for p in self.people if p.kind == kind)


# -- reading ------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _grid(path: Path, source: str) -> list[list[str]]:
    """Every row of the first sheet as text cells (bounded as the input tables are)."""
    from kaohe.ingest.table import decode
    from kaohe.settings import settings

    conf = settings()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(Text(N_("cannot read the file: %(reason)s"), reason=exc.strerror),
                         file=source) from None
    if len(raw) > conf.max_upload_bytes:
        raise InputError(Text(N_("The file is larger than %(mb)s MB."),
                              mb=f"{conf.max_upload_bytes / 2**20:g}"), file=source)
    rows: list[list[str]] = []
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import zipfile

        from openpyxl import load_workbook  # type: ignore[import-untyped]

        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                if sum(i.file_size for i in zf.infolist()) > 20 * conf.max_upload_bytes:
                    raise InputError(Text(N_("the workbook unpacks to far more than it "
                                             "weighs")), file=source)
            wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
            ws = wb.worksheets[0]
            ws.reset_dimensions()
            for n, r in enumerate(ws.iter_rows(values_only=True), start=1):
                if n > conf.max_rows + HEADER_SEARCH:
                    raise InputError(Text(N_("the sheet has more than %(max)s rows"),
                                          max=conf.max_rows), file=source, row=n)
                rows.append([_text(v) for v in r[:conf.max_columns]])
            wb.close()
        except InputError:
            raise
        except Exception as exc:
            raise InputError(Text(N_("not a readable xlsx workbook: %(detail)s"),
                                  detail=str(exc)), file=source) from None
    elif path.suffix.lower() == ".csv":
        text = decode(raw, source)
        try:
            for n, r in enumerate(csv.reader(io.StringIO(text)), start=1):
                if n > conf.max_rows + HEADER_SEARCH:
                    raise InputError(Text(N_("the sheet has more than %(max)s rows"),
                                          max=conf.max_rows), file=source, row=n)
                rows.append([c.strip() for c in r[:conf.max_columns]])
        except csv.Error as exc:
            raise InputError(Text(N_("not a readable CSV table: %(detail)s"), detail=str(exc)),
                             file=source) from None
    else:
        raise InputError(Text(N_("Upload a .csv or .xlsx file.")), file=source)
    return rows


def read_sheet(path: str | Path, source: str | None = None) -> Sheet:
    """The people of an address-book export; problems of single cells are collected (the
    sheet as a whole must have a header with 姓名 and an id, else :class:`InputError`)."""
    p = Path(path)
    source = source or p.name
    grid = _grid(p, source)
    header_at = next((i for i, r in enumerate(grid[:HEADER_SEARCH])
                      if {"姓名", "name"} & set(r) and _ID_HEADERS & set(r)), None)
    if header_at is None:
        raise InputError(Text(N_("no header row with 姓名 and an id column (工号, 账号 or "
                                 "UserID) in the first %(n)s rows; is this an address-book "
                                 "export?"), n=HEADER_SEARCH), file=source)
    header = grid[header_at]
    at: dict[str, list[int]] = {}
    names: dict[str, list[str]] = {}
    for canon, options in HEADERS.items():
        for opt in options:
            if opt in header:
                at.setdefault(canon, []).append(header.index(opt))
                names.setdefault(canon, []).append(opt)
    kind = ("wecom" if {"账号", "帐号", "直属上级", "职务", "别名", "座机"} & set(header)
            else "dingtalk" if {"主管", "直属主管", "UserID", "员工UserID", "办公地点",
                                "工作地点"} & set(header)
            else "plain")
    problems: list[InputError] = []
    out: list[SheetRow] = []
    seen: dict[str, int] = {}

    def bad(message: str, row: int, canon: str, value: str | None) -> None:
        if len(problems) < MAX_PROBLEMS:
            col = names[canon][0] if canon in names else canon
            problems.append(InputError(message, file=source, row=row, column=col,
                                       value=value))

    def cell(r: list[str], canon: str) -> tuple[str, str]:
        """The first filled cell of a field: its value and its column's header."""
        for j, head in zip(at.get(canon, []), names.get(canon, []), strict=True):
            if j < len(r) and r[j]:
                return r[j], head
        return "", names[canon][0] if canon in names else canon

    for i, r in enumerate(grid[header_at + 1:], start=header_at + 2):
        if not any(r):
            continue
        code, _ = cell(r, "code")
        name, _ = cell(r, "name")
        if not code and not name:
            continue
        if not code:
            bad(N_("the employee id (工号 or 账号) is empty"), i, "code", None)
            continue
        if len(code) > 64:
            bad(N_("an employee id has at most 64 characters"), i, "code", code)
            continue
        if code in seen:
            bad(Text(N_("this id appears twice (row %(row)s too)"), row=seen[code]),
                i, "code", code)
            continue
        seen[code] = i
        if not name:
            bad(N_("the name is empty"), i, "name", None)
            continue
        row = SheetRow(row=i, code=code, name=name[:200])
        dept, _ = cell(r, "team")
        if dept:
            first = next((d.strip() for d in _SPLIT_DEPTS.split(dept) if d.strip()), "")
            row.team = [x.strip() for x in _SPLIT_PATH.split(first) if x.strip()][-1][:64] \
                if first and _SPLIT_PATH.sub("", first).strip() else None
        pos, _ = cell(r, "position")
        row.position = pos[:64] or None
        mgr, _ = cell(r, "manager")
        row.manager = next((m.strip() for m in _SPLIT_DEPTS.split(mgr) if m.strip()), None)
        mobile, head = cell(r, "mobile")
        if mobile and "*" not in mobile:
            try:
                row.mobile = normal_mobile(mobile)
            except ValueError:
                problems.append(InputError(N_("expected an 11-digit mobile number such as "
                                              "13800138000"), file=source, row=i,
                                           column=head, value=mobile))
        email, head = cell(r, "email")
        if email:
            try:
                row.email = normal_email(email)
            except ValueError:
                problems.append(InputError(N_("expected an e-mail address such as "
                                              "name@example.com"), file=source, row=i,
                                           column=head, value=email))
        hired, head = cell(r, "hire_date")
        if hired:
            m = _DATE.match(hired)
            try:
                if not m:
                    raise ValueError
                row.hire_date = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                problems.append(InputError(N_("expected a date such as 2026-03-01"),
                                           file=source, row=i, column=head, value=hired))
        status, _ = cell(r, "status")
        row.left = status in LEFT
        out.append(row)
    if not out and not problems:
        raise InputError(Text(N_("the sheet has a header but nobody in it")), file=source,
                         row=header_at + 1)
    return Sheet(source, kind, header_at + 1, names, out, problems)


# -- comparing with the records -----------------------------------------------------------------
def plan(session: Session, path: str | Path, *, actor: Actor, source: str | None = None
         ) -> OrgPlan:
    """What importing the sheet would change (nothing is written)."""
    require_people(actor)
    sheet = read_sheet(path, source)
    problems = list(sheet.problems)
    existing = {e.code: e for e in session.scalars(select(Employee))}
    teams = _teams(session)
    by_id: dict[int, Employee] = {e.id: e for e in existing.values()}
    in_sheet = {r.code: r for r in sheet.rows}
    # a supervisor is named by id, or by a name only one person has
    names: dict[str, set[str]] = {}
    for e in existing.values():
        if e.code not in in_sheet:
            names.setdefault(e.name, set()).add(e.code)
    for r in sheet.rows:
        names.setdefault(r.name, set()).add(r.code)
    mgr_col = sheet.columns.get("manager", ["manager"])[0]
    manager_of: dict[str, str] = {}
    for r in sheet.rows:
        if not r.manager:
            continue
        if r.manager in in_sheet or r.manager in existing:
            code = r.manager
        else:
            found = names.get(r.manager, set())
            if len(found) != 1:
                problems.append(InputError(
                    N_("no one in the sheet or the records has this id or name")
                    if not found else
                    Text(N_("%(n)s people have this name; give the supervisor's id"),
                         n=len(found)),
                    file=sheet.source, row=r.row, column=mgr_col, value=r.manager))
                continue
            code = next(iter(found))
        if code == r.code:
            problems.append(InputError(N_("a person cannot be their own supervisor"),
                                       file=sheet.source, row=r.row, column=mgr_col,
                                       value=r.manager))
            continue
        manager_of[r.code] = code
    people: list[PersonChange] = []
    known: dict[str, str] = {}
    new_teams: list[str] = []
    supervisors: list[tuple[str, str, str, str]] = []

    def name_of(code: str) -> str:
        if code in in_sheet:
            return in_sheet[code].name
        return existing[code].name if code in existing else code

    for r in sheet.rows:
        if r.team and r.team not in teams and r.team not in new_teams:
            new_teams.append(r.team)
        emp = existing.get(r.code)
        after: dict[str, str] = {"name": r.name}
        if "team" in sheet.columns:
            after["team"] = teams[r.team].code if r.team in teams else (r.team or "")
        if "position" in sheet.columns:
            after["position"] = r.position or ""
        if "manager" in sheet.columns:
            after["manager"] = manager_of.get(r.code, "")
        if "mobile" in sheet.columns and r.mobile:
            after["mobile"] = r.mobile
        if "email" in sheet.columns and r.email:
            after["email"] = r.email
        if "hire_date" in sheet.columns and r.hire_date:
            after["hire_date"] = r.hire_date.isoformat()
        if "status" in sheet.columns:
            after["status"] = "left" if r.left else (
                emp.status if emp is not None and emp.status != "left" else "active")
        if emp is None:
            people.append(PersonChange(r.row, r.code, r.name, "new"))
        else:
            manager = by_id.get(emp.manager_id) if emp.manager_id else None
            before = {"name": emp.name, "team": emp.team.code if emp.team else "",
                      "position": emp.position.code if emp.position else "",
                      "manager": manager.code if manager else "",
                      "mobile": emp.mobile or "", "email": emp.email or "",
                      "hire_date": emp.hire_date.isoformat() if emp.hire_date else "",
                      "status": emp.status}
            diff = [(k, before[k], v) for k, v in after.items() if before[k] != v]
            if before["manager"] and before["manager"] in existing:
                known[before["manager"]] = existing[before["manager"]].name
            people.append(PersonChange(r.row, r.code, r.name,
                                       "changed" if diff else "unchanged", diff))
            if not any(k == "manager" for k, _, _ in diff):
                continue
        if r.code in manager_of:
            mc = manager_of[r.code]
            supervisors.append((r.code, r.name, mc, name_of(mc)))
            known[mc] = name_of(mc)
    # a supervisor with an account of role supervisor looks after the teams of the people
    # who report to them
    team_supervisors: list[tuple[str, str, str]] = []
    users = {u.employee.code: u for u in session.scalars(select(User))
             if u.employee is not None and u.is_active and "supervisor" in u.roles}
    for r in sheet.rows:
        boss = manager_of.get(r.code)
        if boss is None or not r.team or boss not in users:
            continue
        u = users[boss]
        if r.team in teams and teams[r.team].id in (u.team_ids or []):
            continue
        item = (u.username, u.person_name, r.team)
        if item not in team_supervisors:
            team_supervisors.append(item)
    problems.sort(key=lambda e: (getattr(e, "row", 0) or 0))
    return OrgPlan(sheet.source, sheet.kind, people, new_teams, supervisors, team_supervisors,
                   problems, sheet.rows, known)


def apply(session: Session, path: str | Path, *, actor: Actor, source: str | None = None
          ) -> OrgPlan:
    """Import the sheet in the caller's transaction: all of it, or (with any problem, the
    first raised) nothing. Audited as one ``org.sheet_imported`` event."""
    found = plan(session, path, actor=actor, source=source)
    if found.problems:
        raise found.problems[0]
    existing = {e.code: e for e in session.scalars(select(Employee))}
    teams = _teams(session)
    positions = {p.code: p for p in session.scalars(select(Position))}
    by_row = {r.code: r for r in found.rows}
    touched = {p.code for p in found.people if p.kind != "unchanged"}
    for code in touched:
        r = by_row[code]
        emp = existing.get(code)
        if emp is None:
            emp = Employee(code=code, name=r.name, status="active")
            session.add(emp)
            existing[code] = emp
        emp.name = r.name
        if r.team:
            emp.team = teams.get(r.team) or _new(session, teams, Team, r.team)
        if r.position:
            emp.position = positions.get(r.position) or _new(session, positions, Position,
                                                             r.position)
        if r.mobile:
            emp.mobile = r.mobile
        if r.email:
            emp.email = r.email
        if r.hire_date:
            emp.hire_date = r.hire_date
        if r.left:
            emp.status = "left"
        elif emp.status == "left":
            emp.status = "active"
    session.flush()
    for p in found.people:
        if any(what == "manager" and not after for what, _before, after in p.changes):
            existing[p.code].manager_id = None  # the sheet names no supervisor any more
    for code, _name, mgr_code, _mgr_name in found.supervisors:
        existing[code].manager_id = existing[mgr_code].id
    for username, _name, team in found.team_supervisors:
        user = session.scalar(select(User).where(User.username == username))
        if user is not None:
            user.team_ids = [*(user.team_ids or []), teams[team].id]
    session.flush()
    record(session, action="org.sheet_imported", actor=actor, target_type="org",
           target_id=found.source[:100],
           details={"file": found.source, "kind": found.kind, "new": found.count("new"),
                    "changed": found.count("changed"), "unchanged": found.count("unchanged"),
                    "teams_created": found.teams_created,
                    "supervisors": [[c, m] for c, _, m, _ in found.supervisors],
                    "team_supervisors": [[u, t] for u, _, t in found.team_supervisors]})
    return found


def _teams(session: Session) -> dict[str, Team]:
    """The teams by code and by name (an export names a department, the records may have
    given it a code)."""
    out: dict[str, Team] = {}
    for t in session.scalars(select(Team)):
        out.setdefault(t.name, t)
    for t in session.scalars(select(Team)):
        out[t.code] = t
    return out


def _new(session: Session, known: dict[str, Any], model: type[Any], name: str) -> Any:
    made = model(code=name, name=name)
    session.add(made)
    known[name] = made
    return made
