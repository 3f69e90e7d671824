"""Database location and engine factory.

SQLite in the user's data directory is the default, so a laptop needs nothing installed;
``KAOHE_DATABASE_URL`` (or ``--db``) points elsewhere, e.g.
``postgresql+psycopg://user@host/kaohe``. Nothing is created at import time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

ENV_URL = "KAOHE_DATABASE_URL"


def default_sqlite_path() -> Path:
    from kaohe.settings import settings

    return settings().data_path() / "kaohe.db"


def database_url(db: str | Path | None = None) -> str:
    """``--db PATH`` (a SQLite file, or a URL), else ``KAOHE_DATABASE_URL``, else the default."""
    if db is not None:
        text = str(db)
        if "://" in text:
            return text
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    from kaohe.settings import settings

    if settings().database_url:
        return str(settings().database_url)
    return f"sqlite:///{default_sqlite_path()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        # SQLite: a writing transaction takes the write lock at BEGIN, so it never has to
        # upgrade mid-way; a read-only one (see Database.read) begins deferred and, with WAL,
        # never waits for writers
        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            if conn.get_execution_options().get("kaohe_readonly"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    """An engine plus a session factory; the caller owns each transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(self.engine.execution_options(kaohe_readonly=True),
                                          expire_on_commit=False)

    @classmethod
    def open(cls, db: str | Path | None = None) -> Database:
        return cls(database_url(db))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back everything on any error."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A transaction that only reads (pages, reports): rolled back at the end."""
        with self.read_sessions() as session, session.begin():
            yield session
            session.rollback()

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def dispose(self) -> None:
        self.engine.dispose()
