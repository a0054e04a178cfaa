"""The local process driver: each instance is a child process of the group service.

A server id is "<pid>-<start time>", the start time being the process's start in
clock ticks since boot (field 22 of /proc/<pid>/stat). Together they name one process
for as long as the machine runs, so an id stored before a restart of the service
still finds its process afterwards, and a pid the kernel has given to another
process since is never mistaken for (or killed as) the instance. Where /proc is
absent the id is the pid alone, with no such protection.

Instances run in a session of their own: a Ctrl-C in the service's terminal does
not reach them, and they outlive the service, as the group's state says they should.

Each instance is given a TCP port of the loopback interface, free when it is launched, in
AUTOSCALE_PORT: where it serves, if it serves (health checks and load balancer pool files
name it, as `127.0.0.1:<port>`).

Each instance is marked from the moment its program runs: its environment holds
AUTOSCALE_PROJECT, AUTOSCALE_GROUP, AUTOSCALE_INSTANCE and AUTOSCALE_LOCAL_DRIVER (the
absolute path of this driver's log directory, which tells the deployments of one
machine apart). So a process whose launch never returned to the service (it was killed
in between) is still found, by a scan of /proc for session leaders carrying the marks
(see `find_servers`), and only by the pass of its own project's group.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from services.group.drivers.base import CpuReading, DriverError, FoundServer, LaunchRequest, ServerState, ServerStatus

_SERVER_ID = re.compile(r"^(?P<pid>[1-9][0-9]*)(?:-(?P<start>[0-9]+))?$")
_SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*$")
_POLL_INTERVAL = 0.02
_PROCESS_GONE = "process is gone"

DRIVER_MARK_VARIABLE = "AUTOSCALE_LOCAL_DRIVER"
"""The environment variable that marks an instance as started by the local driver of one log directory."""
PORT_VARIABLE = "AUTOSCALE_PORT"
"""The environment variable that gives an instance its port on 127.0.0.1."""
LOOPBACK = "127.0.0.1"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
"""Clock ticks a second, the unit of /proc's CPU times."""


@dataclass(frozen=True)
class _ProcStat:
    """What /proc/<pid>/stat says of a process that this driver cares about."""

    state: str
    parent_pid: int
    session_id: int
    start_time: str
    cpu_ticks: int
    """Clock ticks of CPU the process and its children it waited for have used (utime, stime, cutime, cstime)."""


def _read_proc_stat(pid: int) -> _ProcStat | None:
    """The process's /proc stat line, or None when there is no such process."""
    try:
        line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces and
    # parentheses, so the fields after it are found from the last ")".
    fields = line[line.rindex(")") + 2 :].split()
    return _ProcStat(
        state=fields[0], parent_pid=int(fields[1]), session_id=int(fields[3]), start_time=fields[19],
        cpu_ticks=sum(int(ticks) for ticks in fields[11:15]),
    )


def _read_environment(pid: int) -> dict[bytes, bytes] | None:
    """The environment a process started with (/proc/<pid>/environ), or None when it cannot be read."""
    try:
        data = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone, or another user's
        return None
    environment = {}
    for entry in data.split(b"\0"):
        name, _, value = entry.partition(b"=")
        environment[name] = value
    return environment


def _exit_reason(returncode: int) -> str:
    """Words for a Popen return code (negative: killed by that signal)."""
    if returncode < 0:
        try:
            return f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


OUTPUT_LINES = 3
"""Lines of an exited instance's output its reason quotes (the end of a traceback, say)."""
OUTPUT_TAIL_BYTES = 4096
MAX_OUTPUT_TEXT = 400


def _last_output(log_path: Path | None) -> str:
    """"; last output: ..." with the last OUTPUT_LINES non-empty lines of the log, on one line and bounded; "" when there
    are none or the log cannot be read."""
    if log_path is None:
        return ""
    try:
        with log_path.open("rb") as log_file:
            log_file.seek(max(0, log_path.stat().st_size - OUTPUT_TAIL_BYTES))
            tail = log_file.read().decode(errors="replace")
    except OSError:
        return ""
    printable = ("".join(c if c.isprintable() else " " for c in line) for line in tail.splitlines())
    lines = [" ".join(line.split()) for line in printable if line.strip()][-OUTPUT_LINES:]
    text = " | ".join(lines)
    if not text:
        return ""
    return "; last output: " + (text if len(text) <= MAX_OUTPUT_TEXT else "…" + text[-(MAX_OUTPUT_TEXT - 1):])


OTEL_RESOURCE_VARIABLE = "OTEL_RESOURCE_ATTRIBUTES"
"""Where an OpenTelemetry SDK reads its resource's attributes: the instance's group and id go there, so that anything
aggregating its telemetry can group it by autoscaling group."""


def otel_resource_attributes(given: str, request: LaunchRequest) -> str:
    """The launch config's own OTEL_RESOURCE_ATTRIBUTES (if any), then the instance's project, group and id.

    NOTE: ours come last (an SDK takes the last of a repeated key), so that a launch config cannot fake them; the values
    (ids and project names) hold no character the variable's format would need escaped.
    """
    ours = (
        f"autoscale.project={request.project},autoscale.group={request.group_id},autoscale.instance={request.instance_id},"
        f"service.instance.id={request.instance_id}"
    )
    return f"{given},{ours}" if given.strip() else ours


class LocalProcessDriver:
    """Starts each instance as a local process, its output appended to `log_dir/<project>/<group>/<instance>.log`."""

    def __init__(self, log_dir: Path, terminate_grace: float = 5.0) -> None:
        """`terminate_grace`: seconds a process has to exit after SIGTERM before it gets SIGKILL."""
        self._log_dir = Path(log_dir)
        self._mark = str(self._log_dir.absolute())
        self._terminate_grace = terminate_grace
        self._has_proc = Path("/proc/self/stat").exists()
        self._lock = threading.Lock()
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        """Server id -> the children this driver started; polling them reaps them."""
        self._logs: dict[str, Path] = {}
        """Server id -> the log file of a child (its last lines say why it exited)."""
        self._ports: dict[str, int] = {}
        """Server id -> the port given to it (read back from its environment for a process started before a restart)."""

    def launch(self, request: LaunchRequest) -> str:
        """Start the request's process; its server id is returned. Raises DriverError."""
        spec = request.process
        if spec is None:
            raise DriverError(f"instance {request.instance_id} of group {request.group_id} has no process to run")
        command = list(spec.command)
        if not command:
            raise DriverError("the process command is empty")
        for what, value in (("project", request.project), ("group id", request.group_id), ("instance id", request.instance_id)):
            if not _SAFE_FILE_NAME.match(value):
                raise DriverError(f"the {what} {value!r} cannot name a log file")
        # Two projects may each have a group of the same id: their logs stay apart.
        log_path = self._log_dir / request.project / request.group_id / f"{request.instance_id}.log"
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = log_path.open("ab")
        except OSError as error:
            raise DriverError(f"cannot open the log file {log_path}: {error.strerror or error}") from error
        port = _free_port()
        # The instance inherits the service's environment (PATH, HOME, ...) like any child
        # process would; the AUTOSCALE_* variables are set last so a spec cannot fake them.
        env = {
            **os.environ,
            **spec.env,
            OTEL_RESOURCE_VARIABLE: otel_resource_attributes(spec.env.get(OTEL_RESOURCE_VARIABLE, ""), request),
            "AUTOSCALE_PROJECT": request.project,
            "AUTOSCALE_GROUP": request.group_id,
            "AUTOSCALE_INSTANCE": request.instance_id,
            "AUTOSCALE_METRICS_ADDR": request.metrics_addr,
            PORT_VARIABLE: str(port),
            DRIVER_MARK_VARIABLE: self._mark,
        }
        try:
            with log_file:
                child = subprocess.Popen(
                    command,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except OSError as error:
            raise DriverError(f"cannot start {command[0]!r}: {error.strerror or error}") from error
        server_id = self._server_id(child.pid)
        with self._lock:
            self._children[server_id] = child
            self._logs[server_id] = log_path
            self._ports[server_id] = port
        return server_id

    def find_servers(self, project: str, group_id: str) -> list[FoundServer]:
        """The running processes this driver (of this log directory) started for the project's group, found in /proc.

        An instance leads a session of its own, so only session leaders are read: a workload's
        own children inherit the marks but are not instances. Without /proc, none are found.
        """
        if not self._has_proc:
            return []
        mark, project_mark, group = self._mark.encode(), project.encode(), group_id.encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            stat = _read_proc_stat(pid)
            if stat is None or stat.state == "Z" or stat.session_id != pid:
                continue
            environment = _read_environment(pid)
            if environment is None or environment.get(DRIVER_MARK_VARIABLE.encode()) != mark:
                continue
            instance_id = environment.get(b"AUTOSCALE_INSTANCE", b"")
            if environment.get(b"AUTOSCALE_PROJECT") == project_mark and environment.get(b"AUTOSCALE_GROUP") == group and instance_id:
                found.append(FoundServer(instance_id.decode(errors="replace"), f"{pid}-{stat.start_time}"))
        return found

    def state(self, server_id: str) -> ServerState:
        """RUNNING while the process lives; FAILED once it has exited; GONE for an id this driver cannot have made."""
        parsed = _SERVER_ID.match(server_id)
        if parsed is None:
            return ServerState(ServerStatus.GONE, f"not a local process id: {server_id!r}")
        with self._lock:
            child = self._children.get(server_id)
        if child is not None:
            returncode = child.poll()
            if returncode is None:
                return ServerState(ServerStatus.RUNNING, address=self._address(server_id, child.pid))
            return ServerState(ServerStatus.FAILED, _exit_reason(returncode) + _last_output(self._logs.get(server_id)))
        pid = int(parsed["pid"])
        if self._is_alive(pid, parsed["start"]):
            return ServerState(ServerStatus.RUNNING, address=self._address(server_id, pid))
        return ServerState(ServerStatus.FAILED, _PROCESS_GONE)

    def cpu_readings(self, server_ids: Sequence[str]) -> dict[str, CpuReading]:
        """Seconds of CPU each instance has used, from one scan of /proc (read at its middle): every process of its
        session (an instance leads a session of its own, so a shell's or a pre-fork server's children count), each with
        the children it waited for. Instances gone, another process now (its start time differs), or all of them when
        /proc is absent, are left out."""
        leaders: dict[int, tuple[str, str | None]] = {}
        for server_id in server_ids:
            parsed = _SERVER_ID.match(server_id)
            if parsed is not None:
                leaders[int(parsed["pid"])] = (server_id, parsed["start"])
        if not leaders or not self._has_proc:
            return {}
        ticks: dict[int, int] = {}
        found: dict[int, _ProcStat] = {}
        started = time.monotonic()
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            stat = _read_proc_stat(int(entry.name))
            if stat is None:
                continue
            if stat.session_id in leaders:
                ticks[stat.session_id] = ticks.get(stat.session_id, 0) + stat.cpu_ticks
            if int(entry.name) in leaders:
                found[int(entry.name)] = stat
        read_at = (started + time.monotonic()) / 2
        used = {}
        for pid, (server_id, start) in leaders.items():
            stat = found.get(pid)
            if stat is None or stat.state == "Z" or stat.session_id != pid or (start is not None and stat.start_time != start):
                continue
            used[server_id] = CpuReading(read_at, ticks.get(pid, 0) / _CLOCK_TICKS)
        return used

    def terminate(self, server_id: str) -> None:
        """SIGTERM to the process's group, SIGKILL after the grace period; a process that is gone already is fine."""
        parsed = _SERVER_ID.match(server_id)
        if parsed is None:
            return
        pid, start_time = int(parsed["pid"]), parsed["start"]
        with self._lock:
            child = self._children.get(server_id)
        if child is not None:
            self._terminate_child(child)
            with self._lock:
                self._children.pop(server_id, None)
                self._logs.pop(server_id, None)
                self._ports.pop(server_id, None)
        else:
            self._terminate_adopted(pid, start_time)
            with self._lock:
                self._ports.pop(server_id, None)

    def _address(self, server_id: str, pid: int) -> str:
        """`127.0.0.1:<port>` of a running instance; "" when its port cannot be known (started without one, or its
        environment cannot be read)."""
        with self._lock:
            port = self._ports.get(server_id)
        if port is None:
            environment = _read_environment(pid) or {}
            given = environment.get(PORT_VARIABLE.encode(), b"")
            if not given.isdigit():
                return ""
            port = int(given)
            with self._lock:
                self._ports[server_id] = port
        return f"{LOOPBACK}:{port}"

    def _server_id(self, pid: int) -> str:
        if not self._has_proc:
            return str(pid)
        stat = _read_proc_stat(pid)
        if stat is None:
            # Unreachable for an unreaped child: its /proc entry stays until it is reaped.
            raise DriverError(f"the process {pid} vanished before it could be identified")
        return f"{pid}-{stat.start_time}"

    def _terminate_child(self, child: subprocess.Popen[bytes]) -> None:
        """Stop a child of this driver; until it is reaped its pid cannot be reused, so signalling it is safe."""
        if child.poll() is not None:
            return
        _signal_group(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=self._terminate_grace)
        except subprocess.TimeoutExpired:
            _signal_group(child.pid, signal.SIGKILL)
            child.wait()

    def _terminate_adopted(self, pid: int, start_time: str | None) -> None:
        """Stop a process started before a restart of the service, only if it is still the same process."""
        if not self._is_alive(pid, start_time):
            self._reap_if_own_child(pid, start_time)
            return
        _signal_group(pid, signal.SIGTERM)
        if not self._wait_until_dead(pid, start_time, self._terminate_grace):
            _signal_group(pid, signal.SIGKILL)
            self._wait_until_dead(pid, start_time, self._terminate_grace)
        self._reap_if_own_child(pid, start_time)

    def _is_alive(self, pid: int, start_time: str | None) -> bool:
        """Whether the process of that id still runs (not a zombie, not another process under a reused pid)."""
        if not self._has_proc:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
        stat = _read_proc_stat(pid)
        if stat is None or stat.state == "Z":
            return False
        return start_time is None or stat.start_time == start_time

    def _wait_until_dead(self, pid: int, start_time: str | None, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._is_alive(pid, start_time):
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_INTERVAL)
        return True

    def _reap_if_own_child(self, pid: int, start_time: str | None) -> None:
        """Collect a dead adopted process that is, after all, a child of this process (else it stays a zombie)."""
        if not self._has_proc:
            return
        stat = _read_proc_stat(pid)
        if stat is None or stat.state != "Z" or stat.parent_pid != os.getpid():
            return
        if start_time is None or stat.start_time == start_time:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _free_port() -> int:
    """A TCP port of the loopback interface that no one listens on now.

    NOTE: another program may take it before the instance binds it; the instance then fails its health
    check (or to start), and is replaced with another port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def _signal_group(pid: int, signum: signal.Signals) -> None:
    """Signal the process group an instance leads (it started a session, so its group id is its pid)."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass
    except PermissionError as error:
        raise DriverError(f"not allowed to signal the process {pid}: {error.strerror}") from error
