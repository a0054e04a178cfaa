"""Storage of receivers, beside their policies (services.policy.models).

A receiver is found two ways: by its name within its project (the RPCs) and, when a signal arrives, by the hash of
its URL's token alone (the signal carries no project: the receiver says which it acts in).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from autoscale.database import Database
from autoscale.errors import AlreadyExists, NotFound, ResourceExhausted
from services.policy.domain import policy_name
from services.policy.models import policies, receivers
from services.policy.receivers.domain import Receiver, ReceiverFormat, receiver_name

MAX_RECEIVERS_PER_POLICY = 20
"""Receivers one policy may have: one per monitoring system that signals it, and a few to rotate URLs."""


class ReceiverRepository:
    """Receivers of every project; each call but `find_by_token` names the project it reads or writes."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._find = database.prepare(
            sa.select(receivers).where(receivers.c.token_hash == sa.bindparam("token_hash"))
        )

    def create(self, project: str, receiver: Receiver, token_hash: str) -> Receiver:
        """Store a new receiver; NotFound for its policy or resolved policy, AlreadyExists, ResourceExhausted."""
        with self._database.transaction() as connection:
            if not _policy_exists(connection, project, receiver.policy_id, lock=True):
                raise NotFound(policy_name(receiver.policy_id))
            if receiver.resolved_policy_id and not _policy_exists(connection, project, receiver.resolved_policy_id):
                name = policy_name(receiver.resolved_policy_id)
                raise NotFound(name, f"receiver.resolved_policy: {name} not found")
            if _row(connection, project, receiver.policy_id, receiver.id) is not None:
                raise AlreadyExists(receiver.name)
            held = connection.scalar(
                sa.select(sa.func.count()).select_from(receivers).where(*_policy_receivers(project, receiver.policy_id))
            )
            if int(held or 0) >= MAX_RECEIVERS_PER_POLICY:
                raise ResourceExhausted(
                    f"{policy_name(receiver.policy_id)} has {MAX_RECEIVERS_PER_POLICY} receivers, the most a policy may "
                    "have; delete one first"
                )
            connection.execute(receivers.insert().values(project=project, token_hash=token_hash, **_values(receiver)))
        return receiver

    def get(self, project: str, policy_id: str, receiver_id: str) -> Receiver:
        """One receiver; NotFound if there is none."""
        with self._database.reader() as connection:
            row = _row(connection, project, policy_id, receiver_id)
        if row is None:
            raise NotFound(receiver_name(policy_id, receiver_id))
        return _receiver(row)

    def list_receivers(self, project: str, policy_id: str, after: str | None, limit: int) -> list[Receiver]:
        """A policy's receivers ordered by id, those after `after`, at most `limit`; NotFound for the policy."""
        query = sa.select(receivers).where(*_policy_receivers(project, policy_id))
        if after is not None:
            query = query.where(receivers.c.id > after)
        with self._database.reader() as connection:
            if not _policy_exists(connection, project, policy_id):
                raise NotFound(policy_name(policy_id))
            rows = connection.execute(query.order_by(receivers.c.id).limit(limit)).all()
        return [_receiver(row) for row in rows]

    def delete(self, project: str, policy_id: str, receiver_id: str) -> None:
        """Delete a receiver (its URL is refused from then on); NotFound if there is none."""
        with self._database.transaction() as connection:
            result = connection.execute(receivers.delete().where(*_receiver_key(project, policy_id, receiver_id)))
            if result.rowcount == 0:
                raise NotFound(receiver_name(policy_id, receiver_id))

    def naming_as_resolved(self, project: str, policy_id: str) -> list[str]:
        """Names of the receivers of other policies whose resolved alerts execute `policy_id`."""
        query = sa.select(receivers.c.policy_id, receivers.c.id).where(
            receivers.c.project == project, receivers.c.resolved_policy_id == policy_id, receivers.c.policy_id != policy_id
        )
        with self._database.reader() as connection:
            rows = connection.execute(query.order_by(receivers.c.policy_id, receivers.c.id)).all()
        return [receiver_name(row.policy_id, row.id) for row in rows]

    def find_by_token(self, token_hash: str) -> tuple[str, Receiver] | None:
        """(project, receiver) whose URL's token has this hash; None when none has (deleted, or never made)."""
        with self._database.reader() as connection:
            found = self._find.rows(connection, token_hash=token_hash)
        return (found[0].project, _receiver(found[0])) if found else None


def delete_policy_receivers(connection: Connection, project: str, policy_id: str) -> None:
    """Delete a policy's receivers, within the transaction that deletes the policy."""
    connection.execute(receivers.delete().where(*_policy_receivers(project, policy_id)))


def _policy_exists(connection: Connection, project: str, policy_id: str, *, lock: bool = False) -> bool:
    query = sa.select(policies.c.id).where(policies.c.project == project, policies.c.id == policy_id)
    return connection.execute(query.with_for_update() if lock else query).first() is not None


def _policy_receivers(project: str, policy_id: str) -> tuple[Any, ...]:
    return receivers.c.project == project, receivers.c.policy_id == policy_id


def _receiver_key(project: str, policy_id: str, receiver_id: str) -> tuple[Any, ...]:
    return (*_policy_receivers(project, policy_id), receivers.c.id == receiver_id)


def _row(connection: Connection, project: str, policy_id: str, receiver_id: str) -> Any:
    return connection.execute(sa.select(receivers).where(*_receiver_key(project, policy_id, receiver_id))).first()


def _values(receiver: Receiver) -> dict[str, Any]:
    return {
        "policy_id": receiver.policy_id,
        "id": receiver.id,
        "format": receiver.format.value,
        "resolved_policy_id": receiver.resolved_policy_id,
        "hmac_secret": receiver.hmac_secret,
        "create_time": receiver.create_time,
    }


def _receiver(row: Any) -> Receiver:
    return Receiver(
        policy_id=row.policy_id,
        id=row.id,
        format=ReceiverFormat(row.format),
        resolved_policy_id=row.resolved_policy_id,
        hmac_secret=row.hmac_secret,
        create_time=row.create_time,
    )
