"""How each receiver format reads a signal: which executions it asks for, with which request id, and what it refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.policy.receivers.domain import ReceiverFormat
from services.policy.receivers.payloads import MAX_CAUSE_TEXT, PayloadError, read_signal

RECEIVER = "policies/up/receivers/am"
AM = ReceiverFormat.ALERTMANAGER


def _alert(fingerprint: str, status: str = "firing", starts_at: str = "2026-12-06T10:00:00Z", name: str = "HighLoad") -> dict[str, Any]:
    return {"status": status, "labels": {"alertname": name, "group": "web"}, "annotations": {}, "startsAt": starts_at,
            "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus/graph", "fingerprint": fingerprint}


def _notification(*alerts: dict[str, Any], group_key: str = '{}:{alertname="HighLoad"}') -> bytes:
    """Alertmanager's webhook body (version 4), as its documentation lays it out."""
    firing = any(alert["status"] == "firing" for alert in alerts)
    return json.dumps({
        "version": "4", "groupKey": group_key, "truncatedAlerts": 0, "status": "firing" if firing else "resolved",
        "receiver": "autoscale", "groupLabels": {"alertname": "HighLoad"}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093", "alerts": list(alerts),
    }).encode()


def _read(body: bytes, receiver_format: ReceiverFormat = AM, headers: dict[str, str] | None = None, *, resolved_policy: bool = False):  # type: ignore[no-untyped-def]
    return read_signal(receiver_format, RECEIVER, body, headers or {}, resolved_policy=resolved_policy)


# Plain


def test_plain_post_without_body_asks_for_one_execution_without_request_id():
    reading = _read(b"", ReceiverFormat.PLAIN)
    assert [(signal.cause, signal.request_id, signal.resolved) for signal in reading.signals] == [(f"signal to {RECEIVER}", "", False)]


def test_plain_body_becomes_the_cause_on_one_line_and_bounded():
    assert _read(b"deploy\n\x00finished", ReceiverFormat.PLAIN).signals[0].cause == f"signal to {RECEIVER}: deploy finished"
    long = _read(b"x" * 5000, ReceiverFormat.PLAIN).signals[0].cause
    assert len(long) <= len(f"signal to {RECEIVER}: ") + MAX_CAUSE_TEXT
    assert "not UTF-8" in _read(b"\xff\xfe", ReceiverFormat.PLAIN).signals[0].cause


def test_plain_idempotency_key_makes_a_request_id_of_this_receiver():
    first = _read(b"", ReceiverFormat.PLAIN, {"idempotency-key": "k1"}).signals[0].request_id
    assert first == _read(b"other body", ReceiverFormat.PLAIN, {"idempotency-key": "k1"}).signals[0].request_id
    assert first != _read(b"", ReceiverFormat.PLAIN, {"idempotency-key": "k2"}).signals[0].request_id
    assert first == _read(b"", ReceiverFormat.PLAIN, {"x-request-id": "k1"}).signals[0].request_id
    other_receiver = read_signal(ReceiverFormat.PLAIN, "policies/up/receivers/b", b"", {"idempotency-key": "k1"}, resolved_policy=False)
    assert other_receiver.signals[0].request_id != first


def test_plain_refuses_an_unprintable_or_huge_request_id_header():
    for bad in ("a\tb", "x" * 256, "é"):
        with pytest.raises(PayloadError) as raised:
            _read(b"", ReceiverFormat.PLAIN, {"idempotency-key": bad})
        assert raised.value.field == "request id header"


# Alertmanager


def test_alertmanager_firing_alerts_ask_for_one_execution_naming_them():
    reading = _read(_notification(_alert("a1"), _alert("b2", name="DiskFull")))
    assert len(reading.signals) == 1
    signal = reading.signals[0]
    assert not signal.resolved
    assert signal.cause == f"alertmanager via {RECEIVER}: 2 firing alerts: HighLoad (a1), DiskFull (b2)"
    assert signal.request_id.startswith("alertmanager-firing-")


def test_alertmanager_repeated_notification_of_the_same_alerts_has_the_same_request_id():
    first = _read(_notification(_alert("a1"), _alert("b2"))).signals[0].request_id
    again = _read(_notification(_alert("b2"), _alert("a1"))).signals[0].request_id  # another order, the same alerts
    assert first == again


@pytest.mark.parametrize(
    "changed",
    [
        _notification(_alert("a1"), _alert("b2"), _alert("c3")),  # a new alert joined the group
        _notification(_alert("a1", starts_at="2026-12-06T11:00:00Z"), _alert("b2")),  # a1 resolved and fired again
        _notification(_alert("a1"), _alert("b2"), group_key="{}:{alertname=\"Other\"}"),  # another group
    ],
)
def test_alertmanager_new_alerts_make_a_new_request_id(changed):
    first = _read(_notification(_alert("a1"), _alert("b2"))).signals[0].request_id
    assert _read(changed).signals[0].request_id != first


def test_alertmanager_resolved_alerts_do_nothing_without_a_resolved_policy():
    reading = _read(_notification(_alert("a1", status="resolved")))
    assert reading.signals == []
    assert reading.ignored == "no firing alerts, and no resolved policy for the resolved ones"


def test_alertmanager_resolved_alerts_execute_the_resolved_policy_once():
    reading = _read(_notification(_alert("a1", status="resolved")), resolved_policy=True)
    assert [(signal.resolved, signal.cause) for signal in reading.signals] == [
        (True, f"alertmanager via {RECEIVER}: 1 resolved alert: HighLoad (a1)")
    ]
    assert reading.signals[0].request_id.startswith("alertmanager-resolved-")


def test_alertmanager_mixed_notification_asks_for_both_executions_with_distinct_ids():
    reading = _read(_notification(_alert("a1"), _alert("b2", status="resolved")), resolved_policy=True)
    assert [signal.resolved for signal in reading.signals] == [False, True]
    assert reading.signals[0].request_id != reading.signals[1].request_id


def test_alertmanager_cause_names_five_alerts_and_counts_the_rest():
    cause = _read(_notification(*(_alert(f"f{index}") for index in range(8)))).signals[0].cause
    assert cause.endswith("HighLoad (f4) and 3 more")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"[1, 2]", "body"),
        (json.dumps({"version": "3", "groupKey": "k", "alerts": []}).encode(), "version"),
        (json.dumps({"version": "4", "alerts": []}).encode(), "groupKey"),
        (json.dumps({"version": "4", "groupKey": "k", "alerts": {}}).encode(), "alerts"),
        (json.dumps({"version": "4", "groupKey": "k", "alerts": [7]}).encode(), "alerts[0]"),
        (json.dumps({"version": "4", "groupKey": "k", "alerts": [{**_alert("a"), "status": "pending"}]}).encode(), "alerts[0].status"),
        (json.dumps({"version": "4", "groupKey": "k", "alerts": [{**_alert("a"), "fingerprint": ""}]}).encode(), "alerts[0].fingerprint"),
        (json.dumps({"version": "4", "groupKey": "k", "alerts": [_alert("a"), {**_alert("b"), "startsAt": 5}]}).encode(),
         "alerts[1].startsAt"),
        (json.dumps({"version": "4", "groupKey": "k", "alerts": [{**_alert("a"), "labels": []}]}).encode(), "alerts[0].labels"),
    ],
)
def test_alertmanager_refuses_what_its_format_never_sends_naming_the_field(body, field):
    with pytest.raises(PayloadError) as raised:
        _read(body)
    assert raised.value.field == field


# Aodh


def _aodh(current: str, previous: str, **extra: Any) -> bytes:
    """Aodh's alarm notification, as its documentation lays it out."""
    return json.dumps({
        "alarm_id": "b8e17f58-089a-43fc-a96b-e9bcac4d4b53", "alarm_name": "cpu_high", "severity": "low",
        "previous": previous, "current": current, "reason": "Transition to alarm due to 3 samples outside threshold",
        "reason_data": {"type": "threshold", "disposition": "outside", "count": 3, "most_recent": 93.2}, **extra,
    }).encode()


@pytest.mark.parametrize("previous", ["ok", "insufficient data"])
def test_aodh_transition_into_alarm_asks_for_one_execution(previous):
    reading = _read(_aodh("alarm", previous), ReceiverFormat.AODH, {"x-openstack-request-id": "req-1"})
    assert len(reading.signals) == 1
    assert reading.signals[0].cause == (
        f"aodh via {RECEIVER}: alarm cpu_high {previous} -> alarm: Transition to alarm due to 3 samples outside threshold"
    )
    assert reading.signals[0].request_id.startswith("aodh-")


@pytest.mark.parametrize(("current", "previous"), [("alarm", "alarm"), ("ok", "alarm"), ("insufficient data", "ok")])
def test_aodh_anything_but_a_transition_into_alarm_executes_nothing(current, previous):
    reading = _read(_aodh(current, previous), ReceiverFormat.AODH)
    assert reading.signals == []
    assert f"is {current} (was {previous})" in reading.ignored


def test_aodh_retries_of_one_notification_share_its_request_id_and_others_do_not():
    first = _read(_aodh("alarm", "ok"), ReceiverFormat.AODH, {"x-openstack-request-id": "req-1"}).signals[0].request_id
    assert first == _read(_aodh("alarm", "ok"), ReceiverFormat.AODH, {"x-openstack-request-id": "req-1"}).signals[0].request_id
    assert first != _read(_aodh("alarm", "ok"), ReceiverFormat.AODH, {"x-openstack-request-id": "req-2"}).signals[0].request_id
    assert _read(_aodh("alarm", "ok"), ReceiverFormat.AODH).signals[0].request_id == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (json.dumps({"current": "alarm", "previous": "ok"}).encode(), "alarm_id"),
        (_aodh("firing", "ok"), "current"),
        (_aodh("alarm", None), "previous"),
        (_aodh("alarm", "ok", reason=5), "reason"),
        (_aodh("alarm", "ok", reason_data="x"), "reason_data"),
        (b"\xff", "body"),
    ],
)
def test_aodh_refuses_what_aodh_never_sends_naming_the_field(body, field):
    with pytest.raises(PayloadError) as raised:
        _read(body, ReceiverFormat.AODH)
    assert raised.value.field == field
