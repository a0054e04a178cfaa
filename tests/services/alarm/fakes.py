"""Fakes beside the alarm service in its tests: a metrics service answering set datapoints, a policy service that records."""

from __future__ import annotations

import threading
from typing import Any

import grpc

from autoscale.server import BuildContext, ServiceRegistration
from autoscale.timeutil import from_duration, from_timestamp, to_timestamp
from autoscale.v1 import group_pb2, metrics_pb2, metrics_pb2_grpc, policy_pb2, policy_pb2_grpc


class FakeMetricsService(metrics_pb2_grpc.MetricsServiceServicer):
    """GetStatistics answers the values the test set per metric, one per period ending at the window's end."""

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}
        """Metric -> values of consecutive periods, the newest (the current period) last."""
        self.requests: list[metrics_pb2.GetStatisticsRequest] = []
        self.failure: grpc.StatusCode | None = None
        self.batches = 0
        """How many BatchGetStatistics calls arrived (the sweep's)."""

    def registration(self, _context: BuildContext) -> ServiceRegistration:
        return ServiceRegistration(
            name="metrics", full_name="autoscale.v1.MetricsService",
            add_to_server=lambda server: metrics_pb2_grpc.add_MetricsServiceServicer_to_server(self, server),
        )

    def GetStatistics(self, request: metrics_pb2.GetStatisticsRequest, context: grpc.ServicerContext) -> Any:
        self.requests.append(request)
        if self.failure is not None:
            context.abort(self.failure, "the fake metrics service is failing")
        period = from_duration(request.period)
        newest = from_timestamp(request.end_time) - period
        values = self.values.get(request.metric, [])
        return metrics_pb2.GetStatisticsResponse(datapoints=[
            metrics_pb2.Datapoint(start_time=to_timestamp(newest - (len(values) - 1 - i) * period), value=v, sample_count=1)
            for i, v in enumerate(values)
        ])


    def BatchGetStatistics(self, request: metrics_pb2.BatchGetStatisticsRequest, context: grpc.ServicerContext) -> Any:
        self.batches += 1
        return metrics_pb2.BatchGetStatisticsResponse(responses=[self.GetStatistics(query, context) for query in request.requests])


class FakePolicyService(policy_pb2_grpc.PolicyServiceServicer):
    """ExecutePolicy records each request and answers adjusted, or fails with the codes the test queued."""

    def __init__(self) -> None:
        self.requests: list[policy_pb2.ExecutePolicyRequest] = []
        self.failures: list[grpc.StatusCode] = []
        self.called = threading.Event()

    def registration(self, _context: BuildContext) -> ServiceRegistration:
        return ServiceRegistration(
            name="policy", full_name="autoscale.v1.PolicyService",
            add_to_server=lambda server: policy_pb2_grpc.add_PolicyServiceServicer_to_server(self, server),
        )

    def ExecutePolicy(self, request: policy_pb2.ExecutePolicyRequest, context: grpc.ServicerContext) -> Any:
        self.requests.append(request)
        self.called.set()
        if self.failures:
            context.abort(self.failures.pop(0), "the fake policy service is failing")
        activity = group_pb2.Activity(name="groups/web/activities/a1", cause=request.cause, from_capacity=1, to_capacity=2)
        return policy_pb2.ExecutePolicyResponse(adjusted=True, reason="capacity 1 -> 2", activity=activity)
