"""A real Gnocchi for the tests: installed once per machine in a virtualenv of its own, its API served by uWSGI on
loopback, its metricd aggregating what is posted, its index in a PostgreSQL database of its own.

`gnocchi_venv` makes (or reuses) the virtualenv under the user's cache directory (`$XDG_CACHE_HOME/autoscale-tests/`,
a folder per pinned set of requirements, made under a file lock so that concurrent test runs install it once).
`started_gnocchi` creates a fresh database on the tests' PostgreSQL, configures a Gnocchi in a folder of its own (file
storage, file incoming, basic authentication), upgrades it, serves the API, runs metricd, and adds ARCHIVE_POLICY and
the resource type RESOURCE_TYPE; afterwards it stops both processes and drops the database. What cannot be done raises
GnocchiUnavailable, naming the step that failed: the fixtures turn it into a skip.

NOTE: in Gnocchi's `basic` authentication mode the user is the username of the Authorization header (the password is
ignored), any user may read and write any resource, metric and measure (there are no projects: a resource's
`project_id` is only an attribute), and only the user named `admin` has the admin role, which creating archive
policies and resource types and reading /v1/status need. A request without the header is refused (401); one with
an empty username is not.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.peer_support import PeerUnavailable, await_answer, cached_venv, free_port, run_step, stop_process

GNOCCHI_REQUIREMENTS = (
    "gnocchi==4.7.1",
    "uwsgi==2.0.31",
    # What `gnocchi[postgresql]` adds, psycopg2's prebuilt wheel standing for psycopg2 (which compiles against libpq).
    "psycopg2-binary==2.9.13",
    "oslo.db==18.1.1",
    "SQLAlchemy==2.1.9",
    "SQLAlchemy-Utils==0.43.0",
    "alembic==1.20.1",
)
"""What the virtualenv holds: releases that serve on Python 3.11 here (gnocchi 4.7.1 is the latest release)."""

INSTALL_TIMEOUT = 900.0
"""Seconds pip may take (about 35 s without pip's cache, uWSGI being compiled; about 12 s with it)."""

START_TIMEOUT = 60.0
"""Seconds the API may take to answer /v1/, and metricd to process what was posted."""

USER = "autoscale"
"""The user the tests act as (basic authentication: any name is a user, none needs a password)."""

ADMIN = "admin"
"""The one user basic authentication gives the admin role."""

ARCHIVE_POLICY = "autoscale-1s"
"""An archive policy of one-second points kept an hour, with the aggregation methods alarms use."""

ARCHIVE_POLICY_DEFINITION = {
    "name": ARCHIVE_POLICY,
    "back_window": 0,
    "definition": [{"granularity": "1s", "points": 3600}],
    "aggregation_methods": ["mean", "max", "min", "sum", "count"],
}

RESOURCE_TYPE = "instance"
"""Ceilometer's resource type for Nova servers, reduced to the attribute Aodh's
`gnocchi_aggregation_by_resources_threshold` rules search by: `{"=": {"server_group": "<group id>"}}`."""

RESOURCE_TYPE_DEFINITION = {"name": RESOURCE_TYPE, "attributes": {"server_group": {"type": "string", "required": False}}}

SACKS = 8
"""Incoming sacks (Gnocchi's default is 128): metricd scans each of them every processing delay."""


class GnocchiUnavailable(PeerUnavailable):
    """Gnocchi could not be installed or started here; the message says which step failed."""


class GnocchiRequestFailed(Exception):
    """Gnocchi answered a request with an error: its status and its (JSON when it can) body."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path}: {status} {body}")
        self.status = status
        self.body = body


def _run(step: str, command: list[str], timeout: float, env: dict[str, str] | None = None) -> None:
    run_step(step, command, timeout, GnocchiUnavailable, env)


def gnocchi_venv(root: Path) -> Path:
    """The virtualenv holding GNOCCHI_REQUIREMENTS under `root`, made the first time and reused after."""
    return cached_venv(root, "gnocchi", GNOCCHI_REQUIREMENTS, INSTALL_TIMEOUT, GnocchiUnavailable)


@dataclass
class GnocchiServer:
    """A running Gnocchi and the requests the tests make of it, as USER unless told."""

    url: str
    """Its v1 endpoint."""
    folder: Path

    def request(self, method: str, path: str, body: Any = None, user: str = USER) -> Any:
        """`method` on `path` (below /v1, with its query) with `body` as JSON; the decoded answer (None when empty).
        GnocchiRequestFailed when Gnocchi answers with an error."""
        credentials = base64.b64encode(f"{user}:".encode()).decode()
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            # Without Accept, Gnocchi's errors are HTML pages.
            headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            text = error.read().decode()
            try:
                detail = json.loads(text)
            except ValueError:
                detail = text
            raise GnocchiRequestFailed(method, path, error.code, detail) from None
        return json.loads(text) if text else None

    def create_resource(self, attributes: dict[str, Any], metrics: Sequence[str] = (), resource_type: str = RESOURCE_TYPE) -> Any:
        """A new resource of `resource_type` (a random id unless `attributes` name one) with a metric of ARCHIVE_POLICY
        per name of `metrics`; Gnocchi's description of it (`metrics` maps each name to its metric's id)."""
        body = {"id": str(uuid.uuid4()), **attributes, "metrics": {name: {"archive_policy_name": ARCHIVE_POLICY} for name in metrics}}
        return self.request("POST", f"/resource/{resource_type}", body)

    def create_metric(self, resource_id: str, name: str, resource_type: str = RESOURCE_TYPE) -> str:
        """A new metric `name` of ARCHIVE_POLICY on the resource; its id."""
        metrics = self.request("POST", f"/resource/{resource_type}/{resource_id}/metric", {name: {"archive_policy_name": ARCHIVE_POLICY}})
        identifier: str = next(metric["id"] for metric in metrics if metric["name"] == name)
        return identifier

    def post_measures(self, metric_id: str, measures: Sequence[tuple[datetime, float]]) -> None:
        """POST the (timestamp, value) pairs to the metric; metricd aggregates them soon after (see await_processed)."""
        body = [{"timestamp": timestamp.isoformat(), "value": value} for timestamp, value in measures]
        self.request("POST", f"/metric/{metric_id}/measures", body)

    def await_processed(self) -> None:
        """Return once metricd has aggregated every measure posted so far (GET /v1/status, as ADMIN, counts none left)."""
        deadline = time.monotonic() + START_TIMEOUT
        while self.request("GET", "/status", user=ADMIN)["storage"]["summary"]["measures"]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"metricd left measures unprocessed for {START_TIMEOUT:.0f} s (see {self.folder})")
            time.sleep(0.1)

    def measures(self, metric_id: str, **query: str) -> Any:
        """GET /v1/metric/{id}/measures with `query` (granularity, start, stop, aggregation, refresh...)."""
        return self.request("GET", f"/metric/{metric_id}/measures?{urllib.parse.urlencode(query)}")


def _environment() -> dict[str, str]:
    # The tests' own PYTHONPATH would come before the virtualenv's packages.
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


@contextmanager
def _running(step: str, command: list[str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`command` running, its output in `log_path`, until the block ends; then stopped with its children."""
    with open(log_path, "w") as log_file:
        try:
            # A session of its own: metricd forks workers, and all of them are stopped together.
            process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=_environment(), start_new_session=True)
        except OSError as error:
            raise GnocchiUnavailable(f"{step} failed: {error}") from error
    try:
        yield process
    finally:
        stop_process(process, session=True)


@contextmanager
def _database(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database on the server of `postgres_url` (an SQLAlchemy URL of a database that exists), dropped
    afterwards; yields its URL for Gnocchi (psycopg2's driver, Gnocchi's default for `postgresql://`)."""
    server = sa.engine.make_url(postgres_url)
    name = "gnocchi_" + secrets.token_hex(6)
    # CREATE and DROP DATABASE cannot run in a transaction.
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # any failure here means: no database for Gnocchi, say why
        admin.dispose()
        reason = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        raise GnocchiUnavailable(f"creating database {name} on {server.render_as_string()} failed: {reason}") from error
    try:
        yield server.set(drivername="postgresql", database=name, query={}).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            # FORCE: whatever connection a stopped process left behind must not keep the database.
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _configure(venv: Path, folder: Path, indexer_url: str) -> Path:
    """gnocchi.conf in `folder`, and the indexer and storage it names made ready; the configuration file's path."""
    config = folder / "gnocchi.conf"
    config.write_text(
        "[indexer]\n"
        f"url = {indexer_url}\n"
        "[storage]\n"
        "driver = file\n"
        f"file_basepath = {folder / 'storage'}\n"
        "[incoming]\n"
        "driver = file\n"
        f"file_basepath = {folder / 'incoming'}\n"
        "[api]\n"
        "auth_mode = basic\n"
        # Each second, the least it takes, metricd looks for new measures; one worker is enough for the tests.
        "[metricd]\n"
        "metric_processing_delay = 1\n"
        "workers = 1\n"
    )
    _run(
        "gnocchi-upgrade",
        [str(venv / "bin" / "gnocchi-upgrade"), "--config-file", str(config), "--sacks-number", str(SACKS)],
        120,
        _environment(),
    )
    return config


@contextmanager
def started_gnocchi(venv: Path, folder: Path, postgres_url: str) -> Iterator[GnocchiServer]:
    """A Gnocchi configured in `folder` (empty) with its index in a new database on the server of `postgres_url`,
    served until the block ends, with ARCHIVE_POLICY and RESOURCE_TYPE in it."""
    with ExitStack() as stack:
        config = _configure(venv, folder, stack.enter_context(_database(postgres_url)))
        port = free_port()
        api_log = folder / "gnocchi-api.log"
        api = stack.enter_context(
            _running(
                "starting uwsgi",
                [
                    str(venv / "bin" / "uwsgi"),
                    "--http-socket",
                    f"127.0.0.1:{port}",
                    # NOTE: `gnocchi-api` would start uWSGI with 1.5 processes per CPU on all addresses: started
                    # directly, one process on loopback serves the tests. Gnocchi reads its options from --pyargv.
                    "--wsgi",
                    "gnocchi.rest.wsgi",
                    "--pyargv",
                    f"--config-file {config}",
                    "--master",
                    "--lazy-apps",
                    "--processes",
                    "1",
                    "--threads",
                    "4",
                    "--need-app",
                    "--die-on-term",
                    # NOTE: uWSGI's --http-socket closes each connection after its answer without saying so: a client
                    # that sends its next request on it at once is reset.
                    "--add-header",
                    "Connection: close",
                ],
                api_log,
            )
        )
        metricd_log = folder / "gnocchi-metricd.log"
        metricd = stack.enter_context(
            _running(
                "starting gnocchi-metricd",
                [str(venv / "bin" / "gnocchi-metricd"), "--config-file", str(config)],
                metricd_log,
            )
        )
        server = GnocchiServer(url=f"http://127.0.0.1:{port}/v1", folder=folder)
        await_answer(f"{server.url}/", api, api_log, what="uwsgi serving Gnocchi", timeout=START_TIMEOUT, unavailable=GnocchiUnavailable)
        if metricd.poll() is not None:
            tail = " | ".join(metricd_log.read_text().splitlines()[-5:])
            raise GnocchiUnavailable(f"gnocchi-metricd exited with status {metricd.returncode}: {tail}")
        try:
            server.request("POST", "/archive_policy", ARCHIVE_POLICY_DEFINITION, user=ADMIN)
            server.request("POST", "/resource_type", RESOURCE_TYPE_DEFINITION, user=ADMIN)
        except (GnocchiRequestFailed, OSError) as error:
            raise GnocchiUnavailable(f"adding the archive policy and resource type failed: {error}") from error
        yield server
