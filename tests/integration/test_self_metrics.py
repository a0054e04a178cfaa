"""`GET /metrics` of a running mesh: Prometheus's text format, with the groups' capacities and activities, the policies'
executions and the receivers' signals as they are, and the process's own figures."""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from autoscale.config import Settings
from autoscale.timeutil import to_duration
from autoscale.v1 import (
    alarm_pb2,
    alarm_pb2_grpc,
    common_pb2,
    group_pb2,
    group_pb2_grpc,
    metrics_pb2,
    metrics_pb2_grpc,
    policy_pb2,
    policy_pb2_grpc,
)
from services.registry import builders
from tests import prometheus_server
from tests.support import running_server

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[tuple[grpc.Channel, str]]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'autoscale.db'}", http_listen="127.0.0.1:0", reconcile_interval=0.2,
        instance_log_dir=str(tmp_path / "logs"),
    )
    with running_server(builders(), settings) as (server, channel):
        assert server.http_listener is not None
        groups = group_pb2_grpc.GroupServiceStub(channel)
        groups.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=SLEEPER))), timeout=5)
        groups.CreateGroup(group_pb2.CreateGroupRequest(group_id="web", group=group_pb2.Group(
            launch_config="launchConfigs/lc", min_size=1, max_size=3, cooldown=to_duration(0))), timeout=5)
        try:
            yield channel, server.http_listener.base_url
        finally:
            groups.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web", force=True), timeout=10)


def _scrape(base_url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Each sample of /metrics by name, keyed by its labels."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = response.read().decode()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def _wait_for(condition, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := condition()):
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_metrics_show_each_groups_capacity_instances_and_activities(mesh):
    channel, base_url = mesh
    web = (("group", "web"), ("project", "default"))
    samples = _wait_for(lambda: (s := _scrape(base_url))["autoscale_group_current_capacity"].get(web) == 1 and s)
    assert samples["autoscale_group_desired_capacity"][web] == 1
    assert samples["autoscale_group_min_size"][web] == 1 and samples["autoscale_group_max_size"][web] == 3
    assert samples["autoscale_group_launch_failures"][web] == 0
    assert samples["autoscale_group_instances"][(*web, ("state", "running"))] == 1
    assert samples["autoscale_group_activities_total"][(*web, ("status", "succeeded"))] == 1
    assert samples["process_resident_memory_bytes"][()] > 0


def test_metrics_count_executions_and_signals_by_outcome(mesh):
    channel, base_url = mesh
    web = (("group", "web"), ("project", "default"))
    _wait_for(lambda: _scrape(base_url)["autoscale_group_activities_total"].get((*web, ("status", "succeeded"))) == 1)
    policies = policy_pb2_grpc.PolicyServiceStub(channel)
    policies.CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id="up", policy=policy_pb2.Policy(
        group="groups/web", adjustment_type=common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY, scaling_adjustment=1)), timeout=5)
    url = policies.CreateReceiver(policy_pb2.CreateReceiverRequest(
        parent="policies/up", receiver_id="script", receiver=policy_pb2.Receiver(format=policy_pb2.RECEIVER_FORMAT_PLAIN)), timeout=5).url
    for _ in range(2):
        request = urllib.request.Request(url, data=b"", method="POST", headers={"Idempotency-Key": "k"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
    request = urllib.request.Request(url + "x", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 404

    samples = _scrape(base_url)
    executions = samples["autoscale_policy_executions_total"]
    assert executions[(("outcome", "adjusted"), ("policy", "up"), ("project", "default"))] == 1
    assert executions[(("outcome", "repeated"), ("policy", "up"), ("project", "default"))] == 1
    assert samples["autoscale_policy_execution_seconds_count"][()] == 2
    signals = samples["autoscale_receiver_signals_total"]
    assert signals[(("format", "plain"), ("status", "200"))] == 2
    assert signals[(("format", ""), ("status", "404"))] == 1


def test_metrics_count_the_points_ingested_and_the_series_of_each_project(mesh):
    channel, base_url = mesh
    put = metrics_pb2_grpc.MetricsServiceStub(channel).PutSamples
    put(metrics_pb2.PutSamplesRequest(series=[
        metrics_pb2.TimeSeries(metric="cpu", dimensions={"n": str(n)}, points=[metrics_pb2.Point(value=1), metrics_pb2.Point(value=2)])
        for n in range(3)
    ]), timeout=5)
    samples = _scrape(base_url)
    assert samples["autoscale_metrics_points_total"][(("project", "default"),)] == 6
    assert samples["autoscale_metrics_series"][(("project", "default"),)] == 3


def test_metrics_show_alarm_states_action_outcomes_and_the_evaluations_latency(mesh):
    channel, base_url = mesh
    web = (("group", "web"), ("project", "default"))
    _wait_for(lambda: _scrape(base_url)["autoscale_group_activities_total"].get((*web, ("status", "succeeded"))) == 1)
    policy_pb2_grpc.PolicyServiceStub(channel).CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id="up", policy=policy_pb2.Policy(
        group="groups/web", adjustment_type=common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY, scaling_adjustment=1)), timeout=5)
    rule = alarm_pb2.ThresholdRule(
        metric="load", dimensions={"group": "web"}, statistic=common_pb2.STATISTIC_MAXIMUM, threshold=50,
        comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, period=to_duration(60), evaluation_periods=1,
    )
    alarms = alarm_pb2_grpc.AlarmServiceStub(channel)
    alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(
        alarm_id="busy", alarm=alarm_pb2.Alarm(threshold_rule=rule, alarm_actions=["policies/up"])), timeout=5)
    alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id="quiet", alarm=alarm_pb2.Alarm(threshold_rule=rule)), timeout=5)
    metrics_pb2_grpc.MetricsServiceStub(channel).PutSamples(metrics_pb2.PutSamplesRequest(series=[
        metrics_pb2.TimeSeries(metric="load", dimensions={"group": "web"}, points=[metrics_pb2.Point(value=99)])]), timeout=5)
    actions = (("kind", "policy"), ("outcome", "succeeded"), ("project", "default"))
    samples = _wait_for(lambda: (s := _scrape(base_url)).get("autoscale_alarm_actions_total", {}).get(actions) == 1 and s)
    assert samples["autoscale_alarm_state"][(("alarm", "busy"), ("project", "default"), ("state", "alarm"))] == 1
    assert samples["autoscale_alarms"][(("project", "default"), ("state", "alarm"))] == 2
    assert samples["autoscale_alarm_action_seconds_count"][(("kind", "policy"),)] == 1
    assert samples["autoscale_alarm_reaction_seconds_count"][()] >= 1
    assert samples["autoscale_alarm_evaluation_seconds_count"][(("trigger", "samples"),)] >= 1
    alarms.DeleteAlarm(alarm_pb2.DeleteAlarmRequest(name="alarms/busy"), timeout=5)  # the group's policy goes with it


def test_a_real_prometheus_scrapes_the_autoscaler(mesh, tmp_path):
    reason = prometheus_server.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    _, base_url = mesh
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: autoscale\n    static_configs:\n"
        f"      - targets: ['{base_url.split('//', 1)[1]}']\n"
    )
    with prometheus_server.served(tmp_path) as url:
        scraper = prometheus_server.PrometheusServer(url, exporter=None, folder=tmp_path)  # type: ignore[arg-type]
        scraper.wait_for_value('autoscale_group_desired_capacity{group="web", job="autoscale"}', 1)
        scraper.wait_for_value('up{job="autoscale"}', 1)
