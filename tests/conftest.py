"""Fixtures shared by every test tier: databases, in-process servers and TLS certificates.

Storage tests take `database_url`, which runs them on a fresh SQLite file always
and on PostgreSQL (127.0.0.1:5432, database `test`, user `root`) when it is
reachable, each test in a schema of its own; AUTOSCALE_TEST_POSTGRES_URL overrides
the server's URL. `keystone` is a real Keystone on loopback (tests/keystone_server.py), `gnocchi` a real Gnocchi
(tests/gnocchi_server.py) indexing into a database of its own on that PostgreSQL, `prometheus` a real Prometheus
scraping an exporter of the tests' own (tests/prometheus_server.py). `fake_cloud` is a fake OpenStack cloud of the
tests' own (tests/fake_cloud/) that the real openstacksdk talks HTTP to.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
import sqlalchemy as sa

from tests import gnocchi_server, keystone_server, prometheus_server
from tests.certificates import TlsFiles, make_tls_files
from tests.fake_cloud import FakeCloud
from tests.gnocchi_server import GnocchiServer, GnocchiUnavailable
from tests.keystone_server import KeystoneServer, KeystoneUnavailable
from tests.leftover_instances import instances_stopped_afterwards
from tests.peer_support import cache_root
from tests.prometheus_server import PrometheusServer, PrometheusUnavailable


@pytest.fixture(scope="module", autouse=True)
def _local_instances_stopped_after_each_module() -> Iterator[None]:
    """No local instance a module started outlives it (tests/leftover_instances.py)."""
    with instances_stopped_afterwards():
        yield


POSTGRES_URL = os.environ.get("AUTOSCALE_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


def _postgres_unreachable_reason() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means: skip, and say why
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {type(error).__name__}: {str(error).splitlines()[0]}"
    return None


_POSTGRES_SKIP_REASON: list[str | None] = []


def postgres_skip_reason() -> str | None:
    """Why PostgreSQL tests are skipped (None when the server is reachable); probed once."""
    if not _POSTGRES_SKIP_REASON:
        _POSTGRES_SKIP_REASON.append(_postgres_unreachable_reason())
    return _POSTGRES_SKIP_REASON[0]


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections use a fresh schema of their own, dropped afterwards."""
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A fresh, empty database: a SQLite file, then PostgreSQL when reachable."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    with postgres_schema_url() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A fresh SQLite file, for tests that need one database kind only."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL schema, for tests that need the server itself (cutting a connection from outside, say)."""
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    with postgres_schema_url() as url:
        yield url


@pytest.fixture(scope="session")
def keystone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeystoneServer]:
    """A real Keystone on loopback with projects p1 and p2 and their users (tests/keystone_server.py), shared by the
    session; its virtualenv is made once per machine. Tests that take it skip, saying why, when it cannot be had."""
    with ExitStack() as stack:
        try:
            venv = keystone_server.keystone_venv(cache_root())
            server = stack.enter_context(keystone_server.started_keystone(venv, tmp_path_factory.mktemp("keystone")))
        except KeystoneUnavailable as error:
            pytest.skip(f"no Keystone to test against: {error}")
        yield server


@pytest.fixture(scope="session")
def gnocchi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GnocchiServer]:
    """A real Gnocchi on loopback, its API and metricd, with a one-second archive policy and the resource type `instance`
    (tests/gnocchi_server.py), shared by the session: tests tell their data apart by ids and server groups of their own.
    Its virtualenv is made once per machine. Tests that take it skip, saying why, when it cannot be had."""
    with ExitStack() as stack:
        try:
            venv = gnocchi_server.gnocchi_venv(cache_root())
            server = stack.enter_context(gnocchi_server.started_gnocchi(venv, tmp_path_factory.mktemp("gnocchi"), POSTGRES_URL))
        except GnocchiUnavailable as error:
            pytest.skip(f"no Gnocchi to test against: {error}")
        yield server


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A real Prometheus on loopback scraping an exporter of the tests' own every second (tests/prometheus_server.py), shared
    by the session: each test serves gauges of its own names or labels. Tests that take it skip, saying why, when it cannot
    be had."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(prometheus_server.started_prometheus(tmp_path_factory.mktemp("prometheus")))
        except PrometheusUnavailable as error:
            pytest.skip(f"no Prometheus to test against: {error}")
        yield server


@pytest.fixture
def fake_cloud() -> Iterator[FakeCloud]:
    """A fake OpenStack cloud (Keystone, Nova, Glance, Neutron, Octavia) on loopback for one test, with no fault planned:
    `fake_cloud.connection()` is a real openstacksdk connection to it, `fake_cloud.faults` what goes wrong next."""
    with FakeCloud() as cloud:
        yield cloud


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A test CA, a server certificate for localhost and 127.0.0.1, client certificates, and a CA nobody trusts."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))
