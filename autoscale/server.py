"""Server bootstrap shared by `autoscale up` and `autoscale serve SERVICE`.

`create_server(settings, builders)` binds one port (TLS when given a certificate:
autoscale.tls), builds each service with the addresses of its peers (its own port for
the services it serves itself), and adds health and reflection (health also on a
plaintext port of its own with `--health-listen`: autoscale.health_port).
`run_until_signalled` serves until SIGTERM/SIGINT, then drains: health goes
NOT_SERVING, workers stop, in-flight calls get a grace period.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field

import grpc
import sqlalchemy as sa
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import CollectorRegistry

from autoscale import telemetry, tls
from autoscale.audit.servicer import AuditServicer
from autoscale.audit.store import AuditLog
from autoscale.config import LISTEN_EXAMPLES, ConfigurationError, Settings, parse_listen
from autoscale.database import Database
from autoscale.errors import ErrorInterceptor
from autoscale.exposition import metrics_route, new_registry
from autoscale.handlers import add_servicer
from autoscale.health_port import HEALTH_LISTEN_FLAG, HealthPort
from autoscale.http_listener import HTTP_LISTEN_FLAG, HttpListener, HttpRequest, HttpResponse, HttpRoute
from autoscale.identity.deployment import Identity, identity_for
from autoscale.identity.interceptor import AuthInterceptor
from autoscale.peers import Peers
from autoscale.quotas.limits import default_limits
from autoscale.quotas.servicer import QuotaServicer
from autoscale.quotas.store import QuotaStore
from autoscale.timeutil import Clock, system_clock
from autoscale.v1 import audit_pb2, audit_pb2_grpc, quota_pb2, quota_pb2_grpc
from autoscale.workers import PeriodicWorker, Worker

log = logging.getLogger(__name__)

QUOTA_SERVICE_NAME = quota_pb2.DESCRIPTOR.services_by_name["QuotaService"].full_name
AUDIT_SERVICE_NAME = audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name
"""Every process serves the quotas and the audit (they live in the deployment's database, beside the API keys)."""

DATABASE_FILE_CHECK_INTERVAL = 1.0
"""Seconds between two looks at whether a SQLite database file is still the one the process opened (a stat each)."""


@dataclass
class ServiceRegistration:
    """What a service contributes to a server: its handlers and background workers."""

    name: str
    """Short name: metrics, alarm, policy or group."""
    full_name: str
    """Fully qualified gRPC service name, e.g. autoscale.v1.MetricsService."""
    add_to_server: Callable[[grpc.Server], None]
    """Adds the servicers (public and internal) to a grpc.Server."""
    internal_names: Sequence[str] = ()
    """Fully qualified names of the internal services it serves to its peers (autoscale.internal.v1)."""
    other_names: Sequence[str] = ()
    """Fully qualified names of the further public services it serves, of other packages (OTLP's, for metrics)."""
    workers: Sequence[Worker] = field(default_factory=list)
    """Background loops, started after the server starts and stopped before it stops."""
    http_routes: Sequence[HttpRoute] = ()
    """What it serves on the HTTP listener (`--http-listen`), when the process has one."""

    @property
    def served_names(self) -> tuple[str, ...]:
        """Every service it serves, by full name: what health and reflection list."""
        return (self.full_name, *self.other_names, *self.internal_names)


@dataclass(frozen=True)
class BuildContext:
    """What a service builder gets: settings, its database, its peers, the projects' quotas, the clock."""

    settings: Settings
    database: Database
    peers: Peers
    quotas: QuotaStore
    process_driver: bool
    """Whether launch configs may run local processes (see _process_driver_allowed)."""
    http_url: str = ""
    """The HTTP listener's URL as senders reach it (`--http-public-url`, or the address bound); empty without one."""
    metrics_registry: CollectorRegistry = field(default_factory=new_registry)
    """Where the service's own metrics go (autoscale.exposition), served at /metrics."""
    clock: Clock = system_clock


ServiceBuilder = Callable[[BuildContext], ServiceRegistration]


class Server:
    """A running gRPC server with the services, health and workers of one process."""

    def __init__(
        self,
        grpc_server: grpc.Server,
        port: int,
        registrations: Sequence[ServiceRegistration],
        health_servicer: health.HealthServicer,
        databases: Sequence[Database],
        peers: Peers,
        grace: float,
        identity_workers: Sequence[Worker] = (),
        health_port: HealthPort | None = None,
        http_listener: HttpListener | None = None,
    ) -> None:
        self.grpc_server = grpc_server
        self.port = port
        self.health_port = health_port
        self.http_listener = http_listener
        self.registrations = registrations
        self._health = health_servicer
        self._databases = databases
        self._peers = peers
        self._grace = grace
        self._identity_workers = identity_workers
        self._database_file_gone = False
        self._database_file_check = (
            PeriodicWorker("database-file-check", DATABASE_FILE_CHECK_INTERVAL, self._check_database_files)
            if any(database.watches_a_file for database in databases)
            else None
        )

    def start(self) -> None:
        """Start serving, then start the background workers."""
        self.grpc_server.start()
        if self.health_port is not None:
            self.health_port.start()
        if self.http_listener is not None:
            self.http_listener.start()
        if self._database_file_check is not None:
            self._database_file_check.start()
        for worker in self._identity_workers:
            worker.start()
        for registration in self.registrations:
            for worker in registration.workers:
                worker.start()

    def stop(self) -> None:
        """Drain and stop: NOT_SERVING, workers stopped, in-flight calls finished."""
        self._health.enter_graceful_shutdown()
        if self._database_file_check is not None:
            self._database_file_check.stop()
        for registration in self.registrations:
            for worker in registration.workers:
                worker.stop()
        if self.http_listener is not None:  # /healthz said NOT_SERVING until now; signals in flight finish on their threads
            self.http_listener.stop()
        self.grpc_server.stop(self._grace).wait()
        if self.health_port is not None:  # only now: orchestrators see NOT_SERVING while calls drain
            self.health_port.stop()
        for worker in self._identity_workers:
            worker.stop()
        self._peers.close()
        for database in self._databases:
            database.dispose()

    def wait(self) -> None:
        """Block until the server stops."""
        self.grpc_server.wait_for_termination()

    def _check_database_files(self) -> None:
        """Health NOT_SERVING, for the server and every service it serves, public and internal (they share its database),
        once a SQLite file is gone.

        The calls themselves are refused by the database (DatabaseFileGone, UNAVAILABLE); health tells
        orchestrators and load balancers, so that they send those calls elsewhere (or restart the process).
        """
        if self._database_file_gone:
            return
        for database in self._databases:
            reason = database.missing_file()
            if reason is not None:
                self._database_file_gone = True
                log.error("%s", reason)
                served = (name for registration in self.registrations for name in registration.served_names)
                for service in ("", *served):
                    self._health.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
                return


def _peer_address(configured: str, served_here: bool, own_address: str) -> str:
    if configured:
        return configured
    return own_address if served_here else ""


def create_server(
    settings: Settings,
    builders: Sequence[tuple[str, ServiceBuilder]],
    *,
    database_file: str = "autoscale.db",
    clock: Clock = system_clock,
) -> tuple[Server, int]:
    """Build a server for the named services on `settings.listen`; returns (server, port).

    `builders` pairs each short service name with its builder. The services share one
    database (`settings.database_url`, or the default SQLite file `database_file`).
    ConfigurationError, saying what to change, when the address cannot be listened on or
    the database cannot be used.
    """
    host, requested_port = parse_listen(settings.listen)
    _check_listenable(host, requested_port)
    beyond = _beyond_loopback(host, requested_port)
    if settings.auth == "none":
        _check_exposure(host, requested_port, beyond, insecure=settings.insecure)
    process_driver = _process_driver_allowed(settings, beyond)
    security = tls.server_tls(settings, services_call_each_other=len(builders) > 1)
    telemetry.configure_tracing("autoscale-" + "-".join(name for name, _ in builders), os.environ)
    database = Database(settings.resolved_database_url(database_file))
    try:
        identity = identity_for(settings, database, clock, remote_peers=_remote_peers(settings, builders))
        audit = AuditLog(database)
    except sa.exc.OperationalError as error:
        database.dispose()
        raise _unusable_database(database, error) from None
    except BaseException:
        database.dispose()
        raise
    grpc_server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="grpc"),
        interceptors=[*telemetry.server_interceptors(), ErrorInterceptor(), AuthInterceptor(identity.authenticator, audit, clock)],
        options=[("grpc.so_reuseport", 0)],
    )
    try:
        if security.credentials is None:
            port = grpc_server.add_insecure_port(settings.listen)
        else:
            port = grpc_server.add_secure_port(settings.listen, security.credentials)
    except RuntimeError:
        port = 0  # taken between the check and the bind
    health_port: HealthPort | None = None
    http_listener: HttpListener | None = None
    try:
        if port == 0:
            raise ConfigurationError(f"cannot listen on {settings.listen}; choose another address with --listen, e.g. {LISTEN_EXAMPLES}")
        if settings.health_listen:
            _check_listenable(*parse_listen(settings.health_listen, HEALTH_LISTEN_FLAG), flag=HEALTH_LISTEN_FLAG)
            health_port = HealthPort(settings.health_listen)
        if settings.http_listen:
            _check_listenable(*parse_listen(settings.http_listen, HTTP_LISTEN_FLAG), flag=HTTP_LISTEN_FLAG)
            http_listener = HttpListener(settings.http_listen, tls.http_server_context(settings))
        server = _build_server(
            settings, builders, grpc_server, host, port, database, identity, audit, process_driver, clock, security,
            health_port, http_listener,
        )
        return server, port
    except BaseException:
        grpc_server.stop(None)
        if health_port is not None:
            health_port.stop()
        if http_listener is not None:
            http_listener.stop()
        database.dispose()
        raise


def _remote_peers(settings: Settings, builders: Sequence[tuple[str, ServiceBuilder]]) -> list[str]:
    """The addresses of peers that other processes serve."""
    served = {name for name, _ in builders}
    configured = {
        "metrics": settings.metrics_addr, "alarm": settings.alarm_addr, "policy": settings.policy_addr, "group": settings.group_addr,
    }
    return [address for name, address in configured.items() if address and name not in served]


def _unusable_database(database: Database, error: sa.exc.OperationalError) -> ConfigurationError:
    return ConfigurationError(
        f"cannot use the database {database.shown_url}: {' '.join(str(error.orig).split())}; "
        "check --database-url, and that the database is running or the file and its directory are writable"
    )


def _build_server(
    settings: Settings,
    builders: Sequence[tuple[str, ServiceBuilder]],
    grpc_server: grpc.Server,
    host: str,
    port: int,
    database: Database,
    identity: Identity,
    audit: AuditLog,
    process_driver: bool,
    clock: Clock,
    security: tls.ServerTls,
    health_port: HealthPort | None,
    http_listener: HttpListener | None,
) -> Server:
    """The services, health and reflection on a bound `grpc_server`."""
    own_address = f"{'127.0.0.1' if host in ('', '0.0.0.0', '[::]') else host}:{port}"
    served = {name for name, _ in builders}
    peers = Peers(
        metrics=_peer_address(settings.metrics_addr, "metrics" in served, own_address),
        alarm=_peer_address(settings.alarm_addr, "alarm" in served, own_address),
        policy=_peer_address(settings.policy_addr, "policy" in served, own_address),
        group=_peer_address(settings.group_addr, "group" in served, own_address),
        deadline=settings.peer_timeout,
        token=identity.peer_token,
        security=security.peer_security(own_address),
    )
    try:
        quotas = QuotaStore(database, clock, default_limits(settings.metrics_max_series))
        http_url = settings.http_public_url.rstrip("/") or (http_listener.base_url if http_listener is not None else "")
        registry = new_registry()
        context = BuildContext(
            settings=settings, database=database, peers=peers, quotas=quotas, process_driver=process_driver,
            http_url=http_url, metrics_registry=registry, clock=clock,
        )
        registrations = [build(context) for _, build in builders]
    except sa.exc.OperationalError as error:
        # The services' first statements (their migrations) are the first to reach the database.
        raise _unusable_database(database, error) from None

    # NOTE: blocking watchers (a server thread each, fed through a queue): the non-blocking ones send under the
    # servicer's lock, and a send to a Watch the client had just cancelled could hold it for ever, so that the
    # NOT_SERVING of a graceful stop never returned (seen once in ten runs of the deleted-database test, loaded).
    health_servicer = health.HealthServicer(experimental_non_blocking=False)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, grpc_server)
    if health_port is not None:
        health_port.serve(health_servicer)
    served_names = [name for registration in registrations for name in registration.served_names]
    served_names += [QUOTA_SERVICE_NAME, AUDIT_SERVICE_NAME]
    add_servicer(quota_pb2_grpc.add_QuotaServiceServicer_to_server, QuotaServicer(quotas, settings.admin_project), grpc_server)
    add_servicer(audit_pb2_grpc.add_AuditServiceServicer_to_server, AuditServicer(audit, settings.admin_project), grpc_server)
    for registration in registrations:
        registration.add_to_server(grpc_server)
    for name in served_names:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection([*served_names, health.SERVICE_NAME, reflection.SERVICE_NAME], grpc_server)
    if http_listener is not None:
        routes = [route for registration in registrations for route in registration.http_routes]
        http_listener.serve([*routes, _healthz_route(health_servicer), metrics_route(registry)])
    return Server(
        grpc_server, port, registrations, health_servicer, [database], peers, settings.shutdown_grace, identity.workers,
        health_port, http_listener,
    )


def _healthz_route(health_servicer: health.HealthServicer) -> HttpRoute:
    """`GET /healthz`: 200 while the process serves, 503 once it drains or its database file is gone (as the health
    service's overall status says)."""

    def answer(request: HttpRequest) -> HttpResponse:
        status = health_servicer.Check(health_pb2.HealthCheckRequest(service=""), None).status
        serving = status == health_pb2.HealthCheckResponse.SERVING
        return HttpResponse(200 if serving else 503, b"ok\n" if serving else b"not serving\n", "text/plain; charset=utf-8")

    return HttpRoute("GET", "/healthz", answer)


def _check_listenable(host: str, port: int, flag: str = "--listen") -> None:
    """ConfigurationError saying why HOST:PORT cannot be listened on, if it cannot; nothing stays bound.

    NOTE: gRPC answers a failed bind with "Failed to bind" alone (and logs its reason to stderr
    itself), so the address is tried first with a socket of our own, as gRPC binds: with
    SO_REUSEADDR, on every address the host resolves to, and fine when one of them binds.
    """
    listen = f"{host}:{port}"
    try:
        addresses = socket.getaddrinfo(host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise ConfigurationError(
            f"{flag} {listen}: {host!r} is neither an address nor a name that resolves; use e.g. {LISTEN_EXAMPLES}"
        ) from None
    failure: OSError | None = None
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
                return
            except OSError as error:
                failure = failure or error
    if failure is not None:
        raise ConfigurationError(_bind_failure(flag, listen, host, port, failure))


def _beyond_loopback(host: str, port: int) -> list[str]:
    """The addresses HOST:PORT listens on that other machines reach (none: loopback only)."""
    resolved = socket.getaddrinfo(host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    addresses = {str(address[0]) for _, _, _, _, address in resolved}
    # An IPv6 address may carry its interface after a %.
    return sorted(address for address in addresses if not ipaddress.ip_address(address.split("%")[0]).is_loopback)


def _process_driver_allowed(settings: Settings, beyond: list[str]) -> bool:
    """Whether launch configs may run local processes: they run any command as this service's user, so only where every
    caller is this machine's user (auth off, loopback only), unless an operator turns them on (--enable-process-driver)."""
    if settings.enable_process_driver:
        log.warning("the local process driver is on (--enable-process-driver): admins of any project can run commands "
                    "on this host as its user")
        return True
    return settings.auth == "none" and not beyond


def _check_exposure(host: str, port: int, beyond: list[str], *, insecure: bool) -> None:
    """ConfigurationError when HOST reaches beyond this machine (`beyond`: the addresses that do) and `insecure` was not
    given: no caller is authenticated, and one who can reach the port can do anything, start commands on this host
    included (a launch config is a command).

    Says in the log that authentication is off either way.
    """
    listen = f"{host}:{port}"
    if not beyond:
        log.info("authentication is off: listening on loopback only (%s), every caller acts in the project given by --project", listen)
        return
    if not insecure:
        raise ConfigurationError(
            f"--listen {listen} reaches beyond this machine ({', '.join(beyond)}) and no caller is authenticated: anyone who "
            "reaches the port could start commands here; listen on loopback (e.g. 127.0.0.1:50051), or give --insecure to "
            "accept that"
        )
    log.warning("authentication is off and --listen %s reaches beyond this machine (--insecure): anyone who reaches the port "
                "can do anything, start commands on this host included", listen)


def _bind_failure(flag: str, listen: str, host: str, port: int, error: OSError) -> str:
    """Why binding HOST:PORT (given by `flag`) failed, and what to do, in words."""
    if error.errno == errno.EADDRINUSE:
        return f"{flag} {listen}: port {port} is already in use; stop what listens there or choose another port"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"{flag} {listen}: {host} is not an address of this machine; listen on one of its addresses, e.g. {LISTEN_EXAMPLES}"
    if error.errno == errno.EACCES:
        return f"{flag} {listen}: port {port} needs privileges to listen on; choose a port above 1023"
    return f"{flag} {listen}: cannot listen there ({error.strerror}); choose another address, e.g. {LISTEN_EXAMPLES}"


SIGNAL_CHECK_INTERVAL = 0.5
"""Seconds between two looks of the main thread for a signal handed to another thread."""


def run_until_signalled(server: Server) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully."""
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.start()
        # NOTE: in turns, not one wait: the kernel may hand the signal to another thread, and Python runs its
        # handler only in the main thread, once that wakes; a wait without end then never ended (seen in CI).
        while not stopping.wait(SIGNAL_CHECK_INTERVAL):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
