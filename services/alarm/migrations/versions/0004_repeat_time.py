"""When an alarm's actions last ran again while it stayed in its state, and its pending actions found by alarm.

Policy actions repeat once per period while the alarm stays in the state; the time
of the last repeat is kept so that a restart does not repeat them early, and the
pending actions of an alarm are looked up so that one still being tried is not
repeated meanwhile.

Revision ID: alarm_0004
Revises: alarm_0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarm_0004"
down_revision: str | Sequence[str] | None = "alarm_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add alarm_alarms.repeat_time (NULL: not repeated yet) and an index of pending actions by alarm."""
    op.add_column("alarm_alarms", sa.Column("repeat_time", sa.Float, nullable=True))
    op.create_index("ix_alarm_pending_actions_alarm", "alarm_pending_actions", ["project", "alarm_id"])


def downgrade() -> None:
    """Drop the index and the column."""
    op.drop_index("ix_alarm_pending_actions_alarm", table_name="alarm_pending_actions")
    with op.batch_alter_table("alarm_alarms") as batch:
        batch.drop_column("repeat_time")
