"""The metrics service's tables (SQLAlchemy Core), prefixed `metrics_` as all services may share one database.

A series (metric and dimensions) belongs to a project and is stored once. Its
points are stored packed (services.metrics.chunks): each PutSamples batch as one
ingest log entry, then, once compacted, in chunks per series with the summary of
their values beside them. Times are floats (seconds since the epoch).
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
    # The canonical JSON of the dimensions (autoscale.series.canonical_dimensions_key): the series'
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

# One PutSamples batch per row, packed (chunks.pack_log_entry): the durable record of points that are not
# yet in chunks (the head holds them in memory, and is rebuilt from here on start).
ingest_log = sa.Table(
    "metrics_ingest_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(PROJECT_LENGTH), nullable=False, index=True),
    sa.Column("payload", sa.LargeBinary, nullable=False),
)

# Points of one series between first_time and last_time (chunks.pack_chunk), with the summary of their values.
chunks = sa.Table(
    "metrics_chunks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("series_id", sa.Integer, sa.ForeignKey("metrics_series.id", name="fk_metrics_chunks_series"), nullable=False),
    sa.Column("first_time", sa.Float, nullable=False),
    sa.Column("last_time", sa.Float, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("total", sa.Float, nullable=False),
    sa.Column("minimum", sa.Float, nullable=False),
    sa.Column("maximum", sa.Float, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    # Statistics read the chunks of some series that end at or after a window's start.
    sa.Index("ix_metrics_chunks_series_last_time", "series_id", "last_time"),
    # Retention finds the chunks that ended before its limit.
    sa.Index("ix_metrics_chunks_last_time", "last_time"),
)
