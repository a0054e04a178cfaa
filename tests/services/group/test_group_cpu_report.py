"""The CPU utilization of instances (services.group.cpu_report): its maths, and one pass put into a fake Metrics service
per project. What each driver measures is tested with the driver (tests/services/group/drivers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
import pytest

from autoscale.identity import current_project
from autoscale.v1 import metrics_pb2
from services.group.cpu_report import CPU_METRIC, CpuReporter, RunningInstance, cpu_percent
from services.group.drivers.base import CpuReading
from tests.support import FakeClock


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (CpuReading(100.0, 2.0), CpuReading(110.0, 7.0), 50.0),  # 5 s of CPU in 10 s: half a CPU
        (CpuReading(100.0, 2.0), CpuReading(110.0, 22.0), 200.0),  # two CPUs busy: 200 %, as top says
        (CpuReading(100.0, 2.0), CpuReading(110.0, 2.0), 0.0),
        (CpuReading(100.0, 2.0), CpuReading(100.0, 3.0), None),  # no time passed
        (CpuReading(100.0, 9.0), CpuReading(110.0, 3.0), None),  # the counter went back: another process
    ],
)
def test_the_cpu_utilization_is_the_cpu_time_used_over_the_time_passed(
    previous: CpuReading, current: CpuReading, expected: float | None
) -> None:
    assert cpu_percent(previous, current) == expected


class FakeMeter:
    """CPU seconds per server id, as a test sets them, read at the time of `clock`."""

    def __init__(self, clock: FakeClock) -> None:
        self.seconds: dict[str, float] = {}
        self.asked: list[list[str]] = []
        self._clock = clock

    def cpu_readings(self, server_ids: Sequence[str]) -> dict[str, CpuReading]:
        self.asked.append(list(server_ids))
        return {
            server_id: CpuReading(self._clock.now, self.seconds[server_id]) for server_id in server_ids if server_id in self.seconds
        }


class FakeMetrics:
    """PutSamples recorded with the project it acted in; fails with `failure` when set."""

    def __init__(self) -> None:
        self.puts: list[tuple[str, metrics_pb2.PutSamplesRequest]] = []
        self.failure = False

    def PutSamples(self, request: metrics_pb2.PutSamplesRequest, **_: Any) -> metrics_pb2.PutSamplesResponse:  # noqa: N802
        if self.failure:
            raise _Unavailable()
        self.puts.append((current_project(), request))
        return metrics_pb2.PutSamplesResponse()


class _Unavailable(grpc.RpcError):
    def details(self) -> str:
        return "the fake metrics service is down"


INSTANCES = [RunningInstance("p1", "web", "i-1", "101-5"), RunningInstance("p2", "db", "i-9", "202-7")]


def test_a_pass_puts_each_instances_utilization_since_the_previous_pass_in_its_project() -> None:
    clock, metrics = FakeClock(), FakeMetrics()
    meter = FakeMeter(clock)
    reporter = CpuReporter(lambda: INSTANCES, meter, lambda: metrics, clock)
    meter.seconds = {"101-5": 10.0, "202-7": 1.0}
    reporter.report()
    assert metrics.puts == []  # a first reading only starts the measure
    clock.advance(15)
    meter.seconds = {"101-5": 13.0, "202-7": 1.0}
    reporter.report()
    put = {project: request.series[0] for project, request in metrics.puts}
    assert set(put) == {"p1", "p2"}
    assert (put["p1"].metric, dict(put["p1"].dimensions), put["p1"].points[0].value) == (
        CPU_METRIC, {"group": "web", "instance": "i-1"}, 20.0,
    )
    assert put["p2"].points[0].value == 0.0 and put["p2"].points[0].time.seconds == int(clock.now)


def test_an_instance_that_cannot_be_read_is_skipped_and_measured_afresh_when_it_can() -> None:
    clock, metrics = FakeClock(), FakeMetrics()
    meter = FakeMeter(clock)
    reporter = CpuReporter(lambda: INSTANCES[:1], meter, lambda: metrics, clock)
    meter.seconds = {"101-5": 10.0}
    reporter.report()
    clock.advance(10)
    meter.seconds = {}
    reporter.report()
    clock.advance(10)
    meter.seconds = {"101-5": 30.0}
    reporter.report()
    assert metrics.puts == []


def test_a_metrics_service_that_fails_loses_that_passs_samples_only() -> None:
    clock, metrics = FakeClock(), FakeMetrics()
    meter = FakeMeter(clock)
    reporter = CpuReporter(lambda: INSTANCES[:1], meter, lambda: metrics, clock)
    meter.seconds = {"101-5": 0.0}
    reporter.report()
    metrics.failure = True
    clock.advance(10)
    meter.seconds = {"101-5": 5.0}
    reporter.report()
    metrics.failure = False
    clock.advance(10)
    meter.seconds = {"101-5": 6.0}
    reporter.report()
    (only,) = metrics.puts
    assert only[1].series[0].points[0].value == 10.0


def test_with_no_instance_running_the_meter_is_not_asked() -> None:
    clock = FakeClock()
    meter = FakeMeter(clock)
    CpuReporter(lambda: [], meter, lambda: FakeMetrics(), clock).report()
    assert meter.asked == []  # a cloud that is not configured is not connected to


def test_a_reading_counts_from_the_time_it_was_taken_not_when_the_pass_ended() -> None:
    # A meter that reads servers one at a time (Nova's diagnostics): the first pass's reading was taken 10 s before
    # the pass ended; 5 CPU seconds over the 20 s between the two readings is 25 %, not 5 / 10 = 50 %.
    clock, metrics = FakeClock(), FakeMetrics()
    meter = FakeMeter(clock)
    reporter = CpuReporter(lambda: INSTANCES[:1], meter, lambda: metrics, clock)
    meter.seconds = {"101-5": 0.0}
    readings = iter([CpuReading(100.0, 0.0), CpuReading(120.0, 5.0)])
    meter.cpu_readings = lambda server_ids: {"101-5": next(readings)}  # type: ignore[method-assign]
    reporter.report()
    reporter.report()
    assert metrics.puts[0][1].series[0].points[0].value == 25.0


def test_a_replica_without_the_claim_measures_nothing_and_starts_afresh_when_it_has_it_again() -> None:
    clock, metrics = FakeClock(), FakeMetrics()
    meter, claimed = FakeMeter(clock), [True]
    reporter = CpuReporter(lambda: INSTANCES[:1], meter, lambda: metrics, clock, lambda: claimed[0])
    meter.seconds = {"101-5": 0.0}
    reporter.report()
    claimed[0] = False
    clock.advance(10)
    reporter.report()
    assert len(meter.asked) == 1 and metrics.puts == []
    claimed[0] = True
    clock.advance(10)
    meter.seconds = {"101-5": 8.0}
    reporter.report()
    assert metrics.puts == []  # its earlier reading is forgotten: another replica measured meanwhile
