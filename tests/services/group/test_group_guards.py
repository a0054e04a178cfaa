"""The group service's guards: local processes only where the deployment allows them and only for admins; the groups and
instances quotas of a project."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import replace

import grpc
import pytest

from autoscale.config import Settings
from autoscale.identity.caller import Role
from autoscale.timeutil import to_duration
from autoscale.v1 import common_pb2, group_pb2, group_pb2_grpc, quota_pb2, quota_pb2_grpc
from services.group.server import build
from services.registry import builders
from tests.support import running_server, stored_key

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def _token(database_url: str, role: Role) -> tuple[tuple[str, str]]:
    return stored_key(database_url, "p1", role).metadata


def _process_config(config_id: str = "lc") -> group_pb2.CreateLaunchConfigRequest:
    return group_pb2.CreateLaunchConfigRequest(
        launch_config_id=config_id, launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=SLEEPER)),
    )


def _code(call) -> tuple[grpc.StatusCode, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as failure:
        call()
    return failure.value.code(), failure.value.details() or ""


def test_with_authentication_on_local_processes_are_off_unless_an_operator_turns_them_on(sqlite_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin = _token(sqlite_url, Role.ADMIN)
    settings = Settings(database_url=sqlite_url, auth="keys", instance_log_dir=str(tmp_path))
    with running_server([("group", build)], settings) as (_, channel):
        groups = group_pb2_grpc.GroupServiceStub(channel)
        code, message = _code(lambda: groups.CreateLaunchConfig(_process_config(), metadata=admin))
        assert code == grpc.StatusCode.FAILED_PRECONDITION
        assert "local processes are off" in message and "--enable-process-driver" in message


def test_where_local_processes_are_on_only_an_admin_makes_a_process_launch_config(sqlite_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin, member = _token(sqlite_url, Role.ADMIN), _token(sqlite_url, Role.MEMBER)
    settings = Settings(database_url=sqlite_url, auth="keys", enable_process_driver=True, instance_log_dir=str(tmp_path))
    with running_server([("group", build)], settings) as (_, channel):
        groups = group_pb2_grpc.GroupServiceStub(channel)
        code, message = _code(lambda: groups.CreateLaunchConfig(_process_config(), metadata=member))
        assert code == grpc.StatusCode.PERMISSION_DENIED and "admin role" in message
        groups.CreateLaunchConfig(_process_config(), metadata=admin)


def test_a_command_health_check_runs_a_program_on_the_services_host_so_it_is_off_with_local_processes(
    sqlite_url: str, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    admin = _token(sqlite_url, Role.ADMIN)
    settings = Settings(database_url=sqlite_url, auth="keys", instance_log_dir=str(tmp_path))
    config = group_pb2.LaunchConfig(
        openstack_server=group_pb2.OpenStackServerSpec(image="cirros", flavor="m1.tiny"),
        health_check=group_pb2.HealthCheck(command=group_pb2.CommandHealthCheck(command=["/bin/true"])),
    )
    with running_server([("group", build)], settings) as (_, channel):
        groups = group_pb2_grpc.GroupServiceStub(channel)
        code, message = _code(lambda: groups.CreateLaunchConfig(
            group_pb2.CreateLaunchConfigRequest(launch_config_id="vm", launch_config=config), metadata=admin
        ))
        assert code == grpc.StatusCode.FAILED_PRECONDITION
        assert message.startswith("launch_config.health_check.command: local processes are off")
        # An HTTP check runs nothing here: what keeps this one out is only that the deployment has no cloud.
        config.health_check.CopyFrom(group_pb2.HealthCheck(http=group_pb2.HttpHealthCheck(port=8080, path="/healthz")))
        code, message = _code(lambda: groups.CreateLaunchConfig(
            group_pb2.CreateLaunchConfigRequest(launch_config_id="vm", launch_config=config), metadata=admin
        ))
        assert code == grpc.StatusCode.FAILED_PRECONDITION and message.startswith("launch_config.openstack_server: ")


@pytest.fixture
def quota_mesh(sqlite_url: str, tmp_path) -> Iterator[grpc.Channel]:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=sqlite_url, instance_log_dir=str(tmp_path), reconcile_interval=60.0)
    with running_server([("group", build)], replace(settings)) as (_, channel):
        group_pb2_grpc.GroupServiceStub(channel).CreateLaunchConfig(_process_config())
        request = quota_pb2.UpdateQuotaRequest(quota=quota_pb2.Quota(name="projects/default/quota", groups=2, instances=4))
        request.update_mask.paths.extend(["groups", "instances"])
        quota_pb2_grpc.QuotaServiceStub(channel).UpdateQuota(request)
        yield channel


def _create(channel: grpc.Channel, group_id: str, desired: int) -> None:
    group_pb2_grpc.GroupServiceStub(channel).CreateGroup(group_pb2.CreateGroupRequest(
        group_id=group_id, group=group_pb2.Group(
            launch_config="launchConfigs/lc", min_size=0, max_size=10, desired_capacity=desired, cooldown=to_duration(0)
        ),
    ))


def test_a_group_beyond_the_groups_quota_is_refused_naming_it(quota_mesh: grpc.Channel) -> None:
    _create(quota_mesh, "a", 0)
    _create(quota_mesh, "b", 0)
    code, message = _code(lambda: _create(quota_mesh, "c", 0))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "quota groups of project default is 2" in message


def test_desired_capacities_together_are_held_to_the_instances_quota_and_shrinking_is_always_allowed(quota_mesh: grpc.Channel) -> None:
    groups = group_pb2_grpc.GroupServiceStub(quota_mesh)
    _create(quota_mesh, "a", 3)
    code, message = _code(lambda: _create(quota_mesh, "b", 2))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "quota instances of project default is 4" in message
    _create(quota_mesh, "b", 1)

    def adjust(group_id: str, by: int) -> group_pb2.AdjustResponse:
        return groups.Adjust(group_pb2.AdjustRequest(
            name=f"groups/{group_id}", adjustment_type=common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY, adjustment=by,
        ))

    code, message = _code(lambda: adjust("b", 1))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "it holds 4 and this would add 1" in message
    assert adjust("a", -1).desired_capacity == 2
    assert adjust("b", 1).desired_capacity == 2
    update = group_pb2.UpdateGroupRequest(group=group_pb2.Group(name="groups/a", desired_capacity=5))
    update.update_mask.paths.append("desired_capacity")
    code, _ = _code(lambda: groups.UpdateGroup(update))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_instances_in_standby_count_toward_the_instances_quota(sqlite_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=sqlite_url, instance_log_dir=str(tmp_path), reconcile_interval=0.1)
    with running_server(builders(), settings) as (_, channel):  # all four: DeleteGroup asks the policy service
        groups = group_pb2_grpc.GroupServiceStub(channel)
        groups.CreateLaunchConfig(_process_config())
        request = quota_pb2.UpdateQuotaRequest(quota=quota_pb2.Quota(name="projects/default/quota", instances=4))
        request.update_mask.paths.append("instances")
        quota_pb2_grpc.QuotaServiceStub(channel).UpdateQuota(request)
        _create(channel, "a", 3)
        deadline = time.monotonic() + 20
        running: list[group_pb2.Instance] = []
        while len(running) < 3 and time.monotonic() < deadline:
            listed = groups.ListInstances(group_pb2.ListInstancesRequest(parent="groups/a")).instances
            running = [i for i in listed if i.state == group_pb2.INSTANCE_STATE_RUNNING]
            time.sleep(0.05)
        names = [i.name for i in running[:2]]
        try:
            # Two replacements would take the project to 5: refused, nothing changes.
            code, message = _code(lambda: groups.EnterStandby(group_pb2.EnterStandbyRequest(group="groups/a", instances=names)))
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "quota instances of project default is 4" in message
            groups.EnterStandby(group_pb2.EnterStandbyRequest(group="groups/a", instances=names[:1]))  # 3 + 1 in standby
            code, _ = _code(lambda: groups.SetDesiredCapacity(group_pb2.SetDesiredCapacityRequest(name="groups/a", desired_capacity=4)))
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        finally:
            groups.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/a"))
