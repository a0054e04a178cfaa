"""The alarms of this process, of every project, in memory, so that arriving samples find their alarms at once.

An alarm is named by its project and id (AlarmKey): ids repeat across projects. Each
alarm is filed under its project, its metric and one of its rule's dimension pairs
(its anchor; no pair when the rule has no dimensions), so a series is checked only
against the alarms of its own project that share its metric and one of its pairs,
however many alarms watch other series of the same metric or other projects' series.

What watches a series is remembered per project and series (by its id in the metrics
service's catalogue: an id names one series for good) until an alarm of that project
is added, removed, or changes its rule or switch: NotifySamples asks it for every
series of every call, and the series' metric and dimensions are read only the first
time. A series is asked for in the project its notification acts in, and only that
project's alarms answer, whatever another project's call named under the same id.

Alarms over an external store (a PrometheusRule, a GnocchiRule) watch no series of ours: they are
held by key only, filed under no anchor, and the sweep of the stores evaluates them
(`store_keys`), not arriving samples. Composite alarms watch no series either; they are
filed under each alarm their expression names (`composites_naming`), so that a change of
state finds the composite alarms to judge again at once.

The index is a cache of the repository: loaded whole on start and by a periodic
reload (so that changes made through another replica arrive), and kept current by
this process's own writes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from autoscale.series import Pairs, dimensions_from_key
from services.alarm import composite
from services.alarm.domain import Alarm, AlarmKey, CompositeRule, GnocchiRule, PrometheusRule, ThresholdRule

Anchor = tuple[str, str, tuple[str, str] | None]
"""Where alarms are filed: a project, a metric and one dimension pair (None: every series of the metric)."""

MAX_REMEMBERED_SERIES = 500_000
"""Series whose watchers are remembered at most, every project's together (then the memory starts afresh)."""

MAX_CATALOGUES = 16
"""Catalogues (metrics processes) whose series' watchers are remembered at once in a project (then its memory starts afresh)."""


class AlarmIndex:
    """Alarms of every project by key and by anchor; safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._alarms: dict[AlarmKey, Alarm] = {}
        self._by_anchor: dict[Anchor, set[AlarmKey]] = {}
        self._evaluated: dict[AlarmKey, float] = {}
        self._named_by: dict[AlarmKey, set[AlarmKey]] = {}
        """By alarm: the composite alarms of its project whose expression names it."""
        self._watchers: dict[str, dict[str, dict[int, list[str]]]] = {}
        """By project, then catalogue, then series id: the ids of the project's alarms that watch the series."""
        self._remembered = 0
        """Series remembered in `_watchers`, every project's together."""

    def replace_all(self, alarms: Iterable[Alarm]) -> None:
        """Forget every alarm and hold these, of every project (evaluation times known here are kept, and so are definitions
        held that are newer than the ones given)."""
        with self._lock:
            held = self._alarms
            self._alarms = {}
            self._by_anchor = {}
            self._named_by = {}
            for alarm in alarms:
                kept = held.get(alarm.key)
                # A definition this process stored after the reload read the repository stays.
                self._add(kept if kept is not None and _is_older_definition(alarm, kept) else alarm)
            self._evaluated = {key: time for key, time in self._evaluated.items() if key in self._alarms}
            before, after = _watch_shapes(held), _watch_shapes(self._alarms)
            for project in before.keys() | after.keys():
                if before.get(project) != after.get(project):
                    self._forget_watchers(project)

    def put(self, alarm: Alarm) -> None:
        """Hold `alarm`, replacing what was held under its key."""
        self.put_many([alarm])

    def put_many(self, alarms: Iterable[Alarm]) -> None:
        """`put` each alarm (under one hold of the lock: a sweep puts thousands)."""
        with self._lock:
            for alarm in alarms:
                self._put(alarm)

    def _put(self, alarm: Alarm) -> None:
        key = alarm.key
        held = self._alarms.get(key)
        if held is not None and _is_older_definition(alarm, held):
            # A state write judged at the older definition, whose put lost the race to this process's update (the
            # database took them in the other order): what is held is newer.
            return
        if held is not None and held.disabled == alarm.disabled and held.rule == alarm.rule:
            # A transition: filed where it was, watching what it watched.
            self._alarms[key] = alarm
            return
        self._remove(key)
        self._add(alarm)
        self._forget_watchers(alarm.project)

    def remove(self, key: AlarmKey) -> None:
        """Forget an alarm (nothing happens if it is not held)."""
        with self._lock:
            self._remove(key)
            self._evaluated.pop(key, None)
            self._forget_watchers(key[0])

    def get(self, key: AlarmKey) -> Alarm | None:
        """The alarm held under `key`, if any."""
        with self._lock:
            return self._alarms.get(key)

    def keys(self) -> list[AlarmKey]:
        """Keys of every enabled alarm of every project."""
        with self._lock:
            return [key for key, alarm in self._alarms.items() if not alarm.disabled]

    def builtin_keys(self) -> list[AlarmKey]:
        """Keys of every enabled alarm over the metrics service (a ThresholdRule), of every project."""
        with self._lock:
            return [key for key, alarm in self._alarms.items() if not alarm.disabled and isinstance(alarm.rule, ThresholdRule)]

    def store_keys(self) -> list[AlarmKey]:
        """Keys of every enabled alarm over an external store, of every project."""
        with self._lock:
            return [
                key for key, alarm in self._alarms.items()
                if not alarm.disabled and isinstance(alarm.rule, (PrometheusRule, GnocchiRule))
            ]

    def composite_keys(self) -> list[AlarmKey]:
        """Keys of every enabled composite alarm, of every project."""
        with self._lock:
            return [key for key, alarm in self._alarms.items() if not alarm.disabled and isinstance(alarm.rule, CompositeRule)]

    def composites_naming(self, keys: Iterable[AlarmKey], *, enabled_only: bool = True) -> list[AlarmKey]:
        """Keys of the composite alarms whose expression names one of these alarms (of the same project), in key order."""
        with self._lock:
            found = {composite_key for key in keys for composite_key in self._named_by.get(key, ())}
            return sorted(
                key for key in found if not enabled_only or not self._alarms[key].disabled
            )

    def named_ids(self, key: AlarmKey) -> frozenset[str]:
        """The ids of the alarms the expression of the composite alarm `key` names (none for any other alarm)."""
        with self._lock:
            alarm = self._alarms.get(key)
        return _named(alarm) if alarm is not None else frozenset()

    def watching(
        self, project: str, catalogue: str, series_ids: Sequence[int], metrics: Sequence[str], dimensions: Sequence[str]
    ) -> list[list[str] | None]:
        """For each series of `project` (its id in `catalogue`, and its metric and canonical dimensions key at the same place),
        the ids of the project's enabled alarms whose rule counts its points; None where the dimensions key, read because the
        series is new here, is no JSON object of strings. The lists are not to be changed."""
        with self._lock:
            catalogues = self._watchers.setdefault(project, {})
            known = catalogues.get(catalogue)
            if known is None:
                if len(catalogues) >= MAX_CATALOGUES:
                    self._forget_watchers(project)
                    catalogues = self._watchers[project] = {}
                known = catalogues[catalogue] = {}
            # NOTE: in bulk (map runs in C): a notification names up to 100 000 series, nearly all of them known here.
            answers: list[list[str] | None] = list(map(known.get, series_ids))
            if None in answers:
                if self._remembered + len(series_ids) > MAX_REMEMBERED_SERIES:
                    # Every project's memory starts afresh (this call's answers found so far stay right).
                    known.clear()
                    self._watchers, self._remembered = {project: {catalogue: known}}, 0
                remembered_before = len(known)
                for position, series_id in enumerate(series_ids):
                    if answers[position] is not None:
                        continue
                    try:
                        pairs = dimensions_from_key(dimensions[position])
                    except ValueError:
                        continue
                    answers[position] = known[series_id] = self._find_watchers(project, metrics[position], pairs)
                self._remembered += len(known) - remembered_before
        return answers

    def _find_watchers(self, project: str, metric: str, dimensions: Pairs) -> list[str]:
        candidate_keys = set(self._by_anchor.get((project, metric, None), ()))
        for pair in dimensions:
            candidate_keys.update(self._by_anchor.get((project, metric, pair), ()))
        by_name = dict(dimensions)
        candidates = [self._alarms[key] for key in candidate_keys]
        return [
            alarm.id for alarm in candidates
            if not alarm.disabled and isinstance(alarm.rule, ThresholdRule) and alarm.rule.matches_series(metric, by_name)
        ]

    def note_evaluated(self, key: AlarmKey, time: float) -> None:
        """Remember when an alarm was last evaluated (kept in memory: storing it would write on every evaluation)."""
        self._evaluated[key] = time  # one dict store: atomic under the GIL, and the sweep does it 10 000 times

    def evaluate_time(self, key: AlarmKey) -> float | None:
        """When this process last evaluated the alarm, if it has."""
        return self._evaluated.get(key)

    def _forget_watchers(self, project: str) -> None:
        """Forget what watches the series of `project` (an alarm of it changed what it watches)."""
        catalogues = self._watchers.pop(project, None)
        if catalogues:
            self._remembered -= sum(map(len, catalogues.values()))

    def _add(self, alarm: Alarm) -> None:
        key = alarm.key
        self._alarms[key] = alarm
        for alarm_id in _named(alarm):
            self._named_by.setdefault((alarm.project, alarm_id), set()).add(key)
        anchor = _anchor(alarm)
        if anchor is not None:
            self._by_anchor.setdefault(anchor, set()).add(key)

    def _remove(self, key: AlarmKey) -> None:
        alarm = self._alarms.pop(key, None)
        if alarm is None:
            return
        for alarm_id in _named(alarm):
            naming = self._named_by.get((alarm.project, alarm_id))
            if naming is not None:
                naming.discard(key)
                if not naming:
                    del self._named_by[(alarm.project, alarm_id)]
        anchor = _anchor(alarm)
        if anchor is None:
            return
        filed = self._by_anchor.get(anchor)
        if filed is not None:
            filed.discard(key)
            if not filed:
                del self._by_anchor[anchor]


def _anchor(alarm: Alarm) -> Anchor | None:
    """Where an alarm is filed: its project, its metric and its rule's first dimension pair (a series must have every pair);
    None for a rule over an external store (it watches no series of ours)."""
    rule = alarm.rule
    if not isinstance(rule, ThresholdRule):
        return None
    dimensions = rule.dimensions
    return alarm.project, rule.metric, dimensions[0] if dimensions else None


def _named(alarm: Alarm) -> frozenset[str]:
    """The ids of the alarms a composite alarm's expression names (none for any other alarm)."""
    rule = alarm.rule
    return composite.references(composite.parse(rule.expression)) if isinstance(rule, CompositeRule) else frozenset()


def _watch_shapes(alarms: dict[AlarmKey, Alarm]) -> dict[str, dict[str, tuple[object, bool]]]:
    """What decides which series each alarm watches, by project."""
    shapes: dict[str, dict[str, tuple[object, bool]]] = {}
    for (project, alarm_id), alarm in alarms.items():
        shapes.setdefault(project, {})[alarm_id] = (alarm.rule, alarm.disabled)
    return shapes


def _is_older_definition(alarm: Alarm, held: Alarm) -> bool:
    """Whether `alarm` is the same alarm as `held` (not one deleted and made again under its id) at an earlier revision."""
    return alarm.create_time == held.create_time and alarm.revision < held.revision
