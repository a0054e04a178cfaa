"""GroupService over gRPC: validates requests, turns them into domain calls, and answers.

Every call acts in its caller's project (`current_project()`, read once per call): it reads and
writes that project's repository only, so another project's launch config, group, instance
or activity is NOT_FOUND exactly as a missing one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import grpc

from autoscale.errors import FailedPrecondition, InvalidArgument, Unavailable
from autoscale.identity import Role, current_caller, current_project
from autoscale.pagination import page_request, paginate
from autoscale.quotas.limits import QuotaSource
from autoscale.timeutil import Clock, check_duration, from_duration, to_timestamp
from autoscale.v1 import common_pb2, group_pb2, group_pb2_grpc
from autoscale.validation import Violations, check_enum, check_id, check_request_id, check_update_mask, parse_name, try_parse_name
from services.group import capacity, cooldown, decisions, hooks, messages, refresh, rules, schedule, update, warmup
from services.group.domain import (
    PROCESS,
    Activity,
    AdjustCommand,
    Group,
    GroupStatus,
    Instance,
    ScalingDecision,
    group_name,
    new_activity_id,
    new_decision_id,
)
from services.group.drivers.base import CloudNotConfigured, DriverError, OpenStackServerSpec, ServerSpecValidator
from services.group.health import ProbeKind
from services.group.policy_client import PolicyClient
from services.group.processes import ALL_PROCESSES, ScalingProcess
from services.group.reconciler import Reconciler
from services.group.refresh import MAX_INSTANCE_WARMUP, InstanceRefresh
from services.group.repository import GroupRepositories, GroupRepository

ADJUST_CAUSE = "Adjust by caller"

"""The cause recorded for an Adjust that gives none."""

MAX_PROTECTED_PER_CALL = 50
"""Instances one SetInstanceProtection names at most (as AWS)."""
MAX_MOVED_PER_CALL = 20
"""Instances (or servers) one EnterStandby, ExitStandby, DetachInstances or AttachInstances names at most (as AWS)."""
MAX_SERVER_ID_LENGTH = 255


class GroupServicer(group_pb2_grpc.GroupServiceServicer):
    """The GroupService RPCs; capacity changes wake the reconcile loop."""

    def __init__(
        self,
        repositories: GroupRepositories,
        reconciler: Reconciler,
        wake_reconciler: Callable[[], None],
        policy_client: PolicyClient,
        quotas: QuotaSource,
        process_driver: bool,
        clock: Clock,
        server_validator: ServerSpecValidator | None = None,
    ) -> None:
        """`server_validator`: checks a Nova server's launch config against the cloud (the OpenStack driver), if any."""
        self._server_validator = server_validator
        self._quotas = quotas
        self._process_driver = process_driver
        """Whether launch configs may run local processes (autoscale.server: auth off on loopback, or an operator's word)."""
        self._repositories = repositories
        self._reconciler = reconciler
        self._wake_reconciler = wake_reconciler
        self._policies = policy_client
        self._clock = clock

    def _repository(self) -> GroupRepository:
        """The repository of the current call's project."""
        return self._repositories.of(current_project())

    def _require_process_driver(self, field_path: str) -> None:
        """FailedPrecondition unless this deployment lets launch configs run local processes; PermissionDenied unless the
        caller is an admin of its project: such a launch config runs any command as the service's user."""
        if not self._process_driver:
            raise FailedPrecondition(
                f"{field_path}: local processes are off in this deployment: they run any command on the service's "
                "host as its user (they are on only with authentication off and loopback only, or --enable-process-driver)"
            )
        current_caller().require(Role.ADMIN, "a launch config that runs a local process")

    # Launch configs

    def CreateLaunchConfig(
        self, request: group_pb2.CreateLaunchConfigRequest, context: grpc.ServicerContext,
    ) -> group_pb2.CreateLaunchConfigResponse:
        violations = Violations()
        check_id(violations, "launch_config_id", request.launch_config_id)
        config = messages.launch_config_from_message(request.launch_config, request.launch_config_id, self._clock())
        if request.HasField("launch_config"):
            rules.check_launch_config(violations, config)
            rules.check_health_check(violations, request.launch_config)
        else:
            violations.add("launch_config", "is required; exactly one of process and openstack_server must be set")
        violations.raise_if_any()
        if config.kind == PROCESS:
            self._require_process_driver("launch_config.process")
        if config.health_check is not None and config.health_check.kind is ProbeKind.COMMAND:
            self._require_process_driver("launch_config.health_check.command")
        if config.openstack_server is not None and self._server_validator is not None:
            _check_in_cloud(self._server_validator, config.openstack_server)
        created = self._repository().create_launch_config(config)
        return group_pb2.CreateLaunchConfigResponse(launch_config=messages.launch_config_to_message(created))

    def GetLaunchConfig(
        self, request: group_pb2.GetLaunchConfigRequest, context: grpc.ServicerContext,
    ) -> group_pb2.GetLaunchConfigResponse:
        config = self._repository().get_launch_config(parse_name("name", request.name, "launchConfigs"))
        return group_pb2.GetLaunchConfigResponse(launch_config=messages.launch_config_to_message(config))

    def ListLaunchConfigs(
        self, request: group_pb2.ListLaunchConfigsRequest, context: grpc.ServicerContext,
    ) -> group_pb2.ListLaunchConfigsResponse:
        page = page_request(request.page_size, request.page_token)
        found = self._repository().list_launch_configs(page.after_id(), page.size + 1)
        configs, token = paginate(found, page.size, lambda config: config.id, messages.launch_config_to_message)
        return group_pb2.ListLaunchConfigsResponse(launch_configs=configs, next_page_token=token)

    def DeleteLaunchConfig(
        self, request: group_pb2.DeleteLaunchConfigRequest, context: grpc.ServicerContext,
    ) -> group_pb2.DeleteLaunchConfigResponse:
        self._repository().delete_launch_config(parse_name("name", request.name, "launchConfigs"))
        return group_pb2.DeleteLaunchConfigResponse()

    # Groups

    def CreateGroup(self, request: group_pb2.CreateGroupRequest, context: grpc.ServicerContext) -> group_pb2.CreateGroupResponse:
        violations = Violations()
        check_id(violations, "group_id", request.group_id)
        now = self._clock()
        group = messages.group_from_message(violations, request.group, request.group_id, now)
        rules.check_group_sizes(violations, group)
        rules.check_cooldown(violations, request.group)
        rules.check_termination_policies(violations, request.group)
        rules.check_grace_period(violations, request.group)
        rules.check_load_balancer_pools(violations, request.group)
        violations.raise_if_any()
        caller = current_caller()
        activity = capacity.creation_activity(new_activity_id(), group, now)
        status = self._repositories.of(caller.project).create_group(
            group, activity and replace(activity, caller=caller.principal), self._quotas.limits(caller.project)
        )
        if group.desired_capacity:
            self._wake_reconciler()
        return group_pb2.CreateGroupResponse(group=messages.group_to_message(status))

    def GetGroup(self, request: group_pb2.GetGroupRequest, context: grpc.ServicerContext) -> group_pb2.GetGroupResponse:
        status = self._repository().get_group(parse_name("name", request.name, "groups"))
        return group_pb2.GetGroupResponse(group=messages.group_to_message(status))

    def ListGroups(self, request: group_pb2.ListGroupsRequest, context: grpc.ServicerContext) -> group_pb2.ListGroupsResponse:
        page = page_request(request.page_size, request.page_token)
        found = self._repository().list_groups(page.after_id(), page.size + 1)
        groups, token = paginate(found, page.size, lambda status: status.group.id, messages.group_to_message)
        return group_pb2.ListGroupsResponse(groups=groups, next_page_token=token)

    def UpdateGroup(self, request: group_pb2.UpdateGroupRequest, context: grpc.ServicerContext) -> group_pb2.UpdateGroupResponse:
        group_id = parse_name("group.name", request.group.name, "groups")
        request_violations = Violations()
        fields = check_update_mask(request_violations, request.update_mask.paths, update.UPDATABLE_FIELDS, update.OUTPUT_ONLY_FIELDS)
        now = self._clock()
        # A bad launch config name matters only when the mask names the field, so it is checked apart.
        proposed = messages.group_from_message(Violations(), request.group, group_id, now)
        if "launch_config" in fields:
            try_parse_name(request_violations, "group.launch_config", request.group.launch_config, "launchConfigs")
        if "cooldown" in fields:
            rules.check_cooldown(request_violations, request.group)
        if "termination_policies" in fields:
            rules.check_termination_policies(request_violations, request.group)
        if "health_check_grace_period" in fields:
            rules.check_grace_period(request_violations, request.group)
        if "load_balancer_pools" in fields:
            rules.check_load_balancer_pools(request_violations, request.group)
        activity_id, decision_id = new_activity_id(), new_decision_id()
        caller = current_caller()
        desired_given = "desired_capacity" in fields and request.group.HasField("desired_capacity")

        def change(current: Group) -> tuple[Group, Activity | None]:
            violations = Violations(list(request_violations.items))
            changed, activity = update.apply_update(
                current, proposed, fields, desired_given=request.group.HasField("desired_capacity"), activity_id=activity_id, now=now
            )
            activity = activity and replace(activity, caller=caller.principal)
            rules.check_group_sizes(violations, changed)
            violations.raise_if_any()
            return changed, activity

        sizes_named = bool(fields & update.SIZE_FIELDS)
        every_field = not request.update_mask.paths

        def explain(before: Group, after: Group, activity: Activity | None) -> ScalingDecision | None:
            # An empty mask names every field: its sizes count only when they change (an update of the tags alone is no
            # scaling decision however it is asked).
            if every_field and not desired_given and (before.min_size, before.max_size) == (after.min_size, after.max_size):
                return None
            requested = proposed.desired_capacity if desired_given else None
            return decisions.update_decision(decision_id, caller.principal, before, after, activity, requested, now)

        status = self._repositories.of(caller.project).change_group(
            group_id, change, self._quotas.limits(caller.project), explain=explain if sizes_named else None,
        )
        if status.scaling_in_progress:
            self._wake_reconciler()
        return group_pb2.UpdateGroupResponse(group=messages.group_to_message(status))

    def DeleteGroup(self, request: group_pb2.DeleteGroupRequest, context: grpc.ServicerContext) -> group_pb2.DeleteGroupResponse:
        group_id = parse_name("name", request.name, "groups")
        project = current_project()
        self._repositories.of(project).get_group(group_id)  # NOT_FOUND before asking the policy service
        # The policy service is asked in this call's project (peer calls carry it): only its policies can name the group.
        self._policies.release_group(group_name(group_id), force=request.force)
        self._reconciler.delete_group(project, group_id)
        return group_pb2.DeleteGroupResponse()

    # Scaling

    def Adjust(self, request: group_pb2.AdjustRequest, context: grpc.ServicerContext) -> group_pb2.AdjustResponse:
        violations = Violations()
        group_id = try_parse_name(violations, "name", request.name, "groups")
        check_enum(violations, "adjustment_type", request.adjustment_type, common_pb2.AdjustmentType)
        adjustment_type = messages.ADJUSTMENT_TYPES.get(request.adjustment_type)
        rules.check_adjustment(violations, adjustment_type, request.adjustment, request.min_adjustment_step)
        rules.check_cause(violations, request.cause)
        check_request_id(violations, request.request_id)
        requested_cooldown = None
        if request.HasField("cooldown"):
            violations.check(request.honor_cooldown, "cooldown", "is read only with honor_cooldown: set both, or neither")
            requested_cooldown = check_duration(violations, "cooldown", request.cooldown, allow_zero=True, maximum=rules.MAX_COOLDOWN)
        if request.step_scaling:
            violations.check(
                not (request.honor_cooldown or request.refuse_while_scaling), "step_scaling",
                "counts instances warming up instead of a cooldown: leave honor_cooldown and refuse_while_scaling unset",
            )
        instance_warmup = None
        if request.HasField("estimated_instance_warmup"):
            violations.check(request.step_scaling, "estimated_instance_warmup", "is read only with step_scaling: set both, or neither")
            instance_warmup = check_duration(
                violations, "estimated_instance_warmup", request.estimated_instance_warmup, allow_zero=True, maximum=MAX_INSTANCE_WARMUP
            )
        trigger = request.trigger if request.HasField("trigger") else None
        if trigger is not None:
            rules.check_trigger(violations, trigger)
        expected = request.expected_desired_capacity if request.HasField("expected_desired_capacity") else None
        violations.check(
            expected is None or expected >= 0, "expected_desired_capacity", f"must be >= 0 (a desired capacity), got {expected}"
        )
        violations.raise_if_any()
        assert group_id is not None and adjustment_type is not None
        command = AdjustCommand(
            adjustment_type=adjustment_type,
            adjustment=request.adjustment,
            min_adjustment_step=request.min_adjustment_step,
            cause=request.cause or ADJUST_CAUSE,
            honor_cooldown=request.honor_cooldown,
            refuse_while_scaling=request.refuse_while_scaling,
            cooldown=requested_cooldown,
            alarm_notification=request.alarm_notification,
            step_scaling=request.step_scaling,
            estimated_instance_warmup=instance_warmup,
            expected_desired_capacity=expected,
            trigger=trigger.SerializeToString() if trigger is not None else b"",
            trigger_alarm=trigger.alarm if trigger is not None else "",
        )
        now = self._clock()
        activity_id, decision_id = new_activity_id(), new_decision_id()
        caller = current_caller()
        outcome = self._repositories.of(caller.project).adjust(
            group_id, request.request_id,
            lambda group: replace(cooldown.adjustment(command, group, activity_id, now), caller=caller.principal),
            refuse=lambda group, in_progress: cooldown.adjust_refusal(command, group, in_progress, now),
            limits=self._quotas.limits(caller.project),
            decide_with_instances=(
                (lambda group, members: replace(warmup.step_activity(command, group, members, activity_id, now), caller=caller.principal))
                if command.step_scaling else None
            ),
            explain=lambda group, members, outcome: decisions.adjust_decision(
                decision_id, command, caller.principal, group, members, outcome, now
            ),
        )
        if outcome.adjusted:
            # NOTE: the reconcile pass starts the instances once the answer is sent: begun at once, it held the
            # interpreter lock (in `autoscale up`, the whole mesh's) while the answer and the GetGroup that shows
            # the new capacity waited for it. An Adjust that changed nothing has nothing to start.
            if not context.add_callback(self._wake_reconciler):
                self._wake_reconciler()
        return messages.adjust_response(outcome)

    def ListInstances(self, request: group_pb2.ListInstancesRequest, context: grpc.ServicerContext) -> group_pb2.ListInstancesResponse:
        group_id = parse_name("parent", request.parent, "groups")
        page = page_request(request.page_size, request.page_token)
        found = self._repository().list_instances(group_id, page.after_time_and(str), page.size + 1)
        instances, token = paginate(found, page.size, lambda instance: [instance.create_time, instance.id], messages.instance_to_message)
        return group_pb2.ListInstancesResponse(instances=instances, next_page_token=token)

    def SetInstanceProtection(
        self, request: group_pb2.SetInstanceProtectionRequest, context: grpc.ServicerContext,
    ) -> group_pb2.SetInstanceProtectionResponse:
        group_id, instance_ids = _group_and_instances(request.group, request.instances, MAX_PROTECTED_PER_CALL)
        project = current_project()
        with self._reconciler.between_passes(project, group_id):
            changed = self._repositories.of(project).set_instance_protection(group_id, instance_ids, request.protected_from_scale_in)
        return group_pb2.SetInstanceProtectionResponse(instances=[messages.instance_to_message(i) for i in changed])

    def SetDesiredCapacity(
        self, request: group_pb2.SetDesiredCapacityRequest, context: grpc.ServicerContext,
    ) -> group_pb2.SetDesiredCapacityResponse:
        violations = Violations()
        group_id = try_parse_name(violations, "name", request.name, "groups")
        desired = request.desired_capacity
        violations.check(desired >= 0, "desired_capacity", f"must be >= 0, got {desired}")
        violations.raise_if_any()
        assert group_id is not None
        now = self._clock()
        activity_id, decision_id = new_activity_id(), new_decision_id()
        caller = current_caller()
        outcome = self._repositories.of(caller.project).adjust(
            group_id, "",
            lambda group: replace(
                cooldown.set_desired_activity(activity_id, group, desired, request.honor_cooldown, now), caller=caller.principal
            ),
            refuse=lambda group, in_progress: cooldown.refusal(group, in_progress, now, honor_cooldown=True) if request.honor_cooldown
            else None,
            limits=self._quotas.limits(caller.project),
            explain=lambda group, members, outcome: decisions.set_desired_decision(
                decision_id, desired, caller.principal, group, outcome, now
            ),
        )
        if outcome.adjusted:
            self._wake_reconciler()
        response = messages.adjust_response(outcome)
        return group_pb2.SetDesiredCapacityResponse(
            activity=response.activity if outcome.activity is not None else None, group=response.group, refusal=response.refusal,
            reason=response.reason, cooldown_end_time=response.cooldown_end_time if outcome.refused is not None else None,
        )

    def SetInstanceHealth(
        self, request: group_pb2.SetInstanceHealthRequest, context: grpc.ServicerContext,
    ) -> group_pb2.SetInstanceHealthResponse:
        group_id, instance_id = messages.parse_child_name("name", request.name, "instances")
        violations = Violations()
        statuses = (group_pb2.HEALTH_STATUS_HEALTHY, group_pb2.HEALTH_STATUS_UNHEALTHY)
        violations.check(
            request.health_status in statuses, "health_status",
            f"must be HEALTH_STATUS_HEALTHY or HEALTH_STATUS_UNHEALTHY, got {request.health_status}",
        )
        rules.check_cause(violations, request.reason, "reason")
        violations.raise_if_any()
        caller = current_caller()
        healthy = request.health_status == group_pb2.HEALTH_STATUS_HEALTHY
        reason = request.reason or f"set {'healthy' if healthy else 'unhealthy'} by {caller.principal or 'a caller'}"
        with self._reconciler.between_passes(caller.project, group_id):
            instance = self._repositories.of(caller.project).set_instance_health(
                group_id, instance_id, healthy, reason, respect_grace=request.should_respect_grace_period, now=self._clock()
            )
        if not healthy:
            self._wake_reconciler()
        return group_pb2.SetInstanceHealthResponse(instance=messages.instance_to_message(instance))

    def EnterStandby(self, request: group_pb2.EnterStandbyRequest, context: grpc.ServicerContext) -> group_pb2.EnterStandbyResponse:
        group_id, instance_ids = _group_and_instances(request.group, request.instances, MAX_MOVED_PER_CALL)
        caller = current_caller()
        with self._reconciler.between_passes(caller.project, group_id):
            change = self._repositories.of(caller.project).enter_standby(
                group_id, instance_ids, decrement=request.should_decrement_desired_capacity, activity_id=new_activity_id(),
                caller=caller.principal, now=self._clock(), limits=self._quotas.limits(caller.project),
            )
        self._wake_reconciler()
        return group_pb2.EnterStandbyResponse(**messages.instances_change_fields(change))

    def ExitStandby(self, request: group_pb2.ExitStandbyRequest, context: grpc.ServicerContext) -> group_pb2.ExitStandbyResponse:
        group_id, instance_ids = _group_and_instances(request.group, request.instances, MAX_MOVED_PER_CALL)
        caller = current_caller()
        with self._reconciler.between_passes(caller.project, group_id):
            change = self._repositories.of(caller.project).exit_standby(
                group_id, instance_ids, activity_id=new_activity_id(), caller=caller.principal, now=self._clock(),
                limits=self._quotas.limits(caller.project),
            )
        self._wake_reconciler()
        return group_pb2.ExitStandbyResponse(**messages.instances_change_fields(change))

    def DetachInstances(
        self, request: group_pb2.DetachInstancesRequest, context: grpc.ServicerContext,
    ) -> group_pb2.DetachInstancesResponse:
        group_id, instance_ids = _group_and_instances(request.group, request.instances, MAX_MOVED_PER_CALL)
        caller = current_caller()
        with self._reconciler.between_passes(caller.project, group_id):
            change = self._repositories.of(caller.project).detach_instances(
                group_id, instance_ids, decrement=request.should_decrement_desired_capacity, activity_id=new_activity_id(),
                caller=caller.principal, now=self._clock(), limits=self._quotas.limits(caller.project),
            )
        self._wake_reconciler()
        return group_pb2.DetachInstancesResponse(**messages.instances_change_fields(change))

    def AttachInstances(
        self, request: group_pb2.AttachInstancesRequest, context: grpc.ServicerContext,
    ) -> group_pb2.AttachInstancesResponse:
        violations = Violations()
        group_id = try_parse_name(violations, "group", request.group, "groups")
        server_ids = list(request.server_ids)
        violations.check(
            1 <= len(server_ids) <= MAX_MOVED_PER_CALL, "server_ids", f"must name 1 to {MAX_MOVED_PER_CALL} servers, got {len(server_ids)}"
        )
        for index, server_id in enumerate(server_ids[:MAX_MOVED_PER_CALL]):
            violations.check(
                0 < len(server_id) <= MAX_SERVER_ID_LENGTH and server_id.isprintable(), f"server_ids[{index}]",
                f"must be 1 to {MAX_SERVER_ID_LENGTH} printable characters",
            )
        violations.raise_if_any()
        assert group_id is not None
        caller = current_caller()
        change = self._reconciler.attach(
            caller.project, group_id, server_ids, activity_id=new_activity_id(), caller=caller.principal, now=self._clock(),
            limits=self._quotas.limits(caller.project),
        )
        self._wake_reconciler()
        return group_pb2.AttachInstancesResponse(**messages.instances_change_fields(change))

    def TerminateInstance(
        self, request: group_pb2.TerminateInstanceRequest, context: grpc.ServicerContext,
    ) -> group_pb2.TerminateInstanceResponse:
        group_id, instance_id = messages.parse_child_name("name", request.name, "instances")
        caller = current_caller()
        with self._reconciler.between_passes(caller.project, group_id):
            status, activity = self._repositories.of(caller.project).terminate_instance(
                group_id, instance_id, decrement=request.should_decrement_desired_capacity, activity_id=new_activity_id(),
                caller=caller.principal, now=self._clock(),
            )
        self._wake_reconciler()
        return group_pb2.TerminateInstanceResponse(
            activity=messages.activity_to_message(activity), group=messages.group_to_message(status)
        )

    # Processes

    def SuspendProcesses(
        self, request: group_pb2.SuspendProcessesRequest, context: grpc.ServicerContext,
    ) -> group_pb2.SuspendProcessesResponse:
        group_id, processes = _group_and_processes(request.group, request.processes)
        status = self._change_processes(group_id, lambda suspended: suspended | processes)
        return group_pb2.SuspendProcessesResponse(group=messages.group_to_message(status))

    def ResumeProcesses(
        self, request: group_pb2.ResumeProcessesRequest, context: grpc.ServicerContext,
    ) -> group_pb2.ResumeProcessesResponse:
        group_id, processes = _group_and_processes(request.group, request.processes)
        status = self._change_processes(group_id, lambda suspended: suspended - processes)
        return group_pb2.ResumeProcessesResponse(group=messages.group_to_message(status))

    def _change_processes(
        self, group_id: str, change: Callable[[frozenset[ScalingProcess]], frozenset[ScalingProcess]]
    ) -> GroupStatus:
        """The group after its suspended processes changed (between its passes, so that no pass acts half on each)."""
        project = current_project()
        with self._reconciler.between_passes(project, group_id):
            status = self._repositories.of(project).change_group(
                group_id, lambda group: (replace(group, suspended_processes=change(group.suspended_processes)), None)
            )
        self._wake_reconciler()
        return status

    # Instance refreshes

    def StartInstanceRefresh(
        self, request: group_pb2.StartInstanceRefreshRequest, context: grpc.ServicerContext,
    ) -> group_pb2.StartInstanceRefreshResponse:
        violations = Violations()
        group_id = try_parse_name(violations, "group", request.group, "groups")
        launch_config_id = None
        if request.launch_config:
            launch_config_id = try_parse_name(violations, "launch_config", request.launch_config, "launchConfigs")
        rules.check_refresh_preferences(violations, request.preferences)
        violations.raise_if_any()
        assert group_id is not None
        preferences = request.preferences
        now = self._clock()

        min_healthy = preferences.min_healthy_percentage if preferences.HasField("min_healthy_percentage") else None
        warmup = from_duration(preferences.instance_warmup) if preferences.HasField("instance_warmup") else None

        def make(group: Group, instances: list[Instance]) -> InstanceRefresh:
            return refresh.begin(group, instances, min_healthy, warmup, preferences.auto_rollback, now)

        project = current_project()
        with self._reconciler.between_passes(project, group_id):
            started = self._repositories.of(project).start_instance_refresh(group_id, launch_config_id, make)
        self._wake_reconciler()
        return group_pb2.StartInstanceRefreshResponse(instance_refresh=messages.instance_refresh_to_message(started))

    def GetInstanceRefresh(
        self, request: group_pb2.GetInstanceRefreshRequest, context: grpc.ServicerContext,
    ) -> group_pb2.GetInstanceRefreshResponse:
        group_id, refresh_id = messages.parse_child_name("name", request.name, "instanceRefreshes")
        found = self._repository().get_instance_refresh(group_id, refresh_id)
        return group_pb2.GetInstanceRefreshResponse(instance_refresh=messages.instance_refresh_to_message(found))

    def ListInstanceRefreshes(
        self, request: group_pb2.ListInstanceRefreshesRequest, context: grpc.ServicerContext,
    ) -> group_pb2.ListInstanceRefreshesResponse:
        group_id = parse_name("parent", request.parent, "groups")
        page = page_request(request.page_size, request.page_token)
        found = self._repository().list_instance_refreshes(group_id, page.after_time_and(str), page.size + 1)
        refreshes, token = paginate(found, page.size, lambda r: [r.start_time, r.id], messages.instance_refresh_to_message)
        return group_pb2.ListInstanceRefreshesResponse(instance_refreshes=refreshes, next_page_token=token)

    def CancelInstanceRefresh(
        self, request: group_pb2.CancelInstanceRefreshRequest, context: grpc.ServicerContext,
    ) -> group_pb2.CancelInstanceRefreshResponse:
        now = self._clock()
        changed = self._change_refresh(request.group, lambda active, group, instances: refresh.cancel(active, now))
        return group_pb2.CancelInstanceRefreshResponse(instance_refresh=changed)

    def RollbackInstanceRefresh(
        self, request: group_pb2.RollbackInstanceRefreshRequest, context: grpc.ServicerContext,
    ) -> group_pb2.RollbackInstanceRefreshResponse:
        changed = self._change_refresh(
            request.group, lambda active, group, instances: refresh.roll_back(active, instances, group.launch_backoff)
        )
        return group_pb2.RollbackInstanceRefreshResponse(instance_refresh=changed)

    def PauseInstanceRefresh(
        self, request: group_pb2.PauseInstanceRefreshRequest, context: grpc.ServicerContext,
    ) -> group_pb2.PauseInstanceRefreshResponse:
        now = self._clock()
        changed = self._change_refresh(request.group, lambda active, group, instances: refresh.pause(active, now))
        return group_pb2.PauseInstanceRefreshResponse(instance_refresh=changed)

    def ResumeInstanceRefresh(
        self, request: group_pb2.ResumeInstanceRefreshRequest, context: grpc.ServicerContext,
    ) -> group_pb2.ResumeInstanceRefreshResponse:
        changed = self._change_refresh(request.group, lambda active, group, instances: refresh.resume(active))
        return group_pb2.ResumeInstanceRefreshResponse(instance_refresh=changed)

    def _change_refresh(
        self, group: str, change: Callable[[InstanceRefresh, Group, list[Instance]], InstanceRefresh]
    ) -> group_pb2.InstanceRefresh:
        """Apply `change` to the named group's active refresh between its passes; the refresh after it."""
        group_id = parse_name("group", group, "groups")
        project = current_project()
        with self._reconciler.between_passes(project, group_id):
            changed = self._repositories.of(project).change_instance_refresh(group_id, change)
        self._wake_reconciler()
        return messages.instance_refresh_to_message(changed)

    # Lifecycle hooks

    def CreateLifecycleHook(
        self, request: group_pb2.CreateLifecycleHookRequest, context: grpc.ServicerContext,
    ) -> group_pb2.CreateLifecycleHookResponse:
        violations = Violations()
        group_id = try_parse_name(violations, "parent", request.parent, "groups")
        check_id(violations, "lifecycle_hook_id", request.lifecycle_hook_id)
        rules.check_lifecycle_hook(violations, request.lifecycle_hook)
        violations.raise_if_any()
        assert group_id is not None
        hook = messages.lifecycle_hook_from_message(request.lifecycle_hook, group_id, request.lifecycle_hook_id, self._clock())
        created = self._repository().create_lifecycle_hook(hook)
        return group_pb2.CreateLifecycleHookResponse(lifecycle_hook=messages.lifecycle_hook_to_message(created))

    def ListLifecycleHooks(
        self, request: group_pb2.ListLifecycleHooksRequest, context: grpc.ServicerContext,
    ) -> group_pb2.ListLifecycleHooksResponse:
        found = self._repository().list_lifecycle_hooks(parse_name("parent", request.parent, "groups"))
        return group_pb2.ListLifecycleHooksResponse(lifecycle_hooks=[messages.lifecycle_hook_to_message(hook) for hook in found])

    def DeleteLifecycleHook(
        self, request: group_pb2.DeleteLifecycleHookRequest, context: grpc.ServicerContext,
    ) -> group_pb2.DeleteLifecycleHookResponse:
        group_id, hook_id = messages.parse_child_name("name", request.name, "lifecycleHooks")
        self._repository().delete_lifecycle_hook(group_id, hook_id)
        self._wake_reconciler()
        return group_pb2.DeleteLifecycleHookResponse()

    def CompleteLifecycleAction(
        self, request: group_pb2.CompleteLifecycleActionRequest, context: grpc.ServicerContext,
    ) -> group_pb2.CompleteLifecycleActionResponse:
        group_id, hook_id, instance_id = _hook_and_instance(request.lifecycle_hook, request.instance)
        result = messages.HOOK_RESULTS.get(request.result)
        if result is None:
            raise InvalidArgument.field(
                "result", f"must be LIFECYCLE_ACTION_RESULT_CONTINUE or LIFECYCLE_ACTION_RESULT_ABANDON, got {request.result}"
            )
        self._repository().answer_lifecycle_action(group_id, hook_id, instance_id, lambda action: replace(action, result=result))
        self._wake_reconciler()
        return group_pb2.CompleteLifecycleActionResponse()

    def RecordLifecycleActionHeartbeat(
        self, request: group_pb2.RecordLifecycleActionHeartbeatRequest, context: grpc.ServicerContext,
    ) -> group_pb2.RecordLifecycleActionHeartbeatResponse:
        group_id, hook_id, instance_id = _hook_and_instance(request.lifecycle_hook, request.instance)
        now = self._clock()
        action = self._repository().answer_lifecycle_action(group_id, hook_id, instance_id, lambda action: hooks.heartbeat(action, now))
        return group_pb2.RecordLifecycleActionHeartbeatResponse(timeout_time=to_timestamp(action.timeout_time))

    # Scheduled actions

    def CreateScheduledAction(
        self, request: group_pb2.CreateScheduledActionRequest, context: grpc.ServicerContext,
    ) -> group_pb2.CreateScheduledActionResponse:
        violations = Violations()
        group_id = try_parse_name(violations, "parent", request.parent, "groups")
        check_id(violations, "scheduled_action_id", request.scheduled_action_id)
        now = self._clock()
        action = messages.scheduled_action_from_message(
            violations, request.scheduled_action, group_id or "", request.scheduled_action_id, now
        )
        if not violations:
            rules.check_scheduled_action(violations, action, now, frozenset(schedule.UPDATABLE_FIELDS))
        violations.raise_if_any()
        assert group_id is not None
        created = self._repository().create_scheduled_action(replace(action, next_run_time=schedule.run_after(action, now)))
        return group_pb2.CreateScheduledActionResponse(scheduled_action=messages.scheduled_action_to_message(created))

    def GetScheduledAction(
        self, request: group_pb2.GetScheduledActionRequest, context: grpc.ServicerContext,
    ) -> group_pb2.GetScheduledActionResponse:
        group_id, action_id = messages.parse_child_name("name", request.name, "scheduledActions")
        found = self._repository().get_scheduled_action(group_id, action_id)
        return group_pb2.GetScheduledActionResponse(scheduled_action=messages.scheduled_action_to_message(found))

    def ListScheduledActions(
        self, request: group_pb2.ListScheduledActionsRequest, context: grpc.ServicerContext,
    ) -> group_pb2.ListScheduledActionsResponse:
        group_id = parse_name("parent", request.parent, "groups")
        page = page_request(request.page_size, request.page_token)
        found = self._repository().list_scheduled_actions(group_id, page.after_id(), page.size + 1)
        actions, token = paginate(found, page.size, lambda action: action.id, messages.scheduled_action_to_message)
        return group_pb2.ListScheduledActionsResponse(scheduled_actions=actions, next_page_token=token)

    def UpdateScheduledAction(
        self, request: group_pb2.UpdateScheduledActionRequest, context: grpc.ServicerContext,
    ) -> group_pb2.UpdateScheduledActionResponse:
        group_id, action_id = messages.parse_child_name("scheduled_action.name", request.scheduled_action.name, "scheduledActions")
        request_violations = Violations()
        fields = check_update_mask(request_violations, request.update_mask.paths, schedule.UPDATABLE_FIELDS, schedule.OUTPUT_ONLY_FIELDS)
        now = self._clock()
        proposed = messages.scheduled_action_from_message(request_violations, request.scheduled_action, group_id, action_id, now)
        request_violations.raise_if_any()

        def change(current: schedule.ScheduledAction) -> schedule.ScheduledAction:
            changed = schedule.updated(current, proposed, fields)
            violations = Violations()
            rules.check_scheduled_action(violations, changed, now, fields)
            violations.raise_if_any()
            return replace(changed, next_run_time=schedule.run_after(changed, now))

        updated = self._repository().change_scheduled_action(group_id, action_id, change)
        return group_pb2.UpdateScheduledActionResponse(scheduled_action=messages.scheduled_action_to_message(updated))

    def DeleteScheduledAction(
        self, request: group_pb2.DeleteScheduledActionRequest, context: grpc.ServicerContext,
    ) -> group_pb2.DeleteScheduledActionResponse:
        group_id, action_id = messages.parse_child_name("name", request.name, "scheduledActions")
        self._repository().delete_scheduled_action(group_id, action_id)
        return group_pb2.DeleteScheduledActionResponse()

    def ListActivities(self, request: group_pb2.ListActivitiesRequest, context: grpc.ServicerContext) -> group_pb2.ListActivitiesResponse:
        group_id = parse_name("parent", request.parent, "groups")
        page = page_request(request.page_size, request.page_token)
        found = self._repository().list_activities(group_id, page.after_time_and(str), page.size + 1)
        activities, token = paginate(found, page.size, lambda activity: [activity.start_time, activity.id], messages.activity_to_message)
        return group_pb2.ListActivitiesResponse(activities=activities, next_page_token=token)

    def ListScalingDecisions(
        self, request: group_pb2.ListScalingDecisionsRequest, context: grpc.ServicerContext,
    ) -> group_pb2.ListScalingDecisionsResponse:
        group_id = parse_name("parent", request.parent, "groups")
        page = page_request(request.page_size, request.page_token)
        found = self._repository().list_scaling_decisions(group_id, page.after_time_and(str), page.size + 1)
        decided, token = paginate(
            found, page.size, lambda decision: [decision.decide_time, decision.id], messages.scaling_decision_to_message
        )
        return group_pb2.ListScalingDecisionsResponse(scaling_decisions=decided, next_page_token=token)

    def GetActivity(self, request: group_pb2.GetActivityRequest, context: grpc.ServicerContext) -> group_pb2.GetActivityResponse:
        group_id, activity_id = messages.parse_child_name("name", request.name, "activities")
        activity = self._repository().get_activity(group_id, activity_id)
        return group_pb2.GetActivityResponse(activity=messages.activity_to_message(activity))


def _group_and_instances(group: str, instances: Sequence[str], most: int) -> tuple[str, list[str]]:
    """The group id and the ids of its instances a request names (1 to `most` of them, each of that group), or
    InvalidArgument naming every bad field."""
    violations = Violations()
    group_id = try_parse_name(violations, "group", group, "groups")
    instance_ids = []
    violations.check(1 <= len(instances) <= most, "instances", f"must name 1 to {most} instances, got {len(instances)}")
    for index, name in enumerate(instances[:most]):
        try:
            of_group, instance_id = messages.parse_child_name(f"instances[{index}]", name, "instances")
        except InvalidArgument as error:
            violations.items.extend(error.violations)
            continue
        violations.check(of_group == group_id, f"instances[{index}]", f"{name} is not an instance of {group}")
        instance_ids.append(instance_id)
    violations.raise_if_any()
    assert group_id is not None
    return group_id, instance_ids


def _hook_and_instance(hook_name: str, instance: str) -> tuple[str, str, str]:
    """The group, hook and instance ids a lifecycle action request names (the hook and the instance of one group), or
    InvalidArgument naming the bad field."""
    group_id, hook_id = messages.parse_child_name("lifecycle_hook", hook_name, "lifecycleHooks")
    of_group, instance_id = messages.parse_child_name("instance", instance, "instances")
    if of_group != group_id:
        raise InvalidArgument.field("instance", f"{instance} is not an instance of {group_name(group_id)}, the hook's group")
    return group_id, hook_id, instance_id


def _check_in_cloud(validator: ServerSpecValidator, spec: OpenStackServerSpec) -> None:
    """FailedPrecondition naming what of `spec` the cloud lacks, or that no cloud is configured; Unavailable when the
    cloud cannot tell."""
    try:
        problems = validator.validate(spec)
    except CloudNotConfigured as error:
        raise FailedPrecondition(
            "launch_config.openstack_server: this deployment has no usable OpenStack cloud (--openstack-cloud, OS_CLOUD or "
            f"the OS_* variables): {error}"
        ) from error
    except DriverError as error:
        raise Unavailable(f"launch_config.openstack_server cannot be checked against the cloud: {error}") from error
    if problems:
        raise FailedPrecondition("; ".join(f"launch_config.openstack_server.{p.field}: {p.description}" for p in problems))


def _group_and_processes(group: str, processes: Sequence[group_pb2.ScalingProcess]) -> tuple[str, frozenset[ScalingProcess]]:
    """The group id and the processes a request names (none: all), or InvalidArgument naming every bad field."""
    violations = Violations()
    group_id = try_parse_name(violations, "group", group, "groups")
    for index, number in enumerate(processes):
        violations.check(
            number in messages.SCALING_PROCESSES, f"processes[{index}]",
            f"must be one of {', '.join(group_pb2.ScalingProcess.keys()[1:])}, got {number}",
        )
    violations.check(len(set(processes)) == len(processes), "processes", "must not name a process twice")
    violations.raise_if_any()
    assert group_id is not None
    return group_id, frozenset(messages.SCALING_PROCESSES[number] for number in processes) or ALL_PROCESSES
