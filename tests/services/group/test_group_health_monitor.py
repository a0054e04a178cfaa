"""Health checks run for real (a TCP listener, an HTTP server, a program), and the monitor that keeps their results."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from services.group.health import HealthCheck, HealthStatus, ProbeKind, ProbeResult
from services.group.health_monitor import MAX_CHECKS_IN_FLIGHT_PER_PROJECT, HealthMonitor, InstanceKey, ProbeTarget, probe_target, run_probe

KEY = InstanceKey("p1", "web", "i-1")


def target(port: int, host: str = "127.0.0.1") -> ProbeTarget:
    return ProbeTarget(host, port, "p1", "web", "i-1")


@pytest.fixture
def http_server() -> Iterator[tuple[int, dict[str, Any]]]:
    """A real HTTP server on loopback answering GETs with the status in `behaviour["status"]` (paths recorded), or never
    answering while `behaviour["hang"]` is set."""
    behaviour: dict[str, Any] = {"status": 200, "paths": [], "hang": threading.Event(), "release": threading.Event()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            behaviour["paths"].append(self.path)
            if behaviour["hang"].is_set():
                behaviour["release"].wait(5)
            self.send_response(behaviour["status"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], behaviour
    behaviour["release"].set()
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_tcp_check_passes_while_the_port_accepts_and_fails_naming_why_when_it_does_not():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert run_probe(HealthCheck(ProbeKind.TCP), target(port)) == ProbeResult(True, f"127.0.0.1:{port} accepts connections")
    port = closed_port()
    refused = ProbeResult(False, f"cannot connect to 127.0.0.1:{port}: Connection refused")
    assert run_probe(HealthCheck(ProbeKind.TCP), target(port)) == refused


def test_an_http_check_passes_on_2xx_and_3xx_asks_the_path_and_fails_on_5xx(http_server):
    port, behaviour = http_server
    check = HealthCheck(ProbeKind.HTTP, path="/healthz?deep=1")
    assert run_probe(check, target(port)) == ProbeResult(True, f"HTTP 200 from http://127.0.0.1:{port}/healthz?deep=1")
    behaviour["status"] = 302
    assert run_probe(check, target(port)).healthy
    behaviour["status"] = 503
    assert run_probe(check, target(port)) == ProbeResult(False, f"HTTP 503 from http://127.0.0.1:{port}/healthz?deep=1")
    assert behaviour["paths"] == ["/healthz?deep=1"] * 3


def test_an_http_check_that_gets_no_answer_fails_within_its_timeout(http_server):
    port, behaviour = http_server
    behaviour["hang"].set()
    result = run_probe(HealthCheck(ProbeKind.HTTP, path="/", timeout=0.2), target(port))
    assert result == ProbeResult(False, f"GET http://127.0.0.1:{port}/ failed: timed out")


def test_a_check_of_a_port_names_the_missing_port_when_neither_the_check_nor_the_instance_has_one():
    result = run_probe(HealthCheck(ProbeKind.HTTP), target(0))
    assert not result.healthy and "no port to check" in result.detail


def test_a_command_check_passes_on_status_0_and_is_told_the_instance_address():
    script = "import os, sys; print(os.environ['AUTOSCALE_INSTANCE_HOST'], os.environ['AUTOSCALE_INSTANCE_PORT']," \
             " os.environ['AUTOSCALE_INSTANCE']); sys.exit(0 if os.environ['AUTOSCALE_INSTANCE_PORT'] == '8080' else 3)"
    check = HealthCheck(ProbeKind.COMMAND, command=(sys.executable, "-c", script))
    assert run_probe(check, target(8080, "10.0.0.5")) == ProbeResult(True, f"{sys.executable} exited with status 0: 10.0.0.5 8080 i-1")
    failed = run_probe(check, target(9090, "10.0.0.5"))
    assert failed == ProbeResult(False, f"{sys.executable} exited with status 3: 10.0.0.5 9090 i-1")


def test_a_command_check_that_overruns_its_timeout_is_killed_and_fails():
    check = HealthCheck(ProbeKind.COMMAND, command=(sys.executable, "-c", "import time; time.sleep(30)"), timeout=0.3)
    assert run_probe(check, target(80)) == ProbeResult(False, f"{sys.executable} did not finish within 0.3s")


def test_a_command_that_cannot_run_fails_naming_it():
    result = run_probe(HealthCheck(ProbeKind.COMMAND, command=("/nonexistent/check",)), target(80))
    assert result == ProbeResult(False, "cannot run '/nonexistent/check': No such file or directory")


@pytest.mark.parametrize(
    ("check", "address", "expected"),
    [
        (HealthCheck(ProbeKind.HTTP), "127.0.0.1:4100", target(4100)),
        (HealthCheck(ProbeKind.HTTP, port=8080), "127.0.0.1:4100", target(8080)),
        (HealthCheck(ProbeKind.TCP, port=22), "10.0.0.7", target(22, "10.0.0.7")),
        (HealthCheck(ProbeKind.TCP), "10.0.0.7", target(0, "10.0.0.7")),
        (HealthCheck(ProbeKind.TCP, port=22), "[fd00::7]", target(22, "fd00::7")),
        (HealthCheck(ProbeKind.TCP), "", None),
    ],
)
def test_a_check_connects_to_its_own_port_or_else_the_instances(check, address, expected):
    assert probe_target(check, address, "p1", "web", "i-1") == expected


class InlineExecutor(Executor):
    """Runs each probe at once, in the caller's thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


class ScriptedProbe:
    """Answers each probe with the next of `results`, recording when it was asked."""

    def __init__(self, *results: bool) -> None:
        self.results = list(results)
        self.calls = 0

    def __call__(self, check: HealthCheck, probe_target: ProbeTarget) -> ProbeResult:
        self.calls += 1
        healthy = self.results.pop(0)
        return ProbeResult(healthy, "ok" if healthy else "refused")


def test_the_monitor_checks_each_instance_once_an_interval_and_judges_its_results_in_a_row():
    probe = ScriptedProbe(True, False, False, False)
    monitor = HealthMonitor(probe, InlineExecutor())
    check = HealthCheck(ProbeKind.TCP, interval=10.0, unhealthy_threshold=3)
    assert monitor.verdict(KEY, check, target(80), 0.0).status is HealthStatus.HEALTHY
    assert monitor.verdict(KEY, check, target(80), 5.0).status is HealthStatus.HEALTHY  # not due: no new check
    assert probe.calls == 1
    statuses = [monitor.verdict(KEY, check, target(80), now).status for now in (10.0, 20.0, 30.0)]
    assert statuses == [HealthStatus.HEALTHY, HealthStatus.HEALTHY, HealthStatus.UNHEALTHY]
    assert probe.calls == 4


class HeldExecutor(Executor):
    """Holds each probe until the test runs it: a check in flight for as long as the test wants."""

    def __init__(self) -> None:
        self.held: list[tuple[Future[Any], Callable[[], Any]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self.held.append((future, lambda: fn(*args, **kwargs)))
        return future

    def run_held(self) -> None:
        held, self.held = self.held, []
        for future, call in held:
            future.set_result(call())


def test_a_check_in_flight_is_never_waited_for_nor_started_twice():
    executor = HeldExecutor()
    monitor = HealthMonitor(ScriptedProbe(False), executor)
    check = HealthCheck(ProbeKind.TCP, interval=1.0, unhealthy_threshold=1)
    assert monitor.verdict(KEY, check, target(80), 0.0).status is HealthStatus.UNKNOWN
    assert monitor.verdict(KEY, check, target(80), 5.0).status is HealthStatus.UNKNOWN  # still in flight: not started again
    assert len(executor.held) == 1
    executor.run_held()
    assert monitor.verdict(KEY, check, target(80), 6.0).status is HealthStatus.UNHEALTHY


def test_an_instance_without_an_address_fails_its_checks_and_a_changed_check_starts_afresh():
    probe = ScriptedProbe(True)
    monitor = HealthMonitor(probe, InlineExecutor())
    check = HealthCheck(ProbeKind.TCP, interval=1.0, unhealthy_threshold=1)
    verdict = monitor.verdict(KEY, check, None, 0.0)
    assert verdict.status is HealthStatus.UNHEALTHY and "no address" in verdict.reason
    assert monitor.verdict(KEY, HealthCheck(ProbeKind.TCP, port=81, unhealthy_threshold=1), target(81), 0.5).status is HealthStatus.HEALTHY


def test_forget_drops_the_results_of_instances_no_longer_checked():
    probe = ScriptedProbe(False, False)
    monitor = HealthMonitor(probe, InlineExecutor())
    check = HealthCheck(ProbeKind.TCP, interval=1.0, unhealthy_threshold=2)
    monitor.verdict(KEY, check, target(80), 0.0)
    monitor.forget("p1", "web", keep=["i-other"])
    assert monitor.verdict(KEY, check, target(80), 0.5).status is HealthStatus.UNKNOWN  # one failure, not two


def test_command_checks_run_nothing_where_local_processes_are_off():
    probe = ScriptedProbe()
    monitor = HealthMonitor(probe, InlineExecutor(), commands=False)
    verdict = monitor.verdict(KEY, HealthCheck(ProbeKind.COMMAND, command=("/bin/true",)), target(80), 0.0)
    assert verdict.status is HealthStatus.UNKNOWN and "command health checks are off" in verdict.reason
    assert probe.calls == 0


def test_one_projects_hanging_checks_hold_a_few_threads_at_most_and_the_others_checks_still_start():
    executor = HeldExecutor()
    monitor = HealthMonitor(ScriptedProbe(*[True] * 20), executor)
    check = HealthCheck(ProbeKind.TCP, interval=1.0)
    for n in range(12):  # a project with 12 instances whose checks never answer
        monitor.verdict(InstanceKey("slow", "web", f"i-{n}"), check, target(80), 0.0)
    assert len(executor.held) == MAX_CHECKS_IN_FLIGHT_PER_PROJECT
    monitor.verdict(InstanceKey("other", "api", "i-1"), check, target(80), 0.0)
    assert len(executor.held) == MAX_CHECKS_IN_FLIGHT_PER_PROJECT + 1
    executor.run_held()
    for n in range(12):  # once they answered, the ones left out start
        monitor.verdict(InstanceKey("slow", "web", f"i-{n}"), check, target(80), 0.5)
    assert len(executor.held) == 4
