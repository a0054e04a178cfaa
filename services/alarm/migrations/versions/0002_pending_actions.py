"""Pending actions (an outbox), so that actions decided before a restart still run after it.

Revision ID: alarm_0002
Revises: alarm_0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarm_0002"
down_revision: str | Sequence[str] | None = "alarm_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create alarm_pending_actions."""
    op.create_table(
        "alarm_pending_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("alarm_id", sa.String(63), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("previous_state", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("reason_data", sa.Text, nullable=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("repeat", sa.Boolean, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["project", "alarm_id"], ["alarm_alarms.project", "alarm_alarms.id"], name="fk_alarm_pending_actions_alarm"
        ),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("alarm_pending_actions")
