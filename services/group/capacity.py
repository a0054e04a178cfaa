"""Capacity maths and the activities that record a change of desired capacity.

`calculation` is OpenStack Heat's calculate_new_capacity (heat/scaling/scalingutil.py),
rounding and quirks included, so that policies behave as Heat users expect, with each
step of it kept for the scaling decision that records it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from autoscale.validation import within_cause_limit
from services.group.domain import Activity, ActivityStatus, AdjustmentType, CapacityCalculation, Group, Instance, instance_name

CREATE_CAUSE = "CreateGroup"
"""The cause recorded for the first capacity of a new group."""


def _raw_and_rounded(current: int, adjustment: int, adjustment_type: AdjustmentType, min_adjustment_step: int) -> tuple[float, int]:
    """The capacity an adjustment asks before rounding (a percent change's fraction), and after; before it is kept within
    the group's sizes.

    - CHANGE_IN_CAPACITY: `current + adjustment`.
    - EXACT_CAPACITY: `adjustment`.
    - PERCENT_CHANGE_IN_CAPACITY: `delta = current * adjustment / 100`. A delta smaller
      than one instance is rounded away from zero (so 10 % of 5 is +1, never 0); a
      larger one towards zero (150 % of 3 is +4, not +5). Then, if `min_adjustment_step`
      is larger than that change, the change becomes `min_adjustment_step` with its sign.
      NOTE: as in Heat, a change of 0 (an adjustment of 0, or a current capacity of 0)
      counts as negative there, so it becomes `-min_adjustment_step`.
    """
    if adjustment_type is AdjustmentType.CHANGE_IN_CAPACITY:
        return float(current + adjustment), current + adjustment
    if adjustment_type is AdjustmentType.EXACT_CAPACITY:
        return float(adjustment), adjustment
    delta = current * adjustment / 100.0
    if math.fabs(delta) < 1.0:
        rounded = int(math.ceil(delta) if delta > 0.0 else math.floor(delta))
    else:
        rounded = int(math.floor(delta) if delta > 0.0 else math.ceil(delta))
    if min_adjustment_step and min_adjustment_step > abs(rounded):
        rounded = min_adjustment_step if rounded > 0 else -min_adjustment_step
    return current + delta, current + rounded


def calculation(
    base: int, adjustment: int, adjustment_type: AdjustmentType, min_adjustment_step: int, minimum: int, maximum: int
) -> CapacityCalculation:
    """Each step of an adjustment's maths from `base`: the capacity asked raw, rounded, then kept within [minimum, maximum]
    (Heat's calculate_new_capacity is its `clamped_capacity`)."""
    raw, rounded = _raw_and_rounded(base, adjustment, adjustment_type, min_adjustment_step)
    return CapacityCalculation(
        base_capacity=base, raw_capacity=raw, rounded_capacity=rounded, clamped_capacity=clamp(rounded, minimum, maximum),
        min_size=minimum, max_size=maximum,
    )


def clamp(capacity: int, minimum: int, maximum: int) -> int:
    """`capacity` kept within [minimum, maximum]: above the maximum is the maximum, below the minimum the minimum."""
    if capacity > maximum:
        return maximum
    if capacity < minimum:
        return minimum
    return capacity


def unchanged_reason(current: int, requested: int, minimum: int, maximum: int) -> str:
    """Why an adjustment that asked for `requested` left the capacity at `current`, for people."""
    if requested > maximum:
        return f"already at max_size {maximum}"
    if requested < minimum:
        return f"already at min_size {minimum}"
    return f"desired capacity is already {current}"


def capacity_change(
    activity_id: str, group: Group, to_capacity: int, cause: str, now: float, *, unchanged_message: str = ""
) -> Activity:
    """The activity recording a change of `group`'s desired capacity to `to_capacity`.

    IN_PROGRESS while instances start or stop; UNCHANGED, ended at once with
    `unchanged_message`, when the capacity stays what it was.
    """
    if to_capacity == group.desired_capacity:
        return Activity(
            id=activity_id, group_id=group.id, cause=cause, from_capacity=group.desired_capacity, to_capacity=to_capacity,
            start_time=now, status=ActivityStatus.UNCHANGED, end_time=now,
            status_message=unchanged_message or f"desired capacity is already {to_capacity}",
        )
    return Activity(
        id=activity_id, group_id=group.id, cause=cause, from_capacity=group.desired_capacity, to_capacity=to_capacity,
        start_time=now, status=ActivityStatus.IN_PROGRESS,
    )


def replacement_activity(activity_id: str, group: Group, replaced: Sequence[Instance], now: float) -> Activity:
    """The activity of launching instances in place of failed ones (the capacity stays): its cause names them and why they
    failed (an exit status and the last output, a Nova fault)."""
    cause = f"replacing {_named(group, replaced)}: {replaced[0].state_reason or 'it failed'}"
    return _replacing(activity_id, group, cause, now)


def refresh_activity(activity_id: str, group: Group, refresh_name: str, replaced: Sequence[Instance], now: float) -> Activity:
    """The activity of a batch of an instance refresh (the capacity stays): its cause names the refresh and the instances."""
    return _replacing(activity_id, group, f"{refresh_name}: replacing {_named(group, replaced)} with {group.launch_config_id}", now)


def _named(group: Group, replaced: Sequence[Instance]) -> str:
    """The first of `replaced` by name, and how many more: `groups/web/instances/i-1 (and 2 more)`."""
    more = f" (and {len(replaced) - 1} more)" if len(replaced) > 1 else ""
    return f"{instance_name(group.id, replaced[0].id)}{more}"


def _replacing(activity_id: str, group: Group, cause: str, now: float) -> Activity:
    """An activity in progress that keeps the group's capacity (instances replaced by others)."""
    return Activity(
        id=activity_id, group_id=group.id, cause=within_cause_limit(cause), from_capacity=group.desired_capacity,
        to_capacity=group.desired_capacity, start_time=now, status=ActivityStatus.IN_PROGRESS,
    )


def adjustment_activity(
    activity_id: str,
    group: Group,
    adjustment_type: AdjustmentType,
    adjustment: int,
    min_adjustment_step: int,
    cause: str,
    now: float,
) -> Activity:
    """The activity of an Adjust of `group`: to Heat's new capacity, or UNCHANGED saying why."""
    current = group.desired_capacity
    worked_out = calculation(current, adjustment, adjustment_type, min_adjustment_step, group.min_size, group.max_size)
    return capacity_change(
        activity_id, group, worked_out.clamped_capacity, cause, now,
        unchanged_message=unchanged_reason(current, worked_out.rounded_capacity, group.min_size, group.max_size),
    )


def creation_activity(activity_id: str, group: Group, now: float) -> Activity | None:
    """The activity of a new group's first instances (None when it starts empty)."""
    if group.desired_capacity == 0:
        return None
    return capacity_change(activity_id, replace(group, desired_capacity=0), group.desired_capacity, CREATE_CAUSE, now)


def supersede(activity: Activity, by_name: str, now: float) -> Activity:
    """An IN_PROGRESS activity ended because a newer capacity change (named `by_name`) replaced it."""
    return replace(activity, status=ActivityStatus.CANCELLED, end_time=now, status_message=f"superseded by {by_name}")


def adjustment_reason(activity: Activity) -> str:
    """What an Adjust's activity did, for people: the capacity's move, or why it stayed."""
    if activity.status is ActivityStatus.UNCHANGED:
        return f"capacity stays at {activity.to_capacity} ({activity.status_message})"
    return f"desired capacity {activity.from_capacity} → {activity.to_capacity}"


def finish(activity: Activity, status: ActivityStatus, now: float, message: str = "") -> Activity:
    """An activity ended with `status` at `now`."""
    return replace(activity, status=status, end_time=now, status_message=message)
