"""Runs instances' health checks beside the reconcile loop, and keeps each instance's recent results.

A check may take its whole timeout (an instance that accepts and never answers), so checks run on
a bounded pool of threads and a reconcile pass never waits for one: each pass hands the monitor
the instances whose checks count, collects the results that came in, starts the checks that are
due (one in flight per instance at most), and reads the verdict of what is known
(`health.judge`). Results live in memory only: after a restart an instance's count of failures
in a row starts again, which delays a replacement by at most a threshold of intervals.

The probes themselves (`run_probe`) connect only to the address the instance's driver gave
(a local process's 127.0.0.1 port, a Nova server's fixed address), never to one a caller names.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

from services.group.drivers.base import split_address
from services.group.health import HealthCheck, HealthStatus, HealthVerdict, ProbeKind, ProbeResult, judge

MAX_CHECKS_IN_FLIGHT = 32
"""Checks running at once, over every group (a thread each)."""
MAX_CHECKS_IN_FLIGHT_PER_PROJECT = 8
"""Checks of one project running or queued at once: a project whose checks hang until their timeout keeps the others'
checks waiting for a quarter of the threads at most (its next checks wait for a later pass)."""
MAX_DETAIL = 200
"""Characters of a probe's detail kept (a command's last output line, an HTTP reason)."""


class ProbeTarget(NamedTuple):
    """Where a check connects, and whose it is (a command is told both)."""

    host: str
    port: int
    """0 when neither the check nor the instance's address gives one."""
    project: str
    group_id: str
    instance_id: str


def probe_target(check: HealthCheck, address: str, project: str, group_id: str, instance_id: str) -> ProbeTarget | None:
    """The target of a check of an instance at `address` ("host:port", "host", "[v6]:port"); None without an address."""
    split = split_address(address)
    if split is None:
        return None
    host, own_port = split
    return ProbeTarget(host, check.port or own_port, project, group_id, instance_id)


def run_probe(check: HealthCheck, target: ProbeTarget) -> ProbeResult:
    """Run one check against the target, within its timeout; never raises."""
    if check.kind is ProbeKind.COMMAND:
        return _run_command(check, target)
    if not target.port:
        return ProbeResult(False, "no port to check: the health check names none and the instance has none")
    if check.kind is ProbeKind.TCP:
        return _connect(check, target)
    return _get(check, target)


def _where(target: ProbeTarget) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    return f"{host}:{target.port}"


def _connect(check: HealthCheck, target: ProbeTarget) -> ProbeResult:
    try:
        with socket.create_connection((target.host, target.port), timeout=check.timeout):
            return ProbeResult(True, f"{_where(target)} accepts connections")
    except OSError as error:
        return ProbeResult(False, f"cannot connect to {_where(target)}: {_os_error(error)}")


def _get(check: HealthCheck, target: ProbeTarget) -> ProbeResult:
    url = f"http://{_where(target)}{check.path}"
    connection = http.client.HTTPConnection(target.host, target.port, timeout=check.timeout)
    try:
        connection.request("GET", check.path, headers={"User-Agent": "autoscale-health-check", "Connection": "close"})
        response = connection.getresponse()
        # Redirects are not followed: a 3xx is an answer, as AWS's and Octavia's HTTP checks take it.
        healthy = 200 <= response.status < 400
        return ProbeResult(healthy, f"HTTP {response.status} from {url}")
    except (OSError, http.client.HTTPException) as error:
        return ProbeResult(False, f"GET {url} failed: {_os_error(error)}")
    finally:
        connection.close()


def _run_command(check: HealthCheck, target: ProbeTarget) -> ProbeResult:
    """Exit status 0 in time is healthy; the command learns the instance's address and ids from its environment."""
    env = {
        **os.environ,
        "AUTOSCALE_INSTANCE_HOST": target.host,
        "AUTOSCALE_INSTANCE_PORT": str(target.port or ""),
        "AUTOSCALE_PROJECT": target.project,
        "AUTOSCALE_GROUP": target.group_id,
        "AUTOSCALE_INSTANCE": target.instance_id,
    }
    try:
        process = subprocess.Popen(
            list(check.command), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as error:
        return ProbeResult(False, f"cannot run {check.command[0]!r}: {_os_error(error)}")
    try:
        output, _ = process.communicate(timeout=check.timeout)
    except subprocess.TimeoutExpired:
        # Its own children (a curl it started) go with it: it leads a session of its own.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.communicate()
        return ProbeResult(False, f"{check.command[0]} did not finish within {check.timeout:g}s")
    lines = [line for line in output.decode(errors="replace").splitlines() if line.strip()]
    said = f": {lines[-1].strip()}" if lines else ""
    return ProbeResult(process.returncode == 0, _bounded(f"{check.command[0]} exited with status {process.returncode}{said}"))


def _os_error(error: Exception) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


class InstanceKey(NamedTuple):
    """One instance of one project's group."""

    project: str
    group_id: str
    instance_id: str


@dataclass
class _Record:
    """One instance's recent results and its check in flight."""

    check: HealthCheck
    results: deque[ProbeResult]
    started: float | None = None
    """When its last check started (the reconcile loop's clock)."""
    in_flight: Future[ProbeResult] | None = field(default=None)


Probe = Callable[[HealthCheck, ProbeTarget], ProbeResult]


class HealthMonitor:
    """Instances' health checks and their recent results; thread-safe (the reconcile loop and DeleteGroup call it)."""

    def __init__(self, probe: Probe = run_probe, executor: Executor | None = None, *, commands: bool = True) -> None:
        """`probe` runs one check; `executor` runs probes (default: a pool of MAX_CHECKS_IN_FLIGHT threads); `commands`:
        whether command checks run (they run programs on the service's host: only where local processes are on)."""
        self._probe = probe
        self._commands = commands
        self._executor = executor or ThreadPoolExecutor(MAX_CHECKS_IN_FLIGHT, thread_name_prefix="health-check")
        self._lock = threading.Lock()
        self._records: dict[InstanceKey, _Record] = {}
        self._in_flight: dict[str, int] = {}
        """Project -> its checks submitted and not yet collected."""

    def verdict(self, key: InstanceKey, check: HealthCheck, target: ProbeTarget | None, now: float) -> HealthVerdict:
        """The instance's health by the results in so far; starts its check when one is due (never waits for it)."""
        if check.kind is ProbeKind.COMMAND and not self._commands:
            # Made where local processes were on: running it now would run a program the deployment no longer allows.
            return HealthVerdict(HealthStatus.UNKNOWN, "command health checks are off in this deployment (local processes are off)")
        with self._lock:
            record = self._records.get(key)
            if record is None or record.check != check:
                if record is not None and record.in_flight is not None:
                    self._in_flight[key.project] -= 1  # the old check's result is of no use
                record = self._records[key] = _Record(check, deque(maxlen=check.unhealthy_threshold))
            self._collect(key.project, record)
            due = record.in_flight is None and (record.started is None or now - record.started >= check.interval)
            if due and target is None:
                record.started = now
                record.results.append(ProbeResult(False, "the instance has no address to check yet"))
            elif due and target is not None and self._in_flight.get(key.project, 0) < MAX_CHECKS_IN_FLIGHT_PER_PROJECT:
                record.started = now
                record.in_flight = self._executor.submit(self._probe, check, target)
                self._in_flight[key.project] = self._in_flight.get(key.project, 0) + 1
                self._collect(key.project, record)
            return judge(list(record.results), check)

    def forget(self, project: str, group_id: str, keep: Iterable[str] = ()) -> None:
        """Drop the results of the group's instances but those of `keep` (gone, or no longer checked)."""
        kept = set(keep)
        with self._lock:
            for key in [k for k in self._records if k.project == project and k.group_id == group_id and k.instance_id not in kept]:
                record = self._records.pop(key)
                if record.in_flight is not None:
                    # It runs out on its own (within its timeout); it no longer holds a place of the project's.
                    self._in_flight[project] -= 1

    def start(self) -> None:
        """Nothing to start: checks start as passes ask for them (a Worker, so that the server stops it)."""

    def stop(self) -> None:
        """Stop taking checks (after the reconcile loop stopped); those running finish on their own, each within its
        timeout."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _collect(self, project: str, record: _Record) -> None:
        """Move a finished check's result into the record's results."""
        future = record.in_flight
        if future is None or not future.done():
            return
        record.in_flight = None
        self._in_flight[project] -= 1
        try:
            record.results.append(future.result())
        except Exception as error:  # a probe never raises; should one, it is a failed check, not a dead loop
            record.results.append(ProbeResult(False, f"the check could not run: {error}"))
