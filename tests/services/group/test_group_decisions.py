"""Scaling decisions: the capacity maths step by step, and the decision each outcome of an Adjust records."""

from __future__ import annotations

import pytest

from services.group.capacity import adjustment_activity, calculation
from services.group.decisions import adjust_calculation, adjust_decision, adjust_source, set_desired_decision
from services.group.domain import (
    AdjustCommand,
    AdjustmentType,
    AdjustOutcome,
    CapacityCalculation,
    DecisionOutcome,
    DecisionSource,
    Group,
    Instance,
    InstanceState,
    Refusal,
    Refused,
)

CHANGE = AdjustmentType.CHANGE_IN_CAPACITY
EXACT = AdjustmentType.EXACT_CAPACITY
PERCENT = AdjustmentType.PERCENT_CHANGE_IN_CAPACITY
NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("base", "adjustment", "adjustment_type", "min_step", "minimum", "maximum", "raw", "rounded", "clamped"),
    [
        (4, 2, CHANGE, 0, 0, 10, 6.0, 6, 6),
        (9, 3, CHANGE, 0, 0, 10, 12.0, 12, 10),  # clamped to max_size
        (2, -5, CHANGE, 0, 1, 10, -3.0, -3, 1),  # clamped to min_size
        (2, 7, EXACT, 0, 0, 10, 7.0, 7, 7),
        (2, 12, EXACT, 0, 0, 10, 12.0, 12, 10),
        # The examples of AWS's "Scaling adjustment types" (EC2 Auto Scaling User Guide) for PercentChangeInCapacity:
        # a change of 12.7 rounds down to 12, of 0.67 to 1, of -6.67 up to -6.
        (127, 10, PERCENT, 0, 0, 1000, 139.7, 139, 139),
        (1, 67, PERCENT, 0, 0, 10, 1.67, 2, 2),
        (667, -1, PERCENT, 0, 0, 1000, 660.33, 661, 661),
        # AWS, PutScalingPolicy MinAdjustmentMagnitude: "If the group has 4 instances and the scaling policy is performed,
        # 25 percent of 4 is 1. However, because you specified a MinAdjustmentMagnitude of 2, Amazon EC2 Auto Scaling
        # scales out the group by 2 instances."
        (4, 25, PERCENT, 2, 0, 10, 5.0, 6, 6),
        # Heat's rounding of a change under one instance away from zero, then clamped.
        (4, 30, PERCENT, 0, 1, 5, 5.2, 5, 5),
        (4, 50, PERCENT, 0, 1, 5, 6.0, 6, 5),
    ],
)
def test_the_calculation_gives_the_raw_the_rounded_and_the_clamped_capacity(
    base, adjustment, adjustment_type, min_step, minimum, maximum, raw, rounded, clamped
):
    worked_out = calculation(base, adjustment, adjustment_type, min_step, minimum, maximum)
    assert worked_out.base_capacity == base and worked_out.raw_capacity == pytest.approx(raw)
    assert (worked_out.rounded_capacity, worked_out.clamped_capacity) == (rounded, clamped)
    assert (worked_out.min_size, worked_out.max_size) == (minimum, maximum)


def _group(desired: int, min_size: int = 1, max_size: int = 5) -> Group:
    return Group("web", "lc", min_size=min_size, max_size=max_size, desired_capacity=desired)


def _command(adjustment: int = 30, adjustment_type: AdjustmentType = PERCENT, **fields) -> AdjustCommand:  # type: ignore[no-untyped-def]
    return AdjustCommand(adjustment_type=adjustment_type, adjustment=adjustment, min_adjustment_step=0, cause="test", **fields)


def _adjusted(command: AdjustCommand, group: Group) -> AdjustOutcome:
    activity = adjustment_activity(
        "a-1", group, command.adjustment_type, command.adjustment, command.min_adjustment_step, command.cause, NOW
    )
    return AdjustOutcome(group.desired_capacity, activity.to_capacity, activity)


@pytest.mark.parametrize(
    ("command", "source"),
    [
        (_command(trigger=b"\n\x10policies/web-out", trigger_alarm="alarms/web-busy"), DecisionSource.ALARM),
        (_command(trigger=b"\n\x10policies/web-out"), DecisionSource.POLICY),
        (_command(), DecisionSource.ADJUST),
    ],
)
def test_an_adjust_comes_from_its_triggers_alarm_else_its_policy_else_an_operator(command, source):
    assert adjust_source(command) is source


def test_an_adjustment_made_is_recorded_with_its_maths_and_activity():
    command = _command(trigger=b"\n\x10policies/web-out", trigger_alarm="alarms/web-busy")
    decision = adjust_decision("d-1", command, "autoscale-service", _group(4, max_size=10), None, _adjusted(command, _group(4, 1, 10)), NOW)
    assert (decision.outcome, decision.previous_capacity, decision.desired_capacity) == (DecisionOutcome.ADJUSTED, 4, 5)
    assert decision.calculation == CapacityCalculation(4, 5.2, 5, 5, 1, 10)
    assert (decision.activity_id, decision.reason, decision.source) == ("a-1", "desired capacity 4 → 5", DecisionSource.ALARM)
    assert decision.trigger == command.trigger and decision.caller == "autoscale-service" and decision.decide_time == NOW


def test_an_adjustment_kept_at_max_size_is_unchanged_and_its_maths_show_the_clamp():
    command = _command(2, CHANGE)
    group = _group(5, max_size=5)
    decision = adjust_decision("d-1", command, "anonymous", group, None, _adjusted(command, group), NOW)
    assert decision.outcome is DecisionOutcome.UNCHANGED
    assert decision.calculation == CapacityCalculation(5, 7.0, 7, 5, 1, 5)
    assert decision.reason == "capacity stays at 5 (already at max_size 5)"


def test_a_refused_adjustment_is_recorded_with_why_and_until_when_and_no_maths():
    group = _group(2)
    refused = Refused(Refusal.COOLDOWN, "group groups/web is in cooldown until 2023-11-14T22:14:20Z (40s left)", NOW + 40)
    decision = adjust_decision("d-1", _command(), "anonymous", group, None, AdjustOutcome(2, 2, None, refused=refused), NOW)
    assert (decision.outcome, decision.refusal, decision.cooldown_end) == (DecisionOutcome.REFUSED, Refusal.COOLDOWN, NOW + 40)
    assert decision.calculation is None and decision.activity_id == "" and decision.reason == refused.reason


def test_a_step_adjustment_counts_from_the_instances_warmed_up():
    warmed = [
        Instance(f"i-{n}", "web", "process", "lc", InstanceState.RUNNING, create_time=NOW - 4000, in_service_time=NOW - 3600)
        for n in range(10)
    ]
    warming = Instance("i-new", "web", "process", "lc", InstanceState.RUNNING, create_time=NOW - 100, in_service_time=NOW - 60)
    command = _command(30, PERCENT, step_scaling=True, estimated_instance_warmup=300.0)
    # AWS, "Step scaling policies" (instance warm-up): with 10 instances warmed up and one warming up, a 30% step asks 13.
    worked_out = adjust_calculation(command, _group(11, max_size=20), [*warmed, warming], NOW)
    assert worked_out == CapacityCalculation(10, 13.0, 13, 13, 1, 20)


def test_a_step_scale_in_that_waits_for_a_warm_up_has_no_maths():
    warming = Instance("i-new", "web", "process", "lc", InstanceState.RUNNING, create_time=NOW - 100, in_service_time=NOW - 60)
    command = _command(-1, CHANGE, step_scaling=True, estimated_instance_warmup=300.0)
    assert adjust_calculation(command, _group(1, min_size=0), [warming], NOW) is None


def test_a_set_desired_capacity_is_recorded_with_the_capacity_asked():
    group = _group(2)
    activity = adjustment_activity("a-9", group, EXACT, 4, 0, "SetDesiredCapacity", NOW)
    decision = set_desired_decision("d-2", 4, "user:ann", group, AdjustOutcome(2, 4, activity), NOW)
    assert (decision.source, decision.adjustment_type, decision.requested_capacity) == (DecisionSource.SET_DESIRED_CAPACITY, None, 4)
    assert (decision.outcome, decision.calculation, decision.caller) == (DecisionOutcome.ADJUSTED, None, "user:ann")
