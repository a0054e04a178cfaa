"""Field rules of PutSamples, GetStatistics, BatchGetStatistics and ListMetrics, collected into `Violations`, and the domain values
they yield.

Limits (listed for users in README.md, under bad input):
- `metric`: at most 255 characters; a series' `dimensions`: at most 30, keys 1-255 characters, values at most 255,
  1024 bytes in all as JSON; at most 100000 points per PutSamples.
- a query's `period`: more than 0s, at most 31622400s (366 days), and at most MAX_PERIODS periods in the window.
- times (`start_time`, `end_time`, a point's `time`): from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z; a point's at
  most an hour ahead of the server's clock.
- a point's `value`: finite, and within ±2^360 (CloudWatch's range), so that no sum of a series' points overflows.
"""

from __future__ import annotations

from collections.abc import Container, Sized

from google.protobuf import timestamp_pb2

from autoscale.internal.v1 import batch_statistics_pb2
from autoscale.series import (
    MAX_DIMENSION_LENGTH,
    MAX_DIMENSIONS,
    MAX_METRIC_LENGTH,
    STATISTICS_BY_NUMBER,
    Statistic,
    canonical_dimensions_key,
    check_dimension,
    check_metric,
)
from autoscale.timeutil import MAX_TIME, check_duration, check_timestamp
from autoscale.v1 import common_pb2, metrics_pb2
from autoscale.validation import Violations, check_enum
from services.metrics.domain import SeriesKey, SeriesPoints, StatisticsQuery, period_count

MAX_DIMENSIONS_KEY_BYTES = 1024
"""UTF-8 bytes of a series' canonical dimensions key, which is part of a unique index (see models.series)."""
MAX_POINTS_PER_BATCH = 100_000
"""Points one PutSamples may carry: a batch is stored in one transaction, which must stay short."""

MAX_SAMPLE_VALUE = 2.0**360
"""The greatest magnitude of a point's value (CloudWatch's: its PutMetricData refuses values beyond ±2^360), so that the
sums the statistics and the stored summaries take never overflow to infinity."""
MAX_FUTURE = 3600.0
"""Seconds a point's time may lie ahead of the server's clock (clock skew, not a typo of the year)."""
MAX_PERIODS = 100_000
"""Periods one GetStatistics may span, so that an answer stays bounded."""
MAX_BATCH_QUERIES = 1000
"""Queries one BatchGetStatistics may ask."""
DEFAULT_WINDOW = 86400.0
"""Seconds before end_time an unset start_time means."""
MAX_PERIOD = 31_622_400.0
"""Seconds of a query's period at most (366 days)."""


def check_stored_dimensions(violations: Violations, field_path: str, dimensions: tuple[tuple[str, str], ...]) -> None:
    """A series' dimensions, its identity in storage: as a query's, and bounded in number and in total size."""
    characters = 0
    for key, value in dimensions:
        key_length, value_length = len(key), len(value)
        if not key or key_length > MAX_DIMENSION_LENGTH or value_length > MAX_DIMENSION_LENGTH:
            check_dimension(violations, field_path, key, value)
        characters += key_length + value_length
    if len(dimensions) > MAX_DIMENSIONS:
        violations.add(field_path, f"must hold at most {MAX_DIMENSIONS} dimensions")
    # A JSON character takes at most 6 bytes (\uXXXX), plus 6 for quotes, colon and comma per pair:
    # only sets that could exceed the bound are measured exactly (measuring every one costs a JSON dump per series).
    if 2 + 6 * (characters + len(dimensions)) > MAX_DIMENSIONS_KEY_BYTES:
        size = len(canonical_dimensions_key(dimensions).encode())
        if size > MAX_DIMENSIONS_KEY_BYTES:
            violations.add(field_path, f"must take at most {MAX_DIMENSIONS_KEY_BYTES} bytes as JSON, got {size}")


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
    low, high = -MAX_SAMPLE_VALUE, MAX_SAMPLE_VALUE
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
            if not low <= value <= high:  # also NaN
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
        if not -MAX_SAMPLE_VALUE <= value <= MAX_SAMPLE_VALUE:
            violations.add(
                f"series[{position}].points[{index}].value", f"must be a finite number within ±2^360 (CloudWatch's range), got {value}"
            )
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


def check_get_statistics(violations: Violations, request: metrics_pb2.GetStatisticsRequest, now: float) -> StatisticsQuery | None:
    """The query a GetStatistics request asks; None (with the violations recorded) when it breaks a rule."""
    before = len(violations.items)
    dimensions = request.dimensions
    # NOTE: a protobuf map's items() is the slow generic Mapping one; its keys and lookups are quick.
    pairs = tuple(sorted([(key, dimensions[key]) for key in dimensions]))
    statistic = check_query_subject(violations, "", request.metric, pairs, request.statistic)
    period = 0.0
    if not request.HasField("period"):
        violations.add("period", "is required; a duration such as 60s")
    else:
        period = check_duration(violations, "period", request.period, allow_zero=False, maximum=MAX_PERIOD)
    before_times = len(violations.items)
    end = check_timestamp(violations, "end_time", request.end_time) if request.HasField("end_time") else now
    start = check_timestamp(violations, "start_time", request.start_time) if request.HasField("start_time") else end - DEFAULT_WINDOW
    if len(violations.items) == before_times:
        check_query_window(violations, "", period, start, end)
    if len(violations.items) > before or statistic is None:
        return None
    return StatisticsQuery(request.metric, pairs, statistic, period, start, end)


def check_query_subject(
    violations: Violations, prefix: str, metric: str, dimensions: tuple[tuple[str, str], ...], statistic_number: common_pb2.Statistic
) -> Statistic | None:
    """What a statistics query aggregates, whoever asks (GetStatistics, or the alarm service's batches): the statistic
    (None when a rule is broken). `prefix` goes before each field path (`queries[3].` in a batch)."""
    if not metric or len(metric) > MAX_METRIC_LENGTH or metric != metric.strip():
        check_metric(violations, f"{prefix}metric", metric)
    for key, value in dimensions:
        if not key or len(key) > MAX_DIMENSION_LENGTH or len(value) > MAX_DIMENSION_LENGTH:
            check_dimension(violations, f"{prefix}dimensions", key, value)
    statistic = STATISTICS_BY_NUMBER.get(statistic_number)
    if statistic is None:
        check_enum(violations, f"{prefix}statistic", statistic_number, common_pb2.Statistic)
    return statistic


def check_query_window(violations: Violations, prefix: str, period: float, start: float, end: float) -> None:
    """The window of a statistics query, whose times are valid: it ends after it starts, and holds boundedly many periods."""
    if not start < end:
        violations.add(f"{prefix}start_time", "must be before end_time")
    elif period > 0 and (periods := period_count(start, end, period)) > MAX_PERIODS:
        violations.add(f"{prefix}period", f"must cut the window into at most {MAX_PERIODS} periods, got {periods}")


def check_batch_get_statistics(
    violations: Violations, request: batch_statistics_pb2.BatchGetStatisticsRequest, now: float
) -> list[StatisticsQuery]:
    """The queries of a BatchGetStatistics (columns of plain values), each checked as GetStatistics would be;
    meaningful only without violations."""
    metrics = list(request.metrics)
    count = len(metrics)
    columns: dict[str, Sized] = {
        "dimension_counts": request.dimension_counts, "statistics": request.statistics, "periods": request.periods,
        "start_times": request.start_times, "end_times": request.end_times,
    }
    for name, column in columns.items():
        violations.check(len(column) == count, name, f"must hold one entry per query ({count}), got {len(column)}")
    counts = list(request.dimension_counts)
    names, values = list(request.dimension_names), list(request.dimension_values)
    violations.check(
        len(names) == len(values) == sum(counts), "dimension_names",
        f"dimension_names and dimension_values must each hold sum(dimension_counts) = {sum(counts)} entries, "
        f"got {len(names)} and {len(values)}",
    )
    violations.check(count <= MAX_BATCH_QUERIES, "metrics", f"must hold at most {MAX_BATCH_QUERIES} queries, got {count}")
    if violations:
        return []
    queries = []
    offset = 0
    for position, (metric, dimension_count, statistic, period, start, end) in enumerate(
        zip(metrics, counts, request.statistics, request.periods, request.start_times, request.end_times, strict=True)
    ):
        pairs = tuple(sorted(zip(names[offset : offset + dimension_count], values[offset : offset + dimension_count], strict=True)))
        offset += dimension_count
        prefix = f"queries[{position}]."
        before = len(violations.items)
        checked = check_query_subject(violations, prefix, metric, pairs, statistic)
        if not 0 < period <= MAX_PERIOD:
            violations.add(f"{prefix}period", f"must be greater than 0s and at most {MAX_PERIOD:.0f}s, got {period}s")
        if _check_seconds(violations, f"{prefix}start_time", start) & _check_seconds(violations, f"{prefix}end_time", end):
            check_query_window(violations, prefix, period, start, end)
        if checked is not None and len(violations.items) == before:
            queries.append(StatisticsQuery(metric, pairs, checked, period, start, end))
    return queries


def _check_seconds(violations: Violations, field_path: str, seconds: float) -> bool:
    """A time in seconds since the epoch: from the epoch to the end of year 9999 (as a Timestamp of GetStatistics)."""
    return violations.check(
        0 <= seconds <= MAX_TIME, field_path, f"must be a time from the epoch to 9999-12-31T23:59:59Z, got {seconds}"
    )


def check_metric_filter(violations: Violations, metric: str) -> str | None:
    """ListMetrics' optional metric filter; None when unset."""
    if not metric:
        return None
    check_metric(violations, "metric", metric)
    return metric
