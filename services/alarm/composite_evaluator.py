"""Evaluating composite alarms: judged from the states the index holds, whenever an alarm they name changes state.

The unit of work tells this evaluator of every transition it stores (`states_changed`),
after the index holds it; the composite alarms that name a moved alarm are judged again
at once, and their own transitions reach composite alarms that name them in turn. The
sweep, create and update judge them too (`evaluate`), which catches transitions stored
by another replica (they reach this index by its periodic reload).

Judgements are made one at a time, each from the index as it stands then: two alarms
moving at once on two threads are both seen by the judgement made last, so that a
composite alarm never keeps a state judged from a stale view of its alarms.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from autoscale.timeutil import Clock
from services.alarm.decision import Decision, decide_composite
from services.alarm.domain import Alarm, AlarmState, CompositeRule, describe_alarm
from services.alarm.index import AlarmIndex

log = logging.getLogger(__name__)

CHUNK = 500
"""Composite alarms judged, and their decisions stored, under one hold of the lock."""

MAX_CASCADE = 16
"""Composite alarms naming composite alarms that one change moves in a chain at most (the rest wait for the sweep): cycles
are refused where alarms are defined (under the project's definitions lock), so this bounds the work of one change, and
a cycle stored before that check existed."""

Apply = Callable[[Sequence[Decision], float], None]
"""Stores what decisions at a time change (services.alarm.unit_of_work.AlarmWrites.apply)."""


class CompositeEvaluator:
    """Judges composite alarms, on the threads that call it."""

    def __init__(self, index: AlarmIndex, clock: Clock) -> None:
        self._index = index
        self._clock = clock
        self._apply: Apply | None = None
        self._judging = threading.RLock()
        """Held while judging: one judgement at a time, and a cascade re-enters it on its own thread."""
        self._cascade = threading.local()

    def applying_through(self, apply: Apply) -> None:
        """Store decisions through `apply` (the unit of work, which in turn tells this evaluator of transitions)."""
        self._apply = apply

    def evaluate(self, alarms: Sequence[Alarm]) -> int:
        """Judge these alarms' composite ones (others are ignored), as the index holds them now; returns how many."""
        return self._judge([alarm.key for alarm in alarms if isinstance(alarm.rule, CompositeRule)])

    def states_changed(self, moved: Sequence[Alarm]) -> None:
        """Judge again the enabled composite alarms that name an alarm that just changed state."""
        keys = self._index.composites_naming([alarm.key for alarm in moved])
        if not keys:
            return
        depth = getattr(self._cascade, "depth", 0)
        if depth >= MAX_CASCADE:
            log.warning(
                "%s and %d more composite alarms are left to the sweep: %d composite alarms in a chain moved at once",
                describe_alarm(keys[0]), len(keys) - 1, MAX_CASCADE,
            )
            return
        self._cascade.depth = depth + 1
        try:
            self._judge(keys)
        finally:
            self._cascade.depth = depth

    def _judge(self, keys: Sequence[tuple[str, str]]) -> int:
        if self._apply is None:
            return 0
        judged = 0
        # A chunk at a time, the lock let go between them: a sweep of thousands never holds up a transition's judgement
        # (SetAlarmState's among them) for longer than one chunk's.
        for begin in range(0, len(keys), CHUNK):
            with self._judging:
                now = self._clock()
                decisions = []
                for key in keys[begin : begin + CHUNK]:
                    alarm = self._index.get(key)
                    if alarm is None or alarm.disabled or not isinstance(alarm.rule, CompositeRule):
                        continue
                    states = {alarm_id: self._state_of(alarm.project, alarm_id) for alarm_id in self._index.named_ids(key)}
                    try:
                        decisions.append(decide_composite(alarm, states, now))
                    except Exception:
                        log.exception("evaluating %s failed", describe_alarm(key))
                self._apply(decisions, now)
                judged += len(decisions)
        return judged

    def _state_of(self, project: str, alarm_id: str) -> AlarmState:
        named = self._index.get((project, alarm_id))
        return named.state if named is not None else AlarmState.INSUFFICIENT_DATA
