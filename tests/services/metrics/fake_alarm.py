"""A fake alarm service for the metrics service's tests: it records the NotifySamples it receives, and the project each acts in."""

from __future__ import annotations

import threading
from typing import Any

import grpc

from autoscale.identity import current_project
from autoscale.internal.v1 import sample_feed_pb2, sample_feed_pb2_grpc
from autoscale.series import dimensions_from_key
from autoscale.server import BuildContext, ServiceRegistration

NotifiedSeries = tuple[str, tuple[tuple[str, str], ...]]
"""A notified series: its metric and sorted dimension pairs."""


class FakeAlarmService(sample_feed_pb2_grpc.SampleFeedServiceServicer):
    """SampleFeedService only: each request is recorded, and waiters are woken."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.requests: list[sample_feed_pb2.NotifySamplesRequest] = []
        """The requests answered (not those made to fail)."""
        self.projects: list[str] = []
        """The project each request answered acted in (the server's identity layer read it from the call), in order."""
        self.attempts = 0
        """NotifySamples calls received, failed or not."""
        self.failure: grpc.StatusCode | None = None
        """The code NotifySamples fails with, when set."""

    def registration(self, _context: BuildContext) -> ServiceRegistration:
        """Registers this fake as the `alarm` service of a server."""
        return ServiceRegistration(
            name="alarm",
            full_name="autoscale.internal.v1.SampleFeedService",
            add_to_server=lambda server: sample_feed_pb2_grpc.add_SampleFeedServiceServicer_to_server(self, server),
        )

    def NotifySamples(self, request: sample_feed_pb2.NotifySamplesRequest, context: grpc.ServicerContext) -> Any:
        with self._condition:
            self.attempts += 1
            self._condition.notify_all()
            failure = self.failure
            if failure is None:
                self.requests.append(request)
                self.projects.append(current_project())
        if failure is not None:
            context.abort(failure, "NotifySamples made to fail by the test")
        return sample_feed_pb2.NotifySamplesResponse()

    def notified_series(self, count: int, timeout: float = 5.0) -> set[NotifiedSeries]:
        """The (metric, sorted dimensions) notified, once at least `count` distinct series were (or the timeout passed)."""
        with self._condition:
            self._condition.wait_for(lambda: len(self._ranges()) >= count, timeout)
            return set(self._ranges())

    def notified_ranges(self, count: int, timeout: float = 5.0) -> dict[NotifiedSeries, tuple[float, float]]:
        """The lowest and highest value notified of each series over every request, once `count` series were."""
        with self._condition:
            self._condition.wait_for(lambda: len(self._ranges()) >= count, timeout)
            return self._ranges()

    def notified_series_by_project(self, count: int, timeout: float = 5.0) -> dict[str, set[NotifiedSeries]]:
        """The (metric, sorted dimensions) notified in each project's calls, once at least `count` requests were answered."""
        with self._condition:
            self._condition.wait_for(lambda: len(self.requests) >= count, timeout)
            by_project: dict[str, set[NotifiedSeries]] = {}
            for project, request in zip(self.projects, self.requests, strict=True):
                named = {(metric, dimensions_from_key(key)) for metric, key in zip(request.metrics, request.dimensions, strict=True)}
                by_project.setdefault(project, set()).update(named)
            return by_project

    def wait_for_attempts(self, count: int, timeout: float = 5.0) -> int:
        """How many calls were received, once at least `count` were (or the timeout passed)."""
        with self._condition:
            self._condition.wait_for(lambda: self.attempts >= count, timeout)
            return self.attempts

    def _ranges(self) -> dict[NotifiedSeries, tuple[float, float]]:
        ranges: dict[NotifiedSeries, tuple[float, float]] = {}
        for request in self.requests:
            for metric, dimensions, low, high in zip(request.metrics, request.dimensions, request.minimums, request.maximums, strict=True):
                pairs = dimensions_from_key(dimensions)
                known = ranges.get((metric, pairs))
                ranges[(metric, pairs)] = (low, high) if known is None else (min(low, known[0]), max(high, known[1]))
        return ranges
