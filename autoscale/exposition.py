"""Autoscale's own metrics, for Prometheus: `GET /metrics` on the HTTP listener, in Prometheus's text format.

Each process has a registry of its own (tests run several servers in one interpreter; a registry per server keeps
their figures apart). Every service adds what it knows: the group service its groups' capacities and activities, the
alarm service its alarms' states and actions, the policy service its executions and receivers' signals, the metrics
service its ingest; the process its CPU, memory and file descriptors. What a database holds (capacities, states) is
read when Prometheus scrapes; what happens (a signal, an action, an evaluation) is counted or timed as it happens.

Names follow Prometheus's conventions: `autoscale_` first, base units (seconds), `_total` for counters. Labels hold
project and resource ids, never a free text: their number is bounded by the resources that exist.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from autoscale.database import Database
from autoscale.http_listener import HttpRequest, HttpResponse, HttpRoute

log = logging.getLogger(__name__)

TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus's text format as every Prometheus reads it (prometheus-client's newest, 1.0.0, differs only in how names
outside [a-zA-Z0-9_:] are written: ours have none)."""

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: from a millisecond (a signal's Adjust) to half a minute (a sweep of many alarms, a slow peer)."""


class DatabaseCollector(Collector):
    """Families read from a service's database when Prometheus scrapes: a subclass says what `read` makes of a
    connection. A database that cannot be read leaves them out of that scrape (and says so in the log); the rest of
    /metrics is still served."""

    what = "metrics"
    """What the families tell, for the log."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def describe(self) -> Iterable[Metric]:
        """Nothing ahead of a scrape (the registry would otherwise collect once, reading the database, to learn the names)."""
        return []

    def collect(self) -> Iterable[Metric]:
        """The families, as the database holds them now."""
        try:
            with self._database.reader() as connection:
                families = self.read(connection)
        except sa.exc.SQLAlchemyError as error:
            log.warning("the %s were left out of a scrape: the database could not be read (%s)", self.what, error)
            return []
        return families

    def read(self, connection: sa.Connection) -> Sequence[Metric]:
        """The families, read through `connection`."""
        raise NotImplementedError


def new_registry() -> CollectorRegistry:
    """A process's registry, with the process's own figures (CPU, memory, open files) in it."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    return registry


def metrics_route(registry: CollectorRegistry) -> HttpRoute:
    """`GET /metrics`: everything in `registry`, in Prometheus's text format."""

    def answer(request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, generate_latest(registry), TEXT_FORMAT)

    return HttpRoute("GET", "/metrics", answer)
