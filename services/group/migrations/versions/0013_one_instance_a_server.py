"""A server is one instance of a project at most (AttachInstances into two groups at once must not both succeed).

Revision ID: group_0013
Revises: group_0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "group_0013"
down_revision: str | Sequence[str] | None = "group_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LAUNCHED = sa.text("server_id <> ''")


def upgrade() -> None:
    """A unique index of (project, server_id) over the instances whose launch returned a server id."""
    op.create_index(
        "ux_group_instances_server", "group_instances", ["project", "server_id"], unique=True,
        sqlite_where=_LAUNCHED, postgresql_where=_LAUNCHED,
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ux_group_instances_server", table_name="group_instances")
