"""Target tracking policies through PolicyService: the alarm they own, their rules, and executions that keep the metric
at the target (fake group and alarm services beside a real policy service, on a clock moved by hand)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from autoscale.config import Settings
from autoscale.errors import field_violations
from autoscale.timeutil import to_duration
from autoscale.v1 import alarm_pb2, common_pb2, policy_pb2, policy_pb2_grpc
from services.policy.server import build
from tests.services.policy.fake_alarm import FakeAlarmService
from tests.services.policy.fake_group import FakeGroupService
from tests.services.policy.test_policy_service import Mesh
from tests.support import FakeClock, running_server

CPU = policy_pb2.PREDEFINED_METRIC_TYPE_ASG_AVERAGE_CPU_UTILIZATION
ALARM_NAME = "alarms/web-cpu-target"
WEB = ("default", "groups/web")


@pytest.fixture
def mesh(sqlite_url: str) -> Iterator[Mesh]:
    clock = FakeClock()
    group = FakeGroupService(clock)
    group.add_group("web", min_size=1, max_size=10, desired=2)
    group.groups[WEB].current_capacity = 2
    alarm = FakeAlarmService()
    services = [("policy", build), ("group", group.registration), ("alarm", alarm.registration)]
    with running_server(services, Settings(database_url=sqlite_url), clock=clock) as (_, channel):
        yield Mesh(policy_pb2_grpc.PolicyServiceStub(channel), group, alarm, clock)


def _tracking(**fields: Any) -> policy_pb2.TargetTrackingConfiguration:
    fields = {
        "target_value": 50, "predefined_metric_specification": policy_pb2.PredefinedMetricSpecification(predefined_metric_type=CPU),
        **fields,
    }
    return policy_pb2.TargetTrackingConfiguration(**fields)


def _create(mesh: Mesh, policy_id: str = "web-cpu", **fields: Any) -> policy_pb2.Policy:
    fields = {"group": "groups/web", "target_tracking": _tracking(), **fields}
    request = policy_pb2.CreatePolicyRequest(policy_id=policy_id, policy=policy_pb2.Policy(**fields))
    policy: policy_pb2.Policy = mesh.policy.CreatePolicy(request, timeout=5).policy
    return policy


def _signal(mesh: Mesh, value: float, policy_id: str = "web-cpu") -> policy_pb2.ExecutePolicyResponse:
    payload = policy_pb2.AlarmPayload(
        alarm=ALARM_NAME, previous_state=alarm_pb2.ALARM_STATE_OK, state=alarm_pb2.ALARM_STATE_ALARM, datapoints=[value],
        threshold=50, comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN,
    )
    request = policy_pb2.ExecutePolicyRequest(name=f"policies/{policy_id}", alarm=ALARM_NAME, alarm_payload=payload)
    response: policy_pb2.ExecutePolicyResponse = mesh.policy.ExecutePolicy(request, timeout=5)
    return response


def _in_service(mesh: Mesh, count: int) -> None:
    mesh.group.groups[WEB].current_capacity = count


def test_a_target_tracking_policy_makes_the_alarm_it_owns_over_its_metric(mesh: Mesh) -> None:
    policy = _create(mesh, target_tracking=_tracking(period=to_duration(30)))
    assert list(policy.alarms) == [ALARM_NAME]
    assert policy.target_tracking.target_value == 50 and policy.adjustment_type == common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY
    alarm = mesh.alarm.alarms[("default", ALARM_NAME)]
    assert alarm.owner == "policies/web-cpu"
    assert list(alarm.alarm_actions) == list(alarm.ok_actions) == ["policies/web-cpu"]
    rule = alarm.threshold_rule
    assert (rule.metric, dict(rule.dimensions), rule.statistic) == ("cpu_utilization", {"group": "web"}, common_pb2.STATISTIC_AVERAGE)
    assert (rule.comparison_operator, rule.threshold, rule.period.seconds, rule.evaluation_periods) == (
        alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, 50, 30, 1,
    )


def test_a_customized_promql_metric_makes_a_prometheus_alarm(mesh: Mesh) -> None:
    customized = policy_pb2.CustomizedMetricSpecification(prometheus_query="avg(rate(requests_total[1m]))")
    _create(mesh, target_tracking=policy_pb2.TargetTrackingConfiguration(target_value=100, customized_metric_specification=customized))
    rule = mesh.alarm.alarms[("default", ALARM_NAME)].prometheus_rule
    assert (rule.query, rule.threshold, rule.period.seconds) == ("avg(rate(requests_total[1m]))", 100, 60)


def test_a_customized_gnocchi_metric_makes_a_gnocchi_alarm(mesh: Mesh) -> None:
    gnocchi = policy_pb2.GnocchiMetric(metric="cpu", resource_type="instance", resource_query='{"=": {"server_group": "web"}}')
    customized = policy_pb2.CustomizedMetricSpecification(gnocchi_metric=gnocchi)
    _create(mesh, target_tracking=policy_pb2.TargetTrackingConfiguration(target_value=60, customized_metric_specification=customized))
    rule = mesh.alarm.alarms[("default", ALARM_NAME)].gnocchi_rule
    assert (rule.metric, rule.resource_type, rule.resource_query, rule.aggregation_method, rule.threshold) == (
        "cpu", "instance", '{"=": {"server_group": "web"}}', "mean", 60,
    )


BEHAVIOR = policy_pb2.ScalingBehavior
GNOCCHI_BOTH_TARGETS = policy_pb2.CustomizedMetricSpecification(
    gnocchi_metric=policy_pb2.GnocchiMetric(metric="cpu", resource_type="instance", resource_id="r", resource_query="{}"),
)


@pytest.mark.parametrize(
    ("policy_id", "fields", "field"),
    [
        ("web-cpu", {"target_tracking": _tracking(target_value=0)}, "policy.target_tracking.target_value"),
        ("web-cpu", {"target_tracking": _tracking(target_value=float("nan"))}, "policy.target_tracking.target_value"),
        (
            "web-cpu", {"target_tracking": policy_pb2.TargetTrackingConfiguration(target_value=50)},
            "policy.target_tracking.predefined_metric_specification",
        ),
        (
            "web-cpu",
            {"target_tracking": _tracking(customized_metric_specification=policy_pb2.CustomizedMetricSpecification(metric_name="x"))},
            "policy.target_tracking.predefined_metric_specification",
        ),
        (
            "web-cpu",
            {"target_tracking": _tracking(predefined_metric_specification=policy_pb2.PredefinedMetricSpecification())},
            "policy.target_tracking.predefined_metric_specification.predefined_metric_type",
        ),
        (
            "web-cpu",
            {"target_tracking": policy_pb2.TargetTrackingConfiguration(
                target_value=5, customized_metric_specification=policy_pb2.CustomizedMetricSpecification(
                    metric_name="queue", prometheus_query="sum(queue)"))},
            "policy.target_tracking.customized_metric_specification.metric_name",
        ),
        (
            "web-cpu",
            {"target_tracking": policy_pb2.TargetTrackingConfiguration(
                target_value=5, customized_metric_specification=policy_pb2.CustomizedMetricSpecification(statistic=9, metric_name="q"))},
            "policy.target_tracking.customized_metric_specification.statistic",
        ),
        (
            "web-cpu",
            {"target_tracking": policy_pb2.TargetTrackingConfiguration(
                target_value=5, customized_metric_specification=GNOCCHI_BOTH_TARGETS)},
            "policy.target_tracking.customized_metric_specification.gnocchi_metric.resource_id",
        ),
        (
            "web-cpu",
            {"target_tracking": policy_pb2.TargetTrackingConfiguration(
                target_value=5, customized_metric_specification=policy_pb2.CustomizedMetricSpecification(
                    prometheus_query="sum(q)", gnocchi_metric=policy_pb2.GnocchiMetric(metric_ids=["x"])))},
            "policy.target_tracking.customized_metric_specification.gnocchi_metric",
        ),
        ("web-cpu", {"target_tracking": _tracking(period=to_duration(0))}, "policy.target_tracking.period"),
        ("web-cpu", {"target_tracking": _tracking(period=to_duration(3601))}, "policy.target_tracking.period"),
        ("web-cpu", {"target_tracking": _tracking(tolerance=1.5)}, "policy.target_tracking.tolerance"),
        (
            "web-cpu",
            {"target_tracking": _tracking(behavior=BEHAVIOR(scale_down=policy_pb2.ScalingRules(stabilization_window=to_duration(3601))))},
            "policy.target_tracking.behavior.scale_down.stabilization_window",
        ),
        (
            "web-cpu", {"target_tracking": _tracking(behavior=BEHAVIOR(scale_up=policy_pb2.ScalingRules(select_policy=7)))},
            "policy.target_tracking.behavior.scale_up.select_policy",
        ),
        (
            "web-cpu",
            {"target_tracking": _tracking(behavior=BEHAVIOR(scale_up=policy_pb2.ScalingRules(policies=[policy_pb2.ScalingRatePolicy(
                type=policy_pb2.SCALING_RATE_POLICY_TYPE_PERCENT, value=0, period=to_duration(15))])))},
            "policy.target_tracking.behavior.scale_up.policies[0].value",
        ),
        (
            "web-cpu",
            {"target_tracking": _tracking(behavior=BEHAVIOR(scale_up=policy_pb2.ScalingRules(
                policies=[policy_pb2.ScalingRatePolicy(type=policy_pb2.SCALING_RATE_POLICY_TYPE_PERCENT, value=10)])))},
            "policy.target_tracking.behavior.scale_up.policies[0].period",
        ),
        (
            "web-cpu",
            {"target_tracking": _tracking(behavior=BEHAVIOR(scale_down=policy_pb2.ScalingRules(policies=[policy_pb2.ScalingRatePolicy(
                value=1, period=to_duration(15))])))},
            "policy.target_tracking.behavior.scale_down.policies[0].type",
        ),
        ("web-cpu", {"scaling_adjustment": 2}, "policy.scaling_adjustment"),
        ("web-cpu", {"cooldown": to_duration(60)}, "policy.cooldown"),
        ("web-cpu", {"adjustment_type": common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY}, "policy.adjustment_type"),
        ("a" * 57, {}, "policy_id"),
    ],
)
def test_a_target_tracking_policy_breaking_a_rule_is_refused_naming_the_field(
    mesh: Mesh, policy_id: str, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        _create(mesh, policy_id, **fields)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in [violation.field for violation in field_violations(refused.value)]
    assert not mesh.alarm.alarms


def test_an_alarm_left_by_an_earlier_policy_of_the_same_name_is_taken_over(mesh: Mesh) -> None:
    """A policy whose making failed after its alarm was made (its answer lost) left the alarm, owned by its name."""
    _create(mesh)
    left = mesh.alarm.alarms[("default", "alarms/web-cpu-target")]
    mesh.policy.DeletePolicy(policy_pb2.DeletePolicyRequest(name="policies/web-cpu"), timeout=5)
    mesh.alarm.alarms[("default", "alarms/web-cpu-target")] = left
    _create(mesh)
    assert mesh.alarm.alarms[("default", "alarms/web-cpu-target")].owner == "policies/web-cpu"


def test_a_policy_whose_alarm_cannot_be_made_is_not_kept(mesh: Mesh) -> None:
    mesh.alarm.add_alarm("web-cpu-target")
    with pytest.raises(grpc.RpcError) as refused:
        _create(mesh)
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as missing:
        mesh.policy.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/web-cpu"), timeout=5)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_the_metric_above_target_scales_out_to_hpas_capacity_by_the_warm_up_rule(mesh: Mesh) -> None:
    _create(mesh, estimated_instance_warmup=to_duration(30))
    response = _signal(mesh, 100.0)
    assert response.adjusted and (response.recommended_capacity, response.desired_capacity) == (4, 4)
    assert "metric 100 against target 50 with 2 in service: 4 recommended" in response.reason
    (adjust,) = mesh.group.adjust_requests
    assert (adjust.adjustment_type, adjust.adjustment, adjust.step_scaling) == (common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY, 4, True)
    assert adjust.estimated_instance_warmup.seconds == 30 and adjust.alarm_notification
    (execution,) = mesh.executions("web-cpu")
    assert (execution.metric_value, execution.recommended_capacity, execution.desired_capacity) == (100.0, 4, 4)
    policy = mesh.policy.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/web-cpu"), timeout=5).policy
    assert policy.last_recommendation.recommended_capacity == 4
    assert policy.last_recommendation.time.seconds == int(mesh.clock.now)


def test_instances_warming_up_do_not_count_on_a_scale_out_so_a_metric_still_high_adds_nothing_and_a_higher_one_adds_more(
    mesh: Mesh,
) -> None:
    """AWS's warm-up for target tracking: one instance warmed up and two launched 10 s ago (30 s warm-up), desired 3."""
    _create(mesh, estimated_instance_warmup=to_duration(30))
    now = mesh.clock.now
    mesh.group.groups[WEB].desired_capacity = 3
    mesh.group.in_service_since[WEB] = [now - 3600, now - 10, now - 10]
    still_high = _signal(mesh, 100.0)  # counted, 3 x 100 / 50 would ask 6
    assert not still_high.adjusted and still_high.recommended_capacity == 3
    assert "with 1 in service and warmed up: 3 recommended (2 warming up, not counted)" in still_high.reason
    higher = _signal(mesh, 200.0)  # 1 x 200 / 50
    assert higher.adjusted and (higher.recommended_capacity, higher.desired_capacity) == (4, 4)
    mesh.clock.advance(30)  # warmed up: the three count again
    assert _signal(mesh, 200.0).recommended_capacity == 12


def test_without_a_warm_up_of_its_own_a_policy_counts_instances_warming_up_for_the_groups_cooldown(mesh: Mesh) -> None:
    _create(mesh)
    now = mesh.clock.now
    mesh.group.groups[WEB].cooldown.CopyFrom(to_duration(120))
    mesh.group.in_service_since[WEB] = [now - 3600, now - 60]
    assert "(1 warming up, not counted)" in _signal(mesh, 100.0).reason
    mesh.group.groups[WEB].ClearField("cooldown")  # then AWS's default cooldown, 300 s
    mesh.group.in_service_since[WEB] = [now - 3600, now - 200]
    assert "(1 warming up, not counted)" in _signal(mesh, 100.0).reason


def test_when_every_instance_in_service_warms_up_a_scale_out_waits_and_says_so(mesh: Mesh) -> None:
    _create(mesh, estimated_instance_warmup=to_duration(60))
    mesh.group.in_service_since[WEB] = [mesh.clock.now - 10, mesh.clock.now - 10]
    response = _signal(mesh, 100.0)
    assert not response.adjusted and not mesh.group.adjust_requests
    assert "every instance in service still warms up (2 warming up, not counted)" in response.reason


def test_a_group_service_failing_to_list_the_instances_fails_the_execution_and_records_the_metric(mesh: Mesh) -> None:
    _create(mesh)
    mesh.group.failures["ListInstances"] = grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.RpcError) as raised:
        _signal(mesh, 100.0)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    (execution,) = mesh.executions("web-cpu")
    assert execution.metric_value == 100.0 and "the group service failed" in execution.reason
    assert not mesh.group.adjust_requests


def test_below_the_target_or_within_its_tolerance_the_group_is_not_asked_for_its_instances(mesh: Mesh) -> None:
    """Only a scale-out leaves instances warming up out; a scale-in waits for them in the group (services.group.warmup)."""
    _create(mesh)
    mesh.group.in_service_since[WEB] = [mesh.clock.now, mesh.clock.now]
    assert "with 2 in service: 1 recommended" in _signal(mesh, 10.0).reason
    assert "within tolerance" in _signal(mesh, 52.0).reason
    assert "ListInstances" not in mesh.group.calls


def test_a_metric_within_the_tolerance_asks_nothing_of_the_group(mesh: Mesh) -> None:
    _create(mesh)
    response = _signal(mesh, 52.0)
    assert not response.adjusted and "within tolerance 0.1" in response.reason
    assert not mesh.group.adjust_requests


def test_scale_in_waits_for_the_stabilization_window_of_remembered_recommendations(mesh: Mesh) -> None:
    _create(mesh)
    _signal(mesh, 100.0)
    _in_service(mesh, 4)
    mesh.clock.advance(60)
    held = _signal(mesh, 10.0)
    assert not held.adjusted and held.desired_capacity == 4 and "stabilized at 4" in held.reason
    mesh.clock.advance(241)  # the recommendation of 4 is now more than 300 s old
    released = _signal(mesh, 10.0)
    assert released.adjusted and released.desired_capacity == 1
    assert mesh.group.groups[WEB].desired_capacity == 1


def test_a_scale_in_waits_for_the_groups_other_target_tracking_policies_to_agree(mesh: Mesh) -> None:
    no_window = BEHAVIOR(scale_down=policy_pb2.ScalingRules(stabilization_window=to_duration(0)))
    _create(mesh, target_tracking=_tracking(behavior=no_window))
    _create(mesh, "web-rps", target_tracking=_tracking(behavior=no_window))
    mesh.group.groups[WEB].desired_capacity = 4
    _in_service(mesh, 4)
    _signal(mesh, 50.0, "web-rps")  # it recommends 4, as it is
    held = _signal(mesh, 10.0)
    assert not held.adjusted and held.desired_capacity == 4 and "policies/web-rps still recommends 4" in held.reason
    agreed = _signal(mesh, 25.0, "web-rps")  # it recommends 2, and web-cpu's last recommendation (1) agrees
    assert agreed.adjusted and agreed.desired_capacity == 2
    still = _signal(mesh, 10.0)  # web-cpu would go to 1: web-rps holds it at 2
    assert not still.adjusted and still.desired_capacity == 2 and "policies/web-rps still recommends 2" in still.reason


def test_disable_scale_in_never_lowers_the_capacity(mesh: Mesh) -> None:
    window = policy_pb2.ScalingRules(stabilization_window=to_duration(0))
    _create(mesh, target_tracking=_tracking(disable_scale_in=True, behavior=BEHAVIOR(scale_down=window)))
    response = _signal(mesh, 5.0)
    assert not response.adjusted and "scale-in disabled" in response.reason


def test_a_target_tracking_policy_signalled_without_its_alarms_datapoints_fails_and_says_why(mesh: Mesh) -> None:
    _create(mesh)
    with pytest.raises(grpc.RpcError) as refused:
        mesh.execute("web-cpu")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "target tracking policy" in (refused.value.details() or "")
    assert mesh.executions("web-cpu")[0].failed


def test_an_update_moves_its_alarm_and_cannot_take_target_tracking_away(mesh: Mesh) -> None:
    _create(mesh)
    changed = policy_pb2.Policy(name="policies/web-cpu", target_tracking=_tracking(target_value=70))
    mask = field_mask_pb2.FieldMask(paths=["target_tracking"])
    mesh.policy.UpdatePolicy(policy_pb2.UpdatePolicyRequest(policy=changed, update_mask=mask), timeout=5)
    assert mesh.alarm.alarms[("default", ALARM_NAME)].threshold_rule.threshold == 70
    assert mesh.alarm.alarms[("default", ALARM_NAME)].owner == "policies/web-cpu"
    with pytest.raises(grpc.RpcError) as refused:
        mesh.policy.UpdatePolicy(
            policy_pb2.UpdatePolicyRequest(policy=policy_pb2.Policy(name="policies/web-cpu"), update_mask=mask), timeout=5
        )
    assert [violation.field for violation in field_violations(refused.value)] == ["policy.target_tracking"]


def test_deleting_the_policy_deletes_its_alarm_but_not_past_another_alarm_naming_it(mesh: Mesh) -> None:
    _create(mesh)
    mesh.alarm.add_alarm("by-hand", alarm_actions=("policies/web-cpu",))
    with pytest.raises(grpc.RpcError) as refused:
        mesh.policy.DeletePolicy(policy_pb2.DeletePolicyRequest(name="policies/web-cpu"), timeout=5)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "alarms/by-hand" in (refused.value.details() or "") and ALARM_NAME not in (refused.value.details() or "")
    mesh.alarm.delete_alarm("by-hand")
    # An alarm that says the policy owns it, but is not the one it made, is another alarm naming it.
    claimed = alarm_pb2.Alarm(name="alarms/claimed", alarm_actions=["policies/web-cpu"], owner="policies/web-cpu")
    mesh.alarm.alarms[("default", "alarms/claimed")] = claimed
    with pytest.raises(grpc.RpcError) as still_named:
        mesh.policy.DeletePolicy(policy_pb2.DeletePolicyRequest(name="policies/web-cpu"), timeout=5)
    assert "alarms/claimed" in (still_named.value.details() or "")
    del mesh.alarm.alarms[("default", "alarms/claimed")]
    mesh.policy.DeletePolicy(policy_pb2.DeletePolicyRequest(name="policies/web-cpu"), timeout=5)
    assert not mesh.alarm.alarms
