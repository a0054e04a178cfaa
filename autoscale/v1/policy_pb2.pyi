import datetime

from autoscale.v1 import alarm_pb2 as _alarm_pb2
from autoscale.v1 import common_pb2 as _common_pb2
from autoscale.v1 import group_pb2 as _group_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PredictiveFloorMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PREDICTIVE_FLOOR_MODE_UNSPECIFIED: _ClassVar[PredictiveFloorMode]
    PREDICTIVE_FLOOR_MODE_FORECAST_ONLY: _ClassVar[PredictiveFloorMode]
    PREDICTIVE_FLOOR_MODE_FORECAST_AND_SCALE: _ClassVar[PredictiveFloorMode]

class SeasonAggregation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEASON_AGGREGATION_UNSPECIFIED: _ClassVar[SeasonAggregation]
    SEASON_AGGREGATION_MAXIMUM: _ClassVar[SeasonAggregation]
    SEASON_AGGREGATION_AVERAGE: _ClassVar[SeasonAggregation]

class PredefinedMetricType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PREDEFINED_METRIC_TYPE_UNSPECIFIED: _ClassVar[PredefinedMetricType]
    PREDEFINED_METRIC_TYPE_ASG_AVERAGE_CPU_UTILIZATION: _ClassVar[PredefinedMetricType]

class SelectPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SELECT_POLICY_UNSPECIFIED: _ClassVar[SelectPolicy]
    SELECT_POLICY_MAX: _ClassVar[SelectPolicy]
    SELECT_POLICY_MIN: _ClassVar[SelectPolicy]
    SELECT_POLICY_DISABLED: _ClassVar[SelectPolicy]

class ScalingRatePolicyType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCALING_RATE_POLICY_TYPE_UNSPECIFIED: _ClassVar[ScalingRatePolicyType]
    SCALING_RATE_POLICY_TYPE_INSTANCES: _ClassVar[ScalingRatePolicyType]
    SCALING_RATE_POLICY_TYPE_PERCENT: _ClassVar[ScalingRatePolicyType]

class MetricAggregationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    METRIC_AGGREGATION_TYPE_UNSPECIFIED: _ClassVar[MetricAggregationType]
    METRIC_AGGREGATION_TYPE_AVERAGE: _ClassVar[MetricAggregationType]
    METRIC_AGGREGATION_TYPE_MINIMUM: _ClassVar[MetricAggregationType]
    METRIC_AGGREGATION_TYPE_MAXIMUM: _ClassVar[MetricAggregationType]

class ReceiverFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECEIVER_FORMAT_UNSPECIFIED: _ClassVar[ReceiverFormat]
    RECEIVER_FORMAT_PLAIN: _ClassVar[ReceiverFormat]
    RECEIVER_FORMAT_ALERTMANAGER: _ClassVar[ReceiverFormat]
    RECEIVER_FORMAT_AODH: _ClassVar[ReceiverFormat]
PREDICTIVE_FLOOR_MODE_UNSPECIFIED: PredictiveFloorMode
PREDICTIVE_FLOOR_MODE_FORECAST_ONLY: PredictiveFloorMode
PREDICTIVE_FLOOR_MODE_FORECAST_AND_SCALE: PredictiveFloorMode
SEASON_AGGREGATION_UNSPECIFIED: SeasonAggregation
SEASON_AGGREGATION_MAXIMUM: SeasonAggregation
SEASON_AGGREGATION_AVERAGE: SeasonAggregation
PREDEFINED_METRIC_TYPE_UNSPECIFIED: PredefinedMetricType
PREDEFINED_METRIC_TYPE_ASG_AVERAGE_CPU_UTILIZATION: PredefinedMetricType
SELECT_POLICY_UNSPECIFIED: SelectPolicy
SELECT_POLICY_MAX: SelectPolicy
SELECT_POLICY_MIN: SelectPolicy
SELECT_POLICY_DISABLED: SelectPolicy
SCALING_RATE_POLICY_TYPE_UNSPECIFIED: ScalingRatePolicyType
SCALING_RATE_POLICY_TYPE_INSTANCES: ScalingRatePolicyType
SCALING_RATE_POLICY_TYPE_PERCENT: ScalingRatePolicyType
METRIC_AGGREGATION_TYPE_UNSPECIFIED: MetricAggregationType
METRIC_AGGREGATION_TYPE_AVERAGE: MetricAggregationType
METRIC_AGGREGATION_TYPE_MINIMUM: MetricAggregationType
METRIC_AGGREGATION_TYPE_MAXIMUM: MetricAggregationType
RECEIVER_FORMAT_UNSPECIFIED: ReceiverFormat
RECEIVER_FORMAT_PLAIN: ReceiverFormat
RECEIVER_FORMAT_ALERTMANAGER: ReceiverFormat
RECEIVER_FORMAT_AODH: ReceiverFormat

class Policy(_message.Message):
    __slots__ = ("name", "group", "adjustment_type", "scaling_adjustment", "min_adjustment_step", "cooldown", "create_time", "step_adjustments", "metric_aggregation_type", "estimated_instance_warmup", "target_tracking", "alarms", "last_recommendation", "last_forecast")
    NAME_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SCALING_ADJUSTMENT_FIELD_NUMBER: _ClassVar[int]
    MIN_ADJUSTMENT_STEP_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    STEP_ADJUSTMENTS_FIELD_NUMBER: _ClassVar[int]
    METRIC_AGGREGATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_INSTANCE_WARMUP_FIELD_NUMBER: _ClassVar[int]
    TARGET_TRACKING_FIELD_NUMBER: _ClassVar[int]
    ALARMS_FIELD_NUMBER: _ClassVar[int]
    LAST_RECOMMENDATION_FIELD_NUMBER: _ClassVar[int]
    LAST_FORECAST_FIELD_NUMBER: _ClassVar[int]
    name: str
    group: str
    adjustment_type: _common_pb2.AdjustmentType
    scaling_adjustment: int
    min_adjustment_step: int
    cooldown: _duration_pb2.Duration
    create_time: _timestamp_pb2.Timestamp
    step_adjustments: _containers.RepeatedCompositeFieldContainer[StepAdjustment]
    metric_aggregation_type: MetricAggregationType
    estimated_instance_warmup: _duration_pb2.Duration
    target_tracking: TargetTrackingConfiguration
    alarms: _containers.RepeatedScalarFieldContainer[str]
    last_recommendation: TargetTrackingRecommendation
    last_forecast: Forecast
    def __init__(self, name: _Optional[str] = ..., group: _Optional[str] = ..., adjustment_type: _Optional[_Union[_common_pb2.AdjustmentType, str]] = ..., scaling_adjustment: _Optional[int] = ..., min_adjustment_step: _Optional[int] = ..., cooldown: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., step_adjustments: _Optional[_Iterable[_Union[StepAdjustment, _Mapping]]] = ..., metric_aggregation_type: _Optional[_Union[MetricAggregationType, str]] = ..., estimated_instance_warmup: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., target_tracking: _Optional[_Union[TargetTrackingConfiguration, _Mapping]] = ..., alarms: _Optional[_Iterable[str]] = ..., last_recommendation: _Optional[_Union[TargetTrackingRecommendation, _Mapping]] = ..., last_forecast: _Optional[_Union[Forecast, _Mapping]] = ...) -> None: ...

class TargetTrackingRecommendation(_message.Message):
    __slots__ = ("time", "recommended_capacity")
    TIME_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    recommended_capacity: int
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recommended_capacity: _Optional[int] = ...) -> None: ...

class TargetTrackingConfiguration(_message.Message):
    __slots__ = ("target_value", "predefined_metric_specification", "customized_metric_specification", "disable_scale_in", "period", "behavior", "tolerance", "predictive_floor")
    TARGET_VALUE_FIELD_NUMBER: _ClassVar[int]
    PREDEFINED_METRIC_SPECIFICATION_FIELD_NUMBER: _ClassVar[int]
    CUSTOMIZED_METRIC_SPECIFICATION_FIELD_NUMBER: _ClassVar[int]
    DISABLE_SCALE_IN_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOR_FIELD_NUMBER: _ClassVar[int]
    TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    PREDICTIVE_FLOOR_FIELD_NUMBER: _ClassVar[int]
    target_value: float
    predefined_metric_specification: PredefinedMetricSpecification
    customized_metric_specification: CustomizedMetricSpecification
    disable_scale_in: bool
    period: _duration_pb2.Duration
    behavior: ScalingBehavior
    tolerance: float
    predictive_floor: PredictiveFloor
    def __init__(self, target_value: _Optional[float] = ..., predefined_metric_specification: _Optional[_Union[PredefinedMetricSpecification, _Mapping]] = ..., customized_metric_specification: _Optional[_Union[CustomizedMetricSpecification, _Mapping]] = ..., disable_scale_in: _Optional[bool] = ..., period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., behavior: _Optional[_Union[ScalingBehavior, _Mapping]] = ..., tolerance: _Optional[float] = ..., predictive_floor: _Optional[_Union[PredictiveFloor, _Mapping]] = ...) -> None: ...

class PredictiveFloor(_message.Message):
    __slots__ = ("seasons", "mode", "buffer", "aggregation", "sample_interval")
    SEASONS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    BUFFER_FIELD_NUMBER: _ClassVar[int]
    AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    seasons: _containers.RepeatedCompositeFieldContainer[_duration_pb2.Duration]
    mode: PredictiveFloorMode
    buffer: _duration_pb2.Duration
    aggregation: SeasonAggregation
    sample_interval: _duration_pb2.Duration
    def __init__(self, seasons: _Optional[_Iterable[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]]] = ..., mode: _Optional[_Union[PredictiveFloorMode, str]] = ..., buffer: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., aggregation: _Optional[_Union[SeasonAggregation, str]] = ..., sample_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Forecast(_message.Message):
    __slots__ = ("time", "load", "floor_capacity", "seasons", "applied", "note")
    TIME_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    FLOOR_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    SEASONS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    load: float
    floor_capacity: int
    seasons: _containers.RepeatedCompositeFieldContainer[SeasonLoad]
    applied: bool
    note: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., load: _Optional[float] = ..., floor_capacity: _Optional[int] = ..., seasons: _Optional[_Iterable[_Union[SeasonLoad, _Mapping]]] = ..., applied: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class SeasonLoad(_message.Message):
    __slots__ = ("season", "load")
    SEASON_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    season: _duration_pb2.Duration
    load: float
    def __init__(self, season: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., load: _Optional[float] = ...) -> None: ...

class PredefinedMetricSpecification(_message.Message):
    __slots__ = ("predefined_metric_type",)
    PREDEFINED_METRIC_TYPE_FIELD_NUMBER: _ClassVar[int]
    predefined_metric_type: PredefinedMetricType
    def __init__(self, predefined_metric_type: _Optional[_Union[PredefinedMetricType, str]] = ...) -> None: ...

class CustomizedMetricSpecification(_message.Message):
    __slots__ = ("metric_name", "dimensions", "statistic", "prometheus_query", "gnocchi_metric")
    class DimensionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    METRIC_NAME_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    STATISTIC_FIELD_NUMBER: _ClassVar[int]
    PROMETHEUS_QUERY_FIELD_NUMBER: _ClassVar[int]
    GNOCCHI_METRIC_FIELD_NUMBER: _ClassVar[int]
    metric_name: str
    dimensions: _containers.ScalarMap[str, str]
    statistic: _common_pb2.Statistic
    prometheus_query: str
    gnocchi_metric: GnocchiMetric
    def __init__(self, metric_name: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ..., statistic: _Optional[_Union[_common_pb2.Statistic, str]] = ..., prometheus_query: _Optional[str] = ..., gnocchi_metric: _Optional[_Union[GnocchiMetric, _Mapping]] = ...) -> None: ...

class GnocchiMetric(_message.Message):
    __slots__ = ("metric", "resource_type", "resource_id", "resource_query", "metric_ids", "aggregation_method")
    METRIC_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_QUERY_FIELD_NUMBER: _ClassVar[int]
    METRIC_IDS_FIELD_NUMBER: _ClassVar[int]
    AGGREGATION_METHOD_FIELD_NUMBER: _ClassVar[int]
    metric: str
    resource_type: str
    resource_id: str
    resource_query: str
    metric_ids: _containers.RepeatedScalarFieldContainer[str]
    aggregation_method: str
    def __init__(self, metric: _Optional[str] = ..., resource_type: _Optional[str] = ..., resource_id: _Optional[str] = ..., resource_query: _Optional[str] = ..., metric_ids: _Optional[_Iterable[str]] = ..., aggregation_method: _Optional[str] = ...) -> None: ...

class ScalingBehavior(_message.Message):
    __slots__ = ("scale_up", "scale_down")
    SCALE_UP_FIELD_NUMBER: _ClassVar[int]
    SCALE_DOWN_FIELD_NUMBER: _ClassVar[int]
    scale_up: ScalingRules
    scale_down: ScalingRules
    def __init__(self, scale_up: _Optional[_Union[ScalingRules, _Mapping]] = ..., scale_down: _Optional[_Union[ScalingRules, _Mapping]] = ...) -> None: ...

class ScalingRules(_message.Message):
    __slots__ = ("stabilization_window", "select_policy", "policies")
    STABILIZATION_WINDOW_FIELD_NUMBER: _ClassVar[int]
    SELECT_POLICY_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    stabilization_window: _duration_pb2.Duration
    select_policy: SelectPolicy
    policies: _containers.RepeatedCompositeFieldContainer[ScalingRatePolicy]
    def __init__(self, stabilization_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., select_policy: _Optional[_Union[SelectPolicy, str]] = ..., policies: _Optional[_Iterable[_Union[ScalingRatePolicy, _Mapping]]] = ...) -> None: ...

class ScalingRatePolicy(_message.Message):
    __slots__ = ("type", "value", "period")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    type: ScalingRatePolicyType
    value: int
    period: _duration_pb2.Duration
    def __init__(self, type: _Optional[_Union[ScalingRatePolicyType, str]] = ..., value: _Optional[int] = ..., period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class StepAdjustment(_message.Message):
    __slots__ = ("metric_interval_lower_bound", "metric_interval_upper_bound", "scaling_adjustment", "adjustment_type")
    METRIC_INTERVAL_LOWER_BOUND_FIELD_NUMBER: _ClassVar[int]
    METRIC_INTERVAL_UPPER_BOUND_FIELD_NUMBER: _ClassVar[int]
    SCALING_ADJUSTMENT_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    metric_interval_lower_bound: float
    metric_interval_upper_bound: float
    scaling_adjustment: int
    adjustment_type: _common_pb2.AdjustmentType
    def __init__(self, metric_interval_lower_bound: _Optional[float] = ..., metric_interval_upper_bound: _Optional[float] = ..., scaling_adjustment: _Optional[int] = ..., adjustment_type: _Optional[_Union[_common_pb2.AdjustmentType, str]] = ...) -> None: ...

class CreatePolicyRequest(_message.Message):
    __slots__ = ("policy_id", "policy")
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    policy: Policy
    def __init__(self, policy_id: _Optional[str] = ..., policy: _Optional[_Union[Policy, _Mapping]] = ...) -> None: ...

class CreatePolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: Policy
    def __init__(self, policy: _Optional[_Union[Policy, _Mapping]] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetPolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: Policy
    def __init__(self, policy: _Optional[_Union[Policy, _Mapping]] = ...) -> None: ...

class ListPoliciesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "group")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    group: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., group: _Optional[str] = ...) -> None: ...

class ListPoliciesResponse(_message.Message):
    __slots__ = ("policies", "next_page_token")
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    policies: _containers.RepeatedCompositeFieldContainer[Policy]
    next_page_token: str
    def __init__(self, policies: _Optional[_Iterable[_Union[Policy, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdatePolicyRequest(_message.Message):
    __slots__ = ("policy", "update_mask")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    policy: Policy
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, policy: _Optional[_Union[Policy, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdatePolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: Policy
    def __init__(self, policy: _Optional[_Union[Policy, _Mapping]] = ...) -> None: ...

class DeletePolicyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeletePolicyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ExecutePolicyRequest(_message.Message):
    __slots__ = ("name", "cause", "request_id", "alarm", "alarm_payload", "metric_value", "breach_threshold")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    ALARM_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    METRIC_VALUE_FIELD_NUMBER: _ClassVar[int]
    BREACH_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    name: str
    cause: str
    request_id: str
    alarm: str
    alarm_payload: AlarmPayload
    metric_value: float
    breach_threshold: float
    def __init__(self, name: _Optional[str] = ..., cause: _Optional[str] = ..., request_id: _Optional[str] = ..., alarm: _Optional[str] = ..., alarm_payload: _Optional[_Union[AlarmPayload, _Mapping]] = ..., metric_value: _Optional[float] = ..., breach_threshold: _Optional[float] = ...) -> None: ...

class AlarmPayload(_message.Message):
    __slots__ = ("alarm", "previous_state", "state", "reason", "datapoints", "threshold", "comparison_operator", "repeat", "time")
    ALARM_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DATAPOINTS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_OPERATOR_FIELD_NUMBER: _ClassVar[int]
    REPEAT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    alarm: str
    previous_state: _alarm_pb2.AlarmState
    state: _alarm_pb2.AlarmState
    reason: str
    datapoints: _containers.RepeatedScalarFieldContainer[float]
    threshold: float
    comparison_operator: _alarm_pb2.ComparisonOperator
    repeat: bool
    time: _timestamp_pb2.Timestamp
    def __init__(self, alarm: _Optional[str] = ..., previous_state: _Optional[_Union[_alarm_pb2.AlarmState, str]] = ..., state: _Optional[_Union[_alarm_pb2.AlarmState, str]] = ..., reason: _Optional[str] = ..., datapoints: _Optional[_Iterable[float]] = ..., threshold: _Optional[float] = ..., comparison_operator: _Optional[_Union[_alarm_pb2.ComparisonOperator, str]] = ..., repeat: _Optional[bool] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ExecutePolicyResponse(_message.Message):
    __slots__ = ("adjusted", "reason", "activity", "refusal", "cooldown_end_time", "step_adjustment", "recommended_capacity", "desired_capacity", "group_asked", "forecast")
    ADJUSTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_END_TIME_FIELD_NUMBER: _ClassVar[int]
    STEP_ADJUSTMENT_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    DESIRED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    GROUP_ASKED_FIELD_NUMBER: _ClassVar[int]
    FORECAST_FIELD_NUMBER: _ClassVar[int]
    adjusted: bool
    reason: str
    activity: _group_pb2.Activity
    refusal: _group_pb2.AdjustRefusal
    cooldown_end_time: _timestamp_pb2.Timestamp
    step_adjustment: StepAdjustment
    recommended_capacity: int
    desired_capacity: int
    group_asked: bool
    forecast: Forecast
    def __init__(self, adjusted: _Optional[bool] = ..., reason: _Optional[str] = ..., activity: _Optional[_Union[_group_pb2.Activity, _Mapping]] = ..., refusal: _Optional[_Union[_group_pb2.AdjustRefusal, str]] = ..., cooldown_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., step_adjustment: _Optional[_Union[StepAdjustment, _Mapping]] = ..., recommended_capacity: _Optional[int] = ..., desired_capacity: _Optional[int] = ..., group_asked: _Optional[bool] = ..., forecast: _Optional[_Union[Forecast, _Mapping]] = ...) -> None: ...

class PolicyExecution(_message.Message):
    __slots__ = ("time", "cause", "request_id", "adjusted", "reason", "activity", "failed", "alarm_payload", "metric_value", "breach_threshold", "step_adjustment", "recommended_capacity", "desired_capacity", "group_asked", "forecast")
    TIME_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ADJUSTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    ALARM_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    METRIC_VALUE_FIELD_NUMBER: _ClassVar[int]
    BREACH_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    STEP_ADJUSTMENT_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    DESIRED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    GROUP_ASKED_FIELD_NUMBER: _ClassVar[int]
    FORECAST_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    cause: str
    request_id: str
    adjusted: bool
    reason: str
    activity: str
    failed: bool
    alarm_payload: AlarmPayload
    metric_value: float
    breach_threshold: float
    step_adjustment: StepAdjustment
    recommended_capacity: int
    desired_capacity: int
    group_asked: bool
    forecast: Forecast
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cause: _Optional[str] = ..., request_id: _Optional[str] = ..., adjusted: _Optional[bool] = ..., reason: _Optional[str] = ..., activity: _Optional[str] = ..., failed: _Optional[bool] = ..., alarm_payload: _Optional[_Union[AlarmPayload, _Mapping]] = ..., metric_value: _Optional[float] = ..., breach_threshold: _Optional[float] = ..., step_adjustment: _Optional[_Union[StepAdjustment, _Mapping]] = ..., recommended_capacity: _Optional[int] = ..., desired_capacity: _Optional[int] = ..., group_asked: _Optional[bool] = ..., forecast: _Optional[_Union[Forecast, _Mapping]] = ...) -> None: ...

class ListPolicyExecutionsRequest(_message.Message):
    __slots__ = ("name", "page_size", "page_token")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    page_size: int
    page_token: str
    def __init__(self, name: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPolicyExecutionsResponse(_message.Message):
    __slots__ = ("executions", "next_page_token")
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    executions: _containers.RepeatedCompositeFieldContainer[PolicyExecution]
    next_page_token: str
    def __init__(self, executions: _Optional[_Iterable[_Union[PolicyExecution, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Receiver(_message.Message):
    __slots__ = ("name", "format", "resolved_policy", "hmac_secret_set", "create_time", "hmac_secret")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_POLICY_FIELD_NUMBER: _ClassVar[int]
    HMAC_SECRET_SET_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    HMAC_SECRET_FIELD_NUMBER: _ClassVar[int]
    name: str
    format: ReceiverFormat
    resolved_policy: str
    hmac_secret_set: bool
    create_time: _timestamp_pb2.Timestamp
    hmac_secret: str
    def __init__(self, name: _Optional[str] = ..., format: _Optional[_Union[ReceiverFormat, str]] = ..., resolved_policy: _Optional[str] = ..., hmac_secret_set: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., hmac_secret: _Optional[str] = ...) -> None: ...

class CreateReceiverRequest(_message.Message):
    __slots__ = ("parent", "receiver_id", "receiver")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    receiver_id: str
    receiver: Receiver
    def __init__(self, parent: _Optional[str] = ..., receiver_id: _Optional[str] = ..., receiver: _Optional[_Union[Receiver, _Mapping]] = ...) -> None: ...

class CreateReceiverResponse(_message.Message):
    __slots__ = ("receiver", "url")
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    receiver: Receiver
    url: str
    def __init__(self, receiver: _Optional[_Union[Receiver, _Mapping]] = ..., url: _Optional[str] = ...) -> None: ...

class GetReceiverRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetReceiverResponse(_message.Message):
    __slots__ = ("receiver",)
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    receiver: Receiver
    def __init__(self, receiver: _Optional[_Union[Receiver, _Mapping]] = ...) -> None: ...

class ListReceiversRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReceiversResponse(_message.Message):
    __slots__ = ("receivers", "next_page_token")
    RECEIVERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    receivers: _containers.RepeatedCompositeFieldContainer[Receiver]
    next_page_token: str
    def __init__(self, receivers: _Optional[_Iterable[_Union[Receiver, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteReceiverRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteReceiverResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
