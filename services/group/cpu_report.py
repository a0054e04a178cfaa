"""The CPU utilization of instances, measured by the group service and put into the Metrics service.

AWS's ASGAverageCPUUtilization is measured by the platform (CloudWatch's EC2
CPUUtilization), not reported by the workload. Here the group service measures the
instances it started, through their driver (a CpuMeter), one reporter per driver: every
pass it reads the CPU seconds each instance in service has used and puts the share of CPU
it used since the previous pass, in percent, as the sample
`cpu_utilization{group=<id>, instance=<id>}` of the instance's project. A local process's
share is of one CPU (/proc: every process of the session it leads, its children included);
a Nova server's is of all its vCPUs, as CloudWatch's is of an instance's (Nova's server
diagnostics: each vCPU's time). A target tracking policy's predefined CPU metric averages
them over the group. An instance's first pass only starts its measure; an instance gone or
not read, or a pass that cannot reach the Metrics service, puts nothing (the next pass
measures from its own previous reading).

Replicas of the group service share the work: a reporter measures while it holds its claim
(renewed every pass, lost CLAIM_INTERVALS intervals after its holder stops), so each
instance has one series of samples, as the average and the predictive floor's sums expect.

`cpu_percent` is pure; `CpuReporter.report` is one pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import grpc

from autoscale.identity import acting_for
from autoscale.timeutil import Clock, to_timestamp
from autoscale.v1 import metrics_pb2
from services.group.drivers.base import CpuReading

log = logging.getLogger(__name__)

CPU_METRIC = "cpu_utilization"
"""The metric of the samples put: percent of one CPU (a local process) or of all its vCPUs (a Nova server)."""

CLAIM_INTERVALS = 3
"""Intervals a replica's claim of a reporter's work lasts unless renewed: another replica takes over after them."""


@runtime_checkable
class CpuMeter(Protocol):
    """What measures a server's CPU (the local process driver, the OpenStack driver)."""

    def cpu_readings(self, server_ids: Sequence[str]) -> Mapping[str, CpuReading]:
        """Seconds of CPU each server has used (per vCPU of a VM), each with the time it was read; those that cannot be
        read are left out."""


@dataclass(frozen=True)
class RunningInstance:
    """A running instance, as the group service's storage knows it."""

    project: str
    group_id: str
    instance_id: str
    server_id: str


def cpu_percent(previous: CpuReading, current: CpuReading) -> float | None:
    """The share of one CPU used between two readings, in percent; None when no time passed or the counter went back (the
    reading is of another process)."""
    elapsed = current.time - previous.time
    used = current.cpu_seconds - previous.cpu_seconds
    if elapsed <= 0 or used < 0:
        return None
    return 100.0 * used / elapsed


class CpuReporter:
    """Measures the running instances of one driver in every project and puts their CPU utilization, one PutSamples a
    project."""

    def __init__(
        self, running: Callable[[], Sequence[RunningInstance]], meter: CpuMeter, metrics: Callable[[], Any], clock: Clock,
        claim: Callable[[], bool] = lambda: True,
    ) -> None:
        self._running = running
        self._meter = meter
        self._claim = claim
        """Whether this process measures this pass: replicas of the group service share one database and would each put
        every instance's sample (GroupRepositories.claim_work: one of them does)."""
        self._metrics = metrics
        self._clock = clock
        self._previous: dict[tuple[str, str], CpuReading] = {}
        """(project, server id) -> its last reading."""

    def report(self) -> None:
        """One pass: read every running instance, put what was measured since the previous pass."""
        series: dict[str, list[metrics_pb2.TimeSeries]] = {}
        readings: dict[tuple[str, str], CpuReading] = {}
        # NOTE: claimed only with something to measure: an idle reporter writes nothing to the database.
        running = self._running()
        if not running or not self._claim():
            self._previous = {}  # a pass that measures again (this replica's turn again) starts afresh
            return
        measured = self._meter.cpu_readings([instance.server_id for instance in running])
        now = self._clock()
        for instance in running:
            reading = measured.get(instance.server_id)
            if reading is None:
                continue
            key = (instance.project, instance.server_id)
            readings[key] = reading
            previous = self._previous.get(key)
            percent = cpu_percent(previous, reading) if previous is not None else None
            if percent is not None:
                series.setdefault(instance.project, []).append(metrics_pb2.TimeSeries(
                    metric=CPU_METRIC, dimensions={"group": instance.group_id, "instance": instance.instance_id},
                    points=[metrics_pb2.Point(value=percent, time=to_timestamp(now))],
                ))
        self._previous = readings  # instances gone are forgotten
        for project, project_series in series.items():
            with acting_for(project):
                try:
                    self._metrics().PutSamples(metrics_pb2.PutSamplesRequest(series=project_series))
                except grpc.RpcError as error:
                    log.warning("could not put the CPU utilization of project %s's instances: %s", project, error.details())
