"""Storage of series and their points, behind one small interface.

Points are stored packed (see services.metrics.chunks and head). A PutSamples
batch is one transaction: the series it names are found or created (their ids
cached, as series are few and long-lived), then the batch goes in as one ingest
log entry, and its points join the in-memory head. A compaction writes the head's
points as chunks per series and deletes their log entries, in one transaction;
on start the head is rebuilt from the log.

Statistics read the points of the matching series from the head and from their
chunks; a chunk within one period is counted from its summary. Retention deletes
whole chunks and cuts those that straddle its limit, in short transactions, so
that on SQLite the write lock (shared by every service in the file) is never held long.

Each project's series, log entries and head are its repository's (the service holds
one per project: services.metrics.projects); ids are the series table's, so they
name one series across every project.

NOTE: the head is this process's: one repository per project and database owns
the project's log (several metrics replicas would each own a share of the projects).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Container, Iterable, Sequence
from functools import partial
from itertools import islice
from typing import NamedTuple, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from autoscale.database import Database
from autoscale.errors import ResourceExhausted
from autoscale.locks import SharedLock
from autoscale.series import dimensions_from_key
from services.metrics.catalogue import SeriesCatalogue
from services.metrics.chunks import CHUNK_SECONDS, Chunk, PeriodSummaries, chunks_of, pack_batch_log_entry, unpack_chunk, unpack_log_entry
from services.metrics.domain import (
    SeriesDescriptor,
    SeriesKey,
    SeriesPoints,
    StatisticsQuery,
    Summary,
)
from services.metrics.head import Columns, Head
from services.metrics.models import chunks, ingest_log, series, series_dimensions

SERIES_PER_QUERY = 500
"""Ids one statement names (SQLite allows 32766 parameters; an IN list this long stays cheap to plan)."""

PRUNE_CHUNK = 1000
"""Chunks one retention transaction deletes or cuts at most."""

RECENT_POINTS = 500_000
"""Points a compaction stored that stay in memory too, so that reads of recent windows need no chunk read."""
MAX_SERIES = 500_000
"""Series one project may hold (see Settings.metrics_max_series)."""

Bucket = tuple[float, Summary]
"""The start of a non-empty period and the summary of its points."""

CHUNK_COLUMNS = ("series_id", "first_time", "last_time", "count", "total", "minimum", "maximum", "payload")
ChunkValues = tuple[int, float, float, int, float, float, float, bytes]
"""A chunk to insert, its values in the order of CHUNK_COLUMNS."""

ChunkRow = tuple[int, int, float, float, int, float, float, float]
"""A stored chunk without its points: id, series id, first and last time, count, sum, minimum, maximum."""

Item = TypeVar("Item")


class Stored(NamedTuple):
    """What `store` stored: how many points, and the id of each series of the batch, in order."""

    points: int
    series_ids: list[int]


class MetricsRepository:
    """Series and points of one project."""

    def __init__(self, database: Database, project: str, *, recent_points: int = RECENT_POINTS, max_series: int = MAX_SERIES) -> None:
        self._database = database
        self._project = project
        self._max_series = max_series
        self._ids: dict[SeriesKey, int] = {}
        self._ids_lock = threading.Lock()
        self._head = Head(recent_points=recent_points)
        # Stores hold it shared from finding their series' ids to adding their points to the head;
        # retention holds it alone to delete series, so that it never deletes one a store is about to use.
        self._series_guard = SharedLock()
        self._compaction_lock = threading.Lock()
        self._catalogue = SeriesCatalogue()
        mark = database.placeholder
        self._log_insert = f"INSERT INTO {ingest_log.name} (project, payload) VALUES ({mark}, {mark}) RETURNING id"
        self._recover()

    def _recover(self) -> None:
        """Load the catalogue of series, and rebuild the head from the log entries a previous run left (not compacted)."""
        entries = sa.select(ingest_log.c.id, ingest_log.c.payload).where(ingest_log.c.project == self._project).order_by(ingest_log.c.id)
        known = sa.select(series.c.id, series.c.metric, series.c.dimensions_key).where(series.c.project == self._project)
        with self._database.reader() as connection:
            self._catalogue.add(
                (series_id, SeriesKey(metric, dimensions_from_key(dimensions_key)))
                for series_id, metric, dimensions_key in self._database.tuples(connection, known)
            )
            newest = connection.scalar(sa.select(sa.func.max(chunks.c.last_time)))
            for entry_id, payload in self._database.tuples(connection, entries):
                self._head.add(entry_id, unpack_log_entry(bytes(payload)))
        if newest is not None:
            self._head.stored_before(newest)

    # Writes

    def store(self, batch: Sequence[SeriesPoints], series_limit: int | None = None) -> Stored:
        """Store every point of the batch in one transaction; returns how many were stored, and the id of each series.

        ResourceExhausted, storing nothing, when the batch's new series would take the project beyond `series_limit` (its
        quota; None: the repository's own limit).
        """
        with self._series_guard.shared():
            # NOTE: one lookup per series (the hot path: a key costs more to hash than an id, and every series of
            # every batch is looked up); the ids of a batch's new series are resolved in one pass (_series_ids).
            # The batch in columns, and each column walked in C (zip, map): a batch names up to 100 000 series.
            keys, times, values = zip(*batch, strict=True) if batch else ((), (), ())
            with self._ids_lock:
                cached = list(map(self._ids.get, keys))
            counts = list(map(len, times))
            created: dict[SeriesKey, int] = {}
            if None not in cached:
                series_ids = cast("list[int]", cached)
                payload = pack_batch_log_entry(series_ids, counts, times, values)
                ((entry_id,),) = self._database.driver_statement(self._log_insert, (self._project, payload))
            else:
                with self._database.transaction() as connection:
                    limit = self._max_series if series_limit is None else series_limit
                    series_ids, created = self._series_ids(connection, batch, cached, limit)
                    entry_id = self._append_to_log(connection, pack_batch_log_entry(series_ids, counts, times, values))
            if created:
                with self._ids_lock:
                    self._ids.update(created)
                self._catalogue.add((series_id, key) for key, series_id in created.items())
            self._head.add(entry_id, zip(series_ids, times, values, strict=True))
        return Stored(sum(counts), series_ids)

    def known_series(self) -> Container[SeriesKey]:
        """Keys of series stored before (a live view: it grows as series are created)."""
        return self._ids

    def _append_to_log(self, connection: Connection, payload: bytes) -> int:
        """Insert a batch's log row in the connection's transaction; its id."""
        return int(connection.exec_driver_sql(self._log_insert, (self._project, payload)).scalar_one())

    def _series_ids(
        self, connection: Connection, batch: Sequence[SeriesPoints], cached: Sequence[int | None], limit: int
    ) -> tuple[list[int], dict[SeriesKey, int]]:
        """The id of each series of the batch, in order, given those `cached`; and the ids of the others (created, or
        stored before a restart).

        The caller caches the new ones once its transaction commits: a log entry names series by id only, so
        an id cached from a rolled-back creation would name no series.
        """
        ids = {key: series_id for series_id, (key, _, _) in zip(cached, batch, strict=True) if series_id is not None}
        missing = sorted({key for key, _, _ in batch if key not in ids}, key=lambda k: (k.metric, k.dimensions_key))
        # Another writer may create the same series at the same time: the unique key decides, and both read its id.
        connection.execute(
            self._insert_ignoring_duplicates(series, ["project", "metric", "dimensions_key"]),
            [{"project": self._project, "metric": key.metric, "dimensions_key": key.dimensions_key} for key in missing],
        )
        by_metric: dict[str, list[str]] = defaultdict(list)
        for key in missing:
            by_metric[key.metric].append(key.dimensions_key)
        found: dict[tuple[str, str], int] = {}
        for metric, dimension_keys in by_metric.items():
            for chunk in _parts(dimension_keys, SERIES_PER_QUERY):
                query = sa.select(series.c.id, series.c.dimensions_key).where(
                    series.c.project == self._project, series.c.metric == metric, series.c.dimensions_key.in_(chunk)
                )
                found.update(((metric, row.dimensions_key), row.id) for row in connection.execute(query))
        created = {key: found[(key.metric, key.dimensions_key)] for key in missing}
        new = len(self._catalogue.unknown(created.values()))
        held = len(self._catalogue)
        if new and held + new > limit:
            # Raised inside the transaction: the series just inserted are rolled back with the batch.
            raise ResourceExhausted(
                f"quota series of project {self._project} is {limit}: it holds {held} series and this batch would add {new}; "
                "series that stop reporting are deleted with their last points (--metrics-retention), or an operator "
                f"raises the quota (autoscale quota set {self._project} --series N; --metrics-max-series sets the default)"
            )
        pairs = [{"series_id": id_, "key": name, "value": value} for key, id_ in created.items() for name, value in key.dimensions]
        if pairs:
            connection.execute(self._insert_ignoring_duplicates(series_dimensions, ["series_id", "key"]), pairs)
        ids.update(created)
        return [ids[key] for key, _, _ in batch], created

    def _insert_ignoring_duplicates(self, table: sa.Table, unique_columns: list[str]) -> sqlite.Insert | postgresql.Insert:
        dialect_insert = sqlite.insert if self._database.is_sqlite else postgresql.insert
        return dialect_insert(table).on_conflict_do_nothing(index_elements=unique_columns)

    def _forget_ids(self) -> None:
        with self._ids_lock:
            self._ids.clear()

    # Compaction

    def held_points(self) -> int:
        """Points in the head (logged, not yet in chunks)."""
        return self._head.points()

    def head_age(self) -> float:
        """Seconds since the oldest point in the head was stored."""
        return self._head.age()

    def compact(self) -> int:
        """Write the head's points as chunks and delete their log entries; returns how many points moved."""
        with self._compaction_lock:
            return self._head.flush(_chunk_rows, self._commit_chunks)

    def _commit_chunks(self, rows: list[ChunkValues], entries: list[int]) -> None:
        with self._database.transaction() as connection:
            if rows:
                # NOTE: through the driver, with tuples: SQLAlchemy's executemany builds a parameter dict per row,
                # which doubles the time the transaction (and, on SQLite, the write lock) is held.
                marks = ", ".join([self._database.placeholder] * len(CHUNK_COLUMNS))
                statement = f"INSERT INTO metrics_chunks ({', '.join(CHUNK_COLUMNS)}) VALUES ({marks})"
                connection.exec_driver_sql(statement, rows)
            for part in _parts(entries, SERIES_PER_QUERY):
                connection.execute(ingest_log.delete().where(ingest_log.c.id.in_(part)))

    # Reads

    def statistics(self, query: StatisticsQuery) -> list[Bucket]:
        """Every non-empty period of [query.start, query.end): its start and the summary of its points, oldest first.

        The points of every series whose dimensions include the query's are aggregated together.
        """
        return self.batch_statistics([query])[0]

    def batch_statistics(self, queries: Sequence[StatisticsQuery]) -> list[list[Bucket]]:
        """The answer of `statistics` for each query, in order.

        The series each query names come from the in-memory catalogue; queries over the
        same window share one read of their series' points.
        """
        answers: list[list[Bucket]] = [[] for _ in queries]
        groups: dict[tuple[float, float, float], list[int]] = defaultdict(list)
        for position, query in enumerate(queries):
            groups[(query.period, query.start, query.end)].append(position)
        for members in groups.values():
            first = queries[members[0]]
            accumulators = {position: PeriodSummaries(first.period, first.start, first.end) for position in members}
            jobs = [(accumulators[position], sorted(self._catalogue.matching(queries[position].metric, queries[position].dimensions)))
                    for position in members]
            # The window lies in memory (what alarms ask): each query's series are added straight from the head.
            if not self._head.add_held(first.start, partial(_add_series, jobs)):
                # Each series' points are added to the summaries of every query that names it (most series: one query).
                owners: dict[int, list[PeriodSummaries]] = defaultdict(list)
                for summaries, series_ids in jobs:
                    for series_id in series_ids:
                        owners[series_id].append(summaries)
                self._accumulate(sorted(owners), owners, accumulators[members[0]])
            for position, summaries in accumulators.items():
                answers[position] = _buckets(summaries.by_index(), first.period)
        return answers

    def _accumulate(self, series_ids: Sequence[int], owners: dict[int, list[PeriodSummaries]], window: PeriodSummaries) -> None:
        """Add the points of `series_ids` that lie in the window, from the head and the chunks, to their owners' summaries."""
        if not series_ids:
            return
        held, stored = self._head.read(series_ids, lambda: self._stored_chunks(series_ids, window), window.start)
        chunk_rows, payloads = stored if stored is not None else ([], {})
        for series_id, parts in held.items():
            for summaries in owners[series_id]:
                for times, values, count in parts:
                    summaries.add_points(times, values, count)
        for chunk_id, series_id, first_time, _, count, total, minimum, maximum in chunk_rows:
            payload = payloads.get(chunk_id)
            if payload is None:
                summary = Summary(count, total, minimum, maximum)
                for summaries in owners[series_id]:
                    summaries.add_summary(first_time, summary)
            else:
                times, values = unpack_chunk(payload)
                for summaries in owners[series_id]:
                    summaries.add_points(times, values)

    def _stored_chunks(self, series_ids: Sequence[int], window: PeriodSummaries) -> tuple[list[ChunkRow], dict[int, bytes]]:
        """The chunks of `series_ids` that overlap the window; and the points of those it does not count whole, by chunk id."""
        rows: list[ChunkRow] = []
        payloads: dict[int, bytes] = {}
        with self._database.reader() as connection:
            for part in _parts(series_ids, SERIES_PER_QUERY):
                # NOTE: plain SQL: compiling the statement costs more than running it, once per few hundred series.
                bound = self._database.placeholder
                marks = ",".join(bound for _ in part)
                statement = (
                    "SELECT id, series_id, first_time, last_time, count, total, minimum, maximum FROM metrics_chunks "
                    f"WHERE series_id IN ({marks}) AND last_time >= {bound} AND first_time < {bound}"
                )
                rows.extend(connection.exec_driver_sql(statement, (*part, window.start, window.end)).all())
            cut = [row[0] for row in rows if not window.covers(row[2], row[3])]
            for part in _parts(cut, SERIES_PER_QUERY):
                query = sa.select(chunks.c.id, chunks.c.payload).where(chunks.c.id.in_(part))
                payloads.update((chunk_id, bytes(payload)) for chunk_id, payload in self._database.tuples(connection, query))
        return rows, payloads

    def list_series(self, metric: str | None, after: tuple[str, str] | None, limit: int) -> list[SeriesDescriptor]:
        """Series ordered by metric, then canonical dimensions key; those after `after` (metric, key), at most `limit`."""
        metric_column, key_column = self._bytewise(series.c.metric), self._bytewise(series.c.dimensions_key)
        last_chunk_time = sa.select(sa.func.max(chunks.c.last_time)).where(chunks.c.series_id == series.c.id).scalar_subquery()
        query = sa.select(series.c.id, series.c.metric, series.c.dimensions_key, last_chunk_time).where(series.c.project == self._project)
        if metric is not None:
            query = query.where(series.c.metric == metric)
        if after is not None:
            after_metric, after_key = after
            query = query.where(sa.or_(metric_column > after_metric, sa.and_(series.c.metric == after_metric, key_column > after_key)))
        query = query.order_by(metric_column, key_column).limit(limit)
        with self._database.reader() as connection:
            rows = self._database.tuples(connection, query)
        held, _ = self._head.read([row[0] for row in rows], lambda: None)
        descriptors = []
        for series_id, metric_name, dimensions_key, last_chunk in rows:
            times = [max(islice(part_times, count)) for part_times, _, count in held.get(series_id, ()) if count]
            if last_chunk is not None:
                times.append(last_chunk)
            descriptors.append(SeriesDescriptor(SeriesKey(metric_name, dimensions_from_key(dimensions_key)), max(times, default=None)))
        return descriptors

    def _bytewise(self, column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
        """The column compared byte by byte, so that both databases list series in one order whatever their locale."""
        return column if self._database.is_sqlite else column.collate("C")

    # Retention

    def prune(self, older_than: float) -> int:
        """Delete points older than `older_than`, then series left without points; returns how many points were deleted.

        Only the project's own chunks and series are touched (the other projects' heads are not this repository's to
        check). Only chunks are pruned: old points still in the head go with a later pass, once
        compacted (a compaction here would take the write lock for the whole head, and
        move recent points out of memory, at every start). Chunks that ended before the
        limit go whole, PRUNE_CHUNK per transaction; those it cuts through (they end
        within CHUNK_SECONDS after it) keep their newer points.
        """
        # The points kept in memory after compaction are not pruned: a window reaching back past the limit reads storage.
        self._head.stored_before(older_than)
        deleted = 0
        while True:
            with self._database.transaction() as connection:
                query = (
                    sa.select(chunks.c.id, chunks.c.count)
                    .where(chunks.c.last_time < older_than, chunks.c.series_id.in_(self._own_series()))
                    .limit(PRUNE_CHUNK)
                )
                old = self._database.tuples(connection, query)
                if old:
                    connection.execute(chunks.delete().where(chunks.c.id.in_([chunk_id for chunk_id, _ in old])))
                    deleted += sum(count for _, count in old)
            if len(old) < PRUNE_CHUNK:
                break
        deleted += self._cut_chunks(older_than)
        self._delete_series_without_points()
        return deleted

    def _cut_chunks(self, older_than: float) -> int:
        """Drop the points before `older_than` from the chunks that straddle it; returns how many were dropped."""
        straddling = sa.select(chunks.c.id, chunks.c.payload).where(
            chunks.c.last_time >= older_than,
            chunks.c.last_time < older_than + CHUNK_SECONDS,
            chunks.c.first_time < older_than,
            chunks.c.series_id.in_(self._own_series()),
        )
        dropped = 0
        with self._database.transaction() as connection:
            for chunk_id, payload in self._database.tuples(connection, straddling):
                times, values = unpack_chunk(bytes(payload))
                kept = [(time, value) for time, value in zip(times, values, strict=True) if time >= older_than]
                dropped += len(times) - len(kept)
                (chunk,) = chunks_of([time for time, _ in kept], [value for _, value in kept])
                connection.execute(chunks.update().where(chunks.c.id == chunk_id).values(_chunk_columns(chunk)))
        return dropped

    def _delete_series_without_points(self) -> None:
        """Delete the series with no chunk and no point in the head (none a store is using meanwhile)."""
        without_chunks = sa.select(series.c.id).where(
            series.c.project == self._project, ~sa.exists().where(chunks.c.series_id == series.c.id)
        )
        with self._series_guard.exclusive():
            held = self._head.series_ids()
            with self._database.transaction() as connection:
                doomed = [series_id for (series_id,) in self._database.tuples(connection, without_chunks) if series_id not in held]
                for part in _parts(doomed, SERIES_PER_QUERY):
                    connection.execute(series.delete().where(series.c.id.in_(part)))
            if doomed:
                self._catalogue.remove(doomed)
                self._forget_ids()

    def _own_series(self) -> sa.Select[tuple[int]]:
        """The ids of the project's series (a subquery)."""
        return sa.select(series.c.id).where(series.c.project == self._project)


def stored_projects(database: Database) -> list[str]:
    """Every project with series or ingest log entries stored, in order: those whose repository a start recovers."""
    query = sa.union(sa.select(series.c.project), sa.select(ingest_log.c.project))
    with database.reader() as connection:
        return sorted(connection.scalars(query))


def _add_series(jobs: list[tuple[PeriodSummaries, list[int]]], sources: list[dict[int, Columns]]) -> None:
    """Add to each query's summaries the points its series hold in `sources` (see Head.add_held)."""
    for summaries, series_ids in jobs:
        summaries.add_series(sources, series_ids)


def _parts(items: Sequence[Item], size: int) -> Iterable[Sequence[Item]]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


def _chunk_values(chunk: Chunk) -> tuple[float, float, int, float, float, float, bytes]:
    """A chunk's stored values, in the order of CHUNK_COLUMNS after the series id."""
    return (chunk.first_time, chunk.last_time, *chunk.summary_values(), chunk.payload)


def _chunk_columns(chunk: Chunk) -> dict[str, float | bytes]:
    """A chunk's stored values by column (the series id aside)."""
    return dict(zip(CHUNK_COLUMNS[1:], _chunk_values(chunk), strict=True))


def _chunk_rows(held: dict[int, Columns]) -> list[ChunkValues]:
    """The chunk rows of the points held per series, in the order of CHUNK_COLUMNS."""
    return [
        (series_id, *_chunk_values(chunk))
        for series_id, (times, values) in held.items()
        for chunk in chunks_of(times, values)
    ]


def _buckets(by_index: dict[int, Summary], period: float) -> list[Bucket]:
    return [(index * period, by_index[index]) for index in sorted(by_index)]
