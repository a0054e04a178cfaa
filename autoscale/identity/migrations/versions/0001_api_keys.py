"""API keys.

Revision ID: identity_0001
Revises:
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "identity_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the API keys' table."""
    op.create_table(
        "identity_api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("service", sa.Boolean, nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("create_time", sa.Float, nullable=False),
        sa.Column("expire_time", sa.Float, nullable=True),
        sa.Column("revoke_time", sa.Float, nullable=True),
    )
    op.create_index("ix_identity_api_keys_project", "identity_api_keys", ["project"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_identity_api_keys_project", "identity_api_keys")
    op.drop_table("identity_api_keys")
