"""Compaction and retention over every project: which heads are due (pure), and the passes on a real database."""

from __future__ import annotations

import pytest

from autoscale.database import Database
from services.metrics.domain import SeriesKey, SeriesPoints
from services.metrics.maintenance import compact_due, due_for_compaction, prune_every_project
from services.metrics.projects import ProjectRepositories
from services.metrics.server import MIGRATIONS_DIR

CPU = SeriesKey.of("cpu", {})


@pytest.mark.parametrize(
    ("heads", "head_points", "interval", "due"),
    [
        ({}, 10, 60.0, []),
        ({"p1": (3, 5.0), "p2": (4, 70.0)}, 10, 60.0, ["p2"]),  # only the head old enough
        ({"p1": (3, 60.0), "p2": (0, 0.0)}, 10, 60.0, ["p1"]),  # exactly the interval is due
        ({"p1": (6, 5.0), "p2": (4, 1.0), "p3": (0, 0.0)}, 10, 60.0, ["p1", "p2"]),  # together at the limit: every head holding points
        ({"p1": (9, 5.0)}, 10, 60.0, []),
    ],
)
def test_a_head_is_due_once_old_enough_or_once_the_heads_together_hold_the_limit(heads, head_points, interval, due):
    assert due_for_compaction(heads, head_points, interval) == due


@pytest.fixture
def repositories(sqlite_url):
    database = Database(sqlite_url)
    database.migrate(MIGRATIONS_DIR, "metrics")
    yield ProjectRepositories(database)
    database.dispose()


def _store(repositories: ProjectRepositories, project: str, *times: float) -> None:
    repositories.of(project).store([SeriesPoints.of(CPU, [(time, 1.0) for time in times])])


def _held(repositories: ProjectRepositories) -> dict[str, int]:
    return {project: repository.held_points() for project, repository in repositories.items()}


def test_compaction_moves_every_head_once_together_they_hold_the_limit(repositories):
    _store(repositories, "p1", 1.0, 2.0)
    _store(repositories, "p2", 3.0)
    assert compact_due(repositories, head_points=4, interval=3600.0) == 0
    assert compact_due(repositories, head_points=3, interval=3600.0) == 3
    assert _held(repositories) == {"p1": 0, "p2": 0}


def test_a_project_whose_compaction_fails_keeps_no_other_from_its_own(repositories, monkeypatch):
    _store(repositories, "p1", 1.0)
    _store(repositories, "p2", 2.0)

    def failing(rows, entries):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(repositories.of("p1"), "_commit_chunks", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        compact_due(repositories, head_points=1, interval=3600.0)
    assert _held(repositories) == {"p1": 1, "p2": 0}


def test_retention_deletes_the_old_points_of_every_project(repositories):
    _store(repositories, "p1", 1.0, 100.0)
    _store(repositories, "p2", 2.0)
    compact_due(repositories, head_points=1, interval=3600.0)
    assert prune_every_project(repositories, older_than=50.0) == 2
    assert [d.key for d in repositories.of("p1").list_series(None, None, 10)] == [CPU]
    assert repositories.of("p2").list_series(None, None, 10) == []
