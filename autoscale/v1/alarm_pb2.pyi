import datetime

from autoscale.v1 import common_pb2 as _common_pb2
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

class AlarmState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALARM_STATE_UNSPECIFIED: _ClassVar[AlarmState]
    ALARM_STATE_OK: _ClassVar[AlarmState]
    ALARM_STATE_ALARM: _ClassVar[AlarmState]
    ALARM_STATE_INSUFFICIENT_DATA: _ClassVar[AlarmState]

class ComparisonOperator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPARISON_OPERATOR_UNSPECIFIED: _ClassVar[ComparisonOperator]
    COMPARISON_OPERATOR_GREATER_THAN: _ClassVar[ComparisonOperator]
    COMPARISON_OPERATOR_GREATER_THAN_OR_EQUAL: _ClassVar[ComparisonOperator]
    COMPARISON_OPERATOR_LESS_THAN: _ClassVar[ComparisonOperator]
    COMPARISON_OPERATOR_LESS_THAN_OR_EQUAL: _ClassVar[ComparisonOperator]

class TreatMissingData(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TREAT_MISSING_DATA_UNSPECIFIED: _ClassVar[TreatMissingData]
    TREAT_MISSING_DATA_MISSING: _ClassVar[TreatMissingData]
    TREAT_MISSING_DATA_NOT_BREACHING: _ClassVar[TreatMissingData]
    TREAT_MISSING_DATA_BREACHING: _ClassVar[TreatMissingData]
    TREAT_MISSING_DATA_IGNORE: _ClassVar[TreatMissingData]

class AlarmHistoryType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALARM_HISTORY_TYPE_UNSPECIFIED: _ClassVar[AlarmHistoryType]
    ALARM_HISTORY_TYPE_CREATION: _ClassVar[AlarmHistoryType]
    ALARM_HISTORY_TYPE_RULE_CHANGE: _ClassVar[AlarmHistoryType]
    ALARM_HISTORY_TYPE_STATE_TRANSITION: _ClassVar[AlarmHistoryType]
    ALARM_HISTORY_TYPE_ACTION: _ClassVar[AlarmHistoryType]
    ALARM_HISTORY_TYPE_STATE_REASON_CHANGE: _ClassVar[AlarmHistoryType]
ALARM_STATE_UNSPECIFIED: AlarmState
ALARM_STATE_OK: AlarmState
ALARM_STATE_ALARM: AlarmState
ALARM_STATE_INSUFFICIENT_DATA: AlarmState
COMPARISON_OPERATOR_UNSPECIFIED: ComparisonOperator
COMPARISON_OPERATOR_GREATER_THAN: ComparisonOperator
COMPARISON_OPERATOR_GREATER_THAN_OR_EQUAL: ComparisonOperator
COMPARISON_OPERATOR_LESS_THAN: ComparisonOperator
COMPARISON_OPERATOR_LESS_THAN_OR_EQUAL: ComparisonOperator
TREAT_MISSING_DATA_UNSPECIFIED: TreatMissingData
TREAT_MISSING_DATA_MISSING: TreatMissingData
TREAT_MISSING_DATA_NOT_BREACHING: TreatMissingData
TREAT_MISSING_DATA_BREACHING: TreatMissingData
TREAT_MISSING_DATA_IGNORE: TreatMissingData
ALARM_HISTORY_TYPE_UNSPECIFIED: AlarmHistoryType
ALARM_HISTORY_TYPE_CREATION: AlarmHistoryType
ALARM_HISTORY_TYPE_RULE_CHANGE: AlarmHistoryType
ALARM_HISTORY_TYPE_STATE_TRANSITION: AlarmHistoryType
ALARM_HISTORY_TYPE_ACTION: AlarmHistoryType
ALARM_HISTORY_TYPE_STATE_REASON_CHANGE: AlarmHistoryType

class ThresholdRule(_message.Message):
    __slots__ = ("metric", "dimensions", "statistic", "comparison_operator", "threshold", "period", "evaluation_periods")
    class DimensionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    METRIC_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    STATISTIC_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_OPERATOR_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_PERIODS_FIELD_NUMBER: _ClassVar[int]
    metric: str
    dimensions: _containers.ScalarMap[str, str]
    statistic: _common_pb2.Statistic
    comparison_operator: ComparisonOperator
    threshold: float
    period: _duration_pb2.Duration
    evaluation_periods: int
    def __init__(self, metric: _Optional[str] = ..., dimensions: _Optional[_Mapping[str, str]] = ..., statistic: _Optional[_Union[_common_pb2.Statistic, str]] = ..., comparison_operator: _Optional[_Union[ComparisonOperator, str]] = ..., threshold: _Optional[float] = ..., period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., evaluation_periods: _Optional[int] = ...) -> None: ...

class PrometheusRule(_message.Message):
    __slots__ = ("query", "comparison_operator", "threshold", "period", "evaluation_periods")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_OPERATOR_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_PERIODS_FIELD_NUMBER: _ClassVar[int]
    query: str
    comparison_operator: ComparisonOperator
    threshold: float
    period: _duration_pb2.Duration
    evaluation_periods: int
    def __init__(self, query: _Optional[str] = ..., comparison_operator: _Optional[_Union[ComparisonOperator, str]] = ..., threshold: _Optional[float] = ..., period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., evaluation_periods: _Optional[int] = ...) -> None: ...

class GnocchiRule(_message.Message):
    __slots__ = ("metric", "resource_type", "resource_id", "resource_query", "metric_ids", "aggregation_method", "comparison_operator", "threshold", "period", "evaluation_periods")
    METRIC_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_QUERY_FIELD_NUMBER: _ClassVar[int]
    METRIC_IDS_FIELD_NUMBER: _ClassVar[int]
    AGGREGATION_METHOD_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_OPERATOR_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_PERIODS_FIELD_NUMBER: _ClassVar[int]
    metric: str
    resource_type: str
    resource_id: str
    resource_query: str
    metric_ids: _containers.RepeatedScalarFieldContainer[str]
    aggregation_method: str
    comparison_operator: ComparisonOperator
    threshold: float
    period: _duration_pb2.Duration
    evaluation_periods: int
    def __init__(self, metric: _Optional[str] = ..., resource_type: _Optional[str] = ..., resource_id: _Optional[str] = ..., resource_query: _Optional[str] = ..., metric_ids: _Optional[_Iterable[str]] = ..., aggregation_method: _Optional[str] = ..., comparison_operator: _Optional[_Union[ComparisonOperator, str]] = ..., threshold: _Optional[float] = ..., period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., evaluation_periods: _Optional[int] = ...) -> None: ...

class Alarm(_message.Message):
    __slots__ = ("name", "description", "threshold_rule", "alarm_actions", "ok_actions", "insufficient_data_actions", "repeat_actions", "state", "state_reason", "state_time", "disabled", "create_time", "evaluate_time", "webhook_secret", "prometheus_rule", "gnocchi_rule", "datapoints_to_alarm", "treat_missing_data", "composite_rule", "owner")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_RULE_FIELD_NUMBER: _ClassVar[int]
    ALARM_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    OK_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    INSUFFICIENT_DATA_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    REPEAT_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    STATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EVALUATE_TIME_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_SECRET_FIELD_NUMBER: _ClassVar[int]
    PROMETHEUS_RULE_FIELD_NUMBER: _ClassVar[int]
    GNOCCHI_RULE_FIELD_NUMBER: _ClassVar[int]
    DATAPOINTS_TO_ALARM_FIELD_NUMBER: _ClassVar[int]
    TREAT_MISSING_DATA_FIELD_NUMBER: _ClassVar[int]
    COMPOSITE_RULE_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    threshold_rule: ThresholdRule
    alarm_actions: _containers.RepeatedScalarFieldContainer[str]
    ok_actions: _containers.RepeatedScalarFieldContainer[str]
    insufficient_data_actions: _containers.RepeatedScalarFieldContainer[str]
    repeat_actions: bool
    state: AlarmState
    state_reason: str
    state_time: _timestamp_pb2.Timestamp
    disabled: bool
    create_time: _timestamp_pb2.Timestamp
    evaluate_time: _timestamp_pb2.Timestamp
    webhook_secret: str
    prometheus_rule: PrometheusRule
    gnocchi_rule: GnocchiRule
    datapoints_to_alarm: int
    treat_missing_data: TreatMissingData
    composite_rule: CompositeRule
    owner: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., threshold_rule: _Optional[_Union[ThresholdRule, _Mapping]] = ..., alarm_actions: _Optional[_Iterable[str]] = ..., ok_actions: _Optional[_Iterable[str]] = ..., insufficient_data_actions: _Optional[_Iterable[str]] = ..., repeat_actions: _Optional[bool] = ..., state: _Optional[_Union[AlarmState, str]] = ..., state_reason: _Optional[str] = ..., state_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., disabled: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., evaluate_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., webhook_secret: _Optional[str] = ..., prometheus_rule: _Optional[_Union[PrometheusRule, _Mapping]] = ..., gnocchi_rule: _Optional[_Union[GnocchiRule, _Mapping]] = ..., datapoints_to_alarm: _Optional[int] = ..., treat_missing_data: _Optional[_Union[TreatMissingData, str]] = ..., composite_rule: _Optional[_Union[CompositeRule, _Mapping]] = ..., owner: _Optional[str] = ...) -> None: ...

class CompositeRule(_message.Message):
    __slots__ = ("expression",)
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    expression: str
    def __init__(self, expression: _Optional[str] = ...) -> None: ...

class CreateAlarmRequest(_message.Message):
    __slots__ = ("alarm_id", "alarm")
    ALARM_ID_FIELD_NUMBER: _ClassVar[int]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm_id: str
    alarm: Alarm
    def __init__(self, alarm_id: _Optional[str] = ..., alarm: _Optional[_Union[Alarm, _Mapping]] = ...) -> None: ...

class CreateAlarmResponse(_message.Message):
    __slots__ = ("alarm",)
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm: Alarm
    def __init__(self, alarm: _Optional[_Union[Alarm, _Mapping]] = ...) -> None: ...

class GetAlarmRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetAlarmResponse(_message.Message):
    __slots__ = ("alarm",)
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm: Alarm
    def __init__(self, alarm: _Optional[_Union[Alarm, _Mapping]] = ...) -> None: ...

class ListAlarmsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAlarmsResponse(_message.Message):
    __slots__ = ("alarms", "next_page_token")
    ALARMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    alarms: _containers.RepeatedCompositeFieldContainer[Alarm]
    next_page_token: str
    def __init__(self, alarms: _Optional[_Iterable[_Union[Alarm, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateAlarmRequest(_message.Message):
    __slots__ = ("alarm", "update_mask", "owner")
    ALARM_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    alarm: Alarm
    update_mask: _field_mask_pb2.FieldMask
    owner: str
    def __init__(self, alarm: _Optional[_Union[Alarm, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., owner: _Optional[str] = ...) -> None: ...

class UpdateAlarmResponse(_message.Message):
    __slots__ = ("alarm",)
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm: Alarm
    def __init__(self, alarm: _Optional[_Union[Alarm, _Mapping]] = ...) -> None: ...

class DeleteAlarmRequest(_message.Message):
    __slots__ = ("name", "owner")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    name: str
    owner: str
    def __init__(self, name: _Optional[str] = ..., owner: _Optional[str] = ...) -> None: ...

class DeleteAlarmResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AlarmHistoryEntry(_message.Message):
    __slots__ = ("time", "type", "previous_state", "state", "reason", "action", "action_succeeded", "attempt", "caller")
    TIME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTION_SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    type: AlarmHistoryType
    previous_state: AlarmState
    state: AlarmState
    reason: str
    action: str
    action_succeeded: bool
    attempt: int
    caller: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[_Union[AlarmHistoryType, str]] = ..., previous_state: _Optional[_Union[AlarmState, str]] = ..., state: _Optional[_Union[AlarmState, str]] = ..., reason: _Optional[str] = ..., action: _Optional[str] = ..., action_succeeded: _Optional[bool] = ..., attempt: _Optional[int] = ..., caller: _Optional[str] = ...) -> None: ...

class ListAlarmHistoryRequest(_message.Message):
    __slots__ = ("name", "page_size", "page_token")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    page_size: int
    page_token: str
    def __init__(self, name: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAlarmHistoryResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AlarmHistoryEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[AlarmHistoryEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SetAlarmStateRequest(_message.Message):
    __slots__ = ("name", "state", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: AlarmState
    reason: str
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[AlarmState, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class SetAlarmStateResponse(_message.Message):
    __slots__ = ("alarm",)
    ALARM_FIELD_NUMBER: _ClassVar[int]
    alarm: Alarm
    def __init__(self, alarm: _Optional[_Union[Alarm, _Mapping]] = ...) -> None: ...
