"""The head: points that are in the ingest log but not yet in chunks, per series, in memory.

PutSamples commits a batch as one log entry and adds its points here; reads take
a series' points from here and from its chunks in the database; a compaction
(`flush`) writes the head's points as chunks and deletes their log entries in one
transaction, then forgets them. After a restart the head is rebuilt from the log.

Up to `recent_points` points a flush stored stay in memory too: a read of a window
that starts after the newest point no longer held (the horizon) reads no storage.

A read must count each point once, although a flush moves points from here into
the database while reads go on. Reads follow a sequence lock: `epoch` is odd only
while a flush commits; a read copies its series' points, reads the database, and
starts again if the epoch changed meanwhile (once per flush at most). A read whose
window lies wholly in memory may instead have its points added where they are, under
the lock (`add_held`): each point is then in exactly one of the held, flushing and
recently stored dicts.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Collection, Iterable
from typing import TypeVar

from services.metrics.chunks import SeriesColumns

Columns = tuple[array, array]  # type: ignore[type-arg]
"""The times and the values of some points of one series."""

HeldPoints = tuple[array, array, int]  # type: ignore[type-arg]
"""The times and the values of some points of one series, and how many of them a read may use."""

T = TypeVar("T")
Rows = TypeVar("Rows")


class Head:
    """Points of the ingest log's entries, per series id; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, recent_points: int = 0) -> None:
        self._clock = clock
        self._recent_limit = recent_points
        self._recent: deque[tuple[dict[int, Columns], float, int]] = deque()
        """Points stored by the last flushes, kept for reads (newest last): points by series, their newest time, their count."""
        self._recent_points = 0
        self._horizon = float("-inf")
        """Every stored point newer than this is held here or in `_recent`: a read of a window that starts after it needs no storage."""
        self._lock = threading.Condition()
        self._series: dict[int, Columns] = {}
        self._entries: list[int] = []
        self._points = 0
        self._since: float | None = None
        self._flushing: dict[int, Columns] = {}
        self._epoch = 0

    # Writes

    def add(self, entry_id: int, columns: Iterable[SeriesColumns]) -> None:
        """Hold the points of log entry `entry_id` (committed)."""
        with self._lock:
            held = self._series
            added = 0
            for series_id, times, values in columns:
                known = held.get(series_id)
                if known is None:
                    known = held[series_id] = (array("d"), array("d"))
                # NOTE: fromlist takes a list in half the time extend does (ingest hands lists; recovery, arrays).
                if type(times) is list:
                    known[0].fromlist(times)
                else:
                    known[0].extend(times)
                if type(values) is list:
                    known[1].fromlist(values)
                else:
                    known[1].extend(values)
                added += len(times)
            self._entries.append(entry_id)
            self._points += added
            if self._since is None:
                self._since = self._clock()

    def flush(self, build: Callable[[dict[int, Columns]], Rows], commit: Callable[[Rows, list[int]], None]) -> int:
        """Move every point held into storage; returns how many points moved.

        `build(points by series)` prepares what to store while reads go on;
        `commit(prepared, log entry ids)` must store it and delete those entries in
        one transaction. On failure the points stay held (and the error propagates).
        """
        with self._lock:
            if self._flushing:
                raise RuntimeError("a flush is already running")
            flushing, entries, points = self._series, self._entries, self._points
            if not entries:
                return 0
            self._flushing = flushing
            self._series, self._entries, self._points, self._since = {}, [], 0, None
        committed = False
        try:
            prepared = build(flushing)
            newest = max((max(times) for times, _ in flushing.values() if times), default=float("-inf"))
            with self._lock:
                self._epoch += 1
            commit(prepared, entries)
            committed = True
        finally:
            with self._lock:
                if self._epoch % 2:
                    self._epoch += 1
                self._flushing = {}
                if committed:
                    self._keep_recent(flushing, newest, points)
                else:
                    self._take_back(flushing, entries, points)
                self._lock.notify_all()
        return points

    def _keep_recent(self, stored: dict[int, Columns], newest: float, points: int) -> None:
        """Keep stored points for reads, within the limit; what goes moves the horizon past its newest point."""
        self._recent.append((stored, newest, points))
        self._recent_points += points
        while self._recent and self._recent_points > self._recent_limit:
            _, gone_newest, gone_points = self._recent.popleft()
            self._recent_points -= gone_points
            self._horizon = max(self._horizon, gone_newest)

    def stored_before(self, time: float) -> None:
        """Say that storage may hold points up to `time` that are not held here, or lack some held here (retention).

        On start: the newest stored point's time; on pruning: the retention limit.
        """
        with self._lock:
            self._horizon = max(self._horizon, time)

    def _take_back(self, flushing: dict[int, Columns], entries: list[int], points: int) -> None:
        for series_id, (times, values) in flushing.items():
            newer = self._series.get(series_id)
            if newer is not None:
                times.extend(newer[0])
                values.extend(newer[1])
            self._series[series_id] = (times, values)
        self._entries = entries + self._entries
        self._points += points
        self._since = self._clock() if self._since is None else self._since

    # Reads

    def read(
        self, series_ids: Collection[int], read_stored: Callable[[], T], start: float = float("-inf")
    ) -> tuple[dict[int, list[HeldPoints]], T | None]:
        """The points of `series_ids` held, and what `read_stored()` read from storage, of one moment.

        When every point from `start` on is in memory (the window starts after the
        horizon), the recently stored points are returned too and storage is not read
        (None). The points are (times, values, count): only the first `count` of each
        are of that moment (the arrays are not copied, and may grow after).
        """
        with self._lock:
            if start > self._horizon:
                held = self._copies(series_ids)
                for stored, _, _ in self._recent:
                    self._add_copies(held, stored, series_ids)
                return held, None
        while True:
            with self._lock:
                while self._epoch % 2:
                    self._lock.wait()
                epoch = self._epoch
                held = self._copies(series_ids)
            stored = read_stored()
            with self._lock:
                if self._epoch == epoch:
                    return held, stored

    def add_held(self, start: float, add: Callable[[list[dict[int, Columns]]], None]) -> bool:
        """When every point from `start` on is in memory (the window starts after the horizon): `add(sources)` under
        the lock, with the dicts (series id -> (times, values)) that hold them, and True; otherwise False (use `read`).

        NOTE: no copies, as `read` makes, and no storage read: the points cannot change while the lock is held.
        For a sweep's statistics, whose windows lie in memory.
        """
        with self._lock:
            if start <= self._horizon:
                return False
            add([source for source in (self._series, self._flushing, *(stored for stored, _, _ in self._recent)) if source])
            return True

    def _copies(self, series_ids: Collection[int]) -> dict[int, list[HeldPoints]]:
        # NOTE: no copy: arrays only grow (under the lock) until a flush drops them, so their first
        # `count` points stay as they are; a copy per series would cost more than the read itself.
        copies: dict[int, list[HeldPoints]] = {}
        for source in (self._series, self._flushing):
            self._add_copies(copies, source, series_ids)
        return copies

    @staticmethod
    def _add_copies(copies: dict[int, list[HeldPoints]], source: dict[int, Columns], series_ids: Collection[int]) -> None:
        if not source:
            return
        for series_id in series_ids:
            columns = source.get(series_id)
            if columns is not None:
                times, values = columns
                copies.setdefault(series_id, []).append((times, values, len(values)))

    def series_ids(self) -> set[int]:
        """The series with points held (including those a flush is storing)."""
        with self._lock:
            return set(self._series) | set(self._flushing)

    def points(self) -> int:
        """How many points are held, not counting those a flush is storing."""
        with self._lock:
            return self._points

    def age(self) -> float:
        """Seconds since the oldest point held was added (0 when none is)."""
        with self._lock:
            return 0.0 if self._since is None else self._clock() - self._since
