"""The one path by which samples are stored, whichever protocol brought them (PutSamples, OTLP Export): the project's
quotas (samples a second, then series), the repository's store, then the alarm service's notification.
"""

from __future__ import annotations

from collections.abc import Container
from operator import itemgetter

from autoscale import telemetry
from autoscale.errors import ResourceExhausted
from autoscale.quotas.limits import QuotaSource, SampleRate
from services.metrics.domain import SeriesKey, SeriesPoints
from services.metrics.exposition import IngestMetrics
from services.metrics.notifier import AlarmNotifier
from services.metrics.projects import ProjectRepositories


class SampleIngest:
    """Stores checked batches of samples in their project, within its quotas, and tells the alarm service of them."""

    def __init__(self, repositories: ProjectRepositories, notifier: AlarmNotifier, quotas: QuotaSource, metrics: IngestMetrics) -> None:
        self._repositories = repositories
        self._notifier = notifier
        self._quotas = quotas
        self._metrics = metrics
        self._sample_rate = SampleRate()

    def known_series(self, project: str) -> Container[SeriesKey]:
        """The series of `project` stored before (so valid): a decoder need not measure their dimensions again."""
        return self._repositories.of(project).known_series()

    def store(self, project: str, batch: list[SeriesPoints], now: float) -> int:
        """Store `batch` (valid, by the rules of services.metrics.rules) in `project`; the points stored.

        ResourceExhausted, with nothing stored, when the project's samples_per_second or series quota is full.
        """
        limits = self._quotas.limits(project)
        try:
            self._sample_rate.admit(limits, sum(map(len, map(itemgetter(1), batch))), now)
            stored = self._repositories.of(project).store(batch, limits.of("series"))
        except ResourceExhausted:
            self._metrics.refused.labels(project).inc()
            raise
        self._metrics.points.labels(project).inc(stored.points)
        # Only once the points are committed: an alarm evaluated now must see them.
        self._notifier.notify(project, batch, stored.series_ids, telemetry.capture_context())
        return stored.points
