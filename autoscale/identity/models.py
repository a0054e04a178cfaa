"""The identity tables (SQLAlchemy Core), prefixed `identity_`: every process that authenticates API keys reads them."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

api_keys = sa.Table(
    "identity_api_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    # Empty for a service key.
    sa.Column("project", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("service", sa.Boolean, nullable=False),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("description", sa.String(255), nullable=False),
    # Times are floats (seconds since the epoch); NULL: never.
    sa.Column("create_time", sa.Float, nullable=False),
    sa.Column("expire_time", sa.Float, nullable=True),
    sa.Column("revoke_time", sa.Float, nullable=True),
    sa.Index("ix_identity_api_keys_project", "project"),
)
