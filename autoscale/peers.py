"""Long-lived channels to the peer services, with deadlines and safe retries.

One channel per peer address for the life of the process, over TLS when the process is
given a CA for its peers (autoscale.tls). Every call gets the configured deadline unless
the caller sets one, and the channel's service config retries UNAVAILABLE (the call never
reached a server) a few times with backoff.
"""

from __future__ import annotations

import json
import threading
from collections import namedtuple
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

import grpc

from autoscale import telemetry
from autoscale.errors import PeerError
from autoscale.identity.caller import current_caller_or_none as _current_caller_or_none
from autoscale.identity.interceptor import AUTHORIZATION_METADATA, PRINCIPAL_METADATA, PROJECT_METADATA
from autoscale.tls import ChannelSecurity, PeerSecurity
from autoscale.v1 import alarm_pb2_grpc, group_pb2_grpc, metrics_pb2_grpc, policy_pb2_grpc

StubT = TypeVar("StubT")
ItemT = TypeVar("ItemT")
RequestT = TypeVar("RequestT")
CallT = TypeVar("CallT")

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


def _changed(details: grpc.ClientCallDetails, **changes: Any) -> grpc.ClientCallDetails:
    """`details` with the fields `changes` names (timeout, metadata) replaced."""
    fields = {name: getattr(details, name) for name in _CallDetails._fields}
    return _CallDetails(**(fields | changes))


class PeerCall(grpc.UnaryUnaryClientInterceptor):
    """Gives every peer call a deadline when its caller set none, the project it acts in and who it acts for (the current
    caller's: autoscale.identity), and the service's token.

    NOTE: one interceptor, not one per concern: each grpc client interceptor wraps the call once more in Python, on
    every hop of the chain. A call made outside any caller (none is set) names no project; the peer then takes its
    default one.
    """

    def __init__(self, deadline: float, token: str) -> None:
        self._deadline = deadline
        self._credentials: tuple[tuple[str, str], ...] = ((AUTHORIZATION_METADATA, f"Bearer {token}"),) if token else ()

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, RequestT], CallT],
        client_call_details: grpc.ClientCallDetails,
        request: RequestT,
    ) -> CallT:
        caller = _current_caller_or_none()
        acting = ((PROJECT_METADATA, caller.project), (PRINCIPAL_METADATA, caller.principal)) if caller is not None else ()
        metadata = (*(client_call_details.metadata or ()), *self._credentials, *acting)
        timeout = self._deadline if client_call_details.timeout is None else client_call_details.timeout
        return continuation(_changed(client_call_details, timeout=timeout, metadata=metadata), request)


def open_channel(address: str, deadline: float, token: str = "", security: ChannelSecurity | None = None) -> grpc.Channel:
    """A channel to `address` (TLS with `security`, else plaintext) with retries, a default deadline, tracing, and the
    acting project and `token` on every call."""
    options: list[tuple[str, str | int]] = [("grpc.service_config", RETRY_SERVICE_CONFIG), ("grpc.enable_retries", 1)]
    if security is None:
        channel = grpc.insecure_channel(address, options=options)
    else:
        if security.server_name:
            options.append(("grpc.ssl_target_name_override", security.server_name))
        channel = grpc.secure_channel(address, security.credentials, options=options)
    return telemetry.instrument_channel(grpc.intercept_channel(channel, PeerCall(deadline, token)))


def as_peer_error(error: grpc.RpcError) -> PeerError:
    """A failed peer call as a PeerError carrying the peer's code and message."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNAVAILABLE
    details = error.details() if hasattr(error, "details") else str(error)
    return PeerError(code, details or code.name)


class Peers:
    """Stubs of the peer services, each over one long-lived channel."""

    def __init__(
        self, *, metrics: str, alarm: str, policy: str, group: str, deadline: float, token: str = "", security: PeerSecurity | None = None
    ) -> None:
        self._addresses = {"metrics": metrics, "alarm": alarm, "policy": policy, "group": group}
        self._deadline = deadline
        self._token = token
        self._security = security or PeerSecurity()
        self._channels: dict[str, grpc.Channel] = {}
        self._stubs: dict[tuple[str, object], object] = {}
        self._lock = threading.Lock()

    def _channel(self, service: str) -> grpc.Channel:
        with self._lock:
            if service not in self._channels:
                address = self._addresses[service]
                if not address:
                    raise PeerError(grpc.StatusCode.UNAVAILABLE, f"no address configured for the {service} service (--{service}-addr)")
                self._channels[service] = open_channel(address, self._deadline, self._token, self._security.for_address(address))
            return self._channels[service]

    def stub(self, service: str, stub_type: Callable[[grpc.Channel], StubT]) -> StubT:
        """A stub of the peer `service` (made once per type: hot paths ask for it on every call)."""
        key = (service, stub_type)
        stub = self._stubs.get(key)
        if stub is None:
            stub = self._stubs[key] = stub_type(self._channel(service))
        return cast(StubT, stub)

    def address(self, service: str) -> str:
        """The configured address of a peer service."""
        return self._addresses[service]

    @property
    def metrics(self) -> metrics_pb2_grpc.MetricsServiceStub:
        """MetricsService stub."""
        return self.stub("metrics", metrics_pb2_grpc.MetricsServiceStub)

    @property
    def alarm(self) -> alarm_pb2_grpc.AlarmServiceStub:
        """AlarmService stub."""
        return self.stub("alarm", alarm_pb2_grpc.AlarmServiceStub)

    @property
    def policy(self) -> policy_pb2_grpc.PolicyServiceStub:
        """PolicyService stub."""
        return self.stub("policy", policy_pb2_grpc.PolicyServiceStub)

    @property
    def group(self) -> group_pb2_grpc.GroupServiceStub:
        """GroupService stub."""
        return self.stub("group", group_pb2_grpc.GroupServiceStub)

    def close(self) -> None:
        """Close every channel opened."""
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
            self._stubs.clear()


def every_page(read_page: Callable[[str], tuple[Iterable[ItemT], str]], failure: Callable[[PeerError], Exception]) -> list[ItemT]:
    """Every item of a peer's List method, page after page: `read_page(page_token)` answers a page's items and the next
    token ("" on the last page). A failed call (or no peer configured) raises `failure(PeerError)` instead."""
    items: list[ItemT] = []
    page_token = ""
    try:
        while True:
            page, page_token = read_page(page_token)
            items.extend(page)
            if not page_token:
                return items
    except (grpc.RpcError, PeerError) as error:
        raise failure(as_peer_error(error) if isinstance(error, grpc.RpcError) else error) from None
