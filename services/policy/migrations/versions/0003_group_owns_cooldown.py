"""The group service owns each group's cooldown: the policy service's copy is dropped.

The policy service kept, per group, when the cooldown ended, the activity it waited
for and another execution's claim, and settled them by asking the group service.
The group service now decides under its own lock whether a group resizes or cools
down (services.group.cooldown). A cooldown running at the upgrade is forgotten (the
two services may not share a database): at most one cooldown, of a day at most.

Revision ID: policy_0003
Revises: policy_0002
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "policy_0003"
down_revision: str | Sequence[str] | None = "policy_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop policy_group_cooldowns."""
    op.drop_table("policy_group_cooldowns")


def downgrade() -> None:
    """Make policy_group_cooldowns again, empty (as revision 0001 made it)."""
    op.create_table(
        "policy_group_cooldowns",
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("group_id", sa.String(63), primary_key=True),
        sa.Column("cooldown_end", sa.Float, nullable=True),
        sa.Column("pending_activity", sa.String(255), nullable=True),
        sa.Column("pending_cooldown", sa.Float, nullable=True),
        sa.Column("adjusting_since", sa.Float, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
