"""What the policy service passes on to the group's Adjust (AdjustRequest.trigger), so that its scaling decision records
the whole chain: the policy, the alarm with its datapoints and threshold, a step policy's breach and step."""

from __future__ import annotations

from autoscale.v1 import alarm_pb2, group_pb2, policy_pb2
from tests.services.policy import test_policy_service
from tests.services.policy.test_policy_service import Mesh, _alarm_payload, _create_step_policy

mesh = test_policy_service.mesh
"""The policy service beside fake group and alarm services (the fixture of its service tests)."""


def test_an_alarms_action_passes_its_alarm_datapoints_and_threshold_to_the_group(mesh: Mesh) -> None:
    mesh.create("up")
    request = policy_pb2.ExecutePolicyRequest(
        name="policies/up", cause="alarms/high-cpu entered ALARM", alarm="alarms/high-cpu", alarm_payload=_alarm_payload()
    )
    assert mesh.policy.ExecutePolicy(request, timeout=5).adjusted
    (adjust,) = mesh.group.adjust_requests
    assert adjust.trigger == group_pb2.ScalingTrigger(
        policy="policies/up", alarm="alarms/high-cpu", alarm_state=alarm_pb2.ALARM_STATE_ALARM,
        alarm_reason="average(cpu) > 50: 62, 71 (newest last)", datapoints=[62.0, 71.0], threshold=50.0,
        comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN,
    )


def test_an_operators_execution_passes_the_policy_alone(mesh: Mesh) -> None:
    mesh.create("up")
    mesh.execute("up", cause="by hand")
    assert mesh.group.adjust_requests[0].trigger == group_pb2.ScalingTrigger(policy="policies/up")


def test_a_step_policy_passes_its_breach_and_the_steps_bounds(mesh: Mesh) -> None:
    _create_step_policy(mesh)
    request = policy_pb2.ExecutePolicyRequest(
        name="policies/steps", alarm="alarms/high-cpu", alarm_payload=_alarm_payload(datapoints=[62.0, 64.0]),
    )
    assert mesh.policy.ExecutePolicy(request, timeout=5).adjusted
    trigger = mesh.group.adjust_requests[0].trigger
    assert (trigger.metric_value, trigger.breach_threshold) == (63.0, 50.0)
    assert (trigger.step_lower_bound, trigger.step_upper_bound, trigger.datapoints) == (10.0, 20.0, [62.0, 64.0])

    mesh.policy.ExecutePolicy(policy_pb2.ExecutePolicyRequest(name="policies/steps", metric_value=75, breach_threshold=50), timeout=5)
    open_ended = mesh.group.adjust_requests[1].trigger
    assert open_ended.step_lower_bound == 20.0 and not open_ended.HasField("step_upper_bound") and not open_ended.alarm
