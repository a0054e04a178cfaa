"""Conversions between protobuf times and the plain floats the domain uses.

The domain works in seconds since the epoch (float, UTC) and takes `now` as an
argument; only servicers and workers read the clock, through `Clock`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import overload

from google.protobuf import duration_pb2, timestamp_pb2

from autoscale.validation import Violations

Clock = Callable[[], float]
"""Returns the current time in seconds since the epoch."""

system_clock: Clock = time.time


@overload
def to_timestamp(seconds: float) -> timestamp_pb2.Timestamp: ...


@overload
def to_timestamp(seconds: None) -> None: ...


def to_timestamp(seconds: float | None) -> timestamp_pb2.Timestamp | None:
    """Seconds since the epoch as a Timestamp (None stays None)."""
    if seconds is None:
        return None
    whole, nanos = _split(seconds, int(seconds // 1))
    return timestamp_pb2.Timestamp(seconds=whole, nanos=nanos)


def from_timestamp(stamp: timestamp_pb2.Timestamp) -> float:
    """A Timestamp as seconds since the epoch."""
    return stamp.seconds + stamp.nanos / 1e9


def to_duration(seconds: float) -> duration_pb2.Duration:
    """Seconds as a Duration."""
    whole, nanos = _split(seconds, int(seconds))
    return duration_pb2.Duration(seconds=whole, nanos=nanos)


def _split(seconds: float, whole: int) -> tuple[int, int]:
    """Whole seconds and nanos (rounded half to even), a rounding up to a whole second carried into the seconds."""
    nanos = int(round((seconds - whole) * 1e9))
    if nanos >= 1_000_000_000:
        return whole + 1, nanos - 1_000_000_000
    if nanos <= -1_000_000_000:
        return whole - 1, nanos + 1_000_000_000
    return whole, nanos


def from_duration(duration: duration_pb2.Duration) -> float:
    """A Duration as seconds."""
    return duration.seconds + duration.nanos / 1e9


def format_time(seconds: float | None) -> str:
    """Seconds since the epoch as an ISO 8601 UTC string, for people."""
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def check_duration(
    violations: Violations, field_path: str, duration: duration_pb2.Duration, *, allow_zero: bool, maximum: float
) -> float:
    """Validate a set Duration and return it in seconds: a valid protobuf Duration, > 0 (>= 0 when allow_zero), <= maximum.

    Every duration a request carries passes here with its own documented maximum: a value
    that is stored must also go out again, and protobuf's range (about 10 000 years) is
    not enough for that: a cooldown of 2**63-1 s could be stored but not answered.
    """
    seconds = from_duration(duration)
    valid = duration.seconds >= 0 and 0 <= duration.nanos <= MAX_NANOS
    if not valid or seconds > maximum or (seconds == 0 and not allow_zero):
        lowest = "between 0s and" if allow_zero else "greater than 0s and at most"
        violations.add(field_path, f"must be {lowest} {maximum:.0f}s, got {_duration_text(duration)}")
    return seconds


MAX_TIME = 253_402_300_799
"""The latest time a Timestamp may hold (9999-12-31T23:59:59Z): a later one makes answers no client can read."""


def check_timestamp(violations: Violations, field_path: str, stamp: timestamp_pb2.Timestamp) -> float:
    """A set Timestamp that is a valid time from the epoch to the end of year 9999; returns it in seconds."""
    violations.check(
        0 <= stamp.seconds <= MAX_TIME and 0 <= stamp.nanos <= MAX_NANOS,
        field_path,
        f"must be a valid time from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z, got seconds={stamp.seconds} nanos={stamp.nanos}",
    )
    return from_timestamp(stamp)


MAX_NANOS = 999_999_999
"""The largest nanos of a valid Duration or Timestamp."""


def _duration_text(duration: duration_pb2.Duration) -> str:
    """A Duration as the caller wrote it (in JSON: `90s`, `1.5s`), or its two numbers when it is no valid Duration."""
    if duration.nanos == 0:
        return f"{duration.seconds}s"
    if duration.seconds >= 0 and 0 < duration.nanos <= MAX_NANOS:
        return f"{duration.seconds}.{duration.nanos:09d}".rstrip("0") + "s"
    return f"seconds={duration.seconds} nanos={duration.nanos}"
