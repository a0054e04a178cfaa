"""The HTTP/1.1 listener (`--http-listen`): receivers' signals, /metrics and /healthz, for peers that speak no gRPC.

Alertmanager, Aodh, scripts and Prometheus's scraper call it. Routes are given by the services a process serves; each
handler gets a whole request (a body of at most MAX_BODY bytes, read before it is called) and answers a whole
response. It is bounded against what an attacker sends: at most MAX_CONNECTIONS connections at once, and
MAX_CONNECTIONS_PER_ADDRESS of one client address (the next are answered 503 and closed), each with a socket timeout
(a silent sender is dropped), bodies with a Content-Length only (chunked uploads are refused with 411), and no
request path is logged (a receiver's path is its secret). With a TLS certificate (`--tls-cert`) it serves HTTPS with
the same certificate as the gRPC port; the handshake runs in the connection's own thread, so a slow one holds up no
other.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from autoscale.config import ConfigurationError, parse_listen

log = logging.getLogger(__name__)

HTTP_LISTEN_FLAG = "--http-listen"
MAX_BODY = 1 << 20
"""Bytes of a request body at most (1 MiB: Alertmanager's largest notifications, of hundreds of alerts, fit)."""
MAX_CONNECTIONS = 64
"""Connections served at once; each holds a thread while it is open."""
MAX_CONNECTIONS_PER_ADDRESS = 16
"""Connections of one client address at once: one sender that holds its connections open (slowly, on purpose or not)
leaves room for the others."""
SOCKET_TIMEOUT = 10.0
"""Seconds a connection may stay silent (mid-request, or idle between kept-alive requests) before it is closed."""
LINGER_SECONDS = 2.0
"""Seconds a connection whose body was refused unread is read and discarded before it closes (see _discard_unread)."""


@dataclass(frozen=True)
class HttpRequest:
    """A request as a handler sees it."""

    method: str
    path: str
    """The path, without the query string."""
    headers: Mapping[str, str]
    """Header names in lower case (the last of repeated headers)."""
    body: bytes


@dataclass(frozen=True)
class HttpResponse:
    """A handler's answer."""

    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def json(cls, status: int, value: Any) -> HttpResponse:
        """A JSON answer."""
        return cls(status, json.dumps(value, ensure_ascii=False).encode())


@dataclass(frozen=True)
class HttpRoute:
    """A handler of one method, for one path or (a path ending in "/") it and every path under it."""

    method: str
    path: str
    handle: Callable[[HttpRequest], HttpResponse]

    def matches(self, path: str) -> bool:
        """Whether this route serves `path`."""
        return path == self.path or (self.path.endswith("/") and path.startswith(self.path))


def error_response(status: int, message: str) -> HttpResponse:
    """A JSON error: {"error": message}."""
    return HttpResponse.json(status, {"error": message})


class HttpListener:
    """A bound HTTP listener; give it its routes with `serve`, then `start` it."""

    def __init__(self, listen: str, ssl_context: ssl.SSLContext | None = None) -> None:
        """Bind `listen` (HOST:PORT; port 0 picks one); ConfigurationError naming --http-listen when it cannot."""
        host, port = parse_listen(listen, HTTP_LISTEN_FLAG)
        bare_host = host.strip("[]")
        try:
            self._server = _Server((bare_host, port), ssl_context, ipv6=":" in bare_host)
        except OSError as error:
            raise ConfigurationError(
                f"{HTTP_LISTEN_FLAG} {listen}: cannot listen there ({error.strerror}); choose another address"
            ) from None
        self.host = host
        self.port: int = self._server.server_address[1]
        """The port bound."""
        self.scheme = "https" if ssl_context is not None else "http"
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """`http(s)://HOST:PORT` as bound (an unspecified host shown as 127.0.0.1)."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else "[::1]" if self.host == "[::]" else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def serve(self, routes: Sequence[HttpRoute]) -> None:
        """Answer requests with `routes`."""
        self._server.routes = list(routes)

    def start(self) -> None:
        """Start answering, on a thread of its own."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting and close the socket (requests in flight finish on their threads)."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], ssl_context: ssl.SSLContext | None, *, ipv6: bool) -> None:
        self.address_family = socket.AF_INET6 if ipv6 else socket.AF_INET
        super().__init__(address, _Handler)
        self.routes: list[HttpRoute] = []
        self.ssl_context = ssl_context
        self._open = 0
        self._open_by_address: dict[str, int] = {}
        self._count_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._admit(client_address[0]):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release(client_address[0])
            raise

    def _admit(self, address: str) -> bool:
        with self._count_lock:
            held = self._open_by_address.get(address, 0)
            if self._open >= MAX_CONNECTIONS or held >= MAX_CONNECTIONS_PER_ADDRESS:
                return False
            self._open += 1
            self._open_by_address[address] = held + 1
            return True

    def _release(self, address: str) -> None:
        with self._count_lock:
            self._open -= 1
            held = self._open_by_address.pop(address) - 1
            if held:
                self._open_by_address[address] = held

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            if self.ssl_context is not None:
                request.settimeout(SOCKET_TIMEOUT)
                try:
                    request = self.ssl_context.wrap_socket(request, server_side=True)
                except (OSError, ssl.SSLError) as error:
                    log.debug("TLS handshake with %s failed: %s", client_address[0], error)
                    self.shutdown_request(request)
                    return
            super().process_request_thread(request, client_address)
        finally:
            self._release(client_address[0])

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("HTTP connection from %s failed", client_address[0])


def _refuse_busy(request: socket.socket) -> None:
    body = b'{"error": "too many connections; retry"}'
    try:
        request.setblocking(False)  # the accepting thread must not wait on a client that does not read
        request.sendall(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nRetry-After: 1\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
    except OSError:
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT
    # NOTE: headers and body go out in two writes; with Nagle's algorithm the body waits for the client's delayed
    # ACK of the headers on a kept-alive connection (40 ms on Linux).
    disable_nagle_algorithm = True
    server: _Server
    server_version = "autoscale"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        path = self.path.split("?", 1)[0]
        routes = [route for route in self.server.routes if route.matches(path)]
        if not routes:
            self._answer(error_response(HTTPStatus.NOT_FOUND, "no such path"))
            return
        route = next((route for route in routes if route.method == self.command), None)
        if route is None:
            allowed = ", ".join(sorted({route.method for route in routes}))
            self._answer(error_response(HTTPStatus.METHOD_NOT_ALLOWED, f"use {allowed}"), {"Allow": allowed})
            return
        body = self._read_body()
        if body is None:
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            response = route.handle(HttpRequest(self.command, path, headers, body))
        except Exception:
            log.exception("the handler of %s %s failed", self.command, route.path)
            response = error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error; see the service's log")
        self._answer(response)

    def _read_body(self) -> bytes | None:
        """The body; None once a refusal is answered (the connection is then closed)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._answer(error_response(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length, not chunked"))
            return None
        declared = self.headers.get("Content-Length", "0").strip() or "0"
        if not declared.isdigit():
            self.close_connection = True
            self._answer(error_response(HTTPStatus.BAD_REQUEST, "Content-Length must be a number of bytes"))
            return None
        length = int(declared)
        if length > MAX_BODY:
            self.close_connection = True
            self._answer(error_response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body must be at most {MAX_BODY} bytes"))
            self._discard_unread(length)
            return None
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            self.close_connection = True
            return None
        return body

    def _discard_unread(self, declared: int) -> None:
        """After refusing a body unread: end our side, then read what the client still sends (at most `declared` bytes,
        LINGER_SECONDS in all) before the socket closes.

        NOTE: closed with unread data, a socket sends a reset, and the client's kernel may then drop our answer before
        the client reads it: a client still sending its body would see a broken connection, not the 413 (Apache's
        "lingering close")."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            left = declared
            while left > 0 and (remaining := deadline - time.monotonic()) > 0:
                self.connection.settimeout(remaining)
                chunk = self.connection.recv(min(left, 65536))
                if not chunk:
                    return
                left -= len(chunk)
        except OSError:
            return

    def _answer(self, response: HttpResponse, extra_headers: Mapping[str, str] | None = None) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """Silent: a request line holds a receiver's secret path; outcomes are logged by the handlers."""
