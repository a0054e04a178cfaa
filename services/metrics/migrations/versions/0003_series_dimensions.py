"""Each dimension of each series in a table of its own, so that queries find their series through an index.

Revision ID: metrics_0003
Revises: metrics_0002
Create Date: 2026-11-28
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_0003"
down_revision: str | Sequence[str] | None = "metrics_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create metrics_series_dimensions and fill it from each series' canonical dimensions key."""
    table = op.create_table(
        "metrics_series_dimensions",
        sa.Column(
            "series_id",
            sa.Integer,
            sa.ForeignKey("metrics_series.id", name="fk_metrics_series_dimensions_series", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
    )
    op.create_index("ix_metrics_series_dimensions_pair", "metrics_series_dimensions", ["key", "value", "series_id"])
    rows = op.get_bind().execute(sa.text("SELECT id, dimensions_key FROM metrics_series")).all()
    pairs = [{"series_id": row.id, "key": key, "value": value} for row in rows for key, value in json.loads(row.dimensions_key).items()]
    if pairs:
        op.bulk_insert(table, pairs)


def downgrade() -> None:
    """Drop the table (the canonical key still holds the dimensions)."""
    op.drop_index("ix_metrics_series_dimensions_pair", table_name="metrics_series_dimensions")
    op.drop_table("metrics_series_dimensions")
