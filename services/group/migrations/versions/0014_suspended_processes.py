"""Suspended processes of groups (SuspendProcesses).

Revision ID: group_0014
Revises: group_0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0014"
down_revision: str | Sequence[str] | None = "group_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add group_groups.suspended_processes (none for what there is)."""
    op.add_column("group_groups", sa.Column("suspended_processes", sa.JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    """Drop it in place."""
    op.drop_column("group_groups", "suspended_processes")
