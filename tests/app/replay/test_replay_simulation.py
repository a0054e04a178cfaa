"""The replay runs a group's alarms and policies over datapoints as the services would, with time an input."""

from __future__ import annotations

import pytest

from app.replay.samples import Sample, WindowSums
from app.replay.simulation import MAX_TICKS, Scenario, replay, ticks
from autoscale.series import Statistic
from services.alarm.domain import Alarm, AlarmState, ComparisonOperator, CompositeRule, ThresholdRule
from services.alarm.evaluation import Datapoint
from services.group.domain import Group
from services.group.schedule import ScheduledAction
from services.policy.domain import (
    AdjustmentType,
    Policy,
    PredefinedMetricType,
    StepAdjustment,
    TargetTracking,
    TrackedMetric,
)
from services.policy.forecast import DAY, FloorMode, PredictiveFloor

START = 1_800_000_000.0  # a multiple of 60
MINUTE = 60.0


def cpu_alarm(alarm_id: str, comparison: ComparisonOperator, threshold: float, action: str) -> Alarm:
    rule = ThresholdRule("cpu", (), Statistic.AVERAGE, comparison, threshold, MINUTE, 1)
    return Alarm(id=alarm_id, rule=rule, alarm_actions=(action,), project="p")


def minutes(*values: float) -> list[Datapoint]:
    """One datapoint a minute from START."""
    return [Datapoint(START + number * MINUTE, value, 1) for number, value in enumerate(values)]


def scenario(alarms: tuple[Alarm, ...], policies: tuple[Policy, ...], values: list[float], **fields) -> Scenario:  # type: ignore[no-untyped-def]
    group = Group(id="web", launch_config_id="lc", min_size=1, max_size=4, desired_capacity=1, cooldown=120.0)
    points = minutes(*values)
    return Scenario(
        group=fields.pop("group", group), alarms=alarms, policies=policies,
        datapoints={alarm.id: points for alarm in alarms if isinstance(alarm.rule, ThresholdRule)},
        start=START, end=START + (len(values) - 1) * MINUTE, tick=MINUTE, **fields,
    )


OUT = Policy("out", "web", AdjustmentType.CHANGE_IN_CAPACITY, 1)
IN = Policy("in", "web", AdjustmentType.CHANGE_IN_CAPACITY, -1)
HIGH = cpu_alarm("high", ComparisonOperator.GREATER_THAN, 80.0, "policies/out")
LOW = cpu_alarm("low", ComparisonOperator.LESS_THAN, 30.0, "policies/in")


def test_a_simple_policy_repeats_each_period_while_its_alarm_stays_and_honours_the_cooldown():
    moments = replay(scenario((HIGH, LOW), (OUT, IN), [50, 90, 90, 90, 90, 90, 90, 90, 20, 20, 20, 20, 20]))
    # Out at 1; a minute later the 120 s cooldown refuses; out at 3, 5; at max (4) from 5; in from 8, every 2 minutes.
    assert [m.desired_capacity for m in moments] == [1, 2, 2, 3, 3, 4, 4, 4, 3, 3, 2, 2, 1]
    assert any("is in cooldown until" in event for event in moments[2].events)
    assert moments[1].states["high"] is AlarmState.ALARM and moments[1].values["high"] == 90.0


def test_a_step_policy_adds_only_what_instances_warming_up_do_not_cover_as_aws_documents():
    steps_policy = Policy(
        "steps", "web", AdjustmentType.PERCENT_CHANGE_IN_CAPACITY, 0,
        step_adjustments=(StepAdjustment(0.0, 10.0, 10), StepAdjustment(10.0, None, 30)), estimated_instance_warmup=300.0,
    )
    alarm = cpu_alarm("steps", ComparisonOperator.GREATER_THAN, 50.0, "policies/steps")
    group = Group(id="web", launch_config_id="lc", min_size=1, max_size=20, desired_capacity=10)
    moments = replay(scenario((alarm,), (steps_policy,), [40, 55, 55, 65], group=group, launch_seconds=0.0))
    # 10 warmed up: +10 % asks 11; the same step again adds nothing (the 11th warms up); +30 % of 10 asks 13.
    assert [m.desired_capacity for m in moments] == [10, 11, 11, 13]


def test_a_composite_alarm_gates_its_policy_on_the_states_it_names():
    deploying = cpu_alarm("deploying", ComparisonOperator.GREATER_THAN, 1000.0, "policies/none")
    busy = Alarm(id="busy", rule=ThresholdRule("cpu", (), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 80.0, MINUTE, 1),
                 project="p")
    gate = Alarm(id="gate", rule=CompositeRule("ALARM(busy) AND NOT ALARM(deploying)"), alarm_actions=("policies/out",), project="p")
    moments = replay(scenario((busy, deploying, gate), (OUT,), [50, 90, 90]))
    assert moments[1].states["gate"] is AlarmState.ALARM
    assert [m.desired_capacity for m in moments] == [1, 2, 2]  # the repeat a minute later meets the cooldown


def test_a_scheduled_action_raises_the_floor_at_its_time():
    action = ScheduledAction(id="morning", group_id="web", start_time=START + 2 * MINUTE, min_size=3)
    moments = replay(scenario((HIGH,), (OUT,), [50, 50, 50, 50], scheduled_actions=(action,)))
    assert [m.desired_capacity for m in moments] == [1, 1, 3, 3]
    assert [m.min_size for m in moments] == [1, 1, 3, 3]
    assert "scheduled action morning" in moments[2].events[0]


def test_a_replay_is_refused_beyond_its_tick_limit():
    with pytest.raises(ValueError, match=f"at most {MAX_TICKS}"):
        ticks(0.0, MAX_TICKS * 1.0, 1.0)
    assert ticks(0.0, 120.0, 60.0) == [0.0, 60.0, 120.0]


def test_a_target_tracking_policy_scales_out_at_once_and_in_only_after_its_stabilization_window():
    tracking = TargetTracking(50.0, TrackedMetric(predefined=PredefinedMetricType.ASG_AVERAGE_CPU_UTILIZATION))
    policy = Policy("cpu", "web", AdjustmentType.EXACT_CAPACITY, 0, target_tracking=tracking, estimated_instance_warmup=0.0)
    rule = ThresholdRule("cpu", (), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 50.0, MINUTE, 1)
    owned = Alarm(id="cpu-target", rule=rule, alarm_actions=("policies/cpu",), ok_actions=("policies/cpu",), project="p")
    moments = replay(scenario((owned,), (policy,), [150, 50, 20, 20, 20, 20, 20, 20, 20, 20]))
    capacities = [m.desired_capacity for m in moments]
    # ceil(1 × 150 / 50) = 3 at once; 20 asks ceil(3 × 20 / 50) = 2, held for HPA's 300 s scale-down window.
    assert capacities[:6] == [3, 3, 3, 3, 3, 3] and capacities[-1] == 2
    assert "stabilized at 3" in " ".join(moments[3].events)


def test_a_target_tracking_policy_leaves_instances_warming_up_out_of_a_scale_out_as_the_policy_service_does():
    tracking = TargetTracking(50.0, TrackedMetric(predefined=PredefinedMetricType.ASG_AVERAGE_CPU_UTILIZATION))
    policy = Policy("cpu", "web", AdjustmentType.EXACT_CAPACITY, 0, target_tracking=tracking, estimated_instance_warmup=150.0)
    rule = ThresholdRule("cpu", (), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 50.0, MINUTE, 1)
    owned = Alarm(id="cpu-target", rule=rule, alarm_actions=("policies/cpu",), ok_actions=("policies/cpu",), project="p")
    group = Group(id="web", launch_config_id="lc", min_size=1, max_size=20, desired_capacity=1)
    moments = replay(scenario((owned,), (policy,), [100, 100, 150, 100, 100], group=group, launch_seconds=0.0))
    # 1 warmed up asks 2 (the 2nd in service at 0 s, warm at 150 s); at 60 s the same load asks 2 again, at 120 s a higher
    # one 3 (1 × 150 / 50); at 180 s two are warm: 2 × 100 / 50 = 4; at 240 s the 3rd still warms up: 4 again.
    assert [m.desired_capacity for m in moments] == [2, 2, 3, 4, 4]
    assert "with 1 in service and warmed up: 2 recommended (1 warming up, not counted)" in " ".join(moments[1].events)


def test_a_predictive_floor_holds_the_capacity_up_to_the_load_of_a_season_before_as_the_policy_service_does():
    # The load a day before each tick (+ the 300 s buffer): 200 in total over the group, against a target of 50 a
    # instance: a floor of 4, although the metric now (20) asks for 1.
    floor = PredictiveFloor(seasons=(DAY,), mode=FloorMode.FORECAST_AND_SCALE, sample_interval=MINUTE)
    tracking = TargetTracking(
        50.0, TrackedMetric(predefined=PredefinedMetricType.ASG_AVERAGE_CPU_UTILIZATION), predictive_floor=floor,
    )
    policy = Policy("cpu", "web", AdjustmentType.EXACT_CAPACITY, 0, target_tracking=tracking, estimated_instance_warmup=0.0)
    rule = ThresholdRule("cpu", (), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 50.0, MINUTE, 1)
    owned = Alarm(id="cpu-target", rule=rule, alarm_actions=("policies/cpu",), ok_actions=("policies/cpu",), project="p")
    day_before = WindowSums("cpu_utilization", {"group": "web"}, [
        Sample(START - DAY + number * MINUTE, "cpu_utilization", {"group": "web", "instance": "i-1"}, 200.0) for number in range(20)
    ])

    moments = replay(scenario((owned,), (policy,), [20, 20, 20], history={"cpu": day_before}))

    assert [m.desired_capacity for m in moments] == [4, 4, 4]
    said = " ".join(moments[0].events)
    assert "forecast load 200: floor 4" in said and "held up at 4 by the predictive floor" in said
    without = replay(scenario((owned,), (policy,), [20, 20, 20]))  # no history: no floor, and it says so
    assert [m.desired_capacity for m in without] == [1, 1, 1]
    assert "forecast: no samples one season before: no floor" in " ".join(without[0].events)


def test_a_forecast_only_floor_is_shown_and_never_applied():
    floor = PredictiveFloor(seasons=(DAY,), sample_interval=MINUTE)  # FORECAST_ONLY, AWS's default
    tracking = TargetTracking(50.0, TrackedMetric(predefined=PredefinedMetricType.ASG_AVERAGE_CPU_UTILIZATION), predictive_floor=floor)
    policy = Policy("cpu", "web", AdjustmentType.EXACT_CAPACITY, 0, target_tracking=tracking, estimated_instance_warmup=0.0)
    rule = ThresholdRule("cpu", (), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 50.0, MINUTE, 1)
    owned = Alarm(id="cpu-target", rule=rule, alarm_actions=("policies/cpu",), ok_actions=("policies/cpu",), project="p")
    history = WindowSums("cpu_utilization", {}, [Sample(START - DAY + 300.0, "cpu_utilization", {}, 150.0)])

    moments = replay(scenario((owned,), (policy,), [20, 20], history={"cpu": history}))

    assert [m.desired_capacity for m in moments] == [1, 1]
    assert "forecast load 150: floor 3" in " ".join(moments[0].events)
