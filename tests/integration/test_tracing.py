"""One trace runs from PutSamples through evaluation and ExecutePolicy to Adjust."""

from __future__ import annotations

import sys
import time

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

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
from tests.support import running_server

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture(scope="module")
def exporter():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


def _wait_for(condition, timeout: float = 10.0, describe=lambda: "condition not met in time") -> None:  # type: ignore[no-untyped-def]
    """Poll until `condition()` is true; fail with `describe()` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, describe()
        time.sleep(0.05)


def _server_spans(exporter, method: str):
    return [s for s in exporter.get_finished_spans() if s.name == method and s.kind == trace.SpanKind.SERVER]


def test_one_trace_runs_from_put_samples_to_adjust(exporter, tmp_path, sqlite_url):
    settings = Settings(database_url=sqlite_url, alarm_sweep_interval=60, reconcile_interval=0.2,
                        instance_log_dir=str(tmp_path / "instances"))
    with running_server(builders(), settings) as (_, channel):
        group = group_pb2_grpc.GroupServiceStub(channel)
        group.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="sleeper",
            launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=SLEEPER)),
        ))
        group.CreateGroup(group_pb2.CreateGroupRequest(group_id="web", group=group_pb2.Group(
            launch_config="launchConfigs/sleeper", min_size=0, max_size=2, desired_capacity=0)))
        policy_pb2_grpc.PolicyServiceStub(channel).CreatePolicy(policy_pb2.CreatePolicyRequest(
            policy_id="up", policy=policy_pb2.Policy(
                group="groups/web", adjustment_type=common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY, scaling_adjustment=1)))
        alarms = alarm_pb2_grpc.AlarmServiceStub(channel)
        alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(
            alarm_id="hot", alarm=alarm_pb2.Alarm(
                threshold_rule=alarm_pb2.ThresholdRule(
                    metric="load", statistic=common_pb2.STATISTIC_MAXIMUM,
                    comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, threshold=1, period=to_duration(60)),
                alarm_actions=["policies/up"])))
        # The evaluation that CreateAlarm starts must be over, or it could be the one to see the sample (in its own trace).
        _wait_for(lambda: alarms.GetAlarm(alarm_pb2.GetAlarmRequest(name="alarms/hot")).alarm.HasField("evaluate_time"))
        exporter.clear()
        series = metrics_pb2.TimeSeries(metric="load", dimensions={"host": "a"})
        series.points.add(value=5)
        metrics_pb2_grpc.MetricsServiceStub(channel).PutSamples(metrics_pb2.PutSamplesRequest(series=[series]))

        try:
            _wait_for(lambda: _server_spans(exporter, "/autoscale.v1.GroupService/Adjust"), timeout=20,
                      describe=lambda: f"no Adjust span among {[s.name for s in exporter.get_finished_spans()]}")
            put = _server_spans(exporter, "/autoscale.v1.MetricsService/PutSamples")
            assert put, [s.name for s in exporter.get_finished_spans()]
            trace_id = put[0].context.trace_id
            for method in ("autoscale.internal.v1.SampleFeedService/NotifySamples",
                           "autoscale.internal.v1.BatchStatisticsService/BatchGetStatistics",
                           "autoscale.v1.PolicyService/ExecutePolicy", "autoscale.v1.GroupService/Adjust"):
                spans = _server_spans(exporter, f"/{method}")
                assert any(s.context.trace_id == trace_id for s in spans), f"{method} is not in the PutSamples trace"
        finally:
            alarms.DeleteAlarm(alarm_pb2.DeleteAlarmRequest(name="alarms/hot"))
            group.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web", force=True))
