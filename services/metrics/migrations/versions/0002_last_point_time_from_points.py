"""Series no longer store the time of their newest point: it is read from the points.

An UPDATE per series of every batch cost more than inserting the batch's points.

Revision ID: metrics_0002
Revises: metrics_0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "metrics_0002"
down_revision: str | Sequence[str] | None = "metrics_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop metrics_series.last_point_time."""
    # NOTE: not a batch (copy-and-rename) operation: on SQLite that drops the table the points refer to,
    # which the foreign key forbids. ALTER TABLE ... DROP COLUMN is native on SQLite >= 3.35 and PostgreSQL.
    op.execute("ALTER TABLE metrics_series DROP COLUMN last_point_time")


def downgrade() -> None:
    """Add the column back, filled from the points."""
    op.execute("ALTER TABLE metrics_series ADD COLUMN last_point_time FLOAT NOT NULL DEFAULT 0")
    op.execute(
        "UPDATE metrics_series SET last_point_time = COALESCE("
        "(SELECT max(time) FROM metrics_points WHERE metrics_points.series_id = metrics_series.id), 0)"
    )
