"""Each group keeps its launch failures in a row, when it may launch next, and why the last failed (its backoff survives
a restart).

Revision ID: group_0005
Revises: group_0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0005"
down_revision: str | Sequence[str] | None = "group_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("launch_failures", "launch_retry_time", "last_launch_failure")


def upgrade() -> None:
    """Add the three columns (no failures for the groups there are)."""
    op.add_column("group_groups", sa.Column("launch_failures", sa.Integer, nullable=False, server_default="0"))
    op.add_column("group_groups", sa.Column("launch_retry_time", sa.Float, nullable=True))
    op.add_column("group_groups", sa.Column("last_launch_failure", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    """Drop them in place (a batch copy of group_groups would trip over the tables that refer to it on SQLite)."""
    for column in COLUMNS:
        op.drop_column("group_groups", column)
