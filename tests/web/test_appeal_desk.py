"""The appeal desk by form (HTTP, forms and CSRF tokens): inputs by their Chinese label and
levels from the scheme, the current result beside the previewed one before confirming,
evidence files attached by the appellant (limited, seen by them and HR only, downloaded
under their own names), overdue appeals marked, and the agent's 确认结果 asking first."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from kaohe.store.db import Database
from kaohe.store.models import Appeal, AppealEvidence, AppraisalState
from kaohe.web.app import create_app

from .test_access import ids, login, publish, shop  # noqa: F401 - the fixture is shared
from .test_browser import CHROMIUM, _go, _login, _shot, browser, expect, server  # noqa: F401

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def token(client: TestClient, path: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert m, path
    return m.group(1)


def appealed(db: Database) -> tuple[int, int]:
    """The shop published, E001's appeal filed through the page: (appraisal, appeal)."""
    publish(db)
    a1 = ids(db)["E001"]
    with TestClient(create_app(db, secret="s")) as agent:
        login(agent, "e1")
        page = f"/appraisals/{a1}"
        r = agent.post(f"{page}/appeal", data={"csrf": token(agent, page),
                                               "reason": "执行力评级有误"},
                       follow_redirects=False)
        assert r.status_code == 303
    with db.read() as s:
        appeal = s.scalar(select(Appeal.id))
    assert appeal is not None
    return a1, appeal


def test_hr_resolves_by_label_and_level_after_seeing_the_new_result(shop: Database) -> None:  # noqa: F811
    a1, appeal = appealed(shop)
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        r = hr.post(f"/hr/appeals/{appeal}/decide", data={
            "csrf": token(hr, "/hr/appeals"), "decision": "accept"}, follow_redirects=False)
        assert r.status_code == 303
        desk = hr.get("/hr/appeals").text
        card = desk[desk.index(f'id="appeal-{appeal}"'):]
        assert "当前结果" in card and "总分 90.00" in card  # the current result on the card
        assert "执行力" in card and "execution=" not in card and "<textarea" not in card
        # 执行力's levels are offered, as the scheme lists them
        for level in ("非常满意", "比较满意", "一般", "不满意"):
            assert f'<option value="{level}">{level}</option>' in card
        keys = re.findall(r'name="input_id" value="([^"]+)"', card)
        values = ["一般" if k == "execution" else "" for k in keys]
        tok = token(hr, "/hr/appeals")
        r = hr.post(f"/hr/appeals/{appeal}/preview", data={
            "csrf": tok, "input_id": keys, "value": values, "resolution": "复核后调整"})
        assert r.status_code == 200
        preview = r.text
        assert "执行力" in preview and "一般" in preview
        assert "90.00" in preview and "88.00" in preview  # now, and after the decision
        assert "高级" in preview and "中级" in preview
        with shop.read() as s:  # nothing is saved by the preview
            assert s.get(Appeal, appeal).state.value == "accepted"  # type: ignore[union-attr]
        # the confirmation carries exactly the previewed decision
        assert re.findall(r'name="input_id" value="([^"]+)"', preview) == ["execution"]
        r = hr.post(f"/hr/appeals/{appeal}/resolve", data={
            "csrf": tok, "input_id": ["execution"], "value": ["一般"],
            "resolution": "复核后调整"}, follow_redirects=False)
        assert r.status_code == 303
        scorecard = hr.get(f"/appraisals/{a1}").text
        assert "88.00" in scorecard
    with shop.read() as s:
        ap = s.get(Appeal, appeal)
        assert ap is not None and ap.changes == {"execution": "一般"}
        assert ap.state.value == "resolved"


def test_a_bad_level_in_the_preview_is_refused_with_its_name(shop: Database) -> None:  # noqa: F811
    _, appeal = appealed(shop)
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        hr.post(f"/hr/appeals/{appeal}/decide", data={
            "csrf": token(hr, "/hr/appeals"), "decision": "accept"})
        r = hr.post(f"/hr/appeals/{appeal}/preview", data={
            "csrf": token(hr, "/hr/appeals"), "input_id": ["执行力"], "value": ["超级满意"]})
        assert r.status_code == 422 and "超级满意" in r.text


def test_rejecting_an_appeal_asks_first(shop: Database) -> None:  # noqa: F811
    _, appeal = appealed(shop)
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        tok = token(hr, "/hr/appeals")
        r = hr.post(f"/hr/appeals/{appeal}/decide", data={
            "csrf": tok, "decision": "reject", "note": "证据不足"})
        assert r.status_code == 200 and "员工1（E001）" in r.text and "结果保持不变" in r.text
        assert 'name="note" value="证据不足"' in r.text  # the note is kept for the answer
        with shop.read() as s:
            assert s.get(Appeal, appeal).state.value == "filed"  # type: ignore[union-attr]
        r = hr.post(f"/hr/appeals/{appeal}/decide", data={
            "csrf": tok, "decision": "reject", "note": "证据不足", "confirm": "yes"},
            follow_redirects=False)
        assert r.status_code == 303
    with shop.read() as s:
        assert s.get(Appeal, appeal).state.value == "rejected"  # type: ignore[union-attr]


def test_evidence_is_attached_by_the_agent_and_seen_by_them_and_hr_only(shop: Database) -> None:  # noqa: F811
    a1, appeal = appealed(shop)
    page = f"/appeals/{appeal}/evidence"
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        assert f'href="{page}"' in agent.get(f"/appraisals/{a1}").text
        r = agent.post(page, data={"csrf": token(agent, page)},
                       files={"file": ("聊天 截图.png", PNG, "image/png")},
                       follow_redirects=False)
        assert r.status_code == 303
        listing = agent.get(page).text
        assert "聊天 截图.png" in listing and "只有你和 HR 可以查看这些文件" in listing
        # a renamed executable is refused, naming the file; nothing stored
        r = agent.post(page, data={"csrf": token(agent, page)},
                       files={"file": ("invoice.pdf", b"MZ\x90\x00", "application/pdf")})
        assert r.status_code == 422 and "invoice.pdf" in r.text and "PDF" in r.text
        # a file over 5 MB is refused
        big = PNG + b"\x00" * (5 * 2**20)
        r = agent.post(page, data={"csrf": token(agent, page)},
                       files={"file": ("big.png", big, "image/png")})
        assert r.status_code in (413, 422) and ("5 MB" in r.text or "过大" in r.text
                                                or "超过" in r.text)
    with shop.read() as s:
        ev = s.scalars(select(AppealEvidence.id)).all()
    assert len(ev) == 1
    url = f"{page}/{ev[0]}"
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        assert "聊天 截图.png" in hr.get("/hr/appeals").text  # on the appeal's card
        r = hr.get(url)
        assert r.status_code == 200 and r.content == PNG
        assert r.headers["content-type"] == "image/png"
        assert f"filename*=UTF-8''{quote('聊天 截图.png', safe='')}" in \
            r.headers["content-disposition"]
    with TestClient(create_app(shop, secret="s")) as sup:
        login(sup, "sup1")  # sees E001's appraisal, but not the evidence
        assert sup.get(url).status_code == 403
    with TestClient(create_app(shop, secret="s")) as other:
        login(other, "e3")  # not even the appraisal
        assert other.get(url).status_code == 404 and other.get(page).status_code == 404


def test_overdue_appeals_are_marked_on_the_desk(shop: Database) -> None:  # noqa: F811
    _, appeal = appealed(shop)
    with shop.transaction() as s:  # filed three weeks ago: the answer is long overdue
        s.execute(update(Appeal).values(filed_on=dt.date(2026, 10, 1),
                                        accept_due=dt.date(2026, 10, 9),
                                        resolve_due=dt.date(2026, 10, 23)))
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        desk = hr.get("/hr/appeals").text
    assert f'class="card overdue" id="appeal-{appeal}"' in desk
    assert "受理已逾期" in desk and "1 个申诉已逾期" in desk


def test_the_agent_confirms_before_acknowledging(shop: Database) -> None:  # noqa: F811
    publish(shop)
    a3 = ids(shop)["E003"]
    page = f"/appraisals/{a3}"
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e3")
        html = agent.get(page).text
        assert f'action="/appraisals/{a3}/confirm/acknowledge"' in html
        confirm = agent.get(f"{page}/confirm/acknowledge").text
        assert "确认后，本月结果不能再申诉" in confirm and "2026-10" in confirm
        m = re.search(r'name="version" value="(\d+)"', confirm)
        assert m
        r = agent.post(f"{page}/action", data={"csrf": token(agent, page), "confirm": "yes",
                                               "action": "acknowledge",
                                               "version": m.group(1)},
                       follow_redirects=False)
        assert r.status_code == 303
    with shop.read() as s:
        from kaohe.store.models import Appraisal

        assert s.get(Appraisal, a3).state is AppraisalState.acknowledged  # type: ignore[union-attr]


# -- in a real browser (Debian's Chromium) --------------------------------------------------
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_appeal_desk_in_the_browser(server: str, browser: Any, shop: Database,  # noqa: F811
                                    tmp_path: Path) -> None:
    publish(shop)
    a1, a3, a5 = (ids(shop)[c] for c in ("E001", "E003", "E005"))
    shot = tmp_path / "聊天截图.png"
    shot.write_bytes(PNG)
    # an agent on a phone: appeal, then attach a screenshot as evidence
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    _login(page, server, "e1")
    page.goto(f"{server}/appraisals/{a1}")
    page.fill("textarea[name=reason]", "执行力评级有误，当天已按要求跟进")
    _go(page, page.locator("button:text-is('提交申诉')"))
    _go(page, page.locator("a:text-is('证据材料')"))
    page.set_input_files("input[type=file]", str(shot))
    _go(page, page.locator("button:text-is('上传')"))
    expect(page.locator("main")).to_contain_text("已上传 聊天截图.png")
    # a renamed file is refused, with the reason, in Chinese
    fake = tmp_path / "发票.pdf"
    fake.write_bytes(b"MZ\x90\x00 not a pdf")
    page.goto(f"{server}/appeals/1/evidence")
    page.set_input_files("input[type=file]", str(fake))
    _go(page, page.locator("button:text-is('上传')"))
    expect(page.locator("main")).to_contain_text("文件内容不是其文件名所示的 PDF 文件")
    page.goto(f"{server}/appeals/1/evidence")
    _shot(page, "agent-appeal-evidence-phone")
    phone.close()
    # another agent's appeal was filed long ago and nobody answered it
    with shop.transaction() as s:
        from kaohe.store.models import User
        from kaohe.workflow import appeals
        from kaohe.workflow.audit import Actor

        u = s.scalar(select(User).where(User.username == "e3"))
        assert u is not None
        late = appeals.file_appeal(s, appraisal_id=a3, reason="差评数统计有误",
                                   actor=Actor(u.username, tuple(u.roles), u.id)).id
        s.execute(update(Appeal).where(Appeal.id == late).values(
            filed_on=dt.date(2026, 10, 12), accept_due=dt.date(2026, 10, 15),
            resolve_due=dt.date(2026, 10, 26)))
    # another agent acknowledges, after the confirmation
    ctx = browser.new_context()
    page = ctx.new_page()
    _login(page, server, "e5")
    page.goto(f"{server}/appraisals/{a5}")
    _go(page, page.locator("button:text-is('确认结果')"))
    expect(page.locator("main")).to_contain_text("确认后，本月结果不能再申诉")
    _shot(page, "agent-acknowledge-confirm")
    _go(page, page.locator("button:text-matches('^确认：')"))
    expect(page.locator("main")).to_contain_text("已确认")
    ctx.close()
    # HR: the overdue appeal is marked; accept E001's, pick 执行力 → 一般, preview, confirm
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    _login(page, server, "hr")
    page.goto(f"{server}/hr/appeals")
    expect(page.locator(f"#appeal-{late}")).to_have_class(re.compile("overdue"))
    expect(page.locator(f"#appeal-{late}")).to_contain_text("受理已逾期")
    card = page.locator("#appeal-1")
    expect(card).to_contain_text("聊天截图.png")
    expect(card).to_contain_text("总分 90.00")
    _shot(page, "hr-appeal-desk-overdue")
    _go(page, card.locator("button:text-is('受理')"))
    card = page.locator("#appeal-1")
    card.locator("table.decision tr", has_text="执行力").locator("select").select_option("一般")
    card.locator("input[name=resolution]").fill("复核聊天记录后调整为一般")
    _go(page, card.locator("button:text-is('预览处理结果')"))
    compare = page.locator("table.compare")
    expect(compare).to_contain_text("90.00")
    expect(compare).to_contain_text("88.00")
    expect(compare).to_contain_text("中级")
    _shot(page, "hr-appeal-preview")
    _go(page, page.locator("button:text-is('确认：处理并重新评分')"))
    expect(page.locator("main")).to_contain_text("申诉 1 已处理完毕")
    with page.expect_download() as dl:
        page.goto(f"{server}/appeals/1/evidence")
        page.locator("a:text-is('聊天截图.png')").click()
    assert dl.value.suggested_filename == "聊天截图.png"
    ctx.close()
    with shop.read() as s:
        ap = s.get(Appeal, 1)
        assert ap is not None and ap.changes == {"execution": "一般"}
