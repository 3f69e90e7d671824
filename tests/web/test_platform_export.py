"""HR imports a platform's export in the console: choose the platform, see which column
became which input and which were left out, confirm; nothing is saved before that."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from kaohe.store.db import Database
from kaohe.store.models import Appraisal, Cycle, Employee
from kaohe.web.app import create_app

from .test_access import login, shop  # noqa: F401 - the fixture is shared
from .test_journeys import token

# 飞鸽 headers as a new user's export writes them: units, full-width brackets, extras
EXPORT = ("客服账号,人工接待人数（人）,询单人数,询单成交人数,询单成交金额(元),平均响应时长(秒),"
          "满意率,3分钟人工回复率,备注\n"
          "E001,120,80,30,1.2万,32,96.5%,90%,老员工\n"
          "E002,90,60,20,3400.50,65,88%,85%,\n"
          "汇总,210,140,50,15400.50,-,-,-,\n")


def _inputs(db: Database) -> dict[str, dict[str, str]]:
    with db.read() as s:
        return {code: dict(inputs or {}) for code, inputs in s.execute(
            select(Employee.code, Appraisal.inputs).join(Appraisal).join(Cycle)
            .where(Cycle.period == "2026-11"))}


def _open_november(hr: TestClient) -> int:
    r = hr.post("/hr/cycles", data={"csrf": token(hr, "/hr/cycles"), "scheme": "taobao-presales",
                                    "period": "2026-11"}, follow_redirects=False)
    m = re.fullmatch(r"/hr/cycles/(\d+)", r.headers["location"])
    assert m
    return int(m.group(1))


def test_export_is_mapped_previewed_and_confirmed(shop: Database) -> None:  # noqa: F811
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        cid = _open_november(hr)
        page = hr.get(f"/hr/cycles/{cid}")
        assert f'href="/hr/cycles/{cid}/export"' in page.text
        form = hr.get(f"/hr/cycles/{cid}/export")
        assert form.status_code == 200 and "抖店 飞鸽 客服表现" in form.text
        r = hr.post(f"/hr/cycles/{cid}/export",
                    data={"csrf": token(hr, f"/hr/cycles/{cid}/export"), "platform": "feige"},
                    files={"file": ("飞鸽.csv", EXPORT.encode("gb18030"), "text/csv")})
        assert r.status_code == 200, r.text
        assert "已对应的列" in r.text and "<td>人工接待人数（人）</td><td>received</td>" in r.text
        assert "未导入的列" in r.text and "备注" in r.text
        assert "全部 2 行校验通过" in r.text
        assert _inputs(shop)["E001"] == {}  # nothing saved before the confirmation
        tok = re.search(r'name="token" value="([^"]+)"', r.text)
        assert tok
        r = hr.post(f"/hr/cycles/{cid}/inputs/confirm",
                    data={"csrf": token(hr, "/hr/cycles"), "token": tok.group(1)},
                    follow_redirects=False)
        assert r.status_code == 303
        stored = _inputs(shop)
        assert stored["E001"]["sales"] == "12000" and stored["E001"]["received"] == "120"
        assert stored["E002"]["satisfaction"] == "0.88" and stored["E003"] == {}


def test_a_bad_export_is_refused_with_its_place(shop: Database) -> None:  # noqa: F811
    with TestClient(create_app(shop, secret="s")) as hr:
        login(hr, "hr")
        cid = _open_november(hr)
        bad = EXPORT.replace("3400.50", "很多")
        r = hr.post(f"/hr/cycles/{cid}/export",
                    data={"csrf": token(hr, f"/hr/cycles/{cid}/export"), "platform": "feige"},
                    files={"file": ("飞鸽.csv", bad.encode("utf-8"), "text/csv")})
        assert r.status_code == 422 and "很多" in r.text and "导入全部" not in r.text
        r = hr.post(f"/hr/cycles/{cid}/export",
                    data={"csrf": token(hr, f"/hr/cycles/{cid}/export"), "platform": "nope"},
                    files={"file": ("飞鸽.csv", EXPORT.encode("utf-8"), "text/csv")})
        assert r.status_code == 422
        assert _inputs(shop)["E001"] == {}
