"""The metrics service's own metrics (autoscale.exposition): what it ingests, what its quotas refuse, and how many
series each project holds."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from autoscale.database import Database
from services.metrics.models import series

log = logging.getLogger(__name__)


class IngestMetrics:
    """Counted as batches are stored (PutSamples and OTLP Export alike: they share one path)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.points = Counter(
            "autoscale_metrics_points", "Points stored, by project (rate() of it is the ingest rate).", ["project"],
            registry=registry,
        )
        self.refused = Counter(
            "autoscale_metrics_refused_batches", "Batches refused whole by a quota (samples_per_second or series), by project.",
            ["project"], registry=registry,
        )


class SeriesCollector(Collector):
    """Series held by each project, read from the database at each scrape (one grouped count)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def describe(self) -> Iterable[Metric]:
        """Nothing ahead of a scrape (see services.group.exposition)."""
        return []

    def collect(self) -> Iterable[Metric]:
        """`autoscale_metrics_series` by project."""
        try:
            with self._database.reader() as connection:
                rows = connection.execute(sa.select(series.c.project, sa.func.count()).group_by(series.c.project)).all()
        except sa.exc.SQLAlchemyError as error:
            log.warning("the series count was left out of a scrape: the database could not be read (%s)", error)
            return
        family = GaugeMetricFamily("autoscale_metrics_series", "Series each project holds (its series quota counts them).",
                                   labels=["project"])
        for project, count in rows:
            family.add_metric([project], count)
        yield family
