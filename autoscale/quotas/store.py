"""Where the limits set for projects are kept, and a cache of them for the checks of every service."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import sqlalchemy as sa

from autoscale.database import Database
from autoscale.quotas.limits import Limits
from autoscale.quotas.models import quota_limits
from autoscale.timeutil import Clock

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

CACHE_SECONDS = 2.0
"""How long a project's limits are used as read: a change reaches every process within it."""


class QuotaStore:
    """The limits of every project, read through a short cache (checks run on every create, and on every PutSamples)."""

    def __init__(self, database: Database, clock: Clock, defaults: Mapping[str, int]) -> None:
        database.migrate(MIGRATIONS_DIR, "quota")
        self._database = database
        self._clock = clock
        self._defaults = dict(defaults)
        self._cache: dict[str, tuple[float, Limits]] = {}
        self._lock = threading.Lock()

    def limits(self, project: str) -> Limits:
        """The limits of `project` (at most CACHE_SECONDS old)."""
        now = self._clock()
        cached = self._cache.get(project)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        query = sa.select(quota_limits.c.resource, quota_limits.c.limit_value).where(quota_limits.c.project == project)
        with self._database.reader() as connection:
            set_limits = {resource: int(value) for resource, value in connection.execute(query)}
        limits = Limits(project, set_limits, self._defaults)
        with self._lock:
            self._cache[project] = (now, limits)
        return limits

    def update(self, project: str, changes: Mapping[str, int | None], updated_by: str) -> Limits:
        """Set (an int) or clear (None: back to the default) the limits named in `changes`; the project's limits after."""
        now = self._clock()
        with self._database.transaction() as connection:
            for resource, value in changes.items():
                connection.execute(
                    quota_limits.delete().where(quota_limits.c.project == project, quota_limits.c.resource == resource)
                )
                if value is not None:
                    connection.execute(quota_limits.insert().values(
                        project=project, resource=resource, limit_value=value, update_time=now, updated_by=updated_by
                    ))
        with self._lock:
            self._cache.pop(project, None)
        return self.limits(project)
