"""One lock per group, so that this process runs the executions of a group one at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class GroupLocks:
    """A lock per group id, made on first use and kept (there are few groups), and a count of the holds that ended."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._ended = 0

    @contextmanager
    def hold(self, group_id: str) -> Iterator[None]:
        """Hold the group's lock for the block."""
        with self._guard:
            lock = self._locks.setdefault(group_id, threading.Lock())
        with lock:
            try:
                yield
            finally:
                with self._guard:
                    self._ended += 1

    def ended(self) -> int:
        """How many holds, of any group, have ended so far: an execution that read before taking its group's lock
        compares it with the count before its read, to know whether another execution may have changed what it read."""
        with self._guard:
            return self._ended
