"""A fresh, migrated database per test: SQLite by default, PostgreSQL when
KAOHE_TEST_DATABASE_URL names one (CI runs the suite both ways)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from kaohe.store import migrate
from kaohe.store.db import Database
from kaohe.store.models import Base
from kaohe.workflow.audit import Actor

PG_URL = os.environ.get("KAOHE_TEST_DATABASE_URL")


def _reset_pg(db: Database) -> None:
    with db.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    if PG_URL:
        database = Database(PG_URL)
        _reset_pg(database)
    else:
        database = Database(f"sqlite:///{tmp_path / 'kaohe.db'}")
    migrate.upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def db_url(db: Database) -> str:
    return db.url


ADMIN = Actor("system-test", ("admin",))
