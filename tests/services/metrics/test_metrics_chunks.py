"""Packing of points and their summaries per period (pure)."""

from __future__ import annotations

import random
import struct
from array import array

import pytest

from services.metrics.chunks import (
    CHUNK_SECONDS,
    NATIVE_BOUNDS,
    NATIVE_COLUMNS,
    Chunk,
    PeriodSummaries,
    bounds,
    chunks_of,
    pack_batch_log_entry,
    pack_log_entry,
    unpack_chunk,
    unpack_log_entry,
)
from services.metrics.domain import SeriesKey, SeriesPoints, Summary
from tests.support import needs_native_wire


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


@pytest.mark.parametrize("packing", ["native", "python"])
def test_a_batch_packs_into_the_log_entry_of_its_columns_natively_or_not(packing):
    if packing == "native" and NATIVE_COLUMNS is None:
        pytest.skip("the native helper was not built (no C compiler at install time)")
    batch = [
        SeriesPoints(SeriesKey.of("cpu", {"host": "a"}), [10.0, 11.0], [1.0, -2.5]),
        SeriesPoints(SeriesKey.of("cpu", {"host": "b"}), [12.0], [1e300]),
    ]
    packed = pack_batch_log_entry([7, 3], [2, 1], batch, columns=NATIVE_COLUMNS if packing == "native" else None)
    assert packed == pack_log_entry([7, 3], [2, 1], [10.0, 11.0, 12.0], [1.0, -2.5, 1e300])


@needs_native_wire
def test_the_native_column_packer_refuses_what_is_not_a_batch_of_lists():
    assert NATIVE_COLUMNS is not None
    with pytest.raises(TypeError):
        NATIVE_COLUMNS([SeriesPoints(SeriesKey.of("cpu", {}), (1.0,), (2.0,))])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        NATIVE_COLUMNS([SeriesPoints(SeriesKey.of("cpu", {}), [1.0], ["x"])])  # type: ignore[list-item]


@needs_native_wire
def test_the_native_bounds_of_a_column_are_min_and_max():
    generator = random.Random(3)
    columns: list[list[float]] = [[1.0], [0.0, -0.0], [-0.0, 0.0], [5e-324, -5e-324, 1e308, -1e308]]
    columns += [[generator.uniform(-1e9, 1e9) for _ in range(generator.randrange(1, 300))] for _ in range(100)]
    for column in columns:
        expected = bounds(column, native=None)
        for given in (column, array("d", column)):
            found = NATIVE_BOUNDS(given)  # type: ignore[misc]
            # The same floats, down to the sign of a zero (the first of equal ones, as min() and max() keep).
            assert [struct.pack("<d", v) for v in found] == [struct.pack("<d", v) for v in expected]
    for empty in ([], array("d")):
        with pytest.raises(ValueError):
            NATIVE_BOUNDS(empty)  # type: ignore[misc]
    with pytest.raises(TypeError):
        NATIVE_BOUNDS(array("i", [1, 2]))  # type: ignore[misc]


@needs_native_wire
def test_the_native_period_summaries_hold_the_same_floats_as_the_python_loop():
    generator = random.Random(5)
    for _ in range(200):
        period = generator.choice([1.0, 60.0, 300.0, 0.25])
        start = generator.uniform(0, 1000)
        end = start + generator.uniform(0, 5000)
        length = generator.randrange(0, 80)
        times = [generator.uniform(start - 500, end + 500) for _ in range(length)]
        values = [generator.uniform(-1e6, 1e6) for _ in range(length)]
        count = generator.randrange(0, length + 1)
        found, expected = PeriodSummaries(period, start, end), PeriodSummaries(period, start, end)
        # Summaries merged first, then points over them: the order the repository adds them in.
        for summaries in (found, expected):
            summaries.merge(3, Summary(2, 5.0, 1.0, 4.0))
        given = (array("d", times), array("d", values)) if generator.random() < 0.5 else (times, values)
        found.add_points(*given, count)
        expected.add_points(times, values, count, native=None)
        assert found.by_index() == expected.by_index()
        assert [struct.pack("<d", s.total) for s in found.by_index().values()] == [
            struct.pack("<d", s.total) for s in expected.by_index().values()
        ]


@needs_native_wire
def test_the_native_period_summaries_refuse_a_count_beyond_the_points_and_columns_of_other_numbers():
    summaries = PeriodSummaries(60.0, 0.0, 600.0)
    with pytest.raises(ValueError):
        summaries.add_points(array("d", [1.0]), array("d", [2.0]), 2)
    with pytest.raises(TypeError):
        summaries.add_points(array("i", [1]), array("d", [2.0]), 1)
    with pytest.raises(TypeError):
        summaries.add_points([1.0], ["x"], 1)  # type: ignore[list-item]


@needs_native_wire
def test_the_native_summaries_of_many_held_series_are_those_of_the_python_loops():
    generator = random.Random(9)
    sources = [
        {series_id: (array("d", [generator.uniform(0, 900) for _ in range(n)]), array("d", [generator.uniform(-5, 5) for _ in range(n)]))
         for series_id in generator.sample(range(1, 60), 30) for n in [generator.randrange(0, 12)]}
        for _ in range(3)
    ]
    series_ids = sorted(generator.sample(range(1, 70), 40))
    found, expected = PeriodSummaries(60.0, 100.0, 800.0), PeriodSummaries(60.0, 100.0, 800.0)
    found.add_series(sources, series_ids)
    expected.add_series(sources, series_ids, native=None)
    assert found.by_index() == expected.by_index() and found.by_index()
    with pytest.raises(TypeError):
        found.add_series([{1: (array("d", [1.0]),)}], [1])  # type: ignore[list-item]
