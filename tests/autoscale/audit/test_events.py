"""The resource an audited call named, read from its request (or its bytes)."""

from __future__ import annotations

from autoscale.audit.events import request_of, resource_of
from autoscale.v1 import alarm_pb2, group_pb2, policy_pb2

ADJUST = "/autoscale.v1.GroupService/Adjust"


def test_a_call_naming_a_resource_is_recorded_by_that_name() -> None:
    assert resource_of(group_pb2.AdjustRequest(name="groups/web")) == "groups/web"


def test_a_create_is_recorded_by_the_name_it_gives() -> None:
    assert resource_of(policy_pb2.CreatePolicyRequest(policy_id="up")) == "policies/up"
    assert resource_of(group_pb2.CreateLaunchConfigRequest(launch_config_id="lc")) == "launchConfigs/lc"


def test_an_update_is_recorded_by_the_name_of_the_resource_it_carries() -> None:
    assert resource_of(alarm_pb2.UpdateAlarmRequest(alarm=alarm_pb2.Alarm(name="alarms/high"))) == "alarms/high"


def test_a_request_read_from_its_bytes_names_the_same_resource() -> None:
    payload = group_pb2.AdjustRequest(name="groups/web", adjustment=1).SerializeToString()
    assert resource_of(request_of(ADJUST, payload)) == "groups/web"


def test_bytes_that_are_no_request_name_no_resource() -> None:
    assert resource_of(request_of(ADJUST, b"\xff\xff\xff")) == ""
    assert resource_of(request_of("/autoscale.v1.Nothing/Adjust", b"")) == ""


def test_a_very_long_name_is_cut() -> None:
    assert len(resource_of(group_pb2.AdjustRequest(name="groups/" + "x" * 5000))) == 512
