"""Rules over Gnocchi: the columns of a Gnocchi rule's target and aggregation.

A Gnocchi rule is stored under rule_kind `gnocchi`; its metric name goes in
`metric` ("" with metric ids), and the columns every kind has (comparison,
threshold, period, evaluation_periods) hold its values too. The new columns are
NULL for the other kinds.

Revision ID: alarm_0008
Revises: alarm_0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarm_0008"
down_revision: str | Sequence[str] | None = "alarm_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("resource_type", "resource_id", "resource_query", "metric_ids", "aggregation_method")


def upgrade() -> None:
    """Add alarm_alarms.resource_type, resource_id, resource_query, metric_ids and aggregation_method (NULL but for Gnocchi)."""
    op.add_column("alarm_alarms", sa.Column("resource_type", sa.String(255), nullable=True))
    op.add_column("alarm_alarms", sa.Column("resource_id", sa.String(255), nullable=True))
    op.add_column("alarm_alarms", sa.Column("resource_query", sa.Text, nullable=True))
    op.add_column("alarm_alarms", sa.Column("metric_ids", sa.Text, nullable=True))
    op.add_column("alarm_alarms", sa.Column("aggregation_method", sa.String(32), nullable=True))


def downgrade() -> None:
    """Drop the columns (and the alarms over Gnocchi, which the older code cannot read)."""
    op.execute("DELETE FROM alarm_history WHERE (project, alarm_id) IN "
               "(SELECT project, id FROM alarm_alarms WHERE rule_kind = 'gnocchi')")
    op.execute("DELETE FROM alarm_pending_actions WHERE (project, alarm_id) IN "
               "(SELECT project, id FROM alarm_alarms WHERE rule_kind = 'gnocchi')")
    op.execute("DELETE FROM alarm_alarms WHERE rule_kind = 'gnocchi'")
    # NOTE: not in batch mode (as alarm_0007): on SQLite it copies the table and drops the old one, which the foreign keys
    # of the history and the pending actions refuse; SQLite drops a column in place since 3.35.
    for column in reversed(COLUMNS):
        op.drop_column("alarm_alarms", column)
