"""`autoscale audit list`: who changed what in a project, and when."""

from __future__ import annotations

import click

from app.cli.client import AUDIT, Client, client_command
from app.cli.output import print_table, time_text
from autoscale.v1 import audit_pb2


@click.group()
def audit() -> None:
    """The audit: every call of a user that may change something, allowed or not."""


@audit.command("list")
@click.argument("project")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Newest events shown at most.")
@client_command(AUDIT)
def list_events(project: str, limit: int, client: Client) -> None:
    """List PROJECT's audit events, newest first (your own project's, or any for an operator)."""
    response = client.call("ListAuditEvents", audit_pb2.ListAuditEventsRequest(parent=f"projects/{project}", page_size=limit))
    response.next_page_token = ""
    client.emit(response, lambda: print_table(
        ["TIME", "WHO", "METHOD", "RESOURCE", "RESULT"],
        [[time_text(event, "time"), event.principal, event.method.rsplit("/", 1)[-1], event.resource or "-", event.code]
         for event in response.events],
        empty="no events",
    ))
