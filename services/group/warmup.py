"""AWS's step scaling, decided under the group's lock: instances that warm up, and the adjustment that counts them.

A step policy honours no cooldown and is not refused while a resize is under way
(AWS: "the policy continues to respond to additional alarms, even while a scaling
activity ... is in progress"). What keeps a burst of alarms from adding too much is
the instance warm-up (AWS's EstimatedInstanceWarmup, falling back to the group's
default cooldown):

- An instance warms up until `warmup` seconds after it went in service; one not yet
  in service (launching, waiting for its launch hooks), and a place of the desired
  capacity not launched yet, warm up too.
- A scale-out starts from the capacity in service and warmed up, not from the desired
  capacity, and only ever raises the desired capacity to what that asks: with 10
  warmed-up instances, a +10 % step asks 11; a second breach in the same step while
  the 11th warms up asks 11 again and adds nothing; a +30 % step then asks 13 and adds
  only the 2 the first did not (AWS's documented example).
- A scale-in waits while any instance warms up (AWS: scale-in is blocked until new
  instances finish warming up; places not launched yet do not hold it), and starts from
  the instances not yet gone, those
  terminating included, so a second breach while the first's instances terminate
  removes nothing more.

The activity says what was counted. Pure functions; the caller passes `now`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from autoscale.timeutil import format_time
from autoscale.validation import within_cause_limit
from services.group import capacity
from services.group.cooldown import effective_cooldown
from services.group.domain import LIVE_STATES, Activity, AdjustCommand, AdjustmentType, Group, Instance, InstanceState

GONE_SOON_STATES = frozenset({InstanceState.TERMINATING, InstanceState.TERMINATING_WAIT})
"""States of instances chosen for removal but not gone yet: a scale-in counts them (AWS)."""


def is_warming_up(instance: Instance, warmup: float, now: float) -> bool:
    """Whether a live instance still warms up at `now`: not in service yet, or in service for less than `warmup` seconds."""
    if instance.state not in LIVE_STATES:
        return False
    if instance.state is not InstanceState.RUNNING or instance.in_service_time is None:
        return True
    return now < instance.in_service_time + warmup


def step_activity(command: AdjustCommand, group: Group, instances: Sequence[Instance], activity_id: str, now: float) -> Activity:
    """The activity of an Adjust with step_scaling: `command`'s adjustment by the warm-up rule, with its warm-up, else the
    group's cooldown, else 300 s (AWS falls back to the default cooldown)."""
    warmup = command.estimated_instance_warmup
    if warmup is None:
        warmup = effective_cooldown(None, group.cooldown)
    return step_scaling_activity(
        activity_id, group, instances, command.adjustment_type, command.adjustment, command.min_adjustment_step, warmup,
        command.cause, now,
    )


def step_scaling_activity(
    activity_id: str,
    group: Group,
    instances: Sequence[Instance],
    adjustment_type: AdjustmentType,
    adjustment: int,
    min_adjustment_step: int,
    warmup: float,
    cause: str,
    now: float,
) -> Activity:
    """The activity of a step policy's adjustment of the locked `group` (AWS's warm-up rule, see the module)."""
    desired = group.desired_capacity
    live = [i for i in instances if i.state in LIVE_STATES]
    warming = [i for i in live if is_warming_up(i, warmup, now)]
    not_launched = max(0, desired - len(live))
    warming_count = len(warming) + not_launched
    if adjustment_type is AdjustmentType.EXACT_CAPACITY:
        scale_out, scale_in = adjustment > desired, adjustment < desired
    else:
        scale_out, scale_in = adjustment > 0, adjustment < 0
    if not (scale_out or scale_in):
        return capacity.capacity_change(
            activity_id, group, desired, cause, now, unchanged_message=f"the step asks no change (desired capacity {desired})"
        )
    if scale_out:
        base = len(live) - len(warming)
        counted = f"{base} instance{'s' if base != 1 else ''} in service and warmed up ({warming_count} warming up)"
    else:
        # Only instances that exist wait a scale-in: places of the desired capacity not launched (launches failing, a
        # quota full) would otherwise hold it back for as long as the launches fail, when scaling in is what helps.
        if warming:
            return capacity.capacity_change(
                activity_id, group, desired, cause, now, unchanged_message=_scale_in_waits(warming, warmup)
            )
        base = len(live) + sum(1 for i in instances if i.state in GONE_SOON_STATES)
        counted = f"{base} instance{'s' if base != 1 else ''} not yet gone"
    requested = capacity.adjusted_capacity(base, adjustment, adjustment_type, min_adjustment_step)
    target = capacity.clamp(requested, group.min_size, group.max_size)
    if (scale_out and target <= desired) or (scale_in and target >= desired):
        if target == desired and requested != target:
            message = capacity.unchanged_reason(desired, requested, group.min_size, group.max_size)
        else:
            message = f"from {counted}, the step asks {target}; desired capacity {desired} already covers it"
        return capacity.capacity_change(activity_id, group, desired, cause, now, unchanged_message=message)
    activity = capacity.capacity_change(activity_id, group, target, cause, now)
    return replace(activity, cause=within_cause_limit(f"{cause}; step scaling from {counted}"))


def _scale_in_waits(warming: Sequence[Instance], warmup: float) -> str:
    """Why a scale-in waits: how many instances warm up, and until when the last in service does."""
    count = len(warming)
    message = f"scale-in waits while {count} instance{'s' if count != 1 else ''} warm{'s' if count == 1 else ''} up"
    in_service = [i.in_service_time for i in warming if i.in_service_time is not None and i.state is InstanceState.RUNNING]
    if in_service and len(in_service) == count:
        message += f" (until {format_time(max(in_service) + warmup)})"
    return message
