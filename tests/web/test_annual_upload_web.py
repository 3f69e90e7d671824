"""The HR console's input upload takes rnd-annual's annual rows (rulebook 4.11: a row per
employee with ``period`` 2026 beside the monthly rows): a blank annual KPI is listed with its
row, column and value and nothing is saved; a clean sheet is previewed row by row and stored
with the month's levels and the year's marks on the employee's appraisal."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from kaohe.store.db import Database
from kaohe.store.models import Appraisal, Employee
from kaohe.web.app import create_app
from kaohe.workflow import cycles, org

from ..store.factories import ADMIN, write_org
from ..store.test_annual_upload import _sheet, annual, month
from .test_access import login
from .test_journeys import token


def _stored(db: Database, cid: int) -> dict[str, dict[str, str]]:
    with db.transaction() as s:
        return {code: dict(inputs or {}) for code, inputs in s.execute(
            select(Employee.code, Appraisal.inputs).join(Appraisal)
            .where(Appraisal.cycle_id == cid))}


def test_hr_uploads_a_sheet_with_annual_rows(db: Database, tmp_path: Path) -> None:
    with db.transaction() as s:
        org.import_employees(s, path=write_org(tmp_path / "org.csv", 2, teams=("研发",)),
                             actor=ADMIN)
        org.create_user(s, username="hr", roles=["hr"], actor=ADMIN, password="pw")
        cid = cycles.open_cycle(s, scheme_ref="rnd-annual", period="2026-12", actor=ADMIN).id
    bad = _sheet(tmp_path / "bad.csv", [month("E001", "2026-12"), annual("E001", kpi3=""),
                                        month("E002", "2026-12")])
    good = _sheet(tmp_path / "good.csv", [month("E001", "2026-12"), annual("E001"),
                                          month("E002", "2026-12")])
    with TestClient(create_app(db, secret="s")) as hr:
        login(hr, "hr")

        def upload(path: Path):  # type: ignore[no-untyped-def]
            return hr.post(f"/hr/cycles/{cid}/inputs",
                           data={"csrf": token(hr, f"/hr/cycles/{cid}")},
                           files={"file": (path.name, path.read_bytes(), "text/csv")})

        r = upload(bad)
        assert r.status_code == 422
        rows = re.findall(r'<td class="num" data-label="行">(\d+)</td><td data-label="列">'
                          r'([^<]*)</td>', r.text)
        assert rows == [("3", "kpi3")]
        assert "缺少数值 (KPI3得分)；员工的年度行需要此项" in r.text
        assert _stored(db, cid) == {"E001": {}, "E002": {}}
        r = upload(good)
        assert r.status_code == 200 and "全部 3 行校验通过" in r.text, r.text
        tok = re.search(r'name="token" value="([^"]+)"', r.text)
        assert tok
        r = hr.post(f"/hr/cycles/{cid}/inputs/confirm",
                    data={"csrf": token(hr, "/hr/cycles"), "token": tok.group(1)},
                    follow_redirects=False)
        assert r.status_code == 303
    stored = _stored(db, cid)
    assert stored["E001"]["responsibility"] == "优" and stored["E001"]["kpi1"] == "90"
    assert stored["E001"]["role"] == "研发人员" and "kpi1" not in stored["E002"]
