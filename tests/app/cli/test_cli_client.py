"""The plumbing every client command shares: where it calls, deadlines, failures, Ctrl-C."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from app.cli.client import GROUP, Client, client_command
from tests.app.cli.cli_support import run


@click.command()
@client_command(GROUP)
def where(client: Client) -> None:
    """Print where the command would call, and with which deadline."""
    click.echo(f"{client.address} {client.timeout:g}")


@click.command()
@client_command(GROUP)
def interrupted(client: Client) -> None:
    """Behave as if Ctrl-C was pressed during a call."""
    raise KeyboardInterrupt


def address(args: list[str], env: dict[str, str]) -> str:
    result = CliRunner().invoke(where, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout.split()[0]


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--addr", "flag:1"], {"AUTOSCALE_GROUP_ADDR": "service:1", "AUTOSCALE_ADDR": "mesh:1"}, "flag:1"),
        ([], {"AUTOSCALE_GROUP_ADDR": "service:1", "AUTOSCALE_ADDR": "mesh:1"}, "service:1"),
        ([], {"AUTOSCALE_GROUP_ADDR": "", "AUTOSCALE_ADDR": "mesh:1"}, "mesh:1"),
        ([], {"AUTOSCALE_POLICY_ADDR": "other-service:1", "AUTOSCALE_ADDR": "mesh:1"}, "mesh:1"),
        ([], {"AUTOSCALE_GROUP_ADDR": "", "AUTOSCALE_ADDR": ""}, "127.0.0.1:50051"),
    ],
    ids=["flag-wins", "service-variable-next", "mesh-variable-next", "other-services-variable-ignored", "default-last"],
)
def test_the_address_is_the_flag_then_the_service_variable_then_the_mesh_variable_then_the_default(
    args: list[str], env: dict[str, str], expected: str
) -> None:
    assert address(args, env) == expected


def test_every_call_has_a_deadline_of_ten_seconds_unless_timeout_says_otherwise() -> None:
    assert CliRunner().invoke(where, []).stdout.split()[1] == "10"
    assert CliRunner().invoke(where, ["--timeout", "2.5"]).stdout.split()[1] == "2.5"
    assert CliRunner().invoke(where, ["--timeout", "0"]).exit_code == 2


def test_ctrl_c_exits_130_quietly() -> None:
    result = CliRunner().invoke(interrupted, [])
    assert result.exit_code == 130
    assert result.output == ""


def test_an_unreachable_server_exits_1_with_a_hint_naming_the_address() -> None:
    result = run("group", "list", "--addr", "127.0.0.1:1", "--timeout", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: UNAVAILABLE: ")
    assert "is autoscale up (or autoscale serve group) running at 127.0.0.1:1?" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_the_service_variable_names_the_address_in_the_hint() -> None:
    result = run("policy", "list", "--timeout", "1", env={"AUTOSCALE_POLICY_ADDR": "127.0.0.1:1", "AUTOSCALE_ADDR": "127.0.0.1:2"})
    assert result.exit_code == 1
    assert "running at 127.0.0.1:1?" in result.stderr


def test_the_mesh_variable_reaches_a_real_server(group_addr: str) -> None:
    result = run("group", "list", "--timeout", "5", env={"AUTOSCALE_GROUP_ADDR": "", "AUTOSCALE_ADDR": group_addr})
    assert result.exit_code == 0, result.output
