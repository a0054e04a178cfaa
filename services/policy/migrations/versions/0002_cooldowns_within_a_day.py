"""Cooldowns stored longer than a day become a day, the longest the rules now allow.

Before the limit a policy's cooldown of 2**63-1 s could be stored, and a group's
(read through the group service) started cooldowns ending after the year 9999, which
no execution could then describe. A cooldown under way that would end more than a
day after this upgrade ends a day after it.

Revision ID: policy_0002
Revises: policy_0001
Create Date: 2026-12-06
"""

import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "policy_0002"
down_revision: str | Sequence[str] | None = "policy_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LONGEST_COOLDOWN = 86400.0
"""services.policy.rules.MAX_COOLDOWN when this revision was written (a migration keeps its own figures)."""


def upgrade() -> None:
    """Cut every cooldown, pending or under way, to a day at most."""
    op.execute(sa.text("UPDATE policy_policies SET cooldown = :longest WHERE cooldown > :longest").bindparams(longest=LONGEST_COOLDOWN))
    op.execute(
        sa.text("UPDATE policy_group_cooldowns SET pending_cooldown = :longest WHERE pending_cooldown > :longest").bindparams(
            longest=LONGEST_COOLDOWN
        )
    )
    latest_end = time.time() + LONGEST_COOLDOWN
    op.execute(
        sa.text("UPDATE policy_group_cooldowns SET cooldown_end = :latest WHERE cooldown_end > :latest").bindparams(latest=latest_end)
    )


def downgrade() -> None:
    """Nothing to undo: the longer cooldowns could not be answered."""
