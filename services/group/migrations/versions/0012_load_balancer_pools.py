"""Load balancer pools of groups, and when a removed instance has drained.

Revision ID: group_0012
Revises: group_0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0012"
down_revision: str | Sequence[str] | None = "group_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add group_groups.load_balancer_pools (none for what there is) and group_instances.drain_until."""
    op.add_column("group_groups", sa.Column("load_balancer_pools", sa.JSON, nullable=False, server_default="[]"))
    op.add_column("group_instances", sa.Column("drain_until", sa.Float, nullable=True))


def downgrade() -> None:
    """Drop them in place."""
    op.drop_column("group_instances", "drain_until")
    op.drop_column("group_groups", "load_balancer_pools")
