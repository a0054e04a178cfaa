"""Scheduled actions of groups.

Revision ID: group_0015
Revises: group_0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0015"
down_revision: str | Sequence[str] | None = "group_0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create group_scheduled_actions, with its index of the runs due."""
    op.create_table(
        "group_scheduled_actions",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("group_id", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("recurrence", sa.String(255), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("start_time", sa.Float, nullable=True),
        sa.Column("end_time", sa.Float, nullable=True),
        sa.Column("min_size", sa.Integer, nullable=True),
        sa.Column("max_size", sa.Integer, nullable=True),
        sa.Column("desired_capacity", sa.Integer, nullable=True),
        sa.Column("create_time", sa.Float, nullable=False),
        sa.Column("next_run_time", sa.Float, nullable=True),
        sa.Column("last_run_time", sa.Float, nullable=True),
        sa.Column("last_run_status", sa.String(16), nullable=True),
        sa.Column("last_run_reason", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_scheduled_actions_group"
        ),
    )
    op.create_index("ix_group_scheduled_actions_next_run", "group_scheduled_actions", ["next_run_time"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_group_scheduled_actions_next_run", table_name="group_scheduled_actions")
    op.drop_table("group_scheduled_actions")
