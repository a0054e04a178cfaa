"""Cooldowns stored longer than a day become a day, the longest the rules now allow.

Before the limit a cooldown of 2**63-1 s was stored although its CreateGroup failed,
and from then on every answer holding the group failed (GetGroup, ListGroups,
Adjust); one beyond protobuf's Duration range broke grpcurl and --json.

Revision ID: group_0002
Revises: group_0001
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0002"
down_revision: str | Sequence[str] | None = "group_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LONGEST_COOLDOWN = 86400.0
"""services.group.rules.MAX_COOLDOWN when this revision was written (a migration keeps its own figures)."""


def upgrade() -> None:
    """Cut every cooldown to a day at most."""
    op.execute(sa.text("UPDATE group_groups SET cooldown = :longest WHERE cooldown > :longest").bindparams(longest=LONGEST_COOLDOWN))


def downgrade() -> None:
    """Nothing to undo: the longer cooldowns could not be answered."""
