"""The metrics service's pure maths: periods, statistics, dimension matching and series keys."""

from __future__ import annotations

import pytest

from autoscale.series import Statistic, bucket_start
from services.metrics.domain import SeriesKey, Summary, aggregate, dimensions_match, period_count


@pytest.mark.parametrize(
    ("time", "period", "start"),
    [
        (0.0, 60.0, 0.0),
        (59.999, 60.0, 0.0),
        (60.0, 60.0, 60.0),
        (61.0, 60.0, 60.0),
        (1_700_000_030.5, 60.0, 1_699_999_980.0),
        # Floor, not truncation: a time before the epoch falls in the period that starts before it.
        (-0.5, 60.0, -60.0),
        (-60.0, 60.0, -60.0),
        # Periods need not be whole seconds.
        (1.2, 0.5, 1.0),
        (1.5, 0.5, 1.5),
        (4.0, 1.5, 3.0),
        (2.9, 1.5, 1.5),
    ],
)
def test_bucket_start_is_the_multiple_of_the_period_at_or_before_the_time(time, period, start):
    assert bucket_start(time, period) == start


@pytest.mark.parametrize(
    ("statistic", "values", "expected"),
    [
        (Statistic.AVERAGE, [1.0, 2.0, 6.0], 3.0),
        (Statistic.MINIMUM, [4.0, -2.0, 9.0], -2.0),
        (Statistic.MAXIMUM, [4.0, -2.0, 9.0], 9.0),
        (Statistic.SUM, [0.1, 0.2, 0.7], 1.0),
        (Statistic.SAMPLE_COUNT, [5.0, 5.0, 5.0, 5.0], 4.0),
        (Statistic.AVERAGE, [7.5], 7.5),
        (Statistic.SAMPLE_COUNT, [0.0], 1.0),
    ],
)
def test_aggregate_computes_each_statistic(statistic, values, expected):
    assert aggregate(values, statistic) == pytest.approx(expected)


def test_aggregate_of_no_values_is_an_error():
    with pytest.raises(ValueError):
        aggregate([], Statistic.AVERAGE)


@pytest.mark.parametrize("statistic", list(Statistic))
def test_summaries_of_parts_merge_into_the_summary_of_the_whole(statistic):
    first, second = [3.0, 9.0], [1.0, 4.0, 8.0]
    merged = Summary.of(first).merge(Summary.of(second))
    assert merged.value(statistic) == pytest.approx(aggregate(first + second, statistic))


@pytest.mark.parametrize(
    ("series_dimensions", "query_dimensions", "matches"),
    [
        ({"group": "web", "instance": "i-1"}, {}, True),
        ({"group": "web", "instance": "i-1"}, {"group": "web"}, True),
        ({"group": "web", "instance": "i-1"}, {"group": "web", "instance": "i-1"}, True),
        ({"group": "web", "instance": "i-1"}, {"group": "api"}, False),
        ({"group": "web"}, {"group": "web", "instance": "i-1"}, False),
        ({}, {"group": "web"}, False),
        ({"group": ""}, {"group": ""}, True),
        ({}, {"group": ""}, False),
    ],
)
def test_a_query_matches_the_series_whose_dimensions_include_all_of_its_own(series_dimensions, query_dimensions, matches):
    assert dimensions_match(series_dimensions, query_dimensions) is matches


def test_series_keys_of_the_same_dimensions_in_any_order_are_equal():
    first = SeriesKey.of("cpu", {"group": "web", "instance": "i-1"})
    second = SeriesKey.of("cpu", [("instance", "i-1"), ("group", "web")])
    assert first == second and hash(first) == hash(second)
    assert first.dimensions_key == second.dimensions_key
    assert first != SeriesKey.of("mem", {"group": "web", "instance": "i-1"})
    assert first.dimension_map() == {"group": "web", "instance": "i-1"}


@pytest.mark.parametrize(
    ("start", "end", "period", "count"),
    [(0.0, 60.0, 60.0, 1), (0.0, 61.0, 60.0, 2), (0.0, 86400.0, 60.0, 1440), (10.0, 11.0, 0.25, 4)],
)
def test_period_count_counts_a_begun_period(start, end, period, count):
    assert period_count(start, end, period) == count
