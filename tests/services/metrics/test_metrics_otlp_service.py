"""OTLP's metrics Export over a real in-process metrics server, beside a fake alarm service, with a clock moved by hand:
stored as PutSamples stores (the same statistics, quotas and notifications), partial success as OTLP says, bad input as
INVALID_ARGUMENT, the caller's project only, listed by health and reflection."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as otlp_metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from autoscale.config import Settings
from autoscale.errors import field_violations
from autoscale.identity.caller import Role
from autoscale.identity.interceptor import PROJECT_METADATA
from autoscale.v1 import common_pb2, metrics_pb2, metrics_pb2_grpc, quota_pb2, quota_pb2_grpc
from services.metrics.server import build
from services.metrics.servicer import OTLP_SERVICE_NAME
from tests.services.metrics.fake_alarm import FakeAlarmService
from tests.support import FakeClock, running_server, stored_key

NOW = 1_700_000_030.0
MINUTE_START = 1_699_999_980.0


def _attributes(values: dict[str, str]) -> list[KeyValue]:
    return [KeyValue(key=key, value=AnyValue(string_value=value)) for key, value in values.items()]


def _export_request(*values: float, resource: dict[str, str] | None = None, name: str = "cpu_util") -> Any:
    """One gauge `name` with a point per value, at the server's receive time, under a resource."""
    points = [otlp_metrics_pb2.NumberDataPoint(as_double=value) for value in values]
    return metrics_service_pb2.ExportMetricsServiceRequest(resource_metrics=[otlp_metrics_pb2.ResourceMetrics(
        resource=Resource(attributes=_attributes(resource or {"autoscale.group": "web", "autoscale.instance": "i-1"})),
        scope_metrics=[otlp_metrics_pb2.ScopeMetrics(metrics=[
            otlp_metrics_pb2.Metric(name=name, gauge=otlp_metrics_pb2.Gauge(data_points=points)),
        ])],
    )])


def _statistics(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...] = (), **dimensions: str) -> list[tuple[float, float, int]]:
    response = metrics_pb2_grpc.MetricsServiceStub(channel).GetStatistics(metrics_pb2.GetStatisticsRequest(
        metric="cpu_util", dimensions=dimensions, statistic=common_pb2.STATISTIC_AVERAGE, period=duration_pb2.Duration(seconds=60),
        start_time=timestamp_pb2.Timestamp(seconds=int(MINUTE_START)), end_time=timestamp_pb2.Timestamp(seconds=int(MINUTE_START) + 60),
    ), metadata=metadata, timeout=5)
    return [(d.start_time.seconds, d.value, d.sample_count) for d in response.datapoints]


@pytest.fixture
def served(sqlite_url: str) -> Iterator[tuple[grpc.Channel, FakeAlarmService]]:
    alarm = FakeAlarmService()
    with running_server(
        [("metrics", build), ("alarm", alarm.registration)], Settings(database_url=sqlite_url), clock=FakeClock(NOW)
    ) as (_, channel):
        yield channel, alarm


def test_exported_gauges_are_answered_by_get_statistics_as_put_samples_ones_and_reach_the_alarm_service(served):
    channel, alarm = served
    otlp = metrics_service_pb2_grpc.MetricsServiceStub(channel)
    response = otlp.Export(_export_request(20.0, 40.0), timeout=5)
    assert not response.HasField("partial_success")
    metrics_pb2_grpc.MetricsServiceStub(channel).PutSamples(metrics_pb2.PutSamplesRequest(series=[metrics_pb2.TimeSeries(
        metric="cpu_util", dimensions={"group": "web", "instance": "i-2"}, points=[metrics_pb2.Point(value=60.0)],
    )]), timeout=5)
    assert _statistics(channel, group="web") == [(MINUTE_START, 40.0, 3)]
    assert _statistics(channel, group="web", instance="i-1") == [(MINUTE_START, 30.0, 2)]
    notified = alarm.notified_series(2)
    assert ("cpu_util", (("group", "web"), ("instance", "i-1"))) in notified


def test_points_breaking_a_rule_are_counted_as_rejected_and_the_rest_stored(served):
    channel, _ = served
    response = metrics_service_pb2_grpc.MetricsServiceStub(channel).Export(_export_request(10.0, math.nan, 30.0), timeout=5)
    assert response.partial_success.rejected_data_points == 1
    assert "finite" in response.partial_success.error_message
    assert _statistics(channel, group="web") == [(MINUTE_START, 20.0, 2)]


def test_bytes_that_are_no_export_request_are_invalid_argument_naming_the_request(served):
    channel, _ = served
    export_bytes = channel.unary_unary(f"/{OTLP_SERVICE_NAME}/Export", request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as raised:
        export_bytes(b"\x0a\x7f\x0a", timeout=5)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [violation.field for violation in field_violations(raised.value)] == ["request"]


def test_an_export_is_stored_in_the_callers_project_whatever_its_resource_says(served):
    channel, _ = served
    resource = {"autoscale.project": "other", "autoscale.group": "web"}
    metrics_service_pb2_grpc.MetricsServiceStub(channel).Export(
        _export_request(50.0, resource=resource), metadata=((PROJECT_METADATA, "mine"),), timeout=5
    )
    assert _statistics(channel, ((PROJECT_METADATA, "mine"),), group="web") == [(MINUTE_START, 50.0, 1)]
    assert _statistics(channel, ((PROJECT_METADATA, "other"),), group="web") == []


def test_an_export_beyond_the_samples_a_second_quota_is_refused_as_put_samples_is(served):
    channel, _ = served
    request = quota_pb2.UpdateQuotaRequest(quota=quota_pb2.Quota(name="projects/p1/quota", samples_per_second=2))
    request.update_mask.paths.append("samples_per_second")
    quota_pb2_grpc.QuotaServiceStub(channel).UpdateQuota(request, timeout=5)
    with pytest.raises(grpc.RpcError) as raised:
        metrics_service_pb2_grpc.MetricsServiceStub(channel).Export(
            _export_request(1.0, 2.0, 3.0), metadata=((PROJECT_METADATA, "p1"),), timeout=5
        )
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "quota samples_per_second of project p1 is 2" in (raised.value.details() or "")


def test_put_samples_and_export_share_one_samples_a_second_window(served):
    channel, _ = served
    request = quota_pb2.UpdateQuotaRequest(quota=quota_pb2.Quota(name="projects/p1/quota", samples_per_second=3))
    request.update_mask.paths.append("samples_per_second")
    quota_pb2_grpc.QuotaServiceStub(channel).UpdateQuota(request, timeout=5)
    in_p1 = ((PROJECT_METADATA, "p1"),)
    metrics_pb2_grpc.MetricsServiceStub(channel).PutSamples(metrics_pb2.PutSamplesRequest(series=[metrics_pb2.TimeSeries(
        metric="cpu_util", points=[metrics_pb2.Point(value=1.0), metrics_pb2.Point(value=2.0)],
    )]), metadata=in_p1, timeout=5)
    with pytest.raises(grpc.RpcError) as raised:
        metrics_service_pb2_grpc.MetricsServiceStub(channel).Export(_export_request(3.0, 4.0), metadata=in_p1, timeout=5)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "this second took 2 points" in (raised.value.details() or "")


def test_health_and_reflection_list_the_otlp_service(served):
    channel, _ = served
    status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=OTLP_SERVICE_NAME), timeout=5).status
    assert status == health_pb2.HealthCheckResponse.SERVING
    answers = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
    )
    listed = {service.name for answer in answers for service in answer.list_services_response.service}
    assert OTLP_SERVICE_NAME in listed


def test_with_keys_an_export_needs_a_members_token_and_lands_in_its_project(sqlite_url: str, tmp_path) -> None:
    reader, member = stored_key(sqlite_url, "p1", Role.READER), stored_key(sqlite_url, "p1", Role.MEMBER)
    other = stored_key(sqlite_url, "p2", Role.READER)
    settings = Settings(database_url=sqlite_url, auth="keys", instance_log_dir=str(tmp_path))
    with running_server([("metrics", build)], settings) as (_, channel):
        otlp = metrics_service_pb2_grpc.MetricsServiceStub(channel)
        request = _export_request(70.0, resource={"autoscale.project": "p2", "autoscale.group": "web"})
        with pytest.raises(grpc.RpcError) as anonymous:
            otlp.Export(request, timeout=5)
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as too_weak:
            otlp.Export(request, metadata=reader.metadata, timeout=5)
        assert too_weak.value.code() == grpc.StatusCode.PERMISSION_DENIED
        otlp.Export(request, metadata=member.metadata, timeout=5)
        listed = metrics_pb2_grpc.MetricsServiceStub(channel).ListMetrics(metrics_pb2.ListMetricsRequest(), metadata=reader.metadata)
        assert [(m.metric, dict(m.dimensions)) for m in listed.metrics] == [("cpu_util", {"group": "web"})]
        assert list(metrics_pb2_grpc.MetricsServiceStub(channel).ListMetrics(
            metrics_pb2.ListMetricsRequest(), metadata=other.metadata
        ).metrics) == []
