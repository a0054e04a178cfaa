"""`autoscale up` and `autoscale serve SERVICE`: run the services."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import click

from app.cli.log_level import log_level_option
from app.cli.params import NETWORK, FiniteRange, apply_options
from autoscale.config import AUTH_MODES, DEFAULT_LISTEN, ConfigurationError, Settings, parse_listen
from autoscale.runtime import hold_garbage_collector, settle_garbage_collector
from autoscale.server import create_server, run_until_signalled
from services.registry import SERVICE_NAMES, builders

log = logging.getLogger("autoscale")

POSITIVE_SECONDS = FiniteRange(min=0, min_open=True)
"""Intervals and timeouts: a zero would spin a loop or fail every call."""


class StartupMistake(click.ClickException):
    """A setting the process cannot start with: one line on stderr and exit status 2, as click's usage errors."""

    exit_code = 2


def _tuning_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `up` and `serve`; each also reads AUTOSCALE_<FLAG>."""
    return apply_options([
        log_level_option(after_subcommand=True),
        click.option("--database-url", envvar="AUTOSCALE_DATABASE_URL", default="",
                     help="SQLAlchemy URL (default: a SQLite file under the user's state directory)."),
        click.option("--project", envvar="AUTOSCALE_PROJECT", default="default", show_default=True,
                     help="Project of every caller while authentication is off."),
        click.option("--metrics-retention", envvar="AUTOSCALE_METRICS_RETENTION", type=POSITIVE_SECONDS, default=7 * 24 * 3600.0,
                     show_default=True, help="Seconds raw points are kept."),
        click.option("--metrics-prune-interval", envvar="AUTOSCALE_METRICS_PRUNE_INTERVAL", type=POSITIVE_SECONDS, default=300.0,
                     show_default=True, help="Seconds between two prunings of points older than the retention."),
        click.option("--metrics-compaction-interval", envvar="AUTOSCALE_METRICS_COMPACTION_INTERVAL", type=POSITIVE_SECONDS,
                     default=60.0, show_default=True, help="Seconds points stay at most in memory and the ingest log before compaction."),
        click.option("--metrics-max-series", envvar="AUTOSCALE_METRICS_MAX_SERIES", type=click.IntRange(min=1), default=500_000,
                     show_default=True, help="Series a project may hold; new ones beyond it wait for retention to delete old ones."),
        click.option("--metrics-head-points", envvar="AUTOSCALE_METRICS_HEAD_POINTS", type=click.IntRange(min=1), default=500_000,
                     show_default=True, help="Points in memory that trigger a compaction sooner (as many compacted ones stay for reads)."),
        click.option("--alarm-sweep-interval", envvar="AUTOSCALE_ALARM_SWEEP_INTERVAL", type=POSITIVE_SECONDS, default=10.0,
                     show_default=True, help="Seconds between two evaluations of every alarm."),
        click.option("--alarm-action-attempts", envvar="AUTOSCALE_ALARM_ACTION_ATTEMPTS", type=click.IntRange(min=1), default=5,
                     show_default=True, help="Attempts of a failing alarm action before it is given up."),
        click.option("--alarm-action-backoff", envvar="AUTOSCALE_ALARM_ACTION_BACKOFF", type=FiniteRange(min=0), default=1.0,
                     show_default=True, help="Seconds before the first retry of a failed action; doubles each retry."),
        click.option("--alarm-action-timeout", envvar="AUTOSCALE_ALARM_ACTION_TIMEOUT", type=POSITIVE_SECONDS,
                     default=10.0, show_default=True, help="Seconds a webhook POST may take."),
        click.option("--webhook-allow", "webhook_allowed_networks", envvar="AUTOSCALE_WEBHOOK_ALLOW", multiple=True, type=NETWORK,
                     help="A network (CIDR) alarm webhooks may reach although it is not public, e.g. 10.20.0.0/16 "
                          "(repeatable; the variable takes a comma-separated list)."),
        click.option("--prometheus-url", envvar="AUTOSCALE_PROMETHEUS_URL", default="", metavar="URL",
                     help="Prometheus that alarms with a prometheus_rule query, e.g. http://prometheus:9090 (basic auth: "
                          "https://USER:PASSWORD@host:9090)."),
        click.option("--prometheus-token-file", envvar="AUTOSCALE_PROMETHEUS_TOKEN_FILE", default="", metavar="FILE",
                     help="File holding a bearer token for --prometheus-url."),
        click.option("--prometheus-ca", envvar="AUTOSCALE_PROMETHEUS_CA", default="", metavar="FILE",
                     help="PEM CA certificates an https --prometheus-url is checked against (default: the system's)."),
        click.option("--prometheus-timeout", envvar="AUTOSCALE_PROMETHEUS_TIMEOUT", type=POSITIVE_SECONDS, default=5.0,
                     show_default=True, help="Seconds one Prometheus query may take."),
        click.option("--gnocchi-url", envvar="AUTOSCALE_GNOCCHI_URL", default="", metavar="URL",
                     help="Gnocchi that alarms with a gnocchi_rule read, e.g. http://gnocchi:8041 (basic auth: "
                          "http://USER@host:8041); default with --gnocchi-cloud: its catalog's metric service."),
        click.option("--gnocchi-cloud", envvar="AUTOSCALE_GNOCCHI_CLOUD", default="", metavar="NAME",
                     help="clouds.yaml entry whose Keystone tokens authenticate the requests to Gnocchi."),
        click.option("--gnocchi-ca", envvar="AUTOSCALE_GNOCCHI_CA", default="", metavar="FILE",
                     help="PEM CA certificates an https Gnocchi is checked against (default: the system's)."),
        click.option("--gnocchi-timeout", envvar="AUTOSCALE_GNOCCHI_TIMEOUT", type=POSITIVE_SECONDS, default=5.0,
                     show_default=True, help="Seconds one Gnocchi request may take."),
        click.option("--peer-timeout", envvar="AUTOSCALE_PEER_TIMEOUT", type=POSITIVE_SECONDS, default=10.0,
                     show_default=True, help="Deadline, in seconds, of every call to a peer service."),
        click.option("--reconcile-interval", envvar="AUTOSCALE_RECONCILE_INTERVAL", type=POSITIVE_SECONDS, default=2.0,
                     show_default=True, help="Seconds between two passes of the group reconcile loop."),
        click.option("--cpu-report-interval", envvar="AUTOSCALE_CPU_REPORT_INTERVAL", type=FiniteRange(min=0), default=15.0,
                     show_default=True, help="Seconds between two measures of the CPU of running instances (local processes from "
                                             "/proc, Nova servers from their diagnostics), put as "
                                             "cpu_utilization{group,instance} into the metrics service; 0: none."),
        click.option("--launch-timeout", envvar="AUTOSCALE_LAUNCH_TIMEOUT", type=POSITIVE_SECONDS, default=600.0,
                     show_default=True, help="Seconds an instance may take to be running after its launch; then its launch "
                                             "has failed (its server is stopped) and the group waits before the next."),
        click.option("--openstack-cloud", envvar="AUTOSCALE_OPENSTACK_CLOUD", default="",
                     help="clouds.yaml entry for launch configs with an OpenStack server."),
        click.option("--openstack-timeout", envvar="AUTOSCALE_OPENSTACK_TIMEOUT", type=POSITIVE_SECONDS, default=30.0,
                     show_default=True, help="Seconds one request to the OpenStack cloud may take."),
        click.option("--instance-log-dir", envvar="AUTOSCALE_INSTANCE_LOG_DIR", default="",
                     help="Where local-process instances write their output."),
        click.option("--pool-dir", envvar="AUTOSCALE_POOL_DIR", default="",
                     help="Where groups' load balancer pool files are written (default: the state directory's pools)."),
        click.option("--auth", envvar="AUTOSCALE_AUTH", type=click.Choice(AUTH_MODES), default="none", show_default=True,
                     help="How callers are authenticated: none (only on loopback, unless --insecure), keys (API keys made "
                          "by `autoscale keys create`) or keystone (tokens of --keystone-url)."),
        click.option("--enable-process-driver", envvar="AUTOSCALE_ENABLE_PROCESS_DRIVER", is_flag=True, default=False,
                     help="Let admins make launch configs that run local processes (commands as this service's user) "
                          "although authentication is on or the service listens beyond loopback; off there by default."),
        click.option("--admin-project", envvar="AUTOSCALE_ADMIN_PROJECT", default="admin", show_default=True,
                     help="The project whose admins administer the deployment (set every project's quotas)."),
        click.option("--keystone-url", envvar="AUTOSCALE_KEYSTONE_URL", default="", metavar="URL",
                     help="Keystone v3 endpoint that validates callers' tokens (with --auth keystone)."),
        click.option("--peer-token", envvar="AUTOSCALE_PEER_TOKEN", default="", metavar="KEY",
                     help="Service key (`autoscale keys create --service`) to call peers served by other processes with."),
        click.option("--insecure", envvar="AUTOSCALE_INSECURE", is_flag=True, default=False,
                     help="Listen beyond loopback although no caller is authenticated (anyone who reaches the port can do "
                          "anything, start commands on this host included)."),
        click.option("--health-listen", envvar="AUTOSCALE_HEALTH_LISTEN", default="", metavar="HOST:PORT",
                     help="Also serve health checks (grpc.health.v1.Health only) in plaintext there, for orchestrators."),
        click.option("--http-listen", envvar="AUTOSCALE_HTTP_LISTEN", default="", metavar="HOST:PORT",
                     help="Also serve HTTP/1.1 there: receivers' signals (POST /v1/signals/TOKEN), /metrics and /healthz "
                          "(HTTPS with --tls-cert)."),
        click.option("--http-public-url", envvar="AUTOSCALE_HTTP_PUBLIC_URL", default="", metavar="URL",
                     help="The HTTP listener's URL as senders reach it (behind a proxy, say); receivers' URLs start with "
                          "it (default: the address --http-listen binds)."),
        click.option("--tls-cert", envvar="AUTOSCALE_TLS_CERT", default="", metavar="FILE",
                     help="PEM certificate of the server (chain may follow); with --tls-key, the port serves TLS only."),
        click.option("--tls-key", envvar="AUTOSCALE_TLS_KEY", default="", metavar="FILE", help="PEM private key of --tls-cert."),
        click.option("--tls-client-ca", envvar="AUTOSCALE_TLS_CLIENT_CA", default="", metavar="FILE",
                     help="PEM CA certificates; clients must present a certificate one of them signed (mutual TLS)."),
        click.option("--peer-tls-ca", envvar="AUTOSCALE_PEER_TLS_CA", default="", metavar="FILE",
                     help="PEM CA certificates the peer services' certificates are checked against; calls peers over TLS."),
        click.option("--peer-tls-cert", envvar="AUTOSCALE_PEER_TLS_CERT", default="", metavar="FILE",
                     help="PEM client certificate presented to peers (mutual TLS)."),
        click.option("--peer-tls-key", envvar="AUTOSCALE_PEER_TLS_KEY", default="", metavar="FILE",
                     help="PEM private key of --peer-tls-cert."),
    ])(command)


def _settings(listen: str, **values: Any) -> Settings:
    return Settings(
        listen=listen,
        insecure=values["insecure"],
        auth=values["auth"],
        keystone_url=values["keystone_url"],
        admin_project=values["admin_project"],
        enable_process_driver=values["enable_process_driver"],
        peer_token=values["peer_token"],
        health_listen=values["health_listen"],
        http_listen=values["http_listen"],
        http_public_url=values["http_public_url"],
        tls_cert=values["tls_cert"],
        tls_key=values["tls_key"],
        tls_client_ca=values["tls_client_ca"],
        peer_tls_ca=values["peer_tls_ca"],
        peer_tls_cert=values["peer_tls_cert"],
        peer_tls_key=values["peer_tls_key"],
        database_url=values["database_url"],
        metrics_addr=values.get("metrics_addr") or "",
        alarm_addr=values.get("alarm_addr") or "",
        policy_addr=values.get("policy_addr") or "",
        group_addr=values.get("group_addr") or "",
        project=values["project"],
        metrics_retention=values["metrics_retention"],
        metrics_prune_interval=values["metrics_prune_interval"],
        metrics_compaction_interval=values["metrics_compaction_interval"],
        metrics_head_points=values["metrics_head_points"],
        metrics_max_series=values["metrics_max_series"],
        alarm_sweep_interval=values["alarm_sweep_interval"],
        alarm_action_attempts=values["alarm_action_attempts"],
        alarm_action_backoff=values["alarm_action_backoff"],
        alarm_action_timeout=values["alarm_action_timeout"],
        webhook_allowed_networks=values["webhook_allowed_networks"],
        prometheus_url=values["prometheus_url"],
        prometheus_token_file=values["prometheus_token_file"],
        prometheus_ca=values["prometheus_ca"],
        prometheus_timeout=values["prometheus_timeout"],
        gnocchi_url=values["gnocchi_url"],
        gnocchi_cloud=values["gnocchi_cloud"],
        gnocchi_ca=values["gnocchi_ca"],
        gnocchi_timeout=values["gnocchi_timeout"],
        peer_timeout=values["peer_timeout"],
        reconcile_interval=values["reconcile_interval"],
        cpu_report_interval=values["cpu_report_interval"],
        launch_timeout=values["launch_timeout"],
        openstack_cloud=values["openstack_cloud"],
        openstack_timeout=values["openstack_timeout"],
        instance_log_dir=values["instance_log_dir"],
        pool_dir=values["pool_dir"],
    )


def _serve(settings: Settings, names: tuple[str, ...], database_file: str) -> None:
    hold_garbage_collector()
    try:
        server, port = create_server(settings, builders(names), database_file=database_file)
    except ConfigurationError as error:
        raise StartupMistake(str(error)) from None
    # What the services loaded on start (the metrics head, the alarm index) lives as long as the process.
    settle_garbage_collector()
    host, _ = parse_listen(settings.listen)
    over = " over mutual TLS" if settings.tls_client_ca else " over TLS" if settings.tls_cert else ""
    log.info("serving %s on %s:%d%s", ", ".join(names), host, port, over)
    click.echo(f"autoscale: serving {', '.join(names)} on {host}:{port}{over}", err=True)
    if server.health_port is not None:
        health_host, _ = parse_listen(settings.health_listen)
        log.info("serving health checks on %s:%d (plaintext)", health_host, server.health_port.port)
        click.echo(f"autoscale: serving health checks on {health_host}:{server.health_port.port} (plaintext)", err=True)
    if server.http_listener is not None:
        log.info("serving HTTP on %s", server.http_listener.base_url)
        click.echo(f"autoscale: serving HTTP on {server.http_listener.base_url}", err=True)
    sys.stderr.flush()
    run_until_signalled(server)
    click.echo("autoscale: stopped", err=True)


@click.command()
@click.option("--listen", envvar="AUTOSCALE_LISTEN", default=DEFAULT_LISTEN, show_default=True,
              help="HOST:PORT to serve the whole mesh on.")
@_tuning_options
def up(listen: str, **values: Any) -> None:
    """Run the four services, reflection and health in one process on one port."""
    _serve(_settings(listen, **values), SERVICE_NAMES, "autoscale.db")


@click.command()
@click.argument("service", type=click.Choice(SERVICE_NAMES))
@click.option("--listen", envvar="AUTOSCALE_LISTEN", required=True, help="HOST:PORT to serve on.")
@click.option("--metrics-addr", envvar="AUTOSCALE_METRICS_ADDR", default="", help="Address of MetricsService.")
@click.option("--alarm-addr", envvar="AUTOSCALE_ALARM_ADDR", default="", help="Address of AlarmService.")
@click.option("--policy-addr", envvar="AUTOSCALE_POLICY_ADDR", default="", help="Address of PolicyService.")
@click.option("--group-addr", envvar="AUTOSCALE_GROUP_ADDR", default="", help="Address of GroupService.")
@_tuning_options
def serve(service: str, listen: str, **values: Any) -> None:
    """Run one service alone, for independent deployment."""
    _serve(_settings(listen, **values), (service,), f"{service}.db")
