"""The repository of each project the metrics service serves: made on first use, and at start for every project stored.

Each project has its own head, ingest log entries, series catalogue and series limit
(services.metrics.repository), so a project never sees another's series. A call finds
its project's repository with one dict lookup (PutSamples does, per batch); the first
call of a project new to this process makes it. A start makes the repository of every
project that has series or log entries stored, each rebuilding its head from its log,
so that no point is lost across a restart and the background work (compaction,
retention) covers every project.
"""

from __future__ import annotations

import threading

from autoscale.database import Database
from services.metrics.repository import MAX_SERIES, RECENT_POINTS, MetricsRepository, stored_projects


class ProjectRepositories:
    """The MetricsRepository of each project; thread-safe."""

    def __init__(self, database: Database, *, recent_points: int = RECENT_POINTS, max_series: int = MAX_SERIES) -> None:
        self._database = database
        self._recent_points = recent_points
        self._max_series = max_series
        self._repositories: dict[str, MetricsRepository] = {}
        self._creating = threading.Lock()

    def recover(self) -> list[str]:
        """Make the repository of every project stored (each rebuilds its head from its log); the projects, in order."""
        projects = stored_projects(self._database)
        for project in projects:
            self.of(project)
        return projects

    def of(self, project: str) -> MetricsRepository:
        """The repository of `project`, made (and recovered from storage) on its first use."""
        repository = self._repositories.get(project)
        if repository is None:
            repository = self._create(project)
        return repository

    def _create(self, project: str) -> MetricsRepository:
        # NOTE: a lookup needs no lock (a dict read is atomic under the interpreter lock); creations are serialised so
        # that two first calls of one project share one repository, hence one head.
        with self._creating:
            repository = self._repositories.get(project)
            if repository is None:
                repository = MetricsRepository(self._database, project, recent_points=self._recent_points, max_series=self._max_series)
                self._repositories[project] = repository
            return repository

    def items(self) -> list[tuple[str, MetricsRepository]]:
        """Each project served so far with its repository, in the order they were made."""
        with self._creating:
            return list(self._repositories.items())
