"""The series of one project, in memory: which series a query's metric and dimensions name, without a query to the database.

The repository that owns the project's series keeps it exact: it is loaded on
start, and every series created or deleted goes through that repository.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from services.metrics.domain import SeriesKey

_NONE: frozenset[int] = frozenset()


class SeriesCatalogue:
    """Series ids by metric and by (metric, dimension key, dimension value); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[int, SeriesKey] = {}
        self._by_metric: dict[str, set[int]] = {}
        self._by_pair: dict[tuple[str, str, str], set[int]] = {}

    def add(self, entries: Iterable[tuple[int, SeriesKey]]) -> None:
        """Know these series (ids with their keys)."""
        with self._lock:
            for series_id, key in entries:
                if series_id in self._keys:
                    continue
                self._keys[series_id] = key
                self._by_metric.setdefault(key.metric, set()).add(series_id)
                for name, value in key.dimensions:
                    self._by_pair.setdefault((key.metric, name, value), set()).add(series_id)

    def remove(self, series_ids: Iterable[int]) -> None:
        """Forget these series."""
        with self._lock:
            for series_id in series_ids:
                key = self._keys.pop(series_id, None)
                if key is None:
                    continue
                _discard(self._by_metric, key.metric, series_id)
                for name, value in key.dimensions:
                    _discard(self._by_pair, (key.metric, name, value), series_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)

    def unknown(self, series_ids: Iterable[int]) -> list[int]:
        """Those of `series_ids` that are not known."""
        with self._lock:
            return [series_id for series_id in series_ids if series_id not in self._keys]

    def matching(self, metric: str, dimensions: Iterable[tuple[str, str]]) -> list[int]:
        """The series of `metric` whose dimensions include all of `dimensions`."""
        with self._lock:
            sets = [self._by_pair.get((metric, name, value), _NONE) for name, value in dimensions]
            if not sets:
                return list(self._by_metric.get(metric, _NONE))
            sets.sort(key=len)
            found = set(sets[0])
            for other in sets[1:]:
                found &= other
                if not found:
                    break
            return list(found)


def _discard(index: dict, name: object, series_id: int) -> None:  # type: ignore[type-arg]
    members = index.get(name)
    if members is not None:
        members.discard(series_id)
        if not members:
            del index[name]
