"""`autoscale up` / `serve alarm` with --prometheus-url and its credentials, as the real binary runs them: from flags or
the environment, sent to Prometheus as they should be, and start-up mistakes told in one line."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from autoscale.timeutil import to_duration
from autoscale.v1 import alarm_pb2, alarm_pb2_grpc
from tests.app.cli.test_server_commands import assert_one_line_saying, start_up_failure
from tests.e2e.harness import autoscale, free_port
from tests.prometheus_server import FakePrometheus
from tests.services.alarm.mesh import wait_for


@pytest.fixture
def fake_prometheus() -> Iterator[FakePrometheus]:
    server = FakePrometheus()
    yield server
    server.close()


RULE = alarm_pb2.PrometheusRule(
    query="avg(up)", comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, threshold=5, period=to_duration(60),
)


@pytest.mark.parametrize("by", ["flags", "variables"])
def test_prometheus_url_and_token_file_reach_prometheus_from_flags_or_the_environment(by, fake_prometheus, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    address = f"127.0.0.1:{free_port()}"
    args = ["serve", "alarm", "--listen", address, "--database-url", f"sqlite:///{tmp_path}/a.db",
            "--metrics-addr", f"127.0.0.1:{free_port()}"]
    env = {}
    if by == "flags":
        args += ["--prometheus-url", f"{fake_prometheus.url}/prom/", "--prometheus-token-file", str(token_file)]
    else:
        env = {"AUTOSCALE_PROMETHEUS_URL": f"{fake_prometheus.url}/prom/", "AUTOSCALE_PROMETHEUS_TOKEN_FILE": str(token_file)}
    with autoscale(args, tmp_path / "alarm.log", address, env), grpc.insecure_channel(address) as channel:
        alarms = alarm_pb2_grpc.AlarmServiceStub(channel)
        alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id="up", alarm=alarm_pb2.Alarm(prometheus_rule=RULE)), timeout=10)
        alarm = wait_for(lambda: (found := alarms.GetAlarm(alarm_pb2.GetAlarmRequest(name="alarms/up"), timeout=5).alarm).state
                         == alarm_pb2.ALARM_STATE_OK and found, timeout=10)
    assert alarm.state_reason == "not avg(up) > 5 in the last 1 period of 60s: 1 (newest last)"
    headers, form = fake_prometheus.requests[0]
    assert headers["Authorization"] == "Bearer s3cret-token"
    assert (form["query"], form["step"]) == (["avg(up)"], ["60.0"])
    assert float(form["end"][0]) - float(form["start"][0]) == pytest.approx(60.0, abs=0.002)


def test_basic_auth_comes_from_the_url_s_user_information(fake_prometheus, tmp_path):
    address = f"127.0.0.1:{free_port()}"
    url = fake_prometheus.url.replace("http://", "http://ops:pa55@")
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path}/a.db", "--prometheus-url", url]
    with autoscale(args, tmp_path / "up.log", address), grpc.insecure_channel(address) as channel:
        alarms = alarm_pb2_grpc.AlarmServiceStub(channel)
        alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id="up", alarm=alarm_pb2.Alarm(prometheus_rule=RULE)), timeout=10)
        wait_for(lambda: fake_prometheus.requests, timeout=10)
    assert fake_prometheus.requests[0][0]["Authorization"] == "Basic b3BzOnBhNTU="  # ops:pa55
    assert "pa55" not in (tmp_path / "up.log").read_text()


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--prometheus-url", "ftp://prometheus:9090"], ["--prometheus-url", "is not an http(s) URL"]),
        (["--prometheus-url", "http://127.0.0.1:9090", "--prometheus-token-file", "/nonexistent/token"],
         ["--prometheus-token-file /nonexistent/token cannot be read"]),
    ],
    ids=["url", "token-file"],
)
def test_a_prometheus_setting_that_cannot_be_used_is_told_in_one_line_naming_the_flag(flags, words, tmp_path):
    completed = start_up_failure(["serve", "alarm"], "--listen", "127.0.0.1:0", "--database-url", f"sqlite:///{tmp_path}/a.db", *flags)
    assert_one_line_saying(completed, *words)
