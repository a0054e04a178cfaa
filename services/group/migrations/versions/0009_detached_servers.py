"""Servers detached from groups (DetachInstances), which their groups leave running.

Revision ID: group_0009
Revises: group_0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0009"
down_revision: str | Sequence[str] | None = "group_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create group_detached_servers."""
    op.create_table(
        "group_detached_servers",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("group_id", sa.String(63), primary_key=True),
        sa.Column("server_id", sa.String(255), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("instance_id", sa.String(63), nullable=False),
        sa.Column("launch_config_id", sa.String(63), nullable=False),
        sa.Column("detach_time", sa.Float, nullable=False),
    )
    op.create_index("ix_group_detached_servers_server", "group_detached_servers", ["project", "server_id"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_group_detached_servers_server", table_name="group_detached_servers")
    op.drop_table("group_detached_servers")
