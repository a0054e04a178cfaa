"""Instance refreshes of groups.

Revision ID: group_0011
Revises: group_0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0011"
down_revision: str | Sequence[str] | None = "group_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create group_instance_refreshes."""
    op.create_table(
        "group_instance_refreshes",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("group_id", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text, nullable=False),
        sa.Column("launch_config_id", sa.String(63), nullable=False),
        sa.Column("rollback_launch_config_id", sa.String(63), nullable=False),
        sa.Column("min_healthy_percentage", sa.Integer, nullable=False),
        sa.Column("instance_warmup", sa.Float, nullable=False),
        sa.Column("auto_rollback", sa.Boolean, nullable=False),
        sa.Column("start_time", sa.Float, nullable=False),
        sa.Column("end_time", sa.Float, nullable=True),
        sa.Column("instances_to_update", sa.Integer, nullable=False),
        sa.Column("instances_replaced", sa.Integer, nullable=False),
        sa.Column("paused_before", sa.String(32), nullable=True),
        sa.Column("launch_failures_before", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_instance_refreshes_group"
        ),
    )
    op.create_index("ix_group_instance_refreshes_started", "group_instance_refreshes", ["project", "group_id", "start_time"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_group_instance_refreshes_started", table_name="group_instance_refreshes")
    op.drop_table("group_instance_refreshes")
