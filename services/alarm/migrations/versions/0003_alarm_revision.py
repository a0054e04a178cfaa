"""An alarm's revision: how many times its definition was updated.

A transition judged under a revision can then be stored without reading the alarm again.

Revision ID: alarm_0003
Revises: alarm_0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarm_0003"
down_revision: str | Sequence[str] | None = "alarm_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add alarm_alarms.revision (0 for the alarms there are)."""
    op.add_column("alarm_alarms", sa.Column("revision", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("alarm_alarms") as batch:
        batch.drop_column("revision")
