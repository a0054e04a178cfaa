"""`autoscale group refresh ...`: instance refreshes of a group, and their progress, live."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click

from app.cli.client import GROUP, Client, client_command
from app.cli.output import duration_text, enum_label, print_details, print_table, time_text, yes_no
from app.cli.params import DURATION, duration_or_none, resource_id, resource_name
from autoscale.v1 import group_pb2

ENDED = frozenset({
    group_pb2.INSTANCE_REFRESH_STATUS_SUCCESSFUL, group_pb2.INSTANCE_REFRESH_STATUS_FAILED,
    group_pb2.INSTANCE_REFRESH_STATUS_CANCELLED, group_pb2.INSTANCE_REFRESH_STATUS_ROLLBACK_SUCCESSFUL,
    group_pb2.INSTANCE_REFRESH_STATUS_ROLLBACK_FAILED,
})
WATCH_INTERVAL = 1.0


def _status(refresh: group_pb2.InstanceRefresh) -> str:
    return enum_label(group_pb2.InstanceRefreshStatus.DESCRIPTOR, refresh.status)


def _progress(refresh: group_pb2.InstanceRefresh) -> str:
    """One line: `r-1f2e  in-progress  50%  2 to update  replacing 1 of 2 (keeping 3 of 4 healthy)`."""
    return (
        f"{resource_id(refresh.name)}  {_status(refresh)}  {refresh.percentage_complete}%  "
        f"{refresh.instances_to_update} to update  {refresh.status_reason}"
    )


def _details(refresh: group_pb2.InstanceRefresh) -> list[tuple[str, str]]:
    preferences = refresh.preferences
    return [
        ("name", refresh.name),
        ("status", _status(refresh)),
        ("why", refresh.status_reason or "-"),
        ("complete", f"{refresh.percentage_complete}%"),
        ("to update", str(refresh.instances_to_update)),
        ("launch config", refresh.launch_config),
        ("rolls back to", refresh.rollback_launch_config),
        ("min healthy", f"{preferences.min_healthy_percentage}%"),
        ("warm-up", duration_text(preferences, "instance_warmup", "-")),
        ("auto roll back", yes_no(preferences.auto_rollback)),
        ("started", time_text(refresh, "start_time")),
        ("ended", time_text(refresh, "end_time")),
    ]


def _watch(client: Client, name: str) -> group_pb2.InstanceRefresh:
    """Print a line each time the refresh moves on, until it ends; the refresh as it ended."""
    last = ""
    while True:
        refresh: group_pb2.InstanceRefresh = client.call(
            "GetInstanceRefresh", group_pb2.GetInstanceRefreshRequest(name=name)
        ).instance_refresh
        line = _progress(refresh)
        if line != last:
            click.echo(f"{time.strftime('%H:%M:%S')}  {line}")
            last = line
        if refresh.status in ENDED:
            return refresh
        time.sleep(WATCH_INTERVAL)


def _latest(client: Client, group_id: str) -> group_pb2.InstanceRefresh:
    request = group_pb2.ListInstanceRefreshesRequest(parent=resource_name("groups", group_id), page_size=1)
    found: list[group_pb2.InstanceRefresh] = list(client.call("ListInstanceRefreshes", request).instance_refreshes)
    if not found:
        raise click.ClickException(f"group {resource_id(group_id)} has had no instance refresh")
    return found[0]


@click.group("refresh")
def refresh() -> None:
    """Instance refreshes: replace a group's instances that run another launch config, keeping it healthy."""


@refresh.command("start")
@click.argument("group_id", metavar="GROUP")
@click.option("--launch-config", metavar="ID", help="Switch the group to this launch config first.")
@click.option("--min-healthy", "min_healthy_percentage", type=click.IntRange(0, 100),
              help="Percentage of the desired capacity kept healthy  [default: 90]")
@click.option("--warmup", "instance_warmup", type=DURATION,
              help="Time in service before a new instance counts  [default: the group's grace period]")
@click.option("--auto-rollback", is_flag=True, help="Roll back by itself if the refresh fails.")
@click.option("--watch", is_flag=True, help="Print its progress until it ends.")
@client_command(GROUP)
def start(
    client: Client, group_id: str, launch_config: str | None, min_healthy_percentage: int | None, instance_warmup: float | None,
    auto_rollback: bool, watch: bool,
) -> None:
    """Start an instance refresh of GROUP (StartInstanceRefresh).

    \b
    autoscale group refresh start web --launch-config web-v2 --min-healthy 50 --warmup 30s --watch
    """
    request = group_pb2.StartInstanceRefreshRequest(
        group=resource_name("groups", group_id),
        launch_config=resource_name("launchConfigs", launch_config) if launch_config else "",
        preferences=group_pb2.RefreshPreferences(
            min_healthy_percentage=min_healthy_percentage, instance_warmup=duration_or_none(instance_warmup), auto_rollback=auto_rollback,
        ),
    )
    started = client.call("StartInstanceRefresh", request).instance_refresh
    if watch and not client.json_output:
        ended = _watch(client, started.name)
        if ended.status != group_pb2.INSTANCE_REFRESH_STATUS_SUCCESSFUL:
            raise click.ClickException(f"{ended.name} ended {_status(ended)}: {ended.status_reason}")
        return
    client.emit(started, lambda: print_details(_details(started)))


@refresh.command("show")
@click.argument("group_id", metavar="GROUP")
@click.argument("refresh_id", metavar="ID", required=False)
@click.option("--watch", is_flag=True, help="Print its progress until it ends.")
@client_command(GROUP)
def show(client: Client, group_id: str, refresh_id: str | None, watch: bool) -> None:
    """Show refresh ID of GROUP (by default its latest)."""
    if refresh_id:
        name = f"{resource_name('groups', group_id)}/instanceRefreshes/{resource_id(refresh_id)}"
        found = client.call("GetInstanceRefresh", group_pb2.GetInstanceRefreshRequest(name=name)).instance_refresh
    else:
        found = _latest(client, group_id)
    if watch and not client.json_output:
        _watch(client, found.name)
        return
    client.emit(found, lambda: print_details(_details(found)))


@refresh.command("list")
@click.argument("group_id", metavar="GROUP")
@client_command(GROUP)
def list_refreshes(client: Client, group_id: str) -> None:
    """List the instance refreshes of GROUP, newest first."""
    request = group_pb2.ListInstanceRefreshesRequest(parent=resource_name("groups", group_id))
    response = client.list_all("ListInstanceRefreshes", request, "instance_refreshes")
    rows = (
        [resource_id(r.name), _status(r), f"{r.percentage_complete}%", resource_id(r.launch_config), time_text(r, "start_time"),
         time_text(r, "end_time"), r.status_reason or "-"]
        for r in response.instance_refreshes
    )
    columns = ("ID", "STATUS", "DONE", "LAUNCH CONFIG", "STARTED", "ENDED", "WHY")
    client.emit(response, lambda: print_table(columns, rows, empty="no instance refreshes"))


def _change(rpc: str, request_type: type, help_text: str) -> Callable[..., Any]:
    """The command that calls `rpc` (a change of the group's active refresh) and prints the refresh after it."""

    @click.argument("group_id", metavar="GROUP")
    @client_command(GROUP)
    def command(client: Client, group_id: str) -> None:
        response = client.call(rpc, request_type(group=resource_name("groups", group_id)))
        client.emit(response, lambda: click.echo(_progress(response.instance_refresh)))

    command.__doc__ = help_text
    return command


for word, rpc, request_type, help_text in (
    ("pause", "PauseInstanceRefresh", group_pb2.PauseInstanceRefreshRequest, "Hold GROUP's refresh: no new batch starts."),
    ("resume", "ResumeInstanceRefresh", group_pb2.ResumeInstanceRefreshRequest, "Resume GROUP's paused refresh."),
    ("cancel", "CancelInstanceRefresh", group_pb2.CancelInstanceRefreshRequest, "Stop GROUP's refresh; replaced instances stay so."),
    ("rollback", "RollbackInstanceRefresh", group_pb2.RollbackInstanceRefreshRequest,
     "Roll GROUP's refresh back to the launch config its instances ran."),
):
    refresh.command(word)(_change(rpc, request_type, help_text))
