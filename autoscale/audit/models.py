"""The audit table (SQLAlchemy Core): one row a user's call that may change something."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(64), nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("principal", sa.String(255), nullable=False),
    sa.Column("method", sa.String(255), nullable=False),
    sa.Column("resource", sa.String(512), nullable=False),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Index("ix_audit_events_project_time", "project", "time", "id"),
)
