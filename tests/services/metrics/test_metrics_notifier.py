"""The alarm notifier without sockets: a fake stub stands for the alarm service (and records the project each call acts for)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import grpc
from opentelemetry import context as otel_context

from autoscale.identity import current_project
from autoscale.internal.v1 import sample_feed_pb2
from autoscale.series import dimensions_from_key
from services.metrics.domain import SeriesKey, SeriesPoints
from services.metrics.notifier import AlarmNotifier

CPU = SeriesKey.of("cpu", {"group": "web"})
MEMORY = SeriesKey.of("memory", {})
DISK = SeriesKey.of("disk", {"device": "sda"})


class FakeAlarmStub:
    """Records NotifySamples calls; can hold the first call until released, and fail."""

    def __init__(self, *, hold_first: bool = False, failure: Exception | None = None) -> None:
        self.calls: list[tuple[set[SeriesKey], Any]] = []
        self.projects: list[tuple[str, set[int]]] = []
        """The project each call acted for, and the ids of the series it named."""
        self.requests: list[sample_feed_pb2.NotifySamplesRequest] = []
        self.ranges: dict[SeriesKey, tuple[float, float]] = {}
        self.failure = failure
        self.holding = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def NotifySamples(self, request: sample_feed_pb2.NotifySamplesRequest) -> Any:  # noqa: N802 - the gRPC method's name
        request = sample_feed_pb2.NotifySamplesRequest.FromString(request.SerializeToString())  # as gRPC would carry it
        self.requests.append(request)
        self.projects.append((current_project(), set(request.series_ids)))
        self.holding.set()
        self.release.wait(5)
        keys = [SeriesKey(metric, dimensions_from_key(key)) for metric, key in zip(request.metrics, request.dimensions, strict=True)]
        self.calls.append((set(keys), otel_context.get_value("request")))
        self.ranges.update(zip(keys, zip(request.minimums, request.maximums, strict=True), strict=True))
        if self.failure is not None:
            raise self.failure
        return sample_feed_pb2.NotifySamplesResponse()


def _stored(*keys: SeriesKey, values: tuple[float, ...] = (1.0,)) -> list[SeriesPoints]:
    """A stored batch: each series with points of these values."""
    return [SeriesPoints.of(key, [(10.0, value) for value in values]) for key in keys]


def _notifier(stub: FakeAlarmStub, address: str = "127.0.0.1:1") -> AlarmNotifier:
    return AlarmNotifier(lambda: stub.NotifySamples, address)


IDS = {CPU: 11, MEMORY: 12, DISK: 13}
"""The id the metrics service gave each series."""


def _notify(notifier: AlarmNotifier, batch: list[SeriesPoints], trace_context: Any = None, project: str = "default") -> None:
    notifier.notify(project, batch, [IDS[series.key] for series in batch], trace_context)


def test_each_series_goes_by_its_id_in_this_process_catalogue_beside_its_names():
    stub = FakeAlarmStub()
    notifier = _notifier(stub)
    notifier.start()
    _notify(notifier, _stored(CPU, MEMORY))
    _notify(notifier, _stored(DISK))
    notifier.stop()
    assert stub.requests and {request.catalogue for request in stub.requests} == {notifier.catalogue}
    named = {
        series_id: SeriesKey(metric, dimensions_from_key(dimensions))
        for request in stub.requests
        for series_id, metric, dimensions in zip(request.series_ids, request.metrics, request.dimensions, strict=True)
    }
    assert named == {series_id: key for key, series_id in IDS.items()}
    assert AlarmNotifier(lambda: stub.NotifySamples, "127.0.0.1:1").catalogue != notifier.catalogue


def test_each_projects_series_go_in_a_call_of_their_own_acting_for_that_project():
    stub = FakeAlarmStub(hold_first=True)
    notifier = _notifier(stub)
    notifier.start()
    _notify(notifier, _stored(CPU), project="p1")
    assert stub.holding.wait(5)
    # Stored while the first call is out: they go in the next round, one call per project.
    _notify(notifier, _stored(MEMORY), otel_context.set_value("request", "p2 first"), project="p2")
    _notify(notifier, _stored(DISK), otel_context.set_value("request", "p1 first"), project="p1")
    _notify(notifier, _stored(MEMORY, values=(7.0,)), otel_context.set_value("request", "p2 second"), project="p2")
    stub.release.set()
    notifier.stop()
    assert stub.projects == [("p1", {IDS[CPU]}), ("p2", {IDS[MEMORY]}), ("p1", {IDS[DISK]})]
    assert stub.calls[1:] == [({MEMORY}, "p2 first"), ({DISK}, "p1 first")]
    assert stub.ranges[MEMORY] == (1.0, 7.0)


def test_each_notification_is_sent_in_the_trace_context_of_its_request():
    stub = FakeAlarmStub()
    notifier = _notifier(stub)
    notifier.start()
    _notify(notifier, _stored(CPU, MEMORY), otel_context.set_value("request", "first"))
    notifier.stop()
    assert stub.calls == [({CPU, MEMORY}, "first")]


def test_each_series_is_sent_with_its_lowest_and_highest_new_value():
    stub = FakeAlarmStub()
    notifier = _notifier(stub)
    notifier.start()
    _notify(notifier, [*_stored(CPU, values=(5.0, 1.0, 9.0)), *_stored(MEMORY, values=(3.0, 3.0))])
    notifier.stop()
    assert stub.ranges == {CPU: (1.0, 9.0), MEMORY: (3.0, 3.0)}


def test_batches_stored_while_a_call_is_out_go_together_in_the_next_call_in_the_oldest_trace_with_every_extreme():
    stub = FakeAlarmStub(hold_first=True)
    notifier = _notifier(stub)
    notifier.start()
    _notify(notifier, _stored(CPU), otel_context.set_value("request", "first"))
    assert stub.holding.wait(5)
    _notify(notifier, _stored(MEMORY, values=(4.0,)), otel_context.set_value("request", "second"))
    _notify(notifier, _stored(DISK, MEMORY, values=(6.0, 5.0)), otel_context.set_value("request", "third"))
    _notify(notifier, _stored(MEMORY, values=(2.0,)), otel_context.set_value("request", "fourth"))
    stub.release.set()
    notifier.stop()
    assert stub.calls == [({CPU}, "first"), ({MEMORY, DISK}, "second")]
    assert stub.ranges[MEMORY] == (2.0, 6.0)


def test_stop_sends_what_is_pending_first():
    stub = FakeAlarmStub(hold_first=True)
    notifier = _notifier(stub)
    notifier.start()
    _notify(notifier, _stored(CPU))
    assert stub.holding.wait(5)
    for key in (MEMORY, DISK):
        _notify(notifier, _stored(key))
    stopped = threading.Thread(target=notifier.stop)
    stopped.start()
    stub.release.set()
    stopped.join(5)
    assert not stopped.is_alive()
    assert [keys for keys, _ in stub.calls] == [{CPU}, {MEMORY, DISK}]


def test_failures_are_logged_once_per_interval_and_do_not_stop_the_notifier(caplog):
    stub = FakeAlarmStub(failure=grpc.RpcError("alarm service down"))
    notifier = _notifier(stub)
    notifier.start()
    with caplog.at_level(logging.WARNING, logger="services.metrics.notifier"):
        _notify(notifier, _stored(CPU))
        _notify(notifier, _stored(MEMORY))
        notifier.stop()
    assert {key for keys, _ in stub.calls for key in keys} == {CPU, MEMORY}
    assert len([r for r in caplog.records if "cannot notify" in r.getMessage()]) == 1


def test_without_an_alarm_address_nothing_is_sent_and_it_is_said_once(caplog):
    stub = FakeAlarmStub()
    notifier = _notifier(stub, address="")
    with caplog.at_level(logging.INFO, logger="services.metrics.notifier"):
        notifier.start()
        _notify(notifier, _stored(CPU))
        _notify(notifier, _stored(MEMORY))
        notifier.stop()
    assert stub.calls == []
    assert len([r for r in caplog.records if "no alarm service" in r.getMessage()]) == 1
