"""Field rules of a policy and of an execution request, collected into `Violations`.

Limits (listed for users in README.md, under bad input):
- `policy.cooldown`: 0s to 86400s (a day); unset means the group's. Simple policies only.
- `policy.step_adjustments`: 1 to 20 steps (AWS's quota), AWS's rules (finite bounds, no gap, no overlap, at most one
  step open each way and never both ways, a negative lower bound needs a step open below, a positive upper bound one open
  above); `policy.estimated_instance_warmup`: 0s to 86400s.
- ExecutePolicy `cause`: at most 1024 characters (MAX_CAUSE_LENGTH); `request_id`: at most 255 characters.
- ExecutePolicy `alarm_payload`: an alarm's name, known states and comparison, a reason of at most 4096 characters, at
  most 1440 finite datapoints, a finite threshold.
- `policy.target_tracking`: target_value finite and > 0; exactly one of a predefined metric and a customized one (a
  metric of the Metrics service, as an alarm's, or a PromQL query of at most 4096 characters); period 1s to 3600s;
  stabilization windows 0s to 3600s; at most 10 rate policies a direction, value 1 to 10000, period 1s to 1800s
  (HPA's); tolerance 0 to 1. A target tracking policy's id is at most 56 characters (its alarm's id adds `-target`).
- `policy.target_tracking.predictive_floor`: only for metrics of the Metrics service (the history is read there); at
  most 8 distinct seasons, each 60s to 35 days; buffer 0s to 3600s (AWS's SchedulingBufferTime); sample_interval 1s
  to 3600s; known mode and aggregation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from autoscale.series import MAX_DIMENSIONS, check_dimension, check_metric
from autoscale.timeutil import check_duration, check_timestamp
from autoscale.v1 import alarm_pb2, common_pb2, policy_pb2
from autoscale.validation import MAX_CAUSE_LENGTH, Violations, check_enum, check_finite, check_text, try_parse_name
from services.policy.domain import TARGET_ALARM_SUFFIX, AdjustmentType, Breach, StepAdjustment, TargetTracking
from services.policy.messages import target_tracking_from_message
from services.policy.steps import describe_bounds

MAX_STEP_ADJUSTMENTS = 20
"""Steps of a step policy at most (AWS's quota of step adjustments per scaling policy)."""

MAX_INSTANCE_WARMUP = 86400.0
"""Seconds of a step policy's estimated_instance_warmup at most (a day)."""

MAX_PAYLOAD_REASON_LENGTH = 4096
"""Characters of an alarm payload's reason at most."""

MAX_PAYLOAD_DATAPOINTS = 1440
"""Datapoints of an alarm payload at most: as many periods as an alarm may evaluate."""

MAX_TARGET_TRACKING_PERIOD = 3600.0
"""Seconds of a target tracking policy's period at most (an hour)."""

MAX_STABILIZATION_WINDOW = 3600.0
"""Seconds of a stabilization window at most (HPA's)."""

MAX_RATE_POLICIES = 10
"""Rate policies of a direction at most."""

MAX_RATE_POLICY_VALUE = 10000
"""A rate policy's value at most (instances, or percent)."""

MAX_RATE_POLICY_PERIOD = 1800.0
"""Seconds of a rate policy's period at most (HPA's)."""

MAX_PROMETHEUS_QUERY_LENGTH = 4096
"""Characters of a customized metric's PromQL query at most (as an alarm's)."""

MAX_GNOCCHI_NAME_LENGTH = 255
"""Characters of a Gnocchi metric's name, resource type or resource id at most (as an alarm's)."""

MAX_GNOCCHI_AGGREGATION_LENGTH = 32
"""Characters of a Gnocchi aggregation method at most."""

MAX_GNOCCHI_METRIC_IDS = 10
"""Gnocchi metric ids at most (as an alarm's)."""

MAX_TARGET_TRACKING_ID_LENGTH = 63 - len(TARGET_ALARM_SUFFIX)
"""Characters of a target tracking policy's id at most: its alarm's id, `{id}-target`, is an id too."""

MAX_SEASONS = 8
"""Seasons of a predictive floor at most (each is one GetStatistics call per execution)."""

MIN_SEASON = 60.0
"""Seconds of a season at least: a minute, CloudWatch's finest period."""

MAX_SEASON = 35 * 86400.0
"""Seconds of a season at most: five weeks (the Metrics service keeps what it is given; longer is a mistake)."""

MAX_FORECAST_BUFFER = 3600.0
"""Seconds a predictive floor looks ahead at most (AWS's SchedulingBufferTime limit)."""

MAX_SAMPLE_INTERVAL = 3600.0
"""Seconds between two samples of a series at most, for a predictive floor (an hour: a window is at least as long)."""

MAX_COOLDOWN = 86400.0
"""Seconds of a policy's cooldown at most (a day), as of a group's: a longer one is a mistake, and must still fit the answer."""


def check_policy(
    violations: Violations,
    adjustment_type: AdjustmentType | None,
    scaling_adjustment: int,
    min_adjustment_step: int,
    prefix: str = "policy",
) -> None:
    """A simple policy's adjustment and step; `adjustment_type` None (unset or unknown) is checked elsewhere.

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
    check_min_adjustment_step(violations, min_adjustment_step, prefix)


def check_min_adjustment_step(violations: Violations, min_adjustment_step: int, prefix: str = "policy") -> None:
    """The least change in instances of a percent change, of a simple or a step policy, is >= 0."""
    violations.check(min_adjustment_step >= 0, f"{prefix}.min_adjustment_step", f"must be >= 0, got {min_adjustment_step}")


def check_policy_kind(
    violations: Violations,
    steps: Sequence[StepAdjustment],
    scaling_adjustment: int,
    cooldown: float | None,
    metric_aggregation_type_set: bool,
    estimated_instance_warmup: float | None,
    prefix: str = "policy",
) -> bool:
    """The fields of the other kind left unset (AWS reads each of them for one policy type only); True for a step policy.

    A step policy's adjustments are its steps' and it counts warm-up instead of a cooldown; a simple policy has no
    metric value to aggregate and honours the cooldown instead of a warm-up.
    """
    if steps:
        violations.check(
            scaling_adjustment == 0, f"{prefix}.scaling_adjustment",
            "is not read by a step policy (its steps give the adjustment): leave it 0",
        )
        violations.check(
            cooldown is None, f"{prefix}.cooldown",
            "is not read by a step policy (it counts instances warming up instead, estimated_instance_warmup): leave it unset",
        )
        return True
    violations.check(
        not metric_aggregation_type_set, f"{prefix}.metric_aggregation_type", "is read by step policies only (step_adjustments)"
    )
    violations.check(
        estimated_instance_warmup is None, f"{prefix}.estimated_instance_warmup", "is read by step policies only (step_adjustments)"
    )
    return False


def check_step_adjustments(
    violations: Violations, steps: Sequence[StepAdjustment], policy_type: AdjustmentType | None,
    prefix: str = "policy.step_adjustments",
) -> None:
    """A step policy's steps, by AWS's rules (StepAdjustment): each step within its own rules (read by its adjustment type,
    else the policy's `policy_type`), then together covering their range with no gap or overlap, open at most once each
    way."""
    if not violations.check(
        len(steps) <= MAX_STEP_ADJUSTMENTS, prefix, f"must hold at most {MAX_STEP_ADJUSTMENTS} steps, got {len(steps)}"
    ):
        return
    sound = True
    for index, step in enumerate(steps):
        sound = _check_step(violations, step, policy_type, f"{prefix}[{index}]") and sound
    if not sound:
        return  # the steps' intervals cannot be compared
    if not _check_open_ends(violations, steps, prefix):
        return  # two steps open the same way overlap already: that is the violation to mend
    ordered = sorted(range(len(steps)), key=lambda index: _lower_or_minus_infinity(steps[index]))
    for before, after in zip(ordered, ordered[1:], strict=False):
        upper, lower = steps[before].upper_bound, steps[after].lower_bound
        field_path = f"{prefix}[{after}].metric_interval_lower_bound"
        if upper is None or lower is None or upper > lower:
            violations.add(field_path, f"overlaps step [{before}] (its interval {describe_bounds(steps[before])})")
        elif upper < lower:
            violations.add(field_path, f"leaves a gap after step [{before}], whose upper bound is {upper:g}: make it {upper:g}")


def _check_step(violations: Violations, step: StepAdjustment, policy_type: AdjustmentType | None, prefix: str) -> bool:
    """One step's own rules; whether its interval is sound enough to compare with the others'."""
    lower, upper = step.lower_bound, step.upper_bound
    sound = True
    for bound, name in ((lower, "metric_interval_lower_bound"), (upper, "metric_interval_upper_bound")):
        if bound is not None and not math.isfinite(bound):
            violations.add(f"{prefix}.{name}", f"must be a finite number, got {bound} (leave it unset for an open end)")
            sound = False
    if lower is None and upper is None:
        violations.add(prefix, "must have a lower or an upper bound (a step may be open one way only)")
        sound = False
    elif sound and lower is not None and upper is not None and not lower < upper:
        violations.add(f"{prefix}.metric_interval_upper_bound", f"must be above the lower bound {lower:g}, got {upper:g}")
        sound = False
    if (step.adjustment_type or policy_type) is AdjustmentType.EXACT_CAPACITY:
        violations.check(
            step.scaling_adjustment >= 0, f"{prefix}.scaling_adjustment",
            f"must be >= 0 for an exact capacity, got {step.scaling_adjustment}",
        )
    return sound


def _check_open_ends(violations: Violations, steps: Sequence[StepAdjustment], prefix: str) -> bool:
    """At most one step open below and one open above; a negative lower bound needs the one open below, a positive upper
    bound the one open above (AWS). Whether at most one is open each way."""
    open_below = [i for i, step in enumerate(steps) if step.lower_bound is None]
    open_above = [i for i, step in enumerate(steps) if step.upper_bound is None]
    for index in open_below[1:]:
        violations.add(
            f"{prefix}[{index}].metric_interval_lower_bound", f"is unset, as step [{open_below[0]}]'s: at most one step may be open below"
        )
    for index in open_above[1:]:
        violations.add(
            f"{prefix}[{index}].metric_interval_upper_bound", f"is unset, as step [{open_above[0]}]'s: at most one step may be open above"
        )
    for index, step in enumerate(steps):
        if not open_below and step.lower_bound is not None and step.lower_bound < 0:
            violations.add(
                f"{prefix}[{index}].metric_interval_lower_bound",
                f"is negative ({step.lower_bound:g}), so a step with no lower bound must hold the breaches below it",
            )
        if not open_above and step.upper_bound is not None and step.upper_bound > 0:
            violations.add(
                f"{prefix}[{index}].metric_interval_upper_bound",
                f"is positive ({step.upper_bound:g}), so a step with no upper bound must hold the breaches above it",
            )
    return len(open_below) <= 1 and len(open_above) <= 1


def _lower_or_minus_infinity(step: StepAdjustment) -> float:
    return -math.inf if step.lower_bound is None else step.lower_bound


def check_cause(violations: Violations, cause: str) -> None:
    """An execution's cause, kept with the execution and passed on to Adjust, is bounded."""
    check_text(violations, "cause", cause, MAX_CAUSE_LENGTH)


def check_alarm_payload(
    violations: Violations, payload: policy_pb2.AlarmPayload, prefix: str = "alarm_payload", signalled_by: str = ""
) -> None:
    """What an alarm's action carries: each field within its rule, so that it can be stored and read back; its alarm the
    one `signalled_by` names, when the request names one."""
    if try_parse_name(violations, f"{prefix}.alarm", payload.alarm, "alarms") is not None and signalled_by:
        violations.check(
            payload.alarm == signalled_by, f"{prefix}.alarm", f"must be the alarm the request names ({signalled_by}), got {payload.alarm}"
        )
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
    if payload.HasField("time"):
        check_timestamp(violations, f"{prefix}.time", payload.time)


def check_breach(violations: Violations, metric_value: float | None, breach_threshold: float | None) -> Breach | None:
    """An operator's metric value and breach threshold (AWS's MetricValue and BreachThreshold): both or neither, finite."""
    if metric_value is None and breach_threshold is None:
        return None
    for value, field_path in ((metric_value, "metric_value"), (breach_threshold, "breach_threshold")):
        if value is None:
            violations.add(field_path, "is required with the other of metric_value and breach_threshold: give both, or neither")
        else:
            check_finite(violations, field_path, value)
    if metric_value is None or breach_threshold is None or not (math.isfinite(metric_value) and math.isfinite(breach_threshold)):
        return None
    return Breach(metric_value, breach_threshold)


def check_target_tracking(
    violations: Violations, message: policy_pb2.TargetTrackingConfiguration, prefix: str = "policy.target_tracking",
) -> TargetTracking:
    """A target tracking configuration's rules (see the module's docstring), each violation naming its field; what it
    gives, to be stored only when no violation was found."""
    check_finite(violations, f"{prefix}.target_value", message.target_value)
    if math.isfinite(message.target_value):
        violations.check(message.target_value > 0, f"{prefix}.target_value", f"must be above 0, got {message.target_value:g}")
    predefined, customized = message.HasField("predefined_metric_specification"), message.HasField("customized_metric_specification")
    if predefined == customized:
        violations.add(
            f"{prefix}.predefined_metric_specification",
            "exactly one of predefined_metric_specification and customized_metric_specification is required",
        )
    elif predefined:
        check_enum(
            violations, f"{prefix}.predefined_metric_specification.predefined_metric_type",
            message.predefined_metric_specification.predefined_metric_type, policy_pb2.PredefinedMetricType,
        )
    else:
        _check_customized_metric(violations, message.customized_metric_specification, f"{prefix}.customized_metric_specification")
    if message.HasField("period"):
        check_duration(violations, f"{prefix}.period", message.period, allow_zero=False, maximum=MAX_TARGET_TRACKING_PERIOD)
        violations.check(message.period.seconds >= 1, f"{prefix}.period", "must be at least 1s")
    for direction in ("scale_up", "scale_down"):
        _check_scaling_rules(violations, getattr(message.behavior, direction), f"{prefix}.behavior.{direction}")
    if message.HasField("tolerance"):
        violations.check(
            0 <= message.tolerance <= 1, f"{prefix}.tolerance", f"must be from 0 to 1, got {message.tolerance}"
        )
    if message.HasField("predictive_floor"):
        _check_predictive_floor(violations, message, f"{prefix}.predictive_floor")
    return target_tracking_from_message(message)


def _check_predictive_floor(violations: Violations, message: policy_pb2.TargetTrackingConfiguration, prefix: str) -> None:
    """A predictive floor: a metric whose history the Metrics service holds, bounded seasons and buffer, known enums."""
    customized = message.customized_metric_specification
    external = "prometheus_query" if customized.prometheus_query else "gnocchi_metric" if customized.HasField("gnocchi_metric") else ""
    violations.check(
        not external, prefix,
        f"needs a metric of the Metrics service (predefined, or metric_name), whose history it reads: a {external} has none there",
    )
    floor = message.predictive_floor
    violations.check(
        len(floor.seasons) <= MAX_SEASONS, f"{prefix}.seasons", f"must hold at most {MAX_SEASONS} seasons, got {len(floor.seasons)}"
    )
    seen: set[float] = set()
    for index, season in enumerate(floor.seasons):
        field = f"{prefix}.seasons[{index}]"
        seconds = check_duration(violations, field, season, allow_zero=False, maximum=MAX_SEASON)
        violations.check(seconds >= MIN_SEASON, field, f"must be at least {MIN_SEASON:.0f}s, got {seconds:g}s")
        violations.check(seconds not in seen, field, f"repeats the season {seconds:g}s")
        seen.add(seconds)
    if floor.HasField("buffer"):
        check_duration(violations, f"{prefix}.buffer", floor.buffer, allow_zero=True, maximum=MAX_FORECAST_BUFFER)
    if floor.HasField("sample_interval"):
        interval = check_duration(
            violations, f"{prefix}.sample_interval", floor.sample_interval, allow_zero=False, maximum=MAX_SAMPLE_INTERVAL
        )
        violations.check(interval >= 1, f"{prefix}.sample_interval", f"must be at least 1s, got {interval:g}s")
    if floor.mode:
        check_enum(violations, f"{prefix}.mode", floor.mode, policy_pb2.PredictiveFloorMode)
    if floor.aggregation:
        check_enum(violations, f"{prefix}.aggregation", floor.aggregation, policy_pb2.SeasonAggregation)


def _check_customized_metric(violations: Violations, message: policy_pb2.CustomizedMetricSpecification, prefix: str) -> None:
    """The Metrics service's metric (a name, dimensions, a statistic), else a PromQL query, else Gnocchi measures: one."""
    external = "prometheus_query" if message.prometheus_query else "gnocchi_metric" if message.HasField("gnocchi_metric") else ""
    if external:
        if message.prometheus_query:
            check_text(violations, f"{prefix}.prometheus_query", message.prometheus_query, MAX_PROMETHEUS_QUERY_LENGTH)
            violations.check(
                not message.HasField("gnocchi_metric"), f"{prefix}.gnocchi_metric", "must be unset with prometheus_query: one metric"
            )
        else:
            _check_gnocchi_metric(violations, message.gnocchi_metric, f"{prefix}.gnocchi_metric")
        for name, is_set in (
            ("metric_name", bool(message.metric_name)), ("dimensions", bool(message.dimensions)), ("statistic", bool(message.statistic))
        ):
            violations.check(not is_set, f"{prefix}.{name}", f"must be unset with {external} (it says what it reads)")
        return
    check_metric(violations, f"{prefix}.metric_name", message.metric_name)
    for key, value in message.dimensions.items():
        check_dimension(violations, f"{prefix}.dimensions", key, value)
    violations.check(
        len(message.dimensions) <= MAX_DIMENSIONS, f"{prefix}.dimensions",
        f"must hold at most {MAX_DIMENSIONS} dimensions, got {len(message.dimensions)}",
    )
    if message.statistic:
        check_enum(violations, f"{prefix}.statistic", message.statistic, common_pb2.Statistic)


def _check_gnocchi_metric(violations: Violations, message: policy_pb2.GnocchiMetric, prefix: str) -> None:
    """Gnocchi measures: one target and bounded texts (the alarm service checks the rest, as for its GnocchiRule)."""
    targets = [name for name, is_set in (
        ("resource_id", bool(message.resource_id)), ("resource_query", bool(message.resource_query)),
        ("metric_ids", bool(message.metric_ids)),
    ) if is_set]
    violations.check(
        len(targets) == 1, f"{prefix}.resource_id", f"exactly one of resource_id, resource_query and metric_ids is required, got "
        f"{', '.join(targets) or 'none'}",
    )
    for name in ("metric", "resource_type", "resource_id"):
        check_text(violations, f"{prefix}.{name}", getattr(message, name), MAX_GNOCCHI_NAME_LENGTH)
    check_text(violations, f"{prefix}.resource_query", message.resource_query, MAX_PROMETHEUS_QUERY_LENGTH)
    check_text(violations, f"{prefix}.aggregation_method", message.aggregation_method, MAX_GNOCCHI_AGGREGATION_LENGTH)
    violations.check(
        len(message.metric_ids) <= MAX_GNOCCHI_METRIC_IDS, f"{prefix}.metric_ids",
        f"must hold at most {MAX_GNOCCHI_METRIC_IDS} ids, got {len(message.metric_ids)}",
    )


def _check_scaling_rules(violations: Violations, message: policy_pb2.ScalingRules, prefix: str) -> None:
    """One direction's behavior: HPA's limits on its window and rate policies."""
    if message.HasField("stabilization_window"):
        check_duration(
            violations, f"{prefix}.stabilization_window", message.stabilization_window, allow_zero=True,
            maximum=MAX_STABILIZATION_WINDOW,
        )
    if message.select_policy:
        check_enum(violations, f"{prefix}.select_policy", message.select_policy, policy_pb2.SelectPolicy)
    if not violations.check(
        len(message.policies) <= MAX_RATE_POLICIES, f"{prefix}.policies",
        f"must hold at most {MAX_RATE_POLICIES} policies, got {len(message.policies)}",
    ):
        return
    for index, policy in enumerate(message.policies):
        field = f"{prefix}.policies[{index}]"
        check_enum(violations, f"{field}.type", policy.type, policy_pb2.ScalingRatePolicyType)
        violations.check(
            1 <= policy.value <= MAX_RATE_POLICY_VALUE, f"{field}.value", f"must be from 1 to {MAX_RATE_POLICY_VALUE}, got {policy.value}"
        )
        if not policy.HasField("period"):
            violations.add(f"{field}.period", "is required")
            continue
        check_duration(violations, f"{field}.period", policy.period, allow_zero=False, maximum=MAX_RATE_POLICY_PERIOD)
        violations.check(policy.period.seconds >= 1, f"{field}.period", "must be at least 1s")


def check_target_tracking_kind(
    violations: Violations, policy_id: str, adjustment_type: AdjustmentType | None, scaling_adjustment: int,
    cooldown: float | None, steps: Sequence[StepAdjustment], metric_aggregation_type_set: bool, prefix: str = "policy",
) -> None:
    """A target tracking policy leaves the other kinds' fields unset (it asks exact capacities of its own, with warm-up
    instead of a cooldown), and its id leaves room for its alarm's."""
    violations.check(
        len(policy_id) <= MAX_TARGET_TRACKING_ID_LENGTH, "policy_id",
        f"must be at most {MAX_TARGET_TRACKING_ID_LENGTH} characters for a target tracking policy (its alarm is "
        f"alarms/{{id}}{TARGET_ALARM_SUFFIX}), got {len(policy_id)}",
    )
    violations.check(
        adjustment_type in (None, AdjustmentType.EXACT_CAPACITY), f"{prefix}.adjustment_type",
        "is not read by a target tracking policy (it asks exact capacities): leave it unset",
    )
    reason = "is not read by a target tracking policy (target_tracking decides the capacity): leave it unset"
    violations.check(scaling_adjustment == 0, f"{prefix}.scaling_adjustment", reason)
    violations.check(not steps, f"{prefix}.step_adjustments", reason)
    violations.check(not metric_aggregation_type_set, f"{prefix}.metric_aggregation_type", reason)
    violations.check(
        cooldown is None, f"{prefix}.cooldown",
        "is not read by a target tracking policy (it counts instances warming up instead, estimated_instance_warmup): "
        "leave it unset",
    )
