"""NotifySamples from the request's bytes: the series it names and the values each received, and what the caller's watch list is.

The native reader (autoscale/_wire.c) reads a request in canonical encoding straight
into what NotifySamples works on; it declines anything else, which goes through
protobuf, as does every request where the native reader was not built. Both give the
same answer for the same request, and name the same violations.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from google.protobuf.message import DecodeError

from autoscale import wire
from autoscale.v1 import alarm_pb2
from autoscale.validation import Violations

MAX_NOTIFIED_SERIES = 100_000
"""Series one NotifySamples may name (a PutSamples batch holds at most as many points)."""

NotifiedSeries = tuple[tuple[str, tuple[tuple[str, str], ...]], list[float]]
"""A series, as its metric and its sorted dimension pairs, and the values it was notified with (maybe none)."""


class Notification(NamedTuple):
    series: list[NotifiedSeries]
    watch_version: int
    changes_accepted: bool = False
    """Whether the caller applies changes to its watch list (see NotifySamplesResponse.watch_list_changed)."""


def read_notify_samples(violations: Violations, payload: bytes, *, native: Any = wire.NATIVE) -> Notification:
    """What a serialized NotifySamplesRequest says; meaningful only without violations."""
    read = native.decode_notified_series(payload) if native is not None else None
    if read is not None:
        notification = Notification(*read)
    else:
        try:
            request = alarm_pb2.NotifySamplesRequest.FromString(payload)
        except DecodeError as error:
            violations.add("request", f"must be a serialized NotifySamplesRequest: {error}")
            return Notification([], 0)
        for position, series in enumerate(request.series):
            violations.check(bool(series.metric), f"series[{position}].metric", "is required")
        notification = Notification(
            [_read(series) for series in request.series], request.watch_version, request.watch_list_changes_accepted
        )
    count = len(notification.series)
    violations.check(count <= MAX_NOTIFIED_SERIES, "series", f"must name at most {MAX_NOTIFIED_SERIES} series, got {count}")
    return notification


def _read(series: Any) -> NotifiedSeries:
    dimensions = series.dimensions
    # NOTE: a protobuf map's items() is the slow generic Mapping one; keys and lookups are quick.
    pairs = tuple(sorted([(name, dimensions[name]) for name in dimensions]))
    return (series.metric, pairs), [point.value for point in series.points]
