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


def _worker_url(url: str | None) -> str | None:
    """Under pytest-xdist each worker gets its own PostgreSQL database (``<name>_gw0`` …),
    created on first use, so parallel workers never drop each other's tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


PG_URL = _worker_url(os.environ.get("KAOHE_TEST_DATABASE_URL"))


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
