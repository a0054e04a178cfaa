"""Issue 16, item 3 end to end: the real OpenTelemetry SDK and its OTLP gRPC exporter report to `autoscale up`, and
GetStatistics reads the values back under the dimensions PutSamples clients use; with API keys, only with a member's key,
in that key's project."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from autoscale.identity.caller import Role
from autoscale.v1 import common_pb2, metrics_pb2, metrics_pb2_grpc
from tests.e2e.harness import autoscale, free_port, grpcurl, grpcurl_list
from tests.support import stored_key

pytestmark = pytest.mark.e2e

OTLP_METRICS = "opentelemetry.proto.collector.metrics.v1.MetricsService"

RESOURCE = {"autoscale.project": "someone-else", "autoscale.group": "web", "autoscale.instance": "i-1", "service.name": "worker"}
"""What the group service sets on its instances (and a service name), as an SDK reads it from OTEL_RESOURCE_ATTRIBUTES."""


@contextmanager
def _meter_provider(address: str | None, headers: dict[str, str] | None = None) -> Iterator[MeterProvider]:
    """A MeterProvider whose OTLP gRPC exporter reports to `address` (None: where the OTEL_EXPORTER_OTLP_METRICS_*
    environment says) only when flushed."""
    if address is None:
        exporter = OTLPMetricExporter()
    else:
        exporter = OTLPMetricExporter(endpoint=f"http://{address}", insecure=True, headers=headers, timeout=10)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(resource=Resource.create(RESOURCE), metric_readers=[reader])
    try:
        yield provider
    finally:
        provider.shutdown()


def _record(provider: MeterProvider) -> None:
    """A gauge, a counter and a histogram, then an export (force_flush returns once the Export call answered)."""
    meter = provider.get_meter("test")
    meter.create_gauge("cpu_util").set(42.0, {"core": "0"})
    meter.create_counter("requests").add(5)
    histogram = meter.create_histogram("latency")
    histogram.record(1.0)
    histogram.record(3.0)
    assert provider.force_flush(timeout_millis=10_000)


def _maximum(channel: grpc.Channel, metric: str, dimensions: dict[str, str], metadata: Sequence[tuple[str, str]] = ()) -> float | None:
    """The highest value of `metric` over the 20 minutes around now; None when there is none."""
    now = int(time.time())
    response = metrics_pb2_grpc.MetricsServiceStub(channel).GetStatistics(metrics_pb2.GetStatisticsRequest(
        metric=metric, dimensions=dimensions, statistic=common_pb2.STATISTIC_MAXIMUM, period=duration_pb2.Duration(seconds=1200),
        start_time=timestamp_pb2.Timestamp(seconds=now - 600), end_time=timestamp_pb2.Timestamp(seconds=now + 600),
    ), metadata=metadata, timeout=10)
    return max((datapoint.value for datapoint in response.datapoints), default=None)


def _up(tmp_path: Path, *extra: str) -> tuple[list[str], str]:
    address = f"127.0.0.1:{free_port()}"
    return ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), *extra], address


def test_the_otel_sdk_exporter_reports_gauges_sums_and_histograms_read_back_by_group_and_instance(tmp_path: Path) -> None:
    args, address = _up(tmp_path)
    with autoscale(args, tmp_path / "up.log", address), _meter_provider(address) as provider, grpc.insecure_channel(address) as channel:
        _record(provider)
        web = {"group": "web", "instance": "i-1"}
        assert _maximum(channel, "cpu_util", {**web, "core": "0", "service.name": "worker"}) == 42.0
        assert _maximum(channel, "requests", web) == 5.0
        assert [_maximum(channel, f"latency.{part}", web) for part in ("count", "sum", "min", "max")] == [2.0, 4.0, 1.0, 3.0]


def test_reflection_lists_the_otlp_service_and_grpcurl_exports_through_it_with_no_proto_at_hand(tmp_path: Path) -> None:
    args, address = _up(tmp_path)
    with autoscale(args, tmp_path / "up.log", address), grpc.insecure_channel(address) as channel:
        assert OTLP_METRICS in grpcurl_list(address)
        answer = grpcurl(address, f"{OTLP_METRICS}/Export", {"resourceMetrics": [{
            "resource": {"attributes": [{"key": "autoscale.group", "value": {"stringValue": "web"}}]},
            "scopeMetrics": [{"metrics": [{"name": "cpu_util", "gauge": {"dataPoints": [{"asDouble": 12.5}, {"asDouble": "NaN"}]}}]}],
        }]})
        assert answer["partial_success"]["rejected_data_points"] == "1"
        assert _maximum(channel, "cpu_util", {"group": "web"}) == 12.5


def test_with_api_keys_the_exporter_needs_a_members_key_and_reports_into_its_project(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    database_url = f"sqlite:///{tmp_path / 'up.db'}"
    member, reader = stored_key(database_url, "p1", Role.MEMBER), stored_key(database_url, "p1", Role.READER)
    # Made before the start: a key made while serving is known within a quarter second, not at once (key_authenticator).
    other = stored_key(database_url, "p2", Role.READER)
    args, address = _up(tmp_path, "--auth", "keys")
    with autoscale(args, tmp_path / "up.log", address), grpc.insecure_channel(address) as channel:
        with _meter_provider(address) as anonymous:
            anonymous.get_meter("test").create_gauge("refused").set(1.0)
            anonymous.force_flush(timeout_millis=10_000)
        # NOTE: the SDK's force_flush answers True whatever the export's outcome; the exporter logs the refusal.
        assert "StatusCode.UNAUTHENTICATED" in caplog.text
        # The member's exporter is configured as README.md's "Reporting with OpenTelemetry" tells users to.
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", f"http://{address}")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_INSECURE", "true")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS", f"authorization=Bearer%20{member.token}")
        with _meter_provider(None) as provider:
            _record(provider)
        assert _maximum(channel, "cpu_util", {"group": "web", "instance": "i-1"}, reader.metadata) == 42.0
        assert _maximum(channel, "refused", {}, reader.metadata) is None
        assert _maximum(channel, "cpu_util", {"group": "web"}, other.metadata) is None

