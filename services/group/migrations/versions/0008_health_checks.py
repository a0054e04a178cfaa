"""Health checks: a launch config's check, a group's grace period, and each instance's address and health.

Revision ID: group_0008
Revises: group_0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0008"
down_revision: str | Sequence[str] | None = "group_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the columns; what there is has no check, the default grace period, and no health known yet."""
    op.add_column("group_launch_configs", sa.Column("health_check", sa.JSON, nullable=True))
    op.add_column("group_groups", sa.Column("health_check_grace_period", sa.Float, nullable=True))
    op.add_column("group_instances", sa.Column("address", sa.String(255), nullable=False, server_default=""))
    op.add_column("group_instances", sa.Column("in_service_time", sa.Float, nullable=True))
    op.add_column("group_instances", sa.Column("health_status", sa.String(16), nullable=False, server_default="unknown"))
    op.add_column("group_instances", sa.Column("health_reason", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    """Drop them in place (a batch copy would trip over the tables that refer to them on SQLite)."""
    for column in ("health_reason", "health_status", "in_service_time", "address"):
        op.drop_column("group_instances", column)
    op.drop_column("group_groups", "health_check_grace_period")
    op.drop_column("group_launch_configs", "health_check")
