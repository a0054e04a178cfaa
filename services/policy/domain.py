"""The policy service's domain objects: policies and executions.

Plain values with no I/O; times are seconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from autoscale.cooldown import effective_cooldown
from services.policy.forecast import Forecast, PredictiveFloor, WindowSum, read_forecast
from services.policy.target_tracking import (
    Behavior,
    Recommendation,
    TargetTrackingState,
    asks_scale_out,
    scale_in_floor,
    warmed_up,
)


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


class Statistic(StrEnum):
    """The statistic of each period of a metric of the Metrics service (its Statistic)."""

    AVERAGE = "average"
    MINIMUM = "minimum"
    MAXIMUM = "maximum"
    SUM = "sum"
    SAMPLE_COUNT = "sample_count"


class PredefinedMetricType(StrEnum):
    """A target tracking policy's predefined metric (AWS's PredefinedMetricType)."""

    ASG_AVERAGE_CPU_UTILIZATION = "asg_average_cpu_utilization"
    """The average of `cpu_utilization` over the series of dimension group={group id}."""


PREDEFINED_CPU_METRIC = "cpu_utilization"
"""The Metrics service's metric ASG_AVERAGE_CPU_UTILIZATION averages: the CPU of each instance in percent, as the group
service measures it for local processes and Nova servers (services.group.cpu_report)."""


@dataclass(frozen=True)
class GnocchiMetric:
    """Gnocchi measures a target tracking policy reads: an alarm's GnocchiRule target and aggregation."""

    metric: str = ""
    resource_type: str = ""
    resource_id: str = ""
    resource_query: str = ""
    metric_ids: tuple[str, ...] = ()
    aggregation_method: str = ""
    """"": the mean."""


@dataclass(frozen=True)
class TrackedMetric:
    """The metric a target tracking policy tracks: predefined, else the Metrics service's metric, a PromQL query or Gnocchi
    measures."""

    predefined: PredefinedMetricType | None = None
    metric_name: str = ""
    dimensions: tuple[tuple[str, str], ...] = ()
    """Sorted by name."""
    statistic: Statistic | None = None
    """None: unset (the average)."""
    prometheus_query: str = ""
    gnocchi: GnocchiMetric | None = None


@dataclass(frozen=True)
class TargetTracking:
    """A target tracking policy's configuration (AWS's TargetTrackingConfiguration with HPA's behavior)."""

    target_value: float
    metric: TrackedMetric
    disable_scale_in: bool = False
    period: float | None = None
    """Seconds between evaluations (its alarm's period); None: DEFAULT_TARGET_TRACKING_PERIOD."""
    behavior: Behavior = Behavior()
    predictive_floor: PredictiveFloor | None = None
    """A floor forecast from the metric's history (services.policy.forecast); None: none."""


DEFAULT_TARGET_TRACKING_PERIOD = 60.0
"""A target tracking policy's period when unset: CloudWatch's one-minute metrics, as AWS's alarms read them."""


def metrics_service_series(group_id: str, metric: TrackedMetric) -> tuple[str, tuple[tuple[str, str], ...], Statistic]:
    """The Metrics service's metric a tracked metric of a group's policy reads: its name, the dimensions its series must
    include, and the statistic (the predefined CPU: the average of `cpu_utilization{group=<id>}`)."""
    if metric.predefined is not None:
        return PREDEFINED_CPU_METRIC, (("group", group_id),), Statistic.AVERAGE
    return metric.metric_name, metric.dimensions, metric.statistic or Statistic.AVERAGE


def tracking_period(target_tracking: TargetTracking) -> float:
    """Seconds between a target tracking policy's evaluations."""
    return DEFAULT_TARGET_TRACKING_PERIOD if target_tracking.period is None else target_tracking.period


def tracking_forecast(
    target_tracking: TargetTracking, read_window_sum: WindowSum, *, now: float, min_size: int, max_size: int,
) -> Forecast:
    """The forecast of a target tracking policy's predictive floor at `now` (services.policy.forecast), each season's load
    read by `read_window_sum` (the policy service's executor and `autoscale replay` read it; what it raises goes through)."""
    assert target_tracking.predictive_floor is not None
    return read_forecast(
        read_window_sum, target_tracking.predictive_floor, now=now, period=tracking_period(target_tracking),
        predefined_cpu=target_tracking.metric.predefined is not None, target_value=target_tracking.target_value,
        min_size=min_size, max_size=max_size,
    )


def tracking_count(
    policy: Policy, metric_value: float, in_service: int, in_service_times: Callable[[], Sequence[float]], *,
    group_cooldown: float | None, now: float,
) -> tuple[int, int]:
    """The instances a target tracking execution counts at `now`, and those it leaves out because they still warm up: on a
    scale-out (services.policy.target_tracking.asks_scale_out) only those warmed up for the policy's warm-up (else the
    group's cooldown, else 300 s) of the times `in_service_times` reads (called only then: the executor asks the group);
    else every one of the `in_service`. The policy service's executor and `autoscale replay` count so."""
    tracking = policy.target_tracking
    assert tracking is not None
    if not asks_scale_out(metric_value, tracking.target_value, tracking.behavior):
        return in_service, 0
    warmup = effective_cooldown(policy.estimated_instance_warmup, group_cooldown)
    return warmed_up(in_service_times(), warmup, now)


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
    """A step or target tracking policy's: seconds an instance warms up once in service; None: the group's cooldown."""
    target_tracking: TargetTracking | None = None
    """A target tracking policy's configuration; None for the other kinds."""
    last_recommendation: Recommendation | None = None
    """A target tracking policy's last recommendation, as stored (not part of its definition: its executions write it)."""
    last_forecast: Forecast | None = None
    """A target tracking policy's last forecast of its predictive floor, as stored (its executions write it)."""

    @property
    def is_step(self) -> bool:
        """Whether it is a step policy (AWS's StepScaling)."""
        return bool(self.step_adjustments)

    @property
    def owned_alarms(self) -> tuple[str, ...]:
        """The alarms it made and owns: a target tracking policy's `alarms/{id}-target`."""
        return (target_alarm_name(self.id),) if self.target_tracking is not None else ()


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
    recommended_capacity: int | None = None
    """A target tracking policy's: the capacity the metric asked."""
    desired_capacity: int | None = None
    """A target tracking policy's: the desired capacity it decided."""
    forecast: Forecast | None = None
    """A target tracking policy's with a predictive floor: its forecast."""
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


TARGET_ALARM_SUFFIX = "-target"
"""What a target tracking policy's id is followed by in its alarm's id."""


def target_alarm_id(policy_id: str) -> str:
    """The id of the alarm a target tracking policy makes: `{id}-target`."""
    return f"{policy_id}{TARGET_ALARM_SUFFIX}"


def target_alarm_name(policy_id: str) -> str:
    """`alarms/{id}-target`."""
    return f"alarms/{target_alarm_id(policy_id)}"


def scale_in_floors(
    policy_id: str, group_policies: Iterable[Policy], state_of: Callable[[str], TargetTrackingState], now: float,
) -> list[tuple[str, int]]:
    """How low each of the group's target tracking policies other than `policy_id` that may scale in lets it go at `now`
    (its scale-down window's greatest recommendation, from what `state_of` its id remembers), by policy name: AWS's rule
    that a scale-in needs every such policy's agreement (target_tracking.agreed_scale_in)."""
    floors = []
    for other in group_policies:
        tracking = other.target_tracking
        if other.id == policy_id or tracking is None or tracking.disable_scale_in:
            continue
        floor = scale_in_floor(state_of(other.id), tracking.behavior, now)
        if floor is not None:
            floors.append((policy_name(other.id), floor))
    return floors
