"""The policy service's domain objects: policies, executions, and what it learns of groups.

Plain values with no I/O; times are seconds since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DEFAULT_GROUP_COOLDOWN = 300.0
"""Seconds of a group's cooldown when neither the policy nor the group sets one (as AWS)."""


class AdjustmentType(StrEnum):
    """How a policy's scaling_adjustment is read (as AWS and Heat define them)."""

    CHANGE_IN_CAPACITY = "change_in_capacity"
    EXACT_CAPACITY = "exact_capacity"
    PERCENT_CHANGE_IN_CAPACITY = "percent_change_in_capacity"


class ActivityStatus(StrEnum):
    """Status of a group's scaling activity, as the group service reports it."""

    UNSPECIFIED = "unspecified"
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNCHANGED = "unchanged"


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
    """Seconds; None means the group's cooldown, 0 means none."""
    create_time: float = 0.0


@dataclass(frozen=True)
class GroupView:
    """What an execution needs to know of the policy's group (from GroupService.GetGroup)."""

    name: str
    min_size: int
    max_size: int
    desired_capacity: int
    cooldown: float | None
    """Seconds; None means unset (the default cooldown)."""
    scaling_in_progress: bool


@dataclass(frozen=True)
class ActivityView:
    """A group's scaling activity as far as the cooldown is concerned."""

    name: str
    status: ActivityStatus
    end_time: float | None

    @property
    def finished(self) -> bool:
        """Whether the resize is over (it has ended and is no longer in progress)."""
        return self.end_time is not None and self.status is not ActivityStatus.IN_PROGRESS


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
