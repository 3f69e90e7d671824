"""The monthly journeys through the web app's forms (HTTP, CSRF tokens and all): agent
self-review, supervisor rating, HR scoring and publishing, agent appeal, HR resolution."""

from __future__ import annotations

import io
import re
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from kaohe.store.db import Database
from kaohe.store.models import Appeal, Appraisal, AppraisalState, Rating
from kaohe.web.app import create_app

from .test_access import ids, login, publish, shop  # noqa: F401 - the fixture is shared


def token(client: TestClient, path: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert m, path
    return m.group(1)


def post(client: TestClient, path: str, page: str, **data: str) -> int:
    r = client.post(path, data={"csrf": token(client, page), **data}, follow_redirects=False)
    return r.status_code


def state(db: Database, aid: int) -> AppraisalState:
    with db.transaction() as s:
        app = s.get(Appraisal, aid)
        assert app is not None
        return app.state


def test_month_through_the_web(shop: Database) -> None:  # noqa: F811
    a1 = ids(shop)["E001"]
    a3 = ids(shop)["E003"]
    page = f"/appraisals/{a1}"
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        assert "自评" in agent.get(page).text
        assert post(agent, f"{page}/action", page, action="submit_self_review",
                    note="本月完成目标") == 303
        assert state(shop, a1) is AppraisalState.supervisor_review
        # an agent cannot rate a colleague, nor reach HR pages
        assert post(agent, f"/appraisals/{a3}/rate", page, input_id="execution",
                    value="不满意") == 404
        assert agent.get("/hr/cycles").status_code == 404
    with TestClient(create_app(shop, secret="s")) as sup:
        login(sup, "sup1")
        html = sup.get(page).text
        assert re.search(r'<button name="value" value="非常满意" aria-pressed="false">', html)
        assert post(sup, f"{page}/rate", page, input_id="execution", value="非常满意") == 303
        assert post(sup, f"{page}/action", page, action="submit_supervisor_review") == 303
        # without a token nothing happens
        assert sup.post(f"{page}/rate", data={"input_id": "execution",
                                             "value": "一般"}).status_code == 403
    with shop.transaction() as s:
        assert s.scalar(select(Rating.value).where(Rating.appraisal_id == a1)) == "非常满意"
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        console = "/hr/cycles"
        for step in ("score", "submit_self_review", "submit_supervisor_review",
                     "approve_second_review", "approve", "publish"):
            # every move but scoring asks first (a confirmation page); this is its answer
            assert post(hr, f"/hr/cycles/1/step/{step}", console, confirm="yes") == 303, step
        assert state(shop, a1) is AppraisalState.published
        r = hr.get("/hr/cycles/1/payroll.xlsx")
        ws = load_workbook(io.BytesIO(r.content)).active
        assert ws.cell(1, 1).value == "工号" and ws.max_row == 10  # 6, 2 subtotals, total
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        html = agent.get(page).text
        assert "10.00" in html  # execution 非常满意 → 100 × 10%
        assert post(agent, f"{page}/appeal", page, reason="执行力评级有误") == 303
        assert state(shop, a1) is AppraisalState.appealed
    with shop.transaction() as s:
        appeal_id = s.scalar(select(Appeal.id))
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        assert post(hr, f"/hr/appeals/{appeal_id}/decide", "/hr/cycles",
                    decision="accept") == 303
        assert post(hr, f"/hr/appeals/{appeal_id}/resolve", "/hr/cycles",
                    changes="execution=比较满意", resolution="复核后调整") == 303
        assert state(shop, a1) is AppraisalState.resolved


def test_illegal_web_action_is_refused_with_a_reason(shop: Database, tmp_path: Path) -> None:  # noqa: F811
    a1 = ids(shop)["E001"]
    page = f"/appraisals/{a1}"
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        r = agent.post(f"{page}/action", data={"csrf": token(agent, page),
                                               "action": "acknowledge"})
        # the reason, in the page's language: Chinese, then English
        assert r.status_code == 409 and "考核单处于“自评中”状态，不能确认结果（可在以下状态进行：已发布）" in r.text
        agent.get(f"{page}?lang=en")
        r = agent.post(f"{page}/action", data={"csrf": token(agent, page),
                                               "action": "acknowledge"})
        assert r.status_code == 409 and "cannot acknowledge an appraisal in state " \
            "self-review (allowed from: published)" in r.text  # labels, not ids


def test_form_and_zip_exports(shop: Database) -> None:  # noqa: F811
    import zipfile

    a1 = ids(shop)["E001"]
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        assert agent.get(f"/appraisals/{a1}/form.xlsx").status_code == 404  # not published
        publish(shop)
        r = agent.get(f"/appraisals/{a1}/form.xlsx")
        assert r.status_code == 200
        ws = load_workbook(io.BytesIO(r.content)).active
        flat = [v for row in ws.iter_rows(values_only=True) for v in row if v is not None]
        assert "被考核人" in flat and 90 in flat
        assert agent.get(f"/appraisals/{ids(shop)['E002']}/form.xlsx").status_code == 404
        assert agent.get("/hr/cycles/1/forms.zip").status_code == 404
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        r = hr.get("/hr/cycles/1/forms.zip?team=一组")
        names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        assert sorted(n for n in names if not n.startswith("summary")) == [
            "2026-10_一组_E001.xlsx", "2026-10_一组_E003.xlsx", "2026-10_一组_E005.xlsx"]


def test_scheme_editor_validates_and_previews(shop: Database) -> None:  # noqa: F811
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        page = "/hr/cycles/1/scheme"
        html = hr.get(page).text
        assert "taobao-presales" in html and "/static/htmx.min.js" in html
        assert hr.get("/static/htmx.min.js").status_code == 200
        with shop.transaction() as s:
            from kaohe.store.models import Cycle

            text = s.get(Cycle, 1).scheme_version.content  # type: ignore[union-attr]
        tok = token(hr, page)
        broken = text.replace('"<40%": 0}', '"<30%": 0}', 1)
        r = hr.post("/hr/cycles/1/what-if", data={"csrf": tok, "content": broken},
                    headers={"HX-Request": "true"})
        assert r.status_code == 200, r.text[:500]
        assert "gap" in r.text and "40" in r.text
        # everyone's total is 90: a stricter 高级 threshold moves all six to 中级 and pay
        stricter = text.replace("{name: 高级, label_en: Senior, min: 90}",
                                "{name: 高级, label_en: Senior, min: 95}")
        r = hr.post("/hr/cycles/1/what-if", data={"csrf": tok, "content": stricter},
                    headers={"HX-Request": "true"})
        assert r.text.count("高级 → 中级") == 6
        assert hr.get(page.replace("/1/", "/1/")).status_code == 200
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        assert agent.get("/hr/cycles/1/scheme").status_code == 404
