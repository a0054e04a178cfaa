"""Each group keeps its termination policies (which instances a scale-in removes first).

Revision ID: group_0006
Revises: group_0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0006"
down_revision: str | Sequence[str] | None = "group_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add group_groups.termination_policies (the default, [], for the groups there are)."""
    op.add_column("group_groups", sa.Column("termination_policies", sa.JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    """Drop it in place (a batch copy of group_groups would trip over the tables that refer to it on SQLite)."""
    op.drop_column("group_groups", "termination_policies")
