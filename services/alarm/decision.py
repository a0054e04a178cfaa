"""What one evaluation decides for one alarm, as Aodh's evaluator shape has it: pure, with time passed in.

The datapoints of the alarm's window put it in a state (evaluation.evaluate_threshold_rule);
it moves when that is another state than its own, and the actions of the new state are due;
it stays otherwise, and the repeated actions of its state are due once a period has passed
since they last ran (Alarm.repeat_due).
"""

from __future__ import annotations

from typing import NamedTuple

from services.alarm.domain import Alarm
from services.alarm.evaluation import Datapoint, Evaluation, evaluate_threshold_rule


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

    @property
    def actions(self) -> tuple[str, ...]:
        """The actions due: the new state's on a move, the repeated ones when due, else none."""
        if self.moves:
            return self.alarm.actions_for(self.evaluation.state)
        return self.alarm.repeated_actions() if self.repeats else ()


def decide(alarm: Alarm, datapoints: list[Datapoint], now: float) -> Decision:
    """What the datapoints of its window decide for `alarm` at `now`."""
    evaluation = evaluate_threshold_rule(alarm.rule, alarm.state, datapoints, now)
    moves = evaluation.state is not alarm.state
    return Decision(alarm, evaluation, moves, not moves and alarm.repeat_due(now))
