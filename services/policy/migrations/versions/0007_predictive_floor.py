"""Predictive floors: the forecast each target tracking execution made (the floor's configuration is in the policy's
target_tracking JSON, its last forecast in target_tracking_state).

Revision ID: policy_0007
Revises: policy_0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "policy_0007"
down_revision: str | Sequence[str] | None = "policy_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add policy_executions.forecast (NULL without a predictive floor)."""
    op.add_column("policy_executions", sa.Column("forecast", sa.Text, nullable=True))


def downgrade() -> None:
    """Drop the column; the older code reads the policies' JSON without their predictive_floor and last_forecast keys."""
    # NOTE: in place, not in batch mode: on SQLite a batch copies the table, which the foreign keys refuse.
    op.drop_column("policy_executions", "forecast")
