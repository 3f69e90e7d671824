"""Online backup and restore of the embedded SQLite database.

PostgreSQL is backed up with its own tools: ``pg_dump -Fc -f kaohe.dump DBNAME`` and
``pg_restore --clean -d DBNAME kaohe.dump``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kaohe.errors import KaoheError
from kaohe.store.db import Database


def _sqlite_path(db: Database) -> Path:
    if not db.is_sqlite:
        raise KaoheError("backup and restore here are for SQLite; for PostgreSQL use "
                         "pg_dump -Fc -f kaohe.dump DBNAME / pg_restore --clean -d DBNAME "
                         "kaohe.dump")
    return Path(db.engine.url.database or "")


def backup(db: Database, target: Path) -> None:
    """A consistent copy while the database stays in use (SQLite online backup API)."""
    src_path = _sqlite_path(db)
    tmp = target.with_name(target.name + ".part")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(src_path)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    tmp.replace(target)


def restore(db: Database, source: Path) -> None:
    """Replace the database's content with a backup, in one step."""
    dst_path = _sqlite_path(db)
    if not source.exists():
        raise KaoheError(f"{source}: no such backup file")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        ok = src.execute("PRAGMA integrity_check").fetchone()
        if not ok or ok[0] != "ok":
            raise KaoheError(f"{source}: not a sound SQLite database ({ok})")
        db.dispose()
        dst = sqlite3.connect(dst_path)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        raise KaoheError(f"{source}: not a SQLite database ({exc})") from None
    finally:
        src.close()
