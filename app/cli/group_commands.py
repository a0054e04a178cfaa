"""`autoscale group ...`: groups, their capacity, instances and scaling activities."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click
from google.protobuf import json_format

from app.cli.choices import (
    ADJUSTMENT_HELP,
    ADJUSTMENT_TYPE,
    ADJUSTMENT_TYPE_HELP,
    MIN_STEP_HELP,
    SCALING_PROCESS,
    TERMINATION_POLICY,
    word_for,
)
from app.cli.client import GROUP, POLICY, Client, client_command
from app.cli.explain import decision_text, execution_text
from app.cli.output import duration_text, enum_label, pairs_text, print_details, print_table, time_text, yes_no
from app.cli.params import DURATION, KEY_VALUE, apply_options, as_dict, duration_or_none, resource_id, resource_name
from app.cli.refresh_commands import refresh
from app.cli.resources import ResourceKind, add_create_and_update, add_standard_commands
from app.cli.schedule_commands import schedule
from autoscale.timeutil import from_timestamp
from autoscale.v1 import common_pb2, group_pb2, policy_pb2

DEFAULT_COOLDOWN_TEXT = "default (5m)"
"""How an unset group cooldown is shown: the server applies 300 s, as AWS does."""
DEFAULT_GRACE_PERIOD_TEXT = "default (5m)"
"""How an unset health check grace period is shown: the server applies 300 s."""


def _row(group: group_pb2.Group) -> list[str]:
    return [
        resource_id(group.name),
        resource_id(group.launch_config),
        str(group.min_size),
        str(group.desired_capacity),
        str(group.max_size),
        str(group.current_capacity),
        duration_text(group, "cooldown", DEFAULT_COOLDOWN_TEXT),
        yes_no(group.scaling_in_progress),
        _state_word(group),
    ]


def _state_word(group: group_pb2.Group) -> str:
    return "degraded" if group.state == group_pb2.GROUP_STATE_DEGRADED else "healthy"


def _state_details(group: group_pb2.Group) -> list[tuple[str, str]]:
    """The group's state, and while it is degraded why and when it launches again."""
    if group.state != group_pb2.GROUP_STATE_DEGRADED:
        return [("state", "healthy")]
    return [("state", "degraded"), ("why", group.state_reason), ("launches again", time_text(group, "launch_retry_time"))]


def _details(group: group_pb2.Group) -> list[tuple[str, str]]:
    return [
        ("name", group.name),
        ("launch config", group.launch_config),
        ("min size", str(group.min_size)),
        ("desired capacity", str(group.desired_capacity)),
        ("max size", str(group.max_size)),
        ("current capacity", str(group.current_capacity)),
        ("scaling", yes_no(group.scaling_in_progress)),
        *_state_details(group),
        ("cooldown", duration_text(group, "cooldown", DEFAULT_COOLDOWN_TEXT)),
        ("tags", pairs_text(group.tags)),
        ("health check grace period", duration_text(group, "health_check_grace_period", DEFAULT_GRACE_PERIOD_TEXT)),
        ("protect new instances", yes_no(group.new_instances_protected_from_scale_in)),
        ("load balancer pools", ", ".join(_pool_text(pool) for pool in group.load_balancer_pools) or "-"),
        ("suspended processes", ", ".join(word_for(SCALING_PROCESS, p) for p in group.suspended_processes) or "-"),
        ("termination policies", ", ".join(word_for(TERMINATION_POLICY, p) for p in group.termination_policies) or "default"),
        ("created", time_text(group, "create_time")),
    ]


GROUP_KIND = ResourceKind(
    service=GROUP,
    singular="Group",
    plural="Groups",
    collection="groups",
    field="group",
    list_field="groups",
    label="group",
    columns=("ID", "LAUNCH CONFIG", "MIN", "DESIRED", "MAX", "CURRENT", "COOLDOWN", "SCALING", "STATE"),
    row=_row,
    details=_details,
)


def activity_status(activity: group_pb2.Activity) -> str:
    """An activity's status for people, e.g. `succeeded`."""
    return enum_label(group_pb2.ActivityStatus.DESCRIPTOR, activity.status)


def activity_details(activity: group_pb2.Activity) -> list[tuple[str, str]]:
    """The key/value lines of an activity (for adjust and policy execute)."""
    if not activity.name:
        return [("activity", "-")]
    return [
        ("activity", activity.name),
        ("status", activity_status(activity)),
        ("message", activity.status_message or "-"),
        ("cause", activity.cause or "-"),
        ("by", activity.caller or "-"),
    ]


@click.group("group")
def group() -> None:
    """Groups: instances of a launch config kept at a desired capacity."""


def _pool_text(pool: group_pb2.LoadBalancerPool) -> str:
    """e.g. `pool file front (own port, drain 30s)`."""
    kind = "octavia pool" if pool.WhichOneof("pool") == "octavia_pool" else "pool file"
    name = pool.octavia_pool or pool.pool_file
    port = f"port {pool.port}" if pool.port else "own port"
    return f"{kind} {name} ({port}, drain {duration_text(pool, 'drain_delay', '30s')})"


def _group_options(creating: bool) -> Callable[[Any], Any]:
    """The options that define a group: the sizes and launch config required on create, all optional on update."""
    pools_end = ")." if creating else "; replaces the pools)."
    return apply_options(
        [
            click.option("--launch-config", required=creating, metavar="ID", help="The launch config its instances are made from."),
            click.option("--min", "min_size", type=int, required=creating, help="Fewest instances."),
            click.option("--max", "max_size", type=int, required=creating, help="Most instances."),
            click.option("--desired", "desired_capacity", type=int,
                         help="Instances wanted now" + ("  [default: --min]" if creating else ".")),
            click.option("--cooldown", type=DURATION,
                         help="Quiet time after a resize for its policies, e.g. 5m" + ("  [default: 5m]" if creating else ".")),
            click.option("--tag", "tags", multiple=True, type=KEY_VALUE,
                         help="A label KEY=VALUE (repeatable)" + ("." if creating else "; replaces every tag.")),
            click.option("--protect-new-instances/--no-protect-new-instances", "new_instances_protected_from_scale_in", default=None,
                         help="Whether the instances it launches are protected from scale-in" + ("." if creating else " from now on.")),
            click.option("--health-check-grace-period", "health_check_grace_period", type=DURATION,
                         help="How long its instances run before their health checks count, e.g. 2m"
                              + ("  [default: 5m]" if creating else ".")),
            click.option("--pool-file", "pool_files", multiple=True, metavar="NAME",
                         help="A pool file its in-service instances are listed in (repeatable" + pools_end),
            click.option("--octavia-pool", "octavia_pools", multiple=True, metavar="NAME",
                         help="An Octavia pool its in-service instances are members of (repeatable" + pools_end),
            click.option("--pool-port", type=click.IntRange(0, 65535), default=0,
                         help="The port of the members of the pools given (default: each instance's own)."),
            click.option("--drain-delay", type=DURATION,
                         help="How long a member leaving the pools given drains before it stops  [default: 30s]"),
            *([] if creating else [click.option("--no-pools", is_flag=True, help="Take the group out of every pool.")]),
            click.option("--termination-policy", "termination_policies", multiple=True, type=TERMINATION_POLICY,
                         help="Which instances a scale-in removes first: oldest-instance, newest-instance, oldest-launch-config "
                              "or default (repeatable, in order" + ("; default: default)." if creating else "; replaces the list).")),
        ]
    )


def _group_from_options(name: str, values: dict[str, Any]) -> group_pb2.Group:
    """The Group the options describe (the option names are the Group's field names, hence its update_mask paths)."""
    launch_config = values["launch_config"]
    return group_pb2.Group(
        name=name,
        launch_config=resource_name("launchConfigs", launch_config) if launch_config else None,
        min_size=values["min_size"],
        max_size=values["max_size"],
        desired_capacity=values["desired_capacity"],
        cooldown=duration_or_none(values["cooldown"]),
        tags=as_dict(values["tags"]),
        termination_policies=values["termination_policies"],
        new_instances_protected_from_scale_in=values["new_instances_protected_from_scale_in"],
        health_check_grace_period=duration_or_none(values["health_check_grace_period"]),
        load_balancer_pools=[
            group_pb2.LoadBalancerPool(port=values["pool_port"], drain_delay=duration_or_none(values["drain_delay"]), **{kind: name})
            for kind, names in (("pool_file", values["pool_files"]), ("octavia_pool", values["octavia_pools"]))
            for name in names
        ],
    )


POOL_OPTIONS = ("pool_files", "octavia_pools", "pool_port", "drain_delay", "no_pools")


def _group_mask_paths(values: dict[str, Any]) -> dict[str, Any]:
    """The update_mask paths of the options given: the pool options set `load_balancer_pools` together (--no-pools: to
    none); --pool-port or --drain-delay without a pool is a usage error, not a change ignored."""
    paths = {name: value for name, value in values.items() if name not in POOL_OPTIONS}
    named = values["pool_files"] + values["octavia_pools"]
    if values.get("no_pools") and named:
        raise click.UsageError("give --no-pools, or pools (--pool-file, --octavia-pool), not both")
    if not named and (values["pool_port"] or values["drain_delay"] is not None):
        raise click.UsageError("--pool-port and --drain-delay apply to the pools given with them: name them (--pool-file, --octavia-pool)")
    paths["load_balancer_pools"] = "none" if values.get("no_pools") else named
    return paths


add_create_and_update(
    group, GROUP_KIND, _group_options, _group_from_options, create_help="Create group ID and start its instances.",
    mask_paths=_group_mask_paths,
)


@group.command("adjust")
@click.argument("group_id", metavar="ID")
@click.option("--type", "adjustment_type", type=ADJUSTMENT_TYPE, required=True,
              help=ADJUSTMENT_TYPE_HELP)
@click.option("--adjustment", type=int, required=True, help=ADJUSTMENT_HELP)
@click.option("--min-step", "min_adjustment_step", type=int, default=0, help=MIN_STEP_HELP)
@click.option("--cause", default="autoscale group adjust", show_default=True, help="Why, recorded in the activity.")
@click.option("--request-id", default="", help="Makes a retried command a no-op that answers as the first did.")
@client_command(GROUP)
def adjust(
    client: Client,
    group_id: str,
    adjustment_type: common_pb2.AdjustmentType,
    adjustment: int,
    min_adjustment_step: int,
    cause: str,
    request_id: str,
) -> None:
    """Change the desired capacity of group ID (clamped to its size range) now, ignoring cooldowns."""
    request = group_pb2.AdjustRequest(
        name=GROUP_KIND.name(group_id),
        adjustment_type=adjustment_type,
        adjustment=adjustment,
        min_adjustment_step=min_adjustment_step,
        cause=cause,
        request_id=request_id,
    )
    response = client.call("Adjust", request)
    capacity = [("previous capacity", str(response.previous_capacity)), ("desired capacity", str(response.desired_capacity))]
    client.emit(response, lambda: print_details(capacity + activity_details(response.activity)))


@group.command("instances")
@click.argument("group_id", metavar="ID")
@client_command(GROUP)
def instances(client: Client, group_id: str) -> None:
    """List the instances of group ID, oldest first."""
    request = group_pb2.ListInstancesRequest(parent=GROUP_KIND.name(group_id))
    response = client.list_all("ListInstances", request, "instances")
    rows = (
        [
            resource_id(instance.name),
            instance.server_id or "-",
            enum_label(group_pb2.InstanceState.DESCRIPTOR, instance.state),
            _health_word(instance),
            instance.address or "-",
            time_text(instance, "create_time"),
            yes_no(instance.protected_from_scale_in),
            _instance_reason(instance),
        ]
        for instance in response.instances
    )
    columns = ("ID", "SERVER", "STATE", "HEALTH", "ADDRESS", "CREATED", "PROTECTED", "REASON")
    client.emit(response, lambda: print_table(columns, rows, empty="no instances"))


def _health_word(instance: group_pb2.Instance) -> str:
    if instance.health_status == group_pb2.HEALTH_STATUS_UNSPECIFIED:
        return "-"
    return enum_label(group_pb2.HealthStatus.DESCRIPTOR, instance.health_status)


def _instance_reason(instance: group_pb2.Instance) -> str:
    """Why it is in its state or, while it runs, what its health check last said (failures in a row, its grace period)."""
    if instance.state == group_pb2.INSTANCE_STATE_RUNNING and instance.health_reason:
        return instance.health_reason
    return instance.state_reason or "-"


def _set_protection(client: Client, group_id: str, instance_ids: tuple[str, ...], protected: bool) -> None:
    group_name = GROUP_KIND.name(group_id)
    request = group_pb2.SetInstanceProtectionRequest(
        group=group_name, instances=[f"{group_name}/instances/{resource_id(i)}" for i in instance_ids], protected_from_scale_in=protected,
    )
    response = client.call("SetInstanceProtection", request)
    word = "protected from scale-in" if protected else "no longer protected from scale-in"
    client.emit(response, lambda: click.echo("\n".join(f"{instance.name}: {word}" for instance in response.instances)))


@group.command("terminate")
@click.argument("group_id", metavar="ID")
@click.argument("instance_id", metavar="INSTANCE")
@click.option("--decrement", is_flag=True, help="The group wants one fewer instance (else it launches a replacement).")
@client_command(GROUP)
def terminate(client: Client, group_id: str, instance_id: str, decrement: bool) -> None:
    """Terminate INSTANCE of group ID (even a protected one)."""
    request = group_pb2.TerminateInstanceRequest(
        name=f"{GROUP_KIND.name(group_id)}/instances/{resource_id(instance_id)}", should_decrement_desired_capacity=decrement,
    )
    response = client.call("TerminateInstance", request)
    client.emit(response, lambda: print_details(activity_details(response.activity)))


@group.command("protect")
@click.argument("group_id", metavar="ID")
@click.argument("instance_ids", metavar="INSTANCE...", nargs=-1, required=True)
@client_command(GROUP)
def protect(client: Client, group_id: str, instance_ids: tuple[str, ...]) -> None:
    """Protect instances of group ID from scale-in (a scale-in never chooses them)."""
    _set_protection(client, group_id, instance_ids, True)


@group.command("unprotect")
@click.argument("group_id", metavar="ID")
@click.argument("instance_ids", metavar="INSTANCE...", nargs=-1, required=True)
@client_command(GROUP)
def unprotect(client: Client, group_id: str, instance_ids: tuple[str, ...]) -> None:
    """Lift the scale-in protection of instances of group ID."""
    _set_protection(client, group_id, instance_ids, False)


@group.command("set-desired")
@click.argument("group_id", metavar="ID")
@click.argument("desired_capacity", metavar="N", type=int)
@click.option("--honor-cooldown", is_flag=True, help="Leave a group resizing or in its cooldown as it is (and start its cooldown).")
@client_command(GROUP)
def set_desired(client: Client, group_id: str, desired_capacity: int, honor_cooldown: bool) -> None:
    """Set the desired capacity of group ID to N, within its size range (SetDesiredCapacity)."""
    request = group_pb2.SetDesiredCapacityRequest(
        name=GROUP_KIND.name(group_id), desired_capacity=desired_capacity, honor_cooldown=honor_cooldown
    )
    response = client.call("SetDesiredCapacity", request)
    details = [("desired capacity", str(response.group.desired_capacity)), ("reason", response.reason or "-")]
    client.emit(response, lambda: print_details(details + activity_details(response.activity)))


@group.command("set-health")
@click.argument("group_id", metavar="ID")
@click.argument("instance_id", metavar="INSTANCE")
@click.argument("health", type=click.Choice(["healthy", "unhealthy"]))
@click.option("--reason", default="", help="Why, kept in the instance's reason and its replacement's activity.")
@click.option("--respect-grace-period", is_flag=True, help="Refuse while the instance is in its health check grace period.")
@client_command(GROUP)
def set_health(client: Client, group_id: str, instance_id: str, health: str, reason: str, respect_grace_period: bool) -> None:
    """Mark INSTANCE of group ID healthy or unhealthy (an unhealthy one is replaced: SetInstanceHealth)."""
    request = group_pb2.SetInstanceHealthRequest(
        name=f"{GROUP_KIND.name(group_id)}/instances/{resource_id(instance_id)}",
        health_status=group_pb2.HEALTH_STATUS_HEALTHY if health == "healthy" else group_pb2.HEALTH_STATUS_UNHEALTHY,
        should_respect_grace_period=respect_grace_period, reason=reason,
    )
    response = client.call("SetInstanceHealth", request)
    instance = response.instance
    client.emit(response, lambda: click.echo(f"{instance.name}: {_health_word(instance)} ({instance.health_reason})"))


def _instance_names(group_id: str, instance_ids: tuple[str, ...]) -> tuple[str, list[str]]:
    group_name = GROUP_KIND.name(group_id)
    return group_name, [f"{group_name}/instances/{resource_id(i)}" for i in instance_ids]


def _emit_instances_change(client: Client, response: Any) -> None:
    """An EnterStandby, ExitStandby, DetachInstances or AttachInstances answer: each instance, then the activity."""
    lines = [(instance.name, f"{enum_label(group_pb2.InstanceState.DESCRIPTOR, instance.state)} {instance.server_id}")
             for instance in response.instances]
    client.emit(response, lambda: print_details(lines + activity_details(response.activity)))


DECREMENT_HELP = "The group wants that many fewer instances (else it launches replacements)."


@group.command("enter-standby")
@click.argument("group_id", metavar="ID")
@click.argument("instance_ids", metavar="INSTANCE...", nargs=-1, required=True)
@click.option("--decrement", is_flag=True, help=DECREMENT_HELP)
@client_command(GROUP)
def enter_standby(client: Client, group_id: str, instance_ids: tuple[str, ...], decrement: bool) -> None:
    """Move running instances of group ID to standby: they keep running, out of its capacity and checks (EnterStandby)."""
    group_name, names = _instance_names(group_id, instance_ids)
    request = group_pb2.EnterStandbyRequest(group=group_name, instances=names, should_decrement_desired_capacity=decrement)
    _emit_instances_change(client, client.call("EnterStandby", request))


@group.command("exit-standby")
@click.argument("group_id", metavar="ID")
@click.argument("instance_ids", metavar="INSTANCE...", nargs=-1, required=True)
@client_command(GROUP)
def exit_standby(client: Client, group_id: str, instance_ids: tuple[str, ...]) -> None:
    """Return standby instances of group ID to service; its desired capacity goes up by their number (ExitStandby)."""
    group_name, names = _instance_names(group_id, instance_ids)
    _emit_instances_change(client, client.call("ExitStandby", group_pb2.ExitStandbyRequest(group=group_name, instances=names)))


@group.command("detach")
@click.argument("group_id", metavar="ID")
@click.argument("instance_ids", metavar="INSTANCE...", nargs=-1, required=True)
@click.option("--decrement", is_flag=True, help=DECREMENT_HELP)
@client_command(GROUP)
def detach(client: Client, group_id: str, instance_ids: tuple[str, ...], decrement: bool) -> None:
    """Take instances out of group ID, leaving them running; their server ids let `attach` take them back (DetachInstances)."""
    group_name, names = _instance_names(group_id, instance_ids)
    request = group_pb2.DetachInstancesRequest(group=group_name, instances=names, should_decrement_desired_capacity=decrement)
    _emit_instances_change(client, client.call("DetachInstances", request))


@group.command("attach")
@click.argument("group_id", metavar="ID")
@click.argument("server_ids", metavar="SERVER...", nargs=-1, required=True)
@client_command(GROUP)
def attach(client: Client, group_id: str, server_ids: tuple[str, ...]) -> None:
    """Add running servers detached from a group of this project to group ID (AttachInstances)."""
    request = group_pb2.AttachInstancesRequest(group=GROUP_KIND.name(group_id), server_ids=server_ids)
    _emit_instances_change(client, client.call("AttachInstances", request))


@group.command("suspend")
@click.argument("group_id", metavar="ID")
@click.argument("processes", metavar="[PROCESS]...", nargs=-1, type=SCALING_PROCESS)
@client_command(GROUP)
def suspend(client: Client, group_id: str, processes: tuple[group_pb2.ScalingProcess, ...]) -> None:
    """Suspend processes of group ID (SuspendProcesses), none given: all. PROCESS: launch, terminate, health-check,
    replace-unhealthy, alarm-notification, scheduled-actions, add-to-load-balancer, instance-refresh."""
    response = client.call("SuspendProcesses", group_pb2.SuspendProcessesRequest(group=GROUP_KIND.name(group_id), processes=processes))
    GROUP_KIND.emit_one(client, response)


@group.command("resume")
@click.argument("group_id", metavar="ID")
@click.argument("processes", metavar="[PROCESS]...", nargs=-1, type=SCALING_PROCESS)
@client_command(GROUP)
def resume(client: Client, group_id: str, processes: tuple[group_pb2.ScalingProcess, ...]) -> None:
    """Resume suspended processes of group ID (ResumeProcesses), none given: all."""
    response = client.call("ResumeProcesses", group_pb2.ResumeProcessesRequest(group=GROUP_KIND.name(group_id), processes=processes))
    GROUP_KIND.emit_one(client, response)


@group.command("activities")
@click.argument("group_id", metavar="ID")
@client_command(GROUP)
def activities(client: Client, group_id: str) -> None:
    """List the scaling activities of group ID, newest first."""
    request = group_pb2.ListActivitiesRequest(parent=GROUP_KIND.name(group_id))
    response = client.list_all("ListActivities", request, "activities")
    rows = (
        [
            resource_id(activity.name),
            activity_status(activity),
            f"{activity.from_capacity} -> {activity.to_capacity}",
            time_text(activity, "start_time"),
            time_text(activity, "end_time"),
            activity.cause or "-",
            activity.caller or "-",
            activity.status_message or "-",
        ]
        for activity in response.activities
    )
    columns = ("ID", "STATUS", "CAPACITY", "STARTED", "ENDED", "CAUSE", "BY", "MESSAGE")
    client.emit(response, lambda: print_table(columns, rows, empty="no activities"))


@group.command("explain")
@click.argument("group_id", metavar="ID")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="How many of the newest decisions.")
@client_command(GROUP)
def explain(client: Client, group_id: str, limit: int) -> None:
    """Show the recent scaling decisions of group ID, newest first, those that changed nothing too: what asked (the alarm
    with its datapoints and threshold, the policy and its step, or the operator), the capacity maths (raw, rounded,
    clamped) and what came of it (adjusted, or why not: cooldown, resizing, suspended, at max or min size, warm-up)."""
    request = group_pb2.ListScalingDecisionsRequest(parent=GROUP_KIND.name(group_id), page_size=limit)
    response = client.call("ListScalingDecisions", request)
    policies = client.sibling(POLICY)
    listed = policies.list_all("ListPolicies", policy_pb2.ListPoliciesRequest(), "policies").policies
    # The executions that asked the group nothing, which its decisions cannot show.
    alone = [
        (policy.name, execution)
        for policy in listed if policy.group == GROUP_KIND.name(group_id)
        for execution in policies.call(
            "ListPolicyExecutions", policy_pb2.ListPolicyExecutionsRequest(name=policy.name, page_size=limit)
        ).executions
        if not execution.group_asked
    ]
    blocks = [(from_timestamp(decision.decide_time), decision_text(decision)) for decision in response.scaling_decisions]
    blocks += [(from_timestamp(execution.time), execution_text(name, execution)) for name, execution in alone]
    blocks.sort(key=lambda block: block[0], reverse=True)

    def render() -> None:
        if not blocks:
            click.echo("no scaling decisions", err=True)
        for _, text in blocks[:limit]:
            click.echo(text)

    if client.json_output:
        answer = {
            "scalingDecisions": [json_format.MessageToDict(decision) for decision in response.scaling_decisions],
            "policyExecutions": [
                {"policy": name, **json_format.MessageToDict(execution)}
                for name, execution in sorted(alone, key=lambda pair: from_timestamp(pair[1].time), reverse=True)[:limit]
            ],
        }
        click.echo(json.dumps(answer, indent=2))
    else:
        render()


add_standard_commands(group, GROUP_KIND, delete_options=[
    click.option("--force", is_flag=True, help="Also delete the scaling policies that name the group (else they keep it)."),
])

group.add_command(refresh)
group.add_command(schedule)
