"""Scaling decisions: every request to change a group's capacity, recorded with its whole chain, whatever came of it.

The group service is where each capacity decision ends (an alarm's policy, a receiver's,
an operator's Adjust, SetDesiredCapacity or UpdateGroup naming a size, a scheduled
action's run), so it records each one in the transaction that decides it, including those
that changed nothing: what asked (and what set a policy off, as the policy service passed
it: the alarm, its datapoints and threshold, the step), the capacity maths (from what,
raw, rounded, clamped to [min_size, max_size]) and the outcome (adjusted, unchanged and
why, refused: cooldown until when, resizing, suspended; a scheduled run skipped or
failed). `autoscale group explain` reads them back (ListScalingDecisions).

Instances moved by an operator (TerminateInstance, standby, detach, attach) and the
replacements of failed instances and of instance refreshes are activities of their own,
not decisions: they follow a call that names instances, and decide no capacity.

A group keeps its newest MAX_DECISIONS_PER_GROUP; a request_id answered before decides
nothing again and records nothing. A request refused with an error (a bad size, the
group being deleted, a quota) changed nothing and is answered with that error alone.

Pure functions; the caller passes `now`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from autoscale.identity.caller import SERVICE_PRINCIPAL
from services.group import capacity, warmup
from services.group.domain import (
    Activity,
    ActivityStatus,
    AdjustCommand,
    AdjustmentType,
    AdjustOutcome,
    CapacityCalculation,
    DecisionOutcome,
    DecisionSource,
    Group,
    Instance,
    Refusal,
    ScalingDecision,
)
from services.group.schedule import ScheduledRun
from services.group.update import UPDATE_CAUSE

MAX_DECISIONS_PER_GROUP = 1000
"""Decisions a group keeps, the newest (and any decided at the same instant as the oldest of them)."""


def adjust_source(command: AdjustCommand) -> DecisionSource:
    """What asked for an Adjust: an alarm's policy, another policy's signal, or an operator (no trigger)."""
    if command.trigger_alarm:
        return DecisionSource.ALARM
    if command.trigger:
        return DecisionSource.POLICY
    return DecisionSource.ADJUST


def adjust_calculation(
    command: AdjustCommand, group: Group, instances: Sequence[Instance] | None, now: float
) -> CapacityCalculation | None:
    """The maths of an Adjust of the locked `group` (as it was before): from its desired capacity, or for step scaling from
    the `instances` it counts (None when the step asks no change or a scale-in waits)."""
    if command.step_scaling:
        assert instances is not None, "a step adjustment is decided from the group's instances"
        return warmup.step_count(
            group, instances, command.adjustment_type, command.adjustment, command.min_adjustment_step,
            warmup.command_warmup(command, group), now,
        ).calculation
    return capacity.calculation(
        group.desired_capacity, command.adjustment, command.adjustment_type, command.min_adjustment_step, group.min_size,
        group.max_size,
    )


def adjust_decision(
    decision_id: str, command: AdjustCommand, caller: str, group: Group, instances: Sequence[Instance] | None,
    outcome: AdjustOutcome, now: float,
) -> ScalingDecision:
    """The decision of an Adjust of the locked `group` (as it was before) that came to `outcome`."""
    return _decision(
        decision_id, group, outcome, now, source=adjust_source(command), caller=caller, cause=command.cause,
        trigger=command.trigger, adjustment_type=command.adjustment_type, adjustment=command.adjustment,
        min_adjustment_step=command.min_adjustment_step, step_scaling=command.step_scaling,
        calculation=adjust_calculation(command, group, instances, now) if outcome.refused is None else None,
    )


def set_desired_decision(decision_id: str, desired: int, caller: str, group: Group, outcome: AdjustOutcome, now: float) -> ScalingDecision:
    """The decision of a SetDesiredCapacity of the locked `group` (as it was before) to `desired`."""
    return replace(
        _decision(
            decision_id, group, outcome, now, source=DecisionSource.SET_DESIRED_CAPACITY, caller=caller,
            cause="SetDesiredCapacity", trigger=b"", adjustment_type=None, adjustment=0, min_adjustment_step=0,
            step_scaling=False, calculation=None,
        ),
        requested_capacity=desired,
    )


def update_decision(
    decision_id: str, caller: str, before: Group, after: Group, activity: Activity | None, desired: int | None, now: float
) -> ScalingDecision:
    """The decision of an UpdateGroup that named a size of the locked group: `desired` when it gave a desired capacity
    (else the one it had, kept within the new sizes: the maths show that clamp), `activity` when the capacity changed."""
    return _record(
        decision_id, before, now, source=DecisionSource.UPDATE_GROUP, caller=caller, cause=UPDATE_CAUSE, asked=desired,
        calculation=_kept_within(before, after) if desired is None else None, desired_capacity=after.desired_capacity,
        outcome=_activity_outcome(activity), reason=_activity_reason(activity, after),
        activity_id=activity.id if activity is not None else "",
    )


def scheduled_decision(decision_id: str, before: Group, run: ScheduledRun, now: float) -> ScalingDecision:
    """The decision of a scheduled action's run on the locked group (as it was before): skipped (no activity), failed, or
    made (its desired capacity, else the one the group had kept within its new sizes: the maths show that clamp)."""
    action, activity = run.action, run.activity
    if activity is None:
        outcome, reason = DecisionOutcome.SKIPPED, action.last_run_reason
    elif activity.status is ActivityStatus.FAILED:
        outcome, reason = DecisionOutcome.FAILED, activity.status_message
    else:
        outcome, reason = _activity_outcome(activity), capacity.adjustment_reason(activity)
    made = outcome in (DecisionOutcome.ADJUSTED, DecisionOutcome.UNCHANGED)
    return _record(
        decision_id, before, now, source=DecisionSource.SCHEDULED_ACTION, caller=SERVICE_PRINCIPAL,
        cause=activity.cause if activity is not None else f"scheduled action {action.id}", asked=action.desired_capacity,
        calculation=_kept_within(before, run.group) if made and action.desired_capacity is None else None,
        desired_capacity=run.group.desired_capacity, outcome=outcome, reason=reason,
        activity_id=activity.id if activity is not None else "", scheduled_action_id=action.id,
    )


def _kept_within(before: Group, after: Group) -> CapacityCalculation:
    """The maths of a desired capacity kept within new sizes: nothing asked, then the clamp."""
    current = before.desired_capacity
    return CapacityCalculation(
        base_capacity=current, raw_capacity=float(current), rounded_capacity=current, clamped_capacity=after.desired_capacity,
        min_size=after.min_size, max_size=after.max_size,
    )


def _activity_outcome(activity: Activity | None) -> DecisionOutcome:
    """ADJUSTED when the activity changes the capacity, else UNCHANGED (no activity: nothing changed)."""
    changed = activity is not None and activity.from_capacity != activity.to_capacity
    return DecisionOutcome.ADJUSTED if changed else DecisionOutcome.UNCHANGED


def _activity_reason(activity: Activity | None, after: Group) -> str:
    if activity is None:
        return f"capacity stays at {after.desired_capacity} (min_size {after.min_size}, max_size {after.max_size})"
    return capacity.adjustment_reason(activity)


def _decision(
    decision_id: str, group: Group, outcome: AdjustOutcome, now: float, *, source: DecisionSource, caller: str, cause: str,
    trigger: bytes, adjustment_type: AdjustmentType | None, adjustment: int, min_adjustment_step: int, step_scaling: bool,
    calculation: CapacityCalculation | None,
) -> ScalingDecision:
    """A decision of an Adjust or a SetDesiredCapacity of `group`, what came of it read from `outcome`: refused (why, until
    when), or its activity's."""
    refusal: Refusal | None = None
    cooldown_end: float | None = None
    if outcome.refused is not None:
        result, reason, activity_id = DecisionOutcome.REFUSED, outcome.refused.reason, ""
        refusal, cooldown_end = outcome.refused.refusal, outcome.refused.cooldown_end
    else:
        assert outcome.activity is not None, "an outcome not refused has its activity"
        result = DecisionOutcome.ADJUSTED if outcome.adjusted else DecisionOutcome.UNCHANGED
        reason, activity_id = capacity.adjustment_reason(outcome.activity), outcome.activity.id
    return ScalingDecision(
        id=decision_id, group_id=group.id, decide_time=now, source=source, caller=caller, cause=cause, trigger=trigger,
        adjustment_type=adjustment_type, adjustment=adjustment, min_adjustment_step=min_adjustment_step,
        step_scaling=step_scaling, calculation=calculation, previous_capacity=outcome.previous_capacity,
        desired_capacity=outcome.desired_capacity, outcome=result, refusal=refusal, cooldown_end=cooldown_end, reason=reason,
        activity_id=activity_id,
    )


def _record(
    decision_id: str, before: Group, now: float, *, source: DecisionSource, caller: str, cause: str, asked: int | None,
    calculation: CapacityCalculation | None, desired_capacity: int, outcome: DecisionOutcome, reason: str, activity_id: str,
    scheduled_action_id: str = "",
) -> ScalingDecision:
    """A decision that asks a desired capacity (`asked`; None: none) rather than an adjustment, and is never refused."""
    return ScalingDecision(
        id=decision_id, group_id=before.id, decide_time=now, source=source, caller=caller, cause=cause, trigger=b"",
        adjustment_type=None, adjustment=0, min_adjustment_step=0, step_scaling=False, calculation=calculation,
        previous_capacity=before.desired_capacity, desired_capacity=desired_capacity, outcome=outcome, refusal=None,
        cooldown_end=None, reason=reason, activity_id=activity_id, scheduled_action_id=scheduled_action_id,
        requested_capacity=asked,
    )
