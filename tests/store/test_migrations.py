"""Migrations: upgrade from empty, downgrade one step, and the models match the schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from kaohe.store import migrate
from kaohe.store.db import Database
from kaohe.store.models import Base


def test_upgrade_from_empty_matches_the_models(db: Database) -> None:
    assert migrate.current(db) == migrate.head(db)
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def _indexes(db: Database, table: str) -> set[str]:
    return {str(i["name"]) for i in inspect(db.engine).get_indexes(table)}


def _columns(db: Database, table: str) -> set[str]:
    return {str(c["name"]) for c in inspect(db.engine).get_columns(table)}


def _audit_triggers(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        if db.is_sqlite:
            return set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                         "AND tbl_name = 'audit_events'")))
        return set(conn.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND "
                                     "tgrelid = 'audit_events'::regclass")))


def _step_down(db: Database, expected: str) -> None:
    migrate.downgrade(db, "-1")
    assert migrate.current(db) == expected


def test_downgrade_one_step_and_back(db: Database) -> None:
    assert "must_change_password" in _columns(db, "users")
    _step_down(db, "0011")  # 0012: one-time passwords
    assert "must_change_password" not in _columns(db, "users")
    assert {"email", "mobile", "reminders_off"} <= _columns(db, "users")
    assert {"aggregate_results", "item_rows"} <= set(inspect(db.engine).get_table_names())
    assert _audit_triggers(db)
    assert "appeal_evidence" in inspect(db.engine).get_table_names()
    _step_down(db, "0010")  # 0011: appeal evidence
    assert "appeal_evidence" not in inspect(db.engine).get_table_names()
    _step_down(db, "0009")  # 0010: aggregates and item tables
    assert not {"aggregate_results", "item_rows"} & set(inspect(db.engine).get_table_names())
    assert "reminder_deliveries" in inspect(db.engine).get_table_names()
    _step_down(db, "0008")
    assert "reminder_deliveries" not in inspect(db.engine).get_table_names()
    assert not {"email", "mobile", "reminders_off"} & _columns(db, "users")
    assert not {"email", "mobile"} & _columns(db, "employees")
    _step_down(db, "0007")
    assert "verification_runs" not in inspect(db.engine).get_table_names()
    assert _audit_triggers(db) == set()
    _step_down(db, "0006")
    assert "user_sessions" not in inspect(db.engine).get_table_names()
    assert "login_throttle" not in inspect(db.engine).get_table_names()
    assert "decisions" in _columns(db, "appraisals")
    _step_down(db, "0005")
    assert "decisions" not in _columns(db, "appraisals")
    migrate.downgrade(db, "-1")
    assert migrate.current(db) == "0004"
    assert "ix_audit_events_target" not in _indexes(db, "audit_events")
    migrate.downgrade(db, "-1")
    assert migrate.current(db) == "0003"
    assert "ix_appraisals_cycle_team" not in _indexes(db, "appraisals")
    migrate.downgrade(db, "-1")
    assert migrate.current(db) == "0002"
    assert "ix_employees_team_id" not in _indexes(db, "employees")
    assert "appraisals" in inspect(db.engine).get_table_names()
    migrate.upgrade(db)
    assert migrate.current(db) == migrate.head(db)
    assert "ix_employees_team_id" in _indexes(db, "employees")
    assert "ix_appraisals_cycle_team" in _indexes(db, "appraisals")
    assert "ix_audit_events_target" in _indexes(db, "audit_events")
    assert "reminder_deliveries" in inspect(db.engine).get_table_names()
    assert {"aggregate_results", "item_rows"} <= set(inspect(db.engine).get_table_names())
    assert "reminders_off" in _columns(db, "users")
    assert "must_change_password" in _columns(db, "users")
    assert "verification_runs" in inspect(db.engine).get_table_names()
    assert _audit_triggers(db)
    assert "user_sessions" in inspect(db.engine).get_table_names()
    assert "decisions" in _columns(db, "appraisals")
    assert "appeal_evidence" in inspect(db.engine).get_table_names()
