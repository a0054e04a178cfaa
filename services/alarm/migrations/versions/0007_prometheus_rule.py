"""Rules over external metric stores: an alarm's rule kind, and the PromQL query of a Prometheus rule.

The columns of a threshold rule that a Prometheus rule shares (comparison,
threshold, period, evaluation_periods) hold its values too; its metric and
statistic are empty, its dimensions `{}`.

Revision ID: alarm_0007
Revises: alarm_0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarm_0007"
down_revision: str | Sequence[str] | None = "alarm_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add alarm_alarms.rule_kind (`threshold` for the alarms there are) and alarm_alarms.query (NULL but for Prometheus)."""
    op.add_column("alarm_alarms", sa.Column("rule_kind", sa.String(16), nullable=False, server_default="threshold"))
    op.add_column("alarm_alarms", sa.Column("query", sa.Text, nullable=True))


def downgrade() -> None:
    """Drop the columns (and the alarms over Prometheus, which the older code cannot read)."""
    op.execute("DELETE FROM alarm_history WHERE (project, alarm_id) IN "
               "(SELECT project, id FROM alarm_alarms WHERE rule_kind <> 'threshold')")
    op.execute("DELETE FROM alarm_pending_actions WHERE (project, alarm_id) IN "
               "(SELECT project, id FROM alarm_alarms WHERE rule_kind <> 'threshold')")
    op.execute("DELETE FROM alarm_alarms WHERE rule_kind <> 'threshold'")
    # NOTE: not in batch mode: on SQLite it copies the table and drops the old one, which the foreign keys of the history
    # and the pending actions refuse; SQLite drops a column in place since 3.35.
    op.drop_column("alarm_alarms", "query")
    op.drop_column("alarm_alarms", "rule_kind")
