"""Each activity names who asked for it.

Revision ID: group_0004
Revises: group_0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0004"
down_revision: str | Sequence[str] | None = "group_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add group_activities.caller (empty for the activities recorded before)."""
    op.add_column("group_activities", sa.Column("caller", sa.String(255), nullable=False, server_default=""))


def downgrade() -> None:
    """Drop it."""
    with op.batch_alter_table("group_activities") as batch:
        batch.drop_column("caller")
