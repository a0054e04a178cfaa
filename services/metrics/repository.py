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

NOTE: the head is this process's: one repository per project and database owns
the log (several metrics replicas would each own a share of the series).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Container, Iterable, Sequence
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from autoscale.database import Database
from autoscale.locks import SharedLock
from services.metrics.chunks import CHUNK_SECONDS, Chunk, PeriodSummaries, chunks_of, pack_log_entry, unpack_chunk, unpack_log_entry
from services.metrics.domain import (
    SeriesDescriptor,
    SeriesKey,
    SeriesPoints,
    StatisticsQuery,
    Summary,
    dimensions_from_key,
)
from services.metrics.head import Columns, Head
from services.metrics.models import chunks, ingest_log, series, series_dimensions

SERIES_PER_QUERY = 500
"""Ids one statement names (SQLite allows 32766 parameters; an IN list this long stays cheap to plan)."""

PRUNE_CHUNK = 1000
"""Chunks one retention transaction deletes or cuts at most."""

Bucket = tuple[float, Summary]
"""The start of a non-empty period and the summary of its points."""

ChunkRow = tuple[int, int, float, float, int, float, float, float]
"""A stored chunk without its points: id, series id, first and last time, count, sum, minimum, maximum."""


class MetricsRepository:
    """Series and points of one project (retention, a property of the deployment, spans every project)."""

    def __init__(self, database: Database, project: str) -> None:
        self._database = database
        self._project = project
        self._ids: dict[SeriesKey, int] = {}
        self._ids_lock = threading.Lock()
        self._head = Head()
        # Stores hold it shared from finding their series' ids to adding their points to the head;
        # retention holds it alone to delete series, so that it never deletes one a store is about to use.
        self._series_guard = SharedLock()
        self._compaction_lock = threading.Lock()
        self._recover()

    def _recover(self) -> None:
        """Rebuild the head from the log entries a previous run left (committed but not compacted)."""
        query = sa.select(ingest_log.c.id, ingest_log.c.payload).where(ingest_log.c.project == self._project).order_by(ingest_log.c.id)
        with self._database.reader() as session:
            for entry_id, payload in self._database.tuples(session, query):
                self._head.add(entry_id, unpack_log_entry(bytes(payload)))

    # Writes

    def store(self, batch: Sequence[SeriesPoints]) -> int:
        """Store every point of the batch in one transaction; returns how many were stored."""
        with self._series_guard.shared():
            with self._database.transaction() as session:
                ids = self._series_ids(session, {item.key for item in batch})
                columns = [(ids[key], times, values) for key, times, values in batch]
                counts = [len(times) for _, times, _ in batch]
                payload = pack_log_entry(
                    [series_id for series_id, _, _ in columns],
                    counts,
                    list(chain.from_iterable(times for _, times, _ in batch)),
                    list(chain.from_iterable(values for _, _, values in batch)),
                )
                entry_id = self._append_to_log(session, payload)
            self._head.add(entry_id, columns)
        return sum(counts)

    def known_series(self) -> Container[SeriesKey]:
        """Keys of series stored before (a live view: it grows as series are created)."""
        return self._ids

    def _append_to_log(self, session: Session, payload: bytes) -> int:
        result = session.execute(ingest_log.insert().values(project=self._project, payload=payload))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

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
            for chunk in _parts(dimension_keys, SERIES_PER_QUERY):
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

    def _commit_chunks(self, rows: list[dict[str, Any]], entries: list[int]) -> None:
        with self._database.transaction() as session:
            if rows:
                session.execute(chunks.insert(), rows)
            for part in _parts(entries, SERIES_PER_QUERY):
                session.execute(ingest_log.delete().where(ingest_log.c.id.in_(part)))

    # Reads

    def statistics(self, query: StatisticsQuery) -> list[Bucket]:
        """Every non-empty period of [query.start, query.end): its start and the summary of its points, oldest first.

        The points of every series whose dimensions include the query's are aggregated
        together: the series are found through the dimension pair index.
        """
        matching = sa.select(series.c.id).where(series.c.project == self._project, series.c.metric == query.metric)
        for key, value in query.dimensions:
            with_pair = sa.select(series_dimensions.c.series_id).where(series_dimensions.c.key == key, series_dimensions.c.value == value)
            matching = matching.where(series.c.id.in_(with_pair))
        with self._database.reader() as session:
            series_ids = [row[0] for row in self._database.tuples(session, matching)]
        summaries = PeriodSummaries(query.period, query.start, query.end)
        for per_series in self._summaries(series_ids, query).values():
            for index, summary in per_series.items():
                summaries.merge(index, summary)
        return _buckets(summaries.by_index(), query.period)

    def _summaries(self, series_ids: Sequence[int], query: StatisticsQuery) -> dict[int, dict[int, Summary]]:
        """Per series with points in the query's window: the summary of each of its periods there."""
        if not series_ids:
            return {}
        window = PeriodSummaries(query.period, query.start, query.end)
        held, (chunk_rows, payloads) = self._head.read(series_ids, lambda: self._stored_chunks(series_ids, window))
        per_series: dict[int, PeriodSummaries] = {}

        def of(series_id: int) -> PeriodSummaries:
            summaries = per_series.get(series_id)
            if summaries is None:
                summaries = per_series[series_id] = PeriodSummaries(query.period, query.start, query.end)
            return summaries

        for series_id, parts in held.items():
            summaries = of(series_id)
            for times, values in parts:
                summaries.add_points(times, values)
        for chunk_id, series_id, first_time, _, count, total, minimum, maximum in chunk_rows:
            payload = payloads.get(chunk_id)
            if payload is None:
                of(series_id).add_summary(first_time, Summary(count, total, minimum, maximum))
            else:
                of(series_id).add_points(*unpack_chunk(payload))
        return {series_id: found for series_id, summaries in per_series.items() if (found := summaries.by_index())}

    def _stored_chunks(self, series_ids: Sequence[int], window: PeriodSummaries) -> tuple[list[ChunkRow], dict[int, bytes]]:
        """The chunks of `series_ids` that overlap the window; and the points of those it does not count whole, by chunk id."""
        rows: list[ChunkRow] = []
        columns = (chunks.c.id, chunks.c.series_id, chunks.c.first_time, chunks.c.last_time, chunks.c.count, chunks.c.total)
        columns += (chunks.c.minimum, chunks.c.maximum)
        payloads: dict[int, bytes] = {}
        with self._database.reader() as session:
            for part in _parts(series_ids, SERIES_PER_QUERY):
                query = sa.select(*columns).where(
                    chunks.c.series_id.in_(part), chunks.c.last_time >= window.start, chunks.c.first_time < window.end
                )
                rows.extend(self._database.tuples(session, query))
            cut = [row[0] for row in rows if not window.covers(row[2], row[3])]
            for part in _parts(cut, SERIES_PER_QUERY):
                query = sa.select(chunks.c.id, chunks.c.payload).where(chunks.c.id.in_(part))
                payloads.update((chunk_id, bytes(payload)) for chunk_id, payload in self._database.tuples(session, query))
        return rows, payloads

    def batch_statistics(self, queries: Sequence[StatisticsQuery]) -> list[list[Bucket]]:
        """The answer of `statistics` for each query, in order.

        Queries over the same metric and window share one pass: the summary of each
        series per period, merged per query from the series its dimensions match
        (found with an inverted index of the series' dimension pairs).
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
            series_with_pair, series_ids = self._candidate_series(queries[members[0]].metric, candidates, keys)
            summaries = self._summaries(series_ids, queries[members[0]])
            for position in members:
                answers[position] = _merged(summaries, series_with_pair, queries[position].dimensions, queries[position].period)
        return answers

    def _candidate_series(
        self, metric: str, candidate_pairs: list[tuple[str, str]] | None, keys: set[str]
    ) -> tuple[dict[tuple[str, str], set[int]], list[int]]:
        """The series of `metric` (only those with one of `candidate_pairs`, if given): by dimension pair of `keys`, and all.

        Only the pairs of dimension `keys` (those the queries name) are kept.
        """
        of_metric = sa.select(series.c.id).where(series.c.project == self._project, series.c.metric == metric)
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
        # NOTE: the keys are filtered here, not in SQL: `key IN (...)` there leads SQLite to the pair index,
        # through that key's pairs of every metric.
        pairs = sa.select(series_dimensions).where(series_dimensions.c.series_id.in_(of_metric))
        series_with_pair: dict[tuple[str, str], set[int]] = defaultdict(set)
        with self._database.reader() as session:
            series_ids = [row[0] for row in self._database.tuples(session, of_metric)]
            for series_id, key, value in self._database.tuples(session, pairs) if keys else ():
                if key in keys:
                    series_with_pair[(key, value)].add(series_id)
        return series_with_pair, series_ids

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
        with self._database.reader() as session:
            rows = self._database.tuples(session, query)
        held, _ = self._head.read([row[0] for row in rows], lambda: None)
        descriptors = []
        for series_id, metric_name, dimensions_key, last_chunk in rows:
            times = [max(part_times) for part_times, _ in held.get(series_id, ()) if part_times]
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

        The head is compacted first, so that every point is in a chunk. Chunks that
        ended before the limit go whole, PRUNE_CHUNK per transaction; those it cuts
        through (they end within CHUNK_SECONDS after it) keep their newer points.
        """
        self.compact()
        deleted = 0
        while True:
            with self._database.transaction() as session:
                query = sa.select(chunks.c.id, chunks.c.count).where(chunks.c.last_time < older_than).limit(PRUNE_CHUNK)
                old = self._database.tuples(session, query)
                if old:
                    session.execute(chunks.delete().where(chunks.c.id.in_([chunk_id for chunk_id, _ in old])))
                    deleted += sum(count for _, count in old)
            if len(old) < PRUNE_CHUNK:
                break
        deleted += self._cut_chunks(older_than)
        self._delete_series_without_points()
        return deleted

    def _cut_chunks(self, older_than: float) -> int:
        """Drop the points before `older_than` from the chunks that straddle it; returns how many were dropped."""
        straddling = sa.select(chunks.c.id, chunks.c.payload).where(
            chunks.c.last_time >= older_than, chunks.c.last_time < older_than + CHUNK_SECONDS, chunks.c.first_time < older_than
        )
        dropped = 0
        with self._database.transaction() as session:
            for chunk_id, payload in self._database.tuples(session, straddling):
                times, values = unpack_chunk(bytes(payload))
                kept = [(time, value) for time, value in zip(times, values, strict=True) if time >= older_than]
                dropped += len(times) - len(kept)
                (chunk,) = chunks_of([time for time, _ in kept], [value for _, value in kept])
                session.execute(chunks.update().where(chunks.c.id == chunk_id).values(_chunk_columns(chunk)))
        return dropped

    def _delete_series_without_points(self) -> None:
        """Delete the series with no chunk and no point in the head (none a store is using meanwhile)."""
        without_chunks = sa.select(series.c.id).where(~sa.exists().where(chunks.c.series_id == series.c.id))
        with self._series_guard.exclusive():
            held = self._head.series_ids()
            with self._database.transaction() as session:
                doomed = [series_id for (series_id,) in self._database.tuples(session, without_chunks) if series_id not in held]
                for part in _parts(doomed, SERIES_PER_QUERY):
                    session.execute(series.delete().where(series.c.id.in_(part)))
            if doomed:
                self._forget_ids()


def _parts(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
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


def _chunk_columns(chunk: Chunk) -> dict[str, Any]:
    summary = chunk.summary
    return {
        "first_time": chunk.first_time,
        "last_time": chunk.last_time,
        "count": summary.count,
        "total": summary.total,
        "minimum": summary.minimum,
        "maximum": summary.maximum,
        "payload": chunk.payload,
    }


def _chunk_rows(held: dict[int, Columns]) -> list[dict[str, Any]]:
    """The chunk rows of the points held per series."""
    return [
        {"series_id": series_id, **_chunk_columns(chunk)}
        for series_id, (times, values) in held.items()
        for chunk in chunks_of(times, values)
    ]


def _buckets(by_index: dict[int, Summary], period: float) -> list[Bucket]:
    return [(index * period, by_index[index]) for index in sorted(by_index)]
