"""SharedLock: shared holders run together; an exclusive holder runs alone and is not starved."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from autoscale.locks import SharedLock


def _wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.001)


def test_shared_holders_hold_it_at_the_same_time():
    lock = SharedLock()
    both_inside = threading.Barrier(2, timeout=5)
    passed: list[str] = []

    def hold(name: str) -> None:
        with lock.shared():
            both_inside.wait()  # breaks (BrokenBarrierError) unless the other holds it at the same time
            passed.append(name)

    holders = [threading.Thread(target=hold, args=(name,)) for name in ("first", "second")]
    for holder in holders:
        holder.start()
    for holder in holders:
        holder.join(10)
    assert sorted(passed) == ["first", "second"]


def test_an_exclusive_holder_waits_for_the_shared_ones_and_blocks_new_ones():
    lock = SharedLock()
    events: list[str] = []
    first_shared = lock.shared()
    first_shared.__enter__()

    def exclusive() -> None:
        with lock.exclusive():
            events.append("exclusive")

    def late_shared() -> None:
        with lock.shared():
            events.append("late shared")

    writer = threading.Thread(target=exclusive)
    writer.start()
    _wait_until(lambda: lock._waiting_exclusive == 1)  # the writer waits for the first shared holder
    reader = threading.Thread(target=late_shared)
    reader.start()
    _wait_until(lambda: len(lock._condition._waiters) == 2)  # type: ignore[attr-defined]  # the late reader waits too
    assert events == []
    first_shared.__exit__(None, None, None)
    writer.join(5)
    reader.join(5)
    assert events == ["exclusive", "late shared"]
