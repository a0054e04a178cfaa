"""A fake MetricsService for the policy service's tests: GetStatistics's SUM over samples held in memory.

Periods are aligned to multiples of the period since the epoch and clipped to the window, as the real service's
(services.metrics, tested there); only the SUM statistic a predictive floor asks is answered. Every request is
recorded, so a test sees which windows a forecast read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import grpc

from autoscale.server import BuildContext, ServiceRegistration
from autoscale.timeutil import from_duration, from_timestamp, to_timestamp
from autoscale.v1 import common_pb2, metrics_pb2, metrics_pb2_grpc


@dataclass(frozen=True)
class Sample:
    """One point of a series."""

    metric: str
    dimensions: dict[str, str]
    time: float
    value: float


class FakeMetricsService(metrics_pb2_grpc.MetricsServiceServicer):
    """GetStatistics (SUM) over `samples`; fails with `failure` when set."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.requests: list[metrics_pb2.GetStatisticsRequest] = []
        self.failure: grpc.StatusCode | None = None

    def registration(self, _context: BuildContext) -> ServiceRegistration:
        """Registers this fake as the `metrics` service of a server."""
        return ServiceRegistration(
            name="metrics",
            full_name="autoscale.v1.MetricsService",
            add_to_server=lambda server: metrics_pb2_grpc.add_MetricsServiceServicer_to_server(self, server),
        )

    def put(self, metric: str, dimensions: dict[str, str], time: float, value: float) -> None:
        self.samples.append(Sample(metric, dimensions, time, value))

    def GetStatistics(self, request: metrics_pb2.GetStatisticsRequest, context: grpc.ServicerContext) -> Any:
        self.requests.append(request)
        if self.failure is not None:
            context.abort(self.failure, "the fake metrics service fails")
        assert request.statistic == common_pb2.STATISTIC_SUM
        period = from_duration(request.period)
        start, end = from_timestamp(request.start_time), from_timestamp(request.end_time)
        sums: dict[float, tuple[float, int]] = {}
        for sample in self.samples:
            matches = sample.metric == request.metric and request.dimensions.items() <= sample.dimensions.items()
            if matches and start <= sample.time < end:
                bucket = math.floor(sample.time / period) * period
                total, count = sums.get(bucket, (0.0, 0))
                sums[bucket] = (total + sample.value, count + 1)
        return metrics_pb2.GetStatisticsResponse(datapoints=[
            metrics_pb2.Datapoint(start_time=to_timestamp(bucket), value=total, sample_count=count)
            for bucket, (total, count) in sorted(sums.items())
        ])
