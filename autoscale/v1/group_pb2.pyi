import datetime

from autoscale.v1 import alarm_pb2 as _alarm_pb2
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

class ScheduledActionRunStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHEDULED_ACTION_RUN_STATUS_UNSPECIFIED: _ClassVar[ScheduledActionRunStatus]
    SCHEDULED_ACTION_RUN_STATUS_SUCCEEDED: _ClassVar[ScheduledActionRunStatus]
    SCHEDULED_ACTION_RUN_STATUS_FAILED: _ClassVar[ScheduledActionRunStatus]
    SCHEDULED_ACTION_RUN_STATUS_SKIPPED: _ClassVar[ScheduledActionRunStatus]

class ScalingProcess(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCALING_PROCESS_UNSPECIFIED: _ClassVar[ScalingProcess]
    SCALING_PROCESS_LAUNCH: _ClassVar[ScalingProcess]
    SCALING_PROCESS_TERMINATE: _ClassVar[ScalingProcess]
    SCALING_PROCESS_HEALTH_CHECK: _ClassVar[ScalingProcess]
    SCALING_PROCESS_REPLACE_UNHEALTHY: _ClassVar[ScalingProcess]
    SCALING_PROCESS_ALARM_NOTIFICATION: _ClassVar[ScalingProcess]
    SCALING_PROCESS_SCHEDULED_ACTIONS: _ClassVar[ScalingProcess]
    SCALING_PROCESS_ADD_TO_LOAD_BALANCER: _ClassVar[ScalingProcess]
    SCALING_PROCESS_INSTANCE_REFRESH: _ClassVar[ScalingProcess]

class InstanceRefreshStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTANCE_REFRESH_STATUS_UNSPECIFIED: _ClassVar[InstanceRefreshStatus]
    INSTANCE_REFRESH_STATUS_IN_PROGRESS: _ClassVar[InstanceRefreshStatus]
    INSTANCE_REFRESH_STATUS_PAUSED: _ClassVar[InstanceRefreshStatus]
    INSTANCE_REFRESH_STATUS_SUCCESSFUL: _ClassVar[InstanceRefreshStatus]
    INSTANCE_REFRESH_STATUS_FAILED: _ClassVar[InstanceRefreshStatus]
    INSTANCE_REFRESH_STATUS_CANCELLED: _ClassVar[InstanceRefreshStatus]
    INSTANCE_REFRESH_STATUS_ROLLBACK_IN_PROGRESS: _ClassVar[InstanceRefreshStatus]
    INSTANCE_REFRESH_STATUS_ROLLBACK_SUCCESSFUL: _ClassVar[InstanceRefreshStatus]
    INSTANCE_REFRESH_STATUS_ROLLBACK_FAILED: _ClassVar[InstanceRefreshStatus]

class TerminationPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TERMINATION_POLICY_UNSPECIFIED: _ClassVar[TerminationPolicy]
    TERMINATION_POLICY_OLDEST_INSTANCE: _ClassVar[TerminationPolicy]
    TERMINATION_POLICY_NEWEST_INSTANCE: _ClassVar[TerminationPolicy]
    TERMINATION_POLICY_OLDEST_LAUNCH_CONFIGURATION: _ClassVar[TerminationPolicy]
    TERMINATION_POLICY_DEFAULT: _ClassVar[TerminationPolicy]

class GroupState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GROUP_STATE_UNSPECIFIED: _ClassVar[GroupState]
    GROUP_STATE_HEALTHY: _ClassVar[GroupState]
    GROUP_STATE_DEGRADED: _ClassVar[GroupState]

class AdjustRefusal(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ADJUST_REFUSAL_UNSPECIFIED: _ClassVar[AdjustRefusal]
    ADJUST_REFUSAL_SCALING_IN_PROGRESS: _ClassVar[AdjustRefusal]
    ADJUST_REFUSAL_COOLDOWN: _ClassVar[AdjustRefusal]
    ADJUST_REFUSAL_SUSPENDED: _ClassVar[AdjustRefusal]
    ADJUST_REFUSAL_CAPACITY_CHANGED: _ClassVar[AdjustRefusal]

class InstanceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTANCE_STATE_UNSPECIFIED: _ClassVar[InstanceState]
    INSTANCE_STATE_PENDING: _ClassVar[InstanceState]
    INSTANCE_STATE_RUNNING: _ClassVar[InstanceState]
    INSTANCE_STATE_TERMINATING: _ClassVar[InstanceState]
    INSTANCE_STATE_FAILED: _ClassVar[InstanceState]
    INSTANCE_STATE_STANDBY: _ClassVar[InstanceState]
    INSTANCE_STATE_PENDING_WAIT: _ClassVar[InstanceState]
    INSTANCE_STATE_TERMINATING_WAIT: _ClassVar[InstanceState]

class LifecycleTransition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIFECYCLE_TRANSITION_UNSPECIFIED: _ClassVar[LifecycleTransition]
    LIFECYCLE_TRANSITION_INSTANCE_LAUNCHING: _ClassVar[LifecycleTransition]
    LIFECYCLE_TRANSITION_INSTANCE_TERMINATING: _ClassVar[LifecycleTransition]

class LifecycleActionResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIFECYCLE_ACTION_RESULT_UNSPECIFIED: _ClassVar[LifecycleActionResult]
    LIFECYCLE_ACTION_RESULT_CONTINUE: _ClassVar[LifecycleActionResult]
    LIFECYCLE_ACTION_RESULT_ABANDON: _ClassVar[LifecycleActionResult]

class HealthStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HEALTH_STATUS_UNSPECIFIED: _ClassVar[HealthStatus]
    HEALTH_STATUS_HEALTHY: _ClassVar[HealthStatus]
    HEALTH_STATUS_UNHEALTHY: _ClassVar[HealthStatus]

class ActivityStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTIVITY_STATUS_UNSPECIFIED: _ClassVar[ActivityStatus]
    ACTIVITY_STATUS_IN_PROGRESS: _ClassVar[ActivityStatus]
    ACTIVITY_STATUS_SUCCEEDED: _ClassVar[ActivityStatus]
    ACTIVITY_STATUS_FAILED: _ClassVar[ActivityStatus]
    ACTIVITY_STATUS_CANCELLED: _ClassVar[ActivityStatus]
    ACTIVITY_STATUS_UNCHANGED: _ClassVar[ActivityStatus]

class ScalingDecisionSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCALING_DECISION_SOURCE_UNSPECIFIED: _ClassVar[ScalingDecisionSource]
    SCALING_DECISION_SOURCE_ALARM: _ClassVar[ScalingDecisionSource]
    SCALING_DECISION_SOURCE_POLICY: _ClassVar[ScalingDecisionSource]
    SCALING_DECISION_SOURCE_ADJUST: _ClassVar[ScalingDecisionSource]
    SCALING_DECISION_SOURCE_SET_DESIRED_CAPACITY: _ClassVar[ScalingDecisionSource]
    SCALING_DECISION_SOURCE_UPDATE_GROUP: _ClassVar[ScalingDecisionSource]
    SCALING_DECISION_SOURCE_SCHEDULED_ACTION: _ClassVar[ScalingDecisionSource]

class ScalingDecisionOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCALING_DECISION_OUTCOME_UNSPECIFIED: _ClassVar[ScalingDecisionOutcome]
    SCALING_DECISION_OUTCOME_ADJUSTED: _ClassVar[ScalingDecisionOutcome]
    SCALING_DECISION_OUTCOME_UNCHANGED: _ClassVar[ScalingDecisionOutcome]
    SCALING_DECISION_OUTCOME_REFUSED: _ClassVar[ScalingDecisionOutcome]
    SCALING_DECISION_OUTCOME_SKIPPED: _ClassVar[ScalingDecisionOutcome]
    SCALING_DECISION_OUTCOME_FAILED: _ClassVar[ScalingDecisionOutcome]
SCHEDULED_ACTION_RUN_STATUS_UNSPECIFIED: ScheduledActionRunStatus
SCHEDULED_ACTION_RUN_STATUS_SUCCEEDED: ScheduledActionRunStatus
SCHEDULED_ACTION_RUN_STATUS_FAILED: ScheduledActionRunStatus
SCHEDULED_ACTION_RUN_STATUS_SKIPPED: ScheduledActionRunStatus
SCALING_PROCESS_UNSPECIFIED: ScalingProcess
SCALING_PROCESS_LAUNCH: ScalingProcess
SCALING_PROCESS_TERMINATE: ScalingProcess
SCALING_PROCESS_HEALTH_CHECK: ScalingProcess
SCALING_PROCESS_REPLACE_UNHEALTHY: ScalingProcess
SCALING_PROCESS_ALARM_NOTIFICATION: ScalingProcess
SCALING_PROCESS_SCHEDULED_ACTIONS: ScalingProcess
SCALING_PROCESS_ADD_TO_LOAD_BALANCER: ScalingProcess
SCALING_PROCESS_INSTANCE_REFRESH: ScalingProcess
INSTANCE_REFRESH_STATUS_UNSPECIFIED: InstanceRefreshStatus
INSTANCE_REFRESH_STATUS_IN_PROGRESS: InstanceRefreshStatus
INSTANCE_REFRESH_STATUS_PAUSED: InstanceRefreshStatus
INSTANCE_REFRESH_STATUS_SUCCESSFUL: InstanceRefreshStatus
INSTANCE_REFRESH_STATUS_FAILED: InstanceRefreshStatus
INSTANCE_REFRESH_STATUS_CANCELLED: InstanceRefreshStatus
INSTANCE_REFRESH_STATUS_ROLLBACK_IN_PROGRESS: InstanceRefreshStatus
INSTANCE_REFRESH_STATUS_ROLLBACK_SUCCESSFUL: InstanceRefreshStatus
INSTANCE_REFRESH_STATUS_ROLLBACK_FAILED: InstanceRefreshStatus
TERMINATION_POLICY_UNSPECIFIED: TerminationPolicy
TERMINATION_POLICY_OLDEST_INSTANCE: TerminationPolicy
TERMINATION_POLICY_NEWEST_INSTANCE: TerminationPolicy
TERMINATION_POLICY_OLDEST_LAUNCH_CONFIGURATION: TerminationPolicy
TERMINATION_POLICY_DEFAULT: TerminationPolicy
GROUP_STATE_UNSPECIFIED: GroupState
GROUP_STATE_HEALTHY: GroupState
GROUP_STATE_DEGRADED: GroupState
ADJUST_REFUSAL_UNSPECIFIED: AdjustRefusal
ADJUST_REFUSAL_SCALING_IN_PROGRESS: AdjustRefusal
ADJUST_REFUSAL_COOLDOWN: AdjustRefusal
ADJUST_REFUSAL_SUSPENDED: AdjustRefusal
ADJUST_REFUSAL_CAPACITY_CHANGED: AdjustRefusal
INSTANCE_STATE_UNSPECIFIED: InstanceState
INSTANCE_STATE_PENDING: InstanceState
INSTANCE_STATE_RUNNING: InstanceState
INSTANCE_STATE_TERMINATING: InstanceState
INSTANCE_STATE_FAILED: InstanceState
INSTANCE_STATE_STANDBY: InstanceState
INSTANCE_STATE_PENDING_WAIT: InstanceState
INSTANCE_STATE_TERMINATING_WAIT: InstanceState
LIFECYCLE_TRANSITION_UNSPECIFIED: LifecycleTransition
LIFECYCLE_TRANSITION_INSTANCE_LAUNCHING: LifecycleTransition
LIFECYCLE_TRANSITION_INSTANCE_TERMINATING: LifecycleTransition
LIFECYCLE_ACTION_RESULT_UNSPECIFIED: LifecycleActionResult
LIFECYCLE_ACTION_RESULT_CONTINUE: LifecycleActionResult
LIFECYCLE_ACTION_RESULT_ABANDON: LifecycleActionResult
HEALTH_STATUS_UNSPECIFIED: HealthStatus
HEALTH_STATUS_HEALTHY: HealthStatus
HEALTH_STATUS_UNHEALTHY: HealthStatus
ACTIVITY_STATUS_UNSPECIFIED: ActivityStatus
ACTIVITY_STATUS_IN_PROGRESS: ActivityStatus
ACTIVITY_STATUS_SUCCEEDED: ActivityStatus
ACTIVITY_STATUS_FAILED: ActivityStatus
ACTIVITY_STATUS_CANCELLED: ActivityStatus
ACTIVITY_STATUS_UNCHANGED: ActivityStatus
SCALING_DECISION_SOURCE_UNSPECIFIED: ScalingDecisionSource
SCALING_DECISION_SOURCE_ALARM: ScalingDecisionSource
SCALING_DECISION_SOURCE_POLICY: ScalingDecisionSource
SCALING_DECISION_SOURCE_ADJUST: ScalingDecisionSource
SCALING_DECISION_SOURCE_SET_DESIRED_CAPACITY: ScalingDecisionSource
SCALING_DECISION_SOURCE_UPDATE_GROUP: ScalingDecisionSource
SCALING_DECISION_SOURCE_SCHEDULED_ACTION: ScalingDecisionSource
SCALING_DECISION_OUTCOME_UNSPECIFIED: ScalingDecisionOutcome
SCALING_DECISION_OUTCOME_ADJUSTED: ScalingDecisionOutcome
SCALING_DECISION_OUTCOME_UNCHANGED: ScalingDecisionOutcome
SCALING_DECISION_OUTCOME_REFUSED: ScalingDecisionOutcome
SCALING_DECISION_OUTCOME_SKIPPED: ScalingDecisionOutcome
SCALING_DECISION_OUTCOME_FAILED: ScalingDecisionOutcome

class ScheduledAction(_message.Message):
    __slots__ = ("name", "recurrence", "time_zone", "start_time", "end_time", "min_size", "max_size", "desired_capacity", "create_time", "next_run_time", "last_run_time", "last_run_status", "last_run_reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    RECURRENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    MIN_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_SIZE_FIELD_NUMBER: _ClassVar[int]
    DESIRED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    recurrence: str
    time_zone: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    min_size: int
    max_size: int
    desired_capacity: int
    create_time: _timestamp_pb2.Timestamp
    next_run_time: _timestamp_pb2.Timestamp
    last_run_time: _timestamp_pb2.Timestamp
    last_run_status: ScheduledActionRunStatus
    last_run_reason: str
    def __init__(self, name: _Optional[str] = ..., recurrence: _Optional[str] = ..., time_zone: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., min_size: _Optional[int] = ..., max_size: _Optional[int] = ..., desired_capacity: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_run_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_run_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_run_status: _Optional[_Union[ScheduledActionRunStatus, str]] = ..., last_run_reason: _Optional[str] = ...) -> None: ...

class CreateScheduledActionRequest(_message.Message):
    __slots__ = ("parent", "scheduled_action_id", "scheduled_action")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_ACTION_FIELD_NUMBER: _ClassVar[int]
    parent: str
    scheduled_action_id: str
    scheduled_action: ScheduledAction
    def __init__(self, parent: _Optional[str] = ..., scheduled_action_id: _Optional[str] = ..., scheduled_action: _Optional[_Union[ScheduledAction, _Mapping]] = ...) -> None: ...

class CreateScheduledActionResponse(_message.Message):
    __slots__ = ("scheduled_action",)
    SCHEDULED_ACTION_FIELD_NUMBER: _ClassVar[int]
    scheduled_action: ScheduledAction
    def __init__(self, scheduled_action: _Optional[_Union[ScheduledAction, _Mapping]] = ...) -> None: ...

class GetScheduledActionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetScheduledActionResponse(_message.Message):
    __slots__ = ("scheduled_action",)
    SCHEDULED_ACTION_FIELD_NUMBER: _ClassVar[int]
    scheduled_action: ScheduledAction
    def __init__(self, scheduled_action: _Optional[_Union[ScheduledAction, _Mapping]] = ...) -> None: ...

class ListScheduledActionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListScheduledActionsResponse(_message.Message):
    __slots__ = ("scheduled_actions", "next_page_token")
    SCHEDULED_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    scheduled_actions: _containers.RepeatedCompositeFieldContainer[ScheduledAction]
    next_page_token: str
    def __init__(self, scheduled_actions: _Optional[_Iterable[_Union[ScheduledAction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateScheduledActionRequest(_message.Message):
    __slots__ = ("scheduled_action", "update_mask")
    SCHEDULED_ACTION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    scheduled_action: ScheduledAction
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, scheduled_action: _Optional[_Union[ScheduledAction, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateScheduledActionResponse(_message.Message):
    __slots__ = ("scheduled_action",)
    SCHEDULED_ACTION_FIELD_NUMBER: _ClassVar[int]
    scheduled_action: ScheduledAction
    def __init__(self, scheduled_action: _Optional[_Union[ScheduledAction, _Mapping]] = ...) -> None: ...

class DeleteScheduledActionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteScheduledActionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SuspendProcessesRequest(_message.Message):
    __slots__ = ("group", "processes")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    PROCESSES_FIELD_NUMBER: _ClassVar[int]
    group: str
    processes: _containers.RepeatedScalarFieldContainer[ScalingProcess]
    def __init__(self, group: _Optional[str] = ..., processes: _Optional[_Iterable[_Union[ScalingProcess, str]]] = ...) -> None: ...

class SuspendProcessesResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class ResumeProcessesRequest(_message.Message):
    __slots__ = ("group", "processes")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    PROCESSES_FIELD_NUMBER: _ClassVar[int]
    group: str
    processes: _containers.RepeatedScalarFieldContainer[ScalingProcess]
    def __init__(self, group: _Optional[str] = ..., processes: _Optional[_Iterable[_Union[ScalingProcess, str]]] = ...) -> None: ...

class ResumeProcessesResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class RefreshPreferences(_message.Message):
    __slots__ = ("min_healthy_percentage", "instance_warmup", "auto_rollback")
    MIN_HEALTHY_PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_WARMUP_FIELD_NUMBER: _ClassVar[int]
    AUTO_ROLLBACK_FIELD_NUMBER: _ClassVar[int]
    min_healthy_percentage: int
    instance_warmup: _duration_pb2.Duration
    auto_rollback: bool
    def __init__(self, min_healthy_percentage: _Optional[int] = ..., instance_warmup: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., auto_rollback: _Optional[bool] = ...) -> None: ...

class InstanceRefresh(_message.Message):
    __slots__ = ("name", "status", "status_reason", "percentage_complete", "instances_to_update", "start_time", "end_time", "launch_config", "rollback_launch_config", "preferences")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    PERCENTAGE_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_TO_UPDATE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    LAUNCH_CONFIG_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_LAUNCH_CONFIG_FIELD_NUMBER: _ClassVar[int]
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: InstanceRefreshStatus
    status_reason: str
    percentage_complete: int
    instances_to_update: int
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    launch_config: str
    rollback_launch_config: str
    preferences: RefreshPreferences
    def __init__(self, name: _Optional[str] = ..., status: _Optional[_Union[InstanceRefreshStatus, str]] = ..., status_reason: _Optional[str] = ..., percentage_complete: _Optional[int] = ..., instances_to_update: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., launch_config: _Optional[str] = ..., rollback_launch_config: _Optional[str] = ..., preferences: _Optional[_Union[RefreshPreferences, _Mapping]] = ...) -> None: ...

class StartInstanceRefreshRequest(_message.Message):
    __slots__ = ("group", "launch_config", "preferences")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    LAUNCH_CONFIG_FIELD_NUMBER: _ClassVar[int]
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    group: str
    launch_config: str
    preferences: RefreshPreferences
    def __init__(self, group: _Optional[str] = ..., launch_config: _Optional[str] = ..., preferences: _Optional[_Union[RefreshPreferences, _Mapping]] = ...) -> None: ...

class StartInstanceRefreshResponse(_message.Message):
    __slots__ = ("instance_refresh",)
    INSTANCE_REFRESH_FIELD_NUMBER: _ClassVar[int]
    instance_refresh: InstanceRefresh
    def __init__(self, instance_refresh: _Optional[_Union[InstanceRefresh, _Mapping]] = ...) -> None: ...

class GetInstanceRefreshRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetInstanceRefreshResponse(_message.Message):
    __slots__ = ("instance_refresh",)
    INSTANCE_REFRESH_FIELD_NUMBER: _ClassVar[int]
    instance_refresh: InstanceRefresh
    def __init__(self, instance_refresh: _Optional[_Union[InstanceRefresh, _Mapping]] = ...) -> None: ...

class ListInstanceRefreshesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListInstanceRefreshesResponse(_message.Message):
    __slots__ = ("instance_refreshes", "next_page_token")
    INSTANCE_REFRESHES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    instance_refreshes: _containers.RepeatedCompositeFieldContainer[InstanceRefresh]
    next_page_token: str
    def __init__(self, instance_refreshes: _Optional[_Iterable[_Union[InstanceRefresh, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelInstanceRefreshRequest(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: str
    def __init__(self, group: _Optional[str] = ...) -> None: ...

class CancelInstanceRefreshResponse(_message.Message):
    __slots__ = ("instance_refresh",)
    INSTANCE_REFRESH_FIELD_NUMBER: _ClassVar[int]
    instance_refresh: InstanceRefresh
    def __init__(self, instance_refresh: _Optional[_Union[InstanceRefresh, _Mapping]] = ...) -> None: ...

class RollbackInstanceRefreshRequest(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: str
    def __init__(self, group: _Optional[str] = ...) -> None: ...

class RollbackInstanceRefreshResponse(_message.Message):
    __slots__ = ("instance_refresh",)
    INSTANCE_REFRESH_FIELD_NUMBER: _ClassVar[int]
    instance_refresh: InstanceRefresh
    def __init__(self, instance_refresh: _Optional[_Union[InstanceRefresh, _Mapping]] = ...) -> None: ...

class PauseInstanceRefreshRequest(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: str
    def __init__(self, group: _Optional[str] = ...) -> None: ...

class PauseInstanceRefreshResponse(_message.Message):
    __slots__ = ("instance_refresh",)
    INSTANCE_REFRESH_FIELD_NUMBER: _ClassVar[int]
    instance_refresh: InstanceRefresh
    def __init__(self, instance_refresh: _Optional[_Union[InstanceRefresh, _Mapping]] = ...) -> None: ...

class ResumeInstanceRefreshRequest(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: str
    def __init__(self, group: _Optional[str] = ...) -> None: ...

class ResumeInstanceRefreshResponse(_message.Message):
    __slots__ = ("instance_refresh",)
    INSTANCE_REFRESH_FIELD_NUMBER: _ClassVar[int]
    instance_refresh: InstanceRefresh
    def __init__(self, instance_refresh: _Optional[_Union[InstanceRefresh, _Mapping]] = ...) -> None: ...

class LaunchConfig(_message.Message):
    __slots__ = ("name", "openstack_server", "create_time", "process", "health_check")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OPENSTACK_SERVER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_FIELD_NUMBER: _ClassVar[int]
    name: str
    openstack_server: OpenStackServerSpec
    create_time: _timestamp_pb2.Timestamp
    process: ProcessSpec
    health_check: HealthCheck
    def __init__(self, name: _Optional[str] = ..., openstack_server: _Optional[_Union[OpenStackServerSpec, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., process: _Optional[_Union[ProcessSpec, _Mapping]] = ..., health_check: _Optional[_Union[HealthCheck, _Mapping]] = ...) -> None: ...

class HealthCheck(_message.Message):
    __slots__ = ("command", "tcp", "http", "interval", "timeout", "unhealthy_threshold")
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    TCP_FIELD_NUMBER: _ClassVar[int]
    HTTP_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    UNHEALTHY_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    command: CommandHealthCheck
    tcp: TcpHealthCheck
    http: HttpHealthCheck
    interval: _duration_pb2.Duration
    timeout: _duration_pb2.Duration
    unhealthy_threshold: int
    def __init__(self, command: _Optional[_Union[CommandHealthCheck, _Mapping]] = ..., tcp: _Optional[_Union[TcpHealthCheck, _Mapping]] = ..., http: _Optional[_Union[HttpHealthCheck, _Mapping]] = ..., interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., unhealthy_threshold: _Optional[int] = ...) -> None: ...

class CommandHealthCheck(_message.Message):
    __slots__ = ("command",)
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    command: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, command: _Optional[_Iterable[str]] = ...) -> None: ...

class TcpHealthCheck(_message.Message):
    __slots__ = ("port",)
    PORT_FIELD_NUMBER: _ClassVar[int]
    port: int
    def __init__(self, port: _Optional[int] = ...) -> None: ...

class HttpHealthCheck(_message.Message):
    __slots__ = ("port", "path")
    PORT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    port: int
    path: str
    def __init__(self, port: _Optional[int] = ..., path: _Optional[str] = ...) -> None: ...

class ProcessSpec(_message.Message):
    __slots__ = ("command", "env")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    command: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    def __init__(self, command: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ...) -> None: ...

class OpenStackServerSpec(_message.Message):
    __slots__ = ("image", "flavor", "key_name", "networks", "security_groups", "user_data", "metadata", "availability_zone", "nics", "server_group", "boot_volume_size_gb", "config_drive")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    FLAVOR_FIELD_NUMBER: _ClassVar[int]
    KEY_NAME_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    SECURITY_GROUPS_FIELD_NUMBER: _ClassVar[int]
    USER_DATA_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_ZONE_FIELD_NUMBER: _ClassVar[int]
    NICS_FIELD_NUMBER: _ClassVar[int]
    SERVER_GROUP_FIELD_NUMBER: _ClassVar[int]
    BOOT_VOLUME_SIZE_GB_FIELD_NUMBER: _ClassVar[int]
    CONFIG_DRIVE_FIELD_NUMBER: _ClassVar[int]
    image: str
    flavor: str
    key_name: str
    networks: _containers.RepeatedScalarFieldContainer[str]
    security_groups: _containers.RepeatedScalarFieldContainer[str]
    user_data: str
    metadata: _containers.ScalarMap[str, str]
    availability_zone: str
    nics: _containers.RepeatedCompositeFieldContainer[ServerNic]
    server_group: str
    boot_volume_size_gb: int
    config_drive: bool
    def __init__(self, image: _Optional[str] = ..., flavor: _Optional[str] = ..., key_name: _Optional[str] = ..., networks: _Optional[_Iterable[str]] = ..., security_groups: _Optional[_Iterable[str]] = ..., user_data: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., availability_zone: _Optional[str] = ..., nics: _Optional[_Iterable[_Union[ServerNic, _Mapping]]] = ..., server_group: _Optional[str] = ..., boot_volume_size_gb: _Optional[int] = ..., config_drive: _Optional[bool] = ...) -> None: ...

class ServerNic(_message.Message):
    __slots__ = ("network", "port", "fixed_ip")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    FIXED_IP_FIELD_NUMBER: _ClassVar[int]
    network: str
    port: str
    fixed_ip: str
    def __init__(self, network: _Optional[str] = ..., port: _Optional[str] = ..., fixed_ip: _Optional[str] = ...) -> None: ...

class Group(_message.Message):
    __slots__ = ("name", "launch_config", "min_size", "max_size", "desired_capacity", "cooldown", "tags", "current_capacity", "create_time", "scaling_in_progress", "state", "state_reason", "launch_retry_time", "termination_policies", "new_instances_protected_from_scale_in", "health_check_grace_period", "load_balancer_pools", "suspended_processes")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    LAUNCH_CONFIG_FIELD_NUMBER: _ClassVar[int]
    MIN_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_SIZE_FIELD_NUMBER: _ClassVar[int]
    DESIRED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SCALING_IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    LAUNCH_RETRY_TIME_FIELD_NUMBER: _ClassVar[int]
    TERMINATION_POLICIES_FIELD_NUMBER: _ClassVar[int]
    NEW_INSTANCES_PROTECTED_FROM_SCALE_IN_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    LOAD_BALANCER_POOLS_FIELD_NUMBER: _ClassVar[int]
    SUSPENDED_PROCESSES_FIELD_NUMBER: _ClassVar[int]
    name: str
    launch_config: str
    min_size: int
    max_size: int
    desired_capacity: int
    cooldown: _duration_pb2.Duration
    tags: _containers.ScalarMap[str, str]
    current_capacity: int
    create_time: _timestamp_pb2.Timestamp
    scaling_in_progress: bool
    state: GroupState
    state_reason: str
    launch_retry_time: _timestamp_pb2.Timestamp
    termination_policies: _containers.RepeatedScalarFieldContainer[TerminationPolicy]
    new_instances_protected_from_scale_in: bool
    health_check_grace_period: _duration_pb2.Duration
    load_balancer_pools: _containers.RepeatedCompositeFieldContainer[LoadBalancerPool]
    suspended_processes: _containers.RepeatedScalarFieldContainer[ScalingProcess]
    def __init__(self, name: _Optional[str] = ..., launch_config: _Optional[str] = ..., min_size: _Optional[int] = ..., max_size: _Optional[int] = ..., desired_capacity: _Optional[int] = ..., cooldown: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., tags: _Optional[_Mapping[str, str]] = ..., current_capacity: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scaling_in_progress: _Optional[bool] = ..., state: _Optional[_Union[GroupState, str]] = ..., state_reason: _Optional[str] = ..., launch_retry_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., termination_policies: _Optional[_Iterable[_Union[TerminationPolicy, str]]] = ..., new_instances_protected_from_scale_in: _Optional[bool] = ..., health_check_grace_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., load_balancer_pools: _Optional[_Iterable[_Union[LoadBalancerPool, _Mapping]]] = ..., suspended_processes: _Optional[_Iterable[_Union[ScalingProcess, str]]] = ...) -> None: ...

class LoadBalancerPool(_message.Message):
    __slots__ = ("octavia_pool", "pool_file", "port", "drain_delay")
    OCTAVIA_POOL_FIELD_NUMBER: _ClassVar[int]
    POOL_FILE_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    DRAIN_DELAY_FIELD_NUMBER: _ClassVar[int]
    octavia_pool: str
    pool_file: str
    port: int
    drain_delay: _duration_pb2.Duration
    def __init__(self, octavia_pool: _Optional[str] = ..., pool_file: _Optional[str] = ..., port: _Optional[int] = ..., drain_delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CreateLaunchConfigRequest(_message.Message):
    __slots__ = ("launch_config_id", "launch_config")
    LAUNCH_CONFIG_ID_FIELD_NUMBER: _ClassVar[int]
    LAUNCH_CONFIG_FIELD_NUMBER: _ClassVar[int]
    launch_config_id: str
    launch_config: LaunchConfig
    def __init__(self, launch_config_id: _Optional[str] = ..., launch_config: _Optional[_Union[LaunchConfig, _Mapping]] = ...) -> None: ...

class CreateLaunchConfigResponse(_message.Message):
    __slots__ = ("launch_config",)
    LAUNCH_CONFIG_FIELD_NUMBER: _ClassVar[int]
    launch_config: LaunchConfig
    def __init__(self, launch_config: _Optional[_Union[LaunchConfig, _Mapping]] = ...) -> None: ...

class GetLaunchConfigRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetLaunchConfigResponse(_message.Message):
    __slots__ = ("launch_config",)
    LAUNCH_CONFIG_FIELD_NUMBER: _ClassVar[int]
    launch_config: LaunchConfig
    def __init__(self, launch_config: _Optional[_Union[LaunchConfig, _Mapping]] = ...) -> None: ...

class ListLaunchConfigsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLaunchConfigsResponse(_message.Message):
    __slots__ = ("launch_configs", "next_page_token")
    LAUNCH_CONFIGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    launch_configs: _containers.RepeatedCompositeFieldContainer[LaunchConfig]
    next_page_token: str
    def __init__(self, launch_configs: _Optional[_Iterable[_Union[LaunchConfig, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteLaunchConfigRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteLaunchConfigResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateGroupRequest(_message.Message):
    __slots__ = ("group_id", "group")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    group: Group
    def __init__(self, group_id: _Optional[str] = ..., group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class CreateGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class GetGroupRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class ListGroupsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListGroupsResponse(_message.Message):
    __slots__ = ("groups", "next_page_token")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[Group]
    next_page_token: str
    def __init__(self, groups: _Optional[_Iterable[_Union[Group, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateGroupRequest(_message.Message):
    __slots__ = ("group", "update_mask")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    group: Group
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class DeleteGroupRequest(_message.Message):
    __slots__ = ("name", "force")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    force: bool
    def __init__(self, name: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class DeleteGroupResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AdjustRequest(_message.Message):
    __slots__ = ("name", "adjustment_type", "adjustment", "min_adjustment_step", "cause", "request_id", "refuse_while_scaling", "honor_cooldown", "cooldown", "alarm_notification", "step_scaling", "estimated_instance_warmup", "trigger", "expected_desired_capacity")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENT_FIELD_NUMBER: _ClassVar[int]
    MIN_ADJUSTMENT_STEP_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REFUSE_WHILE_SCALING_FIELD_NUMBER: _ClassVar[int]
    HONOR_COOLDOWN_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_FIELD_NUMBER: _ClassVar[int]
    ALARM_NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    STEP_SCALING_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_INSTANCE_WARMUP_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_DESIRED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    name: str
    adjustment_type: _common_pb2.AdjustmentType
    adjustment: int
    min_adjustment_step: int
    cause: str
    request_id: str
    refuse_while_scaling: bool
    honor_cooldown: bool
    cooldown: _duration_pb2.Duration
    alarm_notification: bool
    step_scaling: bool
    estimated_instance_warmup: _duration_pb2.Duration
    trigger: ScalingTrigger
    expected_desired_capacity: int
    def __init__(self, name: _Optional[str] = ..., adjustment_type: _Optional[_Union[_common_pb2.AdjustmentType, str]] = ..., adjustment: _Optional[int] = ..., min_adjustment_step: _Optional[int] = ..., cause: _Optional[str] = ..., request_id: _Optional[str] = ..., refuse_while_scaling: _Optional[bool] = ..., honor_cooldown: _Optional[bool] = ..., cooldown: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., alarm_notification: _Optional[bool] = ..., step_scaling: _Optional[bool] = ..., estimated_instance_warmup: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., trigger: _Optional[_Union[ScalingTrigger, _Mapping]] = ..., expected_desired_capacity: _Optional[int] = ...) -> None: ...

class ScalingTrigger(_message.Message):
    __slots__ = ("policy", "alarm", "alarm_state", "alarm_reason", "datapoints", "threshold", "comparison_operator", "metric_value", "breach_threshold", "step_lower_bound", "step_upper_bound", "recommended_capacity", "policy_reason")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    ALARM_STATE_FIELD_NUMBER: _ClassVar[int]
    ALARM_REASON_FIELD_NUMBER: _ClassVar[int]
    DATAPOINTS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_OPERATOR_FIELD_NUMBER: _ClassVar[int]
    METRIC_VALUE_FIELD_NUMBER: _ClassVar[int]
    BREACH_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    STEP_LOWER_BOUND_FIELD_NUMBER: _ClassVar[int]
    STEP_UPPER_BOUND_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    POLICY_REASON_FIELD_NUMBER: _ClassVar[int]
    policy: str
    alarm: str
    alarm_state: _alarm_pb2.AlarmState
    alarm_reason: str
    datapoints: _containers.RepeatedScalarFieldContainer[float]
    threshold: float
    comparison_operator: _alarm_pb2.ComparisonOperator
    metric_value: float
    breach_threshold: float
    step_lower_bound: float
    step_upper_bound: float
    recommended_capacity: int
    policy_reason: str
    def __init__(self, policy: _Optional[str] = ..., alarm: _Optional[str] = ..., alarm_state: _Optional[_Union[_alarm_pb2.AlarmState, str]] = ..., alarm_reason: _Optional[str] = ..., datapoints: _Optional[_Iterable[float]] = ..., threshold: _Optional[float] = ..., comparison_operator: _Optional[_Union[_alarm_pb2.ComparisonOperator, str]] = ..., metric_value: _Optional[float] = ..., breach_threshold: _Optional[float] = ..., step_lower_bound: _Optional[float] = ..., step_upper_bound: _Optional[float] = ..., recommended_capacity: _Optional[int] = ..., policy_reason: _Optional[str] = ...) -> None: ...

class AdjustResponse(_message.Message):
    __slots__ = ("previous_capacity", "desired_capacity", "activity", "group", "adjusted", "reason", "refusal", "cooldown_end_time")
    PREVIOUS_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    DESIRED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    ADJUSTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_END_TIME_FIELD_NUMBER: _ClassVar[int]
    previous_capacity: int
    desired_capacity: int
    activity: Activity
    group: Group
    adjusted: bool
    reason: str
    refusal: AdjustRefusal
    cooldown_end_time: _timestamp_pb2.Timestamp
    def __init__(self, previous_capacity: _Optional[int] = ..., desired_capacity: _Optional[int] = ..., activity: _Optional[_Union[Activity, _Mapping]] = ..., group: _Optional[_Union[Group, _Mapping]] = ..., adjusted: _Optional[bool] = ..., reason: _Optional[str] = ..., refusal: _Optional[_Union[AdjustRefusal, str]] = ..., cooldown_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LifecycleHook(_message.Message):
    __slots__ = ("name", "transition", "heartbeat_timeout", "default_result", "notification_metadata", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TRANSITION_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_RESULT_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    transition: LifecycleTransition
    heartbeat_timeout: _duration_pb2.Duration
    default_result: LifecycleActionResult
    notification_metadata: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., transition: _Optional[_Union[LifecycleTransition, str]] = ..., heartbeat_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., default_result: _Optional[_Union[LifecycleActionResult, str]] = ..., notification_metadata: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateLifecycleHookRequest(_message.Message):
    __slots__ = ("parent", "lifecycle_hook_id", "lifecycle_hook")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    LIFECYCLE_HOOK_ID_FIELD_NUMBER: _ClassVar[int]
    LIFECYCLE_HOOK_FIELD_NUMBER: _ClassVar[int]
    parent: str
    lifecycle_hook_id: str
    lifecycle_hook: LifecycleHook
    def __init__(self, parent: _Optional[str] = ..., lifecycle_hook_id: _Optional[str] = ..., lifecycle_hook: _Optional[_Union[LifecycleHook, _Mapping]] = ...) -> None: ...

class CreateLifecycleHookResponse(_message.Message):
    __slots__ = ("lifecycle_hook",)
    LIFECYCLE_HOOK_FIELD_NUMBER: _ClassVar[int]
    lifecycle_hook: LifecycleHook
    def __init__(self, lifecycle_hook: _Optional[_Union[LifecycleHook, _Mapping]] = ...) -> None: ...

class ListLifecycleHooksRequest(_message.Message):
    __slots__ = ("parent",)
    PARENT_FIELD_NUMBER: _ClassVar[int]
    parent: str
    def __init__(self, parent: _Optional[str] = ...) -> None: ...

class ListLifecycleHooksResponse(_message.Message):
    __slots__ = ("lifecycle_hooks",)
    LIFECYCLE_HOOKS_FIELD_NUMBER: _ClassVar[int]
    lifecycle_hooks: _containers.RepeatedCompositeFieldContainer[LifecycleHook]
    def __init__(self, lifecycle_hooks: _Optional[_Iterable[_Union[LifecycleHook, _Mapping]]] = ...) -> None: ...

class DeleteLifecycleHookRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteLifecycleHookResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CompleteLifecycleActionRequest(_message.Message):
    __slots__ = ("lifecycle_hook", "instance", "result")
    LIFECYCLE_HOOK_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    lifecycle_hook: str
    instance: str
    result: LifecycleActionResult
    def __init__(self, lifecycle_hook: _Optional[str] = ..., instance: _Optional[str] = ..., result: _Optional[_Union[LifecycleActionResult, str]] = ...) -> None: ...

class CompleteLifecycleActionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RecordLifecycleActionHeartbeatRequest(_message.Message):
    __slots__ = ("lifecycle_hook", "instance")
    LIFECYCLE_HOOK_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    lifecycle_hook: str
    instance: str
    def __init__(self, lifecycle_hook: _Optional[str] = ..., instance: _Optional[str] = ...) -> None: ...

class RecordLifecycleActionHeartbeatResponse(_message.Message):
    __slots__ = ("timeout_time",)
    TIMEOUT_TIME_FIELD_NUMBER: _ClassVar[int]
    timeout_time: _timestamp_pb2.Timestamp
    def __init__(self, timeout_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Instance(_message.Message):
    __slots__ = ("name", "server_id", "state", "create_time", "state_reason", "protected_from_scale_in", "health_status", "health_reason", "address", "in_service_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    PROTECTED_FROM_SCALE_IN_FIELD_NUMBER: _ClassVar[int]
    HEALTH_STATUS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_REASON_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    IN_SERVICE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    server_id: str
    state: InstanceState
    create_time: _timestamp_pb2.Timestamp
    state_reason: str
    protected_from_scale_in: bool
    health_status: HealthStatus
    health_reason: str
    address: str
    in_service_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., server_id: _Optional[str] = ..., state: _Optional[_Union[InstanceState, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state_reason: _Optional[str] = ..., protected_from_scale_in: _Optional[bool] = ..., health_status: _Optional[_Union[HealthStatus, str]] = ..., health_reason: _Optional[str] = ..., address: _Optional[str] = ..., in_service_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetInstanceProtectionRequest(_message.Message):
    __slots__ = ("group", "instances", "protected_from_scale_in")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    PROTECTED_FROM_SCALE_IN_FIELD_NUMBER: _ClassVar[int]
    group: str
    instances: _containers.RepeatedScalarFieldContainer[str]
    protected_from_scale_in: bool
    def __init__(self, group: _Optional[str] = ..., instances: _Optional[_Iterable[str]] = ..., protected_from_scale_in: _Optional[bool] = ...) -> None: ...

class TerminateInstanceRequest(_message.Message):
    __slots__ = ("name", "should_decrement_desired_capacity")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHOULD_DECREMENT_DESIRED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    name: str
    should_decrement_desired_capacity: bool
    def __init__(self, name: _Optional[str] = ..., should_decrement_desired_capacity: _Optional[bool] = ...) -> None: ...

class TerminateInstanceResponse(_message.Message):
    __slots__ = ("activity", "group")
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    activity: Activity
    group: Group
    def __init__(self, activity: _Optional[_Union[Activity, _Mapping]] = ..., group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class SetDesiredCapacityRequest(_message.Message):
    __slots__ = ("name", "desired_capacity", "honor_cooldown")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESIRED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    HONOR_COOLDOWN_FIELD_NUMBER: _ClassVar[int]
    name: str
    desired_capacity: int
    honor_cooldown: bool
    def __init__(self, name: _Optional[str] = ..., desired_capacity: _Optional[int] = ..., honor_cooldown: _Optional[bool] = ...) -> None: ...

class SetDesiredCapacityResponse(_message.Message):
    __slots__ = ("activity", "group", "refusal", "reason", "cooldown_end_time")
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_END_TIME_FIELD_NUMBER: _ClassVar[int]
    activity: Activity
    group: Group
    refusal: AdjustRefusal
    reason: str
    cooldown_end_time: _timestamp_pb2.Timestamp
    def __init__(self, activity: _Optional[_Union[Activity, _Mapping]] = ..., group: _Optional[_Union[Group, _Mapping]] = ..., refusal: _Optional[_Union[AdjustRefusal, str]] = ..., reason: _Optional[str] = ..., cooldown_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetInstanceHealthRequest(_message.Message):
    __slots__ = ("name", "health_status", "should_respect_grace_period", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    HEALTH_STATUS_FIELD_NUMBER: _ClassVar[int]
    SHOULD_RESPECT_GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    health_status: HealthStatus
    should_respect_grace_period: bool
    reason: str
    def __init__(self, name: _Optional[str] = ..., health_status: _Optional[_Union[HealthStatus, str]] = ..., should_respect_grace_period: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class SetInstanceHealthResponse(_message.Message):
    __slots__ = ("instance",)
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    instance: Instance
    def __init__(self, instance: _Optional[_Union[Instance, _Mapping]] = ...) -> None: ...

class EnterStandbyRequest(_message.Message):
    __slots__ = ("group", "instances", "should_decrement_desired_capacity")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    SHOULD_DECREMENT_DESIRED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    group: str
    instances: _containers.RepeatedScalarFieldContainer[str]
    should_decrement_desired_capacity: bool
    def __init__(self, group: _Optional[str] = ..., instances: _Optional[_Iterable[str]] = ..., should_decrement_desired_capacity: _Optional[bool] = ...) -> None: ...

class EnterStandbyResponse(_message.Message):
    __slots__ = ("instances", "activity", "group")
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[Instance]
    activity: Activity
    group: Group
    def __init__(self, instances: _Optional[_Iterable[_Union[Instance, _Mapping]]] = ..., activity: _Optional[_Union[Activity, _Mapping]] = ..., group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class ExitStandbyRequest(_message.Message):
    __slots__ = ("group", "instances")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    group: str
    instances: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, group: _Optional[str] = ..., instances: _Optional[_Iterable[str]] = ...) -> None: ...

class ExitStandbyResponse(_message.Message):
    __slots__ = ("instances", "activity", "group")
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[Instance]
    activity: Activity
    group: Group
    def __init__(self, instances: _Optional[_Iterable[_Union[Instance, _Mapping]]] = ..., activity: _Optional[_Union[Activity, _Mapping]] = ..., group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class DetachInstancesRequest(_message.Message):
    __slots__ = ("group", "instances", "should_decrement_desired_capacity")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    SHOULD_DECREMENT_DESIRED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    group: str
    instances: _containers.RepeatedScalarFieldContainer[str]
    should_decrement_desired_capacity: bool
    def __init__(self, group: _Optional[str] = ..., instances: _Optional[_Iterable[str]] = ..., should_decrement_desired_capacity: _Optional[bool] = ...) -> None: ...

class DetachInstancesResponse(_message.Message):
    __slots__ = ("instances", "activity", "group")
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[Instance]
    activity: Activity
    group: Group
    def __init__(self, instances: _Optional[_Iterable[_Union[Instance, _Mapping]]] = ..., activity: _Optional[_Union[Activity, _Mapping]] = ..., group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class AttachInstancesRequest(_message.Message):
    __slots__ = ("group", "server_ids")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    SERVER_IDS_FIELD_NUMBER: _ClassVar[int]
    group: str
    server_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, group: _Optional[str] = ..., server_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class AttachInstancesResponse(_message.Message):
    __slots__ = ("instances", "activity", "group")
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[Instance]
    activity: Activity
    group: Group
    def __init__(self, instances: _Optional[_Iterable[_Union[Instance, _Mapping]]] = ..., activity: _Optional[_Union[Activity, _Mapping]] = ..., group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class SetInstanceProtectionResponse(_message.Message):
    __slots__ = ("instances",)
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[Instance]
    def __init__(self, instances: _Optional[_Iterable[_Union[Instance, _Mapping]]] = ...) -> None: ...

class ListInstancesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListInstancesResponse(_message.Message):
    __slots__ = ("instances", "next_page_token")
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[Instance]
    next_page_token: str
    def __init__(self, instances: _Optional[_Iterable[_Union[Instance, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Activity(_message.Message):
    __slots__ = ("name", "cause", "from_capacity", "to_capacity", "start_time", "end_time", "status", "status_message", "caller")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    FROM_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    TO_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    name: str
    cause: str
    from_capacity: int
    to_capacity: int
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    status: ActivityStatus
    status_message: str
    caller: str
    def __init__(self, name: _Optional[str] = ..., cause: _Optional[str] = ..., from_capacity: _Optional[int] = ..., to_capacity: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[ActivityStatus, str]] = ..., status_message: _Optional[str] = ..., caller: _Optional[str] = ...) -> None: ...

class ListActivitiesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListActivitiesResponse(_message.Message):
    __slots__ = ("activities", "next_page_token")
    ACTIVITIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    activities: _containers.RepeatedCompositeFieldContainer[Activity]
    next_page_token: str
    def __init__(self, activities: _Optional[_Iterable[_Union[Activity, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CapacityCalculation(_message.Message):
    __slots__ = ("base_capacity", "raw_capacity", "rounded_capacity", "clamped_capacity", "min_size", "max_size")
    BASE_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    RAW_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    ROUNDED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    CLAMPED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    MIN_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_SIZE_FIELD_NUMBER: _ClassVar[int]
    base_capacity: int
    raw_capacity: float
    rounded_capacity: int
    clamped_capacity: int
    min_size: int
    max_size: int
    def __init__(self, base_capacity: _Optional[int] = ..., raw_capacity: _Optional[float] = ..., rounded_capacity: _Optional[int] = ..., clamped_capacity: _Optional[int] = ..., min_size: _Optional[int] = ..., max_size: _Optional[int] = ...) -> None: ...

class ScalingDecision(_message.Message):
    __slots__ = ("name", "decide_time", "source", "caller", "cause", "trigger", "adjustment_type", "adjustment", "min_adjustment_step", "step_scaling", "calculation", "previous_capacity", "desired_capacity", "outcome", "refusal", "cooldown_end_time", "reason", "activity", "scheduled_action", "requested_capacity")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENT_FIELD_NUMBER: _ClassVar[int]
    MIN_ADJUSTMENT_STEP_FIELD_NUMBER: _ClassVar[int]
    STEP_SCALING_FIELD_NUMBER: _ClassVar[int]
    CALCULATION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    DESIRED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_END_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_ACTION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    name: str
    decide_time: _timestamp_pb2.Timestamp
    source: ScalingDecisionSource
    caller: str
    cause: str
    trigger: ScalingTrigger
    adjustment_type: _common_pb2.AdjustmentType
    adjustment: int
    min_adjustment_step: int
    step_scaling: bool
    calculation: CapacityCalculation
    previous_capacity: int
    desired_capacity: int
    outcome: ScalingDecisionOutcome
    refusal: AdjustRefusal
    cooldown_end_time: _timestamp_pb2.Timestamp
    reason: str
    activity: str
    scheduled_action: str
    requested_capacity: int
    def __init__(self, name: _Optional[str] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[_Union[ScalingDecisionSource, str]] = ..., caller: _Optional[str] = ..., cause: _Optional[str] = ..., trigger: _Optional[_Union[ScalingTrigger, _Mapping]] = ..., adjustment_type: _Optional[_Union[_common_pb2.AdjustmentType, str]] = ..., adjustment: _Optional[int] = ..., min_adjustment_step: _Optional[int] = ..., step_scaling: _Optional[bool] = ..., calculation: _Optional[_Union[CapacityCalculation, _Mapping]] = ..., previous_capacity: _Optional[int] = ..., desired_capacity: _Optional[int] = ..., outcome: _Optional[_Union[ScalingDecisionOutcome, str]] = ..., refusal: _Optional[_Union[AdjustRefusal, str]] = ..., cooldown_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., activity: _Optional[str] = ..., scheduled_action: _Optional[str] = ..., requested_capacity: _Optional[int] = ...) -> None: ...

class ListScalingDecisionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListScalingDecisionsResponse(_message.Message):
    __slots__ = ("scaling_decisions", "next_page_token")
    SCALING_DECISIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    scaling_decisions: _containers.RepeatedCompositeFieldContainer[ScalingDecision]
    next_page_token: str
    def __init__(self, scaling_decisions: _Optional[_Iterable[_Union[ScalingDecision, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetActivityRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetActivityResponse(_message.Message):
    __slots__ = ("activity",)
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    activity: Activity
    def __init__(self, activity: _Optional[_Union[Activity, _Mapping]] = ...) -> None: ...
