"""Helpers for tests of every tier: in-process servers on ephemeral ports."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, NamedTuple

import grpc

from autoscale.config import Settings
from autoscale.database import Database
from autoscale.identity.api_keys import new_key
from autoscale.identity.caller import Role
from autoscale.identity.key_store import KeyStore
from autoscale.server import Server, ServiceBuilder, create_server
from autoscale.timeutil import system_clock


@contextmanager
def running_server(
    builders: Sequence[tuple[str, ServiceBuilder]],
    settings: Settings,
    *,
    channel_credentials: grpc.ChannelCredentials | None = None,
    channel_options: Sequence[tuple[str, str]] = (),
    **kwargs,
) -> Iterator[tuple[Server, grpc.Channel]]:  # type: ignore[no-untyped-def]
    """Start a real server on an ephemeral port with these services; yield it and a channel (TLS with
    `channel_credentials`)."""
    server, port = create_server(replace(settings, listen="127.0.0.1:0"), builders, **kwargs)
    server.start()
    address = f"127.0.0.1:{port}"
    if channel_credentials is None:
        channel = grpc.insecure_channel(address, options=channel_options)
    else:
        channel = grpc.secure_channel(address, channel_credentials, options=channel_options)
    try:
        yield server, channel
    finally:
        channel.close()
        server.stop()


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def mutated(generator: random.Random, payload: bytes) -> bytearray:
    """`payload` with one to three random bytes flipped, dropped or added (to fuzz a reader of wire bytes)."""
    changed = bytearray(payload)
    for _ in range(generator.randint(1, 3)):
        position = generator.randrange(len(changed))
        change = generator.random()
        if change < 0.6:
            changed[position] = generator.randrange(256)
        elif change < 0.8:
            del changed[position]
        else:
            changed.insert(position, generator.randrange(256))
    return changed


def stored_key(database_url: str, project: str, role: Role, *, service: bool = False, expire_time: float | None = None) -> StoredKey:
    """An API key made and stored in the deployment's database at `database_url` (as `autoscale keys create` does)."""
    database = Database(database_url)
    try:
        key, token = new_key(project=project, role=role, service=service, now=system_clock(), expire_time=expire_time)
        KeyStore(database).add(key)
        return StoredKey(token, f"key:{key.id}", key.id)
    finally:
        database.dispose()


class StoredKey(NamedTuple):
    """A key made for a test: its token, the principal it authenticates as, and its id."""

    token: str
    principal: str
    id: str

    @property
    def metadata(self) -> tuple[tuple[str, str]]:
        """The call metadata that carries it."""
        return (("authorization", f"Bearer {self.token}"),)


def wait_for(condition: Callable[[], Any], what: str = "the condition", timeout: float = 10.0) -> Any:
    """What `condition()` answers once it is truthy (AssertionError naming `what` after `timeout`): for what a server's
    own threads do after a call returns."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
