"""Claims of the group service's periodic work that one replica does at a time (the CPU reporters).

Revision ID: group_0017
Revises: group_0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0017"
down_revision: str | Sequence[str] | None = "group_0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create group_worker_claims."""
    op.create_table(
        "group_worker_claims",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expire_time", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("group_worker_claims")
