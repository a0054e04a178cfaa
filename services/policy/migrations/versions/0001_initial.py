"""The policy service's first tables: policies, their executions, and the cooldown of each group.

Revision ID: policy_0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "policy_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the tables and their indexes."""
    op.create_table(
        "policy_policies",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("group_id", sa.String(63), nullable=False),
        sa.Column("adjustment_type", sa.String(32), nullable=False),
        sa.Column("scaling_adjustment", sa.Integer, nullable=False),
        sa.Column("min_adjustment_step", sa.Integer, nullable=False),
        sa.Column("cooldown", sa.Float, nullable=True),
        sa.Column("create_time", sa.Float, nullable=False),
    )
    op.create_table(
        "policy_executions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("policy_id", sa.String(63), nullable=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("request_id", sa.String(255), nullable=False),
        sa.Column("adjusted", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("activity", sa.String(255), nullable=False),
        sa.Column("failed", sa.Boolean, nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=True),
        sa.ForeignKeyConstraint(
            ["project", "policy_id"], ["policy_policies.project", "policy_policies.id"], name="fk_policy_executions_policy"
        ),
    )
    op.create_index("ix_policy_executions_time", "policy_executions", ["project", "policy_id", "time"])
    op.create_index("ix_policy_executions_request", "policy_executions", ["project", "policy_id", "request_id"])
    op.create_table(
        "policy_group_cooldowns",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("group_id", sa.String(63), primary_key=True),
        sa.Column("cooldown_end", sa.Float, nullable=True),
        sa.Column("pending_activity", sa.String(255), nullable=True),
        sa.Column("pending_cooldown", sa.Float, nullable=True),
        sa.Column("adjusting_since", sa.Float, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("policy_group_cooldowns")
    op.drop_index("ix_policy_executions_request", table_name="policy_executions")
    op.drop_index("ix_policy_executions_time", table_name="policy_executions")
    op.drop_table("policy_executions")
    op.drop_table("policy_policies")
