"""PolicyService serving two projects through one real in-process server, with fake group and alarm services beside it.

Authentication is off in tests, so a call acts in the project its `x-autoscale-project` metadata names. The fakes
keep their groups and alarms per project, as the real services do, and see the project each peer call carries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2
from grpc_status import rpc_status

from autoscale.config import Settings
from autoscale.identity.interceptor import PROJECT_METADATA
from autoscale.v1 import common_pb2, group_pb2, group_pb2_grpc, policy_pb2, policy_pb2_grpc
from services.group.domain import OPENSTACK_SERVER, PROCESS
from services.group.server import make_build
from services.policy.server import build
from tests.services.group.fake_compute import FakeComputeDriver
from tests.services.policy.fake_alarm import FakeAlarmService
from tests.services.policy.fake_group import FakeGroupService
from tests.support import FakeClock, running_server, wait_for

CHANGE = common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY
NOT_FOUND = grpc.StatusCode.NOT_FOUND


class InProject:
    """The PolicyService as a caller of one project calls it: each call names the project in its metadata."""

    def __init__(self, stub: policy_pb2_grpc.PolicyServiceStub, project: str) -> None:
        self._stub = stub
        self.project = project

    def __getattr__(self, method: str) -> Callable[[Any], Any]:
        rpc = getattr(self._stub, method)
        return lambda request: rpc(request, metadata=((PROJECT_METADATA, self.project),), timeout=5)

    def create(self, policy_id: str, group: str = "groups/web", scaling_adjustment: int = 1) -> policy_pb2.Policy:
        policy = policy_pb2.Policy(group=group, adjustment_type=CHANGE, scaling_adjustment=scaling_adjustment)
        return self.CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id=policy_id, policy=policy)).policy

    def names(self, group: str = "") -> list[str]:
        return [policy.name for policy in self.ListPolicies(policy_pb2.ListPoliciesRequest(group=group)).policies]

    def execute(self, policy_id: str, request_id: str = "") -> policy_pb2.ExecutePolicyResponse:
        return self.ExecutePolicy(policy_pb2.ExecutePolicyRequest(name=f"policies/{policy_id}", request_id=request_id))

    def executions(self, policy_id: str) -> list[policy_pb2.PolicyExecution]:
        return list(self.ListPolicyExecutions(policy_pb2.ListPolicyExecutionsRequest(name=f"policies/{policy_id}")).executions)


@dataclass
class Mesh:
    """The policy service as p1's and p2's callers see it, and the fake group and alarm services it calls."""

    p1: InProject
    p2: InProject
    group: FakeGroupService
    alarm: FakeAlarmService


@pytest.fixture
def mesh(sqlite_url: str) -> Iterator[Mesh]:
    clock = FakeClock()
    group = FakeGroupService(clock)
    alarm = FakeAlarmService()
    services = [("policy", build), ("group", group.registration), ("alarm", alarm.registration)]
    with running_server(services, Settings(database_url=sqlite_url), clock=clock) as (_, channel):
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        yield Mesh(InProject(stub, "p1"), InProject(stub, "p2"), group, alarm)


def _failure(call: Callable[[], Any]) -> grpc.RpcError:
    """The error of a call that must fail."""
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def test_the_same_policy_ids_in_two_projects_are_two_policies_each_project_seeing_only_its_own(mesh: Mesh) -> None:
    for project in ("p1", "p2"):
        mesh.group.add_group("web", project=project)
    mesh.group.add_group("api", project="p2")
    mesh.p1.create("up", scaling_adjustment=1)
    mesh.p1.create("down", scaling_adjustment=-1)
    mesh.p2.create("up", group="groups/api", scaling_adjustment=5)

    assert mesh.p1.names() == ["policies/down", "policies/up"]
    assert mesh.p2.names() == ["policies/up"]
    mine = mesh.p1.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/up")).policy
    theirs = mesh.p2.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/up")).policy
    assert (mine.group, mine.scaling_adjustment) == ("groups/web", 1)
    assert (theirs.group, theirs.scaling_adjustment) == ("groups/api", 5)
    # The group service asks which policies name a group (before DeleteGroup) in its caller's project.
    assert mesh.p1.names(group="groups/web") == ["policies/down", "policies/up"]
    assert mesh.p2.names(group="groups/web") == []

    mesh.p2.DeletePolicy(policy_pb2.DeletePolicyRequest(name="policies/up"))
    assert mesh.p2.names() == []
    assert mesh.p1.names() == ["policies/down", "policies/up"]


PROBES: list[tuple[str, Callable[[InProject], Any]]] = [
    ("GetPolicy", lambda caller: caller.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/up"))),
    ("UpdatePolicy", lambda caller: caller.UpdatePolicy(policy_pb2.UpdatePolicyRequest(
        policy=policy_pb2.Policy(name="policies/up", scaling_adjustment=4),
        update_mask=field_mask_pb2.FieldMask(paths=["scaling_adjustment"])))),
    ("DeletePolicy", lambda caller: caller.DeletePolicy(policy_pb2.DeletePolicyRequest(name="policies/up"))),
    ("ExecutePolicy", lambda caller: caller.execute("up", request_id="r-1")),
    ("ListPolicyExecutions", lambda caller: caller.executions("up")),
]


@pytest.mark.parametrize(("method", "probe"), PROBES, ids=[method for method, _ in PROBES])
def test_another_projects_policy_is_not_found_exactly_as_a_missing_one(
    mesh: Mesh, method: str, probe: Callable[[InProject], Any]
) -> None:
    mesh.group.add_group("web", project="p1")
    missing = _failure(lambda: probe(mesh.p2))
    mesh.p1.create("up")
    mesh.p1.execute("up")

    elsewhere = _failure(lambda: probe(mesh.p2))
    assert (elsewhere.code(), elsewhere.details()) == (NOT_FOUND, "policies/up not found")
    # The whole status, details and all, is the one of a policy that exists nowhere: nothing tells it exists.
    assert rpc_status.from_call(elsewhere) == rpc_status.from_call(missing)
    # p1's policy is as it was; p2's call reached neither the group nor the alarm service.
    assert mesh.p1.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/up")).policy.scaling_adjustment == 1
    assert len(mesh.p1.executions("up")) == 1
    assert mesh.group.adjust_projects == ["p1"]
    assert mesh.alarm.list_requests == []


@pytest.mark.parametrize("group", ["groups/api", "groups/nope"], ids=["only-in-p2", "nowhere"])
def test_a_policy_cannot_name_a_group_that_exists_only_in_another_project(mesh: Mesh, group: str) -> None:
    mesh.group.add_group("web", project="p1")
    mesh.group.add_group("api", project="p2")
    refused = _failure(lambda: mesh.p1.create("down", group=group))
    assert (refused.code(), refused.details()) == (NOT_FOUND, f"policy.group: {group} not found")
    assert mesh.p1.names() == []

    mesh.p1.create("up")
    moved = _failure(lambda: mesh.p1.UpdatePolicy(policy_pb2.UpdatePolicyRequest(
        policy=policy_pb2.Policy(name="policies/up", group=group), update_mask=field_mask_pb2.FieldMask(paths=["group"]))))
    assert (moved.code(), moved.details()) == (NOT_FOUND, f"policy.group: {group} not found")
    assert mesh.p1.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/up")).policy.group == "groups/web"


def test_executing_adjusts_the_group_of_the_policys_own_project_and_not_its_namesake(mesh: Mesh) -> None:
    for project in ("p1", "p2"):
        mesh.group.add_group("web", project=project, desired=1, max_size=5)
    mesh.p1.create("up", scaling_adjustment=2)
    mesh.p2.create("up", scaling_adjustment=1)

    adjusted = mesh.p1.execute("up", request_id="r-1")
    assert (adjusted.adjusted, adjusted.reason) == (True, "desired capacity 1 → 3")
    assert mesh.group.groups[("p1", "groups/web")].desired_capacity == 3
    assert mesh.group.groups[("p2", "groups/web")].desired_capacity == 1
    assert mesh.group.adjust_projects == ["p1"]

    # The same request id in another project is another signal: p1's first answer is p1's alone.
    theirs = mesh.p2.execute("up", request_id="r-1")
    assert (theirs.adjusted, theirs.reason) == (True, "desired capacity 1 → 2")
    assert mesh.group.groups[("p2", "groups/web")].desired_capacity == 2
    assert mesh.group.adjust_projects == ["p1", "p2"]
    assert [execution.activity for execution in mesh.p1.executions("up")] == [adjusted.activity.name]
    assert [execution.activity for execution in mesh.p2.executions("up")] == [theirs.activity.name]


def test_a_policy_whose_group_is_gone_from_its_own_project_fails_though_another_project_has_one(mesh: Mesh) -> None:
    for project in ("p1", "p2"):
        mesh.group.add_group("web", project=project)
    mesh.p1.create("up")
    mesh.group.delete_group("web", project="p1")
    failed = _failure(lambda: mesh.p1.execute("up"))
    assert (failed.code(), failed.details()) == (grpc.StatusCode.FAILED_PRECONDITION, "its group groups/web no longer exists")
    assert mesh.group.groups[("p2", "groups/web")].desired_capacity == 1


def test_deleting_a_policy_is_refused_only_by_the_alarms_of_its_own_project(mesh: Mesh) -> None:
    for caller in (mesh.p1, mesh.p2):
        mesh.group.add_group("web", project=caller.project)
        caller.create("up")
    mesh.alarm.add_alarm("busy", project="p2", alarm_actions=("policies/up",))

    mesh.p1.DeletePolicy(policy_pb2.DeletePolicyRequest(name="policies/up"))
    refused = _failure(lambda: mesh.p2.DeletePolicy(policy_pb2.DeletePolicyRequest(name="policies/up")))
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.details().startswith("policies/up is used by 1 alarm (alarms/busy)")
    assert (mesh.p1.names(), mesh.p2.names()) == ([], ["policies/up"])


# With the real group service




@dataclass
class GroupsInProject:
    """The GroupService as a caller of one project calls it."""

    stub: group_pb2_grpc.GroupServiceStub
    project: str

    def call(self, method: str, request: Any) -> Any:
        return getattr(self.stub, method)(request, metadata=((PROJECT_METADATA, self.project),), timeout=5)

    def create_launch_config(self) -> None:
        self.call("CreateLaunchConfig", group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=["sleep", "600"]))))

    def create_group(self, group_id: str) -> None:
        self.call("CreateGroup", group_pb2.CreateGroupRequest(
            group_id=group_id, group=group_pb2.Group(launch_config="launchConfigs/lc", min_size=1, max_size=5)))

    def settled(self, group_id: str) -> bool:
        """Whether the group's creation (its first instance launched) has ended: a simple policy waits for no resize."""
        group: group_pb2.Group = self.call("GetGroup", group_pb2.GetGroupRequest(name=f"groups/{group_id}")).group
        return not group.scaling_in_progress

    def desired_capacity(self, group_id: str) -> int:
        group: group_pb2.Group = self.call("GetGroup", group_pb2.GetGroupRequest(name=f"groups/{group_id}")).group
        return group.desired_capacity


@pytest.fixture
def real_groups(sqlite_url: str) -> Iterator[tuple[InProject, GroupsInProject, GroupsInProject]]:
    """p1's policy service, and p1's and p2's group service, of one server with both services and a fake cloud."""
    driver = FakeComputeDriver()
    group_build = make_build(lambda _settings: {PROCESS: driver, OPENSTACK_SERVER: driver})
    settings = Settings(database_url=sqlite_url, reconcile_interval=3600, metrics_addr="metrics.example:50051")
    with running_server([("policy", build), ("group", group_build)], settings) as (_, channel):
        policies = policy_pb2_grpc.PolicyServiceStub(channel)
        groups = group_pb2_grpc.GroupServiceStub(channel)
        yield InProject(policies, "p1"), GroupsInProject(groups, "p1"), GroupsInProject(groups, "p2")


def test_with_the_group_service_a_policy_names_and_adjusts_only_its_own_projects_group(
    real_groups: tuple[InProject, GroupsInProject, GroupsInProject],
) -> None:
    p1, p1_groups, p2_groups = real_groups
    p1_groups.create_launch_config()
    p2_groups.create_launch_config()
    p2_groups.create_group("api")
    refused = _failure(lambda: p1.create("up", group="groups/api"))
    assert (refused.code(), refused.details()) == (NOT_FOUND, "policy.group: groups/api not found")

    p1_groups.create_group("web")
    p2_groups.create_group("web")
    p1.create("up", scaling_adjustment=2)
    wait_for(lambda: p1_groups.settled("web"))  # the reconcile pass its creation wakes has launched its instance
    assert p1.execute("up").adjusted
    assert (p1_groups.desired_capacity("web"), p2_groups.desired_capacity("web")) == (3, 1)
