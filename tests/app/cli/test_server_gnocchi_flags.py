"""`autoscale up` / `serve alarm` with --gnocchi-url and friends, as the real binary runs them: from flags or the
environment, reaching a real Gnocchi with basic auth never logged, and start-up mistakes told in one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest

from autoscale.timeutil import to_duration
from autoscale.v1 import alarm_pb2, alarm_pb2_grpc
from tests.app.cli.test_server_commands import assert_one_line_saying, start_up_failure
from tests.e2e.harness import autoscale, free_port
from tests.gnocchi_server import INSTALL_TIMEOUT, START_TIMEOUT, GnocchiServer
from tests.services.alarm.mesh import wait_for


@pytest.mark.postgres
@pytest.mark.timeout(INSTALL_TIMEOUT + 2 * START_TIMEOUT)
@pytest.mark.parametrize("by", ["flags", "variables"])
def test_gnocchi_url_reaches_gnocchi_from_flags_or_the_environment_and_its_password_is_never_logged(by, gnocchi: GnocchiServer, tmp_path):
    resource = gnocchi.create_resource({"server_group": "flags"}, metrics=["cpu_util"])
    now = datetime.now(UTC).replace(microsecond=0)
    gnocchi.post_measures(resource["metrics"]["cpu_util"], [(now + timedelta(seconds=s), 7.0) for s in range(-5, 30)])
    gnocchi.await_processed()
    url = gnocchi.url.replace("http://", "http://autoscale:pa55w0rd@")
    address = f"127.0.0.1:{free_port()}"
    args = ["serve", "alarm", "--listen", address, "--database-url", f"sqlite:///{tmp_path}/a.db",
            "--metrics-addr", f"127.0.0.1:{free_port()}", "--alarm-sweep-interval", "0.5"]
    env = {}
    if by == "flags":
        args += ["--gnocchi-url", url, "--gnocchi-timeout", "3"]
    else:
        env = {"AUTOSCALE_GNOCCHI_URL": url, "AUTOSCALE_GNOCCHI_TIMEOUT": "3"}
    rule = alarm_pb2.GnocchiRule(
        metric="cpu_util", resource_type="instance", resource_id=resource["id"], aggregation_method="mean",
        comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, threshold=5, period=to_duration(1), evaluation_periods=2,
    )
    with autoscale(args, tmp_path / "alarm.log", address, env), grpc.insecure_channel(address) as channel:
        alarms = alarm_pb2_grpc.AlarmServiceStub(channel)
        alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id="cpu", alarm=alarm_pb2.Alarm(gnocchi_rule=rule)), timeout=10)
        alarm = wait_for(lambda: (found := alarms.GetAlarm(alarm_pb2.GetAlarmRequest(name="alarms/cpu"), timeout=5).alarm).state
                         == alarm_pb2.ALARM_STATE_ALARM and found, timeout=15)
    assert alarm.state_reason == f"mean(cpu_util of instance {resource['id']}) > 5 in the last 2 periods of 1s: 7, 7 (newest last)"
    assert "pa55w0rd" not in (tmp_path / "alarm.log").read_text()


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--gnocchi-url", "ftp://gnocchi:8041"], ["--gnocchi-url", "is not an http(s) URL"]),
        (["--gnocchi-cloud", "no-such-cloud"], ["--gnocchi-cloud no-such-cloud: cannot be loaded from clouds.yaml"]),
    ],
    ids=["url", "cloud"],
)
def test_a_gnocchi_setting_that_cannot_be_used_is_told_in_one_line_naming_the_flag(flags, words, tmp_path, monkeypatch):
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "clouds.yaml"))
    (tmp_path / "clouds.yaml").write_text("clouds: {}\n")
    completed = start_up_failure(["serve", "alarm"], "--listen", "127.0.0.1:0", "--database-url", f"sqlite:///{tmp_path}/a.db", *flags)
    assert_one_line_saying(completed, *words)
