"""What the metrics and the alarm service both mean by a series and its statistics: one definition of each.

A series is a metric and its dimensions; the metrics service identifies it by the metric
and the canonical dimensions key, and tells the alarm service of series in that form.
Statistics are computed per period, periods aligned to multiples of their length since
the epoch. The limits of names hold wherever a series or a rule names them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from enum import StrEnum

from autoscale.v1 import common_pb2
from autoscale.validation import Violations, quoted

MAX_METRIC_LENGTH = 255
"""Characters of a metric name."""
MAX_DIMENSION_LENGTH = 255
"""Characters of a dimension's name and of its value."""
MAX_DIMENSIONS = 30
"""Dimensions of one series or rule (as CloudWatch)."""


class Statistic(StrEnum):
    """What is computed over the points of one period (as CloudWatch names them); the value is stored."""

    AVERAGE = "average"
    MINIMUM = "minimum"
    MAXIMUM = "maximum"
    SUM = "sum"
    SAMPLE_COUNT = "sample_count"


STATISTICS_BY_NUMBER: dict[int, Statistic] = {
    common_pb2.STATISTIC_AVERAGE: Statistic.AVERAGE,
    common_pb2.STATISTIC_MINIMUM: Statistic.MINIMUM,
    common_pb2.STATISTIC_MAXIMUM: Statistic.MAXIMUM,
    common_pb2.STATISTIC_SUM: Statistic.SUM,
    common_pb2.STATISTIC_SAMPLE_COUNT: Statistic.SAMPLE_COUNT,
}
"""Each autoscale.v1.Statistic number's statistic."""

STATISTIC_NUMBERS: dict[Statistic, int] = {statistic: number for number, statistic in STATISTICS_BY_NUMBER.items()}
"""Each statistic's autoscale.v1.Statistic number."""


def bucket_index(time: float, period: float) -> int:
    """Which period `time` falls in: floor(time / period), counting periods from the epoch."""
    return math.floor(time / period)


def bucket_start(time: float, period: float) -> float:
    """Start of the period `time` falls in; periods are aligned to multiples of `period` since the epoch."""
    return bucket_index(time, period) * period


def check_metric(violations: Violations, field_path: str, metric: str) -> None:
    """A metric name: required, bounded, no surrounding whitespace."""
    if not metric:
        violations.add(field_path, "is required")
    elif len(metric) > MAX_METRIC_LENGTH or metric != metric.strip():
        violations.add(field_path, f"must be at most {MAX_METRIC_LENGTH} characters without surrounding spaces")


def check_dimension(violations: Violations, field_path: str, name: str, value: str) -> None:
    """One dimension: a non-empty name; name and value bounded."""
    violations.check(
        bool(name) and len(name) <= MAX_DIMENSION_LENGTH and len(value) <= MAX_DIMENSION_LENGTH,
        field_path,
        f"keys must be non-empty and keys and values at most {MAX_DIMENSION_LENGTH} characters (key {quoted(name)})",
    )

Pairs = tuple[tuple[str, str], ...]
"""Dimensions as (name, value) pairs sorted by name."""


def canonical_dimensions_key(dimensions: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """One string per set of dimensions, whatever the order they came in: the JSON object with sorted keys.

    It identifies a series in storage, orders series after their metric, and is
    read back into the dimensions, so it must never change for the same dimensions
    (hence fixed separators). Its UTF-8 bytes order as its code points do, so byte
    order (SQLite BINARY, PostgreSQL "C") is the canonical order.
    """
    return json.dumps(dict(dimensions), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dimensions_from_key(dimensions_key: str) -> Pairs:
    """The sorted dimension pairs a canonical key stands for; ValueError when it is no JSON object of strings."""
    try:
        parsed = json.loads(dimensions_key)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(parsed, dict) or not all(isinstance(value, str) for value in parsed.values()):
        raise ValueError("not a JSON object of strings")
    return tuple(sorted(parsed.items()))
