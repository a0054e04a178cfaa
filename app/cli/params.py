"""Parsing of command-line values: durations, KEY=VALUE pairs, enum choices, times, networks, resource names.

Each parser is a click `ParamType`, so a bad value is a usage error that names
the option, exit status 2, before any call is made.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from google.protobuf import duration_pb2, timestamp_pb2

from autoscale.timeutil import to_duration, to_timestamp

_DURATION = re.compile("".join(rf"(?:(?P<{unit}>\d+(?:\.\d+)?){unit[0]})?" for unit in ("days", "hours", "minutes", "seconds")))
_UNIT_SECONDS = {"days": 86400.0, "hours": 3600.0, "minutes": 60.0, "seconds": 1.0}

CommandT = TypeVar("CommandT", bound=Callable[..., Any])


def parse_duration(text: str) -> float:
    """Seconds in `30s`, `5m`, `1h`, `1h30m`, `90d`, `1.5s`, `0s` or a bare number of seconds; ValueError otherwise."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        match = _DURATION.fullmatch(text)
        if not text or match is None:
            raise ValueError(f"{text!r} is not a duration; write e.g. 30s, 5m, 1h30m or a number of seconds") from None
        seconds = sum(float(value) * _UNIT_SECONDS[unit] for unit, value in match.groupdict().items() if value)
    # NOTE: float() accepts "nan", "inf" and negative numbers; none of them is a duration.
    if not 0 <= seconds < float("inf"):
        raise ValueError(f"{text!r} is not a duration; it must be a finite number of seconds >= 0")
    return seconds


def format_duration(seconds: float) -> str:
    """Seconds for people, the way parse_duration reads them: `5m`, `30s`, `1h30m`, `1.5s`, `0s`."""
    whole = int(seconds)
    if whole != seconds:
        return f"{seconds:g}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{value}{unit}" for value, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if value)
    return text or "0s"


class DurationType(click.ParamType[float]):
    """A duration option: its value is seconds as a float."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


class FiniteRange(click.FloatRange):
    """A number within a range that is finite: click's FloatRange lets NaN (which compares false) and an open end's
    infinity through, and a server interval of `nan` or a forecast `inf` hours ahead means nothing."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class KeyValueType(click.ParamType[tuple[str, str]]):
    """A `KEY=VALUE` option (dimensions, env, tags, metadata): its value is a (key, value) pair."""

    name = "key=value"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        key, separator, item = str(value).partition("=")
        if not separator or not key:
            self.fail(f"expected KEY=VALUE, got {value!r}", param, ctx)
        return key, item


class EnumChoice(click.Choice[Any]):
    """A choice among short words that stands for protobuf enum values, e.g. `gt` for COMPARISON_OPERATOR_GREATER_THAN."""

    # (Any: the choices are words, but what it converts to is not one of them: the number a word stands for.)

    def __init__(self, values: Mapping[str, int]) -> None:
        super().__init__(list(values), case_sensitive=False)
        self.values = dict(values)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        return self.values[super().convert(value, param, ctx)]


class TimestampType(click.ParamType[float]):
    """An ISO 8601 time (`2024-05-01T12:00:00Z`; without an offset it is UTC): its value is seconds since the epoch."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time such as 2024-05-01T12:00:00Z", param, ctx)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()


class NetworkType(click.ParamType[str]):
    """A network in CIDR notation (`10.20.0.0/16`, `fd00::/8`, one address); from the environment, a comma-separated list."""

    name = "cidr"
    envvar_list_splitter = ","

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return str(ipaddress.ip_network(str(value).strip()))
        except ValueError as error:
            self.fail(f"{error}; write a network such as 10.20.0.0/16 or fd00::/8", param, ctx)


DURATION = DurationType()
KEY_VALUE = KeyValueType()
TIMESTAMP = TimestampType()
NETWORK = NetworkType()


def as_dict(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Repeated KEY=VALUE options as a dict; a later key wins."""
    return dict(pairs)


def duration_or_none(seconds: float | None) -> duration_pb2.Duration | None:
    """A parsed duration option as a Duration; None (left unset) when the option was not given."""
    return None if seconds is None else to_duration(seconds)


def timestamp_or_none(seconds: float | None) -> timestamp_pb2.Timestamp | None:
    """A parsed time option as a Timestamp; None (left unset) when the option was not given."""
    return to_timestamp(seconds)


def resource_name(collection: str, id_or_name: str) -> str:
    """`collection/id` from an id (`web`) or a full name (`groups/web`), so either may be typed."""
    if id_or_name.startswith(f"{collection}/"):
        return id_or_name
    return f"{collection}/{id_or_name}"


def resource_id(name: str) -> str:
    """The last segment of a resource name (`web` of `groups/web`), for tables."""
    return name.rsplit("/", 1)[-1]


def apply_options(options: Sequence[Callable[[Any], Any]]) -> Callable[[CommandT], CommandT]:
    """One decorator made of several click options, in the order --help lists them."""

    def decorate(command: CommandT) -> CommandT:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate
