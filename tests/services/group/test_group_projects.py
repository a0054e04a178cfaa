"""GroupService serving two projects from one real in-process server, with an in-memory compute driver.

Authentication is off in tests, so a call acts in the project its `x-autoscale-project` metadata names (as a peer's
does). Both projects hold a launch config `lc` and a group `web`: each sees and changes only its own, the other's
resources are NOT_FOUND exactly as missing ones, and the reconcile loop keeps each project's instances apart.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from autoscale.identity.interceptor import PROJECT_METADATA
from autoscale.v1 import common_pb2, group_pb2, group_pb2_grpc
from tests.services.group.fake_compute import FakeComputeDriver
from tests.services.group.fake_policy import FakePolicyService
from tests.services.group.test_group_service import (
    activities,
    converged,
    create_group,
    instances,
    passes_over,
    rpc_error,
    serving_channel,
    wait_for,
)

P1, P2 = "p1", "p2"
EXACT = common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY


class _CallDetails(
    namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
    grpc.ClientCallDetails,
):
    pass


class _ActingIn(grpc.UnaryUnaryClientInterceptor):
    """Names one project in the metadata of every call."""

    def __init__(self, project: str) -> None:
        self._project = project

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        metadata = (*(details.metadata or ()), (PROJECT_METADATA, self._project))
        named = _CallDetails(details.method, details.timeout, metadata, details.credentials, details.wait_for_ready, details.compression)
        return continuation(named, request)


def in_project(channel: grpc.Channel, project: str) -> group_pb2_grpc.GroupServiceStub:
    """A stub whose every call acts in `project`."""
    return group_pb2_grpc.GroupServiceStub(grpc.intercept_channel(channel, _ActingIn(project)))


def create_launch_config(stub: Any, launch_config_id: str, *command: str) -> None:
    config = group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=command))
    stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(launch_config_id=launch_config_id, launch_config=config), timeout=5)


def set_capacity(stub: Any, desired: int, group_id: str = "web") -> group_pb2.AdjustResponse:
    request = group_pb2.AdjustRequest(name=f"groups/{group_id}", adjustment_type=EXACT, adjustment=desired)
    return stub.Adjust(request, timeout=5)


def launches(driver: FakeComputeDriver) -> int:
    return sum(1 for call, _ in driver.calls if call == "launch")


def assert_servers_are_their_projects(driver: FakeComputeDriver, stubs: dict[str, Any], group_id: str = "web") -> None:
    """Every instance of each project's group runs on a server launched for that project's group, from its launch config."""
    for project, stub in stubs.items():
        for instance in instances(stub, group_id):
            launched = driver.servers[instance.server_id].request
            assert (launched.project, launched.group_id) == (project, group_id), instance.name
            assert list(launched.process.command) == ["sleep", project], "launched from the project's own launch config"


@pytest.fixture
def driver() -> FakeComputeDriver:
    return FakeComputeDriver()


@pytest.fixture
def policies() -> FakePolicyService:
    return FakePolicyService()


@pytest.fixture
def channel(sqlite_url: str, driver: FakeComputeDriver, policies: FakePolicyService) -> Iterator[grpc.Channel]:
    with serving_channel(sqlite_url, driver, policies) as (_, channel):
        yield channel


@pytest.fixture
def stubs(channel: grpc.Channel) -> dict[str, Any]:
    """A stub per project, each project with a launch config `lc` of its own (`sleep <project>`)."""
    stubs = {project: in_project(channel, project) for project in (P1, P2)}
    for project, stub in stubs.items():
        create_launch_config(stub, "lc", "sleep", project)
    return stubs


def test_each_project_sees_only_its_own_launch_configs_and_groups_of_the_same_ids(stubs: dict[str, Any], channel: grpc.Channel) -> None:
    create_group(stubs[P1], "web", max_size=3, tags={"owner": P1})
    create_group(stubs[P1], "api", max_size=4)
    create_group(stubs[P2], "web", max_size=5, tags={"owner": P2})

    for project, expected in ((P1, ["groups/api", "groups/web"]), (P2, ["groups/web"])):
        listed = stubs[project].ListGroups(group_pb2.ListGroupsRequest(), timeout=5).groups
        assert [group.name for group in listed] == expected
        web = stubs[project].GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group
        assert web.tags == {"owner": project}
        (config,) = stubs[project].ListLaunchConfigs(group_pb2.ListLaunchConfigsRequest(), timeout=5).launch_configs
        assert list(config.process.command) == ["sleep", project]
    default = group_pb2_grpc.GroupServiceStub(channel)
    assert default.ListGroups(group_pb2.ListGroupsRequest(), timeout=5).groups == []
    assert default.ListLaunchConfigs(group_pb2.ListLaunchConfigsRequest(), timeout=5).launch_configs == []


def _calls_naming(group_id: str, activity_name: str) -> dict[str, Callable[[Any], Any]]:
    """Each GroupService call on `groups/<group_id>` (and its activity `activity_name`), by the stub it is made with."""
    mask = field_mask_pb2.FieldMask(paths=["max_size"])
    return {
        "GetGroup": lambda stub: stub.GetGroup(group_pb2.GetGroupRequest(name=f"groups/{group_id}"), timeout=5),
        "UpdateGroup": lambda stub: stub.UpdateGroup(
            group_pb2.UpdateGroupRequest(group=group_pb2.Group(name=f"groups/{group_id}", max_size=9), update_mask=mask), timeout=5),
        "DeleteGroup": lambda stub: stub.DeleteGroup(group_pb2.DeleteGroupRequest(name=f"groups/{group_id}", force=True), timeout=5),
        "Adjust": lambda stub: set_capacity(stub, 2, group_id),
        "ListInstances": lambda stub: stub.ListInstances(group_pb2.ListInstancesRequest(parent=f"groups/{group_id}"), timeout=5),
        "ListActivities": lambda stub: stub.ListActivities(group_pb2.ListActivitiesRequest(parent=f"groups/{group_id}"), timeout=5),
        "GetActivity": lambda stub: stub.GetActivity(group_pb2.GetActivityRequest(name=activity_name), timeout=5),
    }


def _shape(error: grpc.RpcError, group_id: str) -> tuple[Any, ...]:
    """A failed call's code, message and ErrorInfo, with the group's id taken out of them."""
    status = rpc_status.from_call(error)
    assert status is not None
    (detail,) = status.details
    info = error_details_pb2.ErrorInfo()
    detail.Unpack(info)
    metadata = {key: value.replace(group_id, "{id}") for key, value in info.metadata.items()}
    return error.code(), error.details().replace(group_id, "{id}"), info.reason, info.domain, metadata


def test_another_projects_group_instances_and_activities_are_not_found_exactly_as_missing_ones(stubs: dict[str, Any]) -> None:
    create_group(stubs[P1], "only1", max_size=3, desired_capacity=1)
    (mine,) = wait_for(lambda: converged(stubs[P1], 1, "only1"), "p1's instance")
    (activity,) = activities(stubs[P1], "only1")
    theirs = _calls_naming("only1", activity.name)
    missing = _calls_naming("nowhere", activity.name.replace("only1", "nowhere"))

    for call, make in theirs.items():
        error = rpc_error(lambda make=make: make(stubs[P2]))
        absent = rpc_error(lambda call=call: missing[call](stubs[P2]))
        assert error.code() is grpc.StatusCode.NOT_FOUND, call
        assert _shape(error, "only1") == _shape(absent, "nowhere"), call

    group = stubs[P1].GetGroup(group_pb2.GetGroupRequest(name="groups/only1"), timeout=5).group
    assert (group.max_size, group.desired_capacity) == (3, 1), "nothing of p1's group changed"
    assert instances(stubs[P1], "only1") == [mine] and activities(stubs[P1], "only1") == [activity]


def test_another_projects_launch_config_is_not_found_and_no_group_can_use_it(stubs: dict[str, Any]) -> None:
    create_launch_config(stubs[P1], "only1", "sleep", P1)
    create_group(stubs[P2], "web", max_size=3)

    for call in (
        lambda: stubs[P2].GetLaunchConfig(group_pb2.GetLaunchConfigRequest(name="launchConfigs/only1"), timeout=5),
        lambda: stubs[P2].DeleteLaunchConfig(group_pb2.DeleteLaunchConfigRequest(name="launchConfigs/only1"), timeout=5),
    ):
        error = rpc_error(call)
        assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, "launchConfigs/only1 not found")
    create = group_pb2.CreateGroupRequest(group_id="api", group=group_pb2.Group(launch_config="launchConfigs/only1", max_size=1))
    update = group_pb2.UpdateGroupRequest(
        group=group_pb2.Group(name="groups/web", launch_config="launchConfigs/only1"),
        update_mask=field_mask_pb2.FieldMask(paths=["launch_config"]),
    )
    for call in (lambda: stubs[P2].CreateGroup(create, timeout=5), lambda: stubs[P2].UpdateGroup(update, timeout=5)):
        error = rpc_error(call)
        assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, "group.launch_config: launchConfigs/only1 not found")
    web = stubs[P2].GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group
    assert web.launch_config == "launchConfigs/lc"
    assert [c.name for c in stubs[P1].ListLaunchConfigs(group_pb2.ListLaunchConfigsRequest(), timeout=5).launch_configs] == [
        "launchConfigs/lc", "launchConfigs/only1"
    ]


def test_the_reconcile_loop_converges_both_projects_web_groups_and_never_touches_the_others_servers(
    stubs: dict[str, Any], driver: FakeComputeDriver
) -> None:
    create_group(stubs[P1], "web", desired_capacity=2)
    create_group(stubs[P2], "web", desired_capacity=1)
    wait_for(lambda: converged(stubs[P1], 2) and converged(stubs[P2], 1), "both projects' groups")
    assert_servers_are_their_projects(driver, stubs)
    (kept,) = instances(stubs[P2])

    since = len(driver.calls)
    set_capacity(stubs[P1], 0)
    wait_for(lambda: converged(stubs[P1], 0) is not None, "p1's group emptied")
    passes_over(driver, kept.server_id, since)
    assert instances(stubs[P2]) == [kept] and converged(stubs[P2], 1)
    assert ("terminate", kept.server_id) not in driver.calls

    set_capacity(stubs[P2], 3)
    wait_for(lambda: converged(stubs[P2], 3), "p2's group grown")
    assert instances(stubs[P1]) == []
    assert_servers_are_their_projects(driver, stubs)


def test_deleting_one_projects_group_asks_that_projects_policies_and_leaves_the_others_group_and_servers(
    stubs: dict[str, Any], driver: FakeComputeDriver, policies: FakePolicyService
) -> None:
    create_group(stubs[P1], "web", desired_capacity=1)
    create_group(stubs[P2], "web", desired_capacity=1)
    wait_for(lambda: converged(stubs[P1], 1) and converged(stubs[P2], 1), "both projects' groups")
    (kept,) = instances(stubs[P2])
    policies.add_policy("scale-web", "web", project=P2)

    stubs[P1].DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web"), timeout=10)

    gone = rpc_error(lambda: stubs[P1].GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5))
    assert gone.code() is grpc.StatusCode.NOT_FOUND
    assert list(driver.servers) == [kept.server_id] and instances(stubs[P2]) == [kept]
    error = rpc_error(lambda: stubs[P2].DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web"), timeout=10))
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION and "policies/scale-web" in error.details()


def test_a_restarted_service_adopts_each_projects_instances_into_that_project_without_new_launches(
    sqlite_url: str, driver: FakeComputeDriver
) -> None:
    with serving_channel(sqlite_url, driver) as (_, channel):
        stubs = {project: in_project(channel, project) for project in (P1, P2)}
        for project, stub in stubs.items():
            create_launch_config(stub, "lc", "sleep", project)
        create_group(stubs[P1], "web", desired_capacity=2)
        create_group(stubs[P2], "web", desired_capacity=1)
        before = wait_for(lambda: (mine := converged(stubs[P1], 2)) and (theirs := converged(stubs[P2], 1)) and {P1: mine, P2: theirs},
                          "both projects' groups")
    launched, since = launches(driver), len(driver.calls)

    with serving_channel(sqlite_url, driver) as (_, channel):
        stubs = {project: in_project(channel, project) for project in (P1, P2)}
        passes_over(driver, before[P2][0].server_id, since)
        assert {project: converged(stub, len(before[project])) for project, stub in stubs.items()} == before
        assert launches(driver) == launched and not [call for call in driver.calls[since:] if call[0] == "terminate"]
        assert_servers_are_their_projects(driver, stubs)
