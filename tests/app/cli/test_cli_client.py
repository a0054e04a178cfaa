"""The plumbing every client command shares: where it calls, deadlines, failures, Ctrl-C, TLS."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner, Result

from app.cli.client import GROUP, Client, client_command
from tests.app.cli.cli_support import run
from tests.certificates import TlsFiles
from tests.e2e.harness import autoscale, free_port


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


@pytest.fixture(scope="module")
def mutual_tls_up(tls_files: TlsFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `autoscale up` that requires client certificates (waited for on its plaintext health port); its address."""
    directory = tmp_path_factory.mktemp("tls-up")
    address, health_address = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--health-listen", health_address, "--database-url", f"sqlite:///{directory / 'up.db'}",
            "--instance-log-dir", str(directory), "--tls-cert", str(tls_files.server_cert), "--tls-key", str(tls_files.server_key),
            "--tls-client-ca", str(tls_files.ca), "--peer-tls-ca", str(tls_files.ca), "--peer-tls-cert", str(tls_files.client_cert),
            "--peer-tls-key", str(tls_files.client_key)]
    with autoscale(args, directory / "up.log", health_address):
        yield address


def with_tls(files: TlsFiles) -> list[str]:
    return ["--tls-ca", str(files.ca), "--tls-cert", str(files.client_cert), "--tls-key", str(files.client_key)]


def test_the_cli_calls_autoscale_up_over_mutual_tls_with_its_tls_flags(mutual_tls_up: str, tls_files: TlsFiles) -> None:
    def invoke(*args: str) -> Result:
        result = run(*args, "--addr", mutual_tls_up, "--timeout", "10", *with_tls(tls_files))
        assert result.exit_code == 0, result.output
        return result

    invoke("launch-config", "create", "idle", "--arg", "true")
    invoke("group", "create", "web", "--launch-config", "idle", "--min", "0", "--max", "1")
    assert "web" in invoke("group", "list").stdout
    invoke("group", "delete", "web")  # the group service asks the policy service, through the process's own TLS port
    assert "web" not in invoke("group", "list").stdout


def test_the_tls_variables_stand_for_the_tls_flags(mutual_tls_up: str, tls_files: TlsFiles) -> None:
    env = {"AUTOSCALE_TLS_CA": str(tls_files.ca), "AUTOSCALE_TLS_CERT": str(tls_files.client_cert),
           "AUTOSCALE_TLS_KEY": str(tls_files.client_key)}
    result = run("group", "list", "--addr", mutual_tls_up, "--timeout", "10", env=env)
    assert result.exit_code == 0, result.output


def test_without_tls_ca_the_cli_is_refused_by_a_tls_server_and_hinted_to_give_it(mutual_tls_up: str) -> None:
    result = run("group", "list", "--addr", mutual_tls_up, "--timeout", "5")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: UNAVAILABLE: ")
    assert "If it serves TLS, give --tls-ca" in result.stderr


def test_without_a_client_certificate_the_cli_is_refused_by_mutual_tls(mutual_tls_up: str, tls_files: TlsFiles) -> None:
    result = run("group", "list", "--addr", mutual_tls_up, "--timeout", "5", "--tls-ca", str(tls_files.ca))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: UNAVAILABLE: ")
    assert "--tls-ca must have signed its certificate" in result.stderr


def test_a_tls_file_that_cannot_be_used_is_told_in_one_line_with_exit_status_2(tls_files: TlsFiles, tmp_path) -> None:
    missing = tmp_path / "missing.pem"
    result = run("group", "list", "--tls-ca", str(missing))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"Error: --tls-ca {missing}: cannot read it (No such file or directory)"]
    mismatched = run("group", "list", "--tls-ca", str(tls_files.ca), "--tls-cert", str(tls_files.client_cert),
                     "--tls-key", str(tls_files.server_key))
    assert mismatched.exit_code == 2
    assert f"--tls-key {tls_files.server_key} is not the key of --tls-cert {tls_files.client_cert}" in mismatched.stderr
