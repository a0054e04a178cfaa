"""Lifecycle hooks of groups, and instances' waits for them.

Revision ID: group_0010
Revises: group_0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0010"
down_revision: str | Sequence[str] | None = "group_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create group_lifecycle_hooks and group_lifecycle_actions."""
    op.create_table(
        "group_lifecycle_hooks",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("group_id", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("transition", sa.String(16), nullable=False),
        sa.Column("heartbeat_timeout", sa.Float, nullable=False),
        sa.Column("default_result", sa.String(16), nullable=False),
        sa.Column("notification_metadata", sa.Text, nullable=False),
        sa.Column("create_time", sa.Float, nullable=False),
        sa.ForeignKeyConstraint(
            ["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_lifecycle_hooks_group"
        ),
    )
    op.create_table(
        "group_lifecycle_actions",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("group_id", sa.String(63), primary_key=True),
        sa.Column("instance_id", sa.String(63), primary_key=True),
        sa.Column("hook_id", sa.String(63), primary_key=True),
        sa.Column("transition", sa.String(16), primary_key=True),
        sa.Column("start_time", sa.Float, nullable=False),
        sa.Column("timeout_time", sa.Float, nullable=False),
        sa.Column("default_result", sa.String(16), nullable=False),
        sa.Column("heartbeat_timeout", sa.Float, nullable=False),
        sa.Column("result", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(
            ["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_lifecycle_actions_group"
        ),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("group_lifecycle_actions")
    op.drop_table("group_lifecycle_hooks")
