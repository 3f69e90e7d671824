"""`kaohe cycle items`: a cycle's item tables (rulebook 4.12's late payments) imported from
the command line, as the web console's second upload does: every problem listed with its
file, row, column and value (exit 2, nothing written), a dry run that writes nothing, and an
audited import the next scoring reads."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kaohe.store.db import Database
from kaohe.store.models import AuditEvent, Result
from kaohe.workflow import cycles, items, org

from .factories import ADMIN, write_org
from .test_aggregates import _deals, _ft_sheet
from .test_cli_flow import kaohe, ok


@pytest.fixture
def december(db: Database, tmp_path: Path) -> int:
    """Four sales staff, an HR user, and the foreign-trade cycle of 2026-12 with its inputs."""
    with db.transaction() as s:
        org.import_employees(s, path=write_org(tmp_path / "org.csv", 4, teams=("一组",)),
                             actor=ADMIN)
        org.create_user(s, username="hr", roles=["hr"], actor=ADMIN)
        org.create_user(s, username="e1", roles=["agent"], actor=ADMIN, employee_code="E001")
        cid = cycles.open_cycle(s, scheme_ref="foreign-trade", period="2026-12", actor=ADMIN).id
        cycles.import_inputs(s, cycle_id=cid, actor=ADMIN,
                             path=_ft_sheet(tmp_path / "in.csv", "2026-12"))
    return cid


def _state(db: Database, cid: int) -> tuple[dict[str, int], int]:
    with db.transaction() as s:
        n = s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "cycle.items_imported"))
        return items.item_counts(s, cycle_id=cid), int(n or 0)


def test_bad_rows_are_all_named_and_nothing_is_written(db: Database, december: int,
                                                       tmp_path: Path) -> None:
    good = _deals(tmp_path / "good.csv", [["E001", "2026-12", "A", "100000", "16", "920"]])
    bad = _deals(tmp_path / "deals.csv", [["E001", "2026-12", "A", "100000", "16", "920"],
                                          ["E999", "2026-12", "B", "80000", "60", "100"],
                                          ["E002", "2026-11", "C", "80000", "60", "100"],
                                          ["E003", "2026-12", "D", "lots", "60", "100"]])
    # a good first table does not get in when the second one is bad: all or nothing
    r = kaohe(db, "cycle", "items", "--cycle", str(december), "--table",
              f"late_payments={good}", "--table", f"late_payments={bad}", user="hr")
    assert r.returncode == 2 and "given twice" in r.stderr
    r = kaohe(db, "cycle", "items", "--scheme", "foreign-trade", "--period", "2026-12",
              "--table", f"late_payments={bad}", user="hr")
    assert (r.returncode, r.stdout) == (2, "")
    lines = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 3, r.stderr
    assert f"{bad}, row 3, column '工号': value 'E999': employee 'E999' has no appraisal" \
        in r.stderr
    assert f"{bad}, row 4, column 'period': value '2026-11'" in r.stderr
    assert "row 5" in r.stderr and "'lots'" in r.stderr
    assert _state(db, december) == ({}, 0)


@pytest.mark.parametrize(("table", "message"), [
    ("late_payments", "write a table as NAME=FILE"),
    ("deals={file}", "no item table 'deals'"),
    ("late_payments=/no/such.csv", "such.csv"),
])
def test_bad_commands_exit_2(db: Database, december: int, tmp_path: Path, table: str,
                             message: str) -> None:
    good = _deals(tmp_path / "good.csv", [["E001", "2026-12", "A", "100000", "16", "920"]])
    r = kaohe(db, "cycle", "items", "--cycle", str(december),
              "--table", table.format(file=good), user="hr")
    assert (r.returncode, r.stdout) == (2, ""), r.stderr
    assert message in r.stderr
    assert _state(db, december) == ({}, 0)


def test_only_hr_imports_item_tables(db: Database, december: int, tmp_path: Path) -> None:
    good = _deals(tmp_path / "good.csv", [["E001", "2026-12", "A", "100000", "16", "920"]])
    r = kaohe(db, "cycle", "items", "--cycle", str(december),
              "--table", f"late_payments={good}", user="e1")
    assert r.returncode == 2 and "import inputs" in r.stderr
    assert _state(db, december) == ({}, 0)


def test_dry_run_then_import_feeds_the_next_scoring(db: Database, december: int,
                                                    tmp_path: Path) -> None:
    # the rulebook's worked example: 50.00 + min(120.00, 100) = 150.00
    deals = _deals(tmp_path / "deals.csv", [["E001", "2026-12", "A", "100000", "16", "920"],
                                            ["E001", "2026-12", "B", "80000", "60", "100"]])
    args = ["cycle", "items", "--cycle", str(december), "--table", f"late_payments={deals}"]
    out = ok(db, *args, "--dry-run", user="hr")
    assert f"late_payments: {deals}, 2 rows" in out and "nothing written" in out
    assert _state(db, december) == ({}, 0)
    out = ok(db, *args, user="hr")
    assert "2 rows" in out and "imported 1 item table" in out
    assert _state(db, december) == ({"late_payments": 2}, 1)
    # imported again: the table's rows are replaced, not added to
    ok(db, *args, user="hr")
    assert _state(db, december) == ({"late_payments": 2}, 2)
    ok(db, "cycle", "score", "--cycle", str(december), user="hr")
    with db.transaction() as s:
        pays = [p["pay"] for p in s.scalars(select(Result.payload).where(
            Result.is_current.is_(True))) if p["employee"] in ("E001", "E002")]
    assert sorted(Decimal(str(p["late_penalty"])) for p in pays) == [
        Decimal("-150.00"), Decimal("0")]
