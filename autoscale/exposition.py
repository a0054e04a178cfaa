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

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, ProcessCollector, generate_latest

from autoscale.http_listener import HttpRequest, HttpResponse, HttpRoute

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: from a millisecond (a signal's Adjust) to half a minute (a sweep of many alarms, a slow peer)."""


def new_registry() -> CollectorRegistry:
    """A process's registry, with the process's own figures (CPU, memory, open files) in it."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    return registry


def metrics_route(registry: CollectorRegistry) -> HttpRoute:
    """`GET /metrics`: everything in `registry`, in Prometheus's text format."""

    def answer(request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, generate_latest(registry), CONTENT_TYPE_LATEST)

    return HttpRoute("GET", "/metrics", answer)
