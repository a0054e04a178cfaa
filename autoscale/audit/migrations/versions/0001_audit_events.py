"""Audit events.

Revision ID: audit_0001
Revises:
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "audit_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the table of events."""
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("principal", sa.String(255), nullable=False),
        sa.Column("method", sa.String(255), nullable=False),
        sa.Column("resource", sa.String(512), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
    )
    op.create_index("ix_audit_events_project_time", "audit_events", ["project", "time", "id"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_audit_events_project_time", "audit_events")
    op.drop_table("audit_events")
