"""What client commands print: JSON for scripts, rich tables for people.

JSON is the canonical proto3 mapping of the response (`MessageToJson`, fields in
lowerCamelCase, zero values included so scripts need no defaults). Tables go to
stdout; when stdout is not a terminal they are laid out on a wide line so that a
pipe to `grep` or a file gets one row a line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence

import click
from google.protobuf import json_format
from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console
from rich.table import Table

from app.cli.params import format_duration
from autoscale.timeutil import format_time, from_duration, from_timestamp

PIPE_WIDTH = 512
"""Columns a table may use when stdout is not a terminal; rich would otherwise wrap cells at 80."""


def console() -> Console:
    """A console on the current stdout (so click's test runner captures it)."""
    stream = sys.stdout
    if stream.isatty():
        return Console(file=stream)
    return Console(file=stream, width=PIPE_WIDTH, soft_wrap=True)


def print_json(message: Message) -> None:
    """Print a message as indented proto3 JSON."""
    click.echo(json_format.MessageToJson(message, always_print_fields_with_no_presence=True))


def print_table(columns: Sequence[str], rows: Iterable[Sequence[str]], empty: str = "nothing found") -> None:
    """Print rows under column headings, or `empty` (to stderr) when there are none."""
    rows = list(rows)
    if not rows:
        click.echo(empty, err=True)
        return
    # No box: one line a row, columns apart by spaces, as `kubectl get` prints, so grep and awk work on it.
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console().print(table)


def print_details(fields: Sequence[tuple[str, str]]) -> None:
    """Print one resource as a two-column key/value table."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in fields:
        table.add_row(key, value)
    console().print(table)


def enum_label(descriptor: EnumDescriptor, number: int) -> str:
    """An enum value for people: `ALARM_STATE_INSUFFICIENT_DATA` of AlarmState is `insufficient-data`."""
    value = descriptor.values_by_number.get(number)
    if value is None:
        return str(number)
    prefix = "".join(f"_{char}" if char.isupper() else char.upper() for char in descriptor.name).lstrip("_") + "_"
    return value.name.removeprefix(prefix).lower().replace("_", "-")


def time_text(message: Message, field: str) -> str:
    """A Timestamp field of `message` as ISO 8601 UTC, `-` when unset."""
    if not message.HasField(field):
        return "-"
    stamp: Timestamp = getattr(message, field)
    return format_time(from_timestamp(stamp))


def duration_text(message: Message, field: str, unset: str = "-") -> str:
    """A Duration field of `message` as `5m`, `30s`; `unset` when it is not set."""
    if not message.HasField(field):
        return unset
    duration: Duration = getattr(message, field)
    return format_duration(from_duration(duration))


def pairs_text(pairs: Mapping[str, str]) -> str:
    """A map field as `k=v,k=v` (sorted), `-` when empty."""
    return ",".join(f"{key}={value}" for key, value in sorted(pairs.items())) or "-"


def yes_no(value: bool) -> str:
    """A bool for tables."""
    return "yes" if value else "no"

