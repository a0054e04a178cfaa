"""PutSamples decoded from bytes: the native decoder gives what protobuf + the rules give, or declines and leaves it to them."""

from __future__ import annotations

import math
import random

import pytest
from google.protobuf import timestamp_pb2

from autoscale import series
from autoscale.v1 import metrics_pb2
from autoscale.validation import Violations
from services.metrics import decoding, rules
from services.metrics.domain import SeriesKey
from tests.support import mutated

NOW = 1_700_000_000.0
LATEST = NOW + rules.MAX_FUTURE

native = pytest.mark.skipif(
    decoding.NATIVE is None, reason="the native PutSamples reader (services/metrics/_put_samples.c) was not built (no C compiler)"
)
"""Marks a test of the native reader itself (without it, PutSamples is read through protobuf and the rules)."""


def _point(value: float = 1.0, seconds: int | None = None, nanos: int = 0) -> metrics_pb2.Point:
    if seconds is None:
        return metrics_pb2.Point(value=value)
    return metrics_pb2.Point(value=value, time=timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos))


def _request(*series: tuple[str, dict[str, str], list[metrics_pb2.Point]]) -> bytes:
    request = metrics_pb2.PutSamplesRequest()
    for metric, dimensions, points in series:
        request.series.add(metric=metric, dimensions=dimensions, points=points)
    return request.SerializeToString()


def _reference(payload: bytes) -> tuple[list, list[str]]:  # type: ignore[type-arg]
    violations = Violations()
    batch = decoding.decode_put_samples(violations, payload, NOW, native=None)
    return batch, [v.field for v in violations.items]


VALID = [
    _request(("cpu", {}, [_point()])),
    _request(("cpu", {"instance": "i-1", "group": "web"}, [_point(2.5, 100, 500_000_000), _point(-1.0)])),
    _request(*[("cpu", {"host": f"h{n}", "client": "0"}, [_point(float(n), 1_699_999_990 + n)]) for n in range(50)]),
    _request(("mémoire ✓", {"zone": "ünïcode", "a": ""}, [_point(0.0, 1_699_999_999, 999_999_999)])),
    _request(("cpu", {f"d{i}": "v" for i in range(series.MAX_DIMENSIONS)}, [_point()])),
    _request(("m" * series.MAX_METRIC_LENGTH, {"k" * 150: ""}, [_point(-0.0, int(LATEST))])),
    # Series whose dimension names come in different orders: each key is sorted all the same.
    _request(("cpu", {"b": "1", "a": "2"}, [_point()]), ("cpu", {"a": "3", "b": "4"}, [_point()]), ("cpu", {"c": "5"}, [_point()])),
]


@native
@pytest.mark.parametrize("payload", VALID)
def test_a_valid_request_decodes_natively_to_the_batch_the_rules_give(payload):
    batch = decoding.NATIVE.decode(payload, NOW, LATEST)  # type: ignore[union-attr]
    expected, violations = _reference(payload)
    assert violations == []
    assert batch == expected
    assert [type(entry.key) for entry in batch] == [SeriesKey] * len(batch)


@native
def test_the_series_of_a_batch_share_the_strings_they_repeat_at_the_same_place_and_only_those():
    payload = _request(
        ("cpu", {"host": "h1", "client": "0"}, [_point()]),
        ("cpu", {"host": "h2", "client": "0"}, [_point()]),
        ("cpux", {"host": "h2", "zone": "0"}, [_point()]),
    )
    first, second, third = decoding.NATIVE.decode(payload, NOW, LATEST)  # type: ignore[union-attr]
    assert first.key.metric is second.key.metric and second.key.metric != third.key.metric
    (client_1, host_1), (client_2, host_2), (host_3, zone_3) = first.key.dimensions, second.key.dimensions, third.key.dimensions
    assert client_1[0] is client_2[0] and client_1[1] is client_2[1] and host_1[0] is host_2[0]
    assert (host_1[1], host_2[1], host_3[1], zone_3) == ("h1", "h2", "h2", ("zone", "0"))
    # Equal strings read at another place are equal, whether or not they are the same object.
    assert third.key == SeriesKey.of("cpux", {"host": "h2", "zone": "0"})


def _raw_field(number: int, wire_type: int, body: bytes) -> bytes:
    tag = bytes([number << 3 | wire_type])
    return tag + (bytes([len(body)]) + body if wire_type == 2 else body)


def _padded_varint(value: int, size: int) -> bytes:
    """`value` (under 128) as a varint of `size` bytes: valid, but not in its fewest bytes."""
    return bytes([value | 0x80]) + b"\x80" * (size - 2) + b"\x00"


ONE_SERIES = metrics_pb2.TimeSeries(metric="cpu", points=[_point()]).SerializeToString()
# Found by the fuzz target (fuzz/): a varint in more bytes than it needs, which protobuf refuses in a tag or a length of over five.
PADDED = {
    "a tag in six bytes": _padded_varint(1 << 3 | 2, 6) + bytes([len(ONE_SERIES)]) + ONE_SERIES,
    "a length in six bytes": b"\x0a" + _padded_varint(len(ONE_SERIES), 6) + ONE_SERIES,
    "a dimension value's tag in ten bytes": _raw_field(
        1, 2, ONE_SERIES + _raw_field(2, 2, _raw_field(1, 2, b"k") + _padded_varint(2 << 3 | 2, 10) + b"\x01v")
    ),
}

DECLINED = {
    "no series": b"",
    "an empty metric": _request(("", {}, [_point()])),
    "a metric with surrounding spaces": _request((" cpu", {}, [_point()])),
    "a metric too long": _request(("m" * (series.MAX_METRIC_LENGTH + 1), {}, [_point()])),
    "no points": _request(("cpu", {}, [])),
    "a NaN": _request(("cpu", {}, [_point(math.nan)])),
    "an infinite value": _request(("cpu", {}, [_point(), _point(-math.inf)])),
    "a value beyond CloudWatch's range": _request(("cpu", {}, [_point(1e308)])),
    "an empty dimension name": _request(("cpu", {"": "x"}, [_point()])),
    "a dimension value too long": _request(("cpu", {"k": "v" * (series.MAX_DIMENSION_LENGTH + 1)}, [_point()])),
    "too many dimensions": _request(("cpu", {f"d{i}": "v" for i in range(series.MAX_DIMENSIONS + 1)}, [_point()])),
    "dimensions over the size bound": _request(("cpu", {f"d{i}": "v" * 200 for i in range(6)}, [_point()])),
    # Valid, but near the bound only the rules measure the JSON key exactly.
    "dimensions near the size bound": _request(("cpu", {"k" * series.MAX_DIMENSION_LENGTH: ""}, [_point()])),
    "a negative time": _request(("cpu", {}, [_point(1.0, -1)])),
    "the epoch (a set time the rules check point by point)": _request(("cpu", {}, [_point(1.0, 0)])),
    "a time over an hour ahead": _request(("cpu", {}, [_point(1.0, int(NOW) + 3601)])),
    "a non-UTF-8 metric": _raw_field(1, 2, _raw_field(1, 2, b"\xff\xfe") + _raw_field(3, 2, b"")),
    "the metric twice": _raw_field(1, 2, ONE_SERIES + _raw_field(1, 2, b"mem")),
    "a dimension name twice": _raw_field(
        1, 2, ONE_SERIES + _raw_field(2, 2, _raw_field(1, 2, b"k") + _raw_field(2, 2, b"a")) + _raw_field(2, 2, _raw_field(1, 2, b"k"))
    ),
    "an unknown field in a series": _raw_field(1, 2, ONE_SERIES + _raw_field(9, 0, b"\x01")),
    "an unknown field in the request": _raw_field(1, 2, ONE_SERIES) + _raw_field(2, 0, b"\x01"),
    "a point's value twice": _raw_field(1, 2, _raw_field(1, 2, b"cpu") + _raw_field(3, 2, b"\x09" + b"\0" * 8 + b"\x09" + b"\0" * 8)),
    "a length past the end": b"\x0a\x7f\x0a\x03cpu",
    "a truncated varint": b"\x0a\x02\x1a\xff",
    **PADDED,
    # Protobuf takes this one: the native reader reads only varints in their fewest bytes all the same.
    "a tag in two bytes": _padded_varint(1 << 3 | 2, 2) + bytes([len(ONE_SERIES)]) + ONE_SERIES,
    "not protobuf at all": b"\xff\xff\xff\xff",
}


@native
@pytest.mark.parametrize("payload", DECLINED.values(), ids=DECLINED.keys())
def test_anything_but_a_valid_request_in_canonical_encoding_is_left_to_protobuf_and_the_rules(payload):
    assert decoding.NATIVE.decode(payload, NOW, LATEST) is None  # type: ignore[union-attr]


@pytest.mark.parametrize("payload", [b"\x0a\x7f\x0a\x03cpu", *PADDED.values()], ids=["a length past the end", *PADDED.keys()])
def test_bytes_protobuf_cannot_parse_are_a_violation_of_the_request(payload):
    batch, fields = _reference(payload)
    assert (batch, fields) == ([], ["request"])


@pytest.mark.parametrize("payload", [DECLINED["a NaN"], DECLINED["no points"], DECLINED["a time over an hour ahead"]])
def test_a_declined_request_gets_the_violations_of_the_rules(payload):
    violations = Violations()
    decoding.decode_put_samples(violations, payload, NOW)
    assert [v.field for v in violations.items] == _reference(payload)[1] != []


def test_requests_the_native_decoder_declines_but_protobuf_takes_decode_as_protobuf_reads_them():
    # A repeated scalar field: protobuf keeps the last value.
    payload = _raw_field(1, 2, ONE_SERIES + _raw_field(1, 2, b"mem"))
    batch = decoding.decode_put_samples(Violations(), payload, NOW)
    assert [entry.key.metric for entry in batch] == ["mem"]
    assert [entry.key.metric for entry in decoding.decode_put_samples(Violations(), DECLINED["a tag in two bytes"], NOW)] == ["cpu"]


@native
def test_mutated_requests_decode_natively_only_to_what_protobuf_and_the_rules_give():
    # Random bytes flipped, dropped or added in valid requests: the native decoder must decline or agree, never differ.
    generator = random.Random(20261129)
    agreed = declined = 0
    for round_number in range(3000):
        payload = mutated(generator, generator.choice(VALID))
        batch = decoding.NATIVE.decode(bytes(payload), NOW, LATEST)  # type: ignore[union-attr]
        if batch is None:
            declined += 1
            continue
        expected, violations = _reference(bytes(payload))
        assert violations == [], f"round {round_number}: decoded natively what the rules reject: {bytes(payload)!r}"
        assert batch == expected, f"round {round_number}: {bytes(payload)!r}"
        agreed += 1
    assert agreed > 100 and declined > 100  # both paths were exercised
