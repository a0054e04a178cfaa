"""A webhook action: a signed JSON POST to a URL its alarm's owner chose, that can reach no more than it may.

The URL is checked again (`autoscale.outbound_url`), its host resolved and refused
unless every address it resolves to is permitted (`autoscale.netguard`), and the
connection made to one of those addresses, never to the name again (DNS rebinding
cannot swap it); the Host header and, for https, the certificate check and SNI keep
the name. No redirect is followed (a 3xx is the receiver's answer), no proxy of the
environment is used, no more of the answer is read than its status line and headers,
and the whole call, sending and waiting included, ends at its deadline.

The history says no more than the answer's status (`HTTP 503`) or, for whatever kept
the POST from being answered (an address not permitted, a name that does not resolve,
a connection refused or reset, a timeout), the same words `delivery failed`: what
failed would otherwise tell a caller which ports of which hosts answer. The server log
has the detail.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any, cast

from opentelemetry import propagate

from autoscale import signing as webhook_signing
from autoscale.netguard import AddressGuard, RefusedAddress, Resolver
from autoscale.outbound_url import OutboundUrl, parse_outbound_url
from autoscale.timeutil import Clock, format_time
from services.alarm.action_runners import STATE_WORDS, ActionOutcome, ActionRequest
from services.alarm.domain import CompositeRule, GnocchiRule, Rule, ThresholdRule, alarm_name, describe_alarm

log = logging.getLogger(__name__)

DELIVERY_FAILED = "delivery failed"
"""What the history says of every POST that got no answer, whatever kept it from one."""

RETRYABLE_HTTP_STATUSES = frozenset({408, 425, 429})
"""4xx answers of a webhook receiver that mean: try again later."""

USER_AGENT = "autoscale-alarm"


class WebhookActionRunner:
    """POSTs a signed JSON account of the alarm and its transition to the action's http(s) URL."""

    def __init__(
        self, guard: AddressGuard, timeout: float, clock: Clock, secret_of: Callable[[str, str], str | None], *,
        resolver: Resolver = socket.getaddrinfo, tls: ssl.SSLContext | None = None,
    ) -> None:
        self._guard = guard
        self._secret_of = secret_of
        """An alarm's webhook secret as stored now (a new one signs at once, retries of earlier POSTs included)."""
        self._timeout = timeout
        self._clock = clock
        self._resolver = resolver
        self._tls = tls or ssl.create_default_context()

    def run(self, action: ActionRequest) -> ActionOutcome:
        """2xx is a success; 5xx, 408, 425, 429 and every failure to be answered are retried; other answers are not."""
        secret = self._secret_of(action.alarm.project, action.alarm.id)
        if secret is None:
            return ActionOutcome(False, "not sent: the alarm is gone")
        body = json.dumps(webhook_body(action)).encode()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        headers.update(webhook_signing.signature_headers(secret, int(self._clock()), body))
        propagate.inject(headers)
        try:
            status = self._post(action.pending.target, headers, body)
        except (OSError, ValueError, RefusedAddress, http.client.HTTPException) as error:  # ValueError: UnsafeUrl among them
            log.warning("%s: webhook %s not delivered: %s", describe_alarm(action.alarm.key), action.pending.target, _detail(error))
            return ActionOutcome(False, DELIVERY_FAILED, retryable=True)
        if 200 <= status < 300:
            return ActionOutcome(True, f"HTTP {status}")
        return ActionOutcome(False, f"HTTP {status}", retryable=status >= 500 or status in RETRYABLE_HTTP_STATUSES)

    def _post(self, target: str, headers: dict[str, str], body: bytes) -> int:
        """The status of the answer to the POST (OSError, UnsafeUrl, RefusedAddress or HTTPException when none came)."""
        deadline = time.monotonic() + self._timeout
        url = parse_outbound_url(target)
        addresses = self._guard.resolve(url.host, url.port, self._resolver)
        connection = _PinnedConnection(url, addresses, deadline, self._tls if url.scheme == "https" else None)
        try:
            connection.putrequest("POST", url.target, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", url.authority)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.putheader("Connection", "close")
            connection.endheaders(body)
            response = connection.getresponse()
            response.close()  # its body is never read
            return response.status
        finally:
            connection.close()


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP/1.1 connection to the first of `addresses` that answers, with TLS checked against the URL's host when
    `tls` is given, every step within `deadline` (time.monotonic())."""

    def __init__(
        self, url: OutboundUrl, addresses: list[tuple[int, Any]], deadline: float, tls: ssl.SSLContext | None
    ) -> None:
        super().__init__(url.host, url.port)
        self._url = url
        self._addresses = addresses
        self._deadline = deadline
        self._tls = tls

    def connect(self) -> None:
        last_error: OSError = OSError("no address to connect to")
        for family, sockaddr in self._addresses:
            connected = socket.socket(family, socket.SOCK_STREAM)
            try:
                connected.settimeout(_time_left(self._deadline))
                connected.connect(sockaddr)
                if self._tls is not None:
                    connected = self._tls.wrap_socket(connected, server_hostname=self._url.host)
            except OSError as error:
                connected.close()
                last_error = error
                continue
            # NOTE: http.client only sends through sendall and reads through makefile: the stand-in gives each the time left.
            self.sock = cast(socket.socket, _DeadlineSocket(connected, self._deadline))
            return
        raise last_error


class _DeadlineSocket:
    """A connected socket whose each send and receive may take only the time left before the deadline, so that a
    receiver trickling its answer a byte at a time holds a webhook thread no longer than the timeout."""

    def __init__(self, connected: socket.socket, deadline: float) -> None:
        self._socket = connected
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        self._socket.settimeout(_time_left(self._deadline))
        self._socket.sendall(data)

    def recv_into(self, buffer: Any) -> int:
        self._socket.settimeout(_time_left(self._deadline))
        return self._socket.recv_into(buffer)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self))

    def close(self) -> None:
        self._socket.close()


class _Reader(io.RawIOBase):
    def __init__(self, source: _DeadlineSocket) -> None:
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._source.recv_into(buffer)


def _time_left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the webhook's timeout passed")
    return left


def _detail(error: Exception) -> str:
    """An error for the log: its kind and message (a timeout's message alone may be empty)."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def webhook_body(action: ActionRequest) -> dict[str, Any]:
    """The JSON body of a webhook: Aodh's field names (alarm_id, previous, current, reason, reason_data) and more.

    It carries what a policy action's AlarmPayload does: the states, the reason, `reason_data.datapoints` (newest last)
    and `reason_data.threshold` when datapoints decided (as Aodh's reason_data, absent otherwise), and the rule with its
    threshold and comparison always.
    """
    alarm = action.alarm
    return {
        "alarm_name": alarm_name(alarm.id),
        "alarm_id": alarm.id,
        "project": alarm.project,
        "description": alarm.description,
        "previous": STATE_WORDS[action.pending.previous_state],
        "current": STATE_WORDS[action.pending.state],
        "reason": action.pending.reason,
        "reason_data": action.pending.reason_data,
        "repeat": action.pending.repeat,
        "time": format_time(action.pending.time),
        "request_id": action.request_id,
        **_rule_body(alarm.rule),
    }


def _rule_body(rule: Rule) -> dict[str, Any]:
    """The rule of a webhook's alarm, under the name of its kind's Alarm field."""
    if isinstance(rule, CompositeRule):
        return {"composite_rule": {"expression": rule.expression}}
    shared = {
        "comparison_operator": rule.comparison.value,
        "threshold": rule.threshold,
        "period_seconds": rule.period,
        "evaluation_periods": rule.evaluation_periods,
    }
    if isinstance(rule, ThresholdRule):
        return {
            "threshold_rule": {"metric": rule.metric, "dimensions": dict(rule.dimensions), "statistic": rule.statistic.value, **shared}
        }
    if isinstance(rule, GnocchiRule):
        target = {
            "metric": rule.metric, "resource_type": rule.resource_type, "resource_id": rule.resource_id,
            "resource_query": rule.resource_query, "metric_ids": list(rule.metric_ids),
            "aggregation_method": rule.aggregation_method,
        }
        return {f"{rule.store}_rule": {**target, **shared}}
    return {f"{rule.store}_rule": {"query": rule.query, **shared}}
