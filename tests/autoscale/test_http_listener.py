"""The HTTP listener on its own: routing, whole bodies to handlers, JSON errors, bounded connections, and HTTPS."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Iterator

import pytest

from autoscale import tls
from autoscale.config import ConfigurationError, Settings
from autoscale.http_listener import (
    MAX_CONNECTIONS_PER_ADDRESS,
    HttpListener,
    HttpRequest,
    HttpResponse,
    HttpRoute,
)


def _echo(request: HttpRequest) -> HttpResponse:
    return HttpResponse.json(200, {"method": request.method, "path": request.path, "body": request.body.decode(),
                                   "header": request.headers.get("x-test", "")})


def _fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


@pytest.fixture
def listener() -> Iterator[HttpListener]:
    listener = HttpListener("127.0.0.1:0")
    listener.serve([HttpRoute("POST", "/echo/", _echo), HttpRoute("GET", "/exact", _echo), HttpRoute("GET", "/fail", _fail)])
    listener.start()
    try:
        yield listener
    finally:
        listener.stop()


def _request(listener: HttpListener, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    connection = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


def test_routes_take_an_exact_path_or_every_path_under_a_prefix(listener):
    status, body, _ = _request(listener, "POST", "/echo/abc?query=1", b"hello", {"X-Test": "yes"})
    assert status == 200
    assert json.loads(body) == {"method": "POST", "path": "/echo/abc", "body": "hello", "header": "yes"}
    assert _request(listener, "GET", "/exact")[0] == 200
    assert _request(listener, "POST", "/echo/")[0] == 200
    assert _request(listener, "POST", "/echo")[0] == 404
    assert _request(listener, "GET", "/exact/more")[0] == 404


def test_wrong_methods_are_405_with_allow_and_unknown_paths_404_in_json(listener):
    status, body, headers = _request(listener, "GET", "/echo/x")
    assert (status, headers["Allow"], json.loads(body)) == (405, "POST", {"error": "use POST"})
    status, body, _ = _request(listener, "GET", "/nowhere")
    assert (status, json.loads(body)) == (404, {"error": "no such path"})


def test_a_failing_handler_is_a_500_and_the_listener_goes_on(listener):
    status, body, _ = _request(listener, "GET", "/fail")
    assert (status, json.loads(body)) == (500, {"error": "internal error; see the service's log"})
    assert _request(listener, "GET", "/exact")[0] == 200


@pytest.mark.parametrize(("headers", "status"), [({"Content-Length": "abc"}, 400), ({"Content-Length": str(2 << 20)}, 413)])
def test_bad_or_huge_lengths_are_refused_before_a_body_is_read(listener, headers, status):
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as raw:
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        raw.sendall(f"POST /echo/x HTTP/1.1\r\nHost: x\r\n{lines}\r\n".encode())
        answer = raw.recv(4096).decode()
    assert answer.startswith(f"HTTP/1.1 {status} ")
    assert "Connection: close" in answer


def test_one_address_holds_a_bounded_number_of_connections(listener):
    held = [socket.create_connection(("127.0.0.1", listener.port), timeout=5) for _ in range(MAX_CONNECTIONS_PER_ADDRESS)]
    try:
        # The listener counts a connection once it accepts it: one request on the last makes sure all were.
        held[-1].sendall(b"GET /exact HTTP/1.1\r\nHost: x\r\n\r\n")
        assert held[-1].recv(4096).startswith(b"HTTP/1.1 200 ")
        with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as one_more:
            answer = one_more.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503 ") and b"too many connections" in answer
    finally:
        for connection in held:
            connection.close()


def test_a_port_in_use_is_a_configuration_error_naming_the_flag(listener):
    with pytest.raises(ConfigurationError) as raised:
        HttpListener(f"127.0.0.1:{listener.port}")
    assert "--http-listen" in str(raised.value)


def test_with_a_certificate_it_serves_https(tls_files):
    settings = Settings(tls_cert=str(tls_files.server_cert), tls_key=str(tls_files.server_key))
    listener = HttpListener("127.0.0.1:0", tls.http_server_context(settings))
    listener.serve([HttpRoute("GET", "/exact", _echo)])
    listener.start()
    try:
        assert listener.base_url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(tls_files.ca))
        connection = http.client.HTTPSConnection("127.0.0.1", listener.port, context=context, timeout=5)
        connection.request("GET", "/exact")
        assert connection.getresponse().status == 200
        connection.close()
        with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as plaintext:
            plaintext.sendall(b"GET /exact HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                answer = plaintext.recv(4096)
            except ConnectionResetError:
                answer = b""
            assert not answer.startswith(b"HTTP/1.1 200")
    finally:
        listener.stop()
