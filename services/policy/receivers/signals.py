"""A signal arriving at a receiver's URL: found by its token, checked, read by its format, and executed.

The HTTP listener hands each `POST /v1/signals/{token}` here and sends back what `receive` answers: a status and a
JSON body. Executions run as the receiver (its name is the principal the activity and the audit name) in the
receiver's project, through the same executor as ExecutePolicy, so a request id a signal carries is answered once.

Statuses: 200 done (or nothing to do, with why); 400 a body or header the format refuses, naming the field; 401 a
missing or bad signature; 404 no receiver has this token; 409 the policy cannot run (its group is gone); 503 the
group service could not be reached or did not answer in time (Alertmanager and Aodh retry: the request id makes the
retry execute once).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc

from autoscale import signing
from autoscale.errors import DomainError, NotFound, PeerError
from autoscale.http_listener import HttpRequest, HttpResponse, HttpRoute
from autoscale.identity import Caller, Role, acting_as
from autoscale.timeutil import Clock
from services.policy.executor import PolicyExecutor
from services.policy.exposition import PolicyMetrics
from services.policy.receivers.domain import SIGNALS_PATH, Receiver, looks_like_token, token_hash
from services.policy.receivers.payloads import PayloadError, Signal, read_signal
from services.policy.receivers.repository import ReceiverRepository

log = logging.getLogger(__name__)

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
"""Peer failures a sender should retry (503); the group's other refusals (a quota, say) are its answer (409)."""
UNKNOWN_TOKEN = "no receiver has this URL: it was deleted, or never made"


@dataclass(frozen=True)
class Answer:
    """What the HTTP listener answers a signal."""

    status: int
    body: dict[str, Any]

    def json(self) -> bytes:
        """The body as UTF-8 JSON."""
        return json.dumps(self.body, ensure_ascii=False).encode()


class SignalReceiver:
    """Receives the signals of every receiver of every project."""

    def __init__(self, repository: ReceiverRepository, executor: PolicyExecutor, clock: Clock, metrics: PolicyMetrics) -> None:
        self._repository = repository
        self._executor = executor
        self._clock = clock
        self._metrics = metrics

    def receive(self, token: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        """Answer the signal `body` POSTed to the URL of `token` (`headers` with keys in lower case), counted."""
        receiver_format, answer = self._receive(token, body, headers)
        self._metrics.signals.labels(receiver_format, str(answer.status)).inc()
        return answer

    def _receive(self, token: str, body: bytes, headers: Mapping[str, str]) -> tuple[str, Answer]:
        """(the receiver's format, or "" when none has the token; the answer)."""
        found = self._repository.find_by_token(token_hash(token)) if looks_like_token(token) else None
        if found is None:
            return "", Answer(404, {"error": UNKNOWN_TOKEN})
        project, receiver = found
        if receiver.hmac_secret is not None:
            try:
                signing.verify(
                    receiver.hmac_secret,
                    headers.get(signing.TIMESTAMP_HEADER.lower()),
                    headers.get(signing.SIGNATURE_HEADER.lower()),
                    body,
                    self._clock(),
                )
            except signing.BadSignature as error:
                return receiver.format.value, Answer(401, {"error": str(error)})
        try:
            reading = read_signal(
                receiver.format, receiver.name, body, headers, resolved_policy=bool(receiver.resolved_policy_id)
            )
        except PayloadError as error:
            refusal = {"error": f"{error.field}: {error.message}", "field": error.field, "format": receiver.format.value}
            return receiver.format.value, Answer(400, refusal)
        answer: dict[str, Any] = {"receiver": receiver.name, "executions": []}
        if reading.ignored:
            answer["ignored"] = reading.ignored
        with acting_as(Caller(principal=receiver.name, project=project, role=Role.MEMBER)):
            for signal in reading.signals:
                status, outcome = self._execute(project, receiver, signal)
                answer["executions"].append(outcome)
                if status != 200:
                    answer["error"] = outcome["error"]
                    return receiver.format.value, Answer(status, answer)
        return receiver.format.value, Answer(200, answer)

    def _execute(self, project: str, receiver: Receiver, signal: Signal) -> tuple[int, dict[str, Any]]:
        policy_id = receiver.resolved_policy_id if signal.resolved else receiver.policy_id
        outcome: dict[str, Any] = {"policy": f"policies/{policy_id}", "cause": signal.cause}
        try:
            # A monitoring system's alert: an alarm notification, which a group may have suspended.
            response = self._executor.execute(project, policy_id, signal.cause, signal.request_id, alarm_notification=True)
        except PeerError as error:
            log.warning("%s could not execute %s: %s", receiver.name, outcome["policy"], error)
            if error.code in RETRYABLE:
                return 503, {**outcome, "error": f"the group service could not be reached ({error.code.name}); retry"}
            return 409, {**outcome, "error": f"the group service refused: {error}"}
        except NotFound as error:
            return 409, {**outcome, "error": f"{error}: the receiver's policy is gone"}
        except DomainError as error:
            return 409, {**outcome, "error": str(error)}
        outcome.update(adjusted=response.adjusted, reason=response.reason)
        if response.adjusted:
            outcome["activity"] = response.activity.name
        return 200, outcome


def signal_route(signals: SignalReceiver) -> HttpRoute:
    """`POST /v1/signals/{token}` on the HTTP listener."""

    def handle(request: HttpRequest) -> HttpResponse:
        answer = signals.receive(request.path[len(SIGNALS_PATH):], request.body, request.headers)
        return HttpResponse(answer.status, answer.json())

    return HttpRoute("POST", SIGNALS_PATH, handle)
