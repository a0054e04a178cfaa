"""The group owns its cooldown: each activity keeps the cooldown it starts, each group when its cooldown ends.

Before, the policy service kept each group's cooldown (policy_group_cooldowns) and
learnt when a resize ended by asking the group service. A cooldown running when a
deployment upgrades is not carried over (the two services may not share a
database): at most one cooldown, a day at most, is forgotten.

Revision ID: group_0003
Revises: group_0002
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0003"
down_revision: str | Sequence[str] | None = "group_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add group_groups.cooldown_end and group_activities.cooldown (both NULL: no cooldown)."""
    op.add_column("group_groups", sa.Column("cooldown_end", sa.Float, nullable=True))
    op.add_column("group_activities", sa.Column("cooldown", sa.Float, nullable=True))


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("group_activities") as batch:
        batch.drop_column("cooldown")
    with op.batch_alter_table("group_groups") as batch:
        batch.drop_column("cooldown_end")
