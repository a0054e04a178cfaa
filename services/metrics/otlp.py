"""OpenTelemetry metrics (OTLP) as the batch PutSamples stores: which data points become which samples, which attributes
become which dimensions, and which points are rejected and why. Pure: no gRPC, no storage, the time passed in.

Samples (docs/otlp.md holds the table users read):
- a gauge's and a sum's point: one sample of the metric, the value as given (`as_double`, or `as_int` as a float).
  A cumulative sum is stored as its running value, a delta sum as the delta: nothing is differentiated or added up;
- a histogram's and an exponential histogram's point: `<name>.count`, `<name>.sum` (when set), `<name>.min` and
  `<name>.max` (each only when set); buckets are not stored;
- a summary's point: `<name>.count` and `<name>.sum`; quantiles are not stored;
- a point's time is its `time_unix_nano`; 0 means the time the server received it (as an unset time in PutSamples);
  `start_time_unix_nano`, exemplars and scope attributes are not read. A point flagged "no recorded value" carries
  nothing and is skipped, neither stored nor rejected.

Dimensions of a point's samples, from the resource's and the point's attributes:
- `autoscale.group` becomes `group` and `autoscale.instance` becomes `instance` (the group service sets them on the
  instances it starts), so that OTLP samples aggregate as the PutSamples ones of the same workload;
- `autoscale.project` is ignored: a sample is always stored in the caller's project; `telemetry.sdk.*` is ignored
  too: it describes the reporting library, and would split every series when the SDK is upgraded;
- any other attribute keeps its key as it is (dots and all); a string value is taken as it is, a bool as `true` or
  `false`, an int and a double in their decimal form; arrays, maps, bytes and unset values are dropped;
- an attribute whose key is empty or longer than 255 characters, or whose value is longer than 255, is dropped;
- the same key from both: `group` and `instance` come from `autoscale.*` when the resource has them; otherwise the
  point's attribute wins over the resource's;
- at most 30 dimensions and 1024 bytes as JSON (the limits of PutSamples, services.metrics.rules): the dimensions are
  kept in this order while they fit, the rest dropped: `group`, `instance`, then `service.name`,
  `service.namespace`, `service.instance.id`, then the point's attributes by key, then the resource's by key.

Rejected points (counted in the answer's `partial_success`, the rest stored): a metric name PutSamples would refuse
(empty, over 255 characters with its suffix, surrounding spaces), a value that is not finite (NaN, infinity), a
number point with no value, a time more than MAX_FUTURE ahead of the server's clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import DataPointFlags, Metric

from autoscale.series import MAX_DIMENSION_LENGTH, MAX_DIMENSIONS, MAX_METRIC_LENGTH
from autoscale.validation import Violations, quoted
from services.metrics.domain import SeriesKey, SeriesPoints
from services.metrics.rules import MAX_DIMENSIONS_KEY_BYTES, MAX_FUTURE, MAX_POINTS_PER_BATCH, MAX_SAMPLE_VALUE

RENAMED_RESOURCE_ATTRIBUTES = {"autoscale.group": "group", "autoscale.instance": "instance"}
"""Resource attributes whose dimension has another name: what PutSamples clients (and the demo's alarms) call them."""
IGNORED_RESOURCE_ATTRIBUTES = frozenset({"autoscale.project"})
"""Resource attributes that are no dimension: the project is always the caller's."""
IGNORED_RESOURCE_PREFIXES = ("telemetry.sdk.",)
"""Prefixes of resource attributes that are no dimension: they describe the SDK, not what it measures."""
FIRST_DIMENSIONS = ("group", "instance", "service.name", "service.namespace", "service.instance.id")
"""Dimensions kept before any other when a point has more than the limits allow."""
MAX_REASONS = 5
"""Reasons of rejected points that the answer's error_message quotes (the first ones)."""

_NO_RECORDED_VALUE = DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
_FIRST_RANK = {key: rank for rank, key in enumerate(FIRST_DIMENSIONS)}

Pairs = tuple[tuple[str, str], ...]


@dataclass
class MappedExport:
    """What one Export request yields: the batch to store, and how many data points were accepted and rejected, why."""

    batch: list[SeriesPoints] = field(default_factory=list)
    accepted_points: int = 0
    """Data points whose samples are in the batch."""
    rejected_points: int = 0
    reasons: list[str] = field(default_factory=list)
    """The first MAX_REASONS reasons of rejected points."""

    @property
    def samples(self) -> int:
        """Samples in the batch (a histogram's point gives up to four)."""
        return sum(len(series.times) for series in self.batch)

    def error_message(self) -> str:
        """The answer's partial_success.error_message: empty when nothing was rejected."""
        if not self.rejected_points:
            return ""
        more = self.rejected_points - len(self.reasons)
        return f"{self.rejected_points} data points rejected: " + "; ".join(self.reasons) + (f"; and {more} more" if more > 0 else "")

    def reject(self, metric: str, reason: str) -> None:
        """Count one rejected data point of `metric`."""
        self.rejected_points += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(f"metric {quoted(metric)}: {reason}")


def attribute_value(value: AnyValue) -> str | None:
    """An attribute's value as a dimension's: strings as they are, bools `true`/`false`, numbers in decimal; None for
    arrays, maps, bytes and unset values."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        return repr(value.double_value)
    return None


def attribute_pairs(attributes: Iterable[KeyValue]) -> dict[str, str]:
    """The attributes that may be dimensions, by key (the last of a repeated key)."""
    return dimension_pairs([(attribute.key, attribute_value(attribute.value)) for attribute in attributes])


def dimension_pairs(attributes: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """Of (key, value as attribute_value gives it) pairs, those that may be dimensions: a scalar value, key and value
    within the dimension limits; by key (the last of a repeated key)."""
    return {
        key: value
        for key, value in attributes
        if value is not None and 0 < len(key) <= MAX_DIMENSION_LENGTH and len(value) <= MAX_DIMENSION_LENGTH
    }


def resource_dimensions(attributes: Iterable[KeyValue]) -> tuple[dict[str, str], dict[str, str]]:
    """A resource's attributes as (renamed, others): `group` and `instance` from `autoscale.*`, and the rest that are
    dimensions under their own keys."""
    renamed, others = {}, {}
    for key, value in attribute_pairs(attributes).items():
        if key in RENAMED_RESOURCE_ATTRIBUTES:
            renamed[RENAMED_RESOURCE_ATTRIBUTES[key]] = value
        elif key not in IGNORED_RESOURCE_ATTRIBUTES and not key.startswith(IGNORED_RESOURCE_PREFIXES):
            others[key] = value
    return renamed, others


def bounded_dimensions(renamed: dict[str, str], point: dict[str, str], resource: dict[str, str]) -> Pairs:
    """The dimensions of a point's samples, sorted by key: `renamed` over `point` over `resource` for the same key, and
    within MAX_DIMENSIONS and MAX_DIMENSIONS_KEY_BYTES, kept in the order the module's docstring gives."""
    merged = {**resource, **point, **renamed}

    def rank(key: str) -> tuple[int, int, str]:
        return (0, _FIRST_RANK[key], "") if key in _FIRST_RANK else ((1, 0, key) if key in point else (2, 0, key))

    kept: list[tuple[str, str]] = []
    size = 2  # the braces of the JSON object
    for key in sorted(merged, key=rank):
        if len(kept) == MAX_DIMENSIONS:
            break
        value = merged[key]
        # The pair's bytes in the canonical key (autoscale.series.canonical_dimensions_key), with its comma.
        cost = len(json.dumps(key, ensure_ascii=False).encode()) + len(json.dumps(value, ensure_ascii=False).encode()) + 1 + bool(kept)
        if size + cost <= MAX_DIMENSIONS_KEY_BYTES:
            kept.append((key, value))
            size += cost
    return tuple(sorted(kept))


def metric_name_problem(name: str) -> str | None:
    """Why PutSamples would refuse `name` as a metric (None when it would not)."""
    if not name:
        return "the name is required"
    if len(name) > MAX_METRIC_LENGTH or name != name.strip():
        return f"the name must be at most {MAX_METRIC_LENGTH} characters (with a suffix such as .count) without surrounding spaces"
    return None


class _Collector:
    """Samples grouped by series, in the order their series first came."""

    def __init__(self) -> None:
        self.series: dict[SeriesKey, tuple[list[float], list[float]]] = {}

    def add(self, key: SeriesKey, time: float, value: float) -> None:
        columns = self.series.get(key)
        if columns is None:
            columns = self.series[key] = ([], [])
        columns[0].append(time)
        columns[1].append(value)


def map_export_request(violations: Violations, request: ExportMetricsServiceRequest, now: float) -> MappedExport:
    """The samples of an Export request, with its rejected points counted; meaningful only without violations (the only
    one: more samples than one PutSamples may carry)."""
    mapped = MappedExport()
    collector = _Collector()
    latest_allowed = now + MAX_FUTURE
    for resource_metrics in request.resource_metrics:
        renamed, resource = resource_dimensions(resource_metrics.resource.attributes)
        # Points of one series repeat their attributes: their dimensions are worked out once per resource and set.
        dimensions_of: dict[tuple[tuple[str, str | None], ...], Pairs] = {}
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                _map_metric(mapped, collector, metric, renamed, resource, dimensions_of, now, latest_allowed)
    mapped.batch = [SeriesPoints(key, times, values) for key, (times, values) in collector.series.items()]
    samples = mapped.samples
    violations.check(
        samples <= MAX_POINTS_PER_BATCH, "resource_metrics", f"must give at most {MAX_POINTS_PER_BATCH} samples in all, got {samples}"
    )
    return mapped


def _map_metric(
    mapped: MappedExport,
    collector: _Collector,
    metric: Metric,
    renamed: dict[str, str],
    resource: dict[str, str],
    dimensions_of: dict[tuple[tuple[str, str | None], ...], Pairs],
    now: float,
    latest_allowed: float,
) -> None:
    name = metric.name
    kind = metric.WhichOneof("data")
    if kind is None:
        return
    data = getattr(metric, kind)
    if kind in ("gauge", "sum"):
        names: Sequence[str] = (name,)
    elif kind == "summary":
        names = (f"{name}.count", f"{name}.sum")
    else:
        names = (f"{name}.count", f"{name}.sum", f"{name}.min", f"{name}.max")
    problem = next(filter(None, map(metric_name_problem, names)), None)
    for point in data.data_points:
        if point.flags & _NO_RECORDED_VALUE:
            continue
        if problem is not None:
            mapped.reject(name, problem)
            continue
        stamp = point.time_unix_nano
        time = stamp / 1e9 if stamp else now
        if time > latest_allowed:
            mapped.reject(name, f"time_unix_nano must not be more than {MAX_FUTURE:g}s after the server's time")
            continue
        samples = _point_samples(kind, names, point)
        if samples is None:
            mapped.reject(name, "a number point needs a value (as_double or as_int)")
            continue
        if not all(-MAX_SAMPLE_VALUE <= value <= MAX_SAMPLE_VALUE for _, value in samples):
            mapped.reject(name, "values must be finite numbers within ±2^360 (CloudWatch's range)")
            continue
        attributes = tuple([(attribute.key, attribute_value(attribute.value)) for attribute in point.attributes])
        dimensions = dimensions_of.get(attributes)
        if dimensions is None:
            dimensions = dimensions_of[attributes] = bounded_dimensions(renamed, dimension_pairs(attributes), resource)
        for sample_name, value in samples:
            collector.add(SeriesKey(sample_name, dimensions), time, value)
        mapped.accepted_points += 1


def _point_samples(kind: str, names: Sequence[str], point: Any) -> list[tuple[str, float]] | None:
    """The (metric, value) samples of one data point; None for a number point with no value."""
    if kind in ("gauge", "sum"):
        which = point.WhichOneof("value")
        if which is None:
            return None
        return [(names[0], float(getattr(point, which)))]
    samples = [(names[0], float(point.count)), (names[1], point.sum)]
    if kind == "summary":
        return samples
    if not point.HasField("sum"):
        del samples[1]
    samples += [(names[2], point.min)] if point.HasField("min") else []
    samples += [(names[3], point.max)] if point.HasField("max") else []
    return samples
