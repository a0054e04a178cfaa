"""Field rules of PutSamples, GetStatistics and ListMetrics, collected into `Violations`, and the domain values they yield."""

from __future__ import annotations

import math
from collections.abc import Container, Mapping

from google.protobuf import timestamp_pb2

from autoscale.timeutil import check_duration, from_duration, from_timestamp
from autoscale.v1 import common_pb2, metrics_pb2
from autoscale.validation import Violations, check_enum, check_finite
from services.metrics import messages
from services.metrics.domain import SeriesKey, SeriesPoints, StatisticsQuery, canonical_dimensions_key, period_count

MAX_METRIC_LENGTH = 255
MAX_DIMENSION_LENGTH = 255
MAX_DIMENSIONS = 30
"""Dimensions of one series (as CloudWatch)."""
MAX_DIMENSIONS_KEY_BYTES = 1024
"""UTF-8 bytes of a series' canonical dimensions key, which is part of a unique index (see models.series)."""
MAX_POINTS_PER_BATCH = 100_000
"""Points one PutSamples may carry: a batch is stored in one transaction, which must stay short."""
MAX_FUTURE = 3600.0
"""Seconds a point's time may lie ahead of the server's clock (clock skew, not a typo of the year)."""
MAX_PERIODS = 100_000
"""Periods one GetStatistics may span, so that an answer stays bounded."""
MAX_BATCH_QUERIES = 1000
"""Queries one BatchGetStatistics may ask."""
DEFAULT_WINDOW = 86400.0
"""Seconds before end_time an unset start_time means."""


def check_metric(violations: Violations, field_path: str, metric: str) -> None:
    """A metric name: required, bounded, no surrounding whitespace."""
    if not metric:
        violations.add(field_path, "is required")
    elif len(metric) > MAX_METRIC_LENGTH or metric != metric.strip():
        violations.add(field_path, f"must be at most {MAX_METRIC_LENGTH} characters without surrounding spaces")


def check_dimensions(violations: Violations, field_path: str, dimensions: Mapping[str, str]) -> None:
    """A query's dimensions: non-empty keys; keys and values bounded (too many simply match no series)."""
    for key, value in dimensions.items():
        _check_dimension(violations, field_path, key, value)


def check_stored_dimensions(violations: Violations, field_path: str, dimensions: tuple[tuple[str, str], ...]) -> None:
    """A series' dimensions, its identity in storage: as a query's, and bounded in number and in total size."""
    characters = 0
    for key, value in dimensions:
        key_length, value_length = len(key), len(value)
        if not key or key_length > MAX_DIMENSION_LENGTH or value_length > MAX_DIMENSION_LENGTH:
            _check_dimension(violations, field_path, key, value)
        characters += key_length + value_length
    if len(dimensions) > MAX_DIMENSIONS:
        violations.add(field_path, f"must hold at most {MAX_DIMENSIONS} dimensions")
    # A JSON character takes at most 6 bytes (\uXXXX), plus 6 for quotes, colon and comma per pair:
    # only sets that could exceed the bound are measured exactly (measuring every one costs a JSON dump per series).
    if 2 + 6 * (characters + len(dimensions)) > MAX_DIMENSIONS_KEY_BYTES:
        size = len(canonical_dimensions_key(dimensions).encode())
        if size > MAX_DIMENSIONS_KEY_BYTES:
            violations.add(field_path, f"must take at most {MAX_DIMENSIONS_KEY_BYTES} bytes as JSON, got {size}")


def _check_dimension(violations: Violations, field_path: str, key: str, value: str) -> None:
    violations.check(
        bool(key) and len(key) <= MAX_DIMENSION_LENGTH and len(value) <= MAX_DIMENSION_LENGTH,
        field_path,
        f"keys must be non-empty and keys and values at most {MAX_DIMENSION_LENGTH} characters (key {key[:MAX_DIMENSION_LENGTH]!r})",
    )


def check_timestamp(violations: Violations, field_path: str, stamp: timestamp_pb2.Timestamp) -> float:
    """A set Timestamp that is a valid time at or after the epoch; returns it in seconds."""
    violations.check(
        stamp.seconds >= 0 and 0 <= stamp.nanos < 1_000_000_000,
        field_path,
        f"must be a valid time at or after 1970-01-01T00:00:00Z, got seconds={stamp.seconds} nanos={stamp.nanos}",
    )
    return from_timestamp(stamp)


def check_put_samples(
    violations: Violations, request: metrics_pb2.PutSamplesRequest, now: float, known: Container[SeriesKey] = frozenset()
) -> list[SeriesPoints]:
    """The batch a PutSamples request carries; a point without a time gets `now` (the time the server received it).

    The list is only meaningful when no violation was recorded. `known` holds series
    keys stored before (so valid): their dimensions are not measured again.

    NOTE: this runs for every point ingested. The common case takes a quick path that
    builds no field path and no message, and constructs tuples without their Python-level
    __new__; a series in which anything looks wrong is checked again point by point.
    """
    if not request.series:
        violations.add("series", "must contain at least one series")
    latest_allowed = now + MAX_FUTURE
    total_points = 0
    batch = []
    isfinite = math.isfinite
    new_tuple = tuple.__new__
    for position, series in enumerate(request.series):
        metric = series.metric
        dimensions = series.dimensions
        # NOTE: a protobuf map's items() is the slow generic Mapping one; keys and lookups are quick.
        key = new_tuple(SeriesKey, (metric, tuple(sorted([(name, dimensions[name]) for name in dimensions]))))
        if not metric or len(metric) > MAX_METRIC_LENGTH or metric != metric.strip():
            check_metric(violations, f"series[{position}].metric", metric)
        if key not in known:
            check_stored_dimensions(violations, f"series[{position}].dimensions", key.dimensions)
        times: list[float] = []
        values: list[float] = []
        suspect = False
        for point in series.points:
            stamp = point.time
            seconds, nanos, value = stamp.seconds, stamp.nanos, point.value
            if seconds > 0 and 0 <= nanos < 1_000_000_000:
                time = seconds + nanos / 1e9
                if time > latest_allowed:
                    suspect = True
            elif seconds == 0 and nanos == 0 and not point.HasField("time"):
                time = now
            else:
                suspect = True
                time = now
            if not isfinite(value):
                suspect = True
            times.append(time)
            values.append(value)
        if suspect or not times:
            times, values = _check_points(violations, position, series, now, latest_allowed)
        total_points += len(times)
        batch.append(new_tuple(SeriesPoints, (key, times, values)))
    if total_points > MAX_POINTS_PER_BATCH:
        violations.add("series", f"must hold at most {MAX_POINTS_PER_BATCH} points in all, got {total_points}")
    return batch


def _check_points(
    violations: Violations, position: int, series: metrics_pb2.TimeSeries, now: float, latest_allowed: float
) -> tuple[list[float], list[float]]:
    """The times and values of a series' points, each checked with its field path (the slow path of check_put_samples)."""
    if not series.points:
        violations.add(f"series[{position}].points", "must contain at least one point")
    times, values = [], []
    for index, point in enumerate(series.points):
        value = point.value
        time = now
        if point.HasField("time"):
            time = _check_point_time(violations, position, index, point.time, latest_allowed)
        if not math.isfinite(value):
            check_finite(violations, f"series[{position}].points[{index}].value", value)
        times.append(time)
        values.append(value)
    return times, values


def _check_point_time(
    violations: Violations, position: int, index: int, stamp: timestamp_pb2.Timestamp, latest_allowed: float
) -> float:
    seconds, nanos = stamp.seconds, stamp.nanos
    time = seconds + nanos / 1e9
    if seconds < 0 or not 0 <= nanos < 1_000_000_000:
        return check_timestamp(violations, f"series[{position}].points[{index}].time", stamp)
    if time > latest_allowed:
        violations.add(f"series[{position}].points[{index}].time", f"must not be more than {MAX_FUTURE:g}s after the server's time")
    return time


def check_get_statistics(
    violations: Violations, request: metrics_pb2.GetStatisticsRequest, now: float, prefix: str = ""
) -> StatisticsQuery | None:
    """The query a GetStatistics request asks; None (with the violations recorded) when it breaks a rule.

    `prefix` is prepended to every field path (e.g. `requests[3].` in a batch).
    """
    query = _plainly_valid_query(request, now)
    if query is not None:
        return query
    before = len(violations.items)
    check_metric(violations, f"{prefix}metric", request.metric)
    check_dimensions(violations, f"{prefix}dimensions", request.dimensions)
    check_enum(violations, f"{prefix}statistic", request.statistic, common_pb2.Statistic)
    period = 0.0
    if not request.HasField("period"):
        violations.add(f"{prefix}period", "is required; a duration such as 60s")
    else:
        period = check_duration(violations, f"{prefix}period", request.period, allow_zero=False)
    before_window = len(violations.items)
    end = check_timestamp(violations, f"{prefix}end_time", request.end_time) if request.HasField("end_time") else now
    start = (
        check_timestamp(violations, f"{prefix}start_time", request.start_time) if request.HasField("start_time") else end - DEFAULT_WINDOW
    )
    # The window's own rules only mean something between valid times.
    window_valid = len(violations.items) == before_window and violations.check(
        start < end, f"{prefix}start_time", "must be before end_time"
    )
    if window_valid and period > 0:
        periods = period_count(start, end, period)
        violations.check(
            periods <= MAX_PERIODS, f"{prefix}period", f"must cut the window into at most {MAX_PERIODS} periods, got {periods}"
        )
    if len(violations.items) > before:
        return None
    return StatisticsQuery(
        metric=request.metric,
        dimensions=tuple(sorted(request.dimensions.items())),
        statistic=messages.STATISTICS[request.statistic],
        period=period,
        start=start,
        end=end,
    )


def _plainly_valid_query(request: metrics_pb2.GetStatisticsRequest, now: float) -> StatisticsQuery | None:
    """The query of a request that plainly keeps every rule of `check_get_statistics`; None when any may be broken.

    NOTE: a sweep validates a query per alarm; the rules' field paths and messages, built for
    every field of every query, cost as much as the rest of the check.
    """
    metric, statistic = request.metric, messages.STATISTICS.get(request.statistic)
    if not metric or len(metric) > MAX_METRIC_LENGTH or metric != metric.strip() or statistic is None or not request.HasField("period"):
        return None
    # NOTE: a protobuf map's items() is the slow generic Mapping one; its keys and lookups are quick.
    held = request.dimensions
    dimensions = tuple(sorted([(key, held[key]) for key in held]))
    for key, value in dimensions:
        if not key or len(key) > MAX_DIMENSION_LENGTH or len(value) > MAX_DIMENSION_LENGTH:
            return None
    duration = request.period
    period = from_duration(duration)
    if duration.seconds < 0 or duration.nanos < 0 or period <= 0:
        return None
    end = _plain_time(request.end_time) if request.HasField("end_time") else now
    if end is None:
        return None
    start = _plain_time(request.start_time) if request.HasField("start_time") else end - DEFAULT_WINDOW
    if start is None:
        return None
    if not start < end or period_count(start, end, period) > MAX_PERIODS:
        return None
    return StatisticsQuery(metric=metric, dimensions=dimensions, statistic=statistic, period=period, start=start, end=end)


def _plain_time(stamp: timestamp_pb2.Timestamp) -> float | None:
    """A Timestamp's seconds when it keeps check_timestamp's rule; None otherwise."""
    return from_timestamp(stamp) if stamp.seconds >= 0 and 0 <= stamp.nanos < 1_000_000_000 else None


def check_batch_get_statistics(
    violations: Violations, request: metrics_pb2.BatchGetStatisticsRequest, now: float
) -> list[StatisticsQuery | None]:
    """The queries of a BatchGetStatistics, each checked as GetStatistics would be."""
    count = len(request.requests)
    violations.check(count <= MAX_BATCH_QUERIES, "requests", f"must hold at most {MAX_BATCH_QUERIES} queries, got {count}")
    return [check_get_statistics(violations, query, now, f"requests[{position}].") for position, query in enumerate(request.requests)]


def check_metric_filter(violations: Violations, metric: str) -> str | None:
    """ListMetrics' optional metric filter; None when unset."""
    if not metric:
        return None
    check_metric(violations, "metric", metric)
    return metric
