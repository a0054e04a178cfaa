"""The policy service's domain objects: policies and executions.

Plain values with no I/O; times are seconds since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AdjustmentType(StrEnum):
    """How a policy's scaling_adjustment is read (as AWS and Heat define them)."""

    CHANGE_IN_CAPACITY = "change_in_capacity"
    EXACT_CAPACITY = "exact_capacity"
    PERCENT_CHANGE_IN_CAPACITY = "percent_change_in_capacity"


@dataclass(frozen=True)
class Policy:
    """A scaling policy of one group."""

    id: str
    group_id: str
    adjustment_type: AdjustmentType
    scaling_adjustment: int
    min_adjustment_step: int = 0
    """Least change in instances of a percent change; ignored by the other types."""
    cooldown: float | None = None
    """Seconds of cooldown its adjustments start (the group keeps it); None means the group's cooldown, 0 means none."""
    create_time: float = 0.0


@dataclass(frozen=True)
class Execution:
    """One signal of a policy and its outcome."""

    policy_id: str
    time: float
    cause: str
    request_id: str
    adjusted: bool
    reason: str
    activity: str = ""
    """The activity started, when adjusted."""
    failed: bool = False
    alarm_payload: bytes | None = None
    """The serialized AlarmPayload of the alarm whose action this was (None: an operator's or a receiver's)."""
    response: bytes | None = None
    """The serialized ExecutePolicyResponse answered (None when the execution failed)."""
    sequence: int = 0
    """Storage order, set when stored; breaks ties between executions of the same time."""


def policy_name(policy_id: str) -> str:
    """`policies/{id}`."""
    return f"policies/{policy_id}"


def group_name(group_id: str) -> str:
    """`groups/{id}`."""
    return f"groups/{group_id}"
