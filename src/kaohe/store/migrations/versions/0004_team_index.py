"""index appraisals by (cycle, team): the team board and a scorecard's place in the team

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appraisals", schema=None) as batch_op:
        batch_op.create_index("ix_appraisals_cycle_team", ["cycle_id", "team_code"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appraisals", schema=None) as batch_op:
        batch_op.drop_index("ix_appraisals_cycle_team")
