"""Conversions between the policy service's protobuf messages and its domain objects."""

from __future__ import annotations

from autoscale.timeutil import from_duration, to_duration, to_timestamp
from autoscale.v1 import common_pb2, policy_pb2
from services.policy.domain import AdjustmentType, Execution, Policy, group_name, policy_name

ADJUSTMENT_TYPES = {
    common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY: AdjustmentType.CHANGE_IN_CAPACITY,
    common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY: AdjustmentType.EXACT_CAPACITY,
    common_pb2.ADJUSTMENT_TYPE_PERCENT_CHANGE_IN_CAPACITY: AdjustmentType.PERCENT_CHANGE_IN_CAPACITY,
}

ADJUSTMENT_TYPE_MESSAGES = {domain: message for message, domain in ADJUSTMENT_TYPES.items()}


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
    )
    if policy.cooldown is not None:
        message.cooldown.CopyFrom(to_duration(policy.cooldown))
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
    return message
