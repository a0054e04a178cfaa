"""The alarm service in a real in-process server with fake metrics and policy services beside it, as its tests drive it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from autoscale.config import Settings
from autoscale.identity.interceptor import PROJECT_METADATA
from autoscale.internal.v1 import sample_feed_pb2, sample_feed_pb2_grpc
from autoscale.series import canonical_dimensions_key
from autoscale.timeutil import Clock, system_clock, to_duration
from autoscale.v1 import alarm_pb2, alarm_pb2_grpc, common_pb2
from services.alarm.actions import ActionDispatcher
from services.alarm.scheduler import EvaluationScheduler
from services.alarm.server import build
from tests.services.alarm.fakes import FakeMetricsService, FakePolicyService
from tests.support import running_server, wait_for

ACTION = alarm_pb2.ALARM_HISTORY_TYPE_ACTION


@dataclass
class Mesh:
    """The alarm service under test and the fakes it calls; its calls act in `project` (None: the default one)."""

    alarms: Any
    feed: Any
    metrics: FakeMetricsService
    policy: FakePolicyService
    scheduler: EvaluationScheduler
    dispatcher: ActionDispatcher
    series_ids: dict[tuple[str | None, str, str], int] = field(default_factory=dict)
    """The id of each series notified (project, metric, dimensions key), for good; shared by the views of every project."""
    project: str | None = None

    def in_project(self, project: str) -> Mesh:
        """The same mesh, calling in `project` (as a peer names it: authentication is off in tests)."""
        return replace(self, project=project)

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return ((PROJECT_METADATA, self.project),) if self.project is not None else ()

    def settle(self) -> None:
        """Wait until the service is idle: no alarm queued or being evaluated, no action running or waiting to retry.

        (Every evaluation queues its actions before it ends, so an idle scheduler seen first leaves nothing unseen.)
        """
        wait_for(lambda: self.scheduler.queued() == 0 and self.dispatcher.outstanding() == 0)

    def create(self, alarm_id: str = "high-cpu", *, period: float = 60, evaluation_periods: int = 1, **fields) -> alarm_pb2.Alarm:  # type: ignore[no-untyped-def]
        rule = alarm_pb2.ThresholdRule(
            metric="cpu_util", dimensions={"group": "web"}, statistic=common_pb2.STATISTIC_AVERAGE,
            comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, threshold=80, period=to_duration(period),
            evaluation_periods=evaluation_periods,
        )
        fields = {"threshold_rule": rule, "alarm_actions": ["policies/scale-out"], **fields}
        request = alarm_pb2.CreateAlarmRequest(alarm_id=alarm_id, alarm=alarm_pb2.Alarm(**fields))
        return self.alarms.CreateAlarm(request, timeout=5, metadata=self.metadata).alarm

    def notify_samples(self, metric: str = "cpu_util", values: tuple[float, float] = (-math.inf, math.inf), **dimensions: str) -> Any:
        """Tell the service that a series of this mesh's project received values from values[0] to values[1] (by default any
        value); its answer."""
        key = canonical_dimensions_key(dimensions or {"group": "web", "instance": "i-1"})
        # As the metrics service gives ids: one per series of a project, never the same for two.
        series_id = self.series_ids.setdefault((self.project, metric, key), len(self.series_ids) + 1)
        request = sample_feed_pb2.NotifySamplesRequest(
            metrics=[metric], dimensions=[key], minimums=[values[0]], maximums=[values[1]], series_ids=[series_id], catalogue="metrics",
        )
        return self.feed.NotifySamples(request, timeout=5, metadata=self.metadata)

    def notify(self, metric: str = "cpu_util", values: tuple[float, float] = (-math.inf, math.inf), **dimensions: str) -> int:
        """`notify_samples`; how many alarms watch the series."""
        return int(self.notify_samples(metric, values, **dimensions).matched_alarms)

    def get(self, alarm_id: str = "high-cpu") -> alarm_pb2.Alarm:
        return self.alarms.GetAlarm(alarm_pb2.GetAlarmRequest(name=f"alarms/{alarm_id}"), timeout=5, metadata=self.metadata).alarm

    def history(self, alarm_id: str = "high-cpu") -> list[alarm_pb2.AlarmHistoryEntry]:
        request = alarm_pb2.ListAlarmHistoryRequest(name=f"alarms/{alarm_id}")
        return list(self.alarms.ListAlarmHistory(request, timeout=5, metadata=self.metadata).entries)

    def actions(self, count: int, alarm_id: str = "high-cpu") -> list[alarm_pb2.AlarmHistoryEntry] | None:
        """The alarm's action entries once there are `count` of them."""
        found = [e for e in self.history(alarm_id) if e.type == ACTION]
        return found if len(found) == count else None


@contextmanager
def mesh_with(sqlite_url: str, clock: Clock = system_clock, **settings: Any) -> Iterator[Mesh]:
    """The alarm service and its fakes in one server, on this clock, with these settings changed."""
    metrics, policy = FakeMetricsService(), FakePolicyService()
    values = {"database_url": sqlite_url, "alarm_sweep_interval": 3600, "alarm_action_backoff": 0.05, "alarm_action_attempts": 3}
    with running_server(
        [("alarm", build), ("metrics", metrics.registration), ("policy", policy.registration)], Settings(**{**values, **settings}),
        clock=clock,
    ) as (server, channel):
        workers = [worker for registration in server.registrations for worker in registration.workers]
        (scheduler,) = (worker for worker in workers if isinstance(worker, EvaluationScheduler))
        (dispatcher,) = (worker for worker in workers if isinstance(worker, ActionDispatcher))
        yield Mesh(
            alarm_pb2_grpc.AlarmServiceStub(channel), sample_feed_pb2_grpc.SampleFeedServiceStub(channel), metrics, policy,
            scheduler, dispatcher,
        )
