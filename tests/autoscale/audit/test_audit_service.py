"""Every call of a user that may change something is in its project's audit, allowed or not; reads and peers are not."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from autoscale.config import Settings
from autoscale.database import Database
from autoscale.identity.api_keys import new_key
from autoscale.identity.caller import Role
from autoscale.identity.key_store import KeyStore
from autoscale.timeutil import system_clock
from autoscale.v1 import audit_pb2, audit_pb2_grpc, group_pb2, group_pb2_grpc, policy_pb2, policy_pb2_grpc
from services.registry import builders
from tests.support import running_server


def _token(database_url: str, project: str, role: Role) -> tuple[str, str]:
    database = Database(database_url)
    try:
        key, token = new_key(project=project, role=role, service=False, now=system_clock(), expire_time=None)
        KeyStore(database).add(key)
        return token, f"key:{key.id}"
    finally:
        database.dispose()


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
