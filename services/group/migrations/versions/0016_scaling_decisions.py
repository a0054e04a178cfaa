"""Scaling decisions of groups: every request to change a group's capacity and what came of it.

Revision ID: group_0016
Revises: group_0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0016"
down_revision: str | Sequence[str] | None = "group_0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create group_scaling_decisions, with its index of each group's decisions by time."""
    op.create_table(
        "group_scaling_decisions",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("group_id", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("decide_time", sa.Float, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("caller", sa.String(255), nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("trigger", sa.LargeBinary, nullable=False),
        sa.Column("adjustment_type", sa.String(32), nullable=True),
        sa.Column("adjustment", sa.Integer, nullable=False),
        sa.Column("requested_capacity", sa.Integer, nullable=True),
        sa.Column("min_adjustment_step", sa.Integer, nullable=False),
        sa.Column("step_scaling", sa.Boolean, nullable=False),
        sa.Column("base_capacity", sa.Integer, nullable=True),
        sa.Column("raw_capacity", sa.Float, nullable=True),
        sa.Column("rounded_capacity", sa.Integer, nullable=True),
        sa.Column("clamped_capacity", sa.Integer, nullable=True),
        sa.Column("min_size", sa.Integer, nullable=True),
        sa.Column("max_size", sa.Integer, nullable=True),
        sa.Column("previous_capacity", sa.Integer, nullable=False),
        sa.Column("desired_capacity", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("refusal", sa.String(32), nullable=True),
        sa.Column("cooldown_end", sa.Float, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("activity_id", sa.String(63), nullable=False),
        sa.Column("scheduled_action_id", sa.String(63), nullable=False),
        sa.ForeignKeyConstraint(
            ["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_scaling_decisions_group"
        ),
    )
    op.create_index("ix_group_scaling_decisions_decided", "group_scaling_decisions", ["project", "group_id", "decide_time"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_group_scaling_decisions_decided", table_name="group_scaling_decisions")
    op.drop_table("group_scaling_decisions")
