"""The monthly cycle from the command line, as the README runs it, and bad input to the
commands: exit 2, one message naming what and where, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from kaohe.store.db import Database
from kaohe.store.models import AuditEvent

from .factories import input_row, write_inputs, write_org


def kaohe(db: Database, *args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KAOHE_DATABASE_URL": db.url}
    env.pop("KAOHE_USER", None)
    if user:
        env["KAOHE_USER"] = user
    return subprocess.run([sys.executable, "-m", "kaohe", *args], env=env, text=True,
                          capture_output=True, timeout=120)


def ok(db: Database, *args: str, user: str | None = None) -> str:
    r = kaohe(db, *args, user=user)
    assert r.returncode == 0, f"{args}: {r.stderr}"
    return r.stdout


def events(db: Database) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


@pytest.fixture
def shop(db: Database, tmp_path: Path) -> Database:
    ok(db, "user", "add", "admin", "--role", "admin", "--password", "pw-secret")
    ok(db, "org", "import", str(write_org(tmp_path / "org.csv", 4)))
    ok(db, "user", "add", "hr", "--role", "hr", "--password", "pw-secret")
    ok(db, "user", "add", "e1", "--role", "agent", "--employee", "E001", "--password", "pw-secret")
    return db


def test_monthly_cycle_from_the_cli(shop: Database, tmp_path: Path) -> None:
    db = shop
    cyc = ["--scheme", "taobao-presales", "--period", "2026-10"]
    ok(db, "cycle", "open", *cyc, user="hr")
    sheet = write_inputs(tmp_path / "in.csv", [input_row(f"E{i:03d}", "2026-10")
                                              for i in range(1, 5)])
    ok(db, "cycle", "import-inputs", *cyc, str(sheet), user="hr")
    ok(db, "cycle", "score", *cyc, user="hr")
    for step in ("submit_self_review", "submit_supervisor_review", "approve_second_review"):
        ok(db, "cycle", "advance", step, *cyc, user="hr")
    ok(db, "cycle", "approve", *cyc, user="hr")
    ok(db, "cycle", "publish", *cyc, "--today", "2026-11-05", user="hr")
    pay = tmp_path / "pay.xlsx"
    ok(db, "export", "payroll", *cyc, "-o", str(pay))
    assert load_workbook(pay).active.max_row == 8  # 4 people, 2 team subtotals, the total
    ok(db, "appraisal", "move", "1", "acknowledge", user="e1")
    out = ok(db, "audit", "verify")
    assert "audit log ok" in out


@pytest.mark.parametrize(("args", "message"), [
    (["cycle", "open", "--scheme", "no-such", "--period", "2026-10"],
     "'no-such' is neither a preset"),
    (["cycle", "open", "--scheme", "taobao-presales", "--period", "2026-13"],
     "period '2026-13': expected a month written YYYY-MM"),
    (["cycle", "score", "--cycle", "99"], "no cycle 99"),
    (["appraisal", "move", "1", "acknowledge"], "no appraisal 1"),
    (["appeal", "decide", "7", "--accept"], "no appeal 7"),
    (["appraisal", "correct", "1", "bad", "--reason", "x"], "write a change as INPUT=VALUE"),
])
def test_bad_commands_exit_2_and_write_nothing(shop: Database, args: list[str],
                                               message: str) -> None:
    before = events(shop)
    r = kaohe(shop, *args, user="hr")
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert r.stdout == ""
    assert events(shop) == before


def test_bad_sheet_names_file_row_column_and_writes_nothing(shop: Database,
                                                           tmp_path: Path) -> None:
    ok(shop, "cycle", "open", "--scheme", "taobao-presales", "--period", "2026-10", user="hr")
    rows = [input_row(f"E{i:03d}", "2026-10") for i in range(1, 5)]
    rows[2][10] = "很好"
    sheet = write_inputs(tmp_path / "bad.csv", rows)
    before = events(shop)
    r = kaohe(shop, "cycle", "import-inputs", "--cycle", "1", str(sheet), user="hr")
    assert r.returncode == 2
    assert "bad.csv, row 4, column 'execution': value '很好': unknown level" in r.stderr
    assert events(shop) == before


def test_wrong_role_is_refused(shop: Database) -> None:
    before = events(shop)
    r = kaohe(shop, "cycle", "open", "--scheme", "taobao-presales", "--period", "2026-10",
              user="e1")
    assert r.returncode == 2 and "e1 may not open a cycle" in r.stderr
    assert events(shop) == before


def test_sqlite_backup_and_restore(db: Database, tmp_path: Path) -> None:
    if not db.is_sqlite:
        pytest.skip("online backup is SQLite's; PostgreSQL uses pg_dump")
    ok(db, "user", "add", "admin", "--role", "admin", "--password", "pw-secret")
    backup = tmp_path / "backup.db"
    ok(db, "db", "backup", str(backup))
    ok(db, "user", "add", "late", "--role", "hr", "--password", "pw-secret")
    n = events(db)
    ok(db, "db", "restore", str(backup))
    assert events(db) == n - 1
    r = kaohe(db, "db", "restore", str(tmp_path / "missing.db"))
    assert r.returncode == 2 and "no such backup file" in r.stderr


def test_incidents_from_the_cli_dated_in_their_month_corrected_and_removed(
        shop: Database, tmp_path: Path) -> None:
    from kaohe.store.models import Incident

    db = shop
    cyc = ["--scheme", "taobao-presales", "--period", "2026-11"]
    ok(db, "cycle", "open", *cyc, user="hr")
    before = events(db)
    r = kaohe(db, "appraisal", "incident", "1", "bad_reviews", "--date", "2026-12-25",
              "--note", "差评", user="hr")
    assert r.returncode == 2 and "2026-11-30" in r.stderr and events(db) == before
    out = ok(db, "appraisal", "incident", "1", "bad_reviews", "--date", "2026-11-12",
             "--count", "2", "--note", "差评", user="hr")
    inc = out.split()[1]
    r = kaohe(db, "appraisal", "incident-correct", "1", inc, "--count", "1", "--reason", " ",
              user="hr")
    assert r.returncode == 2 and "reason" in r.stderr
    ok(db, "appraisal", "incident-correct", "1", inc, "--count", "1", "--reason", "重复",
       user="hr")
    with db.read() as s:
        assert s.scalars(select(Incident.count)).one() == 1
    r = kaohe(db, "appraisal", "incident-remove", "1", inc, "--reason", "撤销", user="e1")
    assert r.returncode == 2  # the agent: not theirs to remove
    ok(db, "appraisal", "incident-remove", "1", inc, "--reason", "差评已撤销", user="hr")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 0
        actions = s.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("incident.%")).order_by(AuditEvent.seq)).all()
    assert actions == ["incident.recorded", "incident.corrected", "incident.removed"]
