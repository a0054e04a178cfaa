"""What one evaluation decides for one alarm, as Aodh's evaluator shape has it: pure, with time passed in.

The datapoints of the alarm's window put it in a state (evaluation.evaluate_rule);
it moves when that is another state than its own, and the actions of the new state are due;
it stays otherwise, and the repeated actions of its state are due once a period has passed
since they last ran (Alarm.repeat_due). An alarm over an external store that stays in
INSUFFICIENT_DATA for another reason than the one it holds (the store went down, the
query became wrong) restates it: its reason is stored, no action runs, so that
state_reason always says why such an alarm cannot be judged. A composite alarm that stays
in its state restates it too when the states that hold it there changed (its reason names
them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from services.alarm import composite
from services.alarm.domain import Alarm, AlarmState, CompositeRule, GnocchiRule, PrometheusRule
from services.alarm.evaluation import Datapoint, Evaluation, evaluate_rule, store_unavailable


class Decision(NamedTuple):
    """An evaluation's outcome for one alarm (a tuple: a sweep makes one per alarm)."""

    alarm: Alarm
    """The alarm as it was judged (its state and revision: what a transition compares and sets)."""
    evaluation: Evaluation
    """The state its datapoints put it in, and why."""
    moves: bool
    """Whether it leaves its state."""
    repeats: bool
    """Whether it stays, and the repeated actions of its state are due."""
    restates: bool = False
    """Whether it stays in INSUFFICIENT_DATA for another reason, to be stored (an alarm over an external store only)."""

    @property
    def actions(self) -> tuple[str, ...]:
        """The actions due: the new state's on a move, the repeated ones when due, else none."""
        if self.moves:
            return self.alarm.actions_for(self.evaluation.state)
        return self.alarm.repeated_actions() if self.repeats else ()


def decide(alarm: Alarm, datapoints: list[Datapoint], now: float) -> Decision:
    """What the datapoints of its window decide for `alarm`, a periodic rule's, at `now`."""
    assert not isinstance(alarm.rule, CompositeRule), "a composite rule reads states, not datapoints"
    return _decided(alarm, evaluate_rule(alarm.rule, alarm.state, datapoints, now), now)


def decide_unavailable(alarm: Alarm, reason: str, now: float) -> Decision:
    """What a store that could not answer (`reason` says why) decides for `alarm`, a rule over it, at `now`:
    INSUFFICIENT_DATA."""
    assert isinstance(alarm.rule, (PrometheusRule, GnocchiRule)), "the metrics service failing leaves states as they are"
    return _decided(alarm, store_unavailable(alarm.rule, reason), now)


def decide_composite(alarm: Alarm, states: Mapping[str, AlarmState], now: float) -> Decision:
    """What the states of the alarms its expression names (by id; one missing counts as INSUFFICIENT_DATA) decide for
    `alarm`, a composite rule's, at `now`."""
    assert isinstance(alarm.rule, CompositeRule)
    state, reason, named = composite.judge(alarm.rule.expression, states)
    return _decided(alarm, Evaluation(state, reason, {"type": "composite", "alarms": named}), now)


def _decided(alarm: Alarm, evaluation: Evaluation, now: float) -> Decision:
    moves = evaluation.state is not alarm.state
    rule = alarm.rule
    restates = not moves and evaluation.reason != alarm.state_reason and (
        isinstance(rule, CompositeRule)
        or (evaluation.state is AlarmState.INSUFFICIENT_DATA and isinstance(rule, (PrometheusRule, GnocchiRule)))
    )
    return Decision(alarm, evaluation, moves, not moves and alarm.repeat_due(now), restates)
