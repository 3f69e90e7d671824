"""The JSON API gives an appraisal's quarter and year (rulebook §5 ``aggregates``: score,
grade, rank, months, flags, awards, values) with the page's visibility: HR and the team's
supervisor always, the employee only once the month is published, nobody else.

Foreign-trade (4.12), one team, October to December: E001 marks 90/85/80 every month →
84.50 (良); E002 95; E003 75; E004 broke the rules (excluded, no quarter or year). Quarter
mean: E002 95.00 1st → 2000, E001 84.50 2nd (≥ 70) → 1500, E003 75.00 3rd (≥ 60) → 800;
year ranks alike → 3000 / 2000 / 1000; E001's reserve held = 30% × 2760.00 × 3 = 2484."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from kaohe.store.db import Database
from kaohe.web.app import create_app

from ..store.test_aggregates import _publish
from .test_access import login
from .test_aggregates_web import _appraisal, _build, _score


def _aggs(client: TestClient, aid: int) -> list[dict[str, object]]:
    r = client.get(f"/api/appraisals/{aid}")
    assert r.status_code == 200, r.text
    return [{k: a[k] for k in ("period", "kind", "as_of", "closes", "employee", "team",
                               "score", "grade", "rank", "months", "flags", "awards",
                               "values")} for a in r.json()["aggregates"]]


DEC_E001 = [
    {"period": "2026-Q4", "kind": "quarter", "as_of": "2026-12", "closes": True,
     "employee": "E001", "team": "一组", "score": 84.5, "grade": None, "rank": 2, "months": 3,
     "flags": [], "awards": {"quarter_award": 1500}, "values": {}},
    {"period": "2026", "kind": "year", "as_of": "2026-12", "closes": True,
     "employee": "E001", "team": "一组", "score": 84.5, "grade": None, "rank": 2, "months": 3,
     "flags": [], "awards": {"annual_award": 2000}, "values": {"reserve_held": 2484}},
]


def test_staff_see_an_appraisals_quarter_and_year(db: Database, tmp_path: Path) -> None:
    ids = _build(db, tmp_path)
    _score(db, ids)
    dec, nov = _appraisal(db, ids["2026-12"], "E001"), _appraisal(db, ids["2026-11"], "E001")
    for user in ("hr", "boss", "sup1"):
        with TestClient(create_app(db, secret="s")) as client:
            login(client, user)
            assert _aggs(client, dec) == DEC_E001, user
            # as of November: two months, not final, ranks of the two months so far
            nov_aggs = _aggs(client, nov)
            assert [(a["period"], a["as_of"], a["closes"], a["months"], a["rank"])
                    for a in nov_aggs] == [("2026-Q4", "2026-11", False, 2, 2),
                                           ("2026", "2026-11", False, 2, 2)]
            # excluded every month: no quarter, no year
            assert _aggs(client, _appraisal(db, ids["2026-12"], "E004")) == []
    with TestClient(create_app(db, secret="s")) as other:
        login(other, "e2")  # a colleague: not theirs to see
        assert other.get(f"/api/appraisals/{dec}").status_code == 404


def test_the_employee_sees_theirs_once_published(db: Database, tmp_path: Path) -> None:
    ids = _build(db, tmp_path)
    _score(db, ids)
    dec = _appraisal(db, ids["2026-12"], "E001")
    with TestClient(create_app(db, secret="s")) as agent:
        login(agent, "e1")
        r = agent.get(f"/api/appraisals/{dec}").json()
        assert (r["result"], r["aggregates"]) == (None, [])
        assert agent.get("/api/aggregates").json() == []
    _publish(db, ids["2026-12"])
    with TestClient(create_app(db, secret="s")) as agent:
        login(agent, "e1")
        assert _aggs(agent, dec) == DEC_E001
        assert agent.get(f"/api/appraisals/{_appraisal(db, ids['2026-12'], 'E002')}"
                         ).status_code == 404
        mine = agent.get("/api/aggregates").json()
        assert [(a["period"], a["as_of"], a["awards"]) for a in mine] == [
            ("2026-Q4", "2026-12", {"quarter_award": 1500}),
            ("2026", "2026-12", {"annual_award": 2000})]
        # the result carries its sections (none in this scheme)
        assert agent.get(f"/api/appraisals/{dec}").json()["result"]["sections"] == {}
    with TestClient(create_app(db, secret="s")) as anonymous:
        assert anonymous.get("/api/aggregates").status_code == 401


def test_the_spec_describes_the_aggregates(db: Database) -> None:
    spec = create_app(db, secret="s").openapi()
    models = spec["components"]["schemas"]
    assert {"score", "grade", "rank", "months", "flags", "awards", "values", "closes"} <= set(
        models["AggregateOut"]["properties"])
    assert "aggregates" in models["Appraisal"]["properties"]
    assert "sections" in models["ResultOut"]["properties"]
    answer = spec["paths"]["/api/aggregates"]["get"]["responses"]["200"]["content"]
    assert answer["application/json"]["schema"]["items"]["$ref"].endswith("/AggregateOut")
