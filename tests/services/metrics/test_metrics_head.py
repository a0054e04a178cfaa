"""The in-memory head: points held per series, flushed into storage without a read counting a point twice or never."""

from __future__ import annotations

import threading

import pytest

from services.metrics.head import Head


def _held(head: Head, series_id: int) -> list[tuple[list[float], list[float]]]:
    held, _ = head.read([series_id], lambda: None)
    return [(list(times)[:count], list(values)[:count]) for times, values, count in held.get(series_id, [])]


def test_points_of_several_entries_accumulate_per_series():
    head = Head()
    head.add(1, [(7, [1.0], [10.0]), (8, [1.0], [20.0])])
    head.add(2, [(7, [2.0, 3.0], [11.0, 12.0])])
    assert _held(head, 7) == [([1.0, 2.0, 3.0], [10.0, 11.0, 12.0])]
    assert (head.points(), head.series_ids()) == (4, {7, 8})


def test_a_flush_hands_over_every_point_and_the_entries_that_held_them():
    head = Head()
    head.add(1, [(7, [1.0], [10.0])])
    head.add(2, [(8, [2.0], [20.0])])
    stored = {}

    def commit(rows, entries):  # type: ignore[no-untyped-def]
        stored.update(rows=rows, entries=entries)

    assert head.flush(lambda held: sorted((k, list(t)) for k, (t, _) in held.items()), commit) == 2
    assert stored == {"rows": [(7, [1.0]), (8, [2.0])], "entries": [1, 2]}
    assert (head.points(), head.series_ids(), _held(head, 7)) == (0, set(), [])


def test_a_failed_flush_gives_the_points_back_before_those_added_meanwhile():
    head = Head()
    head.add(1, [(7, [1.0], [10.0])])

    def commit(rows, entries):  # type: ignore[no-untyped-def]
        head.add(2, [(7, [2.0], [20.0])])
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        head.flush(lambda held: None, commit)
    assert _held(head, 7) == [([1.0, 2.0], [10.0, 20.0])]
    assert head.points() == 2
    entries = []
    head.flush(lambda held: None, lambda rows, ids: entries.extend(ids))
    assert entries == [1, 2]


def test_a_read_during_a_flush_sees_each_point_once():
    """A read overlapping the commit starts again: it never sees the points both held and stored, nor neither."""
    head = Head()
    head.add(1, [(7, [1.0], [10.0])])
    storage: list[float] = []
    committing, read_started = threading.Event(), threading.Event()
    reads: list[int] = []

    def read_stored() -> list[float]:
        reads.append(1)
        read_started.set()
        committing.wait(5)
        return list(storage)

    def commit(rows, entries):  # type: ignore[no-untyped-def]
        storage.append(10.0)
        committing.set()

    result = {}
    reader = threading.Thread(target=lambda: result.update(read=head.read([7], read_stored)))
    reader.start()
    assert read_started.wait(5)
    head.flush(lambda held: None, commit)
    reader.join(5)
    held, stored = result["read"]
    assert (held, stored) == ({}, [10.0])
    assert len(reads) == 2


def test_the_age_counts_from_the_first_point_added_since_the_last_flush():
    now = [100.0]
    head = Head(clock=lambda: now[0])
    assert head.age() == 0.0
    head.add(1, [(7, [1.0], [1.0])])
    now[0] = 130.0
    head.add(2, [(7, [2.0], [1.0])])
    assert head.age() == 30.0
    head.flush(lambda held: None, lambda rows, entries: None)
    assert head.age() == 0.0


def _flush(head: Head) -> None:
    head.flush(lambda held: None, lambda rows, entries: None)


def test_points_stored_by_a_flush_stay_readable_from_memory_for_windows_after_the_horizon():
    head = Head(recent_points=10)
    head.add(1, [(7, [100.0], [1.0])])
    _flush(head)
    head.add(2, [(7, [200.0], [2.0])])
    stored_reads = []
    held, stored = head.read([7], lambda: stored_reads.append(1), start=50.0)
    assert stored is None and stored_reads == []
    assert sorted(list(times)[:count] for times, _, count in held[7]) == [[100.0], [200.0]]


def test_a_window_reaching_back_before_the_horizon_reads_storage_and_not_the_recent_points():
    head = Head(recent_points=10)
    head.stored_before(60.0)
    head.add(1, [(7, [100.0], [1.0])])
    _flush(head)
    head.add(2, [(7, [200.0], [2.0])])
    held, stored = head.read([7], lambda: "from storage", start=50.0)
    assert stored == "from storage"
    assert [list(times)[:count] for times, _, count in held[7]] == [[200.0]]


def test_past_the_limit_the_oldest_flushes_leave_memory_and_move_the_horizon_past_their_points():
    head = Head(recent_points=1)
    head.add(1, [(7, [100.0], [1.0])])
    _flush(head)
    head.add(2, [(7, [90.0], [2.0])])
    _flush(head)
    assert head.read([7], lambda: "from storage", start=95.0)[1] == "from storage"
    held, stored = head.read([7], lambda: "from storage", start=100.5)
    assert stored is None
    assert [list(times)[:count] for times, _, count in held[7]] == [[90.0]]


def test_points_held_for_a_window_after_the_horizon_are_handed_over_in_place_with_those_a_flush_stored():
    head = Head(recent_points=10)
    head.add(1, [(7, [100.0], [1.0])])
    _flush(head)
    head.add(2, [(7, [200.0], [2.0]), (8, [210.0], [3.0])])
    seen: list[list[tuple[int, list[float]]]] = []
    handed = head.add_held(50.0, lambda sources: seen.append([(i, list(t)) for source in sources for i, (t, _) in sorted(source.items())]))
    assert handed is True
    assert seen == [[(7, [200.0]), (8, [210.0]), (7, [100.0])]]  # the head first, then what flushes stored


def test_a_window_reaching_back_before_the_horizon_is_not_handed_over_from_memory():
    head = Head(recent_points=10)
    head.stored_before(60.0)
    head.add(1, [(7, [100.0], [1.0])])
    assert head.add_held(50.0, lambda sources: pytest.fail("storage holds points of this window")) is False
