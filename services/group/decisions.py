"""Scaling decisions: every request to change a group's capacity, recorded with its whole chain, whatever came of it.

The group service is where each capacity decision ends (an alarm's policy, a receiver's,
an operator's Adjust or SetDesiredCapacity), so it records each one in the transaction
that decides it, including those that changed nothing: what asked (and what set a policy
off, as the policy service passed it: the alarm, its datapoints and threshold, the step),
the capacity maths (from what, raw, rounded, clamped to [min_size, max_size]) and the
outcome (adjusted, unchanged and why, or refused: cooldown until when, resizing,
suspended). `autoscale group explain` reads them back (ListScalingDecisions).

A group keeps its newest MAX_DECISIONS_PER_GROUP; a request_id answered before decides
nothing again and records nothing. A request refused with an error (a bad size, the
group being deleted, a quota) changed nothing and is answered with that error alone.

Pure functions; the caller passes `now`.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.group import capacity, warmup
from services.group.domain import (
    AdjustCommand,
    AdjustmentType,
    AdjustOutcome,
    CapacityCalculation,
    DecisionOutcome,
    DecisionSource,
    Group,
    Instance,
    ScalingDecision,
)

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
    return _decision(
        decision_id, group, outcome, now, source=DecisionSource.SET_DESIRED_CAPACITY, caller=caller,
        cause="SetDesiredCapacity", trigger=b"", adjustment_type=None, adjustment=desired, min_adjustment_step=0,
        step_scaling=False, calculation=None,
    )


def _decision(
    decision_id: str, group: Group, outcome: AdjustOutcome, now: float, *, source: DecisionSource, caller: str, cause: str,
    trigger: bytes, adjustment_type: AdjustmentType | None, adjustment: int, min_adjustment_step: int, step_scaling: bool,
    calculation: CapacityCalculation | None,
) -> ScalingDecision:
    """A decision of `group`, what came of it read from `outcome`: refused (why, until when), or its activity's."""
    if outcome.refused is not None:
        result, reason, activity_id = DecisionOutcome.REFUSED, outcome.refused.reason, ""
    else:
        assert outcome.activity is not None, "an outcome not refused has its activity"
        result = DecisionOutcome.ADJUSTED if outcome.adjusted else DecisionOutcome.UNCHANGED
        reason, activity_id = capacity.adjustment_reason(outcome.activity), outcome.activity.id
    return ScalingDecision(
        id=decision_id, group_id=group.id, decide_time=now, source=source, caller=caller, cause=cause, trigger=trigger,
        adjustment_type=adjustment_type, adjustment=adjustment, min_adjustment_step=min_adjustment_step,
        step_scaling=step_scaling, calculation=calculation, previous_capacity=outcome.previous_capacity,
        desired_capacity=outcome.desired_capacity, outcome=result,
        refusal=outcome.refused.refusal if outcome.refused is not None else None,
        cooldown_end=outcome.refused.cooldown_end if outcome.refused is not None else None, reason=reason,
        activity_id=activity_id,
    )
