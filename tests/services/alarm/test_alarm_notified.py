"""NotifySamples read from bytes: the native reader gives what protobuf gives, or declines and leaves the request to it."""

from __future__ import annotations

import math
import random

import pytest

from autoscale import wire
from autoscale.v1 import alarm_pb2, metrics_pb2
from autoscale.validation import Violations
from services.alarm import notified
from tests.support import mutated, needs_native_wire

native = needs_native_wire


def _request(*series: tuple[str, dict[str, str], list[float]], watch_version: int = 0, changes_accepted: bool = False) -> bytes:
    request = alarm_pb2.NotifySamplesRequest(watch_version=watch_version, watch_list_changes_accepted=changes_accepted)
    for metric, dimensions, values in series:
        request.series.add(metric=metric, dimensions=dimensions, points=[metrics_pb2.Point(value=v) for v in values])
    return request.SerializeToString()


def _read(payload: bytes, native: object) -> tuple[notified.Notification, list[str]]:
    violations = Violations()
    notification = notified.read_notify_samples(violations, payload, native=native)
    return notification, [v.field for v in violations.items]


REQUESTS = [
    b"",
    _request(("cpu", {}, [1.0]), watch_version=7),
    _request(("cpu", {}, [1.0]), watch_version=7, changes_accepted=True),
    _request(changes_accepted=True) + _request(("cpu", {}, [3.0])),  # the flag before the series
    _request(("cpu", {"instance": "i-1", "group": "web"}, [2.5, -1.0]), ("mem", {}, []), watch_version=1 << 62),
    _request(*[("cpu", {"host": f"h{n}", "client": "0"}, [float(n), n + 0.5]) for n in range(50)]),
    # What the metrics service's rules would refuse is still read as sent.
    _request((" cpu ", {"": "x", "k" * 300: "v"}, [math.inf, -0.0])),
]


@native
@pytest.mark.parametrize("payload", REQUESTS)
def test_the_native_reader_reads_a_request_as_protobuf_does(payload):
    assert wire.NATIVE.decode_notified_series(payload) is not None  # type: ignore[union-attr]
    assert repr(_read(payload, wire.NATIVE)) == repr(_read(payload, None))  # repr: NaN equals NaN, -0.0 differs from 0.0


@native
def test_the_native_reader_leaves_a_flag_in_a_non_canonical_encoding_to_protobuf():
    payload = _request(("cpu", {}, [1.0])) + bytes([3 << 3, 2])  # watch_list_changes_accepted = 2: true to protobuf
    assert wire.NATIVE.decode_notified_series(payload) is None  # type: ignore[union-attr]
    assert _read(payload, wire.NATIVE)[0].changes_accepted is True


def test_a_series_without_a_metric_is_a_violation_on_either_path():
    payload = _request(("cpu", {}, [1.0]), ("", {}, [1.0]))
    assert _read(payload, wire.NATIVE)[1] == _read(payload, None)[1] == ["series[1].metric"]


def test_bytes_that_are_no_notify_samples_request_are_a_violation_of_the_request():
    assert _read(b"\x0a\x7f", wire.NATIVE)[1] == ["request"]


def test_a_request_naming_too_many_series_is_refused(monkeypatch):
    monkeypatch.setattr(notified, "MAX_NOTIFIED_SERIES", 2)
    payload = _request(("a", {}, []), ("b", {}, []), ("c", {}, []))
    assert _read(payload, wire.NATIVE)[1] == _read(payload, None)[1] == ["series"]


@native
def test_mutated_requests_are_read_natively_only_as_protobuf_reads_them():
    generator = random.Random(1129)
    agreed = declined = 0
    for round_number in range(3000):
        payload = mutated(generator, generator.choice(REQUESTS[1:]))
        read = wire.NATIVE.decode_notified_series(bytes(payload))  # type: ignore[union-attr]
        if read is None:
            declined += 1
            continue
        expected, violations = _read(bytes(payload), None)
        natively = repr((list(read[0]), read[1]))
        assert natively == repr((expected.series, expected.watch_version)), f"round {round_number}: {bytes(payload)!r}"
        agreed += 1
    assert agreed > 100 and declined > 100
