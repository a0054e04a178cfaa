"""The quota table (SQLAlchemy Core): one row a limit set for a project."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

quota_limits = sa.Table(
    "quota_limits",
    metadata,
    sa.Column("project", sa.String(64), primary_key=True),
    sa.Column("resource", sa.String(32), primary_key=True),
    sa.Column("limit_value", sa.BigInteger, nullable=False),
    sa.Column("update_time", sa.Float, nullable=False),
    # Who set it (a user or key id, and its project): the audit of the change.
    sa.Column("updated_by", sa.String(255), nullable=False),
)
