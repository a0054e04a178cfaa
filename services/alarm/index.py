"""The alarms of this process in memory, so that arriving samples find their alarms at once.

Each alarm is filed under its metric and one of its rule's dimension pairs (its
anchor; none when the rule has no dimensions), so a series is checked only
against alarms that share its metric and one of its pairs, however many alarms
watch other series of the same metric.

What watches a series is remembered per series (by its id in the metrics service's
catalogue: an id names one series for good) until an alarm is added, removed, or
changes its rule or switch: NotifySamples asks it for every series of every call, and
the series' metric and dimensions are read only the first time.

The index is a cache of the repository: loaded whole on start and by a periodic
reload (so that changes made through another replica arrive), and kept current by
this process's own writes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from autoscale.series import Pairs, dimensions_from_key
from services.alarm.domain import Alarm

Anchor = tuple[str, tuple[str, str] | None]
"""Where alarms are filed: a metric and one dimension pair (None: every series of the metric)."""

MAX_REMEMBERED_SERIES = 500_000
"""Series whose watchers are remembered at most (then the memory starts afresh)."""

MAX_CATALOGUES = 16
"""Catalogues (metrics processes) whose series' watchers are remembered at once (then the memory starts afresh)."""


class AlarmIndex:
    """Alarms by id and by metric name; safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._alarms: dict[str, Alarm] = {}
        self._by_anchor: dict[Anchor, set[str]] = {}
        self._evaluated: dict[str, float] = {}
        self._watchers: dict[str, dict[int, list[str]]] = {}
        """By catalogue, then series id: the ids of the alarms that watch the series."""

    def replace_all(self, alarms: Iterable[Alarm]) -> None:
        """Forget every alarm and hold these (evaluation times known here are kept)."""
        with self._lock:
            held = self._alarms
            self._alarms = {}
            self._by_anchor = {}
            for alarm in alarms:
                self._add(alarm)
            self._evaluated = {alarm_id: time for alarm_id, time in self._evaluated.items() if alarm_id in self._alarms}
            if _watch_shapes(held) != _watch_shapes(self._alarms):
                self._watchers = {}

    def put(self, alarm: Alarm) -> None:
        """Hold `alarm`, replacing what was held under its id."""
        self.put_many([alarm])

    def put_many(self, alarms: Iterable[Alarm]) -> None:
        """`put` each alarm (under one hold of the lock: a sweep puts thousands)."""
        with self._lock:
            for alarm in alarms:
                self._put(alarm)

    def _put(self, alarm: Alarm) -> None:
        held = self._alarms.get(alarm.id)
        if held is not None and held.disabled == alarm.disabled and held.rule == alarm.rule:
            # A transition: filed where it was, watching what it watched.
            self._alarms[alarm.id] = alarm
            return
        self._remove(alarm.id)
        self._add(alarm)
        self._watchers = {}

    def remove(self, alarm_id: str) -> None:
        """Forget an alarm (nothing happens if it is not held)."""
        with self._lock:
            self._remove(alarm_id)
            self._evaluated.pop(alarm_id, None)
            self._watchers = {}

    def get(self, alarm_id: str) -> Alarm | None:
        """The alarm held under `alarm_id`, if any."""
        with self._lock:
            return self._alarms.get(alarm_id)

    def ids(self) -> list[str]:
        """Ids of every enabled alarm."""
        with self._lock:
            return [alarm_id for alarm_id, alarm in self._alarms.items() if not alarm.disabled]

    def watching(
        self, catalogue: str, series_ids: Sequence[int], metrics: Sequence[str], dimensions: Sequence[str]
    ) -> list[list[str] | None]:
        """For each series (its id in `catalogue`, and its metric and canonical dimensions key at the same place), the ids of
        the enabled alarms whose rule counts its points; None where the dimensions key, read because the series is new here,
        is no JSON object of strings. The lists are not to be changed."""
        with self._lock:
            known = self._watchers.get(catalogue)
            if known is None:
                if len(self._watchers) >= MAX_CATALOGUES:
                    self._watchers = {}
                known = self._watchers[catalogue] = {}
            # NOTE: in bulk (map runs in C): a notification names up to 100 000 series, nearly all of them known here.
            answers: list[list[str] | None] = list(map(known.get, series_ids))
            if None in answers:
                if len(known) + len(series_ids) > MAX_REMEMBERED_SERIES:
                    known.clear()
                for position, series_id in enumerate(series_ids):
                    if answers[position] is not None:
                        continue
                    try:
                        pairs = dimensions_from_key(dimensions[position])
                    except ValueError:
                        continue
                    answers[position] = known[series_id] = self._find_watchers(metrics[position], pairs)
        return answers

    def _find_watchers(self, metric: str, dimensions: Pairs) -> list[str]:
        candidate_ids = set(self._by_anchor.get((metric, None), ()))
        for pair in dimensions:
            candidate_ids.update(self._by_anchor.get((metric, pair), ()))
        by_name = dict(dimensions)
        candidates = [self._alarms[alarm_id] for alarm_id in candidate_ids]
        return [alarm.id for alarm in candidates if not alarm.disabled and alarm.rule.matches_series(metric, by_name)]

    def note_evaluated(self, alarm_id: str, time: float) -> None:
        """Remember when an alarm was last evaluated (kept in memory: storing it would write on every evaluation)."""
        self._evaluated[alarm_id] = time  # one dict store: atomic under the GIL, and the sweep does it 10 000 times

    def evaluate_time(self, alarm_id: str) -> float | None:
        """When this process last evaluated the alarm, if it has."""
        return self._evaluated.get(alarm_id)

    def _add(self, alarm: Alarm) -> None:
        self._alarms[alarm.id] = alarm
        self._by_anchor.setdefault(_anchor(alarm), set()).add(alarm.id)

    def _remove(self, alarm_id: str) -> None:
        alarm = self._alarms.pop(alarm_id, None)
        if alarm is None:
            return
        anchor = _anchor(alarm)
        filed = self._by_anchor.get(anchor)
        if filed is not None:
            filed.discard(alarm_id)
            if not filed:
                del self._by_anchor[anchor]


def _anchor(alarm: Alarm) -> Anchor:
    """Where an alarm is filed: its metric and its rule's first dimension pair (a series must have every pair)."""
    dimensions = alarm.rule.dimensions
    return alarm.rule.metric, dimensions[0] if dimensions else None


def _watch_shapes(alarms: dict[str, Alarm]) -> dict[str, tuple[object, bool]]:
    """What decides which series each alarm watches."""
    return {alarm_id: (alarm.rule, alarm.disabled) for alarm_id, alarm in alarms.items()}
