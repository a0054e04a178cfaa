"""The `--log-level` option: before the subcommand (`autoscale --log-level INFO up`) or after `up` and `serve`
(`autoscale up --log-level INFO`), as people type it either way."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import click

LOG_LEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _apply_log_level(_context: click.Context, _parameter: click.Parameter, level: str | None) -> None:
    """Log at `level` from now on; None (the option not given after the subcommand) leaves the level as it is."""
    if level is None:
        return
    logging.basicConfig(format=LOG_FORMAT)  # only the first call installs a handler
    logging.getLogger().setLevel(level.upper())


def log_level_option(*, after_subcommand: bool) -> Callable[[Any], Any]:
    """`--log-level` for the `autoscale` group (with its default and AUTOSCALE_LOG_LEVEL), or for a subcommand.

    NOTE: click reads an option only where it is declared; the subcommand's copy has no default,
    so that `autoscale --log-level INFO up` keeps INFO, and click applies the group's before the
    subcommand's, so the one written after the subcommand wins.
    """
    if after_subcommand:
        return click.option("--log-level", type=LOG_LEVELS, default=None, expose_value=False,
                            callback=_apply_log_level, help="DEBUG, INFO, WARNING or ERROR (as `autoscale --log-level`).")
    return click.option("--log-level", envvar="AUTOSCALE_LOG_LEVEL", type=LOG_LEVELS, default="WARNING", show_default=True,
                        expose_value=False, callback=_apply_log_level)
