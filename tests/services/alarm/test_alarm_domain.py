"""The alarm's own behaviour: its copy in another state."""

from __future__ import annotations

from dataclasses import replace

import pytest

from autoscale.series import Statistic
from services.alarm.domain import Alarm, AlarmState, ComparisonOperator, ThresholdRule

ALARM = Alarm(
    id="high", rule=ThresholdRule("cpu", (("group", "web"),), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 80.0, 60.0, 2),
    alarm_actions=("policies/up",), create_time=5.0, revision=3,
)


def test_an_alarm_in_another_state_equals_one_built_with_that_state_and_shares_its_rule():
    moved = ALARM.in_state(AlarmState.ALARM, "hot", 20.0, 21.0)
    assert moved == replace(ALARM, state=AlarmState.ALARM, state_reason="hot", state_time=20.0, evaluate_time=21.0)
    assert moved.rule is ALARM.rule and hash(moved) == hash(replace(moved))
    assert ALARM.state is AlarmState.INSUFFICIENT_DATA


def test_an_alarm_in_another_state_is_still_frozen():
    with pytest.raises(AttributeError):
        ALARM.in_state(AlarmState.OK, "fine", 1.0, 1.0).state = AlarmState.ALARM  # type: ignore[misc]
