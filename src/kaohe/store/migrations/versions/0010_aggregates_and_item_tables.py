"""aggregates and item tables: quarter and year results stored with each scored cycle;
the rows of a cycle's item tables (e.g. late-paid deals), one per employee-month item

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "aggregate_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("closes", sa.Boolean(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("team_code", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("grade", sa.String(length=40), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("scheme_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["employee_id"], ["employees.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "period", "employee_id", "revision"),
    )
    with op.batch_alter_table("aggregate_results", schema=None) as batch_op:
        batch_op.create_index("ix_aggregate_results_current", ["cycle_id", "is_current"],
                              unique=False)
        batch_op.create_index("ix_aggregate_results_employee", ["employee_id", "period"],
                              unique=False)
    op.create_table(
        "item_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("appraisal_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["appraisal_id"], ["appraisals.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("item_rows", schema=None) as batch_op:
        batch_op.create_index("ix_item_rows_cycle_table", ["cycle_id", "table_name"],
                              unique=False)
        batch_op.create_index("ix_item_rows_appraisal_id", ["appraisal_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("item_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_item_rows_appraisal_id")
        batch_op.drop_index("ix_item_rows_cycle_table")
    op.drop_table("item_rows")
    with op.batch_alter_table("aggregate_results", schema=None) as batch_op:
        batch_op.drop_index("ix_aggregate_results_employee")
        batch_op.drop_index("ix_aggregate_results_current")
    op.drop_table("aggregate_results")
