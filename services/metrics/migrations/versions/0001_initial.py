"""The metrics service's first tables: series and their points.

Revision ID: metrics_0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the tables and their indexes."""
    op.create_table(
        "metrics_series",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("metric", sa.String(255), nullable=False),
        sa.Column("dimensions_key", sa.Text, nullable=False),
        sa.Column("last_point_time", sa.Float, nullable=False),
        sa.UniqueConstraint("project", "metric", "dimensions_key", name="uq_metrics_series_key"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "metrics_points",
        sa.Column("series_id", sa.Integer, nullable=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.ForeignKeyConstraint(["series_id"], ["metrics_series.id"], name="fk_metrics_points_series"),
    )
    op.create_index("ix_metrics_points_series_time", "metrics_points", ["series_id", "time"])
    op.create_index("ix_metrics_points_time", "metrics_points", ["time"])


def downgrade() -> None:
    """Drop the tables."""
    op.drop_index("ix_metrics_points_time", table_name="metrics_points")
    op.drop_index("ix_metrics_points_series_time", table_name="metrics_points")
    op.drop_table("metrics_points")
    op.drop_table("metrics_series")
