"""One lock per group, so that this process runs the executions of a group one at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class GroupLocks:
    """A lock per group id, made on first use and kept (there are few groups)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def hold(self, group_id: str) -> Iterator[bool]:
        """Hold the group's lock for the block; yields whether another execution held it first (this one waited)."""
        with self._guard:
            lock = self._locks.setdefault(group_id, threading.Lock())
        waited = not lock.acquire(blocking=False)
        if waited:
            lock.acquire()
        try:
            yield waited
        finally:
            lock.release()
