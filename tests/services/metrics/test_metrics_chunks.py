"""Packing of points and their summaries per period (pure)."""

from __future__ import annotations

import pytest

from services.metrics.chunks import (
    CHUNK_SECONDS,
    Chunk,
    PeriodSummaries,
    chunks_of,
    pack_batch_log_entry,
    pack_log_entry,
    unpack_chunk,
    unpack_log_entry,
)
from services.metrics.domain import SeriesKey, SeriesPoints, Summary


def test_a_log_entry_gives_back_each_series_with_its_own_points():
    payload = pack_log_entry([7, 3], [2, 1], [10.0, 11.0, 12.5], [1.0, 2.0, -3.0])
    assert [(series_id, list(times), list(values)) for series_id, times, values in unpack_log_entry(payload)] == [
        (7, [10.0, 11.0], [1.0, 2.0]),
        (3, [12.5], [-3.0]),
    ]


def test_a_log_entry_of_an_unknown_format_is_refused_rather_than_misread():
    payload = bytearray(pack_log_entry([1], [1], [1.0], [1.0]))
    payload[0] = 99
    with pytest.raises(ValueError, match="format 99"):
        list(unpack_log_entry(bytes(payload)))


def test_a_chunk_keeps_its_points_and_the_summary_of_their_values():
    chunk = Chunk.of([30.0, 10.0, 20.0], [3.0, 1.0, 2.0])
    assert (chunk.first_time, chunk.last_time, chunk.summary) == (10.0, 30.0, Summary(3, 6.0, 1.0, 3.0))
    times, values = unpack_chunk(chunk.payload)
    assert (list(times), list(values)) == ([30.0, 10.0, 20.0], [3.0, 1.0, 2.0])


def test_a_chunk_of_values_an_earlier_version_stored_beyond_the_bound_sums_to_infinity_rather_than_failing():
    # PutSamples now refuses such values; a flush of those already in the ingest log must not fail on every pass.
    assert Chunk.of([1.0, 2.0], [1e308, 1e308]).summary.total == float("inf")


def test_points_are_cut_into_one_chunk_per_aligned_span():
    found = chunks_of([5.0, CHUNK_SECONDS + 1, 6.0, 3 * CHUNK_SECONDS], [1.0, 2.0, 3.0, 4.0])
    assert [(c.first_time, c.last_time, c.summary.count) for c in found] == [
        (5.0, 6.0, 2),
        (CHUNK_SECONDS + 1, CHUNK_SECONDS + 1, 1),
        (3 * CHUNK_SECONDS, 3 * CHUNK_SECONDS, 1),
    ]


def test_points_outside_the_window_are_not_counted_and_periods_are_aligned_to_the_epoch():
    summaries = PeriodSummaries(60.0, 30.0, 150.0)
    summaries.add_points([29.9, 30.0, 59.9, 60.0, 149.9, 150.0], [100.0, 1.0, 3.0, 5.0, 7.0, 100.0])
    assert summaries.by_index() == {0: Summary(2, 4.0, 1.0, 3.0), 1: Summary(1, 5.0, 5.0, 5.0), 2: Summary(1, 7.0, 7.0, 7.0)}


@pytest.mark.parametrize(
    ("first", "last", "covered"),
    [(60.0, 119.9, True), (60.0, 120.0, False), (29.0, 40.0, False), (100.0, 150.0, False), (130.0, 149.0, True)],
)
def test_a_chunk_is_counted_from_its_summary_only_within_one_period_of_the_window(first, last, covered):
    assert PeriodSummaries(60.0, 30.0, 150.0).covers(first, last) is covered


def test_summaries_and_points_of_one_period_merge():
    summaries = PeriodSummaries(60.0, 0.0, 600.0)
    summaries.add_summary(70.0, Summary(2, 10.0, 4.0, 6.0))
    summaries.add_points([80.0], [1.0])
    summaries.add_summary(100.0, Summary(1, 9.0, 9.0, 9.0))
    assert summaries.by_index() == {1: Summary(4, 20.0, 1.0, 9.0)}


def test_a_batch_packs_into_the_log_entry_of_its_columns():
    batch = [
        SeriesPoints(SeriesKey.of("cpu", {"host": "a"}), [10.0, 11.0], [1.0, -2.5]),
        SeriesPoints(SeriesKey.of("cpu", {"host": "b"}), [12.0], [1e300]),
    ]
    packed = pack_batch_log_entry([7, 3], [2, 1], [series.times for series in batch], [series.values for series in batch])
    assert packed == pack_log_entry([7, 3], [2, 1], [10.0, 11.0, 12.0], [1.0, -2.5, 1e300])
    assert [(series_id, list(times), list(values)) for series_id, times, values in unpack_log_entry(packed)] == [
        (7, [10.0, 11.0], [1.0, -2.5]), (3, [12.0], [1e300]),
    ]


def test_the_summaries_of_many_held_series_count_each_point_of_the_window_once():
    sources = [{1: ([10.0, 70.0, 900.0], [1.0, 2.0, 3.0]), 2: ([20.0], [5.0])}, {1: ([80.0], [4.0]), 3: ([30.0], [100.0])}]
    summaries = PeriodSummaries(60.0, 0.0, 600.0)
    summaries.add_series(sources, [1, 2])
    assert summaries.by_index() == {0: Summary(2, 6.0, 1.0, 5.0), 1: Summary(2, 6.0, 2.0, 4.0)}
