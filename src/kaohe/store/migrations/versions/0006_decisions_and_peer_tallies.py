"""HR corrections and appeal resolutions kept apart from imports; peer marks as one tally

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

``appraisals.decisions`` holds the values HR and appeal resolutions decided (they count
over imported inputs and ratings). Peer ratings, one row per peer before, are folded into
one tally row per appraisal and input (the sum of the marks), so that no row holds one
peer's mark.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appraisals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decisions", sa.JSON(), nullable=True))
    bind = op.get_bind()
    ratings = sa.table("ratings", sa.column("id", sa.String), sa.column("appraisal_id"),
                       sa.column("input_id", sa.String), sa.column("rater_role", sa.String),
                       sa.column("value", sa.String))
    groups: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for rid, app_id, input_id, value in bind.execute(
            sa.select(ratings.c.id, ratings.c.appraisal_id, ratings.c.input_id,
                      ratings.c.value).where(ratings.c.rater_role == "peer")):
        groups.setdefault((app_id, input_id), []).append((rid, value))
    for rows in groups.values():
        if len(rows) < 2:
            continue
        try:
            total = sum((Decimal(v) for _, v in rows), Decimal(0))
        except InvalidOperation:
            continue  # not marks: left as they are
        keep, *drop = sorted(rid for rid, _ in rows)
        bind.execute(ratings.update().where(ratings.c.id == keep)
                     .values(value=format(total, "f")))
        bind.execute(ratings.delete().where(ratings.c.id.in_(drop)))


def downgrade() -> None:
    with op.batch_alter_table("appraisals", schema=None) as batch_op:
        batch_op.drop_column("decisions")
