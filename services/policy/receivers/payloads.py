"""What a signal's body says, read by its receiver's format: which executions it asks for. Pure: no I/O, no clock.

- plain: any POST asks for one execution of the policy; the body, if any, is its cause.
- alertmanager: Prometheus Alertmanager's webhook, version 4. The firing alerts of a notification ask for one execution
  of the policy, the resolved ones for one of the resolved policy (when the receiver names one). A notification's
  request id is made of its group key and its alerts' fingerprints and start times, so the repeats Alertmanager sends
  (every repeat_interval, or again after a failed delivery) of the same alerts execute once; a new alert in the group,
  or one that fires again, makes a new request id.
- aodh: Aodh's alarm notification. A transition into `alarm` (from `ok` or `insufficient data`) asks for one execution;
  anything else (a repeated `alarm`, a return to `ok`) for none. Aodh sends every notification with an
  `X-OpenStack-Request-Id`, the same across its retries: that is the request id.

Plain signals take their request id from an `Idempotency-Key` (or `X-Request-Id`) header; without one, every POST
executes. Request ids are hashed with the receiver's name: two receivers never share one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.policy.receivers.domain import ReceiverFormat

MAX_CAUSE_TEXT = 512
"""Characters of a signal's cause taken from its body (the execution's cause has a limit of its own)."""
MAX_HEADER_ID = 255
ALERTS_NAMED = 5
"""Alerts a cause names; the rest are counted."""
AODH_STATES = ("ok", "alarm", "insufficient data")
PLAIN_ID_HEADERS = ("idempotency-key", "x-request-id")
AODH_ID_HEADER = "x-openstack-request-id"


class PayloadError(Exception):
    """The body (or a header) is not what the receiver's format expects; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Signal:
    """One execution a signal asks for."""

    cause: str
    request_id: str
    """Empty: the execution is not deduplicated."""
    resolved: bool = False
    """Whether it executes the receiver's resolved policy (resolved alerts) rather than its policy."""


@dataclass(frozen=True)
class Reading:
    """The executions a signal asks for, and why it asks for none when so."""

    signals: list[Signal] = field(default_factory=list)
    ignored: str = ""
    """Why nothing is executed, when `signals` is empty."""


def read_signal(
    receiver_format: ReceiverFormat, receiver: str, body: bytes, headers: Mapping[str, str], *, resolved_policy: bool
) -> Reading:
    """The executions `body` (with `headers`, keys in lower case) asks of `receiver` (its name); PayloadError when it is not
    what the format expects. `resolved_policy`: whether the receiver names a policy for resolved alerts."""
    readers: dict[ReceiverFormat, Callable[[], Reading]] = {
        ReceiverFormat.PLAIN: lambda: _plain(receiver, body, headers),
        ReceiverFormat.ALERTMANAGER: lambda: _alertmanager(receiver, _json_object(body), resolved_policy=resolved_policy),
        ReceiverFormat.AODH: lambda: _aodh(receiver, _json_object(body), headers),
    }
    return readers[receiver_format]()


def _plain(receiver: str, body: bytes, headers: Mapping[str, str]) -> Reading:
    key = next((headers[name] for name in PLAIN_ID_HEADERS if headers.get(name)), "")
    cause = f"signal to {receiver}"
    if body:
        cause += f": {_body_text(body)}"
    return Reading([Signal(cause, _request_id(receiver, "plain", _header_id(key)) if key else "")])


def _alertmanager(receiver: str, payload: dict[str, Any], *, resolved_policy: bool) -> Reading:
    version = payload.get("version")
    if version != "4":
        raise PayloadError("version", f"must be \"4\" (Alertmanager's webhook format), got {_shown(version)}")
    group_key = payload.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        raise PayloadError("groupKey", "is required: a string")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("alerts", "is required: a list of alerts")
    by_status: dict[str, list[tuple[str, str, str]]] = {"firing": [], "resolved": []}
    for index, alert in enumerate(alerts):
        status, identity = _alert(index, alert)
        by_status[status].append(identity)
    reading = Reading()
    firing, resolved = sorted(by_status["firing"]), sorted(by_status["resolved"])
    if firing:
        reading.signals.append(_alerts_signal(receiver, group_key, "firing", firing, resolved=False))
    if resolved and resolved_policy:
        reading.signals.append(_alerts_signal(receiver, group_key, "resolved", resolved, resolved=True))
    if not reading.signals:
        reading = Reading(ignored="no firing alerts" + (", and no resolved policy for the resolved ones" if resolved else ""))
    return reading


def _alert(index: int, alert: Any) -> tuple[str, tuple[str, str, str]]:
    """(status, (fingerprint, startsAt, alertname)) of alerts[index]; PayloadError naming the field otherwise."""
    where = f"alerts[{index}]"
    if not isinstance(alert, dict):
        raise PayloadError(where, "must be an object")
    status = alert.get("status")
    if status not in ("firing", "resolved"):
        raise PayloadError(f"{where}.status", f"must be \"firing\" or \"resolved\", got {_shown(status)}")
    fingerprint, starts_at = alert.get("fingerprint"), alert.get("startsAt")
    if not isinstance(fingerprint, str) or not fingerprint:
        raise PayloadError(f"{where}.fingerprint", "is required: a string")
    if not isinstance(starts_at, str) or not starts_at:
        raise PayloadError(f"{where}.startsAt", "is required: an RFC 3339 time")
    labels = alert.get("labels")
    if labels is not None and not isinstance(labels, dict):
        raise PayloadError(f"{where}.labels", "must be an object")
    alertname = labels.get("alertname") if labels else None
    return status, (fingerprint, starts_at, alertname if isinstance(alertname, str) else "")


def _alerts_signal(receiver: str, group_key: str, status: str, alerts: list[tuple[str, str, str]], *, resolved: bool) -> Signal:
    named = ", ".join(f"{name or 'alert'} ({fingerprint})" for fingerprint, _, name in alerts[:ALERTS_NAMED])
    more = f" and {len(alerts) - ALERTS_NAMED} more" if len(alerts) > ALERTS_NAMED else ""
    noun = "alert" if len(alerts) == 1 else "alerts"
    cause = _clean(f"alertmanager via {receiver}: {len(alerts)} {status} {noun}: {named}{more}")
    request_id = _request_id(receiver, f"alertmanager-{status}", group_key, *(f"{fp}@{start}" for fp, start, _ in alerts))
    return Signal(cause, request_id, resolved=resolved)


def _aodh(receiver: str, payload: dict[str, Any], headers: Mapping[str, str]) -> Reading:
    alarm_id = payload.get("alarm_id")
    if not isinstance(alarm_id, str) or not alarm_id:
        raise PayloadError("alarm_id", "is required: a string")
    states = {}
    for key in ("current", "previous"):
        value = payload.get(key)
        if value not in AODH_STATES:
            raise PayloadError(key, f"must be one of {', '.join(AODH_STATES)}, got {_shown(value)}")
        states[key] = value
    for key in ("alarm_name", "reason"):
        if payload.get(key) is not None and not isinstance(payload.get(key), str):
            raise PayloadError(key, "must be a string")
    reason_data = payload.get("reason_data")
    if reason_data is not None and not isinstance(reason_data, dict):
        raise PayloadError("reason_data", "must be an object")
    alarm = payload.get("alarm_name") or alarm_id
    current, previous = states["current"], states["previous"]
    if current != "alarm" or previous == "alarm":
        return Reading(ignored=f"aodh alarm {_clean(alarm)} is {current} (was {previous}): only a transition into alarm executes")
    cause = _clean(f"aodh via {receiver}: alarm {alarm} {previous} -> alarm: {payload.get('reason') or 'no reason given'}")
    key = headers.get(AODH_ID_HEADER, "")
    return Reading([Signal(cause, _request_id(receiver, "aodh", alarm_id, _header_id(key)) if key else "")])


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise PayloadError("body", f"is not JSON ({error})") from None
    if not isinstance(payload, dict):
        raise PayloadError("body", "must be a JSON object")
    return payload


def _header_id(value: str) -> str:
    if len(value) > MAX_HEADER_ID or not value.isascii() or not value.isprintable():
        raise PayloadError("request id header", f"must be at most {MAX_HEADER_ID} printable ASCII characters")
    return value


def _request_id(receiver: str, kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\n".join((receiver, *parts)).encode()).hexdigest()
    return f"{kind}-{digest}"


def _body_text(body: bytes) -> str:
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return f"({len(body)} bytes, not UTF-8)"
    return _clean(text)


def _clean(text: str) -> str:
    """`text` on one line, without control characters, at most MAX_CAUSE_TEXT characters."""
    flat = " ".join("".join(character if character.isprintable() else " " for character in text).split())
    return flat if len(flat) <= MAX_CAUSE_TEXT else flat[: MAX_CAUSE_TEXT - 1] + "…"


def _shown(value: object) -> str:
    shown = json.dumps(value) if value is not None else "nothing"
    return shown if len(shown) <= 40 else shown[:39] + "…"
