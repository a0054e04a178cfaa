"""Entry point of the `autoscale` command."""

from __future__ import annotations

import click

from app.cli.alarm_commands import alarm
from app.cli.audit_commands import audit
from app.cli.group_commands import group
from app.cli.key_commands import keys
from app.cli.launch_config_commands import launch_config
from app.cli.lifecycle_hook_commands import lifecycle_hook
from app.cli.log_level import log_level_option
from app.cli.metrics_commands import metrics
from app.cli.policy_commands import policy
from app.cli.quota_commands import quota
from app.cli.receiver_commands import receiver
from app.cli.replay_commands import replay_command
from app.cli.server_commands import serve, up


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@log_level_option(after_subcommand=False)
@click.version_option(package_name="autoscale")
def cli() -> None:
    """autoscale: metrics, alarms, scaling policies and groups as four gRPC services."""


@cli.command()
def demo() -> None:
    """Watch a group of local processes scale out and back in under load (about a minute)."""
    from rich.console import Console

    from app.demo.runner import run_demo

    raise SystemExit(run_demo(Console()))


cli.add_command(up)
cli.add_command(serve)
cli.add_command(keys)
cli.add_command(replay_command)
for client_group in (launch_config, group, lifecycle_hook, policy, receiver, alarm, metrics, quota, audit):
    cli.add_command(client_group)


def main() -> None:
    """Run the command line."""
    cli()
