"""Where API keys are kept: the `identity_api_keys` table of the deployment's database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from autoscale.database import Database
from autoscale.errors import NotFound
from autoscale.identity.api_keys import ApiKey
from autoscale.identity.caller import Role
from autoscale.identity.models import api_keys

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class KeyStore:
    """API keys in a database (its tables are migrated when the store is made)."""

    def __init__(self, database: Database) -> None:
        database.migrate(MIGRATIONS_DIR, "identity")
        self._database = database

    def add(self, key: ApiKey) -> None:
        """Store a new key."""
        with self._database.transaction() as connection:
            connection.execute(api_keys.insert().values(**_values(key)))

    def get(self, key_id: str) -> ApiKey:
        """The key `key_id` (NotFound when there is none)."""
        with self._database.reader() as connection:
            row = connection.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).one_or_none()
        if row is None:
            raise NotFound(f"keys/{key_id}")
        return _key(row._mapping)

    def list(self, project: str | None = None) -> list[ApiKey]:
        """Every key (of `project` only, when given), oldest first."""
        query = sa.select(api_keys).order_by(api_keys.c.create_time, api_keys.c.id)
        if project is not None:
            query = query.where(api_keys.c.project == project)
        with self._database.reader() as connection:
            return [_key(row._mapping) for row in connection.execute(query)]

    def usable(self, now: float) -> dict[str, ApiKey]:
        """The keys neither revoked nor expired at `now`, by id."""
        query = sa.select(api_keys).where(
            api_keys.c.revoke_time.is_(None), sa.or_(api_keys.c.expire_time.is_(None), api_keys.c.expire_time > now)
        )
        with self._database.reader() as connection:
            return {row.id: _key(row._mapping) for row in connection.execute(query)}

    def revoke(self, key_id: str, now: float) -> ApiKey:
        """Revoke `key_id` from `now` on (a key revoked already keeps its first revocation time); NotFound when none."""
        with self._database.transaction() as connection:
            connection.execute(
                api_keys.update().where(api_keys.c.id == key_id, api_keys.c.revoke_time.is_(None)).values(revoke_time=now)
            )
        return self.get(key_id)


def _values(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id, "project": key.project, "role": key.role.name.lower(), "service": key.service, "salt": key.salt,
        "secret_hash": key.secret_hash, "description": key.description, "create_time": key.create_time,
        "expire_time": key.expire_time, "revoke_time": key.revoke_time,
    }


def _key(row: Any) -> ApiKey:
    return ApiKey(
        id=row["id"], project=row["project"], role=Role.named(row["role"]), service=bool(row["service"]), salt=row["salt"],
        secret_hash=row["secret_hash"], create_time=row["create_time"], expire_time=row["expire_time"],
        revoke_time=row["revoke_time"], description=row["description"],
    )
