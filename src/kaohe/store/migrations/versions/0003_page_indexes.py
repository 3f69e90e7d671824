"""indexes for pages: employees by team; a result's current revision by appraisal

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("employees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_employees_team_id"), ["team_id"], unique=False)
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_results_is_current"))
        batch_op.create_index("ix_results_current", ["appraisal_id", "is_current"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_index("ix_results_current")
        batch_op.create_index(batch_op.f("ix_results_is_current"), ["is_current"], unique=False)
    with op.batch_alter_table("employees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employees_team_id"))
