"""AWS's step scaling warm-up rule (services.group.warmup): pure, with the time as an input.

The table follows the example of AWS's user guide, "Step and simple scaling policies for Amazon EC2 Auto Scaling",
section "Instance warmup" (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html): a group
of 10, a +10 % step at 60 and a +30 % step at 70; the metric reaches 60 (desired 11), then 62 while the new instance
warms up (still 11: the same step), then 70 (30 % of the 10 warmed up asks 13: only 2 more).
"""

from __future__ import annotations

import pytest

from services.group.domain import (
    ActivityStatus,
    AdjustCommand,
    AdjustmentType,
    Group,
    Instance,
    InstanceState,
)
from services.group.warmup import is_warming_up, step_activity, step_scaling_activity

CHANGE = AdjustmentType.CHANGE_IN_CAPACITY
EXACT = AdjustmentType.EXACT_CAPACITY
PERCENT = AdjustmentType.PERCENT_CHANGE_IN_CAPACITY
NOW = 1_700_000_000.0
WARMUP = 300.0
RUNNING = InstanceState.RUNNING


def _instance(number: int, state: InstanceState = RUNNING, in_service: float | None = NOW - 3600) -> Instance:
    return Instance(f"i-{number}", "web", "process", "lc", state, create_time=NOW - 4000, in_service_time=in_service)


def _warmed(count: int) -> list[Instance]:
    return [_instance(n) for n in range(count)]


def _warming(count: int, first: int = 100) -> list[Instance]:
    return [_instance(first + n, in_service=NOW - 60) for n in range(count)]


def _group(desired: int, max_size: int = 20, min_size: int = 1) -> Group:
    return Group("web", "lc", min_size=min_size, max_size=max_size, desired_capacity=desired)


@pytest.mark.parametrize(
    ("instance", "warming"),
    [
        (_instance(1, in_service=NOW - WARMUP - 1), False),
        (_instance(1, in_service=NOW - WARMUP), False),  # the warm-up ends at its end exactly
        (_instance(1, in_service=NOW - WARMUP + 1), True),
        (_instance(1, in_service=None), True),  # running, not seen in service yet
        (_instance(1, InstanceState.PENDING, None), True),
        (_instance(1, InstanceState.PENDING_WAIT, None), True),
        (_instance(1, InstanceState.STANDBY, NOW - 10), False),  # out of the capacity
        (_instance(1, InstanceState.TERMINATING, NOW - 10), False),
    ],
)
def test_an_instance_warms_up_until_its_warmup_after_it_went_in_service(instance: Instance, warming: bool) -> None:
    assert is_warming_up(instance, WARMUP, NOW) is warming


@pytest.mark.parametrize(
    ("desired", "instances", "adjustment_type", "adjustment", "expected", "message"),
    [
        # AWS's example: the metric reaches 60 (+10 % of 10 warmed up): 11.
        (10, _warmed(10), PERCENT, 10, 11, ""),
        # It reaches 62 while the 11th warms up: 10 % of the 10 warmed up asks 11 again, which the desired capacity has.
        (10 + 1, _warmed(10) + _warming(1), PERCENT, 10, 11,
         "from 10 instances in service and warmed up (1 warming up), the step asks 11; desired capacity 11 already covers it"),
        # It reaches 70 while the 11th warms up: 30 % of 10 asks 13, so only 2 are added.
        (11, _warmed(10) + _warming(1), PERCENT, 30, 13, ""),
        # A place of the desired capacity not launched yet warms up too: the same answer.
        (11, _warmed(10), PERCENT, 10, 11,
         "from 10 instances in service and warmed up (1 warming up), the step asks 11; desired capacity 11 already covers it"),
        # Changes in capacity alike: +2 from 4 warmed up, then +2 again while they warm up, then +3.
        (4, _warmed(4), CHANGE, 2, 6, ""),
        (6, _warmed(4) + _warming(2), CHANGE, 2, 6,
         "from 4 instances in service and warmed up (2 warming up), the step asks 6; desired capacity 6 already covers it"),
        (6, _warmed(4) + _warming(2), CHANGE, 3, 7, ""),
        # Bounds still hold.
        (19, _warmed(19), CHANGE, 5, 20, ""),
        (20, _warmed(20), CHANGE, 5, 20, "already at max_size 20"),
        # An exact capacity sets it, above or below.
        (4, _warmed(4), EXACT, 7, 7, ""),
        # A step of 0 changes nothing.
        (4, _warmed(4), CHANGE, 0, 4, "the step asks no change (desired capacity 4)"),
        # AWS's scale-in example: -10 % of 14 removes 1 (1.4 rounded towards zero), then -30 % of 13 removes 3.
        (14, _warmed(14), PERCENT, -10, 13, ""),
        (13, _warmed(13), PERCENT, -30, 10, ""),
        # A second breach while the first's instance terminates counts it: nothing more is removed.
        (13, _warmed(13) + [_instance(50, InstanceState.TERMINATING)], PERCENT, -10, 13,
         "from 14 instances not yet gone, the step asks 13; desired capacity 13 already covers it"),
        # A scale-in waits while instances warm up (and says until when).
        (11, _warmed(10) + _warming(1), CHANGE, -1, 11, "scale-in waits while 1 instance warms up (until 2023-11-14T22:17:20Z)"),
        # Places of the desired capacity not launched (launches failing) hold no scale-in: -1 from the 10 there.
        (12, _warmed(10), CHANGE, -1, 9, ""),
        (10, _warmed(8) + [_instance(60, InstanceState.FAILED, None), _instance(61, InstanceState.FAILED, None)], CHANGE, -3, 5, ""),
        (11, _warmed(10) + _warming(1), EXACT, 5, 11, "scale-in waits while 1 instance warms up (until 2023-11-14T22:17:20Z)"),
        (2, _warmed(2), CHANGE, -5, 1, ""),
        (1, _warmed(1), CHANGE, -1, 1, "already at min_size 1"),
    ],
)
def test_a_step_adjustment_counts_instances_warming_up_as_aws_documents(
    desired: int, instances: list[Instance], adjustment_type: AdjustmentType, adjustment: int, expected: int, message: str
) -> None:
    activity = step_scaling_activity("a-1", _group(desired), instances, adjustment_type, adjustment, 0, WARMUP, "policies/up", NOW)
    assert (activity.from_capacity, activity.to_capacity) == (desired, expected)
    if expected == desired:
        assert (activity.status, activity.status_message) == (ActivityStatus.UNCHANGED, message)
    else:
        assert activity.status is ActivityStatus.IN_PROGRESS


def test_the_activity_of_a_step_says_what_it_counted() -> None:
    activity = step_scaling_activity("a-1", _group(11), _warmed(10) + _warming(1), PERCENT, 30, 0, WARMUP, "policies/up", NOW)
    assert activity.cause == "policies/up; step scaling from 10 instances in service and warmed up (1 warming up)"


@pytest.mark.parametrize(("warmup", "group_cooldown", "expected"), [(30.0, 600.0, 12), (None, 30.0, 12), (None, None, 11)])
def test_the_warmup_is_the_callers_else_the_groups_cooldown_else_300s(
    warmup: float | None, group_cooldown: float | None, expected: int
) -> None:
    """An instance in service 100 s ago has warmed up after a warm-up of 30 s, not after 300 s."""
    group = Group("web", "lc", min_size=1, max_size=20, desired_capacity=11, cooldown=group_cooldown)
    instances = _warmed(10) + [_instance(99, in_service=NOW - 100)]
    command = AdjustCommand(CHANGE, 1, 0, "policies/up", step_scaling=True, estimated_instance_warmup=warmup)
    assert step_activity(command, group, instances, "a-1", NOW).to_capacity == expected
