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
from dataclasses import dataclass, replace

from autoscale.cooldown import effective_cooldown
from autoscale.timeutil import format_time
from autoscale.validation import within_cause_limit
from services.group import capacity
from services.group.domain import (
    LIVE_STATES,
    Activity,
    AdjustCommand,
    AdjustmentType,
    CapacityCalculation,
    Group,
    Instance,
    InstanceState,
)

GONE_SOON_STATES = frozenset({InstanceState.TERMINATING, InstanceState.TERMINATING_WAIT})
"""States of instances chosen for removal but not gone yet: a scale-in counts them (AWS)."""


def is_warming_up(instance: Instance, warmup: float, now: float) -> bool:
    """Whether a live instance still warms up at `now`: not in service yet, or in service for less than `warmup` seconds."""
    if instance.state not in LIVE_STATES:
        return False
    if instance.state is not InstanceState.RUNNING or instance.in_service_time is None:
        return True
    return now < instance.in_service_time + warmup


@dataclass(frozen=True)
class StepCount:
    """What a step adjustment counts: the capacity maths from the instances counted, or why it has none."""

    calculation: CapacityCalculation | None
    """None when the step asks no change, or a scale-in waits for instances warming up."""
    explanation: str
    """What was counted ("10 instances in service and warmed up (1 warming up)"), or why nothing was."""
    scale_out: bool


def command_warmup(command: AdjustCommand, group: Group) -> float:
    """Seconds an instance warms up for a step policy's `command`: its warm-up, else the group's cooldown, else 300 s (AWS
    falls back to the default cooldown)."""
    if command.estimated_instance_warmup is not None:
        return command.estimated_instance_warmup
    return effective_cooldown(None, group.cooldown)


def step_activity(command: AdjustCommand, group: Group, instances: Sequence[Instance], activity_id: str, now: float) -> Activity:
    """The activity of an Adjust with step_scaling: `command`'s adjustment by the warm-up rule (`command_warmup`)."""
    return step_scaling_activity(
        activity_id, group, instances, command.adjustment_type, command.adjustment, command.min_adjustment_step,
        command_warmup(command, group), command.cause, now,
    )


def step_count(
    group: Group,
    instances: Sequence[Instance],
    adjustment_type: AdjustmentType,
    adjustment: int,
    min_adjustment_step: int,
    warmup: float,
    now: float,
) -> StepCount:
    """What a step policy's adjustment of the locked `group` counts, and its maths from there (see the module)."""
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
        return StepCount(None, f"the step asks no change (desired capacity {desired})", scale_out=False)
    if scale_out:
        base = len(live) - len(warming)
        counted = f"{base} instance{'s' if base != 1 else ''} in service and warmed up ({warming_count} warming up)"
    else:
        # Only instances that exist wait a scale-in: places of the desired capacity not launched (launches failing, a
        # quota full) would otherwise hold it back for as long as the launches fail, when scaling in is what helps.
        if warming:
            return StepCount(None, _scale_in_waits(warming, warmup), scale_out=False)
        base = len(live) + sum(1 for i in instances if i.state in GONE_SOON_STATES)
        counted = f"{base} instance{'s' if base != 1 else ''} not yet gone"
    worked_out = capacity.calculation(base, adjustment, adjustment_type, min_adjustment_step, group.min_size, group.max_size)
    return StepCount(worked_out, counted, scale_out=scale_out)


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
    count = step_count(group, instances, adjustment_type, adjustment, min_adjustment_step, warmup, now)
    if count.calculation is None:
        return capacity.capacity_change(activity_id, group, desired, cause, now, unchanged_message=count.explanation)
    requested, target = count.calculation.rounded_capacity, count.calculation.clamped_capacity
    if (count.scale_out and target <= desired) or (not count.scale_out and target >= desired):
        if target == desired and requested != target:
            message = capacity.unchanged_reason(desired, requested, group.min_size, group.max_size)
        else:
            message = f"from {count.explanation}, the step asks {target}; desired capacity {desired} already covers it"
        return capacity.capacity_change(activity_id, group, desired, cause, now, unchanged_message=message)
    activity = capacity.capacity_change(activity_id, group, target, cause, now)
    return replace(activity, cause=within_cause_limit(f"{cause}; step scaling from {count.explanation}"))


def _scale_in_waits(warming: Sequence[Instance], warmup: float) -> str:
    """Why a scale-in waits: how many instances warm up, and until when the last in service does."""
    count = len(warming)
    message = f"scale-in waits while {count} instance{'s' if count != 1 else ''} warm{'s' if count == 1 else ''} up"
    in_service = [i.in_service_time for i in warming if i.in_service_time is not None and i.state is InstanceState.RUNNING]
    if in_service and len(in_service) == count:
        message += f" (until {format_time(max(in_service) + warmup)})"
    return message
