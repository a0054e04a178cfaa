"""The plumbing every client command shares: address, deadline, the call, its errors, its output.

`client_command(SERVICE)` gives a command `--addr`, `--timeout`, `--json`, `--token` and the
TLS flags, and hands it a `Client`. The address comes from `--addr`, else `AUTOSCALE_<SVC>_ADDR`,
else `AUTOSCALE_ADDR`, else 127.0.0.1:50051 (where `autoscale up` listens). With `--tls-ca`
the calls go over TLS (with `--tls-cert` and `--tls-key`, mutual TLS). Every call carries
the `--timeout` deadline, and `--token` (else AUTOSCALE_TOKEN) as a bearer token. A failed call becomes `RpcFailed`, which
prints `error: CODE: message` and the field violations to stderr and exits 1.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol, cast

import click
import grpc
from google.protobuf.message import Message

from app.cli.output import print_json
from app.cli.params import FiniteRange
from autoscale.config import DEFAULT_LISTEN, ConfigurationError
from autoscale.errors import field_violations
from autoscale.v1 import (
    alarm_pb2,
    alarm_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    group_pb2,
    group_pb2_grpc,
    metrics_pb2,
    metrics_pb2_grpc,
    policy_pb2,
    policy_pb2_grpc,
    quota_pb2,
    quota_pb2_grpc,
)

DEFAULT_ADDR = DEFAULT_LISTEN
"""Where client commands call when no flag or variable says otherwise: `autoscale up`'s default."""

DEFAULT_TIMEOUT = 10.0
"""Seconds each call may take unless --timeout says otherwise."""

ANY_SERVICE_ADDR_ENVVAR = "AUTOSCALE_ADDR"
"""The variable read when the service's own one is not set: the address of the whole mesh."""

TOKEN_ENVVAR = "AUTOSCALE_TOKEN"
"""The variable holding the caller's credentials when --token is not given."""

INTERRUPTED_EXIT_CODE = 130
"""Exit status after Ctrl-C, as shells report a process ended by SIGINT."""



class ListRequest(Protocol):
    """The request of a List method: it names the page it asks for."""

    page_token: str


@dataclass(frozen=True)
class Service:
    """One of the four services as the command line calls it."""

    name: str
    """Short name, as in `autoscale serve NAME`."""

    stub_class: type
    """The generated stub class."""

    messages: ModuleType
    """The generated module of its request and response messages."""

    @property
    def addr_envvar(self) -> str:
        """The variable naming this service's address, e.g. AUTOSCALE_GROUP_ADDR."""
        return f"AUTOSCALE_{self.name.upper()}_ADDR"


METRICS = Service("metrics", metrics_pb2_grpc.MetricsServiceStub, metrics_pb2)
ALARM = Service("alarm", alarm_pb2_grpc.AlarmServiceStub, alarm_pb2)
POLICY = Service("policy", policy_pb2_grpc.PolicyServiceStub, policy_pb2)
GROUP = Service("group", group_pb2_grpc.GroupServiceStub, group_pb2)
QUOTA = Service("quota", quota_pb2_grpc.QuotaServiceStub, quota_pb2)
AUDIT = Service("audit", audit_pb2_grpc.AuditServiceStub, audit_pb2)
"""Every process serves the quotas and the audit."""


class RpcFailed(click.ClickException):
    """A call that failed: shown as `error: CODE: message`, one line per field violation, and a hint."""

    exit_code = 1

    def __init__(self, error: grpc.RpcError, client: Client) -> None:
        # NOTE: every RpcError raised by a blocking stub call is also a grpc.Call, which has code() and details().
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        details = error.details() if hasattr(error, "details") else str(error)
        super().__init__(details or code.name)
        self.code = code
        self.lines = [f"error: {code.name}: {details}"]
        self.lines += [f"  {violation.field}: {violation.description}" for violation in field_violations(error)]
        if code == grpc.StatusCode.UNAVAILABLE:
            tls = (" Over TLS, --tls-ca must have signed its certificate, which must name the host of --addr"
                   if client.credentials is not None else " If it serves TLS, give --tls-ca")
            self.lines.append(f"hint: is autoscale up (or autoscale serve {client.service.name}) running at {client.address}?{tls}")
        elif code == grpc.StatusCode.UNAUTHENTICATED:
            self.lines.append("hint: give an API key or Keystone token with --token, or set AUTOSCALE_TOKEN")
        elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
            self.lines.append(f"hint: no answer from {client.address} within {client.timeout:g}s; a larger --timeout may help")

    def show(self, file: Any = None) -> None:
        """Print the error lines to stderr (instead of click's `Error: ...`)."""
        for line in self.lines:
            click.echo(line, err=True, file=file)


class Client:
    """Calls one service at one address, each call with the deadline, and prints what it answers."""

    def __init__(
        self,
        service: Service,
        address: str,
        timeout: float,
        json_output: bool,
        credentials: grpc.ChannelCredentials | None = None,
        token: str = "",
    ) -> None:
        self.service = service
        self.address = address
        self.timeout = timeout
        self.json_output = json_output
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None
        self.credentials = credentials
        """TLS credentials of the channel; None: plaintext."""
        self._channel: grpc.Channel | None = None

    def sibling(self, service: Service) -> Client:
        """A client of another service, with this one's deadline, output, TLS and token: at its own address variable
        (AUTOSCALE_<SERVICE>_ADDR), else this one's address (as `autoscale up` serves all four)."""
        address = os.environ.get(service.addr_envvar) or self.address
        sibling = Client(service, address, self.timeout, self.json_output, self.credentials)
        sibling._metadata = self._metadata
        return sibling

    def call(self, rpc: str, request: Message) -> Any:
        """Call `rpc` (e.g. "GetGroup") with the deadline; RpcFailed when it fails."""
        if self._channel is None:
            self._channel = (
                grpc.insecure_channel(self.address) if self.credentials is None else grpc.secure_channel(self.address, self.credentials)
            )
        method = getattr(self.service.stub_class(self._channel), rpc)
        try:
            return method(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise RpcFailed(error, self) from None

    def list_all(self, rpc: str, request: Message, items_field: str) -> Any:
        """Call a List method page after page; one response holding every item and no next_page_token."""
        merged = self.call(rpc, request)
        response = merged
        while response.next_page_token:
            cast(ListRequest, request).page_token = response.next_page_token
            response = self.call(rpc, request)
            getattr(merged, items_field).extend(getattr(response, items_field))
        merged.next_page_token = ""
        return merged

    def emit(self, response: Message, render: Callable[[], None]) -> None:
        """Print `response` as JSON with --json, else call `render` to print it for people."""
        if self.json_output:
            print_json(response)
        else:
            render()

    def close(self) -> None:
        """Close the channel, if a call opened one."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None


class TlsFilesMistake(click.ClickException):
    """A TLS flag naming a file that cannot be used: one line on stderr and exit status 2, as a usage error."""

    exit_code = 2


def channel_credentials(ca: str, certificate: str, key: str) -> grpc.ChannelCredentials | None:
    """The TLS credentials the --tls-ca, --tls-cert and --tls-key files make (None when none is given); TlsFilesMistake
    naming the flag and the file when they cannot be used."""
    if not (ca or certificate or key):
        return None
    # NOTE: imported only when asked for: it loads cryptography, which would cost every other command 45 ms.
    from autoscale import tls

    try:
        return tls.channel_credentials(tls.PemFile("--tls-ca", ca), tls.PemFile("--tls-cert", certificate), tls.PemFile("--tls-key", key))
    except ConfigurationError as error:
        raise TlsFilesMistake(str(error)) from None


def client_command(service: Service) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command --addr, --timeout, --json and the TLS flags, and pass it `client`, a Client of `service`.

    Put it under `@group.command(...)` and above the command's own options.
    """

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @click.option(
            "--addr",
            envvar=[service.addr_envvar, ANY_SERVICE_ADDR_ENVVAR],
            show_envvar=True,
            default=DEFAULT_ADDR,
            show_default=True,
            metavar="HOST:PORT",
            help=f"Address of the {service.name} service.",
        )
        @click.option(
            "--timeout",
            type=FiniteRange(min=0, min_open=True),
            default=DEFAULT_TIMEOUT,
            show_default=True,
            help="Seconds each call may take.",
        )
        @click.option("--json", "json_output", is_flag=True, help="Print the response as JSON (a list: all its pages).")
        @click.option("--token", envvar=TOKEN_ENVVAR, show_envvar=True, default="", metavar="TOKEN",
                      help="API key or Keystone token to call with (when the server authenticates callers).")
        @click.option("--tls-ca", envvar="AUTOSCALE_TLS_CA", show_envvar=True, default="", metavar="FILE",
                      help="Call over TLS, checking the server's certificate against these PEM CA certificates.")
        @click.option("--tls-cert", envvar="AUTOSCALE_TLS_CERT", show_envvar=True, default="", metavar="FILE",
                      help="PEM client certificate, for a server that asks for one (mutual TLS; needs --tls-ca).")
        @click.option("--tls-key", envvar="AUTOSCALE_TLS_KEY", show_envvar=True, default="", metavar="FILE",
                      help="PEM private key of --tls-cert.")
        @functools.wraps(function)
        def command(
            *args: Any, addr: str, timeout: float, json_output: bool, token: str, tls_ca: str, tls_cert: str, tls_key: str,
            **kwargs: Any,
        ) -> Any:
            client = Client(service, addr, timeout, json_output, channel_credentials(tls_ca, tls_cert, tls_key), token)
            try:
                return function(*args, client=client, **kwargs)
            except KeyboardInterrupt:
                # click would print "Aborted!" and exit 1; an interrupted command exits quietly, as SIGINT does.
                raise click.exceptions.Exit(INTERRUPTED_EXIT_CODE) from None
            finally:
                client.close()

        return command

    return decorate
