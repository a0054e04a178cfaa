"""A fake AlarmService for the metrics service's tests: it records the NotifySamples it receives."""

from __future__ import annotations

import threading
from typing import Any

import grpc

from autoscale.server import BuildContext, ServiceRegistration
from autoscale.v1 import alarm_pb2, alarm_pb2_grpc


class FakeAlarmService(alarm_pb2_grpc.AlarmServiceServicer):
    """NotifySamples only: each request is recorded, and waiters are woken."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.requests: list[alarm_pb2.NotifySamplesRequest] = []
        """The requests answered (not those made to fail)."""
        self.attempts = 0
        """NotifySamples calls received, failed or not."""
        self.failure: grpc.StatusCode | None = None
        """The code NotifySamples fails with, when set."""

    def registration(self, _context: BuildContext) -> ServiceRegistration:
        """Registers this fake as the `alarm` service of a server."""
        return ServiceRegistration(
            name="alarm",
            full_name="autoscale.v1.AlarmService",
            add_to_server=lambda server: alarm_pb2_grpc.add_AlarmServiceServicer_to_server(self, server),
        )

    def NotifySamples(self, request: alarm_pb2.NotifySamplesRequest, context: grpc.ServicerContext) -> Any:
        with self._condition:
            self.attempts += 1
            self._condition.notify_all()
            failure = self.failure
            if failure is None:
                self.requests.append(request)
        if failure is not None:
            context.abort(failure, "NotifySamples made to fail by the test")
        return alarm_pb2.NotifySamplesResponse(matched_alarms=0)

    def notified_series(self, count: int, timeout: float = 5.0) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        """The (metric, sorted dimensions) notified, once at least `count` distinct series were (or the timeout passed)."""
        with self._condition:
            self._condition.wait_for(lambda: len(self._series()) >= count, timeout)
            return self._series()

    def wait_for_attempts(self, count: int, timeout: float = 5.0) -> int:
        """How many calls were received, once at least `count` were (or the timeout passed)."""
        with self._condition:
            self._condition.wait_for(lambda: self.attempts >= count, timeout)
            return self.attempts

    def _series(self) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        return {(s.metric, tuple(sorted(s.dimensions.items()))) for request in self.requests for s in request.series}
