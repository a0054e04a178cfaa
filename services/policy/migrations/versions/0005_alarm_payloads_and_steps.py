"""Executions keep the alarm payload that signalled them.

Revision ID: policy_0005
Revises: policy_0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "policy_0005"
down_revision: str | Sequence[str] | None = "policy_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add policy_executions.alarm_payload."""
    op.add_column("policy_executions", sa.Column("alarm_payload", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    """Drop policy_executions.alarm_payload."""
    # NOTE: in place, not in batch mode: on SQLite a batch copies the table, which the receivers' foreign keys refuse.
    op.drop_column("policy_executions", "alarm_payload")
