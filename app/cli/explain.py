"""`autoscale group explain`: a group's scaling decisions for people, one block each.

The first line of a block reads left to right as the chain ran: when, what asked (the
alarm with its state, newest datapoints and threshold, the policy and its step, or the
operator's call), the adjustment, the capacity maths, and what came of it:

    2026-12-06T14:02:10Z  alarms/web-busy ALARM (91, 95 > 80) -> policies/web-out +30% : 4 -> raw 5.2 -> 5 : adjusted 4 -> 5
    2026-12-06T14:02:40Z  alarms/web-busy ALARM (96 > 80) -> policies/web-out +30% : not adjusted: cooldown until 2026-12-06T14:03:10Z

The second says who called, why the capacity stayed (the group's reason, in full) and
the activity recorded.

A policy's execution that asked the group nothing (no step held the breach, target
tracking's capacity stayed in its stabilization window, the execution failed) is no
decision of the group's; it is shown among them, by its time, as the policy's:

    2026-12-06T14:03:10Z  alarms/web-cpu-target OK (31 vs 50) -> policies/web-cpu : not asked: ... stabilization window ...
"""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from autoscale.timeutil import format_time, from_timestamp
from autoscale.v1 import alarm_pb2, common_pb2, group_pb2, policy_pb2

DATAPOINTS_SHOWN = 5
"""The newest datapoints of an alarm a line shows; older ones are elided."""

COMPARISONS = {
    alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN: ">",
    alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN_OR_EQUAL: ">=",
    alarm_pb2.COMPARISON_OPERATOR_LESS_THAN: "<",
    alarm_pb2.COMPARISON_OPERATOR_LESS_THAN_OR_EQUAL: "<=",
}

REFUSALS = {
    group_pb2.ADJUST_REFUSAL_SCALING_IN_PROGRESS: "a scaling activity in progress",
    group_pb2.ADJUST_REFUSAL_SUSPENDED: "alarm notifications suspended",
    group_pb2.ADJUST_REFUSAL_CAPACITY_CHANGED: "the desired capacity changed meanwhile",
}


def decision_text(decision: group_pb2.ScalingDecision) -> str:
    """One decision as a block of two lines: the chain, the maths and the outcome; then who called and why."""
    parts = [f"{_time(decision.decide_time)}  {_source(decision)} {_asked(decision)}"]
    if decision.HasField("calculation"):
        parts.append(_maths(decision.calculation, decision.step_scaling))
    parts.append(_outcome(decision))
    details = [f"by {decision.caller or 'anonymous'}"]
    if decision.outcome != group_pb2.SCALING_DECISION_OUTCOME_ADJUSTED:
        details.append(decision.reason)
    if decision.activity:
        details.append(f"activity {decision.activity}")
    return " : ".join(parts) + "\n    " + "; ".join(details)


def execution_text(policy: str, execution: policy_pb2.PolicyExecution) -> str:
    """A policy's execution that asked the group nothing, as a block of two lines like a decision's."""
    payload = execution.alarm_payload
    chain = policy
    if payload.alarm:
        state = alarm_pb2.AlarmState.Name(payload.state).removeprefix("ALARM_STATE_")
        threshold = payload.threshold if payload.HasField("threshold") else None
        shown = evidence(list(payload.datapoints), payload.state, payload.comparison_operator, threshold)
        chain = f"{payload.alarm} {state}{shown} -> {policy}"
    outcome = "failed" if execution.failed else "not asked"
    return f"{_time(execution.time)}  {chain} : {outcome}: {execution.reason}\n    by the policy; cause: {execution.cause or '-'}"


def _time(stamp: Timestamp) -> str:
    return format_time(from_timestamp(stamp))


def _source(decision: group_pb2.ScalingDecision) -> str:
    """What asked: the alarm and the policy (with its step), the policy alone, or the operator's call."""
    trigger = decision.trigger
    if decision.source == group_pb2.SCALING_DECISION_SOURCE_SET_DESIRED_CAPACITY:
        return "SetDesiredCapacity"
    if decision.source == group_pb2.SCALING_DECISION_SOURCE_ADJUST:
        return "Adjust"
    if decision.source == group_pb2.SCALING_DECISION_SOURCE_UPDATE_GROUP:
        return "UpdateGroup"
    if decision.source == group_pb2.SCALING_DECISION_SOURCE_SCHEDULED_ACTION:
        return decision.scheduled_action
    chain = [trigger.policy + _step(trigger) + _tracking(trigger)]
    if trigger.alarm:
        state = alarm_pb2.AlarmState.Name(trigger.alarm_state).removeprefix("ALARM_STATE_")
        chain.insert(0, f"{trigger.alarm} {state}{_evidence(trigger)}")
    return " -> ".join(chain)


def _evidence(trigger: group_pb2.ScalingTrigger) -> str:
    """The alarm's newest datapoints against its threshold: ` (91, 95 > 80)`; empty when it carried none."""
    threshold = trigger.threshold if trigger.HasField("threshold") else None
    return evidence(list(trigger.datapoints), trigger.alarm_state, trigger.comparison_operator, threshold)


def evidence(
    datapoints: list[float], state: alarm_pb2.AlarmState, comparison: alarm_pb2.ComparisonOperator,
    threshold: float | None,
) -> str:
    """Datapoints against a threshold: ` (91, 95 > 80)` in ALARM (they breach), ` (31 vs 50)` in another state (the
    comparison does not hold); empty for none."""
    if not datapoints:
        return ""
    shown = [f"{value:g}" for value in datapoints[-DATAPOINTS_SHOWN:]]
    if len(datapoints) > DATAPOINTS_SHOWN:
        shown.insert(0, "...")
    text = ", ".join(shown)
    if threshold is not None:
        symbol = COMPARISONS.get(comparison, "vs") if state == alarm_pb2.ALARM_STATE_ALARM else "vs"
        text += f" {symbol} {threshold:g}"
    return f" ({text})"


def _step(trigger: group_pb2.ScalingTrigger) -> str:
    """A step policy's breach and step: ` (breach 13: step 10 .. 20)`; empty for a simple policy."""
    if not (trigger.HasField("metric_value") and trigger.HasField("breach_threshold")):
        return ""
    lower = f"{trigger.step_lower_bound:g}" if trigger.HasField("step_lower_bound") else "-inf"
    upper = f"{trigger.step_upper_bound:g}" if trigger.HasField("step_upper_bound") else "+inf"
    return f" (breach {trigger.metric_value - trigger.breach_threshold:g}: step {lower} .. {upper})"


def _tracking(trigger: group_pb2.ScalingTrigger) -> str:
    """A target tracking policy's recommendation and what held it back: ` (recommends 12: scale-up rate limited to 6)`."""
    if not trigger.HasField("recommended_capacity"):
        return ""
    held = f": {trigger.policy_reason}" if trigger.policy_reason else ""
    return f" (recommends {trigger.recommended_capacity}{held})"


def _asked(decision: group_pb2.ScalingDecision) -> str:
    """The adjustment asked: `+30%`, `-1`, `exactly 5`; the desired capacity asked, `to 4`; or `sizes` alone."""
    if decision.adjustment_type == common_pb2.ADJUSTMENT_TYPE_PERCENT_CHANGE_IN_CAPACITY:
        step = f" (at least {decision.min_adjustment_step})" if decision.min_adjustment_step else ""
        return f"{decision.adjustment:+d}%{step}"
    if decision.adjustment_type == common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY:
        return f"{decision.adjustment:+d}"
    if decision.adjustment_type == common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY:
        return f"exactly {decision.adjustment}"
    if decision.HasField("requested_capacity"):
        return f"to {decision.requested_capacity}"
    return "sizes"


def _maths(calculation: group_pb2.CapacityCalculation, step_scaling: bool) -> str:
    """`4 -> raw 5.2 -> 5`, and `-> clamped 5 (max 5)` when the size range changed it."""
    base = f"{calculation.base_capacity} warmed up" if step_scaling else str(calculation.base_capacity)
    text = f"{base} -> raw {calculation.raw_capacity:g} -> {calculation.rounded_capacity}"
    if calculation.clamped_capacity != calculation.rounded_capacity:
        limit = "max" if calculation.rounded_capacity > calculation.max_size else "min"
        size = calculation.max_size if limit == "max" else calculation.min_size
        text += f" -> clamped {calculation.clamped_capacity} ({limit} {size})"
    return text


def _outcome(decision: group_pb2.ScalingDecision) -> str:
    """`adjusted 4 -> 5`, `unchanged at 5`, `not adjusted: cooldown until T`, `skipped`, `failed`."""
    if decision.outcome == group_pb2.SCALING_DECISION_OUTCOME_ADJUSTED:
        return f"adjusted {decision.previous_capacity} -> {decision.desired_capacity}"
    if decision.outcome == group_pb2.SCALING_DECISION_OUTCOME_UNCHANGED:
        return f"unchanged at {decision.desired_capacity}"
    if decision.outcome == group_pb2.SCALING_DECISION_OUTCOME_SKIPPED:
        return "skipped"
    if decision.outcome == group_pb2.SCALING_DECISION_OUTCOME_FAILED:
        return f"failed, unchanged at {decision.desired_capacity}"
    if decision.refusal == group_pb2.ADJUST_REFUSAL_COOLDOWN and decision.HasField("cooldown_end_time"):
        return f"not adjusted: cooldown until {_time(decision.cooldown_end_time)}"
    return f"not adjusted: {REFUSALS.get(decision.refusal, 'refused')}"
