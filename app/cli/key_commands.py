"""`autoscale keys`: make, list and revoke API keys (`--auth keys`), in the deployment's database.

These commands work on the database itself, as `keystone-manage` does: they are for the
operator of the deployment, who reaches its database, not for a project's users.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import sqlalchemy as sa

from app.cli.output import print_table
from app.cli.params import DurationType
from autoscale.config import ConfigurationError, default_database_url
from autoscale.database import Database
from autoscale.errors import NotFound
from autoscale.identity.api_keys import ApiKey, check_project, new_key
from autoscale.identity.caller import Role
from autoscale.identity.key_store import KeyStore
from autoscale.timeutil import format_time, system_clock

ROLES = tuple(role.name.lower() for role in Role)


@contextmanager
def _store(database_url: str) -> Iterator[KeyStore]:
    """The key store of the deployment's database (its tables made when missing), closed after the block."""
    try:
        database = Database(database_url or default_database_url())
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None
    try:
        try:
            store = KeyStore(database)
        except sa.exc.OperationalError as error:
            raise click.ClickException(
                f"cannot use the database {database.shown_url}: {' '.join(str(error.orig).split())}; check --database-url"
            ) from None
        yield store
    finally:
        database.dispose()


def _database_option(command: Any) -> Any:
    return click.option(
        "--database-url", envvar="AUTOSCALE_DATABASE_URL", default="",
        help="The deployment's database (default: `autoscale up`'s SQLite file under the user's state directory).",
    )(command)


@click.group()
def keys() -> None:
    """API keys: what callers authenticate with under `--auth keys`."""


@keys.command()
@click.option("--project", default=None, help="The project the key's callers act in.")
@click.option("--role", type=click.Choice(ROLES), default=None, help="Their role in it.")
@click.option("--service", is_flag=True, help="A key for autoscale's own services to call each other with (--peer-token).")
@click.option("--expires", type=DurationType(), default=None, help="Stop working after this long (e.g. 90d, 12h); default never.")
@click.option("--description", default="", help="What the key is for (shown in lists).")
@_database_option
def create(project: str | None, role: str | None, service: bool, expires: float | None, description: str, database_url: str) -> None:
    """Make a key and print it, once: only a salted hash of it is kept."""
    if service and (project or role):
        raise click.UsageError("--service keys act in the project each call names; give neither --project nor --role")
    if not service:
        if not project or not role:
            raise click.UsageError("give --project and --role (or --service)")
        try:
            check_project(project)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--project") from None
    if len(description) > 255:
        raise click.BadParameter("at most 255 characters", param_hint="--description")
    now = system_clock()
    key, token = new_key(
        project=project or "", role=Role.named(role) if role else Role.ADMIN, service=service, now=now,
        expire_time=None if expires is None else now + expires, description=description,
    )
    with _store(database_url) as store:
        store.add(key)
    click.echo(f"made key {key.id} ({_who(key)}{_expiry(key)}); it is shown this once:", err=True)
    click.echo(token)


@keys.command("list")
@click.option("--project", default=None, help="Only this project's keys.")
@click.option("--json", "json_output", is_flag=True, help="Print the keys as JSON.")
@_database_option
def list_keys(project: str | None, json_output: bool, database_url: str) -> None:
    """The keys (never their secrets), with their state."""
    with _store(database_url) as store:
        found = store.list(project)
    now = system_clock()
    if json_output:
        click.echo(json.dumps([_as_json(key, now) for key in found], indent=2))
        return
    rows = [
        [key.id, key.project or "(service)", key.role.name.lower() if not key.service else "service", _state(key, now),
         format_time(key.create_time), format_time(key.expire_time) if key.expire_time is not None else "never", key.description]
        for key in found
    ]
    print_table(["ID", "PROJECT", "ROLE", "STATE", "CREATED", "EXPIRES", "DESCRIPTION"], rows)


@keys.command()
@click.argument("key_id", metavar="ID")
@_database_option
def revoke(key_id: str, database_url: str) -> None:
    """Revoke a key: servers refuse it within a second."""
    try:
        with _store(database_url) as store:
            key = store.revoke(key_id, system_clock())
    except NotFound:
        raise click.ClickException(f"no key {key_id}; `autoscale keys list` shows them") from None
    click.echo(f"revoked key {key.id} ({_who(key)})", err=True)


def _who(key: ApiKey) -> str:
    return "service" if key.service else f"{key.role.name.lower()} of project {key.project}"


def _expiry(key: ApiKey) -> str:
    return f", expires {format_time(key.expire_time)}" if key.expire_time is not None else ""


def _state(key: ApiKey, now: float) -> str:
    if key.revoke_time is not None:
        return "revoked"
    return "expired" if key.expire_time is not None and key.expire_time <= now else "active"


def _as_json(key: ApiKey, now: float) -> dict[str, Any]:
    return {
        "id": key.id, "project": key.project, "role": "service" if key.service else key.role.name.lower(), "state": _state(key, now),
        "createTime": format_time(key.create_time), "expireTime": format_time(key.expire_time) if key.expire_time is not None else None,
        "revokeTime": format_time(key.revoke_time) if key.revoke_time is not None else None, "description": key.description,
    }
