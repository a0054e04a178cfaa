"""Cooldown and "still resizing": the group decides whether an Adjust may change it now.

Who owns this, and why
----------------------
The group service. A cooldown is counted from the end of a group's last scaling
activity (Heat: `heat/scaling/cooldown.py`, the group's `cooldown_end` metadata
written when its resize finishes; AWS: simple scaling waits for the cooldown after
the scaling activity completes), and only the group knows when a resize ends: its
reconcile loop ends the activity. So the group keeps the state, and decides under
its own row lock, in the transaction that would change its capacity:

- a group with a scaling activity IN_PROGRESS is not adjusted (Heat's
  `scaling_in_progress`);
- a group whose `cooldown_end` is still ahead is not adjusted;
- otherwise the adjustment is made with Heat's maths (services.group.capacity),
  and its activity carries the cooldown it starts; when that activity ends (it
  succeeded, failed or was superseded; an UNCHANGED one starts none) the group's
  `cooldown_end` becomes its end plus that cooldown, unless one running longer is
  already set.

The policy service decides the adjustment type and amount and calls Adjust once,
with `honor_cooldown` (AWS's HonorCooldown on ExecutePolicy) and its own cooldown
override (`cooldown`; unset means the group's, else 300 s). It keeps no cooldown
state, claims or leases, and never polls the group (GetGroup, GetActivity) to
learn that a resize ended. The previous design, where the policy service kept a
per-group cooldown with claims and settled it by polling, had two owners of one
fact; two replicas could disagree with the group, and a signal cost up to three
round trips instead of one.

A step policy's Adjust (`step_scaling`) reads no cooldown and starts none: instances
warming up hold it back instead (services.group.warmup).

An Adjust without `honor_cooldown` (an operator's) is made at once as before: it
neither waits for a cooldown nor starts one, and a resize it starts does make
honouring callers wait until it ends.

Pure functions; the caller passes `now`.
"""

from __future__ import annotations

import math
from dataclasses import replace

from autoscale.cooldown import effective_cooldown
from autoscale.errors import FailedPrecondition
from autoscale.timeutil import format_time
from services.group import capacity
from services.group.domain import (
    Activity,
    ActivityStatus,
    AdjustCommand,
    Group,
    Refusal,
    Refused,
    activity_name,
    group_name,
)
from services.group.processes import ScalingProcess


def refusal(group: Group, activity_in_progress: str | None, now: float, *, honor_cooldown: bool) -> Refused | None:
    """Why the group may not be adjusted now, or None if it may.

    While an activity is in progress the group is resizing; with `honor_cooldown`,
    a group whose cooldown ends after `now` is cooling down too. The cooldown ends
    at `group.cooldown_end` exactly: from then on the group may be adjusted.
    """
    if activity_in_progress is not None:
        reason = f"group {group_name(group.id)} is resizing (activity {activity_name(group.id, activity_in_progress)})"
        return Refused(Refusal.SCALING_IN_PROGRESS, reason)
    if honor_cooldown and group.cooldown_end is not None and now < group.cooldown_end:
        left = math.ceil(group.cooldown_end - now)
        reason = f"group {group_name(group.id)} is in cooldown until {format_time(group.cooldown_end)} ({left}s left)"
        return Refused(Refusal.COOLDOWN, reason, group.cooldown_end)
    return None


def adjust_refusal(command: AdjustCommand, group: Group, activity_in_progress: str | None, now: float) -> Refused | None:
    """Why an Adjust asking `command` leaves the locked group as it is, or None: its alarm notifications suspended (for
    one an alarm or a receiver caused), its desired capacity not the one the command was decided from, else `refusal` for
    the flags it sets."""
    if command.alarm_notification and group.suspended(ScalingProcess.ALARM_NOTIFICATION):
        return Refused(Refusal.SUSPENDED, f"group {group_name(group.id)} has its alarm notifications suspended (SuspendProcesses)")
    expected = command.expected_desired_capacity
    if expected is not None and group.desired_capacity != expected:
        return Refused(
            Refusal.CAPACITY_CHANGED,
            f"the desired capacity of group {group_name(group.id)} is {group.desired_capacity}, not the {expected} this was "
            "decided from: another change came first",
        )
    if not (command.honor_cooldown or command.refuse_while_scaling):
        return None
    return refusal(group, activity_in_progress, now, honor_cooldown=command.honor_cooldown)


def adjustment(command: AdjustCommand, group: Group, activity_id: str, now: float) -> Activity:
    """The activity of an Adjust of the locked group (Heat's capacity maths), with the cooldown it starts if it honours it."""
    activity = capacity.adjustment_activity(
        activity_id, group, command.adjustment_type, command.adjustment, command.min_adjustment_step, command.cause, now
    )
    if command.honor_cooldown and activity.status is ActivityStatus.IN_PROGRESS:
        return replace(activity, cooldown=effective_cooldown(command.cooldown, group.cooldown))
    return activity


def set_desired_activity(activity_id: str, group: Group, desired: int, honor_cooldown: bool, now: float) -> Activity:
    """The activity of a SetDesiredCapacity of the locked group: FailedPrecondition outside its size range (AWS refuses it
    rather than clamp); with `honor_cooldown` a change starts the group's cooldown when it ends."""
    if not group.min_size <= desired <= group.max_size:
        raise FailedPrecondition(
            f"desired_capacity: {desired} is outside the size range of {group_name(group.id)}, "
            f"[min_size, max_size] = [{group.min_size}, {group.max_size}]"
        )
    activity = capacity.capacity_change(activity_id, group, desired, "SetDesiredCapacity", now)
    if honor_cooldown and activity.status is ActivityStatus.IN_PROGRESS:
        return replace(activity, cooldown=effective_cooldown(None, group.cooldown))
    return activity


def cooldown_end_after(previous_end: float | None, ended: Activity) -> float | None:
    """The group's cooldown end once `ended` (now ended) is stored: its end plus its cooldown, unless later already.

    An activity that started no cooldown, or changed nothing (UNCHANGED), leaves it as it was.
    """
    if ended.cooldown is None or ended.end_time is None or ended.status is ActivityStatus.UNCHANGED:
        return previous_end
    candidate = ended.end_time + ended.cooldown
    return candidate if previous_end is None else max(previous_end, candidate)
