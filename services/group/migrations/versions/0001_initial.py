"""The group service's first tables: launch configs, groups, instances, activities, adjust requests.

Revision ID: group_0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the tables and their indexes."""
    op.create_table(
        "group_launch_configs",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("create_time", sa.Float, nullable=False),
    )
    op.create_table(
        "group_groups",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("launch_config_id", sa.String(63), nullable=False),
        sa.Column("min_size", sa.Integer, nullable=False),
        sa.Column("max_size", sa.Integer, nullable=False),
        sa.Column("desired_capacity", sa.Integer, nullable=False),
        sa.Column("cooldown", sa.Float, nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("create_time", sa.Float, nullable=False),
        sa.Column("deleting", sa.Boolean, nullable=False),
        sa.ForeignKeyConstraint(
            ["project", "launch_config_id"], ["group_launch_configs.project", "group_launch_configs.id"],
            name="fk_group_groups_launch_config",
        ),
    )
    op.create_index("ix_group_groups_launch_config", "group_groups", ["project", "launch_config_id"])
    op.create_table(
        "group_instances",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("group_id", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("launch_config_id", sa.String(63), nullable=False),
        sa.Column("server_id", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_reason", sa.Text, nullable=False),
        sa.Column("create_time", sa.Float, nullable=False),
        sa.ForeignKeyConstraint(["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_instances_group"),
    )
    op.create_index("ix_group_instances_created", "group_instances", ["project", "group_id", "create_time"])
    op.create_table(
        "group_activities",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("group_id", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("from_capacity", sa.Integer, nullable=False),
        sa.Column("to_capacity", sa.Integer, nullable=False),
        sa.Column("start_time", sa.Float, nullable=False),
        sa.Column("end_time", sa.Float, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_activities_group"),
    )
    op.create_index("ix_group_activities_started", "group_activities", ["project", "group_id", "start_time"])
    op.create_index("ix_group_activities_status", "group_activities", ["project", "group_id", "status"])
    op.create_table(
        "group_adjust_requests",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("group_id", sa.String(63), primary_key=True),
        sa.Column("request_id", sa.String(255), primary_key=True),
        sa.Column("previous_capacity", sa.Integer, nullable=False),
        sa.Column("desired_capacity", sa.Integer, nullable=False),
        sa.Column("activity_id", sa.String(63), nullable=False),
        sa.Column("activity_status", sa.String(16), nullable=False),
        sa.Column("activity_end_time", sa.Float, nullable=True),
        sa.Column("activity_status_message", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["project", "group_id"], ["group_groups.project", "group_groups.id"], name="fk_group_adjust_requests_group"
        ),
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("group_adjust_requests")
    op.drop_index("ix_group_activities_status", "group_activities")
    op.drop_index("ix_group_activities_started", "group_activities")
    op.drop_table("group_activities")
    op.drop_index("ix_group_instances_created", "group_instances")
    op.drop_table("group_instances")
    op.drop_index("ix_group_groups_launch_config", "group_groups")
    op.drop_table("group_groups")
    op.drop_table("group_launch_configs")
