"""Storage of the metrics service on SQLite and PostgreSQL: migrations, points, statistics, listing and retention."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from autoscale.database import Database, schema_differences
from autoscale.errors import ResourceExhausted
from autoscale.series import Statistic
from services.metrics import repository as repository_module
from services.metrics.domain import SeriesKey, SeriesPoints, StatisticsQuery
from services.metrics.models import chunks, ingest_log, metadata, series
from services.metrics.repository import MetricsRepository
from services.metrics.server import MIGRATIONS_DIR

WEB_1 = SeriesKey.of("cpu", {"group": "web", "instance": "i-1"})
WEB_2 = SeriesKey.of("cpu", {"group": "web", "instance": "i-2"})
API_1 = SeriesKey.of("cpu", {"group": "api", "instance": "i-3"})


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    db.migrate(MIGRATIONS_DIR, "metrics")
    yield db
    db.dispose()


@pytest.fixture
def repository(database):
    return MetricsRepository(database, "default")


def _batch(key: SeriesKey, *points: tuple[float, float]) -> SeriesPoints:
    return SeriesPoints.of(key, points)


def _query(statistic: Statistic = Statistic.AVERAGE, dimensions=(), period=60.0, start=0.0, end=10_000.0, metric="cpu"):  # type: ignore[no-untyped-def]
    return StatisticsQuery(metric, tuple(sorted(dict(dimensions).items())), statistic, period, start, end)


def _values(repository: MetricsRepository, query: StatisticsQuery) -> list[tuple[float, float, int]]:
    return [(start, summary.value(query.statistic), summary.count) for start, summary in repository.statistics(query)]


def _count(database: Database, table: sa.Table) -> int:
    with database.reader() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(table))


def test_migrations_create_exactly_the_tables_of_the_models(database):
    assert schema_differences(database, metadata) == []


def test_migrating_twice_changes_nothing(database):
    database.migrate(MIGRATIONS_DIR, "metrics")
    assert schema_differences(database, metadata) == []


def test_stored_points_are_aggregated_per_aligned_period_oldest_first(repository):
    assert repository.store([_batch(WEB_1, (130.0, 4.0), (10.0, 1.0), (59.9, 3.0), (60.0, 8.0), (125.0, 2.0))]).points == 5
    assert _values(repository, _query(Statistic.AVERAGE)) == [(0.0, 2.0, 2), (60.0, 8.0, 1), (120.0, 3.0, 2)]
    assert _values(repository, _query(Statistic.MINIMUM)) == [(0.0, 1.0, 2), (60.0, 8.0, 1), (120.0, 2.0, 2)]
    assert _values(repository, _query(Statistic.MAXIMUM)) == [(0.0, 3.0, 2), (60.0, 8.0, 1), (120.0, 4.0, 2)]
    assert _values(repository, _query(Statistic.SUM)) == [(0.0, 4.0, 2), (60.0, 8.0, 1), (120.0, 6.0, 2)]
    assert _values(repository, _query(Statistic.SAMPLE_COUNT)) == [(0.0, 2.0, 2), (60.0, 1.0, 1), (120.0, 2.0, 2)]


def test_the_window_includes_its_start_and_excludes_its_end(repository):
    repository.store([_batch(WEB_1, (99.0, 1.0), (100.0, 2.0), (149.0, 3.0), (150.0, 4.0))])
    assert _values(repository, _query(Statistic.SUM, start=100.0, end=150.0, period=10.0)) == [(100.0, 2.0, 1), (140.0, 3.0, 1)]


def test_periods_need_not_be_whole_seconds(repository):
    repository.store([_batch(WEB_1, (1.0, 1.0), (1.4, 3.0), (1.5, 5.0), (2.9, 7.0))])
    assert _values(repository, _query(Statistic.AVERAGE, period=0.5)) == [(1.0, 2.0, 2), (1.5, 5.0, 1), (2.5, 7.0, 1)]


def test_a_query_aggregates_every_series_whose_dimensions_include_its_own(repository):
    repository.store([
        _batch(WEB_1, (10.0, 10.0), (70.0, 30.0)),
        _batch(WEB_2, (20.0, 20.0), (30.0, 60.0)),
        _batch(API_1, (10.0, 1000.0)),
        _batch(SeriesKey.of("memory", {"group": "web"}), (10.0, 5000.0)),
    ])
    # The average is over all the points of the period, not an average of per-series averages.
    assert _values(repository, _query(dimensions={"group": "web"})) == [(0.0, 30.0, 3), (60.0, 30.0, 1)]
    assert _values(repository, _query(dimensions={"instance": "i-2"})) == [(0.0, 40.0, 2)]
    assert _values(repository, _query(Statistic.SAMPLE_COUNT)) == [(0.0, 4.0, 4), (60.0, 1.0, 1)]
    assert _values(repository, _query(dimensions={"group": "web", "instance": "i-9"})) == []
    assert _values(repository, _query(metric="unknown")) == []


def test_statistics_over_many_series_merge_the_parts_of_each_period(repository, monkeypatch):
    monkeypatch.setattr(repository_module, "SERIES_PER_QUERY", 2)
    keys = [SeriesKey.of("cpu", {"instance": f"i-{n}"}) for n in range(5)]
    repository.store([_batch(key, (5.0, float(n)), (65.0, 10.0)) for n, key in enumerate(keys)])
    assert _values(repository, _query(Statistic.MAXIMUM)) == [(0.0, 4.0, 5), (60.0, 10.0, 5)]
    assert _values(repository, _query(Statistic.AVERAGE)) == [(0.0, 2.0, 5), (60.0, 10.0, 5)]


def test_store_names_the_id_of_each_series_in_the_order_of_the_batch(repository):
    (web_1,) = repository.store([_batch(WEB_1, (10.0, 1.0))]).series_ids
    stored = repository.store([_batch(WEB_2, (11.0, 1.0)), _batch(WEB_1, (12.0, 1.0)), _batch(WEB_2, (13.0, 1.0))])
    web_2 = stored.series_ids[0]
    assert stored == (3, [web_2, web_1, web_2])
    assert web_2 != web_1
    assert repository.store([_batch(WEB_2, (14.0, 1.0)), _batch(WEB_1, (15.0, 1.0))]).series_ids == [web_2, web_1]


def test_storing_a_known_series_again_reuses_its_row_after_a_restart(database, repository):
    repository.store([_batch(WEB_1, (10.0, 1.0))])
    repository.compact()
    # A restarted repository has an empty cache of ids.
    restarted = MetricsRepository(database, "default")
    restarted.store([_batch(SeriesKey.of("cpu", {"instance": "i-1", "group": "web"}), (20.0, 2.0))])
    restarted.store([_batch(WEB_1, (30.0, 3.0))])
    restarted.compact()
    with database.reader() as session:
        series_ids = session.scalars(sa.select(chunks.c.series_id).distinct()).all()
    assert _count(database, series) == 1
    assert len(series_ids) == 1
    assert _values(restarted, _query(Statistic.SUM)) == [(0.0, 6.0, 3)]


def test_a_restart_recovers_the_points_not_yet_compacted_from_the_ingest_log(database, repository):
    repository.store([_batch(WEB_1, (10.0, 1.0)), _batch(WEB_2, (15.0, 4.0), (70.0, 2.0))])
    repository.compact()
    repository.store([_batch(WEB_1, (20.0, 3.0))])
    restarted = MetricsRepository(database, "default")
    assert restarted.held_points() == 1
    assert _values(restarted, _query(Statistic.SUM)) == [(0.0, 8.0, 3), (60.0, 2.0, 1)]
    assert restarted.compact() == 1
    assert (_count(database, ingest_log), restarted.held_points()) == (0, 0)
    assert _values(MetricsRepository(database, "default"), _query(Statistic.SUM)) == [(0.0, 8.0, 3), (60.0, 2.0, 1)]


@pytest.mark.parametrize("recent_points", [0, 1000], ids=["read-from-chunks", "kept-in-memory"])
def test_statistics_are_the_same_before_and_after_compaction(database, recent_points):
    repository = MetricsRepository(database, "default", recent_points=recent_points)
    repository.store([_batch(WEB_1, (10.0, 1.0), (59.0, 5.0), (61.0, 2.0)), _batch(API_1, (30.0, 7.0))])
    queries = [
        _query(statistic, dimensions, period, start, end)
        for statistic in Statistic
        for dimensions in ({}, {"group": "web"})
        for period, start, end in ((60.0, 0.0, 1000.0), (30.0, 20.0, 61.0), (3600.0, 0.0, 7200.0))
    ]
    before = [_values(repository, query) for query in queries]
    assert repository.compact() == 4
    assert [_values(repository, query) for query in queries] == before
    assert repository.batch_statistics(queries) == [repository.statistics(query) for query in queries]


def test_a_compaction_that_fails_keeps_the_points_in_the_head(database, repository, monkeypatch):
    repository.store([_batch(WEB_1, (10.0, 1.0))])

    def failing(rows, entries):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(repository, "_commit_chunks", failing)
    with pytest.raises(RuntimeError):
        repository.compact()
    monkeypatch.undo()
    repository.store([_batch(WEB_1, (20.0, 2.0))])
    assert _values(repository, _query(Statistic.SUM)) == [(0.0, 3.0, 2)]
    assert repository.compact() == 2
    assert _values(repository, _query(Statistic.SUM)) == [(0.0, 3.0, 2)]
    assert _count(database, ingest_log) == 0


def test_last_point_time_is_the_newest_point_ever_stored(repository):
    repository.store([_batch(WEB_1, (50.0, 1.0), (20.0, 1.0))])
    assert [d.last_point_time for d in repository.list_series(None, None, 10)] == [50.0]
    repository.store([_batch(WEB_1, (40.0, 1.0))])
    assert [d.last_point_time for d in repository.list_series(None, None, 10)] == [50.0]
    repository.store([_batch(WEB_1, (70.5, 1.0)), _batch(WEB_1, (60.0, 1.0))])
    assert [d.last_point_time for d in repository.list_series(None, None, 10)] == [70.5]


def test_series_are_listed_by_metric_then_canonical_dimensions_and_paged(repository):
    keys = [
        SeriesKey.of("memory", {}),
        SeriesKey.of("cpu", {"group": "web"}),
        SeriesKey.of("cpu", {"group": "web", "instance": "i-1"}),
        SeriesKey.of("cpu", {"group": "api"}),
        SeriesKey.of("cpu_util", {}),
        SeriesKey.of("Cpu", {}),
    ]
    repository.store([_batch(key, (1.0, 1.0)) for key in keys])
    # Byte order on both databases: upper case before lower, '"' and ',' before '}'.
    expected = [keys[5], keys[3], keys[2], keys[1], keys[4], keys[0]]
    assert [d.key for d in repository.list_series(None, None, 10)] == expected
    first = repository.list_series(None, None, 2)
    rest = repository.list_series(None, (first[-1].key.metric, first[-1].key.dimensions_key), 10)
    assert [d.key for d in first + rest] == expected
    assert [d.key for d in repository.list_series("cpu", None, 10)] == [keys[3], keys[2], keys[1]]
    assert [d.key for d in repository.list_series("cpu", ("cpu", keys[2].dimensions_key), 10)] == [keys[1]]


def test_projects_see_only_their_own_series(database, repository):
    repository.store([_batch(WEB_1, (10.0, 1.0))])
    other = MetricsRepository(database, "other")
    assert other.list_series(None, None, 10) == []
    assert _values(other, _query()) == []
    other.store([_batch(WEB_1, (10.0, 5.0))])
    assert _values(repository, _query()) == [(0.0, 1.0, 1)]
    assert _values(other, _query()) == [(0.0, 5.0, 1)]


def test_the_same_series_in_two_projects_has_two_ids(database, repository):
    # The alarm service knows series by id alone (one catalogue for every project of a metrics process).
    (first,) = repository.store([_batch(WEB_1, (10.0, 1.0))]).series_ids
    (second,) = MetricsRepository(database, "other").store([_batch(WEB_1, (10.0, 5.0))]).series_ids
    assert first != second


def test_prune_deletes_only_its_projects_points_and_series(database, repository):
    other = MetricsRepository(database, "other")
    other.store([_batch(WEB_1, (1.0, 1.0))])  # in the other project's head only: no chunk yet
    repository.store([_batch(WEB_1, (2.0, 2.0)), _batch(WEB_2, (3.0, 3.0))])
    repository.compact()
    other_old = MetricsRepository(database, "other-old")
    other_old.store([_batch(WEB_1, (4.0, 4.0))])
    other_old.compact()
    assert repository.prune(10.0) == 2
    assert [d.key for d in other.list_series(None, None, 10)] == [WEB_1]
    assert _values(other_old, _query(Statistic.SUM)) == [(0.0, 4.0, 1)]
    other.compact()  # its series still exists: the chunk names it
    assert _values(MetricsRepository(database, "other"), _query(Statistic.SUM)) == [(0.0, 1.0, 1)]


def test_prune_deletes_the_old_points_only_and_series_left_without_any(database, repository, monkeypatch):
    # One chunk per retention transaction: the pruning goes on until no old chunk is left.
    monkeypatch.setattr(repository_module, "PRUNE_CHUNK", 1)
    repository.store([
        _batch(WEB_1, *[(float(t), 1.0) for t in range(10)], (100.0, 1.0)),
        _batch(WEB_2, *[(5.0, 2.0)] * 7),
    ])
    repository.compact()
    assert repository.prune(50.0) == 17
    assert _values(repository, _query(Statistic.SUM)) == [(60.0, 1.0, 1)]
    assert [d.key for d in repository.list_series(None, None, 10)] == [WEB_1]
    assert repository.prune(50.0) == 0
    # A pruned series comes back when it gets points again, though its id was cached.
    repository.store([_batch(WEB_2, (200.0, 4.0))])
    assert [d.key for d in repository.list_series(None, None, 10)] == [WEB_1, WEB_2]
    repository.compact()
    assert _count(database, chunks) == 2


def test_prune_cuts_a_chunk_that_straddles_its_limit(database, repository):
    repository.store([_batch(WEB_1, (10.0, 1.0), (20.0, 2.0), (30.0, 3.0))])
    repository.compact()
    assert repository.prune(25.0) == 2
    assert _values(repository, _query(Statistic.SUM)) == [(0.0, 3.0, 1)]
    assert _count(database, chunks) == 1


def test_prune_leaves_the_head_alone_and_keeps_the_series_whose_points_are_there(repository):
    repository.store([_batch(WEB_1, (1.0, 1.0))])
    assert repository.prune(10.0) == 0
    assert [d.key for d in repository.list_series(None, None, 10)] == [WEB_1]
    repository.compact()
    assert repository.prune(10.0) == 1
    assert repository.list_series(None, None, 10) == []


def test_the_id_of_a_pruned_series_is_never_given_to_another(database, repository):
    repository.store([_batch(WEB_1, (1.0, 1.0))])
    with database.reader() as session:
        pruned_id = session.scalar(sa.select(series.c.id))
    repository.compact()
    repository.prune(10.0)
    repository.store([_batch(WEB_2, (20.0, 2.0))])
    with database.reader() as session:
        assert session.scalar(sa.select(series.c.id)) != pruned_id


def test_upgrading_from_the_first_schema_keeps_series_and_points_and_indexes_their_dimensions(database_url):
    from alembic import command

    from autoscale.database import alembic_config

    database = Database(database_url)
    try:
        with database.engine.begin() as connection:
            command.upgrade(alembic_config(MIGRATIONS_DIR, "metrics", connection), "metrics_0001")
            connection.execute(sa.text(
                "INSERT INTO metrics_series (project, metric, dimensions_key, last_point_time) "
                "VALUES ('default', 'cpu', '{\"group\":\"web\"}', 5)"
            ))
            connection.execute(sa.text("INSERT INTO metrics_points (series_id, time, value) SELECT id, 5, 1.5 FROM metrics_series"))
        database.migrate(MIGRATIONS_DIR, "metrics")
        assert schema_differences(database, metadata) == []
        repository = MetricsRepository(database, "default")
        listed = repository.list_series(None, None, 10)
        assert [(d.key, d.last_point_time) for d in listed] == [(SeriesKey.of("cpu", {"group": "web"}), 5.0)]
        assert _values(repository, _query(dimensions={"group": "web"})) == [(0.0, 1.5, 1)]
    finally:
        database.dispose()


def test_downgrading_the_packed_layout_unpacks_chunks_and_the_ingest_log_into_points(database_url):
    from alembic import command

    from autoscale.database import alembic_config

    database = Database(database_url)
    try:
        database.migrate(MIGRATIONS_DIR, "metrics")
        repository = MetricsRepository(database, "default")
        repository.store([_batch(WEB_1, (10.0, 1.0), (20.0, 2.0)), _batch(WEB_2, (15.0, 5.0))])
        repository.compact()
        repository.store([_batch(WEB_1, (30.0, 3.0))])
        with database.engine.begin() as connection:
            command.downgrade(alembic_config(MIGRATIONS_DIR, "metrics", connection), "metrics_0003")
        with database.reader() as session:
            rows = session.execute(
                sa.text(
                    "SELECT s.dimensions_key, p.time, p.value FROM metrics_points p JOIN metrics_series s ON s.id = p.series_id "
                    "ORDER BY p.time"
                )
            ).all()
        assert [(r.time, r.value) for r in rows] == [(10.0, 1.0), (15.0, 5.0), (20.0, 2.0), (30.0, 3.0)]
        assert rows[1].dimensions_key == WEB_2.dimensions_key
    finally:
        database.dispose()


def test_a_batch_that_fails_to_commit_leaves_no_series_id_behind(database, repository, monkeypatch):
    def failing(session, payload):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(repository, "_append_to_log", failing)
    with pytest.raises(RuntimeError):
        repository.store([_batch(WEB_1, (10.0, 1.0))])
    monkeypatch.undo()
    assert WEB_1 not in repository.known_series()
    repository.store([_batch(WEB_1, (20.0, 2.0))])
    repository.compact()
    assert _values(repository, _query(Statistic.SUM)) == [(0.0, 2.0, 1)]


def test_series_beyond_the_limit_are_refused_with_their_batch_until_retention_deletes_series_that_stopped_reporting(database):
    repository = MetricsRepository(database, "default", max_series=2)
    repository.store([_batch(WEB_1, (10.0, 1.0)), _batch(WEB_2, (5_000.0, 2.0))])
    with pytest.raises(ResourceExhausted, match="--metrics-max-series"):
        repository.store([_batch(WEB_2, (5_001.0, 3.0)), _batch(API_1, (5_001.0, 4.0))])
    assert _count(database, series) == 2 and _values(repository, _query(Statistic.SAMPLE_COUNT, period=10_000.0)) == [(0.0, 2.0, 2)]
    # A restart knows the series stored, not only those created in this process.
    restarted = MetricsRepository(database, "default", max_series=2)
    with pytest.raises(ResourceExhausted):
        restarted.store([_batch(API_1, (5_001.0, 4.0))])
    restarted.compact()
    restarted.prune(1_000.0)  # WEB_1 reported last at 10 s: it goes with its points
    restarted.store([_batch(API_1, (5_001.0, 4.0))])
    assert _count(database, series) == 2
