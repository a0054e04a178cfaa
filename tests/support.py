"""Helpers for tests of every tier: in-process servers on ephemeral ports."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

import grpc

from autoscale.config import Settings
from autoscale.server import Server, ServiceBuilder, create_server


@contextmanager
def running_server(
    builders: Sequence[tuple[str, ServiceBuilder]], settings: Settings, **kwargs
) -> Iterator[tuple[Server, grpc.Channel]]:  # type: ignore[no-untyped-def]
    """Start a real server on an ephemeral port with these services; yield it and a channel."""
    server, port = create_server(replace(settings, listen="127.0.0.1:0"), builders, **kwargs)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
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
