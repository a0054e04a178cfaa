"""decide(alarm, datapoints, now): the state the datapoints put an alarm in, whether it moves, and the actions due."""

from __future__ import annotations

from dataclasses import replace

from autoscale.series import Statistic
from services.alarm.decision import decide
from services.alarm.domain import Alarm, AlarmState, ComparisonOperator, ThresholdRule
from services.alarm.evaluation import Datapoint

RULE = ThresholdRule("cpu", (), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 80.0, 60.0, 1)
ALARM = Alarm(project="p", id="a", rule=RULE, alarm_actions=("policies/out",), ok_actions=("https://hooks.example/ok",), state_time=0.0)
NOW = 600.0
HOT = [Datapoint(540.0, 95.0, 3)]
COOL = [Datapoint(540.0, 10.0, 3)]


def test_a_move_decides_the_new_states_actions():
    decision = decide(ALARM, HOT, NOW)
    assert (decision.evaluation.state, decision.moves, decision.repeats) == (AlarmState.ALARM, True, False)
    assert decision.actions == ("policies/out",)
    assert decide(ALARM, COOL, NOW).actions == ("https://hooks.example/ok",)


def test_staying_decides_the_repeated_actions_once_a_period_passed_since_they_last_ran():
    in_alarm = replace(ALARM, state=AlarmState.ALARM, state_time=NOW - 60)
    assert decide(in_alarm, HOT, NOW)[2:4] == (False, True) and decide(in_alarm, HOT, NOW).actions == ("policies/out",)
    just_repeated = replace(in_alarm, repeat_time=NOW - 30)
    assert decide(just_repeated, HOT, NOW)[2:4] == (False, False) and decide(just_repeated, HOT, NOW).actions == ()


def test_staying_in_a_state_whose_webhooks_do_not_repeat_decides_no_action():
    in_ok = replace(ALARM, state=AlarmState.OK, state_time=0.0)
    decision = decide(in_ok, COOL, NOW)
    assert (decision.moves, decision.repeats, decision.actions) == (False, False, ())


def test_too_few_datapoints_decide_insufficient_data():
    decision = decide(replace(ALARM, state=AlarmState.OK), [], NOW)
    assert (decision.evaluation.state, decision.moves) == (AlarmState.INSUFFICIENT_DATA, True)
