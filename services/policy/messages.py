"""Conversions between the policy service's protobuf messages and its domain objects."""

from __future__ import annotations

from autoscale.timeutil import from_duration, to_duration, to_timestamp
from autoscale.v1 import common_pb2, group_pb2, policy_pb2
from services.policy.domain import (
    AdjustmentType,
    Execution,
    GnocchiMetric,
    MetricAggregationType,
    Policy,
    PredefinedMetricType,
    Statistic,
    StepAdjustment,
    TargetTracking,
    TrackedMetric,
    group_name,
    policy_name,
)
from services.policy.forecast import FloorMode, Forecast, PredictiveFloor, SeasonAggregation
from services.policy.target_tracking import Behavior, RatePolicy, RatePolicyType, ScalingRules, SelectPolicy

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

STATISTICS = {
    common_pb2.STATISTIC_AVERAGE: Statistic.AVERAGE,
    common_pb2.STATISTIC_MINIMUM: Statistic.MINIMUM,
    common_pb2.STATISTIC_MAXIMUM: Statistic.MAXIMUM,
    common_pb2.STATISTIC_SUM: Statistic.SUM,
    common_pb2.STATISTIC_SAMPLE_COUNT: Statistic.SAMPLE_COUNT,
}

STATISTIC_MESSAGES = {domain: message for message, domain in STATISTICS.items()}

PREDEFINED_METRIC_TYPES = {
    policy_pb2.PREDEFINED_METRIC_TYPE_ASG_AVERAGE_CPU_UTILIZATION: PredefinedMetricType.ASG_AVERAGE_CPU_UTILIZATION,
}

PREDEFINED_METRIC_TYPE_MESSAGES = {domain: message for message, domain in PREDEFINED_METRIC_TYPES.items()}

SELECT_POLICIES = {
    policy_pb2.SELECT_POLICY_MAX: SelectPolicy.MAX,
    policy_pb2.SELECT_POLICY_MIN: SelectPolicy.MIN,
    policy_pb2.SELECT_POLICY_DISABLED: SelectPolicy.DISABLED,
}

SELECT_POLICY_MESSAGES = {domain: message for message, domain in SELECT_POLICIES.items()}

RATE_POLICY_TYPES = {
    policy_pb2.SCALING_RATE_POLICY_TYPE_INSTANCES: RatePolicyType.INSTANCES,
    policy_pb2.SCALING_RATE_POLICY_TYPE_PERCENT: RatePolicyType.PERCENT,
}

RATE_POLICY_TYPE_MESSAGES = {domain: message for message, domain in RATE_POLICY_TYPES.items()}

FLOOR_MODES = {
    policy_pb2.PREDICTIVE_FLOOR_MODE_FORECAST_ONLY: FloorMode.FORECAST_ONLY,
    policy_pb2.PREDICTIVE_FLOOR_MODE_FORECAST_AND_SCALE: FloorMode.FORECAST_AND_SCALE,
}

FLOOR_MODE_MESSAGES = {domain: message for message, domain in FLOOR_MODES.items()}

SEASON_AGGREGATIONS = {
    policy_pb2.SEASON_AGGREGATION_MAXIMUM: SeasonAggregation.MAXIMUM,
    policy_pb2.SEASON_AGGREGATION_AVERAGE: SeasonAggregation.AVERAGE,
}

SEASON_AGGREGATION_MESSAGES = {domain: message for message, domain in SEASON_AGGREGATIONS.items()}


def target_tracking_from_message(message: policy_pb2.TargetTrackingConfiguration) -> TargetTracking:
    """A request's target tracking configuration as given (unknown enum values read as unset, durations as seconds, an
    unset rate policy's type as INSTANCES): services.policy.rules checks it."""
    customized = message.customized_metric_specification
    predefined = PREDEFINED_METRIC_TYPES.get(message.predefined_metric_specification.predefined_metric_type)
    metric = TrackedMetric(
        predefined=predefined,
        metric_name=customized.metric_name,
        dimensions=tuple(sorted(customized.dimensions.items())),
        statistic=STATISTICS.get(customized.statistic),
        prometheus_query=customized.prometheus_query,
        gnocchi=_gnocchi_from_message(customized.gnocchi_metric) if customized.HasField("gnocchi_metric") else None,
    )
    behavior = message.behavior
    return TargetTracking(
        target_value=message.target_value,
        metric=metric,
        disable_scale_in=message.disable_scale_in,
        period=from_duration(message.period) if message.HasField("period") else None,
        behavior=Behavior(
            scale_up=_rules_from_message(behavior.scale_up),
            scale_down=_rules_from_message(behavior.scale_down),
            tolerance=message.tolerance if message.HasField("tolerance") else None,
        ),
        predictive_floor=_floor_from_message(message.predictive_floor) if message.HasField("predictive_floor") else None,
    )


def _floor_from_message(message: policy_pb2.PredictiveFloor) -> PredictiveFloor:
    return PredictiveFloor(
        seasons=tuple(from_duration(season) for season in message.seasons),
        mode=FLOOR_MODES.get(message.mode),
        buffer=from_duration(message.buffer) if message.HasField("buffer") else None,
        aggregation=SEASON_AGGREGATIONS.get(message.aggregation),
        sample_interval=from_duration(message.sample_interval) if message.HasField("sample_interval") else None,
    )


def _floor_to_message(floor: PredictiveFloor) -> policy_pb2.PredictiveFloor:
    message = policy_pb2.PredictiveFloor(seasons=[to_duration(season) for season in floor.seasons])
    if floor.mode is not None:
        message.mode = FLOOR_MODE_MESSAGES[floor.mode]
    if floor.buffer is not None:
        message.buffer.CopyFrom(to_duration(floor.buffer))
    if floor.aggregation is not None:
        message.aggregation = SEASON_AGGREGATION_MESSAGES[floor.aggregation]
    if floor.sample_interval is not None:
        message.sample_interval.CopyFrom(to_duration(floor.sample_interval))
    return message


def forecast_to_message(forecast: Forecast) -> policy_pb2.Forecast:
    """The Forecast message of a forecast made."""
    message = policy_pb2.Forecast(time=to_timestamp(forecast.time), applied=forecast.applied, note=forecast.note)
    if forecast.load is not None:
        message.load = forecast.load
    if forecast.floor_capacity is not None:
        message.floor_capacity = forecast.floor_capacity
    for season in forecast.seasons:
        season_message = message.seasons.add(season=to_duration(season.season))
        if season.load is not None:
            season_message.load = season.load
    return message


def _gnocchi_from_message(message: policy_pb2.GnocchiMetric) -> GnocchiMetric:
    return GnocchiMetric(
        metric=message.metric, resource_type=message.resource_type, resource_id=message.resource_id,
        resource_query=message.resource_query, metric_ids=tuple(message.metric_ids), aggregation_method=message.aggregation_method,
    )


def _rules_from_message(message: policy_pb2.ScalingRules) -> ScalingRules:
    return ScalingRules(
        stabilization_window=from_duration(message.stabilization_window) if message.HasField("stabilization_window") else None,
        select_policy=SELECT_POLICIES.get(message.select_policy),
        policies=tuple(
            RatePolicy(RATE_POLICY_TYPES.get(policy.type, RatePolicyType.INSTANCES), policy.value, from_duration(policy.period))
            for policy in message.policies
        ),
    )


def target_tracking_to_message(target_tracking: TargetTracking) -> policy_pb2.TargetTrackingConfiguration:
    """The TargetTrackingConfiguration message of a stored configuration."""
    message = policy_pb2.TargetTrackingConfiguration(
        target_value=target_tracking.target_value, disable_scale_in=target_tracking.disable_scale_in,
    )
    metric = target_tracking.metric
    if metric.predefined is not None:
        message.predefined_metric_specification.predefined_metric_type = PREDEFINED_METRIC_TYPE_MESSAGES[metric.predefined]
    else:
        customized = message.customized_metric_specification
        customized.metric_name = metric.metric_name
        customized.dimensions.update(dict(metric.dimensions))
        if metric.statistic is not None:
            customized.statistic = STATISTIC_MESSAGES[metric.statistic]
        customized.prometheus_query = metric.prometheus_query
        if metric.gnocchi is not None:
            gnocchi = metric.gnocchi
            customized.gnocchi_metric.CopyFrom(policy_pb2.GnocchiMetric(
                metric=gnocchi.metric, resource_type=gnocchi.resource_type, resource_id=gnocchi.resource_id,
                resource_query=gnocchi.resource_query, metric_ids=gnocchi.metric_ids, aggregation_method=gnocchi.aggregation_method,
            ))
    if target_tracking.period is not None:
        message.period.CopyFrom(to_duration(target_tracking.period))
    behavior = target_tracking.behavior
    if behavior.scale_up != ScalingRules():
        message.behavior.scale_up.CopyFrom(_rules_to_message(behavior.scale_up))
    if behavior.scale_down != ScalingRules():
        message.behavior.scale_down.CopyFrom(_rules_to_message(behavior.scale_down))
    if behavior.tolerance is not None:
        message.tolerance = behavior.tolerance
    if target_tracking.predictive_floor is not None:
        message.predictive_floor.CopyFrom(_floor_to_message(target_tracking.predictive_floor))
    return message


def _rules_to_message(rules: ScalingRules) -> policy_pb2.ScalingRules:
    message = policy_pb2.ScalingRules(
        policies=[
            policy_pb2.ScalingRatePolicy(type=RATE_POLICY_TYPE_MESSAGES[policy.type], value=policy.value, period=to_duration(policy.period))
            for policy in rules.policies
        ],
    )
    if rules.stabilization_window is not None:
        message.stabilization_window.CopyFrom(to_duration(rules.stabilization_window))
    if rules.select_policy is not None:
        message.select_policy = SELECT_POLICY_MESSAGES[rules.select_policy]
    return message


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
    if policy.target_tracking is not None:
        message.target_tracking.CopyFrom(target_tracking_to_message(policy.target_tracking))
    message.alarms.extend(policy.owned_alarms)
    if policy.last_recommendation is not None:
        message.last_recommendation.time.CopyFrom(to_timestamp(policy.last_recommendation.time))
        message.last_recommendation.recommended_capacity = policy.last_recommendation.capacity
    if policy.last_forecast is not None:
        message.last_forecast.CopyFrom(forecast_to_message(policy.last_forecast))
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
    if execution.response is not None:
        answered = policy_pb2.ExecutePolicyResponse.FromString(execution.response)
        # (An answer stored before group_asked was: the group's has its activity or its refusal.)
        message.group_asked = answered.group_asked or bool(answered.activity.name) or bool(answered.refusal)
    if execution.alarm_payload is not None:
        message.alarm_payload.ParseFromString(execution.alarm_payload)
    if execution.metric_value is not None:
        message.metric_value = execution.metric_value
    if execution.breach_threshold is not None:
        message.breach_threshold = execution.breach_threshold
    if execution.step_adjustment is not None:
        message.step_adjustment.CopyFrom(step_to_message(execution.step_adjustment))
    if execution.recommended_capacity is not None:
        message.recommended_capacity = execution.recommended_capacity
    if execution.desired_capacity is not None:
        message.desired_capacity = execution.desired_capacity
    if execution.forecast is not None:
        message.forecast.CopyFrom(forecast_to_message(execution.forecast))
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
    if execution.recommended_capacity is not None:
        trigger.recommended_capacity = execution.recommended_capacity
    step = execution.step_adjustment
    if step is not None:
        if step.lower_bound is not None:
            trigger.step_lower_bound = step.lower_bound
        if step.upper_bound is not None:
            trigger.step_upper_bound = step.upper_bound
    return trigger
