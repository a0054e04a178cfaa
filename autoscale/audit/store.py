"""Where audit events are kept: the `audit_events` table of the deployment's database."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from autoscale.audit.events import AuditEvent
from autoscale.audit.models import audit_events
from autoscale.database import Database, newest_first_page

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class AuditLog:
    """Audit events in a database (its table is migrated when the log is made)."""

    def __init__(self, database: Database) -> None:
        database.migrate(MIGRATIONS_DIR, "audit")
        self._database = database

    def record(self, event: AuditEvent) -> None:
        """Store one event."""
        values = {
            "project": event.project, "time": event.time, "principal": event.principal[:255], "method": event.method[:255],
            "resource": event.resource, "code": event.code,
        }
        with self._database.transaction() as connection:
            connection.execute(audit_events.insert().values(**values))

    def list(self, project: str, after: tuple[float, int] | None, limit: int) -> list[AuditEvent]:
        """`project`'s events newest first: those after `after` (time, id), at most `limit`."""
        query = newest_first_page(
            sa.select(audit_events).where(audit_events.c.project == project), audit_events.c.time, audit_events.c.id, after, limit
        )
        with self._database.reader() as connection:
            return [
                AuditEvent(
                    id=row.id, project=row.project, time=row.time, principal=row.principal, method=row.method,
                    resource=row.resource, code=row.code,
                )
                for row in connection.execute(query)
            ]
