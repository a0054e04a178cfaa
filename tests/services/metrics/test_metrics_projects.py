"""The repository of each project, on SQLite and PostgreSQL: made once on first use, and every stored project's at start."""

from __future__ import annotations

import threading

import pytest

from autoscale.database import Database
from autoscale.series import Statistic
from services.metrics.domain import SeriesKey, SeriesPoints, StatisticsQuery
from services.metrics.projects import ProjectRepositories
from services.metrics.server import MIGRATIONS_DIR

CPU = SeriesKey.of("cpu", {"group": "web"})
SUM = StatisticsQuery("cpu", (), Statistic.SUM, 60.0, 0.0, 600.0)


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    db.migrate(MIGRATIONS_DIR, "metrics")
    yield db
    db.dispose()


def _sums(repositories: ProjectRepositories, project: str) -> list[tuple[float, float]]:
    return [(start, summary.total) for start, summary in repositories.of(project).statistics(SUM)]


def test_a_start_recovers_every_stored_project_with_the_points_of_its_log(database):
    before = ProjectRepositories(database)
    before.of("p1").store([SeriesPoints.of(CPU, [(10.0, 1.0)])])
    before.of("p2").store([SeriesPoints.of(CPU, [(20.0, 2.0), (70.0, 3.0)])])
    before.of("p3").store([SeriesPoints.of(CPU, [(30.0, 4.0)])])
    before.of("p3").compact()  # its points are in chunks, its log is empty: still a project of the service
    before.of("reader-only")  # read, never stored: nothing to recover
    after = ProjectRepositories(database)
    assert after.recover() == ["p1", "p2", "p3"]
    assert [project for project, _ in after.items()] == ["p1", "p2", "p3"]
    assert [repository.held_points() for _, repository in after.items()] == [1, 2, 0]
    assert _sums(after, "p1") == [(0.0, 1.0)]
    assert _sums(after, "p2") == [(0.0, 2.0), (60.0, 3.0)]


def test_first_calls_of_one_project_racing_share_one_repository(database):
    repositories = ProjectRepositories(database)
    start = threading.Barrier(4)
    found = []

    def first_call() -> None:
        start.wait(5)
        found.append(repositories.of("p1"))

    threads = [threading.Thread(target=first_call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(found) == 4 and len({id(repository) for repository in found}) == 1
    assert repositories.items() == [("p1", found[0])]


def test_each_project_has_its_own_series_limit(database):
    repositories = ProjectRepositories(database, max_series=1)
    repositories.of("p1").store([SeriesPoints.of(CPU, [(10.0, 1.0)])])
    repositories.of("p2").store([SeriesPoints.of(CPU, [(10.0, 1.0)])])
    assert [repository.held_points() for _, repository in repositories.items()] == [1, 1]
