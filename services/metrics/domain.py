"""The metrics service's domain: series keys, statistics and the maths of periods.

Pure values and functions with no I/O; times are seconds since the epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from autoscale.series import Statistic, canonical_dimensions_key


class SeriesKey(NamedTuple):
    """What identifies a series: its metric and its dimensions (sorted pairs, so equal sets compare equal).

    A tuple, as ingest hashes one per series of every batch.
    """

    metric: str
    dimensions: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, metric: str, dimensions: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> SeriesKey:
        """The key of `metric` with `dimensions` in any order."""
        if hasattr(dimensions, "keys"):
            # NOTE: a protobuf map's items() is the slow generic Mapping one; keys and lookups are quick (ingest's hot path).
            return cls(metric, tuple(sorted([(key, dimensions[key]) for key in dimensions])))  # type: ignore[index]
        return cls(metric, tuple(sorted(dimensions)))

    @property
    def dimensions_key(self) -> str:
        """The canonical string of the dimensions (see canonical_dimensions_key)."""
        return canonical_dimensions_key(self.dimensions)

    def dimension_map(self) -> dict[str, str]:
        """The dimensions as a dict."""
        return dict(self.dimensions)


class SeriesPoints(NamedTuple):
    """Points of one series, as a PutSamples batch holds them: their times and their values, in the same order.

    Two lists rather than a tuple per point: ingest builds one per series of every
    batch, and storage packs the columns as they are.
    """

    key: SeriesKey
    times: list[float]
    values: list[float]

    @classmethod
    def of(cls, key: SeriesKey, points: Iterable[tuple[float, float]]) -> SeriesPoints:
        """The series' points given as (time, value) pairs."""
        pairs = list(points)
        return cls(key, [time for time, _ in pairs], [value for _, value in pairs])


@dataclass(frozen=True)
class SeriesDescriptor:
    """A stored series, without its points."""

    key: SeriesKey
    last_point_time: float | None
    """None when retention has deleted every point of the series (it goes with the next pruning)."""


class StatisticsQuery(NamedTuple):
    """A validated GetStatistics: the series to aggregate and the window [start, end) cut into periods.
    """

    metric: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: Statistic
    period: float
    start: float
    end: float


@dataclass(frozen=True)
class Summary:
    """What every statistic is computed from: count, sum, minimum and maximum of some values.

    Summaries of disjoint sets of values merge into the summary of their union, so
    a period can be aggregated in parts (per chunk of series) and then combined.
    """

    count: int
    total: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        """The summary of at least one value."""
        if not values:
            raise ValueError("a summary needs at least one value")
        return cls(len(values), math.fsum(values), min(values), max(values))

    def merge(self, other: Summary) -> Summary:
        """The summary of the values of both."""
        return Summary(
            self.count + other.count, self.total + other.total, min(self.minimum, other.minimum), max(self.maximum, other.maximum)
        )

    def value(self, statistic: Statistic) -> float:
        """The statistic of the summarised values."""
        if statistic is Statistic.AVERAGE:
            return self.total / self.count
        if statistic is Statistic.MINIMUM:
            return self.minimum
        if statistic is Statistic.MAXIMUM:
            return self.maximum
        if statistic is Statistic.SUM:
            return self.total
        return float(self.count)


def aggregate(values: Sequence[float], statistic: Statistic) -> float:
    """The statistic of at least one value."""
    return Summary.of(values).value(statistic)


def period_count(start: float, end: float, period: float) -> int:
    """How many periods the window [start, end) spans (a fraction counts as begun)."""
    return math.ceil((end - start) / period)


def dimensions_match(series_dimensions: Mapping[str, str], query_dimensions: Mapping[str, str]) -> bool:
    """Whether a series is among those a query names: its dimensions include all of the query's."""
    return all(series_dimensions.get(name) == value for name, value in query_dimensions.items())
