"""The alarms of this process in memory, so that arriving samples find their alarms at once.

Each alarm is filed under its metric and one of its rule's dimension pairs (its
anchor; none when the rule has no dimensions), so a series is checked only
against alarms that share its metric and one of its pairs, however many alarms
watch other series of the same metric.

What watches a series is remembered per series until an alarm is added, removed,
or changes its rule or switch: NotifySamples asks it for every series of every call.

The watch list (what the metrics service need send at all) gives, per anchor, its
quiet band: the values that no alarm filed there could move out of its state (the
intersection of their bands, see evaluation.quiet_band). A state change marks its
anchor only; the bands are worked out when the list is next asked for, so that a
sweep moving thousands of alarms works out each band once, not once per alarm.
Each new version of the list remembers which places it changed, so that a caller
holding a recent version is told only those (one firing moves one band, and the
whole list may hold tens of thousands of places).

The index is a cache of the repository: loaded whole on start and by every sweep
(so that changes made through another replica arrive within a sweep), and kept
current by this process's own writes.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterable

from services.alarm.domain import Alarm
from services.alarm.evaluation import NEVER_QUIET, QuietBand, quiet_band

Pairs = tuple[tuple[str, str], ...]
"""A series' dimensions as sorted (name, value) pairs."""

Anchor = tuple[str, tuple[str, str] | None]
"""Where alarms are filed: a metric and one dimension pair (None: every series of the metric)."""

WatchList = list[tuple[Anchor, QuietBand]]
"""Each anchor some enabled alarm is filed under, with its quiet band."""

WatchChanges = list[tuple[Anchor, QuietBand | None]]
"""Places whose band changed, with their band now (None: no longer watched)."""

WATCH_VERSIONS_KEPT = 1024
"""Versions of the watch list whose changes are remembered (a caller holding an older one is given the whole list)."""

MAX_REMEMBERED_SERIES = 1_000_000
"""Series whose watchers are remembered at most (then the memory starts afresh)."""


class AlarmIndex:
    """Alarms by id and by metric name; safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._alarms: dict[str, Alarm] = {}
        self._by_anchor: dict[Anchor, set[str]] = {}
        self._evaluated: dict[str, float] = {}
        # Starts from the clock, so that a caller holding a version from before a restart never finds it current.
        self._version = time.time_ns()
        self._anchors_changed = True
        """Alarms were added, removed, refiled or switched: every band is to be worked out again."""
        self._bands: dict[Anchor, QuietBand] = {}
        """The quiet band of each watched anchor, as of the current version."""
        self._listed: WatchList | None = None
        """The current version's list, once asked for."""
        self._unsettled: set[Anchor] = set()
        """Anchors where an alarm changed its state since the watch list was last given."""
        self._history: deque[tuple[int, frozenset[Anchor]]] = deque(maxlen=WATCH_VERSIONS_KEPT)
        """The places each recent version changed, oldest first."""
        self._watchers: dict[tuple[str, Pairs], list[str]] = {}

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
                self._changed()
                self._watchers = {}
            else:
                # NOTE: every sweep reloads every alarm: with the same alarms filed the same way, only the places
                # where one changed its state are worked out again (not every band, on the next NotifySamples).
                self._unsettled.update(_anchor(alarm) for alarm in self._alarms.values() if _moved(held[alarm.id], alarm))

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
        if held is not None and held.disabled == alarm.disabled and (held.rule is alarm.rule or held.rule == alarm.rule):
            # A transition: filed where it was, watching what it watched.
            self._alarms[alarm.id] = alarm
            if _moved(held, alarm):
                self._unsettled.add(_anchor(alarm))
            return
        self._remove(alarm.id)
        self._add(alarm)
        if held is None or _anchor(held) != _anchor(alarm) or held.disabled != alarm.disabled:
            self._changed()
        else:
            self._unsettled.add(_anchor(alarm))  # a new threshold or comparison moves the band
        self._watchers = {}

    def remove(self, alarm_id: str) -> None:
        """Forget an alarm (nothing happens if it is not held)."""
        with self._lock:
            self._remove(alarm_id)
            self._evaluated.pop(alarm_id, None)
            self._changed()
            self._watchers = {}

    def get(self, alarm_id: str) -> Alarm | None:
        """The alarm held under `alarm_id`, if any."""
        with self._lock:
            return self._alarms.get(alarm_id)

    def ids(self) -> list[str]:
        """Ids of every enabled alarm."""
        with self._lock:
            return [alarm_id for alarm_id, alarm in self._alarms.items() if not alarm.disabled]

    def watching(self, metric: str, dimensions: Pairs) -> list[str]:
        """Ids of the enabled alarms whose rule counts points of this series (`dimensions` sorted); the list is not to be changed."""
        key = (metric, dimensions)
        with self._lock:
            watchers = self._watchers.get(key)
            if watchers is None:
                if len(self._watchers) >= MAX_REMEMBERED_SERIES:
                    self._watchers = {}
                watchers = self._watchers[key] = self._find_watchers(metric, dimensions)
            return watchers

    def _find_watchers(self, metric: str, dimensions: Pairs) -> list[str]:
        candidate_ids = set(self._by_anchor.get((metric, None), ()))
        for pair in dimensions:
            candidate_ids.update(self._by_anchor.get((metric, pair), ()))
        by_name = dict(dimensions)
        candidates = [self._alarms[alarm_id] for alarm_id in candidate_ids]
        return [alarm.id for alarm in candidates if not alarm.disabled and alarm.rule.matches_series(metric, by_name)]

    def watch_list(self) -> tuple[int, WatchList]:
        """The version of what the enabled alarms watch, and the list: where they are filed (see _anchor) and each place's quiet band.

        The version changes only when the list does; the list is worked out again after a change that may have changed it.
        """
        with self._lock:
            self._settle()
            if self._listed is None:
                self._listed = list(self._bands.items())
            return self._version, self._listed

    def watch_changes(self, since: int) -> tuple[int, WatchChanges] | None:
        """The version now and what changed in the watch list since version `since`; None if not known (too old, or not ours)."""
        with self._lock:
            self._settle()
            history = self._history
            if since == self._version:
                return self._version, []
            if not history or not history[0][0] - 1 <= since < self._version:
                return None
            changed: set[Anchor] = set()
            for version, anchors in reversed(history):
                if version <= since:
                    break
                changed |= anchors
            return self._version, [(anchor, self._bands.get(anchor)) for anchor in changed]

    def _settle(self) -> None:
        """Work out the bands of the places that may have changed, and move the version if any did (the lock is held)."""
        if self._anchors_changed:
            held = self._bands
            self._bands = {anchor: band for anchor, ids in self._by_anchor.items() if (band := self._band(ids)) is not None}
            changed = frozenset(anchor for anchor in held.keys() | self._bands.keys() if self._bands.get(anchor) != held.get(anchor))
            self._anchors_changed = False
        elif self._unsettled:
            moved = set()
            for anchor in self._unsettled:
                band = self._band(self._by_anchor.get(anchor, ()))
                if band != self._bands.get(anchor):
                    moved.add(anchor)
                    if band is None:
                        del self._bands[anchor]
                    else:
                        self._bands[anchor] = band
            changed = frozenset(moved)
        else:
            return
        self._unsettled = set()
        if changed:
            self._version += 1
            self._history.append((self._version, changed))
            self._listed = None

    def _band(self, alarm_ids: Iterable[str]) -> QuietBand | None:
        """The values no enabled alarm of these could move out of its state; None when none is enabled."""
        low, high, enabled = -math.inf, math.inf, False
        for alarm_id in alarm_ids:
            alarm = self._alarms[alarm_id]
            if alarm.disabled:
                continue
            enabled = True
            # NotifySamples evaluates an alarm repeating its actions whatever the values (its actions may be due).
            alarm_low, alarm_high = NEVER_QUIET if alarm.repeat_actions else quiet_band(alarm.rule, alarm.state)
            low, high = max(low, alarm_low), min(high, alarm_high)
        if not enabled:
            return None
        return (low, high) if low <= high else NEVER_QUIET

    def note_evaluated(self, alarm_id: str, time: float) -> None:
        """Remember when an alarm was last evaluated (kept in memory: storing it would write on every evaluation)."""
        self._evaluated[alarm_id] = time  # one dict store: atomic under the GIL, and the sweep does it 10 000 times

    def evaluate_time(self, alarm_id: str) -> float | None:
        """When this process last evaluated the alarm, if it has."""
        return self._evaluated.get(alarm_id)

    def _changed(self) -> None:
        """What is watched may have changed: the list is rebuilt (and its version moves if it did) when next asked."""
        self._anchors_changed = True

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


def _moved(held: Alarm, alarm: Alarm) -> bool:
    """Whether an alarm filed where it was may have a new quiet band (see AlarmIndex._band)."""
    return held.state is not alarm.state or held.repeat_actions != alarm.repeat_actions


def _watch_shapes(alarms: dict[str, Alarm]) -> dict[str, tuple[object, bool]]:
    """What decides which series each alarm watches."""
    return {alarm_id: (alarm.rule, alarm.disabled) for alarm_id, alarm in alarms.items()}
