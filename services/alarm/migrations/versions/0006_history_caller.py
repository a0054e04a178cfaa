"""Each history entry names who made it happen.

Revision ID: alarm_0006
Revises: alarm_0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarm_0006"
down_revision: str | Sequence[str] | None = "alarm_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add alarm_history.caller (empty for the entries recorded before)."""
    op.add_column("alarm_history", sa.Column("caller", sa.String(255), nullable=False, server_default=""))


def downgrade() -> None:
    """Drop it."""
    with op.batch_alter_table("alarm_history") as batch:
        batch.drop_column("caller")
