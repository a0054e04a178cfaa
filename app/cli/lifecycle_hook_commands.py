"""`autoscale lifecycle-hook ...`: a group's lifecycle hooks, and answers to the instances waiting for them."""

from __future__ import annotations

import click

from app.cli.choices import LIFECYCLE_RESULT, LIFECYCLE_TRANSITION, word_for
from app.cli.client import GROUP, Client, client_command
from app.cli.output import duration_text, print_details, print_table, time_text
from app.cli.params import DURATION, duration_or_none, resource_id, resource_name
from autoscale.v1 import group_pb2


def _hook_name(group_id: str, hook_id: str) -> str:
    return f"{resource_name('groups', group_id)}/lifecycleHooks/{resource_id(hook_id)}"


def _instance_name(group_id: str, instance_id: str) -> str:
    return f"{resource_name('groups', group_id)}/instances/{resource_id(instance_id)}"


def _details(hook: group_pb2.LifecycleHook) -> list[tuple[str, str]]:
    return [
        ("name", hook.name),
        ("transition", word_for(LIFECYCLE_TRANSITION, hook.transition)),
        ("heartbeat timeout", duration_text(hook, "heartbeat_timeout", "-")),
        ("default result", word_for(LIFECYCLE_RESULT, hook.default_result)),
        ("metadata", hook.notification_metadata or "-"),
        ("created", time_text(hook, "create_time")),
    ]


@click.group("lifecycle-hook")
def lifecycle_hook() -> None:
    """Lifecycle hooks: instances wait at launch or termination until answered (warm-up, drain)."""


@lifecycle_hook.command("create")
@click.argument("group_id", metavar="GROUP")
@click.argument("hook_id", metavar="ID")
@click.option("--transition", type=LIFECYCLE_TRANSITION, required=True, help="launching (before service) or terminating (before a stop).")
@click.option("--heartbeat-timeout", type=DURATION, help="How long an instance waits for an answer  [default: 1h]")
@click.option("--default-result", type=LIFECYCLE_RESULT, help="What applies when nobody answers in time  [default: abandon]")
@click.option("--metadata", default="", help="Free text for whoever answers.")
@client_command(GROUP)
def create(
    client: Client, group_id: str, hook_id: str, transition: group_pb2.LifecycleTransition,
    heartbeat_timeout: float | None, default_result: group_pb2.LifecycleActionResult | None, metadata: str,
) -> None:
    """Create hook ID of GROUP (CreateLifecycleHook).

    \b
    autoscale lifecycle-hook create web warm-up --transition launching --heartbeat-timeout 5m --default-result continue
    autoscale lifecycle-hook create web drain --transition terminating --heartbeat-timeout 2m --default-result continue
    """
    hook = group_pb2.LifecycleHook(
        transition=transition,
        heartbeat_timeout=duration_or_none(heartbeat_timeout),
        default_result=default_result or group_pb2.LIFECYCLE_ACTION_RESULT_UNSPECIFIED,
        notification_metadata=metadata,
    )
    request = group_pb2.CreateLifecycleHookRequest(parent=resource_name("groups", group_id), lifecycle_hook_id=hook_id, lifecycle_hook=hook)
    response = client.call("CreateLifecycleHook", request)
    client.emit(response, lambda: print_details(_details(response.lifecycle_hook)))


@lifecycle_hook.command("list")
@click.argument("group_id", metavar="GROUP")
@client_command(GROUP)
def list_hooks(client: Client, group_id: str) -> None:
    """List the lifecycle hooks of GROUP."""
    response = client.call("ListLifecycleHooks", group_pb2.ListLifecycleHooksRequest(parent=resource_name("groups", group_id)))
    rows = (
        [resource_id(hook.name), word_for(LIFECYCLE_TRANSITION, hook.transition), duration_text(hook, "heartbeat_timeout", "-"),
         word_for(LIFECYCLE_RESULT, hook.default_result), hook.notification_metadata or "-"]
        for hook in response.lifecycle_hooks
    )
    columns = ("ID", "TRANSITION", "HEARTBEAT TIMEOUT", "DEFAULT", "METADATA")
    client.emit(response, lambda: print_table(columns, rows, empty="no lifecycle hooks"))


@lifecycle_hook.command("delete")
@click.argument("group_id", metavar="GROUP")
@click.argument("hook_id", metavar="ID")
@client_command(GROUP)
def delete(client: Client, group_id: str, hook_id: str) -> None:
    """Delete hook ID of GROUP; instances waiting for it go on."""
    name = _hook_name(group_id, hook_id)
    response = client.call("DeleteLifecycleHook", group_pb2.DeleteLifecycleHookRequest(name=name))
    client.emit(response, lambda: click.echo(f"deleted {name}"))


@lifecycle_hook.command("complete")
@click.argument("group_id", metavar="GROUP")
@click.argument("hook_id", metavar="ID")
@click.argument("instance_id", metavar="INSTANCE")
@click.argument("result", type=LIFECYCLE_RESULT)
@client_command(GROUP)
def complete(client: Client, group_id: str, hook_id: str, instance_id: str, result: group_pb2.LifecycleActionResult) -> None:
    """Answer INSTANCE's wait for hook ID: continue or abandon (CompleteLifecycleAction)."""
    request = group_pb2.CompleteLifecycleActionRequest(
        lifecycle_hook=_hook_name(group_id, hook_id), instance=_instance_name(group_id, instance_id), result=result
    )
    response = client.call("CompleteLifecycleAction", request)
    client.emit(response, lambda: click.echo(f"{request.instance}: {word_for(LIFECYCLE_RESULT, result)} ({request.lifecycle_hook})"))


@lifecycle_hook.command("heartbeat")
@click.argument("group_id", metavar="GROUP")
@click.argument("hook_id", metavar="ID")
@click.argument("instance_id", metavar="INSTANCE")
@client_command(GROUP)
def heartbeat(client: Client, group_id: str, hook_id: str, instance_id: str) -> None:
    """Give INSTANCE's wait for hook ID another heartbeat timeout (RecordLifecycleActionHeartbeat)."""
    request = group_pb2.RecordLifecycleActionHeartbeatRequest(
        lifecycle_hook=_hook_name(group_id, hook_id), instance=_instance_name(group_id, instance_id)
    )
    response = client.call("RecordLifecycleActionHeartbeat", request)
    client.emit(response, lambda: click.echo(f"{request.instance} waits until {time_text(response, 'timeout_time')}"))
