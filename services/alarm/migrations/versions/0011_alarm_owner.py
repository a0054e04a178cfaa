"""Alarm.owner: the resource that made an alarm and alone changes and deletes it (a target tracking policy's alarm).

"" means no owner, as every alarm stored before has.

Revision ID: alarm_0011
Revises: alarm_0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarm_0011"
down_revision: str | Sequence[str] | None = "alarm_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add alarm_alarms.owner ("": none)."""
    op.add_column("alarm_alarms", sa.Column("owner", sa.String(255), nullable=False, server_default=""))


def downgrade() -> None:
    """Drop the column: owned alarms become ordinary alarms the user may change."""
    # NOTE: not in batch mode (as alarm_0009): SQLite drops a column in place, where a batch copy of the table would be
    # refused by the foreign keys of the history and the pending actions.
    op.drop_column("alarm_alarms", "owner")
