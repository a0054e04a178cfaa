"""Every call of a user that may change something is in its project's audit, allowed or not; reads and peers are not."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from autoscale.config import Settings
from autoscale.identity.caller import Role
from autoscale.v1 import audit_pb2, audit_pb2_grpc, group_pb2, group_pb2_grpc, policy_pb2, policy_pb2_grpc
from services.registry import builders
from tests.support import running_server, stored_key


def _token(database_url: str, project: str, role: Role) -> tuple[str, str]:
    key = stored_key(database_url, project, role)
    return key.token, key.principal


def _as(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
def mesh(sqlite_url: str, tmp_path) -> Iterator[tuple[grpc.Channel, dict[str, tuple[str, str]]]]:  # type: ignore[no-untyped-def]
    keys = {
        "admin": _token(sqlite_url, "p1", Role.ADMIN),
        "reader": _token(sqlite_url, "p1", Role.READER),
        "other": _token(sqlite_url, "p2", Role.ADMIN),
        "operator": _token(sqlite_url, "admin", Role.ADMIN),
    }
    settings = Settings(database_url=sqlite_url, auth="keys", enable_process_driver=True, instance_log_dir=str(tmp_path))
    with running_server(builders(), settings) as (_, channel):
        yield channel, keys


def _events(channel: grpc.Channel, project: str, token: str) -> list[audit_pb2.AuditEvent]:
    request = audit_pb2.ListAuditEventsRequest(parent=f"projects/{project}")
    return list(audit_pb2_grpc.AuditServiceStub(channel).ListAuditEvents(request, metadata=_as(token)).events)


def test_a_change_a_refusal_and_a_denial_are_recorded_newest_first_and_reads_are_not(mesh) -> None:  # type: ignore[no-untyped-def]
    channel, keys = mesh
    (member, member_id), (reader, reader_id) = keys["admin"], keys["reader"]
    groups = group_pb2_grpc.GroupServiceStub(channel)
    groups.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
        launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=["true"])),
    ), metadata=_as(member))
    with pytest.raises(grpc.RpcError):
        groups.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/missing"), metadata=_as(member))
    with pytest.raises(grpc.RpcError):
        groups.DeleteLaunchConfig(group_pb2.DeleteLaunchConfigRequest(name="launchConfigs/lc"), metadata=_as(reader))
    groups.ListGroups(group_pb2.ListGroupsRequest(), metadata=_as(reader))
    events = _events(channel, "p1", reader)
    assert [(e.principal, e.method.rsplit("/", 1)[-1], e.resource, e.code) for e in events] == [
        (reader_id, "DeleteLaunchConfig", "launchConfigs/lc", "PERMISSION_DENIED"),
        (member_id, "DeleteGroup", "groups/missing", "NOT_FOUND"),
        (member_id, "CreateLaunchConfig", "launchConfigs/lc", "OK"),
    ]
    assert all(event.project == "p1" and event.time.seconds > 0 for event in events)


def test_calls_between_the_services_are_not_recorded(mesh) -> None:  # type: ignore[no-untyped-def]
    channel, keys = mesh
    member, _ = keys["admin"]
    with pytest.raises(grpc.RpcError):  # asks the group service, a peer call
        policy_pb2_grpc.PolicyServiceStub(channel).CreatePolicy(
            policy_pb2.CreatePolicyRequest(policy_id="up", policy=policy_pb2.Policy(group="groups/x", adjustment_type=1)),
            metadata=_as(member),
        )
    methods = [event.method.rsplit("/", 1)[-1] for event in _events(channel, "p1", member)]
    assert methods == ["CreatePolicy"]


def test_another_projects_audit_is_not_found_and_an_operator_reads_any(mesh) -> None:  # type: ignore[no-untyped-def]
    channel, keys = mesh
    groups = group_pb2_grpc.GroupServiceStub(channel)
    with pytest.raises(grpc.RpcError):
        groups.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/x"), metadata=_as(keys["admin"][0]))
    with pytest.raises(grpc.RpcError) as failure:
        _events(channel, "p1", keys["other"][0])
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    assert len(_events(channel, "p1", keys["operator"][0])) == 1


def test_activities_and_alarm_history_name_the_user_whose_call_made_them_even_through_a_policy(mesh) -> None:  # type: ignore[no-untyped-def]
    from autoscale.identity.caller import SERVICE_PRINCIPAL
    from autoscale.timeutil import to_duration
    from autoscale.v1 import alarm_pb2, alarm_pb2_grpc, common_pb2

    channel, keys = mesh
    admin, admin_id = keys["admin"]
    groups, policies = group_pb2_grpc.GroupServiceStub(channel), policy_pb2_grpc.PolicyServiceStub(channel)
    groups.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
        launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=["true"])),
    ), metadata=_as(admin))
    groups.CreateGroup(group_pb2.CreateGroupRequest(
        group_id="web", group=group_pb2.Group(launch_config="launchConfigs/lc", min_size=0, max_size=3, cooldown=to_duration(0)),
    ), metadata=_as(admin))
    policies.CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id="up", policy=policy_pb2.Policy(
        group="groups/web", adjustment_type=common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY, scaling_adjustment=1,
    )), metadata=_as(admin))
    policies.ExecutePolicy(policy_pb2.ExecutePolicyRequest(name="policies/up"), metadata=_as(admin))
    activities = groups.ListActivities(group_pb2.ListActivitiesRequest(parent="groups/web"), metadata=_as(admin)).activities
    assert [activity.caller for activity in activities] == [admin_id]  # the Adjust the policy asked for, on the admin's behalf

    alarms = alarm_pb2_grpc.AlarmServiceStub(channel)
    alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id="high", alarm=alarm_pb2.Alarm(threshold_rule=alarm_pb2.ThresholdRule(
        metric="cpu", statistic=common_pb2.STATISTIC_AVERAGE, threshold=80, period=to_duration(60), evaluation_periods=1,
        comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN,
    ))), metadata=_as(admin))
    alarms.SetAlarmState(alarm_pb2.SetAlarmStateRequest(name="alarms/high", state=alarm_pb2.ALARM_STATE_OK, reason="x"),
                         metadata=_as(admin))
    history = alarms.ListAlarmHistory(alarm_pb2.ListAlarmHistoryRequest(name="alarms/high"), metadata=_as(admin)).entries
    by_type = {(entry.type, entry.caller) for entry in history}
    assert (alarm_pb2.ALARM_HISTORY_TYPE_CREATION, admin_id) in by_type
    assert (alarm_pb2.ALARM_HISTORY_TYPE_STATE_TRANSITION, admin_id) in by_type
    assert all(entry.caller in (admin_id, SERVICE_PRINCIPAL) for entry in history)
