"""Receivers: secret URLs by which monitoring systems signal a policy over HTTP.

Revision ID: policy_0004
Revises: policy_0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "policy_0004"
down_revision: str | Sequence[str] | None = "policy_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create policy_receivers."""
    op.create_table(
        "policy_receivers",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("policy_id", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("resolved_policy_id", sa.String(63), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("hmac_secret", sa.String(256), nullable=True),
        sa.Column("create_time", sa.Float, nullable=False),
        sa.ForeignKeyConstraint(
            ["project", "policy_id"], ["policy_policies.project", "policy_policies.id"], name="fk_policy_receivers_policy"
        ),
        sa.UniqueConstraint("token_hash", name="uq_policy_receivers_token"),
    )


def downgrade() -> None:
    """Drop policy_receivers."""
    op.drop_table("policy_receivers")
