"""Typed, frozen configuration, built once from flags and environment and passed in.

No other module reads `os.environ`: the command line builds a `Settings` and hands
it to the server, which hands what each part needs to that part.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

DEFAULT_LISTEN = "127.0.0.1:50051"
DEFAULT_PROJECT = "default"
LISTEN_EXAMPLES = "127.0.0.1:50051 (this machine only) or 0.0.0.0:50051 (every interface)"


AUTH_MODES = ("none", "keys", "keystone")


class ConfigurationError(Exception):
    """A setting a process cannot start with. Its message is one line for people: what is wrong and how to fix it."""


def parse_listen(listen: str, flag: str = "--listen") -> tuple[str, int]:
    """The host (as written, `[::1]` keeps its brackets; may be empty) and the port of a HOST:PORT address.

    ConfigurationError, naming `flag`, unless the port is a number from 0 (any free port) to 65535.
    """
    host, separator, port = listen.rpartition(":")
    if not separator:
        raise ConfigurationError(f"{flag} {listen} is not HOST:PORT; write e.g. {LISTEN_EXAMPLES}")
    if not (port.isascii() and port.isdigit() and int(port) <= 65535):
        raise ConfigurationError(f"{flag} {listen}: the port must be a number from 0 to 65535; write e.g. {LISTEN_EXAMPLES}")
    return host, int(port)


def default_state_dir() -> Path:
    """The user's state directory for autoscale (e.g. ~/.local/state/autoscale)."""
    return Path(platformdirs.user_state_dir("autoscale"))


def default_database_url(file_name: str = "autoscale.db") -> str:
    """A SQLite file under the user's state directory (the directory is created; ConfigurationError if it cannot be)."""
    state_dir = default_state_dir()
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigurationError(
            f"cannot create the state directory {state_dir} for the default database: {error.strerror}; "
            "make it writable, set XDG_STATE_HOME to a writable directory, or give --database-url"
        ) from None
    return f"sqlite:///{state_dir / file_name}"


@dataclass(frozen=True)
class Settings:
    """Everything a process of autoscale is configured with."""

    listen: str = DEFAULT_LISTEN
    """HOST:PORT the gRPC server binds; port 0 picks a free one."""

    insecure: bool = False
    """Listen beyond loopback although no caller is authenticated (every caller can do anything, run commands included)."""

    auth: str = "none"
    """How callers are authenticated: none (loopback only, unless `insecure`), keys (API keys) or keystone."""

    enable_process_driver: bool = False
    """Let launch configs run local processes although callers are authenticated or reach this process from other machines
    (they run any command as the service's user; only admins may make them)."""

    admin_project: str = "admin"
    """The project whose admins administer the deployment (set quotas), as Keystone's admin project does."""

    keystone_url: str = ""
    """Keystone v3 endpoint that validates tokens (auth keystone)."""

    peer_token: str = ""
    """The service key this process calls its peers with; empty: one made for the process at start (enough when every
    peer is served by this process)."""
    health_listen: str = ""
    """HOST:PORT of a plaintext port serving only grpc.health.v1.Health, for orchestrators; empty means none."""

    http_listen: str = ""
    """HOST:PORT of the HTTP/1.1 listener (receivers' signals, /metrics, /healthz); empty means none."""

    http_public_url: str = ""
    """The listener's URL as senders reach it (e.g. https://autoscale.example.com behind a proxy); empty: its bound address.
    Receivers' URLs are made of it."""

    tls_cert: str = ""
    """PEM file of the server's certificate (its chain may follow); with `tls_key`, the server serves TLS only."""

    tls_key: str = ""
    """PEM file of the private key of `tls_cert`."""

    tls_client_ca: str = ""
    """PEM file of the CA(s) whose client certificates the server requires (mutual TLS); empty asks for none."""

    peer_tls_ca: str = ""
    """PEM file of the CA(s) the peers' server certificates are checked against; empty calls peers in plaintext."""

    peer_tls_cert: str = ""
    """PEM file of the client certificate presented to peers that require one (mutual TLS)."""

    peer_tls_key: str = ""
    """PEM file of the private key of `peer_tls_cert`."""

    database_url: str = ""
    """SQLAlchemy URL of the database; empty means the default SQLite file."""

    metrics_addr: str = ""
    """Address of MetricsService; empty means this process (when it serves it)."""

    alarm_addr: str = ""
    """Address of AlarmService; empty means this process (when it serves it)."""

    policy_addr: str = ""
    """Address of PolicyService; empty means this process (when it serves it)."""

    group_addr: str = ""
    """Address of GroupService; empty means this process (when it serves it)."""

    project: str = DEFAULT_PROJECT
    """Project of the callers while authentication is off (and of peer calls that name none)."""

    peer_timeout: float = 10.0
    """Deadline, in seconds, of every call to a peer service."""

    max_workers: int = 64
    """Threads serving gRPC calls in this process."""

    shutdown_grace: float = 10.0
    """Seconds in-flight calls get to finish on SIGTERM/SIGINT."""

    metrics_retention: float = 7 * 24 * 3600.0
    """Seconds raw points are kept before the background pruner deletes them."""

    metrics_prune_interval: float = 300.0
    """Seconds between two prunings of old points."""

    metrics_compaction_interval: float = 60.0
    """Seconds points stay at most in the in-memory head (and the ingest log) before they are compacted into chunks."""

    metrics_max_series: int = 500_000
    """Series one project may hold; PutSamples refuses new ones beyond it (RESOURCE_EXHAUSTED) until retention deletes
    series that stopped reporting (each series costs the metrics and alarm services memory, about 1 KB)."""

    metrics_head_points: int = 500_000
    """Points in the in-memory head that trigger a compaction before the interval ends; as many compacted points stay in
    memory for reads of recent windows (together they bound the metrics service's memory for points)."""

    alarm_sweep_interval: float = 10.0
    """Seconds between two periodic evaluations of every alarm (to notice missing data)."""

    alarm_action_attempts: int = 5
    """How many times an alarm action is tried before it is given up."""

    alarm_action_backoff: float = 1.0
    """Seconds before the first retry of a failed action; doubles each retry."""

    alarm_action_timeout: float = 10.0
    """Seconds a webhook POST may take."""

    webhook_allowed_networks: tuple[str, ...] = ()
    """Networks (CIDR) alarm webhooks may reach although they are not public (loopback, private, link-local, ...)."""

    prometheus_url: str = ""
    """Prometheus whose PromQL alarms with a prometheus_rule read (its HTTP API, e.g. http://prometheus:9090; basic auth
    as the URL's user information); empty: such alarms are refused."""

    prometheus_token_file: str = ""
    """File holding the bearer token sent to `prometheus_url` (read at start); empty sends none."""

    prometheus_ca: str = ""
    """PEM file of the CA(s) an https `prometheus_url` is checked against; empty: the system's."""

    prometheus_timeout: float = 5.0
    """Seconds one query to `prometheus_url` may take; an alarm whose query takes longer has insufficient data."""

    gnocchi_url: str = ""
    """Gnocchi whose measures alarms with a gnocchi_rule read (its REST API, e.g. http://gnocchi:8041; basic auth as the
    URL's user information); empty: the `metric` service of `gnocchi_cloud`'s catalog, or, without it, such alarms are
    refused."""

    gnocchi_cloud: str = ""
    """clouds.yaml entry whose Keystone tokens authenticate the requests to Gnocchi (and whose catalog names Gnocchi when
    `gnocchi_url` is empty); empty: none."""

    gnocchi_ca: str = ""
    """PEM file of the CA(s) an https Gnocchi is checked against; empty: the system's."""

    gnocchi_timeout: float = 5.0
    """Seconds one request to Gnocchi may take; an alarm whose request takes longer has insufficient data."""

    openstack_cloud: str = ""
    """Cloud name in clouds.yaml for the openstack driver (empty: OS_CLOUD / OS_* variables)."""

    openstack_timeout: float = 30.0
    """Seconds one request of the openstack driver to the cloud may take; a longer one fails (a launch whose answer
    never came is then found by the server's metadata on the next pass)."""

    launch_timeout: float = 600.0
    """Seconds an instance may take to be running after its launch (a Nova server in BUILD); then its launch has failed,
    its server is stopped, and the group backs off before the next (services.group.backoff)."""

    reconcile_interval: float = 2.0
    """Seconds between two passes of the group reconcile loop."""

    cpu_report_interval: float = 15.0
    """Seconds between two measures of the CPU utilization of running instances, local processes and Nova servers
    (services.group.cpu_report); 0: none is measured."""

    instance_log_dir: str = ""
    """Where the local driver writes each instance's output; empty means the state directory."""

    pool_dir: str = ""
    """Where groups' pool files are written (services.group.load_balancers); empty means the state directory's `pools`."""

    def resolved_database_url(self, file_name: str = "autoscale.db") -> str:
        """The database URL, or the default SQLite file when none is set."""
        return self.database_url or default_database_url(file_name)
