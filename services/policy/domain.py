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


class MetricAggregationType(StrEnum):
    """How a step policy makes one metric value of an alarm's evaluated datapoints (AWS's MetricAggregationType)."""

    AVERAGE = "average"
    MINIMUM = "minimum"
    MAXIMUM = "maximum"


@dataclass(frozen=True)
class StepAdjustment:
    """One step of a step policy (AWS's StepAdjustment): its adjustment applies when the breach lies within its bounds."""

    lower_bound: float | None
    """The breach's lower bound; None: negative infinity."""
    upper_bound: float | None
    """The breach's upper bound; None: positive infinity."""
    scaling_adjustment: int
    adjustment_type: AdjustmentType | None = None
    """How scaling_adjustment is read; None: the policy's adjustment_type."""


@dataclass(frozen=True)
class Policy:
    """A scaling policy of one group: simple (scaling_adjustment, cooldown) or step (step_adjustments, warm-up)."""

    id: str
    group_id: str
    adjustment_type: AdjustmentType
    scaling_adjustment: int
    min_adjustment_step: int = 0
    """Least change in instances of a percent change; ignored by the other types."""
    cooldown: float | None = None
    """Seconds of cooldown its adjustments start (the group keeps it); None means the group's cooldown, 0 means none."""
    create_time: float = 0.0
    step_adjustments: tuple[StepAdjustment, ...] = ()
    """A step policy's steps; empty for a simple policy."""
    metric_aggregation_type: MetricAggregationType | None = None
    """A step policy's: how the alarm's datapoints make the metric value; None: unset (the average)."""
    estimated_instance_warmup: float | None = None
    """A step policy's: seconds an instance warms up once in service; None: the group's cooldown."""

    @property
    def is_step(self) -> bool:
        """Whether it is a step policy (AWS's StepScaling)."""
        return bool(self.step_adjustments)


@dataclass(frozen=True)
class Breach:
    """What picks a step policy's step: a metric value and the threshold it is measured from."""

    metric_value: float
    breach_threshold: float
    scale_in_alarm: bool = False
    """The alarm compares with < or <=: a metric value at the threshold is read as below it (services.policy.steps)."""


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
    metric_value: float | None = None
    """A step policy's: the metric value the breach was measured with."""
    breach_threshold: float | None = None
    """A step policy's: the threshold the breach was measured from."""
    step_adjustment: StepAdjustment | None = None
    """A step policy's: the step that held the breach, as it was then (None: none did)."""
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
