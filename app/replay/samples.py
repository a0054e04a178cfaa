"""The datapoints a replay judges alarms on: from the Metrics service's statistics, or from a CSV file of samples.

A CSV file has a header and the columns `time` (ISO 8601, or seconds since the epoch),
`metric`, `value` and, optionally, `dimensions` (`key=value` pairs joined by `;`, e.g.
`group=web;instance=i-1`). Its samples are bucketed as the Metrics service buckets them:
per period aligned to multiples of it since the epoch, the statistic over every point of
every matching series in the period.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from autoscale.series import bucket_start
from services.alarm.domain import ThresholdRule
from services.alarm.evaluation import Datapoint
from services.metrics.domain import aggregate

MAX_CSV_ROWS = 2_000_000
"""Samples a CSV file may hold (a week of three series every ten seconds is 181 440): about 200 MB in memory."""

EARLIEST, LATEST = 0.0, 253402300799.0
"""The times a sample may have: the epoch to the end of year 9999 (a Timestamp's last second)."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One point of a series."""

    time: float
    metric: str
    dimensions: dict[str, str]
    value: float


class SamplesError(ValueError):
    """A CSV file that cannot be read: the message names the line and what is wrong."""


def read_csv(path: Path) -> list[Sample]:
    """The samples of a CSV file (see the module); SamplesError naming the line of the first that cannot be read."""
    if path.exists() and not path.is_file():
        raise SamplesError(f"{path}: not a regular file")  # a device or a pipe may never end
    try:
        # NOTE: utf-8-sig: a spreadsheet's CSV export starts with a byte order mark, which is no part of the header.
        with path.open(newline="", encoding="utf-8-sig") as file:
            return _samples(csv.DictReader(file), path)
    except OSError as error:
        raise SamplesError(f"{path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise SamplesError(f"{path}: not UTF-8 text: {error.reason}") from None
    except csv.Error as error:
        raise SamplesError(f"{path}: not CSV: {error}") from None


def _samples(rows: csv.DictReader[str], path: Path) -> list[Sample]:
    missing = {"time", "metric", "value"} - set(rows.fieldnames or ())
    if missing:
        raise SamplesError(
            f"{path}: the header must name time, metric and value (and may name dimensions); missing {', '.join(sorted(missing))}"
        )
    samples: list[Sample] = []
    # Rows of one series repeat its metric and dimensions: one string and one dict serve them all.
    metrics: dict[str, str] = {}
    dimensions: dict[str, dict[str, str]] = {}
    for row in rows:
        line = rows.line_num
        if len(samples) >= MAX_CSV_ROWS:
            raise SamplesError(f"{path}: more than {MAX_CSV_ROWS} samples")
        try:
            value = float(row["value"])
        except (TypeError, ValueError):
            raise SamplesError(f"{path}:{line}: value {row['value']!r} is not a number") from None
        if not math.isfinite(value):
            raise SamplesError(f"{path}:{line}: value {row['value']!r} is not finite")
        metric = (row["metric"] or "").strip()
        if not metric:
            raise SamplesError(f"{path}:{line}: metric is empty")
        dimensions_text = row.get("dimensions") or ""
        pairs = dimensions.get(dimensions_text)
        if pairs is None:
            pairs = dimensions[dimensions_text] = _dimensions(dimensions_text, path, line)
        samples.append(Sample(_time(row["time"], path, line), metrics.setdefault(metric, metric), pairs, value))
    return samples


def _time(text: str | None, path: Path, line: int) -> float:
    text = (text or "").strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise SamplesError(f"{path}:{line}: time {text!r} is neither ISO 8601 nor seconds since the epoch") from None
        seconds = (parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)).timestamp()
    if not EARLIEST <= seconds <= LATEST:  # also NaN, which compares false
        raise SamplesError(f"{path}:{line}: time {text!r} is not between 1970 and the end of year 9999")
    return seconds


def _dimensions(text: str, path: Path, line: int) -> dict[str, str]:
    pairs = {}
    for pair in filter(None, (part.strip() for part in text.split(";"))):
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise SamplesError(f"{path}:{line}: dimension {pair!r} is not key=value")
        pairs[key] = value
    return pairs


def datapoints(rule: ThresholdRule, samples: Iterable[Sample]) -> list[Datapoint]:
    """The rule's statistic per period over the samples of the series it counts, oldest first."""
    buckets: dict[float, list[float]] = defaultdict(list)
    for sample in samples:
        if rule.matches_series(sample.metric, sample.dimensions):
            buckets[bucket_start(sample.time, rule.period)].append(sample.value)
    return [Datapoint(start, aggregate(values, rule.statistic), len(values)) for start, values in sorted(buckets.items())]


def span(samples: Sequence[Sample]) -> tuple[float, float] | None:
    """The first and the last time of the samples, None for none."""
    if not samples:
        return None
    times = [sample.time for sample in samples]
    return min(times), max(times)


class WindowSums:
    """The sum of the samples of one metric over the series whose dimensions include the given ones, in any window: what
    a predictive floor reads of the Metrics service (services.policy.forecast.WindowSum), from a CSV file's samples."""

    def __init__(self, metric: str, dimensions: Mapping[str, str], samples: Iterable[Sample]) -> None:
        counted = sorted(
            (sample.time, sample.value) for sample in samples
            if sample.metric == metric and all(sample.dimensions.get(key) == value for key, value in dimensions.items())
        )
        self._times = [time for time, _ in counted]
        self._totals = [0.0, *itertools.accumulate(value for _, value in counted)]
        """The sum of the first n samples at index n."""

    def __call__(self, start: float, end: float) -> float | None:
        """The sum of the samples in [start, end); None when there is none."""
        low, high = bisect.bisect_left(self._times, start), bisect.bisect_left(self._times, end)
        return self._totals[high] - self._totals[low] if high > low else None
