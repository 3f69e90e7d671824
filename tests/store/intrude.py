"""Direct writes to the database, as someone who bypasses kaohe would make them (a DBA, a
leaked owner password): the audit log's append-only triggers are out of their way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

from kaohe.store.db import Database


@contextmanager
def intruder(db: Database) -> Iterator[Connection]:
    with db.engine.begin() as conn:
        if db.is_sqlite:  # whoever holds the file can drop the triggers
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        else:  # a superuser can skip triggers for a session
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        yield conn
