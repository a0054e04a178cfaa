"""Field rules of a policy and of an execution request, collected into `Violations`.

Limits (listed for users in README.md, under bad input):
- `policy.cooldown`: 0s to 86400s (a day); unset means the group's.
- ExecutePolicy `cause`: at most 1024 characters (MAX_CAUSE_LENGTH); `request_id`: at most 255 characters.
- ExecutePolicy `alarm_payload`: an alarm's name, known states and comparison, a reason of at most 4096 characters, at
  most 1440 finite datapoints, a finite threshold.
"""

from __future__ import annotations

from autoscale.v1 import alarm_pb2, policy_pb2
from autoscale.validation import MAX_CAUSE_LENGTH, Violations, check_enum, check_finite, check_text, try_parse_name
from services.policy.domain import AdjustmentType

MAX_PAYLOAD_REASON_LENGTH = 4096
"""Characters of an alarm payload's reason at most."""

MAX_PAYLOAD_DATAPOINTS = 1440
"""Datapoints of an alarm payload at most: as many periods as an alarm may evaluate."""

MAX_COOLDOWN = 86400.0
"""Seconds of a policy's cooldown at most (a day), as of a group's: a longer one is a mistake, and must still fit the answer."""


def check_policy(
    violations: Violations,
    adjustment_type: AdjustmentType | None,
    scaling_adjustment: int,
    min_adjustment_step: int,
    prefix: str = "policy",
) -> None:
    """A policy's adjustment and step; `adjustment_type` None (unset or unknown) is checked elsewhere.

    min_adjustment_step only matters to a percent change but is accepted on every
    type (and ignored there), as Heat does.
    """
    if adjustment_type is AdjustmentType.EXACT_CAPACITY:
        violations.check(
            scaling_adjustment >= 0, f"{prefix}.scaling_adjustment", f"must be >= 0 for an exact capacity, got {scaling_adjustment}"
        )
    elif adjustment_type is not None:
        violations.check(
            scaling_adjustment != 0,
            f"{prefix}.scaling_adjustment",
            f"must not be 0 for {adjustment_type.name}: a policy that changes nothing is a mistake",
        )
    violations.check(min_adjustment_step >= 0, f"{prefix}.min_adjustment_step", f"must be >= 0, got {min_adjustment_step}")


def check_cause(violations: Violations, cause: str) -> None:
    """An execution's cause, kept with the execution and passed on to Adjust, is bounded."""
    check_text(violations, "cause", cause, MAX_CAUSE_LENGTH)


def check_alarm_payload(violations: Violations, payload: policy_pb2.AlarmPayload, prefix: str = "alarm_payload") -> None:
    """What an alarm's action carries: each field within its rule, so that it can be stored and read back."""
    try_parse_name(violations, f"{prefix}.alarm", payload.alarm, "alarms")
    check_enum(violations, f"{prefix}.previous_state", payload.previous_state, alarm_pb2.AlarmState)
    check_enum(violations, f"{prefix}.state", payload.state, alarm_pb2.AlarmState)
    check_text(violations, f"{prefix}.reason", payload.reason, MAX_PAYLOAD_REASON_LENGTH)
    if violations.check(
        len(payload.datapoints) <= MAX_PAYLOAD_DATAPOINTS, f"{prefix}.datapoints",
        f"must hold at most {MAX_PAYLOAD_DATAPOINTS} values, got {len(payload.datapoints)}",
    ):
        for index, value in enumerate(payload.datapoints):
            check_finite(violations, f"{prefix}.datapoints[{index}]", value)
    if payload.HasField("threshold"):
        check_finite(violations, f"{prefix}.threshold", payload.threshold)
    if payload.comparison_operator:
        check_enum(violations, f"{prefix}.comparison_operator", payload.comparison_operator, alarm_pb2.ComparisonOperator)
