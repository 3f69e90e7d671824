"""Form mistakes on the scorecard come back next to the field, in the page's language, with
what was typed kept (no bare error page, nothing saved); scoring names the person."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kaohe.store.db import Database
from kaohe.store.models import FeedbackMeeting, Incident, Rating
from kaohe.web.app import create_app
from kaohe.workflow import cycles
from kaohe.workflow.audit import Actor
from kaohe.workflow.errors import WorkflowError

from ..store.factories import input_row, setup_org, write_inputs
from .test_access import ids, login, publish, shop  # noqa: F401 - the fixture is shared
from .test_browser import _go, _login, _shot, browser, expect, server  # noqa: F401

ADMIN = Actor("admin", ("admin",))


def token(client: TestClient, path: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert m
    return m.group(1)


def field_error(html: str, key: str) -> str:
    m = re.search(rf'<span class="field-error" role="alert" id="err-{key}">([^<]*)</span>', html)
    assert m, f"no error at {key}"
    return m.group(1)


def count(db: Database, model: type) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def to_supervisor_review(db: Database) -> None:
    with db.transaction() as s:
        cycles.advance_all(s, cycle_id=1, trigger="submit_self_review", actor=ADMIN)


def test_incident_count_mistake_is_shown_next_to_the_field(shop: Database) -> None:  # noqa: F811
    aid = ids(shop)["E001"]
    page = f"/appraisals/{aid}"
    with TestClient(create_app(shop, secret="s")) as sup:
        login(sup, "sup1")
        r = sup.post(f"{page}/incident", data={
            "csrf": token(sup, page), "input_id": "bad_reviews", "date": "2026-10-05",
            "count": "两次", "note": "买家投诉发货慢"})
        assert r.status_code == 422
        html = r.text
        assert "请填写数字" in field_error(html, "incident-count")
        assert "Input should be a valid decimal" not in html
        # what was typed is still there, the page is the scorecard, not an error page
        assert 'value="两次"' in html and 'value="买家投诉发货慢"' in html
        assert 'value="2026-10-05"' in html and "E001" in html
        assert count(shop, Incident) == 0
        # the same in English
        sup.get(f"{page}?lang=en")
        r = sup.post(f"{page}/incident", data={
            "csrf": token(sup, page), "input_id": "bad_reviews", "date": "5 Oct",
            "count": "1", "note": "late"})
        assert "Enter a date as year-month-day" in field_error(r.text, "incident-date")
        assert 'value="5 Oct"' in r.text
        # a service refusal (a date outside the month) is shown at the form, text kept
        sup.get(f"{page}?lang=zh")
        r = sup.post(f"{page}/incident", data={
            "csrf": token(sup, page), "input_id": "bad_reviews", "date": "2026-09-30",
            "count": "1", "note": "上月的差评"})
        assert r.status_code == 422 and "2026-09-30" in field_error(r.text, "incident")
        assert 'value="上月的差评"' in r.text
        assert count(shop, Incident) == 0


def test_rating_and_feedback_mistakes_keep_the_text(shop: Database) -> None:  # noqa: F811
    aid = ids(shop)["E001"]
    page = f"/appraisals/{aid}"
    with TestClient(create_app(shop, secret="s")) as sup:
        login(sup, "sup1")
        # self-review state: the supervisor's rating is refused, in Chinese, at the input
        r = sup.post(f"{page}/rate", data={"csrf": token(sup, page), "input_id": "execution",
                                           "role": "supervisor", "value": "一般"})
        assert r.status_code in (403, 409)
        assert "<h1>" in r.text and "E001" in r.text
        assert count(shop, Rating) == 0
        publish(shop)
        r = sup.post(f"{page}/feedback", data={"csrf": token(sup, page),
                                               "held_on": "下周一", "notes": "沟通了响应速度"})
        assert r.status_code == 422
        assert "年-月-日" in field_error(r.text, "feedback-held_on")
        assert "沟通了响应速度</textarea>" in r.text
        assert count(shop, FeedbackMeeting) == 0


def test_self_review_refused_keeps_what_the_agent_wrote(shop: Database) -> None:  # noqa: F811
    aid = ids(shop)["E001"]
    page = f"/appraisals/{aid}"
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        tok = token(agent, page)
        with shop.transaction() as s:  # meanwhile HR ends the self-review for everyone
            cycles.advance_all(s, cycle_id=1, trigger="submit_self_review", actor=ADMIN)
        r = agent.post(f"{page}/action", data={"csrf": tok, "action": "submit_self_review",
                                               "note": "本月接待量提升了两成", "version": "1"})
        assert r.status_code == 409
        assert "本月接待量提升了两成</textarea>" in r.text
        assert "不能提交自评" in r.text or "提交自评" in r.text
        # the appeal form: an empty reason is refused next to the field
        publish(shop)
        r = agent.post(f"{page}/appeal", data={"csrf": token(agent, page), "reason": "  "})
        assert r.status_code == 422 and "此项必填" in field_error(r.text, "appeal")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                    max_size=30).filter(lambda t: not t.strip().replace(".", "", 1).isdigit()))
def test_any_non_number_count_is_refused_and_kept(shop: Database, text: str) -> None:  # noqa: F811
    """Whatever non-number is typed as the count, the answer is the page with the text
    kept (escaped) and nothing saved."""
    from markupsafe import escape

    aid = ids(shop)["E001"]
    page = f"/appraisals/{aid}"
    with TestClient(create_app(shop, secret="s")) as sup:
        login(sup, "sup1")
        r = sup.post(f"{page}/incident", data={"csrf": token(sup, page),
                                               "input_id": "bad_reviews",
                                               "date": "2026-10-05", "count": text})
        if r.status_code == 303:  # a full-width number is a number
            return
        assert r.status_code == 422
        assert f'value="{escape(text)}"' in r.text
    assert count(shop, Incident) == 0


def test_scoring_gap_names_the_person(db: Database, tmp_path: Path) -> None:
    setup_org(db, tmp_path)
    rows = [input_row(f"E{i:03d}", "2026-11") for i in range(1, 7)]
    rows[4][10] = ""  # E005 has no 执行力 yet
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period="2026-11",
                                actor=ADMIN).id
        cycles.import_inputs(s, cycle_id=cid, path=write_inputs(tmp_path / "i.csv", rows),
                             actor=ADMIN)
    with db.transaction() as s, pytest.raises(WorkflowError) as caught:
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
    from kaohe.i18n import translate, using

    with using("zh"):
        text = translate(caught.value.args[0])
    assert "E005" in text and "员工5" in text and "执行力" in text
    # (the pre-check lists the gaps by person; any other problem of the stored inputs is
    # named the same way, by scoring)
    assert "员工5" in text and "E005" in text and "执行力" in text, text
    assert "row" not in text and "第" not in text


# -- in a real browser ----------------------------------------------------------------------
def test_inline_error_keeps_typed_text_in_the_browser(server: str, browser: Any,  # noqa: F811
                                                      shop: Database) -> None:  # noqa: F811
    aid = ids(shop)["E001"]
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    _login(page, server, "sup1")
    page.goto(f"{server}/appraisals/{aid}#incidents")
    form = page.locator(f'form[action="/appraisals/{aid}/incident"]')
    form.locator("input[name=count]").fill("两次")
    form.locator("input[name=note]").fill("买家投诉发货慢，已核实")
    _go(page, form.locator("button"))
    # the scorecard again: the reason beside 次数, in Chinese; the typed text is all there
    error = page.locator("#err-incident-count")
    expect(error).to_be_visible()
    expect(error).to_contain_text("请填写数字")
    form = page.locator(f'form[action="/appraisals/{aid}/incident"]')
    expect(form.locator("input[name=count]")).to_have_value("两次")
    expect(form.locator("input[name=note]")).to_have_value("买家投诉发货慢，已核实")
    # the field in error has the focus, so the user corrects it at once
    expect(form.locator("input[name=count]")).to_be_focused()
    assert page.locator("h1").inner_text().startswith("E001")
    error.scroll_into_view_if_needed()
    _shot(page, "inline-error-incident")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    _go(page, form.locator("button"))
    assert count(shop, Incident) == 1
    expect(page.locator(".field-error")).to_have_count(0)
    ctx.close()
