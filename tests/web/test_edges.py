"""The web app's edges: downloads named in any script (RFC 5987), security headers on every
answer (API docs and server errors too), staged uploads swept at start-up."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import unquote

from fastapi.testclient import TestClient
from sqlalchemy import select

from kaohe.store.db import Database
from kaohe.store.models import Employee
from kaohe.web.app import create_app
from kaohe.web.hr import STAGED_FOR_S

from .test_access import ids, login, shop  # noqa: F401 - the fixture is shared


def test_a_download_for_a_chinese_employee_code(shop: Database) -> None:  # noqa: F811
    aid = ids(shop)["E001"]
    with shop.transaction() as s:
        s.scalars(select(Employee).where(Employee.code == "E001")).one().code = "客服032"
    with TestClient(create_app(shop, secret="s"), raise_server_exceptions=False) as hr:
        login(hr, "hr")
        for suffix in ("form.xlsx", "scorecard.pdf"):
            r = hr.get(f"/appraisals/{aid}/{suffix}")
            assert r.status_code == 200, r.text[:300]
            disposition = r.headers["content-disposition"]
            ext = suffix.rsplit(".", 1)[1]
            assert f'filename="2026-10___032.{ext}"' in disposition
            encoded = disposition.split("filename*=UTF-8''", 1)[1]
            assert unquote(encoded) == f"2026-10_客服032.{ext}"
        r = hr.get("/hr/cycles/1/forms.zip?team=一组")
        assert r.status_code == 200
        assert unquote(r.headers["content-disposition"].split("''", 1)[1]) == "考核表-2026-10-一组.zip"


def test_security_headers_on_api_docs_and_on_a_server_error(shop: Database) -> None:  # noqa: F811
    app = create_app(shop, secret="s")

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        docs = client.get("/api/docs")
        assert docs.status_code == 200
        policy = docs.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split(
            "script-src", 1)[1].split(";")[0]
        assert "<script>" not in docs.text and "/static/swagger/init.js" in docs.text
        assert docs.headers["x-frame-options"] == "DENY"
        assert client.get("/static/swagger/init.js").status_code == 200
        for path, status in (("/boom", 500), ("/nowhere", 404), ("/api/nowhere", 404)):
            r = client.get(path)
            assert r.status_code == status
            assert "default-src 'self'" in r.headers["content-security-policy"], path
            assert r.headers["x-content-type-options"] == "nosniff", path
            assert r.headers["cache-control"] == "no-store", path


def test_staged_uploads_of_earlier_runs_are_swept_at_start_up(shop: Database,  # noqa: F811
                                                             tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    old, fresh = folder / "old-token", folder / "fresh-token"
    for staged in (old, fresh):
        staged.mkdir(parents=True)
        (staged / "inputs.csv").write_text("工号\n", "utf-8")
    then = time.time() - STAGED_FOR_S - 60
    os.utime(old, (then, then))
    app = create_app(shop, secret="s")
    app.state.uploads = folder
    assert old.exists()
    with TestClient(app):
        assert not old.exists() and (fresh / "inputs.csv").exists()


def test_a_body_declared_too_large_gets_the_error_page_or_json(shop: Database) -> None:  # noqa: F811
    """Refused before it is read, in the visitor's language (or as JSON under /api)."""
    with TestClient(create_app(shop, secret="s"), raise_server_exceptions=False) as client:
        body = b"username=" + b"x" * 20_000
        r = client.post("/login", content=body,
                        headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413 and "请求内容过大，未予读取。" in r.text
        assert "default-src 'self'" in r.headers["content-security-policy"]
        r = client.post("/api/appraisals/1/ratings", content=b"[" + b"1," * 10_000 + b"1]",
                        headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert r.json() == {"detail": "The request is too large; it was not read."}
