"""The OTLP mapping (services.metrics.otlp): which data points become which samples under which dimensions, and which are
rejected and why. Pure: messages in, batches out."""

from __future__ import annotations

import math
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from autoscale.errors import InvalidArgument
from autoscale.series import canonical_dimensions_key
from autoscale.validation import Violations
from services.metrics import otlp
from services.metrics.rules import MAX_POINTS_PER_BATCH

NOW = 1_700_000_000.0
AT = 1_699_999_990_500_000_000
"""A point's time_unix_nano: NOW - 9.5 s."""
AT_SECONDS = 1_699_999_990.5


def _attributes(values: dict[str, Any]) -> list[KeyValue]:
    """Attributes of any value kind: str, bool, int, float, bytes, or a list (an array)."""
    attributes = []
    for key, value in values.items():
        if isinstance(value, bool):
            any_value = AnyValue(bool_value=value)
        elif isinstance(value, int):
            any_value = AnyValue(int_value=value)
        elif isinstance(value, float):
            any_value = AnyValue(double_value=value)
        elif isinstance(value, bytes):
            any_value = AnyValue(bytes_value=value)
        elif isinstance(value, list):
            any_value = AnyValue(array_value=ArrayValue(values=[AnyValue(string_value=item) for item in value]))
        else:
            any_value = AnyValue(string_value=value)
        attributes.append(KeyValue(key=key, value=any_value))
    return attributes


def _request(*metrics: metrics_pb2.Metric, resource: dict[str, Any] | None = None) -> ExportMetricsServiceRequest:
    return ExportMetricsServiceRequest(
        resource_metrics=[
            metrics_pb2.ResourceMetrics(
                resource=Resource(attributes=_attributes(resource or {})), scope_metrics=[metrics_pb2.ScopeMetrics(metrics=metrics)]
            )
        ]
    )


def _number(
    value: float | int | None, time: int = AT, attributes: dict[str, Any] | None = None, flags: int = 0
) -> metrics_pb2.NumberDataPoint:
    point = metrics_pb2.NumberDataPoint(time_unix_nano=time, attributes=_attributes(attributes or {}), flags=flags)
    if isinstance(value, int):
        point.as_int = value
    elif value is not None:
        point.as_double = value
    return point


def _gauge(name: str, *points: metrics_pb2.NumberDataPoint) -> metrics_pb2.Metric:
    return metrics_pb2.Metric(name=name, gauge=metrics_pb2.Gauge(data_points=points))


def _mapped(request: ExportMetricsServiceRequest) -> otlp.MappedExport:
    violations = Violations()
    mapped = otlp.map_export_request(violations, request, NOW)
    violations.raise_if_any()
    return mapped


def _samples(mapped: otlp.MappedExport) -> list[tuple[str, dict[str, str], list[tuple[float, float]]]]:
    return [(s.key.metric, dict(s.key.dimensions), list(zip(s.times, s.values, strict=True))) for s in mapped.batch]


CUMULATIVE = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
DELTA = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        pytest.param(_gauge("cpu", _number(42.5)), [("cpu", [(AT_SECONDS, 42.5)])], id="gauge-double"),
        pytest.param(_gauge("cpu", _number(7)), [("cpu", [(AT_SECONDS, 7.0)])], id="gauge-int"),
        pytest.param(_gauge("cpu", _number(1.0, time=0)), [("cpu", [(NOW, 1.0)])], id="gauge-no-time-is-received-time"),
        pytest.param(
            metrics_pb2.Metric(name="requests", sum=metrics_pb2.Sum(
                data_points=[_number(120)], aggregation_temporality=CUMULATIVE, is_monotonic=True,
            )),
            [("requests", [(AT_SECONDS, 120.0)])], id="cumulative-sum-as-its-running-value",
        ),
        pytest.param(
            metrics_pb2.Metric(name="requests", sum=metrics_pb2.Sum(data_points=[_number(3)], aggregation_temporality=DELTA)),
            [("requests", [(AT_SECONDS, 3.0)])], id="delta-sum-as-the-delta",
        ),
        pytest.param(
            metrics_pb2.Metric(name="latency", histogram=metrics_pb2.Histogram(data_points=[metrics_pb2.HistogramDataPoint(
                time_unix_nano=AT, count=4, sum=10.0, min=0.5, max=6.0, bucket_counts=[1, 3], explicit_bounds=[1.0],
            )])),
            [("latency.count", [(AT_SECONDS, 4.0)]), ("latency.sum", [(AT_SECONDS, 10.0)]),
             ("latency.min", [(AT_SECONDS, 0.5)]), ("latency.max", [(AT_SECONDS, 6.0)])],
            id="histogram-count-sum-min-max",
        ),
        pytest.param(
            metrics_pb2.Metric(name="latency", histogram=metrics_pb2.Histogram(data_points=[
                metrics_pb2.HistogramDataPoint(time_unix_nano=AT, count=4),
            ])),
            [("latency.count", [(AT_SECONDS, 4.0)])], id="histogram-without-sum-min-max-gives-its-count-alone",
        ),
        pytest.param(
            metrics_pb2.Metric(name="size", exponential_histogram=metrics_pb2.ExponentialHistogram(data_points=[
                metrics_pb2.ExponentialHistogramDataPoint(time_unix_nano=AT, count=3, sum=9.0, min=1.0, max=5.0, scale=2),
            ])),
            [("size.count", [(AT_SECONDS, 3.0)]), ("size.sum", [(AT_SECONDS, 9.0)]),
             ("size.min", [(AT_SECONDS, 1.0)]), ("size.max", [(AT_SECONDS, 5.0)])],
            id="exponential-histogram",
        ),
        pytest.param(
            metrics_pb2.Metric(name="rtt", summary=metrics_pb2.Summary(data_points=[metrics_pb2.SummaryDataPoint(
                time_unix_nano=AT, count=2, sum=3.0,
                quantile_values=[metrics_pb2.SummaryDataPoint.ValueAtQuantile(quantile=0.5, value=1.5)],
            )])),
            [("rtt.count", [(AT_SECONDS, 2.0)]), ("rtt.sum", [(AT_SECONDS, 3.0)])], id="summary-count-and-sum",
        ),
        pytest.param(_gauge("cpu", _number(None, flags=1)), [], id="no-recorded-value-is-skipped"),
        pytest.param(metrics_pb2.Metric(name="empty"), [], id="metric-without-data-gives-nothing"),
    ],
)
def test_each_kind_of_metric_becomes_its_samples(metric, expected):
    mapped = _mapped(_request(metric))
    assert [(name, points) for name, _, points in _samples(mapped)] == expected
    assert mapped.rejected_points == 0
    assert mapped.error_message() == ""


def test_points_of_one_series_are_stored_together_and_series_apart():
    mapped = _mapped(_request(_gauge(
        "cpu", _number(1.0, AT, {"core": "0"}), _number(2.0, AT, {"core": "1"}), _number(3.0, AT + 10**9, {"core": "0"}),
    )))
    assert _samples(mapped) == [
        ("cpu", {"core": "0"}, [(AT_SECONDS, 1.0), (AT_SECONDS + 1, 3.0)]),
        ("cpu", {"core": "1"}, [(AT_SECONDS, 2.0)]),
    ]
    assert mapped.accepted_points == 3


def test_the_group_services_resource_attributes_give_the_dimensions_put_samples_clients_send():
    resource = {
        "autoscale.project": "someone-else", "autoscale.group": "web", "autoscale.instance": "i-7",
        "service.instance.id": "i-7", "service.name": "worker",
        "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.language": "python", "telemetry.sdk.version": "1.45.2",
    }
    [(_, dimensions, _)] = _samples(_mapped(_request(_gauge("cpu_util", _number(50.0)), resource=resource)))
    assert dimensions == {"group": "web", "instance": "i-7", "service.instance.id": "i-7", "service.name": "worker"}


@pytest.mark.parametrize(
    ("resource", "point", "expected"),
    [
        pytest.param({"host": "a"}, {"core": "0"}, {"host": "a", "core": "0"}, id="resource-and-point-merge"),
        pytest.param({"zone": "a"}, {"zone": "b"}, {"zone": "b"}, id="point-wins-over-resource"),
        pytest.param({"autoscale.group": "web"}, {"group": "fake"}, {"group": "web"}, id="autoscale-group-wins-over-point"),
        pytest.param({}, {"group": "web"}, {"group": "web"}, id="plain-group-attribute-is-kept"),
        pytest.param(
            {}, {"s": "x", "b": True, "f": False, "i": -3, "d": 0.25, "bytes": b"\x00", "list": ["a"]},
            {"s": "x", "b": "true", "f": "false", "i": "-3", "d": "0.25"}, id="scalar-values-as-strings-others-dropped",
        ),
        pytest.param(
            {"long": "v" * 256}, {"k" * 256: "v", "": "empty", "ok": "v" * 255},
            {"ok": "v" * 255}, id="keys-and-values-beyond-the-limits-dropped",
        ),
    ],
)
def test_attributes_become_dimensions(resource, point, expected):
    [(_, dimensions, _)] = _samples(_mapped(_request(_gauge("cpu", _number(1.0, attributes=point)), resource=resource)))
    assert dimensions == expected


def test_more_attributes_than_dimensions_allowed_keep_the_well_known_then_the_points_then_the_resources():
    resource = {"autoscale.group": "web", "service.name": "svc", **{f"r{index:02d}": "x" for index in range(20)}}
    point = {f"p{index:02d}": "x" for index in range(20)}
    [(_, dimensions, _)] = _samples(_mapped(_request(_gauge("cpu", _number(1.0, attributes=point)), resource=resource)))
    assert len(dimensions) == 30
    assert list(dimensions) == sorted(dimensions)
    assert set(dimensions) == {"group", "service.name", *point, *(f"r{index:02d}" for index in range(8))}


def test_dimensions_stay_within_the_bytes_of_a_stored_series():
    point = {f"k{index:02d}": "v" * 200 for index in range(10)}
    [(_, dimensions, _)] = _samples(_mapped(_request(_gauge("cpu", _number(1.0, attributes=point)), resource={"autoscale.group": "web"})))
    # Each pair takes 212 bytes as JSON: with the group's 15, four fit in 1024.
    assert dimensions == {"group": "web", **{f"k{index:02d}": "v" * 200 for index in range(4)}}
    assert len(canonical_dimensions_key(dimensions).encode()) <= 1024


@pytest.mark.parametrize(
    ("metric", "reason"),
    [
        pytest.param(_gauge("", _number(1.0)), "the name is required", id="empty-name"),
        pytest.param(_gauge(" cpu", _number(1.0)), "without surrounding spaces", id="spaces-around-name"),
        pytest.param(_gauge("c" * 256, _number(1.0)), "at most 255 characters", id="name-too-long"),
        pytest.param(
            metrics_pb2.Metric(name="h" * 250, histogram=metrics_pb2.Histogram(data_points=[metrics_pb2.HistogramDataPoint(count=1)])),
            "with a suffix such as .count", id="name-too-long-with-its-suffix",
        ),
        pytest.param(_gauge("cpu", _number(math.nan)), "finite", id="nan"),
        pytest.param(_gauge("cpu", _number(math.inf)), "finite", id="infinity"),
        pytest.param(_gauge("cpu", _number(-1e308)), "within ±2^360", id="beyond-cloudwatchs-range"),
        pytest.param(
            metrics_pb2.Metric(name="h", histogram=metrics_pb2.Histogram(data_points=[
                metrics_pb2.HistogramDataPoint(count=1, sum=math.nan),
            ])),
            "finite", id="histogram-sum-nan",
        ),
        pytest.param(_gauge("cpu", _number(None)), "needs a value", id="number-without-value"),
        pytest.param(_gauge("cpu", _number(1.0, time=int((NOW + 3601) * 1e9))), "after the server's time", id="time-too-far-ahead"),
    ],
)
def test_a_point_breaking_a_rule_is_rejected_with_its_reason(metric, reason):
    mapped = _mapped(_request(metric))
    assert mapped.batch == []
    assert mapped.rejected_points == 1
    assert mapped.error_message().startswith("1 data points rejected: metric ")
    assert reason in mapped.error_message()


def test_rejected_points_are_counted_and_the_valid_rest_kept_with_the_first_reasons_quoted():
    points = [_number(math.nan) for _ in range(7)] + [_number(1.0), _number(2.0, AT + 1)]
    mapped = _mapped(_request(_gauge("cpu", *points)))
    assert (mapped.accepted_points, mapped.rejected_points) == (2, 7)
    assert _samples(mapped) == [("cpu", {}, [(AT_SECONDS, 1.0), ((AT + 1) / 1e9, 2.0)])]
    message = mapped.error_message()
    assert message.count("finite") == otlp.MAX_REASONS
    assert message.endswith("; and 2 more")


def test_more_samples_than_one_batch_may_hold_is_invalid_naming_the_field():
    request = _request(_gauge("cpu", *[_number(float(index)) for index in range(MAX_POINTS_PER_BATCH + 1)]))
    violations = Violations()
    otlp.map_export_request(violations, request, NOW)
    with pytest.raises(InvalidArgument) as raised:
        violations.raise_if_any()
    assert [violation.field for violation in raised.value.violations] == ["resource_metrics"]


def test_an_empty_request_gives_nothing_and_rejects_nothing():
    mapped = _mapped(ExportMetricsServiceRequest())
    assert (mapped.batch, mapped.accepted_points, mapped.rejected_points) == ([], 0, 0)
