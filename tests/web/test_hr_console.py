"""HR's console through HTTP: opening a cycle, uploading inputs (a preview lists every problem
and saves nothing; only a confirmed, valid upload is stored), feedback notes, the PDF
scorecard and the JSON API's writes."""

from __future__ import annotations

import io
import re
from pathlib import Path

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from kaohe.store.db import Database
from kaohe.store.models import Appraisal, AuditEvent, Cycle, Employee, FeedbackMeeting
from kaohe.web.app import create_app

from ..store.factories import INPUT_HEADER, input_row, write_inputs
from .test_access import ids, login, shop  # noqa: F401 - the fixture is shared
from .test_journeys import token


def _open_november(hr: TestClient) -> int:
    r = hr.post("/hr/cycles", data={"csrf": token(hr, "/hr/cycles"), "scheme": "taobao-presales",
                                    "period": "2026-11"}, follow_redirects=False)
    assert r.status_code == 303
    m = re.fullmatch(r"/hr/cycles/(\d+)", r.headers["location"])
    assert m
    return int(m.group(1))


def _inputs(db: Database, period: str) -> dict[str, dict[str, str]]:
    with db.read() as s:
        return {code: dict(inputs or {}) for code, inputs in s.execute(
            select(Employee.code, Appraisal.inputs).join(Appraisal).join(Cycle)
            .where(Cycle.period == period))}


def _upload(hr: TestClient, cid: int, name: str, data: bytes):  # type: ignore[no-untyped-def]
    return hr.post(f"/hr/cycles/{cid}/inputs", data={"csrf": token(hr, f"/hr/cycles/{cid}")},
                   files={"file": (name, data, "text/csv")})


def test_upload_preview_lists_every_problem_and_saves_nothing(shop: Database,  # noqa: F811
                                                              tmp_path: Path) -> None:
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        cid = _open_november(hr)
        rows = [input_row(f"E{i:03d}", "2026-11") for i in range(1, 7)]
        rows[0][2] = "abc"  # sales, row 2
        rows[2][2] = "-5"  # sales, row 4: negative
        rows[3][10] = "很好"  # execution, row 5: not a level
        rows[5][1] = "2026-10"  # period, row 7: another month
        rows.append(list(rows[1]))  # row 8 repeats E002
        data = write_inputs(tmp_path / "bad.csv", rows).read_bytes()
        audit_before = _audit_count(shop)
        r = _upload(hr, cid, "十一月.csv", data)
        assert r.status_code == 422
        problems = re.findall(r'<td class="num" data-label="行">(\d+)</td><td data-label="列">'
                              r'([^<]*)</td>', r.text)
        assert problems == [("2", "sales"), ("4", "sales"), ("5", "execution"),
                            ("7", "period"), ("8", "employee")], problems
        assert "十一月.csv" in r.text and "发现 5 个问题" in r.text
        # each problem in the page's language (the CLI says the same in English)
        assert "不是数字（应为金额，如 1280.50）" in r.text and "不允许负数金额" in r.text
        assert "未知等级；应为以下之一：非常满意, 比较满意, 一般, 不满意" in r.text
        assert "此表格属于 2026-11 周期" in r.text and "员工 &#39;E002&#39; 在 2026-11 的数据重复" in r.text
        assert "导入全部" not in r.text  # no way to import a sheet with problems
        assert _inputs(shop, "2026-11") == {f"E{i:03d}": {} for i in range(1, 7)}
        assert _audit_count(shop) == audit_before
        # a token that was never issued (or expired) imports nothing
        r = hr.post(f"/hr/cycles/{cid}/inputs/confirm",
                    data={"csrf": token(hr, "/hr/cycles"), "token": "x" * 22})
        assert r.status_code == 404
        # neither does a file of another kind
        assert _upload(hr, cid, "inputs.exe", data).status_code == 422


def test_a_confirmed_valid_upload_is_stored_once(shop: Database, tmp_path: Path) -> None:  # noqa: F811
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        cid = _open_november(hr)
        rows = [input_row(f"E{i:03d}", "2026-11", sales=str(100000 + i)) for i in range(1, 7)]
        data = write_inputs(tmp_path / "ok.csv", rows).read_bytes()
        r = _upload(hr, cid, "ok.csv", data)
        assert r.status_code == 200 and "全部 6 行校验通过" in r.text
        assert _inputs(shop, "2026-11")["E001"] == {}  # the preview saved nothing
        tok = re.search(r'name="token" value="([^"]+)"', r.text)
        assert tok
        r = hr.post(f"/hr/cycles/{cid}/inputs/confirm",
                    data={"csrf": token(hr, "/hr/cycles"), "token": tok.group(1)},
                    follow_redirects=False)
        assert r.status_code == 303
        stored = _inputs(shop, "2026-11")
        assert {code: v["sales"] for code, v in stored.items()} == {
            f"E{i:03d}": str(100000 + i) for i in range(1, 7)}
        assert set(stored["E001"]) == set(INPUT_HEADER) - {"employee", "period"}
        assert "已从 ok.csv 导入 6 行" in hr.get(f"/hr/cycles/{cid}").text
        # the staged file is gone: the same confirmation cannot import twice
        r = hr.post(f"/hr/cycles/{cid}/inputs/confirm",
                    data={"csrf": token(hr, "/hr/cycles"), "token": tok.group(1)})
        assert r.status_code == 404


def _audit_count(db: Database) -> int:
    with db.read() as s:
        return len(s.scalars(select(AuditEvent.id)).all())


def _publish(db: Database) -> None:
    from kaohe.workflow import cycles

    from ..store.factories import ADMIN

    with db.transaction() as s:
        for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=1, trigger=step, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=1, trigger="approve", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=1, trigger="publish", actor=ADMIN)


def test_feedback_meeting_notes(shop: Database) -> None:  # noqa: F811
    a1 = ids(shop)["E001"]
    page = f"/appraisals/{a1}"
    with TestClient(create_app(shop, secret="s")) as sup:
        login(sup, "sup1")
        assert "面谈记录" not in sup.get(page).text  # not before the results are out
        r = sup.post(f"{page}/feedback", data={"csrf": token(sup, page),
                                               "held_on": "2026-11-20", "notes": "提前面谈"})
        assert r.status_code == 409 and "绩效面谈应在结果发布之后进行" in r.text
    _publish(shop)
    with TestClient(create_app(shop, secret="s")) as sup:
        login(sup, "sup1")
        r = sup.post(f"{page}/feedback", data={"csrf": token(sup, page), "held_on": "2026-11-20",
                                               "notes": "回复速度需提升；下月目标 95%"},
                     follow_redirects=False)
        assert r.status_code == 303
        r = sup.post(f"{page}/feedback", data={"csrf": token(sup, page),
                                               "held_on": "2026-11-20", "notes": "  "})
        assert r.status_code == 422  # notes are required
        # a supervisor of another team cannot see it, so cannot write it either
        other = ids(shop)["E002"]
        r = sup.post(f"/appraisals/{other}/feedback",
                     data={"csrf": token(sup, page), "held_on": "2026-11-20", "notes": "x"})
        assert r.status_code == 404
    with shop.read() as s:
        notes = [(m.held_on.isoformat(), m.notes, m.recorded_by)
                 for m in s.scalars(select(FeedbackMeeting))]
    assert notes == [("2026-11-20", "回复速度需提升；下月目标 95%", "sup1")]
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        html = agent.get(page).text
        assert "回复速度需提升" in html  # the agent reads the notes of their meeting
        assert f'action="/appraisals/{a1}/feedback"' not in html  # but does not write them


def test_pdf_scorecard(shop: Database) -> None:  # noqa: F811
    a1 = ids(shop)["E001"]
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        assert agent.get(f"/appraisals/{a1}/scorecard.pdf").status_code == 404  # not yet
        _publish(shop)
        r = agent.get(f"/appraisals/{a1}/scorecard.pdf")
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
        flat = re.sub(r"\s+", "", text)
        assert "E001" in flat and "90.00" in flat and "2026-10" in flat
        assert agent.get(f"/appraisals/{ids(shop)['E002']}/scorecard.pdf").status_code == 404


def test_api_writes_need_the_csrf_header(shop: Database) -> None:  # noqa: F811
    a1 = ids(shop)["E001"]
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        body = {"action": "submit_self_review", "note": "done"}
        r = agent.post(f"/api/appraisals/{a1}/transitions", json=body)
        assert r.status_code == 403
        csrf = agent.get("/api/me").json()["csrf"]
        r = agent.post(f"/api/appraisals/{ids(shop)['E002']}/transitions", json=body,
                       headers={"X-CSRF-Token": csrf})
        assert r.status_code == 404
        r = agent.post(f"/api/appraisals/{a1}/transitions", json=body,
                       headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200 and r.json()["state"] == "supervisor_review"
        r = agent.post(f"/api/appraisals/{a1}/transitions", json=body,
                       headers={"X-CSRF-Token": csrf})
        assert r.status_code == 409 and "cannot submit_self_review" in r.json()["detail"]


def test_an_xlsx_sheet_with_chinese_headers_previews_like_a_csv(shop: Database,  # noqa: F811
                                                                tmp_path: Path) -> None:
    from openpyxl import Workbook

    from kaohe.presets import load_preset

    labels = {ident: spec.label or ident
              for ident, spec in load_preset("taobao-presales").inputs.items()}
    header = ["工号", "考核周期", *[labels[c] for c in INPUT_HEADER[2:]]]
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for i in range(1, 7):
        ws.append(input_row(f"E{i:03d}", "2026-11"))
    ws.cell(3, 3).value = "n/a"  # E002's sales
    path = tmp_path / "十一月.xlsx"
    wb.save(path)
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        cid = _open_november(hr)
        r = hr.post(f"/hr/cycles/{cid}/inputs", data={"csrf": token(hr, "/hr/cycles")},
                    files={"file": (path.name, path.read_bytes(), "application/octet-stream")})
        assert r.status_code == 422
        assert "发现 1 个问题" in r.text and "n/a" in r.text and labels["sales"] in r.text


def test_forms_of_an_unscored_appraisal_are_404(shop: Database) -> None:  # noqa: F811
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        cid = _open_november(hr)
        with shop.read() as s:
            aid = s.scalar(select(Appraisal.id).where(Appraisal.cycle_id == cid))
        for kind in ("form.xlsx", "scorecard.pdf"):
            r = hr.get(f"/appraisals/{aid}/{kind}")
            assert r.status_code == 404 and "尚未评分" in r.text
        assert "scorecard.pdf" not in hr.get(f"/appraisals/{aid}").text


def test_an_edited_scheme_is_saved_as_a_version_and_opens_the_next_cycle(
        shop: Database) -> None:  # noqa: F811
    from kaohe.store.models import SchemeVersion

    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        with shop.read() as s:
            text = s.scalars(select(SchemeVersion)).one().content
        stricter = text.replace("{name: 高级, label_en: Senior, min: 90}",
                                "{name: 高级, label_en: Senior, min: 95}")
        editor = "/hr/cycles/1/scheme"
        r = hr.post(editor, data={"csrf": token(hr, editor), "content": "id: [broken"})
        assert r.status_code == 400  # checked before anything is saved
        r = hr.post(editor, data={"csrf": token(hr, editor), "content": stricter})
        assert r.status_code == 200 and "已保存 taobao-presales 第 2 版" in r.text
        r = hr.post(editor, data={"csrf": token(hr, editor), "content": stricter})
        assert "已经是 taobao-presales 第 2 版" in r.text  # the same text is one version
        with shop.read() as s:
            versions = {v.version: v.id for v in s.scalars(select(SchemeVersion))}
        assert sorted(versions) == [1, 2]
        console = hr.get("/hr/cycles").text
        assert f'<option value="v:{versions[2]}">taobao-presales v2 · hr' in console
        r = hr.post("/hr/cycles", data={"csrf": token(hr, "/hr/cycles"),
                                        "scheme": f"v:{versions[2]}", "period": "2026-11"},
                    follow_redirects=False)
        assert r.status_code == 303
        with shop.read() as s:
            nov = s.scalars(select(Cycle).where(Cycle.period == "2026-11")).one()
            assert nov.scheme_version_id == versions[2]
            oct_ = s.scalars(select(Cycle).where(Cycle.period == "2026-10")).one()
            assert oct_.scheme_version_id == versions[1]  # the open cycle keeps its version
        r = hr.post("/hr/cycles", data={"csrf": token(hr, "/hr/cycles"), "scheme": "v:999",
                                        "period": "2026-12"})
        assert r.status_code == 404


def test_unconfirmed_uploads_are_swept_after_an_hour(tmp_path: Path) -> None:
    import os
    import time

    from kaohe.web.hr import STAGED_FOR_S, _sweep

    old, fresh = tmp_path / "old-token", tmp_path / "fresh-token"
    for folder in (old, fresh):
        folder.mkdir()
        (folder / "inputs.csv").write_text("工号\n", encoding="utf-8")
    now = time.time()
    os.utime(old, (now - STAGED_FOR_S - 1, now - STAGED_FOR_S - 1))
    _sweep(tmp_path, now)
    assert not old.exists() and (fresh / "inputs.csv").exists()


def test_team_board_overview_for_hr_and_one_team_on_request(shop: Database) -> None:  # noqa: F811
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        page = hr.get("/team").text
        # six agents, alternating teams, everyone scored 90.00 → 高级 (taobao-presales)
        lines = re.findall(r'team=([^"]+)">([^<]+)</a></td><td data-label="考核方案">'
                           r'taobao-presales</td><td class="num" data-label="考核单">(\d+)</td>'
                           r'<td class="num" data-label="已评分">(\d+)</td><td class="num" '
                           r'data-label="平均总分">([\d.]+)</td><td data-label="等级分布">'
                           r'([^<]*)</td><td class="num" data-label="待完成">(\d+)</td>', page)
        assert [line[1:] for line in lines] == [("一组", "3", "3", "90.00", "高级 3", "3"),
                                                ("二组", "3", "3", "90.00", "高级 3", "3")]
        one = hr.get("/team?team=一组").text
        assert all(code in one for code in ("E001", "E003", "E005"))
        assert not any(code in one for code in ("E002", "E004", "E006"))
    with TestClient(create_app(shop, secret="s")) as sup:
        login(sup, "sup1")
        page = sup.get("/team").text  # a supervisor sees their team's appraisals directly
        assert "E001" in page and "E002" not in page and "平均总分" not in page


def test_an_appraisal_shows_its_history_from_the_audit_log(shop: Database) -> None:  # noqa: F811
    from kaohe.workflow import cycles

    from ..store.factories import ADMIN

    a1 = ids(shop)["E001"]
    page = f"/appraisals/{a1}"
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        r = agent.post(f"{page}/action", data={"csrf": token(agent, page),
                                               "action": "submit_self_review",
                                               "note": "本月目标完成"},
                       follow_redirects=False)
        assert r.status_code == 303
    with TestClient(create_app(shop, secret="s")) as sup:
        login(sup, "sup1")
        sup.post(f"{page}/rate", data={"csrf": token(sup, page), "input_id": "execution",
                                       "value": "非常满意"})
    with shop.transaction() as s:
        cycles.score_cycle(s, cycle_id=1, actor=ADMIN)
    def history_rows(client: TestClient) -> list[tuple[str, str, str]]:
        html = client.get(page).text
        section = html[html.index('id="history"'):]
        return re.findall(r'data-label="操作人">([^<]*)</td><td data-label="事项">([^<]*)</td>'
                          r'<td data-label="详情">([^<]*)</td>', section)

    with TestClient(create_app(shop, secret="s")) as sup:
        login(sup, "sup1")
        rows = history_rows(sup)
        assert (ADMIN.username, "考核周期已开启", "") in rows
        assert (ADMIN.username, "已导入考核数据", "i.csv (6)") in rows
        assert ("员工1", "提交自评", "本月目标完成") in rows
        assert ("sup1", "已评分", "execution = 非常满意 (supervisor)") in rows
        assert [r[1] for r in rows].count("已评分") == 3  # the rating and two scorings
        english = sup.get(f"{page}?lang=en").text
        assert "submit the self-review" in english and "rating saved" in english
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")
        rows = history_rows(agent)  # the supervisor's rating waits for the publication
        assert ("员工1", "提交自评", "本月目标完成") in rows
        assert not any("非常满意" in r[2] for r in rows)
        _publish(shop)
        assert ("sup1", "已评分", "execution = 非常满意 (supervisor)") in history_rows(agent)


def test_the_overdue_list_is_grouped_and_paged() -> None:
    """120 late feedback meetings and 3 appeals: one line per team and kind with its count
    and oldest due day; the lines of a group 50 to a page."""
    import datetime as dt

    from kaohe.web.hr import LATE_PAGE, _late
    from kaohe.workflow.appeals import Overdue

    day = dt.date(2026, 11, 10)
    items = [Overdue("feedback_meeting", day - dt.timedelta(days=i % 7), i, f"KF{i:03d}", "",
                     ("一组", "二组")[i % 2]) for i in range(120)]
    items += [Overdue("appeal_decision", day, 500 + i, f"KF{i:03d}", "", "一组", i, day)
              for i in range(3)]
    late = _late(items, None, None, 1)
    assert [(g["team"], g["kind"], g["n"]) for g in late["groups"]] == [
        ("一组", "appeal_decision", 3), ("一组", "feedback_meeting", 60),
        ("二组", "feedback_meeting", 60)]
    assert late["groups"][1]["oldest"] == day - dt.timedelta(days=6)
    assert late["total"] == 123 and late["pages"] == 3 and len(late["lines"]) == LATE_PAGE
    one = _late(items, "二组", "feedback_meeting", 2)
    assert one["shown"] == 60 and one["pages"] == 2 and len(one["lines"]) == 10
    assert {o.team for o in one["lines"]} == {"二组"}
    assert _late(items, "二组", "feedback_meeting", 99)["page"] == 2  # past the end: the last
