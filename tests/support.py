"""Helpers for tests of every tier: in-process servers on ephemeral ports."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

import grpc

from autoscale.config import Settings
from autoscale.server import Server, ServiceBuilder, create_server


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
