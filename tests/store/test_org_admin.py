"""Managing people: who may create accounts, reset passwords, disable, give roles and teams
(the rules in kaohe.workflow.accounts), and the org sheet as 钉钉 and 企业微信 export it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import func, select

from kaohe.errors import InputError
from kaohe.store.db import Database
from kaohe.store.models import AuditEvent, Employee, Team, User
from kaohe.workflow import accounts, orgsheet
from kaohe.workflow.audit import Actor
from kaohe.workflow.errors import Invalid, NotAllowed
from kaohe.workflow.org import actor_for
from kaohe.workflow.passwords import verify_password

from .factories import setup_org


@pytest.fixture
def org_db(db: Database, tmp_path: Path) -> Database:
    setup_org(db, tmp_path)
    with db.transaction() as s:
        from kaohe.workflow.org import create_user

        create_user(s, username="root", roles=["admin"], actor=Actor("t", ("admin",)),
                    password="root-password", display_name="管理员")
    return db


def _as(s: object, username: str) -> Actor:
    actor, _ = actor_for(s, username)  # type: ignore[arg-type]
    return actor


# -- the permissions matrix -------------------------------------------------------------------
@pytest.mark.parametrize("who", ["e1", "sup1", "boss"])
def test_agents_supervisors_and_managers_manage_nobody(org_db: Database, who: str) -> None:
    with org_db.transaction() as s:
        me = _as(s, who)
        with pytest.raises(NotAllowed):
            accounts.create_account(s, username="new1", display_name="新人", roles=["agent"],
                                    actor=me)
        with pytest.raises(NotAllowed):
            accounts.reset_password(s, username="e2", actor=me)
        with pytest.raises(NotAllowed):
            accounts.set_active(s, username="e2", active=False, actor=me)
        with pytest.raises(NotAllowed):
            accounts.set_roles(s, username="e2", roles=["supervisor"], actor=me)
        with pytest.raises(NotAllowed):
            accounts.set_teams(s, username="sup2", teams=["二组"], actor=me)


@pytest.mark.parametrize(("who", "roles", "allowed"), [
    ("hr", ["agent"], True), ("hr", ["supervisor", "agent"], True), ("hr", ["manager"], True),
    ("hr", ["hr"], False), ("hr", ["admin"], False),
    ("root", ["hr"], True), ("root", ["admin"], True),
])
def test_who_gives_which_role(org_db: Database, who: str, roles: list[str],
                              allowed: bool) -> None:
    with org_db.transaction() as s:
        me = _as(s, who)
        if allowed:
            made = accounts.create_account(s, username="new1", display_name="新人",
                                           roles=roles, actor=me)
            assert made.user.roles == roles and made.user.must_change_password
        else:
            with pytest.raises(NotAllowed):
                accounts.create_account(s, username="new1", display_name="新人", roles=roles,
                                        actor=me)


def test_hr_manages_agents_but_not_hr_or_admins(org_db: Database) -> None:
    with org_db.transaction() as s:
        hr = _as(s, "hr")
        pw, _ = accounts.reset_password(s, username="sup1", actor=hr)
        assert pw is not None and len(pw) == accounts.ONE_TIME_LENGTH
        with pytest.raises(NotAllowed):
            accounts.reset_password(s, username="root", actor=hr)
        with pytest.raises(NotAllowed):
            accounts.set_active(s, username="root", active=False, actor=hr)
        with pytest.raises(NotAllowed):  # making an agent HR is the admin's
            accounts.set_roles(s, username="e1", roles=["hr"], actor=hr)
        accounts.set_roles(s, username="e1", roles=["agent", "supervisor"], actor=hr)
        accounts.set_teams(s, username="e1", teams=["二组"], actor=hr)
        root = _as(s, "root")
        accounts.reset_password(s, username="hr", actor=root, password="given-password")
        with pytest.raises(Invalid):  # the last admin keeps the role
            accounts.set_roles(s, username="root", roles=["hr"], actor=root)
    with org_db.read() as s:
        e1 = s.scalar(select(User).where(User.username == "e1"))
        two = s.scalar(select(Team.id).where(Team.code == "二组"))
        assert e1 is not None and e1.roles == ["agent", "supervisor"] and e1.team_ids == [two]
        hr_user = s.scalar(select(User).where(User.username == "hr"))
        assert hr_user is not None and verify_password(hr_user.password_hash, "given-password")
        assert hr_user.must_change_password
        actions = set(s.scalars(select(AuditEvent.action)))
        assert {"user.password_changed", "user.roles_changed", "user.teams_changed"} <= actions


def test_a_one_time_password_is_changed_at_the_first_login(org_db: Database) -> None:
    with org_db.transaction() as s:
        made = accounts.create_account(s, username="li.na", display_name="李娜",
                                       roles=["agent"], actor=_as(s, "hr"))
        assert made.password and made.user.must_change_password
        uid = made.user.id
    started = accounts.login(org_db, username="li.na", password=made.password, address="t")
    assert started is not None
    with org_db.transaction() as s:
        accounts.change_password(s, username="li.na", new_password="my-own-secret",
                                 actor=_as(s, "li.na"), current_password=made.password)
        user = s.get(User, uid)
        assert user is not None and not user.must_change_password


def test_teams_only_for_supervisors_and_unknown_teams_are_named(org_db: Database) -> None:
    with org_db.transaction() as s:
        hr = _as(s, "hr")
        with pytest.raises(Invalid, match="supervisor"):
            accounts.set_teams(s, username="e1", teams=["一组"], actor=hr)
        with pytest.raises(Exception, match="三组"):
            accounts.set_teams(s, username="sup1", teams=["三组"], actor=hr)
        with pytest.raises(Invalid):
            accounts.create_account(s, username="has space", display_name="x",
                                    roles=["agent"], actor=hr)


# -- the org sheet --------------------------------------------------------------------------
DING_HEADER = ["姓名", "工号", "UserID", "手机", "部门", "职位", "主管", "邮箱", "入职时间",
               "办公地点", "备注"]
WECOM_HEADER = ["姓名", "账号", "别名", "职务", "部门", "性别", "手机", "座机", "个人邮箱",
                "地址", "直属上级", "状态"]


def dingtalk_xlsx(path: Path, rows: list[list[object]]) -> Path:
    """As 钉钉 exports the address book: a merged title row, then the header."""
    wb = Workbook()
    ws = wb.active
    ws.append(["通讯录导出（导出时间：2026-11-20 10:00）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(DING_HEADER))
    ws.append(DING_HEADER)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def wecom_xlsx(path: Path, rows: list[list[object]]) -> Path:
    """As 企业微信 exports members: two merged note rows above the header."""
    wb = Workbook()
    ws = wb.active
    ws.append(["成员列表"])
    ws.append(["说明：手机、邮箱至少填写一项；部门之间用;隔开"])
    for i in (1, 2):
        ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=len(WECOM_HEADER))
    ws.append(WECOM_HEADER)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_a_dingtalk_export_previews_then_imports(org_db: Database, tmp_path: Path) -> None:
    sheet = dingtalk_xlsx(tmp_path / "钉钉通讯录.xlsx", [
        ["员工1", "E001", "u1", "13800138001", "总部/客服部/一组", "售前客服", "林主管", "", None,
         "杭州", ""],
        ["员工2", "E002", "u2", "+86 138-0013-8002", "总部/客服部/三组", "售前客服", "林主管",
         "e2@example.com", dt.datetime(2025, 3, 1), "", ""],
        ["林主管", "S001", "u9", "", "总部/客服部", "主管", "", "", "2024/01/02", "", ""],
        ["王新", "", "ding-7", "138****0000", "总部/客服部/三组", "售前客服", "S001", "", "", "",
         ""],
    ])
    with org_db.transaction() as s:
        hr = _as(s, "hr")
        plan = orgsheet.plan(s, sheet, actor=hr)
        assert plan.kind == "dingtalk" and not plan.problems
        kinds = {p.code: p.kind for p in plan.people}
        assert kinds == {"E001": "changed", "E002": "changed", "S001": "new", "ding-7": "new"}
        e2 = next(p for p in plan.people if p.code == "E002")
        assert ("team", "二组", "三组") in e2.changes
        assert plan.teams_created == ["三组", "客服部"]
        assert ("ding-7", "王新", "S001", "林主管") in plan.supervisors
        assert s.scalar(select(func.count()).select_from(Employee)) == 6  # nothing written
    with org_db.transaction() as s:
        orgsheet.apply(s, sheet, actor=_as(s, "hr"))
    with org_db.read() as s:
        emps = {e.code: e for e in s.scalars(select(Employee))}
        assert emps["E002"].team is not None and emps["E002"].team.code == "三组"
        assert emps["E002"].mobile == "13800138002"
        assert emps["E002"].hire_date == dt.date(2025, 3, 1)
        assert emps["ding-7"].mobile is None  # masked in the export
        assert emps["ding-7"].manager_id == emps["S001"].id == emps["E001"].manager_id
        ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "org.sheet_imported"))
        assert ev is not None and ev.details["new"] == 2 and ev.actor["username"] == "hr"
    with org_db.transaction() as s:  # the same sheet again changes nothing
        again = orgsheet.plan(s, sheet, actor=_as(s, "hr"))
        assert {p.kind for p in again.people} == {"unchanged"}
        assert not again.teams_created and not again.supervisors


def test_a_wecom_export_assigns_supervisors_and_their_teams(org_db: Database,
                                                           tmp_path: Path) -> None:
    with org_db.transaction() as s:  # sup2 is the person S002 in the records
        s.add(Employee(code="S002", name="何静"))
        s.flush()
        sup2 = s.scalar(select(User).where(User.username == "sup2"))
        assert sup2 is not None
        sup2.employee_id = s.scalar(select(Employee.id).where(Employee.code == "S002"))
    sheet = wecom_xlsx(tmp_path / "成员.xlsx", [
        ["员工3", "E003", "", "客服", "客服部/二组", "女", "13800138003", "", "", "", "S002",
         "已激活"],
        ["员工5", "E005", "", "客服", "客服部/二组;质检组", "男", "", "", "", "", "何静", "已退出"],
        ["何静", "S002", "", "主管", "客服部/二组", "女", "", "", "", "", "", "已激活"],
    ])
    with org_db.transaction() as s:
        plan = orgsheet.apply(s, sheet, actor=_as(s, "hr"))
        assert plan.kind == "wecom"
        assert plan.team_supervisors == [("sup2", "何静", "二组")]
    with org_db.read() as s:
        emps = {e.code: e for e in s.scalars(select(Employee))}
        assert emps["E003"].manager_id == emps["S002"].id == emps["E005"].manager_id
        assert emps["E005"].status == "left"
        sup2 = s.scalar(select(User).where(User.username == "sup2"))
        two = s.scalar(select(Team.id).where(Team.code == "二组"))
        assert sup2 is not None and two in sup2.team_ids


def test_bad_rows_are_named_and_nothing_is_written(org_db: Database, tmp_path: Path) -> None:
    sheet = dingtalk_xlsx(tmp_path / "bad.xlsx", [
        ["员工1", "E001", "", "12345", "一组", "", "", "", "", "", ""],
        ["", "E002", "", "", "一组", "", "", "", "", "", ""],
        ["新人", "N001", "", "", "一组", "", "查无此人", "not-mail", "2026-02-30", "", ""],
        ["新人二", "E001", "", "", "一组", "", "", "", "", "", ""],
    ])
    with org_db.transaction() as s:
        plan = orgsheet.plan(s, sheet, actor=_as(s, "hr"))
        where = {(e.row, e.column, e.value) for e in plan.problems}
        assert (3, "手机", "12345") in where
        assert (4, "姓名", None) in where
        assert (5, "主管", "查无此人") in where
        assert (5, "邮箱", "not-mail") in where
        assert (5, "入职时间", "2026-02-30") in where
        assert (6, "工号", "E001") in where
        with pytest.raises(InputError) as err:
            orgsheet.apply(s, sheet, actor=_as(s, "hr"))
        assert err.value.row == 3
    with org_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Employee)) == 6
        assert s.scalar(select(Employee.mobile).where(Employee.code == "E001")) is None
        assert not s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "org.sheet_imported"))


def test_a_sheet_without_a_header_or_from_an_agent_is_refused(org_db: Database,
                                                              tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n", encoding="utf-8")
    plain = tmp_path / "plain.csv"
    plain.write_text("工号,姓名,部门\nE001,员工1,一组\n", encoding="utf-8")
    with org_db.transaction() as s:
        with pytest.raises(InputError, match="姓名"):
            orgsheet.plan(s, odd, actor=_as(s, "hr"))
        with pytest.raises(NotAllowed):
            orgsheet.plan(s, plain, actor=_as(s, "sup1"))
        plan = orgsheet.plan(s, plain, actor=_as(s, "hr"))
        assert plan.kind == "plain" and {p.kind for p in plan.people} == {"unchanged"}


def test_an_account_is_linked_to_its_person_and_the_cli_imports_the_sheet(
        org_db: Database, tmp_path: Path) -> None:
    from ..web.test_sessions import kaohe_cli

    with org_db.transaction() as s:
        hr = _as(s, "hr")
        with pytest.raises(Invalid):  # e1 has E001 already
            accounts.set_employee(s, username="sup1", employee_code="E001", actor=hr)
        with pytest.raises(NotAllowed):
            accounts.set_employee(s, username="sup1", employee_code="E002",
                                  actor=_as(s, "sup2"))
    sheet = wecom_xlsx(tmp_path / "成员.xlsx", [
        ["林主管", "S001", "", "主管", "客服部/一组", "", "", "", "", "", "", ""],
        ["员工1", "E001", "", "客服", "客服部/一组", "", "", "", "", "", "S001", ""],
    ])
    r = kaohe_cli(org_db, "org", "sheet", str(sheet), "--dry-run", "--as", "hr")
    assert r.returncode == 0, r.stderr
    assert "would import (wecom): 1 new, 1 changed" in r.stdout
    with org_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Employee)) == 6
    r = kaohe_cli(org_db, "org", "sheet", str(sheet), "--as", "hr")
    assert r.returncode == 0 and "supervisor E001 员工1 → S001 林主管" in r.stdout, r.stderr
    with org_db.transaction() as s:
        accounts.set_employee(s, username="sup1", employee_code="S001", actor=_as(s, "hr"))
    r = kaohe_cli(org_db, "user", "reset", "sup1", "--as", "hr")
    assert r.returncode == 0 and "one-time password of sup1: " in r.stdout
    r = kaohe_cli(org_db, "user", "roles", "e1", "--role", "admin", "--as", "hr")
    assert r.returncode != 0 and "may not give the role admin" in r.stderr
    r = kaohe_cli(org_db, "user", "add", "x9", "--role", "admin", "--password", "long-enough",
                  "--as", "hr")
    assert r.returncode != 0
    with org_db.read() as s:
        sup1 = s.scalar(select(User).where(User.username == "sup1"))
        assert sup1 is not None and sup1.person_name == "林主管" and sup1.must_change_password
        assert s.scalar(select(User).where(User.username == "x9")) is None


_part = st.text(alphabet="客服部售前后组一二三四五六ABC", min_size=1, max_size=6)


@settings(max_examples=40, deadline=None)
@given(people=st.lists(st.tuples(st.from_regex(r"[A-Z]{1,3}\d{1,4}", fullmatch=True),
                                 st.text(alphabet="王李张刘陈杨赵黄周吴芳娜敏静伟强", min_size=2,
                                         max_size=4),
                                 st.lists(_part, min_size=1, max_size=4),
                                 st.integers(0, 3)),
                       min_size=1, max_size=12, unique_by=lambda p: p[0]),
       sep=st.sampled_from(["/", "／"]))
def test_every_person_of_an_export_is_read_with_the_last_department(
        people: list[tuple[str, str, list[str], int]], sep: str) -> None:
    """Whatever the title rows above the header and the department paths: each person comes
    back with their id, name and the last part of their first department, at the row the
    spreadsheet shows."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        wb = Workbook()
        ws = wb.active
        titles = people[0][3]
        for i in range(titles):
            ws.append([f"说明 {i}"])
        ws.append(["姓名", "账号", "部门", "直属上级"])
        for code, name, path, _ in people:
            ws.append([name, code, sep.join(path) + ";其他部门", ""])
        wb.save(f"{folder}/m.xlsx")
        sheet = orgsheet.read_sheet(f"{folder}/m.xlsx")
    assert not sheet.problems and sheet.header_row == titles + 1
    got = [(r.row, r.code, r.name, r.team) for r in sheet.rows]
    assert got == [(titles + 2 + i, code, name, path[-1])
                   for i, (code, name, path, _) in enumerate(people)]
