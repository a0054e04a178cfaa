"""Executions keep the alarm payload that signalled them; step policies (their steps, aggregation and warm-up, and what
each execution measured).

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


POLICY_COLUMNS = ("step_adjustments", "metric_aggregation_type", "estimated_instance_warmup")
EXECUTION_COLUMNS = ("alarm_payload", "metric_value", "breach_threshold", "step_adjustment")


def upgrade() -> None:
    """Add policy_policies.step_adjustments, metric_aggregation_type, estimated_instance_warmup (NULL for a simple policy)
    and policy_executions.alarm_payload, metric_value, breach_threshold, step_adjustment."""
    op.add_column("policy_policies", sa.Column("step_adjustments", sa.Text, nullable=True))
    op.add_column("policy_policies", sa.Column("metric_aggregation_type", sa.String(16), nullable=True))
    op.add_column("policy_policies", sa.Column("estimated_instance_warmup", sa.Float, nullable=True))
    op.add_column("policy_executions", sa.Column("alarm_payload", sa.LargeBinary, nullable=True))
    op.add_column("policy_executions", sa.Column("metric_value", sa.Float, nullable=True))
    op.add_column("policy_executions", sa.Column("breach_threshold", sa.Float, nullable=True))
    op.add_column("policy_executions", sa.Column("step_adjustment", sa.Text, nullable=True))


def downgrade() -> None:
    """Drop the columns, and the step policies (which the older code cannot read) with their executions and receivers."""
    step_policies = "SELECT project, id FROM policy_policies WHERE step_adjustments IS NOT NULL"
    op.execute(f"DELETE FROM policy_executions WHERE (project, policy_id) IN ({step_policies})")
    op.execute(f"DELETE FROM policy_receivers WHERE (project, policy_id) IN ({step_policies})")
    op.execute("DELETE FROM policy_policies WHERE step_adjustments IS NOT NULL")
    # NOTE: in place, not in batch mode: on SQLite a batch copies the table, which the foreign keys refuse.
    for column in reversed(EXECUTION_COLUMNS):
        op.drop_column("policy_executions", column)
    for column in reversed(POLICY_COLUMNS):
        op.drop_column("policy_policies", column)
