"""Background work of a service: periodic loops with a clean stop.

A service hands its workers to the server, which starts them after the port is
bound and stops them (waiting for the current pass) on shutdown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from autoscale.errors import Unavailable

log = logging.getLogger(__name__)


class Worker(Protocol):
    """Something that runs in the background between start() and stop()."""

    def start(self) -> None:
        """Begin working (returns at once)."""

    def stop(self) -> None:
        """Finish the current unit of work and return when stopped."""


class PeriodicWorker:
    """Runs `task()` every `interval` seconds, or sooner when `wake()` is called.

    The first pass runs at start, or `first_after` seconds later (for work that the
    start has just done, or that should not compete with it).

    An exception in one pass is logged and the loop goes on, so one bad pass never
    stops the service's background work. An Unavailable one (the database file gone, a
    peer unreachable) is expected and says all there is to say: one line, no traceback.

    Between passes the worker waits on `woken`, the event `wake()` and `stop()` set (a new
    one unless given: a test hands its own to see the worker wait, and for how long).
    """

    def __init__(
        self, name: str, interval: float, task: Callable[[], None], *, first_after: float = 0.0, woken: threading.Event | None = None
    ) -> None:
        self.name = name
        self.interval = interval
        self._first_after = first_after
        self._task = task
        self._stopping = threading.Event()
        self._woken = woken if woken is not None else threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run the next pass now instead of at the end of the interval."""
        self._woken.set()

    def stop(self) -> None:
        self._stopping.set()
        self._woken.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        if self._first_after:
            self._woken.wait(self._first_after)
        while not self._stopping.is_set():
            self._woken.clear()
            try:
                self._task()
            except Unavailable as error:
                log.error("%s: pass failed: %s", self.name, error)
            except Exception:
                log.exception("%s: pass failed", self.name)
            self._woken.wait(self.interval)
