"""Tamper evidence for the records, not only the log: a published cycle is sealed into the
hash chain, and `kaohe audit verify` names every appraisal whose result, inputs or ratings
were changed behind kaohe's back; exports refuse them. Each case edits a copy of a small
published shop directly in the database, as a DBA or a leaked connection string would."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import delete, insert, select, text, update

from kaohe.store.db import Database
from kaohe.store.models import (
    Appraisal,
    AuditEvent,
    Employee,
    Rating,
    Result,
)
from kaohe.workflow import appeals, cycles, payroll, seal, verification
from kaohe.workflow.org import actor_for

from .conftest import PG_URL
from .factories import ADMIN, input_row, setup_org, write_inputs
from .intrude import intruder
from .test_cli_flow import kaohe

CODES = [f"E{i:03d}" for i in range(1, 7)]
PERIOD = "2026-10"


def _app(db: Database, code: str) -> int:
    with db.read() as s:
        found = s.scalar(select(Appraisal.id).join(Employee).where(Employee.code == code))
    assert found is not None
    return int(found)


@pytest.fixture
def shop(db: Database, tmp_path: Path) -> Database:
    """Six agents, one published taobao-presales month: a supervisor's rating on E001, an
    incident on E003, every appraisal scored and published (and so sealed)."""
    setup_org(db, tmp_path)
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period=PERIOD, actor=ADMIN).id
    rows = [input_row(c, PERIOD, sales=str(105000 + 1000 * i)) for i, c in enumerate(CODES)]
    with db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=write_inputs(tmp_path / "in.csv", rows),
                             actor=ADMIN)
        cycles.advance_all(s, cycle_id=cid, trigger="submit_self_review", actor=ADMIN)
        sup1, _ = actor_for(s, "sup1")  # rates in the supervisor review
        cycles.rate(s, appraisal_id=_app(db, "E001"), input_id="execution", value="非常满意",
                    actor=sup1, role="supervisor")
        cycles.add_incident(s, appraisal_id=_app(db, "E003"), input_id="bad_reviews",
                            date=dt.date(2026, 10, 12), count=Decimal(1), note="差评",
                            actor=sup1)
    with db.transaction() as s:
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
        for step in ("submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=cid, trigger=step, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="approve", actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="publish", actor=ADMIN,
                                today=dt.date(2026, 11, 5))
    return db


def _verify(db: Database, *args: str) -> tuple[int, str, str]:
    r = kaohe(db, "audit", "verify", *args)
    return r.returncode, r.stdout, r.stderr


def _current(db: Database, code: str) -> tuple[int, dict[str, Any], Decimal | None]:
    with db.read() as s:
        row = s.execute(select(Result.id, Result.payload, Result.pay_total)
                        .where(Result.appraisal_id == _app(db, code),
                               Result.is_current.is_(True))).one()
    return int(row[0]), dict(row[1]), row[2]


def _raise_pay(db: Database, code: str) -> None:
    """The issue's case: pay total raised to 99,999.00 in the column and in the JSON."""
    rid, payload, _ = _current(db, code)
    payload["pay"] = {**payload["pay"], "total": 99999}
    with intruder(db) as c:
        c.execute(update(Result.__table__).where(Result.__table__.c.id == rid)
                  .values(pay_total=Decimal("99999.00"), payload=payload))


def _named(stderr: str, code: str, what: str) -> bool:
    return any(line.startswith(f"record: {code} {PERIOD} (appraisal ") and f": {what}:" in line
               for line in stderr.splitlines())


def test_an_untouched_published_cycle_verifies(shop: Database) -> None:
    rc, out, err = _verify(shop, "--full")
    assert rc == 0, err
    assert "audit log ok" in out
    assert "records ok: 6 published appraisals match their seals" in out
    assert "scored again 6 (1 cycles)" in out
    with shop.read() as s:
        run = verification.last_run(s)
        assert run is not None and run.ok and run.scope == "full" and run.appraisals == 6


def test_pay_edited_in_column_and_json_is_caught_and_payroll_refuses(shop: Database,
                                                                    tmp_path: Path) -> None:
    _, _, was = _current(shop, "E004")
    _raise_pay(shop, "E004")
    rc, _, err = _verify(shop)
    assert rc == 1
    assert _named(err, "E004", "result")
    assert f"pay total 99999.00, sealed {was:.2f}" in err
    assert sum(line.startswith("record: ") for line in err.splitlines()) == 1  # nobody else
    out = tmp_path / "pay.xlsx"
    r = kaohe(shop, "export", "payroll", "--scheme", "taobao-presales", "--period", PERIOD,
              "-o", str(out))
    assert r.returncode == 2
    assert "refused: 1 published appraisals no longer match" in r.stderr
    assert f"E004 {PERIOD} (result)" in r.stderr
    assert not out.exists() and not out.with_name(out.name + ".part").exists()
    forms = ["export", "forms", "--cycle", "1", "--team"]
    r = kaohe(shop, *forms, "二组", "-o", str(tmp_path / "two.zip"))  # E004's team
    assert r.returncode == 2 and f"E004 {PERIOD} (result)" in r.stderr
    assert not (tmp_path / "two.zip").exists()
    r = kaohe(shop, *forms, "一组", "-o", str(tmp_path / "one.zip"))
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(tmp_path / "one.zip") as zf:
        names = sorted(n for n in zf.namelist() if not n.startswith("summary"))
        assert [n.split("_")[-1] for n in names] == ["E001.xlsx", "E003.xlsx", "E005.xlsx"]
        assert load_workbook(io.BytesIO(zf.read(names[0]))).active is not None
    with shop.read() as s:
        run = verification.last_run(s)
        assert run is not None and not run.ok
        assert run.failing == [{"appraisal": _app(shop, "E004"), "employee": "E004",
                                "period": PERIOD, "what": "result"}]


def test_pay_edited_only_in_the_json_is_caught(shop: Database) -> None:
    rid, payload, _ = _current(shop, "E004")
    first_line = next(iter(payload["pay"]))
    payload["pay"][first_line] = 5000
    with intruder(shop) as c:
        c.execute(update(Result.__table__).where(Result.__table__.c.id == rid)
                  .values(payload=payload))
    rc, _, err = _verify(shop, "--sample", "0")
    assert rc == 1 and _named(err, "E004", "result")


def test_edited_inputs_are_caught(shop: Database) -> None:
    app = _app(shop, "E005")
    with shop.read() as s:
        inputs = dict(s.scalar(select(Appraisal.inputs).where(Appraisal.id == app)) or {})
    inputs["sales"] = "999999"
    with intruder(shop) as c:
        c.execute(update(Appraisal.__table__).where(Appraisal.__table__.c.id == app)
                  .values(inputs=inputs))
    rc, _, err = _verify(shop)
    assert rc == 1 and _named(err, "E005", "inputs")


def test_a_deleted_incident_is_caught_as_inputs(shop: Database) -> None:
    with intruder(shop) as c:
        c.execute(text("DELETE FROM incidents"))
    rc, _, err = _verify(shop)
    assert rc == 1 and _named(err, "E003", "inputs")


def test_a_deleted_rating_is_caught(shop: Database) -> None:
    with intruder(shop) as c:
        c.execute(delete(Rating.__table__).where(
            Rating.__table__.c.appraisal_id == _app(shop, "E001")))
    rc, _, err = _verify(shop)
    assert rc == 1 and _named(err, "E001", "ratings")
    assert "0 ratings now, 1 when sealed" in err


def _insert_result(db: Database, code: str, *, retire_old: bool) -> None:
    rid, payload, _ = _current(db, code)
    payload["pay"] = {**payload["pay"], "total": 12345}
    t = Result.__table__
    with intruder(db) as c:
        old = c.execute(select(t).where(t.c.id == rid)).mappings().one()
        if retire_old:
            c.execute(update(t).where(t.c.id == rid).values(is_current=False))
        c.execute(insert(t).values({**{k: v for k, v in old.items() if k != "id"},
                                    "revision": old["revision"] + 1, "payload": payload,
                                    "pay_total": Decimal("12345.00"), "is_current": True}))


@pytest.mark.parametrize("retire_old", [True, False])
def test_an_inserted_result_row_is_caught(shop: Database, tmp_path: Path,
                                          retire_old: bool) -> None:
    _insert_result(shop, "E006", retire_old=retire_old)
    rc, _, err = _verify(shop)
    assert rc == 1 and _named(err, "E006", "extra row")
    with shop.read() as s, pytest.raises(seal.Tampered, match=r"E006 2026-10 \(extra row\)"):
        payroll.payroll_rows(s, cycle_id=1)


def test_a_deleted_seal_event_leaves_every_appraisal_unsealed(shop: Database) -> None:
    with intruder(shop) as c:
        c.execute(delete(AuditEvent.__table__).where(
            AuditEvent.__table__.c.action == seal.SEALED))
    rc, _, err = _verify(shop)
    assert rc == 1
    assert all(_named(err, code, "unsealed") for code in CODES)
    # the seal was the newest event: the chain alone still verifies, the records do not
    assert "0 audit log problem(s)" in err


def test_a_deleted_audit_row_names_the_appraisal_it_was_about(shop: Database) -> None:
    with shop.read() as s:
        ev = s.scalar(select(AuditEvent.seq).where(AuditEvent.action == "incident.recorded"))
    with intruder(shop) as c:
        c.execute(delete(AuditEvent.__table__).where(AuditEvent.__table__.c.seq == ev))
    rc, _, err = _verify(shop)
    assert rc == 1
    # the rating on E001 came just before the deleted incident event on E003
    assert f"event {ev} missing before event {ev + 1}" in err
    assert f"event {ev - 1} rating.saved on E001 {PERIOD}" in err
    # and E003's seal kept the digest of the events about it: the one removed is named
    assert _named(err, "E003", "history") and "one was removed" in err
    assert not any(_named(err, code, "history") for code in CODES if code != "E003")


def test_removing_the_newest_events_is_caught_against_the_last_verification(
        shop: Database) -> None:
    assert _verify(shop)[0] == 0
    with intruder(shop) as c:
        c.execute(delete(AuditEvent.__table__).where(
            AuditEvent.__table__.c.action == seal.SEALED))
    rc, _, err = _verify(shop, "--log-only")
    assert rc == 1 and "is no longer in the log" in err
    rc, _, err = _verify(shop, "--log-only")  # a failed run does not become the new anchor
    assert rc == 1 and "is no longer in the log" in err


def test_a_result_tampered_before_publication_is_caught_by_scoring_again(
        db: Database, tmp_path: Path) -> None:
    """Sealed as it was, so the digests match: only the engine can tell."""
    setup_org(db, tmp_path)
    with db.transaction() as s:
        cid = cycles.open_cycle(s, scheme_ref="taobao-presales", period=PERIOD, actor=ADMIN).id
    rows = [input_row(c, PERIOD) for c in CODES]
    with db.transaction() as s:
        cycles.import_inputs(s, cycle_id=cid, path=write_inputs(tmp_path / "in.csv", rows),
                             actor=ADMIN)
        cycles.score_cycle(s, cycle_id=cid, actor=ADMIN)
        for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
            cycles.advance_all(s, cycle_id=cid, trigger=step, actor=ADMIN)
        cycles.cycle_transition(s, cycle_id=cid, trigger="approve", actor=ADMIN)
    _raise_pay(db, "E002")
    with db.transaction() as s:
        cycles.cycle_transition(s, cycle_id=cid, trigger="publish", actor=ADMIN,
                                today=dt.date(2026, 11, 5))
    assert _verify(db, "--sample", "0")[0] == 0  # the seal itself holds
    rc, _, err = _verify(db, "--full")
    assert rc == 1 and _named(err, "E002", "rescore")
    assert "pay 99999" in err and sum(line.startswith("record: ") for line in err.splitlines()) == 1


def test_appeal_and_correction_are_sealed_again(shop: Database) -> None:
    e1 = _app(shop, "E001")
    with shop.transaction() as s:
        agent, _ = actor_for(s, "e1")
        appeal = appeals.file_appeal(s, appraisal_id=e1, reason="执行力评级有误", actor=agent,
                                     today=dt.date(2026, 11, 6))
        appeals.decide_appeal(s, appeal_id=appeal.id, accept=True, note="", actor=ADMIN,
                              today=dt.date(2026, 11, 6))
        appeals.resolve_appeal(s, appeal_id=appeal.id, changes={"sales": "130000"},
                               resolution="复核后上调", actor=ADMIN, today=dt.date(2026, 11, 9))
    with shop.transaction() as s:
        appeals.correct(s, appraisal_id=_app(shop, "E002"), changes={"bad_reviews": "0"},
                        reason="差评已撤销", actor=ADMIN)
    with shop.read() as s:
        reasons = [e.details["reason"] for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == seal.SEALED).order_by(AuditEvent.seq))]
        assert reasons == ["publish", f"appeal {appeal.id}", "correction: 差评已撤销"]
    rc, _, err = _verify(shop, "--full")
    assert rc == 0, err


def test_unsealed_published_appraisals_are_named_and_sealed_on_request(shop: Database) -> None:
    """A database published before sealing existed: verify names every appraisal; `audit
    seal` attests to them, and never re-seals one that has a seal."""
    with intruder(shop) as c:
        c.execute(delete(AuditEvent.__table__).where(
            AuditEvent.__table__.c.action == seal.SEALED))
        c.execute(text("DELETE FROM verification_runs"))
    _raise_pay(shop, "E001")
    r = kaohe(shop, "audit", "seal", "--cycle", "1", "--reason", "upgrade to sealing",
              user="hr")
    assert r.returncode == 0, r.stderr
    assert "sealed 6 published appraisals" in r.stdout
    r = kaohe(shop, "audit", "seal", "--cycle", "1", "--reason", "again", user="hr")
    assert "nothing to seal" in r.stdout
    with shop.read() as s:
        _, found = seal.check(s)
    assert found == []  # what is there now is attested (E001's edit included)
    r = kaohe(shop, "audit", "seal", "--cycle", "1", "--reason", "x", user="e1")
    assert r.returncode == 2 and "needs role admin or hr" in r.stderr


def test_the_audit_log_refuses_update_and_delete(shop: Database) -> None:
    from sqlalchemy.exc import DBAPIError

    for stmt in ("UPDATE audit_events SET action = 'x' WHERE seq = 1",
                 "DELETE FROM audit_events WHERE seq = 1"):
        with pytest.raises(DBAPIError, match="audit_events is append-only"), \
                shop.engine.begin() as c:
            c.execute(text(stmt))
    with shop.read() as s:
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.seq == 1)) != "x"


def test_verification_reads_every_appraisal_once_per_table(shop: Database) -> None:
    """The record check is set-based: its statement count does not grow with appraisals."""
    from sqlalchemy import event

    count = 0

    def tick(*_: Any) -> None:
        nonlocal count
        count += 1

    event.listen(shop.engine, "before_cursor_execute", tick)
    try:
        with shop.read() as s:
            checked, found = seal.check(s)
    finally:
        event.remove(shop.engine, "before_cursor_execute", tick)
    assert checked == 6 and found == []
    assert count <= 12


numbers = st.decimals(allow_nan=False, allow_infinity=False, places=4,
                      min_value=Decimal("-1e9"), max_value=Decimal("1e9"))


@given(numbers)
def test_canonical_decimals_ignore_how_a_value_is_written(value: Decimal) -> None:
    """Decimal('90.00'), Decimal('90') and Decimal('9E+1') seal the same; another amount
    never does."""
    shapes = {seal.canonical({"pay": v}) for v in (value, value.quantize(Decimal("0.0001")),
                                                   value.normalize(), Decimal(str(value)))}
    assert len(shapes) == 1
    assert seal.canonical(value) != seal.canonical(value + Decimal("0.01"))


@given(st.dictionaries(st.sampled_from(["total", "base", "bonus", "pool", "奖金"]), numbers,
                       max_size=5))
def test_a_payload_seals_the_same_after_the_database_round_trip(pay: dict[str, Decimal]
                                                                ) -> None:
    """Payload numbers are stored as JSON (ints, shortest floats) and read back the same way
    on SQLite and PostgreSQL: the canonical text does not change on the way."""
    import json

    from kaohe.numbers import to_json_number

    payload = {"employee": "E001", "pay": {k: to_json_number(v) for k, v in pay.items()}}
    assert seal.canonical(json.loads(json.dumps(payload))) == seal.canonical(payload)


@pytest.mark.skipif(not PG_URL, reason="roles and grants are PostgreSQL's (SQLite: see the "
                    "trigger test above)")
def test_the_app_role_may_append_to_the_log_but_never_rewrite_it(shop: Database) -> None:
    """`kaohe db grant ROLE` as the owner; then, connected as ROLE: kaohe works, the log takes
    new events, and UPDATE, DELETE, TRUNCATE and disabling the trigger are all refused."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    url = make_url(shop.url)
    role = f"kaohe_app_{url.database}"[:63]
    with shop.engine.begin() as c:
        c.execute(text(f"DROP OWNED BY {role}") if c.scalar(text(
            "SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}) else text("SELECT 1"))
        c.execute(text(f"DROP ROLE IF EXISTS {role}"))
        c.execute(text(f"CREATE ROLE {role} LOGIN"))
    try:
        r = kaohe(shop, "db", "grant", role)
        assert r.returncode == 0, r.stderr
        app_db = Database(url.set(username=role).render_as_string(hide_password=False))
        try:
            with app_db.transaction() as s:  # the application at work: an HR correction
                appeals.correct(s, appraisal_id=_app(shop, "E002"), changes={"sales": "120000"},
                                reason="销售额补录", actor=ADMIN)
            for stmt, why in (
                    ("UPDATE audit_events SET action = 'x' WHERE seq = 1", "permission denied"),
                    ("DELETE FROM audit_events WHERE seq = 1", "permission denied"),
                    ("TRUNCATE audit_events", "permission denied"),
                    ("ALTER TABLE audit_events DISABLE TRIGGER USER", "must be owner"),
                    ("UPDATE alembic_version SET version_num = '0001'", "permission denied")):
                with pytest.raises(DBAPIError, match=why), app_db.engine.begin() as c:
                    c.execute(text(stmt))
        finally:
            app_db.dispose()
        with shop.engine.begin() as c, pytest.raises(DBAPIError, match="append-only"):
            c.execute(text("TRUNCATE audit_events"))  # the owner too, while the trigger stands
        assert _verify(shop, "--full")[0] == 0
    finally:
        with shop.engine.begin() as c:
            c.execute(text(f"DROP OWNED BY {role}"))
            c.execute(text(f"DROP ROLE {role}"))
