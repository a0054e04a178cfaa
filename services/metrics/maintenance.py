"""The background passes over every project's points: compaction when a head is due, and retention.

Each project's work runs inside `acting_for(project)`, as all background work does
(docs/identity.md). A failure in one project's work does not keep the others from
theirs: every project is tried, the others' failures are logged, and the first is
raised once all have run (the periodic worker reports it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from autoscale.identity import acting_for
from services.metrics.projects import ProjectRepositories
from services.metrics.repository import MetricsRepository

log = logging.getLogger(__name__)

HeadState = tuple[int, float]
"""A project's head: points held, and seconds since the oldest of them was stored."""


def due_for_compaction(heads: Mapping[str, HeadState], head_points: int, interval: float) -> list[str]:
    """The projects whose head to compact, in the mapping's order.

    Once the heads hold `head_points` together, every head that holds points (the
    process's memory bounds them together, as --metrics-head-points says); otherwise
    each head whose oldest point was stored `interval` seconds ago or more.
    """
    if sum(points for points, _ in heads.values()) >= head_points:
        return [project for project, (points, _) in heads.items() if points]
    return [project for project, (points, age) in heads.items() if points and age >= interval]


def compact_due(repositories: ProjectRepositories, head_points: int, interval: float) -> int:
    """Compact every project's head that is due (see `due_for_compaction`); returns how many points moved."""
    by_project = dict(repositories.items())
    heads = {project: (repository.held_points(), repository.head_age()) for project, repository in by_project.items()}
    due = due_for_compaction(heads, head_points, interval)
    return _for_each(due, by_project, MetricsRepository.compact)


def prune_every_project(repositories: ProjectRepositories, older_than: float) -> int:
    """Delete every project's points older than `older_than` (see MetricsRepository.prune); returns how many went."""
    by_project = dict(repositories.items())
    return _for_each(by_project, by_project, lambda repository: repository.prune(older_than))


def _for_each(projects: Iterable[str], by_project: Mapping[str, MetricsRepository], work: Callable[[MetricsRepository], int]) -> int:
    """The sum of `work(repository)` over `projects`, each acting for its project; see the module's docstring on failures."""
    total = 0
    first_failure: Exception | None = None
    for project in projects:
        try:
            with acting_for(project):
                total += work(by_project[project])
        except Exception as error:  # any failure: the other projects' work goes on (see the module's docstring)
            if first_failure is None:
                first_failure = error
            else:
                log.error("project %s: %s", project, error)
    if first_failure is not None:
        raise first_failure
    return total
