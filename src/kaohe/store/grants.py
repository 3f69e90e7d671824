"""PostgreSQL roles: the owner runs migrations, the application's role may not rewrite the
audit log.

Migration 0008 puts a trigger on ``audit_events`` that refuses every UPDATE, DELETE and
TRUNCATE, whoever runs it; only the table's owner can disable it. :func:`grant_app_role`
(``kaohe db grant ROLE``, run as the owner after each upgrade) gives the application's role
read and write access to every table except the log, where it may only read and append,
and no write access to the migration bookkeeping. See the README, "PostgreSQL roles".
"""

from __future__ import annotations

import re

from sqlalchemy import text

from kaohe.errors import KaoheError
from kaohe.store.db import Database

ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_app_role(db: Database, role: str) -> None:
    if db.is_sqlite:
        raise KaoheError("roles and grants are PostgreSQL's; a SQLite file is protected by "
                         "its file permissions (the audit log's triggers refuse edits)")
    if not ROLE_RE.match(role):
        raise KaoheError(f"role {role!r}: expected a lower-case PostgreSQL role name "
                         "(letters, digits, _)")
    with db.engine.begin() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}) is None:
            raise KaoheError(f"role {role!r} does not exist: CREATE ROLE {role} LOGIN "
                             "PASSWORD '…' first")
        schema = conn.scalar(text("SELECT current_schema()"))
        q = f'"{schema}"'
        for stmt in (
            f"GRANT USAGE ON SCHEMA {q} TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {q} TO {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {q} TO {role}",
            f"REVOKE UPDATE, DELETE, TRUNCATE ON {q}.audit_events FROM {role}",
            f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {q}.alembic_version FROM {role}",
        ):
            conn.execute(text(stmt))
