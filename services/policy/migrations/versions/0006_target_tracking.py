"""Target tracking policies: their configuration and what they remember (recent recommendations and scale events), and
what each execution recommended and decided.

Revision ID: policy_0006
Revises: policy_0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "policy_0006"
down_revision: str | Sequence[str] | None = "policy_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


POLICY_COLUMNS = ("target_tracking", "target_tracking_state")
EXECUTION_COLUMNS = ("recommended_capacity", "desired_capacity")


def upgrade() -> None:
    """Add policy_policies.target_tracking, target_tracking_state (NULL for the other kinds) and
    policy_executions.recommended_capacity, desired_capacity."""
    op.add_column("policy_policies", sa.Column("target_tracking", sa.Text, nullable=True))
    op.add_column("policy_policies", sa.Column("target_tracking_state", sa.Text, nullable=True))
    op.add_column("policy_executions", sa.Column("recommended_capacity", sa.Integer, nullable=True))
    op.add_column("policy_executions", sa.Column("desired_capacity", sa.Integer, nullable=True))


def downgrade() -> None:
    """Drop the columns, and the target tracking policies (which the older code cannot read) with their executions and
    receivers; their alarms stay in the alarm service, ordinary alarms whose action names a policy that is gone."""
    tracking = "SELECT project, id FROM policy_policies WHERE target_tracking IS NOT NULL"
    op.execute(f"DELETE FROM policy_executions WHERE (project, policy_id) IN ({tracking})")
    op.execute(f"DELETE FROM policy_receivers WHERE (project, policy_id) IN ({tracking})")
    op.execute("DELETE FROM policy_policies WHERE target_tracking IS NOT NULL")
    # NOTE: in place, not in batch mode: on SQLite a batch copies the table, which the foreign keys refuse.
    for column in reversed(EXECUTION_COLUMNS):
        op.drop_column("policy_executions", column)
    for column in reversed(POLICY_COLUMNS):
        op.drop_column("policy_policies", column)
