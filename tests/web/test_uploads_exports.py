"""Uploads and exports as HR uses them: the scheme's template downloaded, filled in with
openpyxl as Excel would, uploaded, previewed page by page and imported; the payroll and
the forms named in Chinese with their period and team (RFC 5987 ``filename*``)."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from kaohe.store.db import Database
from kaohe.store.models import Appraisal, Employee
from kaohe.web import hr
from kaohe.web.app import create_app

from .test_access import ids, login, publish, shop  # noqa: F401 - the fixture is shared

LEVELS = ["非常满意", "比较满意", "一般", "不满意"]


def token(client: TestClient, path: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert m, path
    return m.group(1)


def filename(r: Any) -> str:
    """The real (UTF-8) file name of a download, from its ``filename*``."""
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"")
    m = re.search(r"filename\*=UTF-8''([^;]+)$", disposition)
    assert m, disposition
    return unquote(m.group(1))


def fill(template: bytes, values: dict[str, dict[str, Any]]) -> bytes:
    """The template filled in as HR would in Excel: values typed under the Chinese headers
    (a ratio as a number in a percent cell, a level picked from the dropdown)."""
    wb = load_workbook(io.BytesIO(template))
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        code = row[0].value
        for header, value in values.get(code, {}).items():
            row[headers.index(header)].value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_the_template_is_the_scheme_in_chinese_with_dropdowns_and_formats(
        shop: Database) -> None:  # noqa: F811
    with TestClient(create_app(shop, secret="s")) as client:
        login(client, "hr")
        r = client.get("/hr/cycles/1/template.xlsx")
        assert r.status_code == 200
        assert filename(r) == "录入模板-淘宝售前客服月度KPI-2026-10.xlsx"
        assert 'filename="template-2026-10.xlsx"' in r.headers["content-disposition"]
        wb = load_workbook(io.BytesIO(r.content))
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["工号", "姓名", "团队"]
    assert {"实际销售额", "执行力", "旺旺满意度", "差评数", "全勤"} <= set(headers)
    people = [(r[0], r[1], r[2]) for r in ws.iter_rows(min_row=2, values_only=True) if r[0]]
    assert sorted(people) == sorted((f"E{i:03d}", f"员工{i}", "一组" if i % 2 else "二组")
                                    for i in range(1, 7))
    assert ws.freeze_panes == "C2"
    col = {h: i + 1 for i, h in enumerate(headers)}

    def letter(h: str) -> str:
        return str(ws.cell(1, col[h]).column_letter)

    lists = {str(dv.sqref).split(":")[0]: dv
             for dv in ws.data_validations.dataValidation if dv.type == "list"}
    dropdown = lists[f"{letter('执行力')}2"]
    assert dropdown.formula1 == '"' + ",".join(LEVELS) + '"'
    assert dropdown.showErrorMessage and dropdown.errorStyle in (None, "stop")  # stop: the default
    assert lists[f"{letter('全勤')}2"].formula1 == '"1,0"'
    # what is stored already is filled in (the shop's sheet: 105000, 98.5%, 比较满意)
    assert ws.cell(2, col["实际销售额"]).value == 105000
    assert ws.cell(2, col["旺旺满意度"]).value == pytest.approx(0.985)
    assert ws.cell(2, col["执行力"]).value == "比较满意"
    assert ws.cell(2, col["旺旺满意度"]).number_format == "0.00%"
    assert ws.cell(2, col["实际销售额"]).number_format == "#,##0.00"
    assert ws.cell(2, col["差评数"]).number_format == "0"
    assert wb.sheetnames[0] == "录入" and "填写说明" in wb.sheetnames
    help_text = " ".join(str(v) for r in wb["填写说明"].iter_rows(values_only=True)
                         for v in r if v)
    assert "执行力" in help_text and "非常满意、比较满意、一般、不满意" in help_text


def test_a_filled_template_uploads_pages_and_imports(shop: Database,  # noqa: F811
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hr, "PREVIEW_PAGE", 4)  # 6 people: two pages
    values = {f"E{i:03d}": {"实际销售额": 90000 + i, "执行力": LEVELS[i % 4],
                            "旺旺满意度": 0.95 + i / 1000, "差评数": i % 2}
              for i in range(1, 7)}
    with TestClient(create_app(shop, secret="s")) as client:
        login(client, "hr")
        sheet = fill(client.get("/hr/cycles/1/template.xlsx").content, values)
        r = client.post("/hr/cycles/1/inputs", data={"csrf": token(client, "/hr/cycles/1")},
                        files={"file": ("录入模板.xlsx", sheet)})
        assert r.status_code == 200, r.text
        html = r.text
        assert "<th title=\"sales\">实际销售额</th>" in html and "旺旺满意度" in html
        first = re.findall(r"<td>(员工\d)</td>", html)
        assert len(first) == 4  # a page of four, in the template's order (team, 工号)
        assert "导入全部 6 行" in html
        page2 = re.search(r'href="(/hr/cycles/1/inputs/preview\?token=[^"&]+&amp;page=2)"', html)
        assert page2, html
        html2 = client.get(page2.group(1).replace("&amp;", "&")).text
        second = re.findall(r"<td>(员工\d)</td>", html2)
        assert sorted(first + second) == [f"员工{i}" for i in range(1, 7)]
        assert "第 5–6 行，共 6 行" in html2
        tok = re.search(r'name="token" value="([^"]+)"', html2)
        assert tok
        r = client.post("/hr/cycles/1/inputs/confirm",
                        data={"csrf": token(client, "/hr/cycles/1"), "token": tok.group(1)},
                        follow_redirects=False)
        assert r.status_code == 303
        r = client.post("/hr/cycles/1/step/score", data={"csrf": token(client, "/hr/cycles/1")},
                        follow_redirects=False)
        assert r.status_code == 303, re.sub(r"<[^>]+>", " ", r.text)[-1500:]
    with shop.transaction() as s:
        stored = {r.code: r.inputs for r in s.execute(
            select(Employee.code, Appraisal.inputs).join(Appraisal))}
    for i in range(1, 7):
        got = stored[f"E{i:03d}"]
        assert Decimal(got["sales"]) == 90000 + i
        assert got["execution"] == LEVELS[i % 4]
        assert Decimal(got["satisfaction"]) == Decimal("0.95") + Decimal(i) / 1000
        assert Decimal(got["bad_reviews"]) == i % 2
        assert Decimal(got["sales_target"]) == 100000  # as stored, so as in the template


def test_a_bad_upload_lists_the_problem_and_offers_the_upload_again(
        shop: Database) -> None:  # noqa: F811
    with TestClient(create_app(shop, secret="s")) as client:
        login(client, "hr")
        sheet = fill(client.get("/hr/cycles/1/template.xlsx").content,
                     {"E002": {"执行力": "很好"}})
        r = client.post("/hr/cycles/1/inputs", data={"csrf": token(client, "/hr/cycles/1")},
                        files={"file": ("录入模板.xlsx", sheet)})
        assert r.status_code == 422
        assert "很好" in r.text and "执行力" in r.text
        # the form to upload the corrected file is on the same page, with the template
        assert 'action="/hr/cycles/1/inputs"' in r.text and 'type="file"' in r.text
        assert "/hr/cycles/1/template.xlsx" in r.text
        fixed = fill(sheet, {"E002": {"执行力": "一般"}})
        m = re.search(r'name="csrf" value="([^"]+)"', r.text)
        assert m
        r = client.post("/hr/cycles/1/inputs", data={"csrf": m.group(1)},
                        files={"file": ("录入模板.xlsx", fixed)})
        assert r.status_code == 200 and "导入全部 6 行" in r.text


def test_a_preview_page_needs_the_uploaders_token(shop: Database) -> None:  # noqa: F811
    with TestClient(create_app(shop, secret="s")) as client:
        login(client, "hr")
        r = client.get("/hr/cycles/1/inputs/preview?token=abcdefghijklmnop&page=2")
        assert r.status_code == 404


def test_payroll_and_forms_are_named_with_period_and_team(shop: Database) -> None:  # noqa: F811
    publish(shop)
    with TestClient(create_app(shop, secret="s")) as client:
        login(client, "hr")
        r = client.get("/hr/cycles/1/payroll.xlsx")
        assert r.status_code == 200 and filename(r) == "工资表-2026-10.xlsx"
        assert 'filename="payroll-2026-10.xlsx"' in r.headers["content-disposition"]
        r = client.get("/hr/cycles/1/payroll.xlsx?team=一组")
        assert r.status_code == 200 and filename(r) == "工资表-2026-10-一组.xlsx"
        ws = load_workbook(io.BytesIO(r.content)).active
        teams = {row[2] for row in ws.iter_rows(min_row=2, values_only=True) if row[0]}
        assert teams == {"一组"}
        r = client.get("/hr/cycles/1/forms.zip?team=二组")
        assert r.status_code == 200 and filename(r) == "考核表-2026-10-二组.zip"
        assert 'filename="forms-2026-10.zip"' in r.headers["content-disposition"]


def test_an_agent_gets_neither_template_nor_payroll(shop: Database) -> None:  # noqa: F811
    with TestClient(create_app(shop, secret="s")) as client:
        login(client, "e1")
        assert client.get("/hr/cycles/1/template.xlsx").status_code == 404
        assert client.get("/hr/cycles/1/payroll.xlsx").status_code == 404


def test_an_empty_workbook_is_a_clear_problem(shop: Database, tmp_path: Path) -> None:  # noqa: F811
    out = io.BytesIO()
    Workbook().save(out)
    with TestClient(create_app(shop, secret="s")) as client:
        login(client, "hr")
        r = client.post("/hr/cycles/1/inputs", data={"csrf": token(client, "/hr/cycles/1")},
                        files={"file": ("空.xlsx", out.getvalue())})
        assert r.status_code == 422 and 'type="file"' in r.text
    assert ids(shop)


# -- in the browser: template → fill → upload → page through → import; the board sorted,
# searched, exported and printed ---------------------------------------------------------
# a whole month in one browser, on a machine busy with the other test workers: one retry
# when a step times out or the page lags (a second failure fails the build)
@pytest.mark.flaky(reruns=1)
def test_uploads_board_and_exports_in_the_browser(shop: Database, tmp_path: Path,  # noqa: F811
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from .test_browser import CHROMIUM, _go, _login, _shot, expect

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    import threading
    import time

    import uvicorn
    from playwright.sync_api import sync_playwright

    from .served import free_port

    monkeypatch.setattr(hr, "PREVIEW_PAGE", 4)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(shop, secret="browser-test"),
                                        host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update"])
            ctx = browser.new_context(accept_downloads=True)
            page = ctx.new_page()
            _login(page, base, "hr")
            page.goto(f"{base}/hr/cycles/1")
            # the template, from the cycle's page
            with page.expect_download() as dl:
                page.click("a[href='/hr/cycles/1/template.xlsx']")
            assert dl.value.suggested_filename == "录入模板-淘宝售前客服月度KPI-2026-10.xlsx"
            template = tmp_path / dl.value.suggested_filename
            dl.value.save_as(template)
            filled = tmp_path / "十月数据.xlsx"
            filled.write_bytes(fill(template.read_bytes(), {
                f"E{i:03d}": {"执行力": LEVELS[i % 4], "差评数": 0} for i in range(1, 7)}))
            page.set_input_files("input[type=file]", str(filled))
            _go(page, page.locator("button:text-is('校验文件')"))
            main = page.locator("main")
            expect(main).to_contain_text("全部 6 行校验通过")
            expect(page.locator("#preview-rows thead")).to_contain_text("执行力")
            expect(page.locator("#preview-rows tbody tr")).to_have_count(4)
            _shot(page, "hr-upload-preview-page1")
            _go(page, page.locator("nav.pager a[rel=next]"))
            expect(page.locator("#preview-rows tbody tr")).to_have_count(2)
            expect(page.locator("nav.pager")).to_contain_text("第 5–6 行，共 6 行")
            _shot(page, "hr-upload-preview-page2")
            _go(page, page.locator("button:text-is('导入全部 6 行')"))
            expect(main).to_contain_text("已从 十月数据.xlsx 导入 6 行")
            # 立即评分 goes through the pre-check, which scores when nothing is missing
            _go(page, page.locator("a:text-is('立即评分')"))
            _go(page, page.locator("button:text-matches('^立即评分')"))
            # the board of 一组: sorted by total, searched as you type and by the form
            page.goto(f"{base}/team?period=2026-10&team=一组")
            _go(page, page.locator("#board-table th a", has_text="总分"))
            assert "sort=-total" in page.url  # the highest first
            rows = page.locator("#board-table tbody tr")
            expect(rows).to_have_count(3)
            page.fill("input[name=q]", "员工3")  # hidden at once by the script
            expect(page.locator("#board-table tbody tr:visible")).to_have_count(1)
            expect(page.locator("#board-count")).to_contain_text("1 / 3")
            _go(page, page.locator("#board-search button"))
            assert "q=%E5%91%98%E5%B7%A53" in page.url or "q=员工3" in page.url
            expect(rows).to_have_count(1)
            _shot(page, "team-board-searched")
            with page.expect_download() as dl:
                page.click("#board-search a.button")
            assert dl.value.suggested_filename == "团队看板-2026-10-一组.xlsx"
            # printed: the menu, the forms and the buttons are not on paper
            page.goto(f"{base}/team?period=2026-10&team=一组")
            page.emulate_media(media="print")
            expect(page.locator("header")).to_be_hidden()
            expect(page.locator("#board-search")).to_be_hidden()
            expect(page.locator("#board-table")).to_be_visible()
            _shot(page, "team-board-print")
            page.emulate_media(media="screen")
            expect(page.locator("header")).to_be_visible()
            # the months side by side, and the payroll once published
            page.goto(f"{base}/team/months?team=一组&year=2026")
            expect(page.locator("#months-table tfoot")).to_contain_text("团队平均")
            _shot(page, "team-months")
            _go(page, page.locator("#months-table a", has_text="E001 员工1"))
            expect(page.locator("#year-table tbody tr")).to_have_count(1)
            expect(page.locator("h1")).to_contain_text("2026 年度")
            _shot(page, "agent-year")
            publish(shop)
            page.goto(f"{base}/hr/cycles/1")
            with page.expect_download() as dl:
                page.click("a[href='/hr/cycles/1/payroll.xlsx?team=%E4%B8%80%E7%BB%84']")
            assert dl.value.suggested_filename == "工资表-2026-10-一组.xlsx"
            payroll = tmp_path / "payroll.xlsx"
            dl.value.save_as(payroll)
            ws = load_workbook(payroll).active
            assert [r[1] for r in ws.iter_rows(values_only=True)][-2:] == ["小计", "合计"]
            ctx.close()
            browser.close()
    finally:
        srv.should_exit = True
        thread.join(10)
