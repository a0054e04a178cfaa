"""The metrics service's tables (SQLAlchemy Core), prefixed `metrics_` as all services may share one database.

A series (metric and dimensions) belongs to a project and is stored once; its
points refer to it by id, so a point costs three numbers. Times are floats
(seconds since the epoch).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

PROJECT_LENGTH = 64
METRIC_LENGTH = 255
DIMENSION_LENGTH = 255

series = sa.Table(
    "metrics_series",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(PROJECT_LENGTH), nullable=False),
    sa.Column("metric", sa.String(METRIC_LENGTH), nullable=False),
    # The canonical JSON of the dimensions (services.metrics.domain.canonical_dimensions_key): the series'
    # identity, its order after the metric, and the dimensions read back. Bounded by the PutSamples rules so that
    # the unique index entry fits PostgreSQL's B-tree limit (about 2.7 kB).
    sa.Column("dimensions_key", sa.Text, nullable=False),
    sa.UniqueConstraint("project", "metric", "dimensions_key", name="uq_metrics_series_key"),
    # Ids are never reused (SQLite would reuse the highest after a delete), so that an id another
    # replica cached before retention deleted its series never names a different series.
    sqlite_autoincrement=True,
)

# Each dimension of each series, so that the series a query's dimensions name are found by the database
# (through the pair index) rather than by reading every series of the metric.
series_dimensions = sa.Table(
    "metrics_series_dimensions",
    metadata,
    sa.Column(
        "series_id",
        sa.Integer,
        sa.ForeignKey("metrics_series.id", name="fk_metrics_series_dimensions_series", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(DIMENSION_LENGTH), primary_key=True),
    sa.Column("value", sa.String(DIMENSION_LENGTH), nullable=False),
    sa.Index("ix_metrics_series_dimensions_pair", "key", "value", "series_id"),
)

points = sa.Table(
    "metrics_points",
    metadata,
    sa.Column("series_id", sa.Integer, sa.ForeignKey("metrics_series.id", name="fk_metrics_points_series"), nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    # GetStatistics reads a window of each series.
    sa.Index("ix_metrics_points_series_time", "series_id", "time"),
    # Retention deletes the oldest points of every series, in chunks found through this index.
    sa.Index("ix_metrics_points_time", "time"),
)
