"""GroupService over gRPC: validates requests, turns them into domain calls, and answers.

Every call acts in its caller's project (`current_project()`, read once per call): it reads and
writes that project's repository only, so another project's launch config, group, instance
or activity is NOT_FOUND exactly as a missing one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import grpc

from autoscale.errors import FailedPrecondition, InvalidArgument, Unavailable
from autoscale.identity import Role, current_caller, current_project
from autoscale.pagination import page_request, paginate
from autoscale.quotas.limits import QuotaSource
from autoscale.timeutil import Clock, check_duration
from autoscale.v1 import common_pb2, group_pb2, group_pb2_grpc
from autoscale.validation import Violations, check_enum, check_id, check_request_id, check_update_mask, parse_name, try_parse_name
from services.group import capacity, cooldown, messages, rules, update
from services.group.domain import PROCESS, Activity, AdjustCommand, Group, group_name, new_activity_id
from services.group.drivers.base import CloudNotConfigured, DriverError, OpenStackServerSpec, ServerSpecValidator
from services.group.policy_client import PolicyClient
from services.group.reconciler import Reconciler
from services.group.repository import GroupRepositories, GroupRepository

ADJUST_CAUSE = "Adjust by caller"

MAX_PROTECTED_PER_CALL = 50
"""Instances one SetInstanceProtection names at most (as AWS)."""
"""The cause recorded for an Adjust that gives none."""


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

    def _require_process_driver(self) -> None:
        """FailedPrecondition unless this deployment lets launch configs run local processes; PermissionDenied unless the
        caller is an admin of its project: such a launch config runs any command as the service's user."""
        if not self._process_driver:
            raise FailedPrecondition(
                "launch_config.process: local processes are off in this deployment: they run any command on the service's "
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
        else:
            violations.add("launch_config", "is required; exactly one of process and openstack_server must be set")
        violations.raise_if_any()
        if config.kind == PROCESS:
            self._require_process_driver()
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
        activity_id = new_activity_id()
        caller = current_caller()

        def change(current: Group) -> tuple[Group, Activity | None]:
            violations = Violations(list(request_violations.items))
            changed, activity = update.apply_update(
                current, proposed, fields, desired_given=request.group.HasField("desired_capacity"), activity_id=activity_id, now=now
            )
            activity = activity and replace(activity, caller=caller.principal)
            rules.check_group_sizes(violations, changed)
            violations.raise_if_any()
            return changed, activity

        status = self._repositories.of(caller.project).change_group(group_id, change, self._quotas.limits(caller.project))
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
        )
        now = self._clock()
        activity_id = new_activity_id()
        caller = current_caller()
        outcome = self._repositories.of(caller.project).adjust(
            group_id, request.request_id,
            lambda group: replace(cooldown.adjustment(command, group, activity_id, now), caller=caller.principal),
            refuse=lambda group, in_progress: cooldown.adjust_refusal(command, group, in_progress, now),
            limits=self._quotas.limits(caller.project),
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
        violations = Violations()
        group_id = try_parse_name(violations, "group", request.group, "groups")
        instance_ids = []
        violations.check(
            1 <= len(request.instances) <= MAX_PROTECTED_PER_CALL, "instances",
            f"must name 1 to {MAX_PROTECTED_PER_CALL} instances, got {len(request.instances)}",
        )
        for index, name in enumerate(request.instances[:MAX_PROTECTED_PER_CALL]):
            try:
                of_group, instance_id = messages.parse_child_name(f"instances[{index}]", name, "instances")
            except InvalidArgument as error:
                violations.items.extend(error.violations)
                continue
            violations.check(of_group == group_id, f"instances[{index}]", f"{name} is not an instance of {request.group}")
            instance_ids.append(instance_id)
        violations.raise_if_any()
        assert group_id is not None
        project = current_project()
        with self._reconciler.between_passes(project, group_id):
            changed = self._repositories.of(project).set_instance_protection(group_id, instance_ids, request.protected_from_scale_in)
        return group_pb2.SetInstanceProtectionResponse(instances=[messages.instance_to_message(i) for i in changed])

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

    def ListActivities(self, request: group_pb2.ListActivitiesRequest, context: grpc.ServicerContext) -> group_pb2.ListActivitiesResponse:
        group_id = parse_name("parent", request.parent, "groups")
        page = page_request(request.page_size, request.page_token)
        found = self._repository().list_activities(group_id, page.after_time_and(str), page.size + 1)
        activities, token = paginate(found, page.size, lambda activity: [activity.start_time, activity.id], messages.activity_to_message)
        return group_pb2.ListActivitiesResponse(activities=activities, next_page_token=token)

    def GetActivity(self, request: group_pb2.GetActivityRequest, context: grpc.ServicerContext) -> group_pb2.GetActivityResponse:
        group_id, activity_id = messages.parse_child_name("name", request.name, "activities")
        activity = self._repository().get_activity(group_id, activity_id)
        return group_pb2.GetActivityResponse(activity=messages.activity_to_message(activity))


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
