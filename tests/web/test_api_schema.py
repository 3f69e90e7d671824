"""schemathesis against the app's own OpenAPI spec: whatever it sends, no 500s — both
anonymous and logged in as HR (who sees everything), with the CSRF header, so writes reach
the services — and every successful answer matches the typed model the spec documents."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import response_schema_conformance

from kaohe.store.db import Database
from kaohe.web.app import create_app

from .test_access import shop  # noqa: F401 - the fixture is shared


@pytest.fixture
def web(shop: Database) -> Iterator[tuple[Any, dict[str, str], str]]:  # noqa: F811
    app = create_app(shop, secret="schema-test")
    with TestClient(app) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        client.post("/login", data={"username": "hr", "password": "pw",
                                    "csrf": token.group(1)})
        csrf = client.get("/api/me").json()["csrf"]
        yield app, {"kaohe_session": client.cookies["kaohe_session"]}, csrf


def test_no_server_errors(web: tuple[Any, dict[str, str], str]) -> None:
    app, cookies, csrf = web
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    ops = list(schema.get_all_operations())
    assert ops, "the API documents its routes"
    for result in ops:
        _fuzz(result.ok(), cookies, csrf)


def _fuzz(operation: Any, cookies: dict[str, str], csrf: str) -> None:
    from hypothesis import given

    @given(operation.as_strategy())
    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        for jar in (None, cookies):
            response = (case.call(cookies=jar, headers={"X-CSRF-Token": csrf}) if jar
                        else case.call())
            assert response.status_code < 500, (operation.label, response.text)
            if response.status_code < 300:
                case.validate_response(response, checks=[response_schema_conformance])

    check()


def test_the_spec_describes_the_answers(web: tuple[Any, dict[str, str], str]) -> None:
    """Each route's 200 answer is a named model with its fields, not a bare object."""
    app, _, _ = web
    spec = app.openapi()
    models = spec["components"]["schemas"]
    for path, method, model in [("/api/me", "get", "Me"),
                                ("/api/appraisals/{appraisal_id}", "get", "Appraisal"),
                                ("/api/team", "get", "TeamBoard"),
                                ("/api/appraisals/{appraisal_id}/ratings", "post",
                                 "RatingSaved")]:
        answer = spec["paths"][path][method]["responses"]["200"]["content"]
        assert answer["application/json"]["schema"]["$ref"].endswith(f"/{model}"), path
    assert {"total", "indicators", "adjustments", "limit", "sources"} <= set(
        models["ResultOut"]["properties"])
    listing = spec["paths"]["/api/appraisals"]["get"]["responses"]["200"]["content"]
    assert listing["application/json"]["schema"]["items"]["$ref"].endswith("/AppraisalRow")
