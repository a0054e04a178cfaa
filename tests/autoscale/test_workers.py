"""PeriodicWorker: passes at start or after a first delay, on wake, and past a failing pass."""

from __future__ import annotations

import logging
import threading
import time

from autoscale.errors import Unavailable
from autoscale.workers import PeriodicWorker


def _worker(calls: list[float], **options) -> PeriodicWorker:  # type: ignore[no-untyped-def]
    def task() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("a bad pass")

    return PeriodicWorker("test", 60.0, task, **options)


def test_the_first_pass_runs_at_start_and_a_failing_pass_does_not_stop_the_next():
    calls: list[float] = []
    worker = _worker(calls)
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while not calls and time.monotonic() < deadline:
            time.sleep(0.01)
        worker.wake()
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        worker.stop()
    assert len(calls) == 2


class WatchedEvent(threading.Event):
    """An event that records how long each wait on it may last, and tells when the first wait begins."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.timeouts.append(timeout)
        self.waiting.set()
        return super().wait(timeout)


def test_a_first_delay_holds_the_first_pass_back_and_stopping_cuts_it_short():
    calls: list[float] = []
    woken = WatchedEvent()
    worker = _worker(calls, first_after=60.0, woken=woken)
    worker.start()
    assert woken.waiting.wait(5)
    # A pass runs only once this wait ends: after the first delay, or on wake() or stop().
    assert woken.timeouts == [60.0] and calls == []
    stopped = threading.Event()
    threading.Thread(target=lambda: (worker.stop(), stopped.set())).start()
    assert stopped.wait(5)
    assert calls == [] and woken.timeouts == [60.0]  # the worker ended in its first delay, without a pass


def test_a_pass_failing_unavailable_is_logged_in_one_line_without_a_traceback(caplog):
    failed = threading.Event()

    def task() -> None:
        failed.set()
        raise Unavailable("the database file x.db was deleted")

    worker = PeriodicWorker("test", 60.0, task)
    with caplog.at_level(logging.ERROR, logger="autoscale.workers"):
        worker.start()
        assert failed.wait(5)
        worker.stop()
    [record] = caplog.records
    assert record.getMessage() == "test: pass failed: the database file x.db was deleted"
    assert record.exc_info is None
