"""Target tracking policies with a predictive floor through PolicyService: the forecast read from the Metrics service,
the floor applied or only shown, its failures and its rules (fake group, alarm and metrics services beside a real
policy service, on a clock moved by hand)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from autoscale.config import Settings
from autoscale.errors import field_violations
from autoscale.timeutil import from_duration, from_timestamp, to_duration
from autoscale.v1 import alarm_pb2, common_pb2, policy_pb2, policy_pb2_grpc
from services.policy.forecast import DAY, WEEK
from services.policy.server import build
from tests.services.policy.fake_alarm import FakeAlarmService
from tests.services.policy.fake_group import FakeGroupService
from tests.services.policy.fake_metrics import FakeMetricsService
from tests.support import FakeClock, running_server

CPU = policy_pb2.PREDEFINED_METRIC_TYPE_ASG_AVERAGE_CPU_UTILIZATION
ALARM_NAME = "alarms/web-cpu-target"
WEB = ("default", "groups/web")
SCALE = policy_pb2.PREDICTIVE_FLOOR_MODE_FORECAST_AND_SCALE
ONLY = policy_pb2.PREDICTIVE_FLOOR_MODE_FORECAST_ONLY


@dataclass
class FloorMesh:
    """The policy service under test and the fakes beside it."""

    policy: Any
    group: FakeGroupService
    metrics: FakeMetricsService
    clock: FakeClock


@pytest.fixture
def mesh(sqlite_url: str) -> Iterator[FloorMesh]:
    clock = FakeClock()
    group = FakeGroupService(clock)
    group.add_group("web", min_size=1, max_size=10, desired=2)
    group.groups[WEB].current_capacity = 2
    metrics = FakeMetricsService()
    services = [("policy", build), ("group", group.registration), ("alarm", FakeAlarmService().registration),
                ("metrics", metrics.registration)]
    with running_server(services, Settings(database_url=sqlite_url), clock=clock) as (_, channel):
        yield FloorMesh(policy_pb2_grpc.PolicyServiceStub(channel), group, metrics, clock)


def _tracking(**floor: Any) -> policy_pb2.TargetTrackingConfiguration:
    return policy_pb2.TargetTrackingConfiguration(
        target_value=50, predefined_metric_specification=policy_pb2.PredefinedMetricSpecification(predefined_metric_type=CPU),
        predictive_floor=policy_pb2.PredictiveFloor(**floor),
    )


def _create(mesh: FloorMesh, tracking: policy_pb2.TargetTrackingConfiguration) -> policy_pb2.Policy:
    request = policy_pb2.CreatePolicyRequest(
        policy_id="web-cpu", policy=policy_pb2.Policy(group="groups/web", target_tracking=tracking)
    )
    policy: policy_pb2.Policy = mesh.policy.CreatePolicy(request, timeout=5).policy
    return policy


def _signal(mesh: FloorMesh, value: float) -> policy_pb2.ExecutePolicyResponse:
    payload = policy_pb2.AlarmPayload(
        alarm=ALARM_NAME, previous_state=alarm_pb2.ALARM_STATE_ALARM, state=alarm_pb2.ALARM_STATE_OK, datapoints=[value],
        threshold=50, comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN,
    )
    request = policy_pb2.ExecutePolicyRequest(name="policies/web-cpu", alarm=ALARM_NAME, alarm_payload=payload)
    response: policy_pb2.ExecutePolicyResponse = mesh.policy.ExecutePolicy(request, timeout=5)
    return response


def _busy_yesterday(mesh: FloorMesh, buffer: float = 300.0) -> None:
    """Four instances at 90 % CPU around one day before now + buffer, each measured every 15 s as the group service's CPU
    reporter does: 16 samples in the minute read, a load of 360, a floor of 8 at a target of 50."""
    moment = mesh.clock.now + buffer - DAY
    for index in range(4):
        for offset in (-22.5, -7.5, 7.5, 22.5, 37.5):  # the last is beyond the minute read
            mesh.metrics.put("cpu_utilization", {"group": "web", "instance": f"i-{index}"}, moment + offset, 90.0)


def test_with_forecast_and_scale_the_floor_holds_the_capacity_up_though_the_metric_is_low(mesh: FloorMesh) -> None:
    _create(mesh, _tracking(mode=SCALE))
    _busy_yesterday(mesh)
    response = _signal(mesh, 10)
    assert (response.recommended_capacity, response.desired_capacity) == (1, 8)
    assert "held up at 8 by the predictive floor (forecast load 360)" in response.reason
    forecast = response.forecast
    assert (forecast.load, forecast.floor_capacity, forecast.applied) == (360, 8, True)
    assert [(from_duration(season.season), season.HasField("load")) for season in forecast.seasons] == [(DAY, True), (WEEK, False)]
    assert from_timestamp(forecast.time) == mesh.clock.now + 300
    adjust = mesh.group.adjust_requests[-1]
    assert (adjust.adjustment_type, adjust.adjustment) == (common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY, 8)


def test_each_season_reads_the_sum_of_the_metric_over_the_group_in_the_period_around_the_moment(mesh: FloorMesh) -> None:
    _create(mesh, _tracking(seasons=[to_duration(3600), to_duration(DAY)], buffer=to_duration(120)))
    _signal(mesh, 50)
    windows = [
        (request.metric, dict(request.dimensions), request.statistic, from_timestamp(request.start_time), from_timestamp(request.end_time))
        for request in mesh.metrics.requests
    ]
    moment = mesh.clock.now + 120
    assert windows == [
        ("cpu_utilization", {"group": "web"}, common_pb2.STATISTIC_SUM, moment - 3600 - 30, moment - 3600 + 30),
        ("cpu_utilization", {"group": "web"}, common_pb2.STATISTIC_SUM, moment - DAY - 30, moment - DAY + 30),
    ]


def test_with_forecast_only_the_group_scales_in_and_the_forecast_is_shown(mesh: FloorMesh) -> None:
    _create(mesh, _tracking(mode=ONLY))
    _busy_yesterday(mesh)
    response = _signal(mesh, 10)
    assert response.desired_capacity == 1 and "predictive floor" not in response.reason
    assert (response.forecast.floor_capacity, response.forecast.applied) == (8, False)
    policy = mesh.policy.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/web-cpu"), timeout=5).policy
    assert (policy.last_forecast.floor_capacity, policy.last_forecast.load) == (8, 360)
    executions = mesh.policy.ListPolicyExecutions(
        policy_pb2.ListPolicyExecutionsRequest(name="policies/web-cpu"), timeout=5
    ).executions
    assert (executions[0].desired_capacity, executions[0].forecast.floor_capacity) == (1, 8)


def test_a_floor_below_what_the_metric_decides_changes_nothing(mesh: FloorMesh) -> None:
    _create(mesh, _tracking(mode=SCALE))
    _busy_yesterday(mesh)
    group = mesh.group.groups[WEB]
    group.desired_capacity = group.current_capacity = 5
    response = _signal(mesh, 100)  # 5 × 100 / 50 = 10 instances: above the floor of 8
    assert response.desired_capacity == 10
    assert (response.forecast.floor_capacity, response.forecast.applied) == (8, False)


def test_without_history_there_is_no_floor_and_the_forecast_says_so(mesh: FloorMesh) -> None:
    _create(mesh, _tracking(mode=SCALE))
    response = _signal(mesh, 10)
    assert response.desired_capacity == 1
    assert not response.forecast.HasField("floor_capacity") and "no samples" in response.forecast.note


def test_a_failing_metrics_service_leaves_the_floor_out_and_never_fails_the_execution(mesh: FloorMesh) -> None:
    _create(mesh, _tracking(mode=SCALE))
    mesh.metrics.failure = grpc.StatusCode.UNAVAILABLE
    response = _signal(mesh, 10)
    assert response.desired_capacity == 1
    assert "the metrics service failed" in response.forecast.note and not response.forecast.HasField("load")
    executions = mesh.policy.ListPolicyExecutions(
        policy_pb2.ListPolicyExecutionsRequest(name="policies/web-cpu"), timeout=5
    ).executions
    assert not executions[0].failed and "the metrics service failed" in executions[0].forecast.note


def test_the_floor_is_kept_as_given_and_an_update_removes_it(mesh: FloorMesh) -> None:
    floor = {"seasons": [to_duration(DAY)], "mode": SCALE, "buffer": to_duration(0), "aggregation": policy_pb2.SEASON_AGGREGATION_AVERAGE}
    created = _create(mesh, _tracking(**floor))
    assert created.target_tracking.predictive_floor == policy_pb2.PredictiveFloor(**floor)
    without = policy_pb2.TargetTrackingConfiguration()
    without.CopyFrom(created.target_tracking)
    without.ClearField("predictive_floor")
    updated = mesh.policy.UpdatePolicy(
        policy_pb2.UpdatePolicyRequest(
            policy=policy_pb2.Policy(name="policies/web-cpu", target_tracking=without),
            update_mask=field_mask_pb2.FieldMask(paths=["target_tracking"]),
        ),
        timeout=5,
    ).policy
    assert not updated.target_tracking.HasField("predictive_floor")
    assert not _signal(mesh, 50).HasField("forecast")


PROMQL = policy_pb2.CustomizedMetricSpecification(prometheus_query="avg(rate(cpu[1m]))")
GNOCCHI = policy_pb2.CustomizedMetricSpecification(
    gnocchi_metric=policy_pb2.GnocchiMetric(metric="cpu", resource_type="instance", resource_id="x")
)
FLOOR = "policy.target_tracking.predictive_floor"


@pytest.mark.parametrize(
    ("tracking", "field"),
    [
        (policy_pb2.TargetTrackingConfiguration(target_value=50, customized_metric_specification=PROMQL,
                                                predictive_floor=policy_pb2.PredictiveFloor()), FLOOR),
        (policy_pb2.TargetTrackingConfiguration(target_value=50, customized_metric_specification=GNOCCHI,
                                                predictive_floor=policy_pb2.PredictiveFloor()), FLOOR),
        (_tracking(seasons=[to_duration(0)]), f"{FLOOR}.seasons[0]"),
        (_tracking(seasons=[to_duration(59)]), f"{FLOOR}.seasons[0]"),
        (_tracking(seasons=[to_duration(36 * DAY)]), f"{FLOOR}.seasons[0]"),
        (_tracking(seasons=[to_duration(DAY), to_duration(DAY)]), f"{FLOOR}.seasons[1]"),
        (_tracking(seasons=[to_duration(3600 * hours) for hours in range(1, 10)]), f"{FLOOR}.seasons"),
        (_tracking(buffer=to_duration(3601)), f"{FLOOR}.buffer"),
        (_tracking(sample_interval=to_duration(0)), f"{FLOOR}.sample_interval"),
        (_tracking(sample_interval=to_duration(0.5)), f"{FLOOR}.sample_interval"),
        (_tracking(sample_interval=to_duration(3601)), f"{FLOOR}.sample_interval"),
        (_tracking(mode=7), f"{FLOOR}.mode"),
        (_tracking(aggregation=7), f"{FLOOR}.aggregation"),
    ],
)
def test_a_predictive_floor_breaking_a_rule_is_refused_naming_the_field(
    mesh: FloorMesh, tracking: policy_pb2.TargetTrackingConfiguration, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        _create(mesh, tracking)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = {violation.field: violation.description for violation in field_violations(refused.value)}
    assert field in violations
    if field == FLOOR:
        assert "Metrics service" in violations[field]


def test_a_metric_sampled_once_a_period_is_summed_as_it_is_and_a_set_interval_counts_each_series_once(mesh: FloorMesh) -> None:
    queue = policy_pb2.CustomizedMetricSpecification(metric_name="queue_depth", dimensions={"group": "web"})
    tracking = policy_pb2.TargetTrackingConfiguration(
        target_value=10, customized_metric_specification=queue,
        predictive_floor=policy_pb2.PredictiveFloor(seasons=[to_duration(DAY)], buffer=to_duration(0)),
    )
    _create(mesh, tracking)
    moment = mesh.clock.now - DAY
    for index in range(3):  # three queues of 20 yesterday, one sample each in the minute: a total of 60, a floor of 6
        mesh.metrics.put("queue_depth", {"group": "web", "queue": f"q-{index}"}, moment, 20.0)
    assert (_signal(mesh, 10).forecast.load, _signal(mesh, 10).forecast.floor_capacity) == (60, 6)
    tracking.predictive_floor.sample_interval.CopyFrom(to_duration(30))  # two samples a series a minute were expected
    mesh.policy.UpdatePolicy(policy_pb2.UpdatePolicyRequest(
        policy=policy_pb2.Policy(name="policies/web-cpu", target_tracking=tracking),
        update_mask=field_mask_pb2.FieldMask(paths=["target_tracking"]),
    ), timeout=5)
    assert _signal(mesh, 10).forecast.load == 30
