"""What every benchmark shares: real `autoscale` processes, temporary databases, RSS sampling, results.

The services run as real subprocesses (`autoscale up`, `autoscale serve X`) on free
ports, each waited for until gRPC health says SERVING and stopped with SIGINT. The
peak memory of each is read from /proc (VmHWM, and VmRSS polled by a thread, so
that a series over time is available for the growth check of the ingest run).

The benchmark's own calls go in plaintext without credentials, or, given an `Access`,
over TLS with a bearer token on every call (a mesh started with `--auth` and TLS).
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from autoscale.v1 import quota_pb2
from autoscale.v1.alarm_pb2_grpc import AlarmServiceStub
from autoscale.v1.quota_pb2_grpc import QuotaServiceStub

BIN_DIR = Path(sys.executable).parent
AUTOSCALE = str(BIN_DIR / "autoscale")
POSTGRES_URL = os.environ.get("AUTOSCALE_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
SERVICES = ("metrics", "alarm", "policy", "group")


# Results


@dataclass
class Figure:
    """One measured figure next to the raw limit measured in the same run.

    `ratio` is figure / raw (for rates: the share of the raw limit reached; for
    latencies: how many times the raw round trip it takes). `met` is None when the
    issue sets no target for the figure.
    """

    name: str
    value: float
    unit: str
    raw: float | None = None
    raw_unit: str = ""
    raw_what: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class BenchResult:
    """What one benchmark measured: its figures, the peak RSS of every service process, notes and errors."""

    benchmark: str
    figures: list[Figure] = field(default_factory=list)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def ratio(value: float, raw: float | None) -> float | None:
    return None if not raw else value / raw


# How the benchmark's calls reach the services


@dataclass(frozen=True)
class Access:
    """How the benchmark's calls reach a server: over TLS checked against a CA, with a bearer token on every call.

    Paths and strings only, so that it can be handed to a spawned client process.
    """

    ca_file: str = ""
    """PEM CA the server's certificate is checked against; empty: plaintext."""
    token: str = ""
    """Sent as `authorization: Bearer <token>` on every call; empty: no credentials."""


class BearerToken(grpc.UnaryUnaryClientInterceptor):
    """Puts `authorization: Bearer <token>` on every unary call, as a user's client does (the CLI's --token)."""

    def __init__(self, token: str) -> None:
        self._metadata = (("authorization", f"Bearer {token}"),)

    def intercept_unary_unary(self, continuation: Callable[..., Any], client_call_details: Any, request: Any) -> Any:
        details = _CallDetails(
            client_call_details.method,
            client_call_details.timeout,
            (*(client_call_details.metadata or ()), *self._metadata),
            client_call_details.credentials,
            client_call_details.wait_for_ready,
            client_call_details.compression,
        )
        return continuation(details, request)


class _CallDetails(
    collections.namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
    grpc.ClientCallDetails,
):
    pass


def channel(address: str, access: Access | None = None) -> grpc.Channel:
    """A channel with large messages allowed: plaintext, or as `access` says (TLS, a bearer token on every call)."""
    options = [("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)]
    if access is None or not access.ca_file:
        chan = grpc.insecure_channel(address, options=options)
    else:
        credentials = grpc.ssl_channel_credentials(root_certificates=Path(access.ca_file).read_bytes())
        chan = grpc.secure_channel(address, credentials, options=options)
    if access is not None and access.token:
        chan = grpc.intercept_channel(chan, BearerToken(access.token))
    return chan


# Small helpers


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of `values` (fraction in [0, 1])."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll `condition` until it returns something truthy; TimeoutError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except grpc.RpcError as error:
            last_error = error
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:g}s waiting for {what} (last error: {last_error})")


def wait_healthy(
    address: str, timeout: float = 60, process: subprocess.Popen[bytes] | None = None, access: Access | None = None
) -> None:
    """Wait until the server at `address` (reached as `access` says) answers SERVING for ""."""
    with channel(address, access) as chan:
        health = health_pb2_grpc.HealthStub(chan)

        def serving() -> bool:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"process exited with status {process.returncode} before serving on {address}")
            response = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
            return response.status == health_pb2.HealthCheckResponse.SERVING

        wait_until(serving, timeout, f"{address} to be healthy", interval=0.1)


# Memory


def read_status_kb(pid: int, key: str) -> int | None:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM), or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler:
    """Polls VmRSS of named processes in a thread; keeps the peak (with VmHWM) and a time series."""

    def __init__(self, interval: float = 0.25) -> None:
        self._interval = interval
        self._pids: dict[str, int] = {}
        self._peak_kb: dict[str, int] = {}
        self.series: dict[str, list[tuple[float, int]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def watch(self, name: str, pid: int) -> None:
        with self._lock:
            self._pids[name] = pid
            self.series.setdefault(name, [])

    def sample(self, name: str) -> int | None:
        """Sample one process now (VmRSS kB), recording it; None when it is gone."""
        with self._lock:
            pid = self._pids.get(name)
        if pid is None:
            return None
        rss = read_status_kb(pid, "VmRSS")
        hwm = read_status_kb(pid, "VmHWM")
        with self._lock:
            if rss is not None:
                self.series[name].append((time.monotonic(), rss))
            known = [x for x in (rss, hwm, self._peak_kb.get(name)) if x is not None]
            if known:
                self._peak_kb[name] = max(known)
        return rss

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                names = list(self._pids)
            for name in names:
                self.sample(name)

    def peak_mb(self) -> dict[str, float]:
        with self._lock:
            return {name: round(kb / 1024, 1) for name, kb in self._peak_kb.items()}

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# Databases


def postgres_available() -> bool:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def temp_database(kind: str, directory: Path, name: str = "bench") -> Iterator[str]:
    """A fresh empty database URL: a SQLite file in `directory`, or a PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / (name + '.db')}"
        return
    if kind != "postgres":
        raise ValueError(kind)
    import sqlalchemy as sa

    schema = "bench_" + uuid.uuid4().hex[:12]
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.connect() as connection:
            # Connections of a killed server may linger a moment; the drop waits on their locks.
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


# Processes


class ServiceProcess:
    """One running `autoscale` process; its output goes to a log file."""

    def __init__(
        self,
        name: str,
        args: list[str],
        log_path: Path,
        address: str,
        environment: dict[str, str] | None = None,
        access: Access | None = None,
    ) -> None:
        self.name = name
        self.address = address
        self.access = access
        """How its port is reached (None: plaintext)."""
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [AUTOSCALE, *args], stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, **(environment or {})}
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 60) -> int | None:
        """SIGINT, then wait; SIGKILL when it does not exit within `timeout` s. The exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


@dataclass
class Mesh:
    """The four services as running processes: the address of each service, and the processes."""

    addresses: dict[str, str]
    processes: list[ServiceProcess]
    sampler: RssSampler
    workdir: Path
    access: Access | None = None
    """How the benchmark's calls reach the services (None: plaintext, no credentials)."""

    def channel(self, address: str) -> grpc.Channel:
        """A channel to one of the services, as `access` says."""
        return channel(address, self.access)

    @property
    def metrics(self) -> str:
        return self.addresses["metrics"]

    @property
    def alarm(self) -> str:
        return self.addresses["alarm"]

    @property
    def policy(self) -> str:
        return self.addresses["policy"]

    @property
    def group(self) -> str:
        return self.addresses["group"]

    def process(self, name: str) -> ServiceProcess:
        return next(p for p in self.processes if p.name == name)


def _common_args(database_url: str, workdir: Path, options: dict[str, Any]) -> list[str]:
    args = ["--database-url", database_url, "--instance-log-dir", str(workdir / "instances")]
    for key, value in options.items():
        flag = f"--{key.replace('_', '-')}"
        if value is True:
            args.append(flag)  # a flag without a value (--enable-process-driver)
        else:
            args += [flag, str(value)]
    return args


@contextlib.contextmanager
def mesh(
    mode: str,
    database_url: str | dict[str, str],
    workdir: Path,
    sampler: RssSampler,
    log_level: str = "warning",
    access: Access | None = None,
    environment: dict[str, str] | None = None,
    **options: Any,
) -> Iterator[Mesh]:
    """The services, up: `mode` "up" (one process) or "serve" (four processes; `database_url` may map each service to its own).

    `options` are CLI flags (alarm_sweep_interval=30 -> --alarm-sweep-interval 30; True: a flag without a value);
    `environment` is added to the processes' environment; `access` is how the services' ports are reached (TLS, the
    token: what the flags ask of callers).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    processes: list[ServiceProcess] = []
    try:
        if mode == "up":
            address = f"127.0.0.1:{free_port()}"
            url = database_url if isinstance(database_url, str) else database_url["metrics"]
            args = ["--log-level", log_level, "up", "--listen", address, *_common_args(url, workdir, options)]
            processes.append(ServiceProcess("up", args, workdir / "up.log", address, environment, access))
            addresses = dict.fromkeys(SERVICES, address)
        elif mode == "serve":
            addresses = {name: f"127.0.0.1:{free_port()}" for name in SERVICES}
            peers = [f"--{name}-addr={addresses[name]}" for name in SERVICES]
            for name in SERVICES:
                url = database_url if isinstance(database_url, str) else database_url[name]
                args = ["--log-level", log_level, "serve", name, "--listen", addresses[name], *peers, *_common_args(url, workdir, options)]
                processes.append(ServiceProcess(name, args, workdir / f"{name}.log", addresses[name], environment, access))
                # One at a time: migrations of a shared database must not race.
                _wait_started(processes[-1])
        else:
            raise ValueError(mode)
        for process in processes:
            _wait_started(process)
            sampler.watch(process.name, process.pid)
        yield Mesh(addresses, processes, sampler, workdir, access)
    finally:
        for process in processes:
            sampler.sample(process.name)
        for process in reversed(processes):
            process.stop()


@contextlib.contextmanager
def serve_one(
    service: str,
    database_url: str,
    workdir: Path,
    sampler: RssSampler,
    peers: dict[str, str] | None = None,
    log_level: str = "warning",
    **options: Any,
) -> Iterator[ServiceProcess]:
    """One `autoscale serve SERVICE` process, its peers at the addresses given (`peers`: service -> address)."""
    workdir.mkdir(parents=True, exist_ok=True)
    address = f"127.0.0.1:{free_port()}"
    peer_args = [f"--{name}-addr={peer}" for name, peer in (peers or {}).items()]
    args = ["--log-level", log_level, "serve", service, "--listen", address, *peer_args, *_common_args(database_url, workdir, options)]
    process = ServiceProcess(service, args, workdir / f"{service}-{address.rsplit(':', 1)[1]}.log", address)
    try:
        _wait_started(process)
        sampler.watch(service, process.pid)
        yield process
    finally:
        sampler.sample(service)
        process.stop()


def _wait_started(process: ServiceProcess) -> None:
    try:
        wait_healthy(process.address, process=process.process, access=process.access)
    except (TimeoutError, RuntimeError) as error:
        raise RuntimeError(f"autoscale {process.name} did not become healthy: {error}\n{process.log_tail()}") from None


@contextlib.contextmanager
def workspace(prefix: str) -> Iterator[Path]:
    """A temporary directory, removed afterwards (AUTOSCALE_BENCH_KEEP=1 keeps it, for the logs)."""
    directory = Path(tempfile.mkdtemp(prefix=f"autoscale-bench-{prefix}-"))
    try:
        yield directory
    finally:
        if not os.environ.get("AUTOSCALE_BENCH_KEEP"):
            import shutil

            shutil.rmtree(directory, ignore_errors=True)


# Raw limits shared by several benchmarks


def _health_server(port_queue: Any, stop_event: Any, certificate: tuple[str, str] | None = None) -> None:
    """A child process: a bare gRPC server with only the health service, until `stop_event` is set.

    With `certificate` (PEM certificate and key files) it serves TLS only.
    """
    from concurrent import futures

    from grpc_health.v1 import health

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    if certificate is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        cert_file, key_file = certificate
        credentials = grpc.ssl_server_credentials([(Path(key_file).read_bytes(), Path(cert_file).read_bytes())])
        port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    port_queue.put(port)
    stop_event.wait()
    server.stop(0)


@contextlib.contextmanager
def bare_grpc_server(certificate: tuple[str, str] | None = None, access: Access | None = None) -> Iterator[str]:
    """A tiny gRPC server (health only) in a child process; yields its address.

    With `certificate` (PEM certificate and key files) it serves TLS only, and `access` says how to reach it.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    stop = context.Event()
    child = context.Process(target=_health_server, args=(ports, stop, certificate), daemon=True)
    child.start()
    try:
        address = f"127.0.0.1:{ports.get(timeout=30)}"
        wait_healthy(address, access=access)
        yield address
    finally:
        stop.set()
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join()


class LoopbackRoundTrips:
    """Sequential unary calls (health Check) to a bare server over one channel, timed `hops` at a time.

    With `access`, the channel is made the way the benchmark's calls to the services are (TLS, the bearer token).
    """

    def __init__(self, address: str, hops: int, access: Access | None = None) -> None:
        self._channel = channel(address, access)
        self._check = health_pb2_grpc.HealthStub(self._channel).Check
        self._request = health_pb2.HealthCheckRequest(service="")
        self._hops = hops
        for _ in range(50):
            self._check(self._request)

    def measure(self, repetitions: int) -> list[float]:
        """Seconds taken by `hops` sequential calls, `repetitions` times."""
        samples = []
        for _ in range(repetitions):
            start = time.perf_counter()
            for _ in range(self._hops):
                self._check(self._request)
            samples.append(time.perf_counter() - start)
        return samples

    def close(self) -> None:
        self._channel.close()


def loopback_calls_per_second(address: str, threads: int, seconds: float) -> float:
    """Unary calls per second that `threads` threads of this process get from a bare server."""
    with channel(address) as chan:
        stub = health_pb2_grpc.HealthStub(chan)
        request = health_pb2.HealthCheckRequest(service="")
        stub.Check(request)
        counts = [0] * threads
        end = time.monotonic() + seconds

        def work(slot: int) -> None:
            while time.monotonic() < end:
                stub.Check(request)
                counts[slot] += 1

        workers = [threading.Thread(target=work, args=(slot,)) for slot in range(threads)]
        start = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return sum(counts) / (time.monotonic() - start)


def set_quota(address: str, project: str = "default", access: Access | None = None, **limits: int) -> None:
    """Set `project`'s quota limits as an operator does (the meshes here run with authentication off, where every caller
    may): a benchmark that holds more than a project's defaults (5000 alarms, as AWS's) raises them first."""
    request = quota_pb2.UpdateQuotaRequest(quota=quota_pb2.Quota(name=f"projects/{project}/quota"))
    for resource, value in limits.items():
        setattr(request.quota, resource, value)
    request.update_mask.paths.extend(limits)
    with channel(address, access) as chan:
        QuotaServiceStub(chan).UpdateQuota(request, timeout=30)


def create_alarms(address: str, requests: list[Any], threads: int = 8, access: Access | None = None) -> None:
    """Create the alarms from a thread pool (each CreateAlarm also queues an evaluation)."""
    with channel(address, access) as chan:
        stub = AlarmServiceStub(chan)
        with ThreadPoolExecutor(threads) as pool:
            for _ in pool.map(lambda request: stub.CreateAlarm(request, timeout=60), requests):
                pass
