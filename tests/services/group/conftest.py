"""Fixtures of the group service's reconcile-loop tests: its storage migrated on a fresh SQLite file, an in-memory
compute driver, and a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from autoscale.database import Database
from services.group.repository import GroupRepositories
from services.group.server import MIGRATIONS_DIR
from tests.services.group.fake_compute import FakeComputeDriver


@pytest.fixture
def repositories(sqlite_url: str) -> Iterator[GroupRepositories]:
    database = Database(sqlite_url)
    database.migrate(MIGRATIONS_DIR, "group")
    yield GroupRepositories(database)
    database.dispose()


@pytest.fixture
def driver() -> FakeComputeDriver:
    return FakeComputeDriver()


@pytest.fixture
def clock() -> list[float]:
    """Seconds since the epoch, as the test sets them (a reconciler reads `clock[0]`)."""
    return [1000.0]
