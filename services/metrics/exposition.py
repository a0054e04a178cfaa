"""The metrics service's own metrics (autoscale.exposition): what it ingests, what its quotas refuse, and how many
series each project holds."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric

from autoscale.exposition import DatabaseCollector
from services.metrics.models import series


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


class SeriesCollector(DatabaseCollector):
    """Series held by each project, read at each scrape (one grouped count)."""

    what = "series counts"

    def read(self, connection: sa.Connection) -> Sequence[Metric]:
        """`autoscale_metrics_series` by project."""
        rows = connection.execute(sa.select(series.c.project, sa.func.count()).group_by(series.c.project)).all()
        family = GaugeMetricFamily("autoscale_metrics_series", "Series each project holds (its series quota counts them).",
                                   labels=["project"])
        for project, count in rows:
            family.add_metric([project], count)
        return [family]
