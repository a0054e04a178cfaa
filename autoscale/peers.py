"""Long-lived channels to the peer services, with deadlines and safe retries.

One channel per peer address for the life of the process. Every call gets the
configured deadline unless the caller sets one, and the channel's service config
retries UNAVAILABLE (the call never reached a server) a few times with backoff.
"""

from __future__ import annotations

import json
import threading
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor

from autoscale import telemetry
from autoscale.errors import PeerError
from autoscale.v1 import alarm_pb2_grpc, group_pb2_grpc, metrics_pb2_grpc, policy_pb2_grpc

RETRY_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)


class _CallDetails(
    namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
    grpc.ClientCallDetails,
):
    pass


class DefaultDeadline(grpc.UnaryUnaryClientInterceptor):
    """Gives every unary call a deadline when its caller set none."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        if client_call_details.timeout is None:
            client_call_details = _CallDetails(
                client_call_details.method,
                self.seconds,
                client_call_details.metadata,
                client_call_details.credentials,
                client_call_details.wait_for_ready,
                client_call_details.compression,
            )
        return continuation(client_call_details, request)


def open_channel(address: str, deadline: float) -> grpc.Channel:
    """An insecure channel to `address` with retries, a default deadline and tracing."""
    channel = grpc.insecure_channel(
        address,
        options=[("grpc.service_config", RETRY_SERVICE_CONFIG), ("grpc.enable_retries", 1)],
    )
    return telemetry.instrument_channel(grpc.intercept_channel(channel, DefaultDeadline(deadline)))


def as_peer_error(error: grpc.RpcError) -> PeerError:
    """A failed peer call as a PeerError carrying the peer's code and message."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNAVAILABLE
    details = error.details() if hasattr(error, "details") else str(error)
    return PeerError(code, details or code.name)


class Peers:
    """Stubs of the peer services, each over one long-lived channel."""

    def __init__(self, *, metrics: str, alarm: str, policy: str, group: str, deadline: float) -> None:
        self._addresses = {"metrics": metrics, "alarm": alarm, "policy": policy, "group": group}
        self._deadline = deadline
        self._channels: dict[str, grpc.Channel] = {}
        self._calls: dict[tuple[str, str, bool], Callable[..., Any]] = {}
        self._lock = threading.Lock()

    def _channel(self, service: str) -> grpc.Channel:
        with self._lock:
            if service not in self._channels:
                address = self._addresses[service]
                if not address:
                    raise PeerError(grpc.StatusCode.UNAVAILABLE, f"no address configured for the {service} service (--{service}-addr)")
                self._channels[service] = open_channel(address, self._deadline)
            return self._channels[service]

    def call_taking_bytes(self, service: str, method: MethodDescriptor, *, answering_bytes: bool = False) -> Callable[..., Any]:
        """A unary call of the peer `service`'s `method` whose request is given already serialized (wire bytes), and
        whose response comes serialized too with `answering_bytes`.

        For callers that build a request's bytes directly (see services/metrics/messages.py): a message
        parsed from them only to be serialized again would cost more than building them did.
        """
        # NOTE: made once per method: the notifier and the sweep ask for it on every call.
        key = (service, method.full_name, answering_bytes)
        call = self._calls.get(key)
        if call is None:
            deserializer = None if answering_bytes else message_factory.GetMessageClass(method.output_type).FromString
            call = self._calls[key] = self._channel(service).unary_unary(
                f"/{method.containing_service.full_name}/{method.name}", request_serializer=None, response_deserializer=deserializer
            )
        return call

    def address(self, service: str) -> str:
        """The configured address of a peer service."""
        return self._addresses[service]

    @property
    def metrics(self) -> Any:
        """MetricsService stub."""
        return metrics_pb2_grpc.MetricsServiceStub(self._channel("metrics"))

    @property
    def alarm(self) -> Any:
        """AlarmService stub."""
        return alarm_pb2_grpc.AlarmServiceStub(self._channel("alarm"))

    @property
    def policy(self) -> Any:
        """PolicyService stub."""
        return policy_pb2_grpc.PolicyServiceStub(self._channel("policy"))

    @property
    def group(self) -> Any:
        """GroupService stub."""
        return group_pb2_grpc.GroupServiceStub(self._channel("group"))

    def close(self) -> None:
        """Close every channel opened."""
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
            self._calls.clear()
