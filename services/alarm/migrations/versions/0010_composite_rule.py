"""Composite alarms: stored under rule_kind `composite`, their expression in `query` (no new column).

Revision ID: alarm_0010
Revises: alarm_0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "alarm_0010"
down_revision: str | Sequence[str] | None = "alarm_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the columns a composite rule needs are there."""


def downgrade() -> None:
    """Delete the composite alarms (and their history and pending actions), which the older code cannot read."""
    for table in ("alarm_history", "alarm_pending_actions"):
        op.execute(f"DELETE FROM {table} WHERE (project, alarm_id) IN "
                   "(SELECT project, id FROM alarm_alarms WHERE rule_kind = 'composite')")
    op.execute("DELETE FROM alarm_alarms WHERE rule_kind = 'composite'")
