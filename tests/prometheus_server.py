"""A real Prometheus for the tests (Debian's `prometheus`), scraping an exporter of the test's own, on loopback.

`Exporter` serves gauges in the Prometheus text format from the test process; a test
sets their values. `FakePrometheus` answers query_range as Prometheus does, to see
what a client sends it (credentials, TLS). `started_prometheus` runs /usr/bin/prometheus on a free loopback
port with a data directory and a configuration of its own that scrapes the exporter
every SCRAPE_INTERVAL, waits until /-/ready answers, and stops it at the end. What
cannot be done raises PrometheusUnavailable, naming the step that failed: the
fixtures turn it into a skip (scripts/install_test_peers.sh installs the package).
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.peer_support import PeerUnavailable, await_answer, free_port, stop_process

PROMETHEUS = "/usr/bin/prometheus"
START_TIMEOUT = 60.0
"""Seconds Prometheus may take to answer /-/ready."""
SCRAPE_INTERVAL = "1s"


class PrometheusUnavailable(PeerUnavailable):
    """Prometheus is not installed here or could not start; the message says which."""


class Exporter:
    """Gauges served at http://127.0.0.1:<port>/metrics in the Prometheus text format; values set by the test."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._lock = threading.Lock()
        values, lock = self._values, self._lock

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with lock:
                    lines = [
                        f"{name}{{{','.join(f'{key}={json.dumps(value)}' for key, value in labels)}}} {number!r}"
                        for (name, labels), number in sorted(values.items())
                    ]
                body = ("\n".join(lines) + "\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-exporter", daemon=True)
        self._thread.start()

    def set(self, name: str, value: float, **labels: str) -> None:
        """Serve gauge `name{labels}` with `value` from now on."""
        with self._lock:
            self._values[(name, tuple(sorted(labels.items())))] = value

    def remove(self, name: str, **labels: str) -> None:
        """Stop serving gauge `name{labels}`."""
        with self._lock:
            self._values.pop((name, tuple(sorted(labels.items()))), None)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakePrometheus:
    """An HTTP server (HTTPS with `certificate`: cert and key files) answering every query_range with one series of value 1
    at its end (or `answers`, while some are queued), remembering each request's headers and form: what a client sends
    Prometheus, seen."""

    def __init__(self, certificate: tuple[Path, Path] | None = None) -> None:
        self.requests: list[tuple[Message, dict[str, list[str]]]] = []
        self.answers: list[bytes] = []
        """Bodies answered first, in order (each taken once)."""
        requests, answers = self.requests, self.answers

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                requests.append((self.headers, form))  # (headers: names in any case)
                end = float(form["end"][0])
                body = answers.pop(0) if answers else json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
                    {"metric": {}, "values": [[end, "1"]]},
                ]}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if certificate is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*certificate)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class PrometheusServer:
    """A running Prometheus and the exporter it scrapes."""

    url: str
    exporter: Exporter
    folder: Path

    def query(self, expression: str) -> list[dict[str, Any]]:
        """The result of an instant query now (its vector)."""
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expression})}", timeout=5) as answer:
            result: list[dict[str, Any]] = json.load(answer)["data"]["result"]
            return result

    def wait_for_value(self, expression: str, value: float, timeout: float = 20.0) -> None:
        """Return once the instant query `expression` answers one series of `value` (the exporter's value was scraped)."""
        deadline = time.monotonic() + timeout
        seen: Any = None
        while time.monotonic() < deadline:
            seen = self.query(expression)
            if len(seen) == 1 and float(seen[0]["value"][1]) == value:
                return
            time.sleep(0.2)
        raise AssertionError(f"Prometheus did not see {expression} = {value} within {timeout:g}s (last: {seen})")


def unavailable_reason() -> str | None:
    """Why Prometheus cannot be started here (None when its binary is installed)."""
    if shutil.which(PROMETHEUS) is None:
        return f"{PROMETHEUS} is not installed (Debian package prometheus; scripts/install_test_peers.sh installs it)"
    return None


@contextmanager
def started_prometheus(folder: Path) -> Iterator[PrometheusServer]:
    """A Prometheus configured in `folder` (empty) scraping a new Exporter every SCRAPE_INTERVAL, served until the block
    ends."""
    reason = unavailable_reason()
    if reason is not None:
        raise PrometheusUnavailable(reason)
    exporter = Exporter()
    try:
        (folder / "prometheus.yml").write_text(
            "global:\n"
            f"  scrape_interval: {SCRAPE_INTERVAL}\n"
            f"  evaluation_interval: {SCRAPE_INTERVAL}\n"
            "scrape_configs:\n"
            "  - job_name: test\n"
            "    static_configs:\n"
            f"      - targets: ['{exporter.address}']\n"
        )
        with served(folder) as url:
            yield PrometheusServer(url, exporter, folder)
    finally:
        exporter.close()


@contextmanager
def served(folder: Path) -> Iterator[str]:
    """/usr/bin/prometheus with `folder`/prometheus.yml and a data directory in `folder`, on a free loopback port, until the
    block ends; yields its URL."""
    port = free_port()
    log_path = folder / f"prometheus-{port}.log"
    with open(log_path, "w") as log_file:
        try:
            process = subprocess.Popen(
                [
                    PROMETHEUS,
                    f"--config.file={folder / 'prometheus.yml'}",
                    f"--storage.tsdb.path={folder / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=folder,
            )
        except OSError as error:
            raise PrometheusUnavailable(f"{PROMETHEUS} cannot be run: {error}") from error
    url = f"http://127.0.0.1:{port}"
    try:
        await_answer(f"{url}/-/ready", process, log_path, what="prometheus", timeout=START_TIMEOUT, unavailable=PrometheusUnavailable)
        yield url
    finally:
        stop_process(process)
