"""Fakes beside the alarm service in its tests: a metrics service answering set datapoints, a policy service that records.

Each records the project every call carried (its `x-autoscale-project` metadata), which is the project the real service
would serve the call in.
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

import grpc

from autoscale.identity.interceptor import named_project
from autoscale.internal.v1 import batch_statistics_pb2, batch_statistics_pb2_grpc
from autoscale.server import BuildContext, ServiceRegistration
from autoscale.v1 import group_pb2, policy_pb2, policy_pb2_grpc


class Query(NamedTuple):
    """One query a BatchGetStatistics asked: times in seconds, dimensions as a dict."""

    metric: str
    dimensions: dict[str, str]
    statistic: int
    period: float
    start: float
    end: float


class FakeMetricsService(batch_statistics_pb2_grpc.BatchStatisticsServiceServicer):
    """BatchGetStatistics answers the values the test set per metric, one per period ending at each window's end."""

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}
        """Metric -> values of consecutive periods, the newest (the current period) last."""
        self.project_values: dict[tuple[str, str], list[float]] = {}
        """(project, metric) -> the values of that project's series, answered before `values`."""
        self.requests: list[Query] = []
        """Every query asked, in order."""
        self.calls: list[tuple[str | None, list[Query]]] = []
        """Each call's project (None: it named none) and its queries, in order."""
        self.failure: grpc.StatusCode | None = None
        self.batches = 0
        """How many BatchGetStatistics calls arrived."""

    def registration(self, _context: BuildContext) -> ServiceRegistration:
        return ServiceRegistration(
            name="metrics", full_name="autoscale.internal.v1.BatchStatisticsService",
            add_to_server=lambda server: batch_statistics_pb2_grpc.add_BatchStatisticsServiceServicer_to_server(self, server),
        )

    def BatchGetStatistics(self, request: batch_statistics_pb2.BatchGetStatisticsRequest, context: grpc.ServicerContext) -> Any:
        self.batches += 1
        offset = 0
        queries = []
        for metric, count, statistic, period, start, end in zip(
            request.metrics, request.dimension_counts, request.statistics, request.periods, request.start_times, request.end_times,
            strict=True,
        ):
            names, values = request.dimension_names[offset : offset + count], request.dimension_values[offset : offset + count]
            offset += count
            dimensions = dict(zip(names, values, strict=True))
            queries.append(Query(metric, dimensions, statistic, period, start, end))
        project = named_project(context.invocation_metadata())
        self.requests.extend(queries)
        self.calls.append((project, queries))
        if self.failure is not None:
            context.abort(self.failure, "the fake metrics service is failing")
        response = batch_statistics_pb2.BatchGetStatisticsResponse()
        for query in queries:
            values = self.project_values.get((project or "", query.metric), self.values.get(query.metric, []))
            newest = query.end - query.period
            response.datapoint_counts.append(len(values))
            response.start_times.extend(newest - (len(values) - 1 - i) * query.period for i in range(len(values)))
            response.values.extend(values)
            response.sample_counts.extend([1] * len(values))
        return response


class FakePolicyService(policy_pb2_grpc.PolicyServiceServicer):
    """ExecutePolicy records each request and answers adjusted, or refuses or fails as the test queued."""

    def __init__(self) -> None:
        self.requests: list[policy_pb2.ExecutePolicyRequest] = []
        self.projects: list[str | None] = []
        """The project of each request (None: it named none), in the order of `requests`."""
        self.policies: dict[str, set[str]] | None = None
        """The policy names each project has (None: every name, in every project); another name is NOT_FOUND in its call's project."""
        self.failures: list[grpc.StatusCode] = []
        self.refusals: list[str] = []
        """Reasons of the next answers that do not adjust (as a policy answers while its group resizes or cools down)."""
        self.called = threading.Event()
        self._arrived = threading.Condition()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[policy_pb2.ExecutePolicyRequest]:
        """The requests once `count` of them arrived (AssertionError after `timeout`)."""
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self.requests) >= count, timeout), f"{len(self.requests)} of {count} requests"
            return list(self.requests)

    def registration(self, _context: BuildContext) -> ServiceRegistration:
        return ServiceRegistration(
            name="policy", full_name="autoscale.v1.PolicyService",
            add_to_server=lambda server: policy_pb2_grpc.add_PolicyServiceServicer_to_server(self, server),
        )

    def ExecutePolicy(self, request: policy_pb2.ExecutePolicyRequest, context: grpc.ServicerContext) -> Any:
        project = named_project(context.invocation_metadata())
        with self._arrived:
            self.requests.append(request)
            self.projects.append(project)
            self._arrived.notify_all()
        self.called.set()
        if self.policies is not None and request.name not in self.policies.get(project or "", set()):
            context.abort(grpc.StatusCode.NOT_FOUND, request.name)
        if self.failures:
            context.abort(self.failures.pop(0), "the fake policy service is failing")
        if self.refusals:
            return policy_pb2.ExecutePolicyResponse(adjusted=False, reason=self.refusals.pop(0))
        activity = group_pb2.Activity(name="groups/web/activities/a1", cause=request.cause, from_capacity=1, to_capacity=2)
        return policy_pb2.ExecutePolicyResponse(adjusted=True, reason="capacity 1 -> 2", activity=activity)
