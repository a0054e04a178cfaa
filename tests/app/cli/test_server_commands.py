"""`autoscale up` and `autoscale serve SERVICE` as the real binary runs them: start-up mistakes, --log-level, --webhook-allow,
the health port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from autoscale.timeutil import to_duration
from autoscale.v1 import alarm_pb2, alarm_pb2_grpc, common_pb2
from tests.e2e.harness import AUTOSCALE, autoscale, free_port, wait_healthy

COMMANDS = [pytest.param(["up"], id="up"), pytest.param(["serve", "metrics"], id="serve")]


def start_up_failure(command: list[str], *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `autoscale COMMAND ARGS`, which must give up at start; its exit status and output."""
    completed = subprocess.run([AUTOSCALE, *command, *args], capture_output=True, text=True, timeout=60, env=env)
    assert completed.returncode != 0, f"autoscale {' '.join(command + list(args))} started:\n{completed.stderr}"
    return completed


def assert_one_line_saying(completed: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit status 2 and a single line on stderr (no traceback) holding every one of `words`."""
    lines = completed.stderr.splitlines()
    assert completed.returncode == 2, completed.stderr
    assert len(lines) == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def port_in_use() -> Iterator[int]:
    """A port another process (this test) listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_port_in_use_is_told_in_one_line_with_exit_status_2(command, port_in_use, tmp_path):
    completed = start_up_failure(command, "--listen", f"127.0.0.1:{port_in_use}", "--database-url", f"sqlite:///{tmp_path}/a.db")
    assert_one_line_saying(completed, f"127.0.0.1:{port_in_use}", "already in use", "another port")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("listen", "complaint"), [
    ("nohost:x", "the port must be a number from 0 to 65535"),
    ("1.2.3.4:99999", "the port must be a number from 0 to 65535"),
    ("127.0.0.1", "is not HOST:PORT"),
    ("nohost.invalid:5000", "neither an address nor a name that resolves"),
    ("192.0.2.1:5000", "not an address of this machine"),
])
def test_a_listen_address_that_cannot_be_listened_on_is_told_in_one_line_with_exit_status_2(command, listen, complaint, tmp_path):
    completed = start_up_failure(command, "--listen", listen, "--database-url", f"sqlite:///{tmp_path}/a.db")
    assert_one_line_saying(completed, f"--listen {listen}", complaint, "127.0.0.1:50051")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("url", "complaint"), [
    ("mysql://user@db/autoscale", "mysql is not a database autoscale runs on"),
    ("foo://x", "foo is not a database autoscale runs on"),
    ("postgresql+psycopg2://user:secret@db/autoscale", "the driver postgresql+psycopg2 is not installed"),
])
def test_a_database_url_of_another_database_or_driver_is_told_in_one_line_with_exit_status_2(command, url, complaint):
    completed = start_up_failure(command, "--listen", "127.0.0.1:0", "--database-url", url)
    assert_one_line_saying(completed, complaint, "sqlite:///PATH", "postgresql+psycopg://")
    assert "secret" not in completed.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_a_state_directory_that_cannot_be_made_is_told_in_one_line_with_exit_status_2(command, tmp_path):
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_STATE_HOME": str(in_the_way / "state")}
    completed = start_up_failure(command, "--listen", "127.0.0.1:0", env=env)
    assert_one_line_saying(completed, "cannot create the state directory", str(in_the_way), "--database-url")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_sqlite_database_that_cannot_be_opened_is_told_in_one_line_with_exit_status_2(command, tmp_path):
    completed = start_up_failure(command, "--listen", "127.0.0.1:0", "--database-url", f"sqlite:///{tmp_path}")  # a directory
    assert_one_line_saying(completed, "cannot use the database", "unable to open database file", "--database-url")


@pytest.mark.parametrize("command", COMMANDS)
def test_log_level_is_taken_after_the_subcommand_too(command, tmp_path: Path):
    address = f"127.0.0.1:{free_port()}"
    assert " INFO autoscale: serving " in _served_log(command, address, tmp_path=tmp_path, address=address)


@pytest.mark.parametrize("command", COMMANDS)
def test_listening_beyond_loopback_without_authentication_is_refused_in_one_line_naming_insecure(command, tmp_path):
    completed = start_up_failure(command, "--listen", "0.0.0.0:0", "--database-url", f"sqlite:///{tmp_path}/a.db")
    assert_one_line_saying(completed, "--listen 0.0.0.0:0", "beyond this machine", "no caller is authenticated", "--insecure")


def _served_log(command: list[str], listen: str, *args: str, tmp_path: Path, address: str) -> str:
    """Start `autoscale COMMAND --listen LISTEN ARGS` at INFO, wait until `address` answers health, stop it; its log."""
    log_path = tmp_path / "autoscale.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [AUTOSCALE, *command, "--log-level", "INFO", "--listen", listen, *args, "--database-url", f"sqlite:///{tmp_path}/a.db"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy(address)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0, log_path.read_text()
    return log_path.read_text()


@pytest.mark.parametrize("command", COMMANDS)
def test_insecure_lets_it_listen_beyond_loopback_and_the_log_warns_that_anyone_can_do_anything(command, tmp_path):
    port = free_port()
    log = _served_log(command, f"0.0.0.0:{port}", "--insecure", tmp_path=tmp_path, address=f"127.0.0.1:{port}")
    assert "WARNING" in log and "authentication is off" in log and "anyone who reaches the port can do anything" in log


@pytest.mark.parametrize("command", COMMANDS)
def test_a_loopback_start_with_nothing_configured_says_in_the_log_that_authentication_is_off(command, tmp_path):
    address = f"127.0.0.1:{free_port()}"
    log = _served_log(command, address, tmp_path=tmp_path, address=address)
    assert "authentication is off: listening on loopback only" in log


@pytest.mark.parametrize(
    ("flags", "env"),
    [
        (["--webhook-allow", "10.0.0.0/8", "--webhook-allow", "127.0.0.0/8"], {}),
        ([], {"AUTOSCALE_WEBHOOK_ALLOW": "10.0.0.0/8, 127.0.0.0/8"}),
    ],
    ids=["flags", "variable"],
)
def test_webhook_allow_lets_alarm_webhooks_name_those_networks_and_no_other(flags, env, tmp_path):
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path}/a.db", *flags]
    rule = alarm_pb2.ThresholdRule(metric="cpu", statistic=common_pb2.STATISTIC_AVERAGE, threshold=80, period=to_duration(60),
                                   comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN)
    with autoscale(args, tmp_path / "autoscale.log", address, env), grpc.insecure_channel(address) as channel:
        alarms = alarm_pb2_grpc.AlarmServiceStub(channel)
        allowed = alarm_pb2.Alarm(threshold_rule=rule, ok_actions=["http://127.0.0.1:9/hook", "http://10.1.2.3/hook"])
        assert alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id="allowed", alarm=allowed), timeout=10).alarm.webhook_secret
        refused = alarm_pb2.Alarm(threshold_rule=rule, ok_actions=["http://169.254.169.254/latest/meta-data/"])
        with pytest.raises(grpc.RpcError) as raised:
            alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id="refused", alarm=refused), timeout=10)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "link-local" in raised.value.details()


def test_a_webhook_allowance_that_is_no_network_is_a_usage_error_naming_the_flag(tmp_path):
    completed = start_up_failure(["up"], "--listen", "127.0.0.1:0", "--webhook-allow", "10.0.0.1/8",
                                 "--database-url", f"sqlite:///{tmp_path}/a.db")
    assert completed.returncode == 2
    assert "--webhook-allow" in completed.stderr and "has host bits set" in completed.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_a_tls_file_that_cannot_be_read_is_told_in_one_line_naming_the_flag_and_the_file(command, tls_files, tmp_path):
    missing = tmp_path / "missing.key"
    completed = start_up_failure(command, "--listen", "127.0.0.1:0", "--database-url", f"sqlite:///{tmp_path}/a.db",
                                 "--tls-cert", str(tls_files.server_cert), "--tls-key", str(missing))
    assert_one_line_saying(completed, f"--tls-key {missing}: cannot read it")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_peer_certificate_read_from_the_environment_without_its_key_is_told_in_one_line(command, tls_files, tmp_path):
    env = {**os.environ, "AUTOSCALE_PEER_TLS_CA": str(tls_files.ca), "AUTOSCALE_PEER_TLS_CERT": str(tls_files.client_cert)}
    completed = start_up_failure(command, "--listen", "127.0.0.1:0", "--database-url", f"sqlite:///{tmp_path}/a.db", env=env)
    assert_one_line_saying(completed, f"--peer-tls-cert {tls_files.client_cert} needs --peer-tls-key")


def test_up_over_tls_without_a_peer_ca_is_told_in_one_line_that_its_services_call_each_other(tls_files, tmp_path):
    completed = start_up_failure(["up"], "--listen", "127.0.0.1:0", "--database-url", f"sqlite:///{tmp_path}/a.db",
                                 "--tls-cert", str(tls_files.server_cert), "--tls-key", str(tls_files.server_key))
    assert_one_line_saying(completed, "the services of this process call each other through its TLS port", "--peer-tls-ca")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_health_listen_that_is_not_host_port_is_told_in_one_line_naming_it(command, tmp_path):
    completed = start_up_failure(command, "--listen", "127.0.0.1:0", "--health-listen", "127.0.0.1",
                                 "--database-url", f"sqlite:///{tmp_path}/a.db")
    assert_one_line_saying(completed, "--health-listen 127.0.0.1 is not HOST:PORT")


@pytest.mark.parametrize("command", COMMANDS)
def test_the_health_port_answers_plaintext_and_the_start_says_where(command, tls_files, tmp_path):
    address, health_address = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    tls = ["--tls-cert", str(tls_files.server_cert), "--tls-key", str(tls_files.server_key), "--peer-tls-ca", str(tls_files.ca)]
    log = _served_log(command, address, "--health-listen", health_address, *tls, tmp_path=tmp_path, address=health_address)
    assert f"autoscale: serving health checks on {health_address} (plaintext)" in log
    assert f"on {address} over TLS" in log


@pytest.mark.parametrize(("flags", "env"), [(["--http-listen", "{http}"], {}), ([], {"AUTOSCALE_HTTP_LISTEN": "{http}"})],
                         ids=["flag", "variable"])
def test_http_listen_serves_healthz_and_metrics_and_the_start_says_where(flags, env, tmp_path):
    address, http = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    flags = [flag.replace("{http}", http) for flag in flags]
    env = {**os.environ, **{name: value.replace("{http}", http) for name, value in env.items()}}
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path}/a.db", *flags]
    with autoscale(args, tmp_path / "autoscale.log", address, env):
        with urllib.request.urlopen(f"http://{http}/healthz", timeout=5) as answer:
            assert answer.read() == b"ok\n"
        with urllib.request.urlopen(f"http://{http}/metrics", timeout=5) as answer:
            assert b"process_cpu_seconds_total" in answer.read()
    assert f"serving HTTP on http://{http}" in (tmp_path / "autoscale.log").read_text()


@pytest.mark.parametrize("command", COMMANDS)
def test_an_http_listen_port_in_use_is_told_in_one_line_naming_the_flag(command, port_in_use, tmp_path):
    completed = start_up_failure(command, "--listen", "127.0.0.1:0", "--http-listen", f"127.0.0.1:{port_in_use}",
                                 "--database-url", f"sqlite:///{tmp_path}/a.db")
    assert_one_line_saying(completed, "--http-listen", "already in use")
