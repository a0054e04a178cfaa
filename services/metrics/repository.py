"""Storage of series and their points, behind one small interface.

A batch is stored in one `database.transaction()`: the series it names are found
or created (their ids cached, as series are few and long-lived), then its points
are inserted in bulk. Statistics are aggregated by the database, one row per
non-empty period. Retention deletes old points in short transactions, so that
on SQLite the write lock (shared by every service in the file) is never held long.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autoscale.database import Database
from services.metrics.domain import (
    SeriesDescriptor,
    SeriesKey,
    SeriesPoints,
    StatisticsQuery,
    Summary,
    dimensions_from_key,
)
from services.metrics.models import points, series, series_dimensions

SERIES_PER_QUERY = 500
"""Series ids one statement names (SQLite allows 32766 parameters; an IN list this long stays cheap to plan)."""

PRUNE_CHUNK = 10_000
"""Points one retention transaction deletes at most."""

Bucket = tuple[float, Summary]
"""The start of a non-empty period and the summary of its points."""


class MetricsRepository:
    """Series and points of one project (retention, a property of the deployment, spans every project)."""

    def __init__(self, database: Database, project: str) -> None:
        self._database = database
        self._project = project
        self._ids: dict[SeriesKey, int] = {}
        self._ids_lock = threading.Lock()

    # Writes

    def store(self, batch: Sequence[SeriesPoints]) -> int:
        """Store every point of the batch in one transaction; returns how many were stored."""
        # COPY runs on the driver's own cursor, so its errors arrive unwrapped by SQLAlchemy.
        driver_integrity_error = self._database.engine.dialect.dbapi.IntegrityError  # type: ignore[union-attr]
        try:
            return self._store(batch)
        except (IntegrityError, driver_integrity_error):
            # A cached id of a series that retention deleted meanwhile (here or in another replica):
            # forget the cache, and the series are created again.
            self._forget_ids()
            return self._store(batch)

    def _store(self, batch: Sequence[SeriesPoints]) -> int:
        with self._database.transaction() as session:
            ids = self._series_ids(session, {item.key for item in batch})
            rows = [(ids[item.key], time, value) for item in batch for time, value in item.points]
            if rows:
                self._insert_points(session, rows)
        return len(rows)

    def _insert_points(self, session: Session, rows: list[tuple[int, float, float]]) -> None:
        """Bulk-insert (series_id, time, value) rows through the driver: this is the hot path of ingest.

        NOTE: SQLAlchemy's executemany builds a parameter dict per row, which costs more
        than SQLite's own insert; the driver takes plain tuples. PostgreSQL gets COPY.
        """
        connection = session.connection()
        if self._database.is_sqlite:
            connection.exec_driver_sql("INSERT INTO metrics_points (series_id, time, value) VALUES (?, ?, ?)", rows)
            return
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy("COPY metrics_points (series_id, time, value) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _series_ids(self, session: Session, keys: set[SeriesKey]) -> dict[SeriesKey, int]:
        """The id of each series, created when unknown."""
        with self._ids_lock:
            cached = self._ids
            ids = {key: cached[key] for key in keys if key in cached}
        if len(ids) == len(keys):
            return ids
        missing = sorted((key for key in keys if key not in ids), key=lambda k: (k.metric, k.dimensions_key))
        # Another writer may create the same series at the same time: the unique key decides, and both read its id.
        session.execute(
            self._insert_ignoring_duplicates(series, ["project", "metric", "dimensions_key"]),
            [{"project": self._project, "metric": key.metric, "dimensions_key": key.dimensions_key} for key in missing],
        )
        by_metric: dict[str, list[str]] = defaultdict(list)
        for key in missing:
            by_metric[key.metric].append(key.dimensions_key)
        found: dict[tuple[str, str], int] = {}
        for metric, dimension_keys in by_metric.items():
            for chunk in _chunks(dimension_keys, SERIES_PER_QUERY):
                query = sa.select(series.c.id, series.c.dimensions_key).where(
                    series.c.project == self._project, series.c.metric == metric, series.c.dimensions_key.in_(chunk)
                )
                found.update(((metric, row.dimensions_key), row.id) for row in session.execute(query))
        created = {key: found[(key.metric, key.dimensions_key)] for key in missing}
        pairs = [{"series_id": id_, "key": name, "value": value} for key, id_ in created.items() for name, value in key.dimensions]
        if pairs:
            session.execute(self._insert_ignoring_duplicates(series_dimensions, ["series_id", "key"]), pairs)
        with self._ids_lock:
            self._ids.update(created)
        ids.update(created)
        return ids

    def _insert_ignoring_duplicates(self, table: sa.Table, unique_columns: list[str]) -> Any:
        dialect_insert = sqlite.insert if self._database.is_sqlite else postgresql.insert
        return dialect_insert(table).on_conflict_do_nothing(index_elements=unique_columns)

    def _forget_ids(self) -> None:
        with self._ids_lock:
            self._ids.clear()

    # Reads

    def statistics(self, query: StatisticsQuery) -> list[Bucket]:
        """Every non-empty period of [query.start, query.end): its start and the summary of its points, oldest first.

        The points of every series whose dimensions include the query's are aggregated
        together, in one statement: the series are found through the dimension pair index.
        """
        matching = sa.select(series.c.id).where(series.c.project == self._project, series.c.metric == query.metric)
        for key, value in query.dimensions:
            with_pair = sa.select(series_dimensions.c.series_id).where(series_dimensions.c.key == key, series_dimensions.c.value == value)
            matching = matching.where(series.c.id.in_(with_pair))
        ratio = points.c.time / sa.literal(query.period, sa.Float)
        # floor(time / period): SQLite may lack floor(), but CAST truncates, which is floor for the times stored (>= 0).
        bucket = sa.cast(ratio, sa.Integer) if self._database.is_sqlite else sa.func.floor(ratio)
        statement = (
            sa.select(
                bucket.label("bucket"),
                sa.func.count().label("count"),
                sa.func.sum(points.c.value).label("total"),
                sa.func.min(points.c.value).label("minimum"),
                sa.func.max(points.c.value).label("maximum"),
            )
            .where(points.c.series_id.in_(matching), points.c.time >= query.start, points.c.time < query.end)
            # NOTE: grouped by the output column's name: PostgreSQL does not see `floor(time / $1)` in the
            # select list and `floor(time / $2)` in GROUP BY as one expression.
            .group_by(sa.text("bucket"))
            .order_by(sa.text("bucket"))
        )
        with self._database.reader() as session:
            rows = session.execute(statement).all()
        return [(int(row.bucket) * query.period, Summary(row.count, row.total, row.minimum, row.maximum)) for row in rows]

    def batch_statistics(self, queries: Sequence[StatisticsQuery]) -> list[list[Bucket]]:
        """The answer of `statistics` for each query, in order.

        Queries over the same metric and window share one pass over the points: the
        summary of each series per period, merged per query from the series its
        dimensions match (found with an inverted index of the series' dimension pairs).
        """
        answers: list[list[Bucket]] = [[] for _ in queries]
        groups: dict[tuple[str, float, float, float], list[int]] = defaultdict(list)
        for position, query in enumerate(queries):
            groups[(query.metric, query.period, query.start, query.end)].append(position)
        for members in groups.values():
            if len(members) == 1:
                answers[members[0]] = self.statistics(queries[members[0]])
                continue
            anchors = [queries[position].dimensions[0] for position in members if queries[position].dimensions]
            # Every query names a dimension: only series with one of those pairs can match (a few of the metric's).
            candidates = anchors if len(anchors) == len(members) else None
            keys = {key for position in members for key, _ in queries[position].dimensions}
            summaries, series_with_pair = self._series_summaries(queries[members[0]], candidates, keys)
            for position in members:
                answers[position] = _merged(summaries, series_with_pair, queries[position].dimensions, queries[position].period)
        return answers

    def _series_summaries(
        self, query: StatisticsQuery, candidate_pairs: list[tuple[str, str]] | None, keys: set[str]
    ) -> tuple[dict[int, dict[int, Summary]], dict[tuple[str, str], set[int]]]:
        """Per series of the query's metric with points in its window: the summary of each period; and the series of each pair.

        With `candidate_pairs`, only the series that have one of those pairs are read;
        only the pairs of dimension `keys` (those the queries name) are read.
        """
        of_metric = sa.select(series.c.id).where(series.c.project == self._project, series.c.metric == query.metric)
        if candidate_pairs is not None:
            values_by_key: dict[str, set[str]] = defaultdict(set)
            for key, value in candidate_pairs:
                values_by_key[key].add(value)
            # NOTE: checked per series of the metric (a primary key lookup each), not as a list of the series
            # that have the pairs: those pairs may recur in every other metric, and the list would hold them all.
            # Per key `key = ? AND value IN (...)`, not a row-value IN, which SQLite answers with a full scan.
            has_pair = (
                sa.select(sa.literal(1))
                .where(
                    series_dimensions.c.series_id == series.c.id,
                    sa.or_(
                        *(
                            sa.and_(series_dimensions.c.key == key, series_dimensions.c.value.in_(sorted(values)))
                            for key, values in sorted(values_by_key.items())
                        )
                    ),
                )
                .exists()
            )
            of_metric = of_metric.where(has_pair)
        ratio = points.c.time / sa.literal(query.period, sa.Float)
        bucket = sa.cast(ratio, sa.Integer) if self._database.is_sqlite else sa.func.floor(ratio)
        per_series = (
            sa.select(
                points.c.series_id,
                bucket.label("bucket"),
                sa.func.count().label("count"),
                sa.func.sum(points.c.value).label("total"),
                sa.func.min(points.c.value).label("minimum"),
                sa.func.max(points.c.value).label("maximum"),
            )
            .where(points.c.series_id.in_(of_metric), points.c.time >= query.start, points.c.time < query.end)
            .group_by(points.c.series_id, sa.text("bucket"))
        )
        # NOTE: the keys are filtered here, not in SQL: `key IN (...)` there leads SQLite to the pair index,
        # through that key's pairs of every metric.
        pairs = sa.select(series_dimensions).where(series_dimensions.c.series_id.in_(of_metric))
        summaries: dict[int, dict[int, Summary]] = defaultdict(dict)
        series_with_pair: dict[tuple[str, str], set[int]] = defaultdict(set)
        # One read transaction: the summaries and the pairs are of the same moment.
        with self._database.reader() as session:
            for series_id, bucket_index, count, total, minimum, maximum in self._database.tuples(session, per_series):
                summaries[series_id][int(bucket_index)] = Summary(count, total, minimum, maximum)
            for series_id, key, value in self._database.tuples(session, pairs) if keys else ():
                if key in keys and series_id in summaries:
                    series_with_pair[(key, value)].add(series_id)
        return summaries, series_with_pair

    def list_series(self, metric: str | None, after: tuple[str, str] | None, limit: int) -> list[SeriesDescriptor]:
        """Series ordered by metric, then canonical dimensions key; those after `after` (metric, key), at most `limit`."""
        metric_column, key_column = self._bytewise(series.c.metric), self._bytewise(series.c.dimensions_key)
        last_point_time = sa.select(sa.func.max(points.c.time)).where(points.c.series_id == series.c.id).scalar_subquery()
        query = sa.select(series, last_point_time.label("last_point_time")).where(series.c.project == self._project)
        if metric is not None:
            query = query.where(series.c.metric == metric)
        if after is not None:
            after_metric, after_key = after
            query = query.where(sa.or_(metric_column > after_metric, sa.and_(series.c.metric == after_metric, key_column > after_key)))
        with self._database.reader() as session:
            rows = session.execute(query.order_by(metric_column, key_column).limit(limit)).all()
        return [
            SeriesDescriptor(SeriesKey(row.metric, dimensions_from_key(row.dimensions_key)), row.last_point_time) for row in rows
        ]

    def _bytewise(self, column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
        """The column compared byte by byte, so that both databases list series in one order whatever their locale."""
        return column if self._database.is_sqlite else column.collate("C")

    # Retention

    def prune(self, older_than: float) -> int:
        """Delete points older than `older_than`, then series left without points; returns how many points were deleted.

        Points go oldest first, about PRUNE_CHUNK per transaction: each chunk ends at
        the time of the PRUNE_CHUNK-th oldest point (found through the time index).
        """
        deleted = 0
        while True:
            boundary_query = (
                sa.select(points.c.time).where(points.c.time < older_than).order_by(points.c.time).offset(PRUNE_CHUNK).limit(1)
            )
            with self._database.transaction() as session:
                boundary = session.scalar(boundary_query)
                # `<=` so that every chunk deletes something even when many points share the boundary's time.
                condition = points.c.time < older_than if boundary is None else points.c.time <= boundary
                result = session.execute(points.delete().where(condition))
                deleted += result.rowcount
            if boundary is None:
                break
        without_points = ~sa.exists().where(points.c.series_id == series.c.id)
        with self._database.transaction() as session:
            removed = session.execute(series.delete().where(without_points)).rowcount
        if removed:
            self._forget_ids()
        return deleted


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


def _merged(
    summaries: dict[int, dict[int, Summary]],
    series_with_pair: dict[tuple[str, str], set[int]],
    dimensions: tuple[tuple[str, str], ...],
    period: float,
) -> list[Bucket]:
    """The buckets of the series whose dimensions include `dimensions`, merged per period, oldest first."""
    matching = set(summaries)
    for pair in dimensions:
        matching &= series_with_pair.get(pair, set())
    buckets: dict[int, Summary] = {}
    for series_id in matching:
        for index, summary in summaries[series_id].items():
            buckets[index] = buckets[index].merge(summary) if index in buckets else summary
    return [(index * period, buckets[index]) for index in sorted(buckets)]
