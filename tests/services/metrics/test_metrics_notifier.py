"""The alarm notifier without sockets: a fake stub stands for the Alarm service."""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

import grpc
from opentelemetry import context as otel_context

from autoscale.v1 import alarm_pb2
from services.metrics import notifier as notifier_module
from services.metrics.domain import SeriesKey, SeriesPoints
from services.metrics.notifier import AlarmNotifier

CPU = SeriesKey.of("cpu", {"group": "web"})
MEMORY = SeriesKey.of("memory", {})
DISK = SeriesKey.of("disk", {"device": "sda"})


class FakeAlarmStub:
    """Records NotifySamples calls; can hold the first call until released, and fail."""

    def __init__(self, *, hold_first: bool = False, failure: Exception | None = None) -> None:
        self.calls: list[tuple[set[SeriesKey], Any]] = []
        self.values: dict[SeriesKey, list[float]] = {}
        self.versions: list[int] = []
        self.changes_accepted = False
        self.answer = alarm_pb2.NotifySamplesResponse()
        """What each call answers (by default no watch list: every series keeps being sent)."""
        self.failure = failure
        self.holding = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def NotifySamples(self, payload: bytes) -> Any:  # noqa: N802 - the gRPC method's name
        request = alarm_pb2.NotifySamplesRequest.FromString(payload)  # sent as wire bytes, as gRPC would carry them
        self.holding.set()
        self.release.wait(5)
        self.calls.append(({SeriesKey.of(s.metric, s.dimensions) for s in request.series}, otel_context.get_value("request")))
        self.versions.append(request.watch_version)
        self.changes_accepted = request.watch_list_changes_accepted
        self.values.update({SeriesKey.of(s.metric, s.dimensions): [p.value for p in s.points] for s in request.series})
        if self.failure is not None:
            raise self.failure
        return self.answer


def _stored(*keys: SeriesKey, values: tuple[float, ...] = (1.0,)) -> list[SeriesPoints]:
    """A stored batch: each series with points of these values."""
    return [SeriesPoints.of(key, [(10.0, value) for value in values]) for key in keys]


SERIES_IDS: dict[SeriesKey, int] = {}


def _notify(notifier: AlarmNotifier, batch: list[SeriesPoints], trace_context: Any = None) -> None:
    """Hand the notifier a stored batch, each series with its id (one per key, as storage gives them)."""
    notifier.notify(batch, [SERIES_IDS.setdefault(key, len(SERIES_IDS) + 1) for key, _, _ in batch], trace_context)


def _notifier(stub: FakeAlarmStub, address: str = "127.0.0.1:1", **kwargs: Any) -> AlarmNotifier:
    return AlarmNotifier(lambda: stub.NotifySamples, address, **kwargs)


def test_each_notification_is_sent_in_the_trace_context_of_its_request():
    stub = FakeAlarmStub()
    notifier = _notifier(stub)
    notifier.start()
    _notify(notifier, _stored(CPU, MEMORY), otel_context.set_value("request", "first"))
    notifier.stop()
    assert stub.calls == [({CPU, MEMORY}, "first")]


def test_when_the_queue_is_full_new_series_merge_into_the_newest_batch():
    stub = FakeAlarmStub(hold_first=True)
    notifier = _notifier(stub, max_batches=1)
    notifier.start()
    _notify(notifier, _stored(CPU), otel_context.set_value("request", "first"))
    assert stub.holding.wait(5)
    _notify(notifier, _stored(MEMORY), otel_context.set_value("request", "second"))
    _notify(notifier, _stored(DISK, MEMORY), otel_context.set_value("request", "third"))
    stub.release.set()
    notifier.stop()
    assert stub.calls == [({CPU}, "first"), ({MEMORY, DISK}, "second")]


def test_each_series_is_sent_with_its_lowest_and_highest_new_value():
    stub = FakeAlarmStub()
    notifier = _notifier(stub)
    notifier.start()
    _notify(notifier, [*_stored(CPU, values=(5.0, 1.0, 9.0)), *_stored(MEMORY, values=(3.0, 3.0))])
    notifier.stop()
    assert stub.values == {CPU: [1.0, 9.0], MEMORY: [3.0]}


def test_merged_notifications_keep_the_extremes_of_every_batch():
    stub = FakeAlarmStub(hold_first=True)
    notifier = _notifier(stub, max_batches=1)
    notifier.start()
    _notify(notifier, _stored(DISK))
    assert stub.holding.wait(5)
    _notify(notifier, _stored(CPU, values=(5.0,)))
    _notify(notifier, _stored(CPU, values=(2.0, 4.0)))
    _notify(notifier, _stored(CPU, values=(7.0,)))
    stub.release.set()
    notifier.stop()
    assert stub.values[CPU] == [2.0, 7.0]


def test_batches_queued_while_a_call_is_out_go_together_in_the_next_call_in_the_oldest_trace():
    stub = FakeAlarmStub(hold_first=True)
    notifier = _notifier(stub)
    notifier.start()
    _notify(notifier, _stored(CPU), otel_context.set_value("request", "first"))
    assert stub.holding.wait(5)
    _notify(notifier, _stored(MEMORY, values=(4.0,)), otel_context.set_value("request", "second"))
    _notify(notifier, _stored(DISK, MEMORY, values=(6.0,)), otel_context.set_value("request", "third"))
    stub.release.set()
    notifier.stop()
    assert stub.calls == [({CPU}, "first"), ({MEMORY, DISK}, "second")]
    assert stub.values[MEMORY] == [4.0, 6.0]


def test_stop_sends_what_is_queued_first():
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
    assert [keys for keys, _ in stub.calls] == [{CPU}, {MEMORY, DISK}]


def test_failures_are_logged_once_per_interval_and_do_not_stop_the_notifier(caplog):
    stub = FakeAlarmStub(failure=grpc.RpcError("alarm service down"))
    notifier = _notifier(stub)
    notifier.start()
    with caplog.at_level(logging.WARNING, logger="services.metrics.notifier"):
        _notify(notifier, _stored(CPU))
        _notify(notifier, _stored(MEMORY))
        notifier.stop()
    assert len(stub.calls) >= 1
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


def test_series_no_alarm_watches_are_left_out_once_the_alarm_service_said_what_it_watches():
    stub = FakeAlarmStub()
    stub.answer = alarm_pb2.NotifySamplesResponse(
        watch_list_complete=True, watch_version=3,
        watched=[alarm_pb2.WatchedSeries(metric="cpu", dimension_key="group", dimension_value="web"),
                 alarm_pb2.WatchedSeries(metric="disk")],
    )
    stub.release.clear()
    notifier = _notifier(stub)
    notifier.start()
    _notify(notifier, _stored(CPU, MEMORY))  # nothing known yet: everything is sent
    assert stub.holding.wait(5)
    _notify(notifier, _stored(CPU, MEMORY, DISK, SeriesKey.of("cpu", {"group": "db"})))
    stub.release.set()
    notifier.stop()
    assert [keys for keys, _ in stub.calls] == [{CPU, MEMORY}, {CPU, DISK}]
    assert stub.versions == [0, 3]


def test_a_call_goes_out_now_and_then_even_when_nothing_is_watched_to_hear_of_new_alarms(monkeypatch):
    stub = FakeAlarmStub()
    stub.answer = alarm_pb2.NotifySamplesResponse(watch_list_complete=True)

    def notify_cpu_then_memory() -> None:
        # The second batch is queued while the first call is out, so that it goes in a call of its own.
        stub.holding.clear()
        stub.release.clear()
        notifier = _notifier(stub)
        notifier.start()
        _notify(notifier, _stored(CPU))
        assert stub.holding.wait(5)
        _notify(notifier, _stored(MEMORY))
        stub.release.set()
        notifier.stop()

    notify_cpu_then_memory()  # memory is unwatched, and the last call was just now: no call
    assert [keys for keys, _ in stub.calls] == [{CPU}]
    monkeypatch.setattr(notifier_module, "WATCH_REFRESH_INTERVAL", 0.0)
    notify_cpu_then_memory()
    assert [keys for keys, _ in stub.calls][1:] == [{CPU}, set()]


def test_once_series_were_deleted_an_id_given_to_a_new_series_is_judged_afresh():
    stub = FakeAlarmStub(hold_first=True)
    stub.answer = alarm_pb2.NotifySamplesResponse(
        watch_list_complete=True, watch_version=1, watched=[alarm_pb2.WatchedSeries(metric="disk")],
    )
    other_disk = SeriesKey.of("disk", {"device": "sdb"})
    notifier = _notifier(stub)
    notifier.start()
    notifier.notify(_stored(DISK), [7])  # nothing is known yet: sent, and the answer says what is watched
    stub.release.set()
    _wait_for(lambda: len(stub.calls) == 1)
    stub.answer = alarm_pb2.NotifySamplesResponse(watch_version=1)  # from now on: the watch list has not changed
    stub.holding.clear()
    stub.release.clear()
    notifier.notify(_stored(DISK, MEMORY), [7, 8])  # memory is not watched: remembered so under id 8
    assert stub.holding.wait(5)
    notifier.forget_series()  # retention deleted series 8, and SQLite gave its id to a new series
    notifier.notify(_stored(other_disk), [8])
    stub.release.set()
    notifier.stop()
    assert [keys for keys, _ in stub.calls] == [{DISK}, {DISK}, {other_disk}]


def _wait_for(condition) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_once_series_were_deleted_an_id_sent_before_is_sent_as_its_new_series():
    stub = FakeAlarmStub()
    other_disk = SeriesKey.of("disk", {"device": "sdb"})
    notifier = _notifier(stub)
    notifier.start()
    notifier.notify(_stored(DISK), [7])
    _wait_for(lambda: len(stub.calls) == 1)
    notifier.forget_series()  # retention deleted series 7, and SQLite gave its id to a new series
    notifier.notify(_stored(other_disk), [7])
    notifier.stop()
    assert [keys for keys, _ in stub.calls] == [{DISK}, {other_disk}]


def _watching_cpu(*places: tuple[str, str, tuple[float, float] | None]) -> alarm_pb2.NotifySamplesResponse:
    """An answer whose watch list holds these (dimension key, value, quiet band) places of metric cpu."""
    watched = []
    for key, value, band in places:
        entry = alarm_pb2.WatchedSeries(metric="cpu", dimension_key=key, dimension_value=value)
        if band is not None:
            entry.quiet_band.low, entry.quiet_band.high = band
        watched.append(entry)
    return alarm_pb2.NotifySamplesResponse(watch_list_complete=True, watch_version=5, watched=watched)


def _started(
    monkeypatch: Any, refresh_interval: float, *places: tuple[str, str, tuple[float, float] | None]
) -> tuple[FakeAlarmStub, AlarmNotifier]:
    """A started notifier that has made one call (nothing known yet: sent), which brought it these places of cpu as its watch list."""
    monkeypatch.setattr(notifier_module, "WATCH_REFRESH_INTERVAL", refresh_interval)
    stub = FakeAlarmStub()
    stub.answer = _watching_cpu(*places)
    notifier = _notifier(stub)
    notifier.start()
    _notify(notifier, _stored(MEMORY))
    _wait_for(lambda: len(stub.calls) == 1)
    return stub, notifier


def test_values_inside_the_quiet_band_are_held_back_and_dropped_if_the_refresh_call_finds_the_band_unchanged(monkeypatch):
    stub, notifier = _started(monkeypatch, 1.0, ("group", "web", (-math.inf, 80.0)))
    stub.answer = alarm_pb2.NotifySamplesResponse(watch_version=5)  # nothing changes from now on
    _notify(notifier, _stored(CPU, values=(10.0, 80.0)))  # inside: no call for it now
    time.sleep(0.1)
    assert len(stub.calls) == 1
    _wait_for(lambda: len(stub.calls) == 2)  # no more samples came, but values are held: the refresh call goes out
    time.sleep(0.1)
    notifier.stop()
    assert [keys for keys, _ in stub.calls][1:] == [set()]  # the band still holds them: they could move no alarm


def test_held_values_the_band_learnt_at_the_refresh_call_no_longer_holds_are_sent_then(monkeypatch):
    stub, notifier = _started(monkeypatch, 0.3, ("group", "web", (-math.inf, 80.0)))
    # Meanwhile the alarm went to ALARM (an operator, the sweep): the refresh call will say so.
    stub.answer = alarm_pb2.NotifySamplesResponse(
        watch_version=6,
        watch_list_changed=[alarm_pb2.WatchedSeries(
            metric="cpu", dimension_key="group", dimension_value="web", quiet_band=alarm_pb2.QuietBand(low=80.5, high=math.inf),
        )],
    )
    _notify(notifier, _stored(CPU, values=(10.0, 80.0)))
    _wait_for(lambda: len(stub.calls) == 3)
    notifier.stop()
    assert [keys for keys, _ in stub.calls][1:] == [set(), {CPU}]
    assert stub.values[CPU] == [10.0, 80.0]


def test_a_value_outside_the_band_is_sent_at_once_and_so_is_all_its_series_gets_for_a_while(monkeypatch):
    stub, notifier = _started(monkeypatch, 30.0, ("group", "web", (-math.inf, 80.0)))
    _notify(notifier, _stored(CPU, values=(10.0, 95.0)))
    _wait_for(lambda: len(stub.calls) == 2)
    assert stub.values[CPU] == [10.0, 95.0]
    # The alarm may have left OK, and the band held here is from before: the series' next values go too.
    _notify(notifier, _stored(CPU, values=(20.0,)))
    _wait_for(lambda: len(stub.calls) == 3)
    notifier.stop()
    assert stub.values[CPU] == [20.0]  # one value: the lowest is the highest


def test_a_series_under_several_watched_places_is_quiet_only_where_their_bands_meet(monkeypatch):
    stub, notifier = _started(monkeypatch, 30.0, ("", "", (-math.inf, 80.0)), ("group", "web", (20.0, math.inf)))
    other = SeriesKey.of("cpu", {"group": "db"})  # under every cpu series' place only
    _notify(notifier, _stored(CPU, other, values=(50.0,)))
    _notify(notifier, _stored(other, values=(10.0,)))
    time.sleep(0.1)
    assert len(stub.calls) == 1  # all quiet
    _notify(notifier, _stored(CPU, values=(10.0,)))  # under 20: the group=web alarms may move
    _wait_for(lambda: len(stub.calls) == 2)
    assert stub.calls[1][0] == {CPU}
    assert stub.values[CPU] == [10.0, 50.0]  # with what it held
    notifier.stop()
    assert other not in stub.values  # held, then found still quiet by the last call


def test_a_watched_place_without_a_band_has_every_value_sent(monkeypatch):
    stub, notifier = _started(monkeypatch, 30.0, ("group", "web", None))
    for value in (1.0, 2.0):
        _notify(notifier, _stored(CPU, values=(value,)))
        _wait_for(lambda value=value: stub.values.get(CPU) == [value])
    notifier.stop()


def test_stop_judges_the_values_held_back_against_the_bands_its_last_call_learns(monkeypatch):
    stub, notifier = _started(monkeypatch, 30.0, ("group", "web", (-math.inf, 80.0)))
    _notify(notifier, _stored(CPU, values=(5.0, 7.0)))
    time.sleep(0.1)
    stub.answer = alarm_pb2.NotifySamplesResponse(
        watch_version=6, watch_list_changed=[alarm_pb2.WatchedSeries(metric="cpu", dimension_key="group", dimension_value="web")],
    )  # no band: nothing is quiet any more
    notifier.stop()
    assert [keys for keys, _ in stub.calls][1:] == [set(), {CPU}]
    assert stub.values[CPU] == [5.0, 7.0]


def test_put_samples_does_not_wait_for_a_refresh_call_that_is_out(monkeypatch):
    stub, notifier = _started(monkeypatch, 0.2, ("group", "web", (-math.inf, 80.0)))
    stub.holding.clear()
    stub.release.clear()
    _notify(notifier, _stored(CPU, values=(5.0,)))  # held; its refresh call is then held by the stub
    assert stub.holding.wait(5)
    queued = threading.Thread(target=_notify, args=(notifier, _stored(MEMORY)))
    queued.start()
    queued.join(2)
    assert not queued.is_alive()
    stub.release.set()
    notifier.stop()


def test_the_changes_an_answer_gives_are_applied_to_the_watch_list_held(monkeypatch):
    stub, notifier = _started(monkeypatch, 30.0, ("group", "web", (-math.inf, 80.0)))
    assert stub.changes_accepted
    stub.answer = alarm_pb2.NotifySamplesResponse(
        watch_version=6,
        watch_list_changed=[alarm_pb2.WatchedSeries(metric="disk")],
        watch_list_removed=[alarm_pb2.WatchedSeries(metric="cpu", dimension_key="group", dimension_value="web")],
    )
    _notify(notifier, _stored(CPU, values=(95.0,)))  # outside the band: sent, and the answer brings the changes
    _wait_for(lambda: len(stub.calls) == 2)
    stub.answer = alarm_pb2.NotifySamplesResponse(watch_version=6)
    _notify(notifier, _stored(CPU, DISK, values=(1.0,)))
    _wait_for(lambda: len(stub.calls) == 3)
    notifier.stop()
    assert [keys for keys, _ in stub.calls][1:] == [{CPU}, {DISK}]  # CPU's place is no longer watched
    assert stub.versions == [0, 5, 6]
