"""Helpers of the command-line tests: a real in-process server and a way to run `autoscale` against it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from click.testing import CliRunner, Result

from app.cli.main import cli
from autoscale.config import Settings
from services.registry import builders
from tests.support import running_server

SLEEPER_COMMAND = [sys.executable, "-c", "import time; time.sleep(60)"]
"""A local process that just waits: groups in these tests have min 0, so it rarely runs at all."""

Invoke = Callable[..., Result]


@contextmanager
def serving(names: tuple[str, ...], database_url: str, instance_log_dir: str, **settings_fields: Any) -> Iterator[str]:
    """The named services on one in-process server (`settings_fields` added to its settings); yields its address."""
    settings = Settings(database_url=database_url, instance_log_dir=instance_log_dir, reconcile_interval=0.1, **settings_fields)
    with running_server(builders(names), settings) as (server, _channel):
        yield f"127.0.0.1:{server.port}"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run `autoscale ARGS` in-process; stdout and stderr kept apart."""
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def invoker(addr: str) -> Invoke:
    """`invoke(*args)` runs `autoscale ARGS --addr addr --timeout 10`."""

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return run(*args, "--addr", addr, "--timeout", "10", env=env)

    return invoke
