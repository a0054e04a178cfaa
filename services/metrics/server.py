"""Composition root of the metrics service: storage, the alarm notifier, the retention and compaction workers, the servicer."""

from __future__ import annotations

import logging
from pathlib import Path

from autoscale import server as bootstrap
from autoscale.config import Settings
from autoscale.internal.v1 import batch_statistics_pb2, sample_feed_pb2_grpc
from autoscale.server import BuildContext, ServiceRegistration
from autoscale.workers import PeriodicWorker
from services.metrics import decoding
from services.metrics.exposition import IngestMetrics, SeriesCollector
from services.metrics.ingest import SampleIngest
from services.metrics.maintenance import compact_due, prune_every_project
from services.metrics.notifier import AlarmNotifier
from services.metrics.projects import ProjectRepositories
from services.metrics.servicer import OTLP_SERVICE_NAME, BatchStatisticsServicer, MetricsServicer, OtlpMetricsServicer, add_to_server

SERVICE_NAME = "autoscale.v1.MetricsService"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
COMPACTION_CHECK_INTERVAL = 1.0
"""Seconds between two checks whether a project's head is due for compaction."""

log = logging.getLogger(__name__)


def build(context: BuildContext) -> ServiceRegistration:
    """The metrics service's registration, with its workers: the alarm notifier, the retention pruner and the compactor.

    Every project is served, each in its own repository; those stored are recovered here, before the first call.
    """
    context.database.migrate(MIGRATIONS_DIR, "metrics")
    settings = context.settings
    repositories = ProjectRepositories(context.database, recent_points=settings.metrics_head_points, max_series=settings.metrics_max_series)
    recovered = repositories.recover()
    log.debug("recovered the points of %d projects", len(recovered))
    notifier = AlarmNotifier(
        lambda: context.peers.stub("alarm", sample_feed_pb2_grpc.SampleFeedServiceStub).NotifySamples, context.peers.address("alarm"),
        remembered_keys=settings.metrics_max_series,
    )
    retention = settings.metrics_retention

    def prune_old_points() -> None:
        deleted = prune_every_project(repositories, context.clock() - retention)
        if deleted:
            log.info("retention: deleted %d points older than %gs", deleted, retention)

    # The first pass waits an interval: at start it would compete with the alarms' first sweep (reading every
    # series and taking SQLite's write lock) for points that are at most one interval later to go.
    prune_interval = settings.metrics_prune_interval
    pruner = PeriodicWorker("metrics-retention", prune_interval, prune_old_points, first_after=prune_interval)
    compaction_interval, head_points = settings.metrics_compaction_interval, settings.metrics_head_points

    def compact_when_due() -> None:
        moved = compact_due(repositories, head_points, compaction_interval)
        if moved:
            log.debug("compaction: %d points moved into chunks", moved)

    compactor = PeriodicWorker("metrics-compaction", min(COMPACTION_CHECK_INTERVAL, compaction_interval), compact_when_due)
    ingest = SampleIngest(repositories, notifier, context.quotas, IngestMetrics(context.metrics_registry))
    context.metrics_registry.register(SeriesCollector(context.database))
    servicer = MetricsServicer(repositories, ingest, context.clock)
    otlp_servicer = OtlpMetricsServicer(ingest, context.clock)
    batch_servicer = BatchStatisticsServicer(repositories, context.clock)
    log.debug("PutSamples read from wire bytes by the %s reader", decoding.describe())
    return ServiceRegistration(
        name="metrics",
        full_name=SERVICE_NAME,
        add_to_server=lambda server: add_to_server(servicer, otlp_servicer, batch_servicer, server),
        internal_names=[batch_statistics_pb2.DESCRIPTOR.services_by_name["BatchStatisticsService"].full_name],
        other_names=[OTLP_SERVICE_NAME],
        workers=[notifier, pruner, compactor],
    )


def create_server(settings: Settings) -> tuple[bootstrap.Server, int]:
    """A server of the metrics service alone."""
    return bootstrap.create_server(settings, [("metrics", build)], database_file="metrics.db")
