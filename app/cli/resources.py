"""The standard methods' commands (`list`, `show ID`, `delete ID`), made once for every resource kind.

A `ResourceKind` says how the Buf-style standard methods of one resource are
named and how one of it is printed; `add_standard_commands` adds the three
commands that look the same for every kind, `add_create_and_update` the two that
differ only in their options, and `emit_one` prints the resource that create,
update and show answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import click
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message

from app.cli.client import Client, Service, client_command
from app.cli.output import print_details, print_table
from app.cli.params import apply_options, resource_name


@dataclass(frozen=True)
class ResourceKind:
    """One kind of resource and its standard methods."""

    service: Service
    """The service holding it."""

    singular: str
    """Its message name, as in `Get<singular>Request`, e.g. "LaunchConfig"."""

    plural: str
    """As in `List<plural>Request`, e.g. "LaunchConfigs"."""

    collection: str
    """The first segment of its resource name, e.g. "launchConfigs"."""

    field: str
    """The field of Get/Create/Update responses holding it, e.g. "launch_config"."""

    list_field: str
    """The field of List responses holding the page's items, e.g. "launch_configs"."""

    label: str
    """What people call it, e.g. "launch config"."""

    columns: tuple[str, ...]
    """Headings of the `list` table."""

    row: Callable[[Any], Sequence[str]]
    """One row of the `list` table."""

    details: Callable[[Any], Sequence[tuple[str, str]]]
    """The key/value lines of `show`."""

    def request(self, verb: str, **fields: Any) -> Message:
        """A request of one of its standard methods, e.g. request("Get", name=...)."""
        noun = self.plural if verb == "List" else self.singular
        return getattr(self.service.messages, f"{verb}{noun}Request")(**fields)

    def name(self, id_or_name: str) -> str:
        """Its resource name from what the user typed."""
        return resource_name(self.collection, id_or_name)

    def emit_one(self, client: Client, response: Message) -> None:
        """Print the resource a Get/Create/Update response holds."""
        client.emit(response, lambda: print_details(self.details(getattr(response, self.field))))


def add_create_and_update(
    group: click.Group,
    kind: ResourceKind,
    options: Callable[[bool], Callable[[Any], Any]],
    build: Callable[[str, dict[str, Any]], Message],
    create_help: str,
    mask_paths: Callable[[dict[str, Any]], Mapping[str, Any]] = dict,
) -> None:
    """Add `create ID` and `update ID` of `kind` to `group`; both take the same `options`.

    `options(True)` are create's options (the required ones required), `options(False)` update's (none
    required). `build(name, values)` makes the resource from the option values; `mask_paths(values)`
    maps each update_mask path to the option value that sets it (by default the option names are the
    field names), and update sends the paths of the options given.
    """

    @group.command("create", help=create_help)
    @click.argument("resource_id", metavar="ID")
    @options(True)
    @client_command(kind.service)
    def create_command(client: Client, resource_id: str, **values: Any) -> None:
        request = kind.request("Create", **{f"{kind.field}_id": resource_id, kind.field: build("", values)})
        kind.emit_one(client, client.call(f"Create{kind.singular}", request))

    @group.command("update", help=f"Change the fields of {kind.label} ID that the options name; the others stay as they are.")
    @click.argument("resource_id", metavar="ID")
    @options(False)
    @client_command(kind.service)
    def update_command(client: Client, resource_id: str, **values: Any) -> None:
        mask = update_mask(mask_paths(values))
        request = kind.request("Update", **{kind.field: build(kind.name(resource_id), values), "update_mask": mask})
        kind.emit_one(client, client.call(f"Update{kind.singular}", request))


def add_standard_commands(group: click.Group, kind: ResourceKind, delete_options: Sequence[Callable[[Any], Any]] = ()) -> None:
    """Add `list`, `show ID` and `delete ID` of `kind` to `group`; `delete_options` are options of `delete` named after
    fields of its Delete request (e.g. `--force`), which set them."""

    @group.command("list", help=f"List every {kind.label}.")
    @client_command(kind.service)
    def list_command(client: Client) -> None:
        response = client.list_all(f"List{kind.plural}", kind.request("List"), kind.list_field)
        items = getattr(response, kind.list_field)
        client.emit(response, lambda: print_table(kind.columns, map(kind.row, items), empty=f"no {kind.label}s"))

    @group.command("show", help=f"Show one {kind.label}.")
    @click.argument("resource_id", metavar="ID")
    @client_command(kind.service)
    def show_command(client: Client, resource_id: str) -> None:
        kind.emit_one(client, client.call(f"Get{kind.singular}", kind.request("Get", name=kind.name(resource_id))))

    @group.command("delete", help=f"Delete one {kind.label}.")
    @click.argument("resource_id", metavar="ID")
    @client_command(kind.service)
    @apply_options(delete_options)
    def delete_command(client: Client, resource_id: str, **fields: Any) -> None:
        name = kind.name(resource_id)
        response = client.call(f"Delete{kind.singular}", kind.request("Delete", name=name, **fields))
        client.emit(response, lambda: click.echo(f"deleted {name}"))


def update_mask(given: Mapping[str, Any]) -> field_mask_pb2.FieldMask:
    """The update_mask naming each field path (key of `given`) whose flag was given (its value neither None nor empty).

    An empty mask would mean "every field" to the server, so an update without
    any flag is a usage error rather than a request that resets the resource.
    """
    paths = [path for path, value in given.items() if value is not None and value != ()]
    if not paths:
        raise click.UsageError("nothing to update: give at least one option that changes a field")
    return field_mask_pb2.FieldMask(paths=paths)
