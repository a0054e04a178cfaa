"""`autoscale quota show|set`: a project's limits (operators set them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from app.cli.client import QUOTA, Client, client_command
from app.cli.output import print_details
from autoscale.quotas.limits import MAX_LIMIT, RESOURCES
from autoscale.v1 import quota_pb2


def _name(project: str) -> str:
    return f"projects/{project}/quota"


def _show(client: Client, quota: quota_pb2.Quota, response: quota_pb2.GetQuotaResponse | quota_pb2.UpdateQuotaResponse) -> None:
    defaulted = set(quota.defaulted)
    client.emit(response, lambda: print_details(
        [("name", quota.name)]
        + [(resource.replace("_", " "), f"{getattr(quota, resource)}{' (default)' if resource in defaulted else ''}")
           for resource in RESOURCES]
    ))


@click.group()
def quota() -> None:
    """Quotas: how many groups, instances, policies, alarms and series a project may hold, and samples a second."""


@quota.command()
@click.argument("project")
@client_command(QUOTA)
def show(project: str, client: Client) -> None:
    """Show PROJECT's limits (your own project's, or any for an operator)."""
    response = client.call("GetQuota", quota_pb2.GetQuotaRequest(name=_name(project)))
    _show(client, response.quota, response)


def _limit_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for resource in reversed(RESOURCES):
        command = click.option(
            f"--{resource.replace('_', '-')}", resource, type=click.IntRange(0, MAX_LIMIT), default=None,
            help=f"Limit of {resource.replace('_', ' ')}.",
        )(command)
    return command


@quota.command("set")
@click.argument("project")
@click.option("--default", "defaults", multiple=True, type=click.Choice([r.replace("_", "-") for r in RESOURCES]),
              help="Put this limit back to the deployment's default (repeatable).")
@client_command(QUOTA)
@_limit_options
def set_quota(project: str, defaults: tuple[str, ...], client: Client, **limits: int | None) -> None:
    """Set PROJECT's limits named by the options (operators only)."""
    given = {resource: value for resource, value in limits.items() if value is not None}
    cleared = {name.replace("-", "_") for name in defaults}
    if not given and not cleared:
        raise click.UsageError("name at least one limit (e.g. --groups 50) or --default LIMIT")
    if given.keys() & cleared:
        raise click.UsageError(f"{', '.join(sorted(given.keys() & cleared))}: both set and put back to the default")
    request = quota_pb2.UpdateQuotaRequest(quota=quota_pb2.Quota(name=_name(project)))
    for resource, value in given.items():
        setattr(request.quota, resource, value)
    request.update_mask.paths.extend(sorted(given.keys() | cleared))
    response = client.call("UpdateQuota", request)
    _show(client, response.quota, response)
