"""Conversions between the metrics service's protobuf messages and its domain values."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

from autoscale import wire
from autoscale.timeutil import to_timestamp
from autoscale.v1 import alarm_pb2, common_pb2, metrics_pb2
from services.metrics.domain import SeriesDescriptor, SeriesKey, Statistic

STATISTICS = {
    common_pb2.STATISTIC_AVERAGE: Statistic.AVERAGE,
    common_pb2.STATISTIC_MINIMUM: Statistic.MINIMUM,
    common_pb2.STATISTIC_MAXIMUM: Statistic.MAXIMUM,
    common_pb2.STATISTIC_SUM: Statistic.SUM,
    common_pb2.STATISTIC_SAMPLE_COUNT: Statistic.SAMPLE_COUNT,
}


def datapoint_to_message(start: float, value: float, sample_count: int) -> metrics_pb2.Datapoint:
    """A Datapoint of one non-empty period."""
    return metrics_pb2.Datapoint(start_time=to_timestamp(start), value=value, sample_count=sample_count)


def descriptor_to_message(descriptor: SeriesDescriptor) -> metrics_pb2.MetricDescriptor:
    """A MetricDescriptor of a stored series."""
    return metrics_pb2.MetricDescriptor(
        metric=descriptor.key.metric,
        dimensions=descriptor.key.dimension_map(),
        last_point_time=to_timestamp(descriptor.last_point_time),
    )


def series_header(key: SeriesKey) -> bytes:
    """The series as a TimeSeries without points, serialized: each NotifySamples call appends points to it."""
    return metrics_pb2.TimeSeries(metric=key.metric, dimensions=key.dimension_map()).SerializeToString()


def _tag(field: object, wire_type: int) -> bytes:
    number = field.number  # type: ignore[attr-defined]
    assert number < 16, "one-byte tags only"
    return bytes([number << 3 | wire_type])


_LENGTH_DELIMITED, _FIXED64 = 2, 1
_POINT_TAG = _tag(metrics_pb2.TimeSeries.DESCRIPTOR.fields_by_name["points"], _LENGTH_DELIMITED)
_VALUE_TAG = _tag(metrics_pb2.Point.DESCRIPTOR.fields_by_name["value"], _FIXED64)
_SERIES_TAG = _tag(alarm_pb2.NotifySamplesRequest.DESCRIPTOR.fields_by_name["series"], _LENGTH_DELIMITED)
_WATCH_VERSION_TAG = _tag(alarm_pb2.NotifySamplesRequest.DESCRIPTOR.fields_by_name["watch_version"], 0)  # varint
_CHANGES_ACCEPTED = _tag(alarm_pb2.NotifySamplesRequest.DESCRIPTOR.fields_by_name["watch_list_changes_accepted"], 0) + b"\x01"
_DOUBLE = struct.Struct("<d")


def _varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _point(value: float) -> bytes:
    # A Point with only its value: its field as wire bytes, and those as the TimeSeries' points field.
    point = _VALUE_TAG + _DOUBLE.pack(value)
    return _POINT_TAG + _varint(len(point)) + point


NativeEncoder = Callable[[list[tuple[bytes, float, float]], int], bytes]

NATIVE_ENCODER: NativeEncoder | None = wire.NATIVE.encode_notify_samples if wire.NATIVE is not None else None
"""autoscale/_wire.c's builder of the same bytes, where it was built."""


def notify_samples_request(
    series: Iterable[tuple[bytes, float, float]],
    watch_version: int,
    *,
    changes_accepted: bool = False,
    native: NativeEncoder | None = NATIVE_ENCODER,
) -> bytes:
    """A NotifySamplesRequest, serialized, of each series (its header, see series_header) with points of its lowest and
    highest new value (one if equal), saying whether the caller takes changes to its watch list.

    NOTE: built as wire bytes and sent as they are (Peers.call_taking_bytes): a TimeSeries message built
    per series (its dimensions map above all) cost more than the rest of the call, and so did parsing the
    bytes into a message only for gRPC to serialize it again. Appending to a serialized message is how
    protobuf merges (repeated fields concatenate). The native builder writes the same bytes in one
    buffer (the Python loop was two thirds of the notifier's own work at 100 series x 10 points).
    """
    if watch_version < 0:
        raise ValueError(f"watch_version {watch_version}: the alarm service's versions are never negative")
    accepted = _CHANGES_ACCEPTED if changes_accepted else b""
    if native is not None:
        return native(series if isinstance(series, list) else list(series), watch_version) + accepted
    parts = []
    for header, lowest, highest in series:
        body = header + (_point(lowest) if lowest == highest else _point(lowest) + _point(highest))
        parts.append(_SERIES_TAG + _varint(len(body)) + body)
    if watch_version:
        parts.append(_WATCH_VERSION_TAG + _varint(watch_version))
    parts.append(accepted)
    return b"".join(parts)


StatisticsAnswers = list[list[tuple[float, float, int]]]
"""Each query's datapoints, as (period start, value, sample count)."""

NATIVE_ANSWERS_ENCODER: Callable[[StatisticsAnswers], bytes] | None = (
    wire.NATIVE.encode_statistics_answers if wire.NATIVE is not None else None
)
"""autoscale/_wire.c's writer of the same message, where it was built."""


def batch_statistics_response(
    answers: StatisticsAnswers, *, native: Callable[[StatisticsAnswers], bytes] | None = NATIVE_ANSWERS_ENCODER
) -> bytes:
    """A BatchGetStatisticsResponse, serialized, of each query's datapoints.

    NOTE: written natively where autoscale/_wire.c was built and answered as bytes (see MetricsServicer):
    a sweep's call answers 500 queries, and a message per answer, datapoint and time cost more than
    finding the datapoints did.
    """
    if native is not None:
        return native(answers)
    return metrics_pb2.BatchGetStatisticsResponse(
        responses=[
            metrics_pb2.GetStatisticsResponse(datapoints=[datapoint_to_message(*datapoint) for datapoint in datapoints])
            for datapoints in answers
        ]
    ).SerializeToString()
