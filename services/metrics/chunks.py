"""Points packed into bytes, and summaries of packed points per period: the storage layout's pure part.

Points are stored in two shapes, both arrays of little-endian numbers:
  * an ingest log entry holds one PutSamples batch: per series its id and point
    count, then every time, then every value (one row per batch, so a batch of a
    thousand series costs one insert, not a thousand);
  * a chunk holds points of one series (its times, then its values), with the
    count, sum, minimum and maximum of its values kept beside it, so that a chunk
    that lies within one period of a query is counted from its summary, without being unpacked.
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any

from services.metrics.domain import Summary

_BIG_ENDIAN = sys.byteorder == "big"
_LOG_HEADER = struct.Struct("<BI")
LOG_FORMAT_VERSION = 1

CHUNK_SECONDS = 3600.0
"""A chunk holds points of one aligned span this long at most, so that retention finds those it cuts through."""

SeriesColumns = tuple[int, Sequence[float], Sequence[float]]
"""A series id, the times of its points and their values (same length)."""


def _packed(items: array[Any]) -> bytes:
    if _BIG_ENDIAN:
        items = array(items.typecode, items)
        items.byteswap()
    return items.tobytes()


def _unpacked(typecode: str, data: bytes | memoryview) -> array[Any]:
    items = array(typecode)
    items.frombytes(data)
    if _BIG_ENDIAN:
        items.byteswap()
    return items


def pack_log_entry(series_ids: Sequence[int], counts: Sequence[int], times: Sequence[float], values: Sequence[float]) -> bytes:
    """One batch: `counts[i]` points of series `series_ids[i]`, their times and values concatenated in that order."""
    return _log_entry(series_ids, counts, _packed(array("d", times)), _packed(array("d", values)))


def _log_entry(series_ids: Sequence[int], counts: Sequence[int], packed_times: bytes, packed_values: bytes) -> bytes:
    return b"".join((
        _LOG_HEADER.pack(LOG_FORMAT_VERSION, len(series_ids)), _packed(array("q", series_ids)), _packed(array("I", counts)),
        packed_times, packed_values,
    ))


def pack_batch_log_entry(
    series_ids: Sequence[int], counts: Sequence[int], times: Iterable[Sequence[float]], values: Iterable[Sequence[float]]
) -> bytes:
    """`pack_log_entry` of a stored batch, given in columns: `series_ids[i]` the id of its i-th series, `counts[i]` its number
    of points, `times[i]` and `values[i]` their times and values."""
    return _log_entry(
        series_ids, counts, _packed(array("d", chain.from_iterable(times))), _packed(array("d", chain.from_iterable(values)))
    )


def unpack_log_entry(payload: bytes) -> Iterator[SeriesColumns]:
    """The series of a packed batch, each with its times and values."""
    version, series_count = _LOG_HEADER.unpack_from(payload)
    if version != LOG_FORMAT_VERSION:
        raise ValueError(f"ingest log entry of format {version}, expected {LOG_FORMAT_VERSION}")
    view = memoryview(payload)[_LOG_HEADER.size :]
    ids = _unpacked("q", view[: 8 * series_count])
    view = view[8 * series_count :]
    counts = _unpacked("I", view[: 4 * series_count])
    view = view[4 * series_count :]
    total = sum(counts)
    times = _unpacked("d", view[: 8 * total])
    values = _unpacked("d", view[8 * total : 16 * total])
    begin = 0
    for series_id, count in zip(ids, counts, strict=True):
        yield series_id, times[begin : begin + count], values[begin : begin + count]
        begin += count


def pack_chunk(times: Sequence[float], values: Sequence[float]) -> bytes:
    """The points of one chunk: the times, then the values."""
    return _packed(_doubles(times)) + _packed(_doubles(values))


def _doubles(items: Sequence[float]) -> array[float]:
    # The head holds arrays of doubles already: packing them needs no copy.
    return items if isinstance(items, array) and items.typecode == "d" else array("d", items)


def unpack_chunk(payload: bytes) -> tuple[array[float], array[float]]:
    """The times and the values of a packed chunk."""
    points = _unpacked("d", payload)
    half = len(points) // 2
    return points[:half], points[half:]


@dataclass(frozen=True)
class Chunk:
    """Points of one series as stored: their time span and summary, and the points themselves (packed)."""

    first_time: float
    last_time: float
    summary: Summary
    payload: bytes

    def summary_values(self) -> tuple[int, float, float, float]:
        """Count, sum, minimum and maximum, as stored beside the points."""
        summary = self.summary
        return summary.count, summary.total, summary.minimum, summary.maximum

    @classmethod
    def of(cls, times: Sequence[float], values: Sequence[float], first_time: float | None = None, last_time: float | None = None) -> Chunk:
        """The chunk of at least one point (the earliest and latest of `times` may be given, if known)."""
        if first_time is None or last_time is None:
            first_time, last_time = bounds(times)
        minimum, maximum = bounds(values)
        return cls(first_time, last_time, Summary(len(values), _total(values), minimum, maximum), pack_chunk(times, values))


def _total(values: Sequence[float]) -> float:
    """The exact sum of the values; infinite where it overflows (values beyond the bound PutSamples now keeps, stored by an
    earlier version), rather than a flush that fails on every pass."""
    try:
        return math.fsum(values)
    except OverflowError:
        return sum(values)


def bounds(items: Sequence[float]) -> tuple[float, float]:
    """The least and the greatest of a non-empty column."""
    return min(items), max(items)


HeldSeries = Mapping[int, tuple[Sequence[float], Sequence[float]]]
"""Points held in memory: the times and the values of each series, by series id."""

def chunks_of(times: Sequence[float], values: Sequence[float]) -> list[Chunk]:
    """The points of one series (at least one) as chunks, one per aligned CHUNK_SECONDS span they fall in."""
    floor = math.floor
    first_time, last_time = bounds(times)
    if floor(first_time / CHUNK_SECONDS) == floor(last_time / CHUNK_SECONDS):
        return [Chunk.of(times, values, first_time, last_time)]
    spans: dict[int, tuple[list[float], list[float]]] = {}
    for time, value in zip(times, values, strict=True):
        span_times, span_values = spans.setdefault(floor(time / CHUNK_SECONDS), ([], []))
        span_times.append(time)
        span_values.append(value)
    return [Chunk.of(span_times, span_values) for _, (span_times, span_values) in sorted(spans.items())]


class PeriodSummaries:
    """Summaries per period (index = floor(time / period)) of the points of [start, end), accumulated in parts."""

    def __init__(self, period: float, start: float, end: float) -> None:
        self.period = period
        self.start = start
        self.end = end
        self._buckets: dict[int, list[float]] = {}

    def add_points(self, times: Sequence[float], values: Sequence[float], count: int | None = None) -> None:
        """Count the points that lie in the window (of the first `count` only, when given)."""
        start, end, period, buckets = self.start, self.end, self.period, self._buckets
        floor = math.floor
        pairs = zip(times, values, strict=True) if count is None else islice(zip(times, values, strict=False), count)
        for time, value in pairs:
            if start <= time < end:
                index = floor(time / period)
                bucket = buckets.get(index)
                if bucket is None:
                    buckets[index] = [1, value, value, value]
                else:
                    bucket[0] += 1
                    bucket[1] += value
                    if value < bucket[2]:
                        bucket[2] = value
                    if value > bucket[3]:
                        bucket[3] = value

    def add_series(self, sources: Sequence[HeldSeries], series_ids: list[int]) -> None:
        """Count every point each of `series_ids` holds in each source (series id -> (times, values)), series by series."""
        for series_id in series_ids:
            for source in sources:
                columns = source.get(series_id)
                if columns is not None:
                    self.add_points(*columns)

    def covers(self, first_time: float, last_time: float) -> bool:
        """Whether points spanning [first_time, last_time] all lie in the window and in one period (so a summary counts them)."""
        period = self.period
        return self.start <= first_time and last_time < self.end and math.floor(first_time / period) == math.floor(last_time / period)

    def add_summary(self, first_time: float, summary: Summary) -> None:
        """Count points that `covers` accepts from their summary."""
        self.merge(math.floor(first_time / self.period), summary)

    def merge(self, index: int, summary: Summary) -> None:
        """Count the points of period `index` a summary stands for."""
        bucket = self._buckets.get(index)
        if bucket is None:
            self._buckets[index] = [summary.count, summary.total, summary.minimum, summary.maximum]
            return
        bucket[0] += summary.count
        bucket[1] += summary.total
        bucket[2] = min(bucket[2], summary.minimum)
        bucket[3] = max(bucket[3], summary.maximum)

    def by_index(self) -> dict[int, Summary]:
        """The summary of each non-empty period, by period index."""
        return {index: Summary(int(b[0]), b[1], b[2], b[3]) for index, b in self._buckets.items()}
