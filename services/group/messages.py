"""Conversions between the group service's protobuf messages and its domain objects."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from autoscale.errors import InvalidArgument
from autoscale.timeutil import check_timestamp, from_duration, to_duration, to_timestamp
from autoscale.v1 import common_pb2, group_pb2
from autoscale.validation import ID_PATTERN, ID_RULE, Violations, quoted, try_parse_name
from services.group.capacity import adjustment_reason
from services.group.domain import (
    Activity,
    ActivityStatus,
    AdjustmentType,
    AdjustOutcome,
    DecisionOutcome,
    DecisionSource,
    Group,
    GroupStatus,
    Instance,
    InstancesChange,
    InstanceState,
    LaunchConfig,
    Refusal,
    ScalingDecision,
    TerminationPolicy,
    activity_name,
    group_name,
    instance_name,
    instance_refresh_name,
    launch_config_name,
    lifecycle_hook_name,
    scaling_decision_name,
    scheduled_action_name,
)
from services.group.drivers.base import OpenStackServerSpec, ProcessSpec, ServerNic
from services.group.health import DEFAULT_INTERVAL, DEFAULT_TIMEOUT, DEFAULT_UNHEALTHY_THRESHOLD, HealthCheck, HealthStatus, ProbeKind
from services.group.hooks import DEFAULT_HEARTBEAT_TIMEOUT, HookResult, LifecycleHook, Transition
from services.group.pools import DEFAULT_DRAIN_DELAY, LoadBalancerPool, PoolKind
from services.group.processes import ScalingProcess
from services.group.refresh import InstanceRefresh, RefreshStatus
from services.group.schedule import RunStatus, ScheduledAction

SERVER_MADE_ID = re.compile(r"^[A-Za-z0-9._~-]{1,63}$")
"""Ids the service makes (instances, activities) are URL-safe."""

ADJUSTMENT_TYPES = {
    common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY: AdjustmentType.CHANGE_IN_CAPACITY,
    common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY: AdjustmentType.EXACT_CAPACITY,
    common_pb2.ADJUSTMENT_TYPE_PERCENT_CHANGE_IN_CAPACITY: AdjustmentType.PERCENT_CHANGE_IN_CAPACITY,
}
ADJUSTMENT_TYPE_MESSAGES = {domain: number for number, domain in ADJUSTMENT_TYPES.items()}

INSTANCE_STATES = {
    InstanceState.PENDING: group_pb2.INSTANCE_STATE_PENDING,
    InstanceState.RUNNING: group_pb2.INSTANCE_STATE_RUNNING,
    InstanceState.TERMINATING: group_pb2.INSTANCE_STATE_TERMINATING,
    InstanceState.FAILED: group_pb2.INSTANCE_STATE_FAILED,
    InstanceState.STANDBY: group_pb2.INSTANCE_STATE_STANDBY,
    InstanceState.PENDING_WAIT: group_pb2.INSTANCE_STATE_PENDING_WAIT,
    InstanceState.TERMINATING_WAIT: group_pb2.INSTANCE_STATE_TERMINATING_WAIT,
}

ACTIVITY_STATUSES = {
    ActivityStatus.IN_PROGRESS: group_pb2.ACTIVITY_STATUS_IN_PROGRESS,
    ActivityStatus.SUCCEEDED: group_pb2.ACTIVITY_STATUS_SUCCEEDED,
    ActivityStatus.FAILED: group_pb2.ACTIVITY_STATUS_FAILED,
    ActivityStatus.CANCELLED: group_pb2.ACTIVITY_STATUS_CANCELLED,
    ActivityStatus.UNCHANGED: group_pb2.ACTIVITY_STATUS_UNCHANGED,
}

REFUSALS = {
    Refusal.SCALING_IN_PROGRESS: group_pb2.ADJUST_REFUSAL_SCALING_IN_PROGRESS,
    Refusal.COOLDOWN: group_pb2.ADJUST_REFUSAL_COOLDOWN,
    Refusal.SUSPENDED: group_pb2.ADJUST_REFUSAL_SUSPENDED,
    Refusal.CAPACITY_CHANGED: group_pb2.ADJUST_REFUSAL_CAPACITY_CHANGED,
}

DECISION_SOURCES = {
    DecisionSource.ALARM: group_pb2.SCALING_DECISION_SOURCE_ALARM,
    DecisionSource.POLICY: group_pb2.SCALING_DECISION_SOURCE_POLICY,
    DecisionSource.ADJUST: group_pb2.SCALING_DECISION_SOURCE_ADJUST,
    DecisionSource.SET_DESIRED_CAPACITY: group_pb2.SCALING_DECISION_SOURCE_SET_DESIRED_CAPACITY,
    DecisionSource.UPDATE_GROUP: group_pb2.SCALING_DECISION_SOURCE_UPDATE_GROUP,
    DecisionSource.SCHEDULED_ACTION: group_pb2.SCALING_DECISION_SOURCE_SCHEDULED_ACTION,
}

DECISION_OUTCOMES = {
    DecisionOutcome.ADJUSTED: group_pb2.SCALING_DECISION_OUTCOME_ADJUSTED,
    DecisionOutcome.UNCHANGED: group_pb2.SCALING_DECISION_OUTCOME_UNCHANGED,
    DecisionOutcome.REFUSED: group_pb2.SCALING_DECISION_OUTCOME_REFUSED,
    DecisionOutcome.SKIPPED: group_pb2.SCALING_DECISION_OUTCOME_SKIPPED,
    DecisionOutcome.FAILED: group_pb2.SCALING_DECISION_OUTCOME_FAILED,
}

SCALING_PROCESSES = {
    group_pb2.SCALING_PROCESS_LAUNCH: ScalingProcess.LAUNCH,
    group_pb2.SCALING_PROCESS_TERMINATE: ScalingProcess.TERMINATE,
    group_pb2.SCALING_PROCESS_HEALTH_CHECK: ScalingProcess.HEALTH_CHECK,
    group_pb2.SCALING_PROCESS_REPLACE_UNHEALTHY: ScalingProcess.REPLACE_UNHEALTHY,
    group_pb2.SCALING_PROCESS_ALARM_NOTIFICATION: ScalingProcess.ALARM_NOTIFICATION,
    group_pb2.SCALING_PROCESS_SCHEDULED_ACTIONS: ScalingProcess.SCHEDULED_ACTIONS,
    group_pb2.SCALING_PROCESS_ADD_TO_LOAD_BALANCER: ScalingProcess.ADD_TO_LOAD_BALANCER,
    group_pb2.SCALING_PROCESS_INSTANCE_REFRESH: ScalingProcess.INSTANCE_REFRESH,
}
SCALING_PROCESS_MESSAGES = {domain: number for number, domain in SCALING_PROCESSES.items()}


TERMINATION_POLICIES = {
    group_pb2.TERMINATION_POLICY_OLDEST_INSTANCE: TerminationPolicy.OLDEST_INSTANCE,
    group_pb2.TERMINATION_POLICY_NEWEST_INSTANCE: TerminationPolicy.NEWEST_INSTANCE,
    group_pb2.TERMINATION_POLICY_OLDEST_LAUNCH_CONFIGURATION: TerminationPolicy.OLDEST_LAUNCH_CONFIGURATION,
    group_pb2.TERMINATION_POLICY_DEFAULT: TerminationPolicy.DEFAULT,
}
TERMINATION_POLICY_MESSAGES = {domain: number for number, domain in TERMINATION_POLICIES.items()}

HEALTH_STATUSES = {
    HealthStatus.UNKNOWN: group_pb2.HEALTH_STATUS_UNSPECIFIED,
    HealthStatus.HEALTHY: group_pb2.HEALTH_STATUS_HEALTHY,
    HealthStatus.UNHEALTHY: group_pb2.HEALTH_STATUS_UNHEALTHY,
}


def parse_child_name(field_path: str, name: str, collection: str) -> tuple[str, str]:
    """(group id, child id) of `groups/{g}/{collection}/{id}`, or InvalidArgument naming the field."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "groups" or parts[2] != collection or not ID_PATTERN.match(parts[1]):
        raise InvalidArgument.field(
            field_path, f"{quoted(name)} is not a valid name; expected groups/{{group}}/{collection}/{{id}} with {{group}} that {ID_RULE}"
        )
    if not SERVER_MADE_ID.match(parts[3]):
        raise InvalidArgument.field(field_path, f"{quoted(parts[3])} is not a valid {collection[:-1]} id")
    return parts[1], parts[3]


def launch_config_from_message(message: group_pb2.LaunchConfig, launch_config_id: str, now: float) -> LaunchConfig:
    """The domain launch config of a request (validated apart, by rules.check_launch_config)."""
    process = None
    openstack_server = None
    if message.HasField("process"):
        process = ProcessSpec(command=tuple(message.process.command), env=dict(message.process.env))
    if message.HasField("openstack_server"):
        openstack_server = openstack_server_from_message(message.openstack_server)
    health_check = health_check_from_message(message.health_check) if message.HasField("health_check") else None
    return LaunchConfig(
        id=launch_config_id, process=process, openstack_server=openstack_server, create_time=now, health_check=health_check
    )


def health_check_from_message(message: group_pb2.HealthCheck) -> HealthCheck | None:
    """The domain health check of a request (validated apart, by rules.check_health_check); None when it asks nothing."""
    probe = message.WhichOneof("probe")
    if probe is None:
        return None
    interval = from_duration(message.interval) if message.HasField("interval") else DEFAULT_INTERVAL
    check = HealthCheck(
        ProbeKind(probe),
        interval=interval,
        timeout=from_duration(message.timeout) if message.HasField("timeout") else min(DEFAULT_TIMEOUT, interval),
        unhealthy_threshold=message.unhealthy_threshold or DEFAULT_UNHEALTHY_THRESHOLD,
    )
    if probe == "command":
        return replace(check, command=tuple(message.command.command))
    if probe == "tcp":
        return replace(check, port=message.tcp.port)
    return replace(check, port=message.http.port, path=message.http.path or "/")


def health_check_to_message(check: HealthCheck) -> group_pb2.HealthCheck:
    """The HealthCheck message of a launch config's check, every default spelled out."""
    message = group_pb2.HealthCheck(
        interval=to_duration(check.interval), timeout=to_duration(check.timeout), unhealthy_threshold=check.unhealthy_threshold
    )
    if check.kind is ProbeKind.COMMAND:
        message.command.command.extend(check.command)
    elif check.kind is ProbeKind.TCP:
        message.tcp.port = check.port
    else:
        message.http.CopyFrom(group_pb2.HttpHealthCheck(port=check.port, path=check.path))
    return message


def launch_config_to_message(config: LaunchConfig) -> group_pb2.LaunchConfig:
    """The LaunchConfig message of a launch config."""
    message = group_pb2.LaunchConfig(name=launch_config_name(config.id), create_time=to_timestamp(config.create_time))
    if config.process is not None:
        message.process.command.extend(config.process.command)
        message.process.env.update(config.process.env)
    if config.openstack_server is not None:
        message.openstack_server.CopyFrom(openstack_server_to_message(config.openstack_server))
    if config.health_check is not None:
        message.health_check.CopyFrom(health_check_to_message(config.health_check))
    return message


def openstack_server_from_message(spec: group_pb2.OpenStackServerSpec) -> OpenStackServerSpec:
    """The driver's spec of a Nova server of a request (validated apart, by rules.check_launch_config)."""
    return OpenStackServerSpec(
        image=spec.image, flavor=spec.flavor, key_name=spec.key_name, networks=tuple(spec.networks),
        security_groups=tuple(spec.security_groups), user_data=spec.user_data, metadata=dict(spec.metadata),
        availability_zone=spec.availability_zone,
        nics=tuple(ServerNic(network=nic.network, port=nic.port, fixed_ip=nic.fixed_ip) for nic in spec.nics),
        server_group=spec.server_group, boot_volume_size_gb=spec.boot_volume_size_gb, config_drive=spec.config_drive,
    )


def openstack_server_to_message(spec: OpenStackServerSpec) -> group_pb2.OpenStackServerSpec:
    """The OpenStackServerSpec message of a Nova server's spec."""
    return group_pb2.OpenStackServerSpec(
        image=spec.image, flavor=spec.flavor, key_name=spec.key_name, networks=list(spec.networks),
        security_groups=list(spec.security_groups), user_data=spec.user_data, metadata=dict(spec.metadata),
        availability_zone=spec.availability_zone,
        nics=[group_pb2.ServerNic(network=nic.network, port=nic.port, fixed_ip=nic.fixed_ip) for nic in spec.nics],
        server_group=spec.server_group, boot_volume_size_gb=spec.boot_volume_size_gb, config_drive=spec.config_drive,
    )


def group_from_message(violations: Violations, message: group_pb2.Group, group_id: str, now: float, path: str = "group") -> Group:
    """The domain group of a request; a bad launch config name is recorded and left empty.

    An unset desired_capacity is min_size (what CreateGroup means by it).
    """
    launch_config_id = try_parse_name(violations, f"{path}.launch_config", message.launch_config, "launchConfigs")
    return Group(
        id=group_id,
        launch_config_id=launch_config_id or "",
        min_size=message.min_size,
        max_size=message.max_size,
        desired_capacity=message.desired_capacity if message.HasField("desired_capacity") else message.min_size,
        cooldown=from_duration(message.cooldown) if message.HasField("cooldown") else None,
        tags=dict(message.tags),
        create_time=now,
        termination_policies=tuple(
            TERMINATION_POLICIES[number] for number in message.termination_policies if number in TERMINATION_POLICIES
        ),
        new_instances_protected_from_scale_in=message.new_instances_protected_from_scale_in,
        health_check_grace_period=(
            from_duration(message.health_check_grace_period) if message.HasField("health_check_grace_period") else None
        ),
        load_balancer_pools=tuple(pool_from_message(pool) for pool in message.load_balancer_pools),
    )


def pool_from_message(message: group_pb2.LoadBalancerPool) -> LoadBalancerPool:
    """The domain pool of a request (validated apart, by rules.check_load_balancer_pools)."""
    kind = PoolKind.OCTAVIA if message.WhichOneof("pool") == "octavia_pool" else PoolKind.FILE
    return LoadBalancerPool(
        kind, message.octavia_pool if kind is PoolKind.OCTAVIA else message.pool_file, port=message.port,
        drain_delay=from_duration(message.drain_delay) if message.HasField("drain_delay") else DEFAULT_DRAIN_DELAY,
    )


def pool_to_message(pool: LoadBalancerPool) -> group_pb2.LoadBalancerPool:
    """The LoadBalancerPool message of a pool, its drain delay spelled out."""
    message = group_pb2.LoadBalancerPool(port=pool.port, drain_delay=to_duration(pool.drain_delay))
    if pool.kind is PoolKind.OCTAVIA:
        message.octavia_pool = pool.name
    else:
        message.pool_file = pool.name
    return message


def group_to_message(status: GroupStatus) -> group_pb2.Group:
    """The Group message of a group and what is observed of it."""
    group = status.group
    return group_pb2.Group(
        name=group_name(group.id),
        launch_config=launch_config_name(group.launch_config_id),
        min_size=group.min_size,
        max_size=group.max_size,
        desired_capacity=group.desired_capacity,
        cooldown=to_duration(group.cooldown) if group.cooldown is not None else None,
        tags=dict(group.tags),
        current_capacity=status.current_capacity,
        create_time=to_timestamp(group.create_time),
        scaling_in_progress=status.scaling_in_progress,
        state=group_pb2.GROUP_STATE_DEGRADED if group.launch_backoff.degraded else group_pb2.GROUP_STATE_HEALTHY,
        state_reason=group.launch_backoff.last_failure,
        launch_retry_time=to_timestamp(retry_time) if (retry_time := group.launch_backoff.retry_time) is not None else None,
        termination_policies=[TERMINATION_POLICY_MESSAGES[policy] for policy in group.termination_policies],
        new_instances_protected_from_scale_in=group.new_instances_protected_from_scale_in,
        health_check_grace_period=(
            to_duration(group.health_check_grace_period) if group.health_check_grace_period is not None else None
        ),
        load_balancer_pools=[pool_to_message(pool) for pool in group.load_balancer_pools],
        suspended_processes=sorted(SCALING_PROCESS_MESSAGES[process] for process in group.suspended_processes),
    )


def instance_to_message(instance: Instance) -> group_pb2.Instance:
    """The Instance message of an instance."""
    return group_pb2.Instance(
        name=instance_name(instance.group_id, instance.id),
        server_id=instance.server_id,
        state=INSTANCE_STATES[instance.state],
        create_time=to_timestamp(instance.create_time),
        state_reason=instance.state_reason,
        protected_from_scale_in=instance.protected_from_scale_in,
        health_status=HEALTH_STATUSES[instance.health_status],
        health_reason=instance.health_reason,
        address=instance.address,
        in_service_time=to_timestamp(instance.in_service_time) if instance.in_service_time is not None else None,
    )


def instances_change_fields(change: InstancesChange) -> dict[str, Any]:
    """The fields of an EnterStandby, ExitStandby, DetachInstances or AttachInstances response: the instances, the activity
    and the group after the call."""
    return {
        "instances": [instance_to_message(instance) for instance in change.instances],
        "activity": activity_to_message(change.activity),
        "group": group_to_message(change.status),
    }


TRANSITIONS = {
    group_pb2.LIFECYCLE_TRANSITION_INSTANCE_LAUNCHING: Transition.LAUNCHING,
    group_pb2.LIFECYCLE_TRANSITION_INSTANCE_TERMINATING: Transition.TERMINATING,
}
TRANSITION_MESSAGES = {domain: number for number, domain in TRANSITIONS.items()}
HOOK_RESULTS = {
    group_pb2.LIFECYCLE_ACTION_RESULT_CONTINUE: HookResult.CONTINUE,
    group_pb2.LIFECYCLE_ACTION_RESULT_ABANDON: HookResult.ABANDON,
}
HOOK_RESULT_MESSAGES = {domain: number for number, domain in HOOK_RESULTS.items()}


def lifecycle_hook_from_message(message: group_pb2.LifecycleHook, group_id: str, hook_id: str, now: float) -> LifecycleHook:
    """The domain hook of a request (validated apart, by rules.check_lifecycle_hook)."""
    return LifecycleHook(
        id=hook_id, group_id=group_id, transition=TRANSITIONS.get(message.transition, Transition.LAUNCHING),
        heartbeat_timeout=from_duration(message.heartbeat_timeout) if message.HasField("heartbeat_timeout") else DEFAULT_HEARTBEAT_TIMEOUT,
        default_result=HOOK_RESULTS.get(message.default_result, HookResult.ABANDON),
        notification_metadata=message.notification_metadata, create_time=now,
    )


def lifecycle_hook_to_message(hook: LifecycleHook) -> group_pb2.LifecycleHook:
    """The LifecycleHook message of a hook, its defaults spelled out."""
    return group_pb2.LifecycleHook(
        name=lifecycle_hook_name(hook.group_id, hook.id), transition=TRANSITION_MESSAGES[hook.transition],
        heartbeat_timeout=to_duration(hook.heartbeat_timeout), default_result=HOOK_RESULT_MESSAGES[hook.default_result],
        notification_metadata=hook.notification_metadata, create_time=to_timestamp(hook.create_time),
    )


RUN_STATUSES = {
    RunStatus.SUCCEEDED: group_pb2.SCHEDULED_ACTION_RUN_STATUS_SUCCEEDED,
    RunStatus.FAILED: group_pb2.SCHEDULED_ACTION_RUN_STATUS_FAILED,
    RunStatus.SKIPPED: group_pb2.SCHEDULED_ACTION_RUN_STATUS_SKIPPED,
}


def scheduled_action_from_message(
    violations: Violations, message: group_pb2.ScheduledAction, group_id: str, action_id: str, now: float,
    path: str = "scheduled_action",
) -> ScheduledAction:
    """The domain action of a request, its times checked into `violations` (its rules apart: rules.check_scheduled_action);
    its next run is not computed here."""

    def time_of(field: str) -> float | None:
        return check_timestamp(violations, f"{path}.{field}", getattr(message, field)) if message.HasField(field) else None

    return ScheduledAction(
        id=action_id, group_id=group_id, recurrence=message.recurrence, time_zone=message.time_zone,
        start_time=time_of("start_time"), end_time=time_of("end_time"),
        min_size=message.min_size if message.HasField("min_size") else None,
        max_size=message.max_size if message.HasField("max_size") else None,
        desired_capacity=message.desired_capacity if message.HasField("desired_capacity") else None,
        create_time=now,
    )


def scheduled_action_to_message(action: ScheduledAction) -> group_pb2.ScheduledAction:
    """The ScheduledAction message of an action, with its next and last run."""
    return group_pb2.ScheduledAction(
        name=scheduled_action_name(action.group_id, action.id), recurrence=action.recurrence, time_zone=action.time_zone,
        start_time=to_timestamp(action.start_time), end_time=to_timestamp(action.end_time),
        min_size=action.min_size, max_size=action.max_size, desired_capacity=action.desired_capacity,
        create_time=to_timestamp(action.create_time), next_run_time=to_timestamp(action.next_run_time),
        last_run_time=to_timestamp(action.last_run_time),
        last_run_status=RUN_STATUSES[action.last_run_status] if action.last_run_status is not None else None,
        last_run_reason=action.last_run_reason,
    )


REFRESH_STATUSES = {
    RefreshStatus.IN_PROGRESS: group_pb2.INSTANCE_REFRESH_STATUS_IN_PROGRESS,
    RefreshStatus.PAUSED: group_pb2.INSTANCE_REFRESH_STATUS_PAUSED,
    RefreshStatus.SUCCESSFUL: group_pb2.INSTANCE_REFRESH_STATUS_SUCCESSFUL,
    RefreshStatus.FAILED: group_pb2.INSTANCE_REFRESH_STATUS_FAILED,
    RefreshStatus.CANCELLED: group_pb2.INSTANCE_REFRESH_STATUS_CANCELLED,
    RefreshStatus.ROLLBACK_IN_PROGRESS: group_pb2.INSTANCE_REFRESH_STATUS_ROLLBACK_IN_PROGRESS,
    RefreshStatus.ROLLBACK_SUCCESSFUL: group_pb2.INSTANCE_REFRESH_STATUS_ROLLBACK_SUCCESSFUL,
    RefreshStatus.ROLLBACK_FAILED: group_pb2.INSTANCE_REFRESH_STATUS_ROLLBACK_FAILED,
}


def instance_refresh_to_message(refresh: InstanceRefresh) -> group_pb2.InstanceRefresh:
    """The InstanceRefresh message of a refresh."""
    return group_pb2.InstanceRefresh(
        name=instance_refresh_name(refresh.group_id, refresh.id),
        status=REFRESH_STATUSES[refresh.status],
        status_reason=refresh.status_reason,
        percentage_complete=refresh.percentage_complete,
        instances_to_update=max(0, refresh.instances_to_update - refresh.instances_replaced),
        start_time=to_timestamp(refresh.start_time),
        end_time=to_timestamp(refresh.end_time) if refresh.end_time is not None else None,
        launch_config=launch_config_name(refresh.launch_config_id),
        rollback_launch_config=launch_config_name(refresh.rollback_launch_config_id),
        preferences=group_pb2.RefreshPreferences(
            min_healthy_percentage=refresh.min_healthy_percentage, instance_warmup=to_duration(refresh.instance_warmup),
            auto_rollback=refresh.auto_rollback,
        ),
    )


def activity_to_message(activity: Activity) -> group_pb2.Activity:
    """The Activity message of an activity."""
    return group_pb2.Activity(
        name=activity_name(activity.group_id, activity.id),
        cause=activity.cause,
        from_capacity=activity.from_capacity,
        to_capacity=activity.to_capacity,
        start_time=to_timestamp(activity.start_time),
        end_time=to_timestamp(activity.end_time),
        status=ACTIVITY_STATUSES[activity.status],
        status_message=activity.status_message,
        caller=activity.caller,
    )


def adjust_response(outcome: AdjustOutcome) -> group_pb2.AdjustResponse:
    """The AdjustResponse of an outcome (no activity, and the refusal, when the group was left as it was)."""
    response = group_pb2.AdjustResponse(
        previous_capacity=outcome.previous_capacity, desired_capacity=outcome.desired_capacity, adjusted=outcome.adjusted
    )
    if outcome.refused is not None:
        response.reason = outcome.refused.reason
        response.refusal = REFUSALS[outcome.refused.refusal]
        if outcome.refused.cooldown_end is not None:
            response.cooldown_end_time.CopyFrom(to_timestamp(outcome.refused.cooldown_end))
    if outcome.activity is not None:
        response.reason = adjustment_reason(outcome.activity)
        response.activity.CopyFrom(activity_to_message(outcome.activity))
    if outcome.group is not None:
        response.group.CopyFrom(group_to_message(outcome.group))
    return response


def scaling_decision_to_message(decision: ScalingDecision) -> group_pb2.ScalingDecision:
    """The ScalingDecision message of a decision (its trigger as the policy service sent it)."""
    message = group_pb2.ScalingDecision(
        name=scaling_decision_name(decision.group_id, decision.id),
        decide_time=to_timestamp(decision.decide_time),
        source=DECISION_SOURCES[decision.source],
        caller=decision.caller,
        cause=decision.cause,
        adjustment=decision.adjustment,
        min_adjustment_step=decision.min_adjustment_step,
        step_scaling=decision.step_scaling,
        previous_capacity=decision.previous_capacity,
        desired_capacity=decision.desired_capacity,
        outcome=DECISION_OUTCOMES[decision.outcome],
        reason=decision.reason,
        activity=activity_name(decision.group_id, decision.activity_id) if decision.activity_id else "",
    )
    if decision.trigger:
        message.trigger.ParseFromString(decision.trigger)
    if decision.adjustment_type is not None:
        message.adjustment_type = ADJUSTMENT_TYPE_MESSAGES[decision.adjustment_type]
    worked_out = decision.calculation
    if worked_out is not None:
        message.calculation.CopyFrom(group_pb2.CapacityCalculation(
            base_capacity=worked_out.base_capacity, raw_capacity=worked_out.raw_capacity,
            rounded_capacity=worked_out.rounded_capacity, clamped_capacity=worked_out.clamped_capacity,
            min_size=worked_out.min_size, max_size=worked_out.max_size,
        ))
    if decision.refusal is not None:
        message.refusal = REFUSALS[decision.refusal]
    if decision.cooldown_end is not None:
        message.cooldown_end_time.CopyFrom(to_timestamp(decision.cooldown_end))
    if decision.scheduled_action_id:
        message.scheduled_action = scheduled_action_name(decision.group_id, decision.scheduled_action_id)
    if decision.requested_capacity is not None:
        message.requested_capacity = decision.requested_capacity
    return message
