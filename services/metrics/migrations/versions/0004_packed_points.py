"""Points stored packed: an ingest log of whole batches, and chunks per series with the summary of their values.

The stored points of each series become one chunk per hour; metrics_points goes.

Revision ID: metrics_0004
Revises: metrics_0003
Create Date: 2026-11-28
"""

import math
import struct
import sys
from array import array
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_0004"
down_revision: str | Sequence[str] | None = "metrics_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERIES_PER_STEP = 1000
CHUNK_SECONDS = 3600.0
"""A chunk holds points of one aligned span this long at most (services.metrics.chunks.CHUNK_SECONDS)."""


def upgrade() -> None:
    """Create the log and the chunks, pack each series' points into one chunk, drop metrics_points."""
    op.create_table(
        "metrics_ingest_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_metrics_ingest_log_project", "metrics_ingest_log", ["project"])
    chunks = op.create_table(
        "metrics_chunks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("series_id", sa.Integer, sa.ForeignKey("metrics_series.id", name="fk_metrics_chunks_series"), nullable=False),
        sa.Column("first_time", sa.Float, nullable=False),
        sa.Column("last_time", sa.Float, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("total", sa.Float, nullable=False),
        sa.Column("minimum", sa.Float, nullable=False),
        sa.Column("maximum", sa.Float, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_metrics_chunks_series_last_time", "metrics_chunks", ["series_id", "last_time"])
    op.create_index("ix_metrics_chunks_last_time", "metrics_chunks", ["last_time"])
    bind = op.get_bind()
    series_ids = [row[0] for row in bind.execute(sa.text("SELECT DISTINCT series_id FROM metrics_points ORDER BY series_id"))]
    for begin in range(0, len(series_ids), SERIES_PER_STEP):
        step = series_ids[begin : begin + SERIES_PER_STEP]
        points = bind.execute(
            sa.text("SELECT series_id, time, value FROM metrics_points WHERE series_id IN :ids ORDER BY series_id, time").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": step},
        ).all()
        by_span: dict[tuple[int, int], tuple[list[float], list[float]]] = {}
        for row in points:
            times, values = by_span.setdefault((row.series_id, math.floor(row.time / CHUNK_SECONDS)), ([], []))
            times.append(row.time)
            values.append(row.value)
        op.bulk_insert(chunks, [_chunk_row(series_id, times, values) for (series_id, _), (times, values) in by_span.items()])
    op.drop_index("ix_metrics_points_time", table_name="metrics_points")
    op.drop_index("ix_metrics_points_series_time", table_name="metrics_points")
    op.drop_table("metrics_points")


def _chunk_row(series_id: int, times: list[float], values: list[float]) -> dict[str, object]:
    """As services.metrics.chunks.Chunk.of stores it (copied: a migration must not change when the code does)."""
    packed = array("d", times + values)
    if sys.byteorder == "big":  # pragma: no cover
        packed.byteswap()
    return {
        "series_id": series_id,
        "first_time": min(times),
        "last_time": max(times),
        "count": len(values),
        "total": math.fsum(values),
        "minimum": min(values),
        "maximum": max(values),
        "payload": packed.tobytes(),
    }


def downgrade() -> None:
    """Unpack the chunks and the ingest log's entries into metrics_points again."""
    points = op.create_table(
        "metrics_points",
        sa.Column("series_id", sa.Integer, sa.ForeignKey("metrics_series.id", name="fk_metrics_points_series"), nullable=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_index("ix_metrics_points_series_time", "metrics_points", ["series_id", "time"])
    op.create_index("ix_metrics_points_time", "metrics_points", ["time"])
    bind = op.get_bind()
    for row in bind.execute(sa.text("SELECT series_id, payload FROM metrics_chunks")).all():
        packed = _doubles(row.payload)
        half = len(packed) // 2
        pairs = zip(packed[:half], packed[half:], strict=True)
        op.bulk_insert(points, [{"series_id": row.series_id, "time": t, "value": v} for t, v in pairs])
    for row in bind.execute(sa.text("SELECT payload FROM metrics_ingest_log")).all():
        # As services.metrics.chunks.pack_log_entry lays it out (format 1): header, ids, counts, times, values.
        payload = bytes(row.payload)
        _version, series_count = struct.unpack_from("<BI", payload)
        ids_end = 5 + 8 * series_count
        counts_end = ids_end + 4 * series_count
        ids, counts = struct.unpack_from(f"<{series_count}q", payload, 5), struct.unpack_from(f"<{series_count}I", payload, ids_end)
        numbers = _doubles(payload[counts_end:])
        total = sum(counts)
        position = 0
        rows: list[dict[str, int | float]] = []
        for series_id, count in zip(ids, counts, strict=True):
            span = range(position, position + count)
            rows.extend({"series_id": series_id, "time": numbers[i], "value": numbers[total + i]} for i in span)
            position += count
        op.bulk_insert(points, rows)
    op.drop_table("metrics_chunks")
    op.drop_table("metrics_ingest_log")


def _doubles(data: bytes) -> "array[float]":
    packed = array("d")
    packed.frombytes(data)
    if sys.byteorder == "big":  # pragma: no cover
        packed.byteswap()
    return packed
