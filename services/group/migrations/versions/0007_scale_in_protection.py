"""Scale-in protection: per instance, and whether a group's new instances get it.

Revision ID: group_0007
Revises: group_0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0007"
down_revision: str | Sequence[str] | None = "group_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add group_groups.new_instances_protected and group_instances.protected (false for what there is)."""
    op.add_column("group_groups", sa.Column("new_instances_protected", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("group_instances", sa.Column("protected", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    """Drop them in place (a batch copy would trip over the tables that refer to them on SQLite)."""
    op.drop_column("group_instances", "protected")
    op.drop_column("group_groups", "new_instances_protected")
