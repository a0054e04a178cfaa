"""The alarm service's first tables: alarms and their history.

Revision ID: alarm_0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarm_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the tables and their index."""
    op.create_table(
        "alarm_alarms",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("metric", sa.String(255), nullable=False),
        sa.Column("dimensions", sa.Text, nullable=False),
        sa.Column("statistic", sa.String(32), nullable=False),
        sa.Column("comparison", sa.String(8), nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("period", sa.Float, nullable=False),
        sa.Column("evaluation_periods", sa.Integer, nullable=False),
        sa.Column("alarm_actions", sa.Text, nullable=False),
        sa.Column("ok_actions", sa.Text, nullable=False),
        sa.Column("insufficient_data_actions", sa.Text, nullable=False),
        sa.Column("repeat_actions", sa.Boolean, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("state_reason", sa.Text, nullable=False),
        sa.Column("state_time", sa.Float, nullable=False),
        sa.Column("create_time", sa.Float, nullable=False),
        sa.Column("evaluate_time", sa.Float, nullable=True),
    )
    op.create_table(
        "alarm_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("alarm_id", sa.String(63), nullable=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("previous_state", sa.String(32), nullable=True),
        sa.Column("state", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("action_succeeded", sa.Boolean, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["project", "alarm_id"], ["alarm_alarms.project", "alarm_alarms.id"], name="fk_alarm_history_alarm"),
    )
    op.create_index("ix_alarm_history_time", "alarm_history", ["project", "alarm_id", "time"])


def downgrade() -> None:
    """Drop the tables."""
    op.drop_index("ix_alarm_history_time", table_name="alarm_history")
    op.drop_table("alarm_history")
    op.drop_table("alarm_alarms")
