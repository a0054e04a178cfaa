"""CloudWatch's settings of how an alarm's periods are judged: datapoints_to_alarm (M of N) and treat_missing_data.

datapoints_to_alarm 0 and treat_missing_data "" mean unset: the alarm keeps Aodh's rule, as every alarm stored before
did.

Revision ID: alarm_0009
Revises: alarm_0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarm_0009"
down_revision: str | Sequence[str] | None = "alarm_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add alarm_alarms.datapoints_to_alarm (0: unset) and treat_missing_data ("": unset)."""
    op.add_column("alarm_alarms", sa.Column("datapoints_to_alarm", sa.Integer, nullable=False, server_default="0"))
    op.add_column("alarm_alarms", sa.Column("treat_missing_data", sa.String(16), nullable=False, server_default=""))


def downgrade() -> None:
    """Drop the columns: the alarms that set them go back to Aodh's rule."""
    # NOTE: not in batch mode (as alarm_0007): SQLite drops a column in place since 3.35, where a batch copy of the table
    # would be refused by the foreign keys of the history and the pending actions.
    op.drop_column("alarm_alarms", "treat_missing_data")
    op.drop_column("alarm_alarms", "datapoints_to_alarm")
