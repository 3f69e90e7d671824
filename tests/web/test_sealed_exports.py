"""Exports through the web app refuse what no longer matches its seal, naming the
appraisals, and HR sees a banner while the last verification failed (agents do not)."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, update

from kaohe.store.db import Database
from kaohe.store.models import Result
from kaohe.web.app import create_app
from kaohe.workflow import cycles, verification

from ..store.factories import ADMIN
from ..store.intrude import intruder
from .test_access import ids, login, shop  # noqa: F401 - the fixture is shared


def _publish(db: Database) -> None:
    with db.transaction() as s:
        for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=1, trigger=step, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=1, trigger="approve", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=1, trigger="publish", actor=ADMIN)


def _raise_pay(db: Database, appraisal_id: int) -> None:
    with db.read() as s:
        rid, payload = s.execute(select(Result.id, Result.payload).where(
            Result.appraisal_id == appraisal_id, Result.is_current.is_(True))).one()
    payload = {**payload, "pay": {**payload["pay"], "total": 99999}}
    with intruder(db) as c:
        c.execute(update(Result.__table__).where(Result.__table__.c.id == rid)
                  .values(pay_total=Decimal("99999.00"), payload=payload))


def _verify(db: Database) -> None:
    with db.read() as s:
        report = verification.verify_all(s, sample=0)
    with db.transaction() as s:
        verification.record_run(s, report)


def test_exports_refuse_a_tampered_result_and_hr_is_warned(shop: Database) -> None:  # noqa: F811
    _publish(shop)
    app_ids = ids(shop)
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        r = hr.get("/hr/cycles/1/payroll.xlsx")
        assert r.status_code == 200 and load_workbook(io.BytesIO(r.content)).active.max_row == 10  # 6, 2 subtotals
        _verify(shop)
        assert "最近一次数据校验未通过" not in hr.get("/hr/cycles").text

        _raise_pay(shop, app_ids["E003"])  # team 一组
        r = hr.get("/hr/cycles/1/payroll.xlsx")
        assert r.status_code == 409
        assert "已拒绝：1 份已发布的考核单与封存时不一致：E003 2026-10 (result)" in r.text
        assert hr.get("/hr/cycles/1/forms.zip?team=一组").status_code == 409
        r = hr.get("/hr/cycles/1/forms.zip?team=二组")  # the other team's forms are sound
        assert r.status_code == 200 and zipfile.ZipFile(io.BytesIO(r.content)).namelist()

        assert "最近一次数据校验未通过" not in hr.get("/hr/cycles").text  # not verified yet
        _verify(shop)
        page = hr.get("/hr/cycles").text
        assert "最近一次数据校验未通过" in page and "E003 2026-10 (result)" in page
        assert "北京时间" in page
        assert "The last verification of the records failed" in hr.get("/hr/cycles?lang=en").text
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e3")
        assert agent.get(f"/appraisals/{app_ids['E003']}/form.xlsx").status_code == 409
        assert "校验未通过" not in agent.get("/me").text
    with TestClient(create_app(shop, secret="s")) as agent:
        login(agent, "e1")  # a sound appraisal's own form is still served
        assert agent.get(f"/appraisals/{app_ids['E001']}/form.xlsx").status_code == 200
