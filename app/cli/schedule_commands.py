"""`autoscale group schedule ...`: a group's scheduled actions (AWS's scheduled scaling)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from app.cli.client import GROUP, Client, client_command
from app.cli.output import enum_label, print_details, print_table, time_text
from app.cli.params import TIMESTAMP, apply_options, resource_id, resource_name, timestamp_or_none
from app.cli.resources import update_mask
from autoscale.v1 import group_pb2

FIELD_OPTIONS = {
    "recurrence": "recurrence", "time-zone": "time_zone", "at": "start_time", "end-time": "end_time", "min": "min_size",
    "max": "max_size", "desired": "desired_capacity",
}
"""The options that set a field (as --clear names them), and the field."""


def _action_name(group_id: str, action_id: str) -> str:
    return f"{resource_name('groups', group_id)}/scheduledActions/{resource_id(action_id)}"


def _size(action: group_pb2.ScheduledAction, field: str) -> str:
    return str(getattr(action, field)) if action.HasField(field) else "-"


def _when(action: group_pb2.ScheduledAction) -> str:
    """`0 9 * * 1-5 (Europe/Berlin)`, or the one time of a one-time action."""
    if action.recurrence:
        return f"{action.recurrence} ({action.time_zone or 'UTC'})"
    return f"once at {time_text(action, 'start_time')}"


def _last_run(action: group_pb2.ScheduledAction) -> str:
    if not action.HasField("last_run_time"):
        return "-"
    return f"{time_text(action, 'last_run_time')} {enum_label(group_pb2.ScheduledActionRunStatus.DESCRIPTOR, action.last_run_status)}"


def _details(action: group_pb2.ScheduledAction) -> list[tuple[str, str]]:
    return [
        ("name", action.name),
        ("when", _when(action)),
        ("start", time_text(action, "start_time")),
        ("end", time_text(action, "end_time")),
        ("min size", _size(action, "min_size")),
        ("max size", _size(action, "max_size")),
        ("desired capacity", _size(action, "desired_capacity")),
        ("next run", time_text(action, "next_run_time")),
        ("last run", _last_run(action)),
        ("last run did", action.last_run_reason or "-"),
        ("created", time_text(action, "create_time")),
    ]


def _emit(client: Client, response: Any) -> None:
    client.emit(response, lambda: print_details(_details(response.scheduled_action)))


def _options(creating: bool) -> Callable[[Any], Any]:
    """The options of create and update: the fields of a ScheduledAction."""
    return apply_options([
        click.option("--recurrence", help="When it recurs: 5 cron fields, e.g. '0 9 * * 1-5'; none: it runs once, --at."),
        click.option("--time-zone", help="IANA zone the recurrence is read in, e.g. Europe/Berlin  [default: UTC]"),
        click.option("--at", "--start-time", "start_time", type=TIMESTAMP,
                     help="When it runs (once), or first (with --recurrence): ISO 8601, e.g. 2026-12-24T18:00:00Z."),
        click.option("--end-time", type=TIMESTAMP, help="With --recurrence: it runs no more from this time."),
        click.option("--min", "--min-size", "min_size", type=int, help="The group's min_size from the run on."),
        click.option("--max", "--max-size", "max_size", type=int, help="The group's max_size from the run on."),
        click.option("--desired", "--desired-capacity", "desired_capacity", type=int,
                     help="The group's desired capacity from the run on (unset: kept within the new sizes)."),
        *([] if creating else [click.option(
            "--clear", multiple=True, type=click.Choice(sorted(FIELD_OPTIONS)),
            help="Unset a field (repeatable): e.g. --clear min leaves the group's min_size as it is.",
        )]),
    ])


def _action(name: str, values: dict[str, Any]) -> group_pb2.ScheduledAction:
    return group_pb2.ScheduledAction(
        name=name, recurrence=values["recurrence"], time_zone=values["time_zone"],
        start_time=timestamp_or_none(values["start_time"]), end_time=timestamp_or_none(values["end_time"]),
        min_size=values["min_size"], max_size=values["max_size"], desired_capacity=values["desired_capacity"],
    )


@click.group("schedule")
def schedule() -> None:
    """Scheduled actions: set a group's sizes at a time, or on a cron recurrence in a time zone."""


@schedule.command("create")
@click.argument("group_id", metavar="GROUP")
@click.argument("action_id", metavar="ID")
@_options(creating=True)
@client_command(GROUP)
def create(client: Client, group_id: str, action_id: str, **values: Any) -> None:
    """Create scheduled action ID of GROUP (PutScheduledUpdateGroupAction).

    \b
    autoscale group schedule create web office-hours --recurrence '0 9 * * 1-5' --time-zone Europe/Berlin --min 2 --desired 4
    autoscale group schedule create web christmas --at 2026-12-24T18:00:00Z --max 20 --desired 12
    """
    request = group_pb2.CreateScheduledActionRequest(
        parent=resource_name("groups", group_id), scheduled_action_id=action_id, scheduled_action=_action("", values)
    )
    _emit(client, client.call("CreateScheduledAction", request))


@schedule.command("update")
@click.argument("group_id", metavar="GROUP")
@click.argument("action_id", metavar="ID")
@_options(creating=False)
@client_command(GROUP)
def update(client: Client, group_id: str, action_id: str, clear: tuple[str, ...], **values: Any) -> None:
    """Change the fields of scheduled action ID of GROUP that the options name (or --clear); its next run is computed again.

    \b
    autoscale group schedule update web office-hours --recurrence '0 8 * * 1-5' --clear min
    """
    cleared = {FIELD_OPTIONS[option] for option in clear}
    given = {field: value for field, value in values.items() if value is not None}
    if cleared & given.keys():
        raise click.UsageError("give a field's option or --clear it, not both")
    mask = update_mask({**{field: True for field in cleared}, **given})
    request = group_pb2.UpdateScheduledActionRequest(scheduled_action=_action(_action_name(group_id, action_id), values), update_mask=mask)
    _emit(client, client.call("UpdateScheduledAction", request))


@schedule.command("list")
@click.argument("group_id", metavar="GROUP")
@client_command(GROUP)
def list_actions(client: Client, group_id: str) -> None:
    """List the scheduled actions of GROUP, with their next run."""
    request = group_pb2.ListScheduledActionsRequest(parent=resource_name("groups", group_id))
    response = client.list_all("ListScheduledActions", request, "scheduled_actions")
    rows = (
        [
            resource_id(action.name), _when(action), _size(action, "min_size"), _size(action, "max_size"),
            _size(action, "desired_capacity"), time_text(action, "next_run_time"), _last_run(action),
        ]
        for action in response.scheduled_actions
    )
    columns = ("ID", "WHEN", "MIN", "MAX", "DESIRED", "NEXT RUN", "LAST RUN")
    client.emit(response, lambda: print_table(columns, rows, empty="no scheduled actions"))


@schedule.command("show")
@click.argument("group_id", metavar="GROUP")
@click.argument("action_id", metavar="ID")
@client_command(GROUP)
def show(client: Client, group_id: str, action_id: str) -> None:
    """Show scheduled action ID of GROUP: its next run, and how its last run went."""
    _emit(client, client.call("GetScheduledAction", group_pb2.GetScheduledActionRequest(name=_action_name(group_id, action_id))))


@schedule.command("delete")
@click.argument("group_id", metavar="GROUP")
@click.argument("action_id", metavar="ID")
@client_command(GROUP)
def delete(client: Client, group_id: str, action_id: str) -> None:
    """Delete scheduled action ID of GROUP: it runs no more."""
    name = _action_name(group_id, action_id)
    response = client.call("DeleteScheduledAction", group_pb2.DeleteScheduledActionRequest(name=name))
    client.emit(response, lambda: click.echo(f"deleted {name}"))
