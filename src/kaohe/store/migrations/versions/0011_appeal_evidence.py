"""appeal evidence: files an appellant attaches to an appeal, kept in the database with it

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appeal_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appeal_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appeal_evidence_appeal_id"), ["appeal_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appeal_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appeal_evidence_appeal_id"))
    op.drop_table("appeal_evidence")
