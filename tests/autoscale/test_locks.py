"""SharedLock: shared holders run together; an exclusive holder runs alone and is not starved."""

from __future__ import annotations

import threading
import time

from autoscale.locks import SharedLock


def test_shared_holders_hold_it_at_the_same_time():
    lock = SharedLock()
    with lock.shared(), lock.shared():
        pass


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
    time.sleep(0.05)
    reader = threading.Thread(target=late_shared)
    reader.start()
    time.sleep(0.05)
    assert events == []
    first_shared.__exit__(None, None, None)
    writer.join(5)
    reader.join(5)
    assert events == ["exclusive", "late shared"]
