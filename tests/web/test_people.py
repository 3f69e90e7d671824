"""People in the web app: HR and admins create accounts (a one-time password shown once,
changed at the first login), reset passwords, disable accounts, give roles and teams, and
import the org sheet as 钉钉 or 企业微信 export it (preview, confirm). Over HTTP, and as a
journey in Chromium (screenshots in test-output/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kaohe.store.db import Database
from kaohe.store.models import AuditEvent, Employee, Team, User
from kaohe.web.app import create_app
from kaohe.workflow.audit import Actor
from kaohe.workflow.org import create_user

from ..store.test_org_admin import dingtalk_xlsx, wecom_xlsx
from .test_access import login, shop  # noqa: F401 - the fixture is shared
from .test_browser import _shot, browser, expect  # noqa: F401 - the fixture is shared
from .test_journeys import token


@pytest.fixture
def office(shop: Database) -> Database:  # noqa: F811
    """The shop with an admin account."""
    with shop.transaction() as s:
        create_user(s, username="admin", roles=["admin"], actor=Actor("t", ("admin",)),
                    password="pw", display_name="系统管理员")
    return shop


def _uid(db: Database, username: str) -> int:
    with db.read() as s:
        return int(s.scalars(select(User.id).where(User.username == username)).one())


def test_people_is_not_there_for_agents_supervisors_and_managers(office: Database) -> None:
    for who in ("e1", "sup1", "boss"):
        with TestClient(create_app(office, secret="s")) as c:
            login(c, who)
            assert c.get("/people").status_code == 404
            assert "/people" not in c.get("/account").text
            r = c.post("/people/users", data={"csrf": token(c, "/account"),
                                              "username": "x1", "name": "某人",
                                              "roles": "agent"})
            assert r.status_code == 404


def test_hr_creates_an_account_and_the_user_chooses_a_password(office: Database) -> None:
    with TestClient(create_app(office, secret="s")) as hr:
        login(hr, "hr")
        page = hr.get("/people").text
        assert "/people/users" in page and 'value="admin"' not in page  # HR gives no admin
        r = hr.post("/people/users", data={"csrf": token(hr, "/people"), "username": "li.na",
                                           "name": "李娜", "roles": ["agent", "supervisor"],
                                           "teams": ["二组"]})
        assert r.status_code == 200
        m = re.search(r'id="one-time-password">([^<]+)<', r.text)
        assert m and "李娜" in r.text
        one_time = m.group(1)
        assert "one-time-password" not in hr.get("/people").text  # shown once
        r = hr.post("/people/users", data={"csrf": token(hr, "/people"), "username": "boss2",
                                           "name": "某人", "roles": "hr"})
        assert r.status_code == 403
    with TestClient(create_app(office, secret="s")) as new:
        login(new, "li.na", one_time)
        r = new.get("/", follow_redirects=False)
        assert r.headers["location"] == "/account#password"
        assert "choose your own" in new.get("/account?lang=en").text
        r = new.post("/account/password", data={"csrf": token(new, "/account"),
                                                "current": one_time, "new": "li-na-secret",
                                                "confirm": "li-na-secret"},
                     follow_redirects=False)
        assert r.status_code == 303
        assert new.get("/", follow_redirects=False).headers["location"] == "/team"
    with office.read() as s:
        user = s.scalar(select(User).where(User.username == "li.na"))
        two = s.scalar(select(Team.id).where(Team.code == "二组"))
        assert user is not None and user.team_ids == [two] and not user.must_change_password


def test_hr_resets_disables_and_gives_roles_but_not_to_admins(office: Database) -> None:
    e2, admin = _uid(office, "e2"), _uid(office, "admin")
    with TestClient(create_app(office, secret="s")) as hr:
        login(hr, "hr")
        r = hr.post(f"/people/users/{e2}/password", data={"csrf": token(hr, "/people")})
        assert r.status_code == 200
        m = re.search(r'id="one-time-password">([^<]+)<', r.text)
        assert m
        r = hr.post(f"/people/users/{e2}/roles", data={"csrf": token(hr, "/people"),
                                                       "roles": ["agent", "supervisor"]},
                    follow_redirects=False)
        assert r.status_code == 303
        r = hr.post(f"/people/users/{e2}/teams", data={"csrf": token(hr, "/people"),
                                                       "teams": "一组"}, follow_redirects=False)
        assert r.status_code == 303
        r = hr.post(f"/people/users/{e2}/active", data={"csrf": token(hr, "/people"),
                                                        "active": "false"},
                    follow_redirects=False)
        assert r.status_code == 303
        assert hr.post(f"/people/users/{admin}/password",
                       data={"csrf": token(hr, "/people")}).status_code == 403
        assert hr.post(f"/people/users/{admin}/active",
                       data={"csrf": token(hr, "/people"), "active": "false"}).status_code == 403
    with office.read() as s:
        user = s.get(User, e2)
        assert user is not None and user.roles == ["agent", "supervisor"]
        assert not user.is_active and user.must_change_password
    with TestClient(create_app(office, secret="s")) as c:
        page = c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        r = c.post("/login", data={"username": "e2", "password": m.group(1),
                                   "csrf": csrf.group(1)})
        assert r.status_code == 400  # disabled


def test_org_sheet_preview_then_import(office: Database, tmp_path: Path) -> None:
    sheet = dingtalk_xlsx(tmp_path / "钉钉通讯录.xlsx", [
        ["员工1", "E001", "u1", "13800138001", "总部/客服部/一组", "售前客服", "赵主管", "", "",
         "", ""],
        ["赵主管", "S001", "u9", "", "总部/客服部", "主管", "", "", "2024-01-02", "", ""],
    ])
    with TestClient(create_app(office, secret="s")) as hr:
        login(hr, "hr")
        r = hr.post("/people/org", data={"csrf": token(hr, "/people")},
                    files={"file": (sheet.name, sheet.read_bytes(), "application/octet-stream")})
        assert r.status_code == 200, r.text[:500]
        assert "钉钉" in r.text or "DingTalk" in r.text
        assert "赵主管" in r.text and "客服部" in r.text
        with office.read() as s:
            assert s.scalar(select(func.count()).select_from(Employee)) == 6
        m = re.search(r'name="token" value="([^"]+)"', r.text)
        assert m
        r = hr.post("/people/org/confirm", data={"csrf": token(hr, "/people"),
                                                 "token": m.group(1)}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/people"
        page = hr.get("/people").text
        assert "赵主管" in page
    with office.read() as s:
        e1 = s.scalar(select(Employee).where(Employee.code == "E001"))
        boss = s.scalar(select(Employee.id).where(Employee.code == "S001"))
        assert e1 is not None and e1.manager_id == boss
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "org.sheet_imported")) == 1


def test_a_bad_org_sheet_names_row_column_and_value(office: Database, tmp_path: Path) -> None:
    sheet = wecom_xlsx(tmp_path / "成员.xlsx", [
        ["员工1", "E001", "", "客服", "一组", "", "12345", "", "", "", "", ""],
        ["新人", "N001", "", "客服", "一组", "", "", "", "", "", "查无此人", ""],
    ])
    with TestClient(create_app(office, secret="s")) as hr:
        login(hr, "hr")
        r = hr.post("/people/org", data={"csrf": token(hr, "/people")},
                    files={"file": (sheet.name, sheet.read_bytes(), "application/octet-stream")})
        assert r.status_code == 422
        rows = re.findall(r"<tr><td class=\"num\"[^>]*>(\d+)</td><td[^>]*>([^<]*)</td>"
                          r"<td[^>]*>([^<]*)</td>", r.text)
        assert ("4", "手机", "12345") in rows and ("5", "直属上级", "查无此人") in rows
        assert 'name="token"' not in r.text
    with office.read() as s:
        assert s.scalar(select(func.count()).select_from(Employee)) == 6


# -- in Chromium ------------------------------------------------------------------------------
@pytest.fixture
def people_server(office: Database) -> Iterator[str]:
    """The app on a loopback port, as tests/web/test_browser.py serves it (with an admin)."""
    import threading
    import time

    import uvicorn

    from .served import free_port

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(office, secret="browser-test"),
                                        host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def test_people_journey_in_chromium(people_server: str, browser: Any,  # noqa: F811
                                    tmp_path: Path, office: Database) -> None:
    base = people_server
    sheet = wecom_xlsx(tmp_path / "企业微信成员.xlsx", [
        ["王芳", "S100", "", "客服主管", "客服部/三组", "女", "13800138100", "", "", "", "",
         "已激活"],
        ["员工1", "E001", "", "客服", "客服部/三组", "男", "", "", "", "", "S100", "已激活"],
        ["员工2", "E002", "", "客服", "客服部/三组", "女", "", "", "", "", "王芳", "已激活"],
    ])
    # the admin creates the account of a new supervisor
    admin = browser.new_page()
    _login_as(admin, base, "admin", "pw")
    admin.click("header a[href='/people']")
    admin.fill("input[name=username]", "wang.fang")
    admin.fill("#new-account + form input[name=name]", "王芳")
    admin.uncheck("#new-account + form input[name=roles][value=agent]")
    admin.check("#new-account + form input[name=roles][value=supervisor]")
    admin.click("text=创建账号")
    expect(admin.locator("#issued")).to_contain_text("王芳")
    one_time = admin.locator("#one-time-password").inner_text()
    _shot(admin, "people-admin-created")
    # HR imports the WeCom member list and makes 王芳 the supervisor of 三组
    bad = wecom_xlsx(tmp_path / "有错的成员表.xlsx", [
        ["王芳", "S100", "", "客服主管", "客服部/三组", "女", "1380013", "", "", "", "", ""],
        ["员工1", "E001", "", "客服", "客服部/三组", "男", "", "", "", "", "查无此人", ""],
    ])
    hr = browser.new_page()
    _login_as(hr, base, "hr", "pw")
    hr.goto(f"{base}/people")
    hr.set_input_files("#org-sheet + form input[type=file]", str(bad))
    hr.click("#org-sheet + form button")
    expect(hr.locator("[role=alert]")).to_contain_text("2")
    expect(hr.locator("main table")).to_contain_text("查无此人")
    expect(hr.locator("main table")).to_contain_text("应为 11 位手机号")
    _shot(hr, "people-org-errors")
    hr.set_input_files("main form input[type=file]", str(sheet))  # again, from the error page
    hr.click("main form button.primary")
    expect(hr.locator("main")).to_contain_text("企业微信")
    expect(hr.locator("main")).to_contain_text("王芳")
    _shot(hr, "people-org-preview")
    hr.click("text=导入通讯录 >> nth=-1")
    expect(hr.locator(".flash")).to_contain_text("1 个新建")
    row = hr.locator("#accounts ~ div tr", has_text="wang.fang")
    row.locator("summary").click()
    row.locator("input[name=employee]").fill("S100")  # her account is 王芳 of the sheet
    row.locator("text=关联员工").click()
    expect(hr.locator(".flash")).to_contain_text("王芳")
    row = hr.locator("#accounts ~ div tr", has_text="wang.fang")
    row.locator("summary").click()
    row.locator("input[name=teams][value='三组']").check()
    row.locator("text=保存团队").click()
    expect(hr.locator(".flash")).to_contain_text("王芳")
    _shot(hr, "people-after-import")
    # the new supervisor logs in with the one-time password and is asked to choose one
    sup = browser.new_page()
    _login_as(sup, base, "wang.fang", one_time)
    expect(sup.locator("[role=alert]")).to_be_visible()
    _shot(sup, "people-first-login")
    sup.fill("input[name=current]", one_time)
    sup.fill("input[name=new]", "wang-fang-secret")
    sup.fill("input[name=confirm]", "wang-fang-secret")
    sup.click("#password ~ form button.primary")
    sup.goto(f"{base}/team")
    expect(sup.locator("main")).to_contain_text("员工1")
    _shot(sup, "people-supervisor-team")
    with office.read() as s:
        emps = {e.code: e for e in s.scalars(select(Employee))}
        assert emps["E001"].manager_id == emps["S100"].id == emps["E002"].manager_id
        user = s.scalar(select(User).where(User.username == "wang.fang"))
        assert user is not None and not user.must_change_password
        assert user.employee_id == emps["S100"].id


def _login_as(page: Any, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
