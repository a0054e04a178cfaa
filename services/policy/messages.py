"""Conversions between the policy service's protobuf messages and its domain objects."""

from __future__ import annotations

from autoscale.timeutil import from_duration, to_duration, to_timestamp
from autoscale.v1 import common_pb2, group_pb2, policy_pb2
from services.policy.domain import (
    AdjustmentType,
    Execution,
    MetricAggregationType,
    Policy,
    StepAdjustment,
    group_name,
    policy_name,
)

ADJUSTMENT_TYPES = {
    common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY: AdjustmentType.CHANGE_IN_CAPACITY,
    common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY: AdjustmentType.EXACT_CAPACITY,
    common_pb2.ADJUSTMENT_TYPE_PERCENT_CHANGE_IN_CAPACITY: AdjustmentType.PERCENT_CHANGE_IN_CAPACITY,
}

ADJUSTMENT_TYPE_MESSAGES = {domain: message for message, domain in ADJUSTMENT_TYPES.items()}

METRIC_AGGREGATION_TYPES = {
    policy_pb2.METRIC_AGGREGATION_TYPE_AVERAGE: MetricAggregationType.AVERAGE,
    policy_pb2.METRIC_AGGREGATION_TYPE_MINIMUM: MetricAggregationType.MINIMUM,
    policy_pb2.METRIC_AGGREGATION_TYPE_MAXIMUM: MetricAggregationType.MAXIMUM,
}

METRIC_AGGREGATION_TYPE_MESSAGES = {domain: message for message, domain in METRIC_AGGREGATION_TYPES.items()}


def step_from_message(message: policy_pb2.StepAdjustment) -> StepAdjustment:
    """A step of a request (its adjustment type None when unspecified or unknown: checked where it is parsed)."""
    return StepAdjustment(
        lower_bound=message.metric_interval_lower_bound if message.HasField("metric_interval_lower_bound") else None,
        upper_bound=message.metric_interval_upper_bound if message.HasField("metric_interval_upper_bound") else None,
        scaling_adjustment=message.scaling_adjustment,
        adjustment_type=ADJUSTMENT_TYPES.get(message.adjustment_type),
    )


def step_to_message(step: StepAdjustment) -> policy_pb2.StepAdjustment:
    """The StepAdjustment message of a stored step."""
    message = policy_pb2.StepAdjustment(scaling_adjustment=step.scaling_adjustment)
    if step.lower_bound is not None:
        message.metric_interval_lower_bound = step.lower_bound
    if step.upper_bound is not None:
        message.metric_interval_upper_bound = step.upper_bound
    if step.adjustment_type is not None:
        message.adjustment_type = ADJUSTMENT_TYPE_MESSAGES[step.adjustment_type]
    return message


def cooldown_from_message(message: policy_pb2.Policy) -> float | None:
    """The policy's cooldown in seconds; None when unset (the group's cooldown)."""
    return from_duration(message.cooldown) if message.HasField("cooldown") else None


def policy_to_message(policy: Policy) -> policy_pb2.Policy:
    """A Policy message of a stored policy."""
    message = policy_pb2.Policy(
        name=policy_name(policy.id),
        group=group_name(policy.group_id),
        adjustment_type=ADJUSTMENT_TYPE_MESSAGES[policy.adjustment_type],
        scaling_adjustment=policy.scaling_adjustment,
        min_adjustment_step=policy.min_adjustment_step,
        create_time=to_timestamp(policy.create_time),
        step_adjustments=[step_to_message(step) for step in policy.step_adjustments],
    )
    if policy.cooldown is not None:
        message.cooldown.CopyFrom(to_duration(policy.cooldown))
    if policy.metric_aggregation_type is not None:
        message.metric_aggregation_type = METRIC_AGGREGATION_TYPE_MESSAGES[policy.metric_aggregation_type]
    if policy.estimated_instance_warmup is not None:
        message.estimated_instance_warmup.CopyFrom(to_duration(policy.estimated_instance_warmup))
    return message


def execution_to_message(execution: Execution) -> policy_pb2.PolicyExecution:
    """A PolicyExecution message of a stored execution."""
    message = policy_pb2.PolicyExecution(
        time=to_timestamp(execution.time),
        cause=execution.cause,
        request_id=execution.request_id,
        adjusted=execution.adjusted,
        reason=execution.reason,
        activity=execution.activity,
        failed=execution.failed,
    )
    if execution.alarm_payload is not None:
        message.alarm_payload.ParseFromString(execution.alarm_payload)
    if execution.metric_value is not None:
        message.metric_value = execution.metric_value
    if execution.breach_threshold is not None:
        message.breach_threshold = execution.breach_threshold
    if execution.step_adjustment is not None:
        message.step_adjustment.CopyFrom(step_to_message(execution.step_adjustment))
    return message


def scaling_trigger(execution: Execution) -> group_pb2.ScalingTrigger:
    """What set an execution off, passed on to the group's Adjust so that its scaling decision records the chain: the
    policy, the alarm's transition and the values that decided it (its payload), and a step policy's breach and step."""
    trigger = group_pb2.ScalingTrigger(policy=policy_name(execution.policy_id))
    if execution.alarm_payload is not None:
        payload = policy_pb2.AlarmPayload.FromString(execution.alarm_payload)
        trigger.alarm, trigger.alarm_state, trigger.alarm_reason = payload.alarm, payload.state, payload.reason
        trigger.datapoints.extend(payload.datapoints)
        trigger.comparison_operator = payload.comparison_operator
        if payload.HasField("threshold"):
            trigger.threshold = payload.threshold
    if execution.metric_value is not None and execution.breach_threshold is not None:
        trigger.metric_value, trigger.breach_threshold = execution.metric_value, execution.breach_threshold
    step = execution.step_adjustment
    if step is not None:
        if step.lower_bound is not None:
            trigger.step_lower_bound = step.lower_bound
        if step.upper_bound is not None:
            trigger.step_upper_bound = step.upper_bound
    return trigger
