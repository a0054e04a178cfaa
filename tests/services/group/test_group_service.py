"""GroupService over a real in-process server, with an in-memory compute driver."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from autoscale.config import Settings, default_state_dir
from autoscale.errors import field_violations
from autoscale.pagination import MAX_PAGE_BYTES
from autoscale.timeutil import to_duration
from autoscale.v1 import common_pb2, group_pb2, group_pb2_grpc
from services.group.server import instance_log_dir, make_build
from tests.services.group.fake_compute import FakeComputeDriver
from tests.services.group.fake_policy import FakePolicyService
from tests.support import FakeClock, running_server, wait_for

CHANGE = common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY
EXACT = common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY
PERCENT = common_pb2.ADJUSTMENT_TYPE_PERCENT_CHANGE_IN_CAPACITY
RUNNING = group_pb2.INSTANCE_STATE_RUNNING
SUCCEEDED = group_pb2.ACTIVITY_STATUS_SUCCEEDED
IN_PROGRESS = group_pb2.ACTIVITY_STATUS_IN_PROGRESS
SLEEPER = group_pb2.ProcessSpec(command=["sleep", "600"])
RECONCILE_INTERVAL = 0.1
"""Seconds between two reconcile passes of the servers under test."""


@contextmanager
def serving_channel(
    database_url: str, driver: FakeComputeDriver, policies: FakePolicyService | None = None, **server_options: Any
) -> Iterator[tuple[Any, grpc.Channel]]:
    """A group server whose every launch config kind is served by `driver`, beside a fake policy service; yields (server,
    a channel to it)."""
    build = make_build(lambda settings: {"process": driver, "openstack_server": driver})
    settings = Settings(database_url=database_url, reconcile_interval=RECONCILE_INTERVAL, metrics_addr="metrics.example:50051")
    services = [("group", build), ("policy", (policies or FakePolicyService()).registration)]
    with running_server(services, settings, **server_options) as (server, channel):
        yield server, channel


@contextmanager
def serving(
    database_url: str, driver: FakeComputeDriver, policies: FakePolicyService | None = None, **server_options: Any
) -> Iterator[tuple[Any, Any]]:
    """`serving_channel`, with a stub whose calls act in the default project; yields (server, stub)."""
    with serving_channel(database_url, driver, policies, **server_options) as (server, channel):
        yield server, group_pb2_grpc.GroupServiceStub(channel)


@pytest.fixture
def driver() -> FakeComputeDriver:
    return FakeComputeDriver()


@pytest.fixture
def policies() -> FakePolicyService:
    return FakePolicyService()


@pytest.fixture
def stub(sqlite_url, driver, policies):
    with serving(sqlite_url, driver, policies) as (_, stub):
        stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=SLEEPER)), timeout=5)
        yield stub


def passes_over(driver: FakeComputeDriver, server_id: str, since: int = 0) -> None:
    """Wait until a reconcile pass that began after the `since`-th driver call is over: the loop's passes run one after the
    other and each reads the state of every live instance, so a second read of this server's state begins the pass after."""
    wait_for(lambda: driver.calls[since:].count(("state", server_id)) >= 2, f"a whole pass over {server_id}")


def create_group(stub, group_id: str = "web", **fields) -> group_pb2.Group:  # type: ignore[no-untyped-def]
    fields.setdefault("max_size", 10)
    request = group_pb2.CreateGroupRequest(group_id=group_id, group=group_pb2.Group(launch_config="launchConfigs/lc", **fields))
    return stub.CreateGroup(request, timeout=5).group


def instances(stub, group_id: str = "web") -> list[group_pb2.Instance]:  # type: ignore[no-untyped-def]
    return list(stub.ListInstances(group_pb2.ListInstancesRequest(parent=f"groups/{group_id}"), timeout=5).instances)


def activities(stub, group_id: str = "web") -> list[group_pb2.Activity]:  # type: ignore[no-untyped-def]
    return list(stub.ListActivities(group_pb2.ListActivitiesRequest(parent=f"groups/{group_id}"), timeout=5).activities)


def converged(stub, count: int, group_id: str = "web") -> list[group_pb2.Instance] | None:  # type: ignore[no-untyped-def]
    """The instances once exactly `count` run and the group's activity is over."""
    found = instances(stub, group_id)
    group = stub.GetGroup(group_pb2.GetGroupRequest(name=f"groups/{group_id}"), timeout=5).group
    done = len(found) == count and all(i.state == RUNNING for i in found) and not group.scaling_in_progress
    return found if done else None


def adjust(stub, adjustment_type, adjustment: int, **fields) -> group_pb2.AdjustResponse:  # type: ignore[no-untyped-def]
    return stub.Adjust(group_pb2.AdjustRequest(name="groups/web", adjustment_type=adjustment_type, adjustment=adjustment, **fields),
                       timeout=5)


def rpc_error(call: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def violated_fields(call: Callable[[], Any]) -> list[str]:
    error = rpc_error(call)
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, error.details()
    return [v.field for v in field_violations(error)]


# Launch configs


def test_launch_configs_are_created_read_listed_and_deleted(stub):
    server = group_pb2.OpenStackServerSpec(
        image="cirros", flavor="m1.tiny", networks=["private"], metadata={"k": "v"}, availability_zone="az-2",
        nics=[group_pb2.ServerNic(network="public", fixed_ip="172.24.4.9"), group_pb2.ServerNic(port="p-1")],
        server_group="web-anti", boot_volume_size_gb=20, config_drive=True,
    )
    created = stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
        launch_config_id="nova", launch_config=group_pb2.LaunchConfig(openstack_server=server)), timeout=5).launch_config
    assert created.name == "launchConfigs/nova" and created.openstack_server == server and created.create_time.seconds > 0
    got = stub.GetLaunchConfig(group_pb2.GetLaunchConfigRequest(name="launchConfigs/lc"), timeout=5).launch_config
    assert list(got.process.command) == ["sleep", "600"] and not got.HasField("openstack_server")
    first = stub.ListLaunchConfigs(group_pb2.ListLaunchConfigsRequest(page_size=1), timeout=5)
    second = stub.ListLaunchConfigs(group_pb2.ListLaunchConfigsRequest(page_size=1, page_token=first.next_page_token), timeout=5)
    assert [c.name for c in (*first.launch_configs, *second.launch_configs)] == ["launchConfigs/lc", "launchConfigs/nova"]
    assert second.next_page_token == ""
    stub.DeleteLaunchConfig(group_pb2.DeleteLaunchConfigRequest(name="launchConfigs/nova"), timeout=5)
    error = rpc_error(lambda: stub.GetLaunchConfig(group_pb2.GetLaunchConfigRequest(name="launchConfigs/nova"), timeout=5))
    assert error.code() is grpc.StatusCode.NOT_FOUND
    error = rpc_error(lambda: stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
        launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=SLEEPER)), timeout=5))
    assert error.code() is grpc.StatusCode.ALREADY_EXISTS


@pytest.mark.parametrize(
    ("launch_config_id", "launch_config", "fields"),
    [
        ("Bad_Id", group_pb2.LaunchConfig(process=SLEEPER), ["launch_config_id"]),
        ("x", None, ["launch_config"]),
        ("x", group_pb2.LaunchConfig(), ["launch_config"]),
        ("x", group_pb2.LaunchConfig(process=SLEEPER, openstack_server=group_pb2.OpenStackServerSpec(image="i", flavor="f")),
         ["launch_config"]),
        ("x", group_pb2.LaunchConfig(process=group_pb2.ProcessSpec()), ["launch_config.process.command"]),
        ("x", group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=["", "a"])), ["launch_config.process.command[0]"]),
        ("x", group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=["a"], env={"A=B": "1"})), ["launch_config.process.env"]),
        ("x", group_pb2.LaunchConfig(openstack_server=group_pb2.OpenStackServerSpec()),
         ["launch_config.openstack_server.image", "launch_config.openstack_server.flavor"]),
    ],
)
def test_bad_launch_configs_are_invalid_arguments_naming_the_field(stub, launch_config_id, launch_config, fields):
    request = group_pb2.CreateLaunchConfigRequest(launch_config_id=launch_config_id, launch_config=launch_config)
    assert violated_fields(lambda: stub.CreateLaunchConfig(request, timeout=5)) == fields


THREE_MB = "x" * 3_000_000


@pytest.mark.parametrize(
    ("launch_config", "field", "limit"),
    [
        (group_pb2.ProcessSpec(command=["sleep", THREE_MB]), "launch_config.process.command", "at most 32768 characters"),
        (group_pb2.ProcessSpec(command=["sleep"], env={"BIG": THREE_MB}), "launch_config.process.env", "at most 32768 characters"),
        (group_pb2.OpenStackServerSpec(image="i", flavor="f", user_data=THREE_MB), "launch_config.openstack_server.user_data",
         "at most 49149 bytes"),
        (group_pb2.OpenStackServerSpec(image="i", flavor="f", metadata={"k": THREE_MB}), "launch_config.openstack_server.metadata",
         "at most 255 characters"),
    ],
)
def test_megabytes_of_launch_config_text_are_refused_naming_the_field_and_its_limit(stub, launch_config, field, limit):
    kind = "process" if isinstance(launch_config, group_pb2.ProcessSpec) else "openstack_server"
    request = group_pb2.CreateLaunchConfigRequest(launch_config_id="big", launch_config=group_pb2.LaunchConfig(**{kind: launch_config}))
    error = rpc_error(lambda: stub.CreateLaunchConfig(request, timeout=5))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in [v.field for v in field_violations(error)] and limit in error.details()
    assert len(error.details()) < 2000
    assert [c.name for c in stub.ListLaunchConfigs(group_pb2.ListLaunchConfigsRequest(), timeout=5).launch_configs] == ["launchConfigs/lc"]


def test_launch_configs_of_the_largest_size_are_listed_in_pages_that_fit_a_message(stub):
    # Four bytes a character: each config takes 2 x 128 KB, so the 17 in one page would pass gRPC's 4 MiB.
    widest = "\U0001F600" * 16_000
    process = group_pb2.ProcessSpec(command=["sleep", widest, widest], env={"A": widest, "B": widest})
    for number in range(17):
        stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id=f"wide-{number}", launch_config=group_pb2.LaunchConfig(process=process)), timeout=5)
    listed, token, pages = [], "", 0
    while True:
        page = stub.ListLaunchConfigs(group_pb2.ListLaunchConfigsRequest(page_size=100, page_token=token), timeout=5)
        assert page.ByteSize() <= 1.1 * MAX_PAGE_BYTES
        listed.extend(config.name for config in page.launch_configs)
        token, pages = page.next_page_token, pages + 1
        if not token:
            break
    assert listed == sorted(["launchConfigs/lc", *(f"launchConfigs/wide-{n}" for n in range(17))]) and pages > 1


def test_deleting_a_launch_config_a_group_uses_is_a_failed_precondition_naming_the_group(stub):
    create_group(stub)
    error = rpc_error(lambda: stub.DeleteLaunchConfig(group_pb2.DeleteLaunchConfigRequest(name="launchConfigs/lc"), timeout=5))
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "groups/web" in error.details()


# Groups


def test_groups_are_created_read_listed_updated_and_deleted(stub):
    created = create_group(stub, min_size=1, max_size=3, tags={"team": "web"})
    assert (created.name, created.launch_config, created.desired_capacity) == ("groups/web", "launchConfigs/lc", 1)
    assert not created.HasField("cooldown") and created.tags == {"team": "web"} and created.create_time.seconds > 0
    create_group(stub, "api", max_size=2, cooldown=to_duration(0))
    api = stub.GetGroup(group_pb2.GetGroupRequest(name="groups/api"), timeout=5).group
    assert api.HasField("cooldown") and api.cooldown.seconds == 0 and api.desired_capacity == 0
    first = stub.ListGroups(group_pb2.ListGroupsRequest(page_size=1), timeout=5)
    second = stub.ListGroups(group_pb2.ListGroupsRequest(page_size=1, page_token=first.next_page_token), timeout=5)
    assert [g.name for g in (*first.groups, *second.groups)] == ["groups/api", "groups/web"]
    updated = stub.UpdateGroup(group_pb2.UpdateGroupRequest(
        group=group_pb2.Group(name="groups/api", cooldown=to_duration(60), tags={"a": "b"}),
        update_mask=field_mask_pb2.FieldMask(paths=["cooldown", "tags", "current_capacity"])), timeout=5).group
    assert (updated.cooldown.seconds, dict(updated.tags), updated.max_size) == (60, {"a": "b"}, 2)
    stub.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/api"), timeout=5)
    error = rpc_error(lambda: stub.GetGroup(group_pb2.GetGroupRequest(name="groups/api"), timeout=5))
    assert error.code() is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("group_id", "fields", "violations"),
    [
        ("Bad_Id", {"max_size": 1}, ["group_id"]),
        ("g", {"launch_config": "lc", "max_size": 1}, ["group.launch_config"]),
        ("g", {"launch_config": ""}, ["group.launch_config"]),
        ("g", {"min_size": -1, "max_size": 1}, ["group.min_size"]),
        ("g", {"min_size": 3, "max_size": 1}, ["group.max_size"]),
        ("g", {"max_size": 10_001}, ["group.max_size"]),
        ("g", {"max_size": 2, "desired_capacity": 5}, ["group.desired_capacity"]),
        ("g", {"min_size": 1, "max_size": 2, "desired_capacity": 0}, ["group.desired_capacity"]),
        ("g", {"max_size": 1, "cooldown": to_duration(-5)}, ["group.cooldown"]),
        ("g", {"max_size": 1, "tags": {"": "x"}}, ["group.tags"]),
        ("", {"launch_config": "bad", "min_size": -1, "max_size": -2},
         ["group_id", "group.launch_config", "group.min_size", "group.max_size"]),
    ],
)
def test_bad_groups_are_invalid_arguments_naming_every_field(stub, group_id, fields, violations):
    fields = {"launch_config": "launchConfigs/lc", **fields}
    request = group_pb2.CreateGroupRequest(group_id=group_id, group=group_pb2.Group(**fields))
    assert violated_fields(lambda: stub.CreateGroup(request, timeout=5)) == violations


@pytest.mark.parametrize("seconds", [2**63 - 1, 10**12, 86_401])
def test_a_cooldown_beyond_a_day_is_refused_naming_the_range_and_nothing_is_stored(stub, seconds):
    request = group_pb2.CreateGroupRequest(
        group_id="web", group=group_pb2.Group(launch_config="launchConfigs/lc", max_size=3, cooldown=duration_pb2.Duration(seconds=seconds))
    )
    error = rpc_error(lambda: stub.CreateGroup(request, timeout=5))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == f"group.cooldown: must be between 0s and 86400s, got {seconds}s"
    assert stub.ListGroups(group_pb2.ListGroupsRequest(), timeout=5).groups == []
    create_group(stub, cooldown=to_duration(60))
    update = group_pb2.UpdateGroupRequest(
        group=group_pb2.Group(name="groups/web", cooldown=duration_pb2.Duration(seconds=seconds)),
        update_mask=field_mask_pb2.FieldMask(paths=["cooldown"]),
    )
    assert violated_fields(lambda: stub.UpdateGroup(update, timeout=5)) == ["group.cooldown"]
    assert stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group.cooldown.seconds == 60


def test_a_cooldown_of_a_day_is_stored_and_answered_by_every_call(stub):
    create_group(stub, cooldown=to_duration(86_400))
    assert stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group.cooldown.seconds == 86_400
    assert stub.ListGroups(group_pb2.ListGroupsRequest(), timeout=5).groups[0].cooldown.seconds == 86_400
    adjusted = stub.Adjust(group_pb2.AdjustRequest(name="groups/web", adjustment_type=CHANGE, adjustment=1), timeout=5)
    assert adjusted.group.cooldown.seconds == 86_400


@pytest.mark.parametrize(
    ("tags", "limit"),
    [({"big": THREE_MB}, "at most 256 characters"), ({"k" * 129: "v"}, "at most 128 characters"),
     ({f"t{n}": "v" for n in range(51)}, "at most 50 entries")],
)
def test_tags_beyond_their_limits_are_refused_on_create_and_update(stub, tags, limit):
    request = group_pb2.CreateGroupRequest(group_id="web", group=group_pb2.Group(launch_config="launchConfigs/lc", max_size=1, tags=tags))
    error = rpc_error(lambda: stub.CreateGroup(request, timeout=5))
    assert [v.field for v in field_violations(error)] == ["group.tags"] and limit in error.details()
    create_group(stub)
    update = group_pb2.UpdateGroupRequest(
        group=group_pb2.Group(name="groups/web", tags=tags), update_mask=field_mask_pb2.FieldMask(paths=["tags"])
    )
    assert violated_fields(lambda: stub.UpdateGroup(update, timeout=5)) == ["group.tags"]


def test_a_group_of_an_unknown_launch_config_is_not_found_and_an_existing_id_already_exists(stub):
    request = group_pb2.CreateGroupRequest(group_id="g", group=group_pb2.Group(launch_config="launchConfigs/x", max_size=1))
    error = rpc_error(lambda: stub.CreateGroup(request, timeout=5))
    assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, "group.launch_config: launchConfigs/x not found")
    create_group(stub)
    assert rpc_error(lambda: create_group(stub)).code() is grpc.StatusCode.ALREADY_EXISTS
    for bad in ("web", "groups/Web", ""):
        assert violated_fields(lambda bad=bad: stub.GetGroup(group_pb2.GetGroupRequest(name=bad), timeout=5)) == ["name"]


def test_update_clamps_desired_into_a_new_range_and_records_the_change(stub):
    create_group(stub, min_size=0, max_size=5, desired_capacity=4)
    updated = stub.UpdateGroup(group_pb2.UpdateGroupRequest(
        group=group_pb2.Group(name="groups/web", max_size=2), update_mask=field_mask_pb2.FieldMask(paths=["max_size"])),
        timeout=5).group
    assert (updated.max_size, updated.desired_capacity) == (2, 2)
    latest = activities(stub)[0]
    assert (latest.cause, latest.from_capacity, latest.to_capacity) == ("UpdateGroup", 4, 2)
    wait_for(lambda: converged(stub, 2), "two instances")
    assert activities(stub)[0].status == SUCCEEDED


def test_bad_updates_are_refused_and_change_nothing(stub):
    create_group(stub, max_size=3)

    def update(group: group_pb2.Group, *paths: str) -> Any:
        return stub.UpdateGroup(group_pb2.UpdateGroupRequest(group=group, update_mask=field_mask_pb2.FieldMask(paths=paths)), timeout=5)

    assert violated_fields(lambda: update(group_pb2.Group(name="groups/web"), "bogus")) == ["update_mask"]
    assert violated_fields(lambda: update(group_pb2.Group(name="groups/web", min_size=5), "min_size")) == ["group.max_size"]
    assert violated_fields(lambda: update(group_pb2.Group(name="groups/web", desired_capacity=9), "desired_capacity")) == [
        "group.desired_capacity"
    ]
    # An empty mask replaces every updatable field, so the launch config is required.
    assert violated_fields(lambda: update(group_pb2.Group(name="groups/web", max_size=3))) == ["group.launch_config"]
    error = rpc_error(lambda: update(group_pb2.Group(name="groups/web", launch_config="launchConfigs/x"), "launch_config"))
    assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, "group.launch_config: launchConfigs/x not found")
    error = rpc_error(lambda: update(group_pb2.Group(name="groups/nope", max_size=1), "max_size"))
    assert error.code() is grpc.StatusCode.NOT_FOUND
    group = stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group
    assert (group.min_size, group.max_size, group.desired_capacity) == (0, 3, 0)


def test_a_new_launch_config_applies_to_instances_launched_afterwards(stub, driver):
    create_group(stub, desired_capacity=1)
    wait_for(lambda: converged(stub, 1), "the first instance")
    stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
        launch_config_id="v2", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=["v2"]))), timeout=5)
    stub.UpdateGroup(group_pb2.UpdateGroupRequest(
        group=group_pb2.Group(name="groups/web", launch_config="launchConfigs/v2", desired_capacity=2),
        update_mask=field_mask_pb2.FieldMask(paths=["launch_config", "desired_capacity"])), timeout=5)
    wait_for(lambda: converged(stub, 2), "the second instance")
    commands = sorted(tuple(s.request.process.command) for s in driver.servers.values())
    assert commands == [("sleep", "600"), ("v2",)]


# Adjust


def test_an_adjust_cause_beyond_1024_characters_is_refused_and_changes_nothing(stub):
    create_group(stub)
    error = rpc_error(lambda: adjust(stub, EXACT, 2, cause=THREE_MB))
    assert [v.field for v in field_violations(error)] == ["cause"] and "at most 1024 characters" in error.details()
    assert activities(stub) == []
    assert adjust(stub, EXACT, 2, cause="c" * 1024).activity.cause == "c" * 1024


@pytest.mark.parametrize(
    ("desired", "adjustment_type", "adjustment", "min_step", "expected", "status"),
    [
        (2, CHANGE, 2, 0, 4, IN_PROGRESS),
        (2, CHANGE, -1, 0, 1, IN_PROGRESS),
        (2, EXACT, 5, 0, 5, IN_PROGRESS),
        (4, PERCENT, 10, 0, 5, IN_PROGRESS),  # 0.4 rounds away from zero
        (4, PERCENT, 10, 2, 6, IN_PROGRESS),  # raised to the step
        (3, PERCENT, 150, 0, 7, IN_PROGRESS),  # 4.5 rounds towards zero
        (9, CHANGE, 5, 0, 10, IN_PROGRESS),  # clamped at max_size
        (10, CHANGE, 1, 0, 10, group_pb2.ACTIVITY_STATUS_UNCHANGED),
    ],
)
def test_adjust_computes_the_new_capacity_and_records_the_activity(stub, desired, adjustment_type, adjustment, min_step, expected, status):
    create_group(stub, desired_capacity=desired)
    response = adjust(stub, adjustment_type, adjustment, min_adjustment_step=min_step, cause="alarms/hot via policies/up")
    assert (response.previous_capacity, response.desired_capacity, response.activity.status) == (desired, expected, status)
    activity = response.activity
    assert (activity.cause, activity.from_capacity, activity.to_capacity) == ("alarms/hot via policies/up", desired, expected)
    assert stub.GetActivity(group_pb2.GetActivityRequest(name=activity.name), timeout=5).activity.cause == activity.cause
    if status == group_pb2.ACTIVITY_STATUS_UNCHANGED:
        assert activity.status_message == "already at max_size 10" and activity.end_time == activity.start_time


def test_adjust_without_a_cause_records_the_caller(stub):
    create_group(stub)
    assert adjust(stub, CHANGE, 1).activity.cause == "Adjust by caller"


def test_a_repeated_request_id_returns_the_first_answer_and_changes_nothing(stub):
    create_group(stub, desired_capacity=1)
    first = adjust(stub, CHANGE, 1, request_id="exec-1")
    again = adjust(stub, CHANGE, 1, request_id="exec-1")
    first_answer = group_pb2.AdjustResponse()
    first_answer.CopyFrom(first)
    first_answer.ClearField("group")  # the group as it stood then is not kept: the first answer comes again without it
    assert again == first_answer
    assert stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group.desired_capacity == 2
    assert adjust(stub, CHANGE, 1, request_id="exec-2").desired_capacity == 3


@pytest.mark.parametrize(
    ("request_fields", "fields"),
    [
        ({"name": "groups/web", "adjustment": 1}, ["adjustment_type"]),
        ({"name": "groups/web", "adjustment_type": 7}, ["adjustment_type"]),
        ({"name": "groups/web", "adjustment_type": EXACT, "adjustment": -1}, ["adjustment"]),
        ({"name": "groups/web", "adjustment_type": PERCENT, "adjustment": 10, "min_adjustment_step": -1}, ["min_adjustment_step"]),
        ({"name": "web", "adjustment_type": CHANGE}, ["name"]),
        ({"name": "groups/web", "adjustment_type": CHANGE, "request_id": "r" * 256}, ["request_id"]),
        ({"name": "", "adjustment_type": EXACT, "adjustment": -1, "min_adjustment_step": -1},
         ["name", "adjustment", "min_adjustment_step"]),
    ],
)
def test_bad_adjustments_are_invalid_arguments_naming_the_field(stub, request_fields, fields):
    create_group(stub)
    assert violated_fields(lambda: stub.Adjust(group_pb2.AdjustRequest(**request_fields), timeout=5)) == fields


def test_adjusting_an_unknown_group_is_not_found(stub):
    error = rpc_error(lambda: adjust(stub, CHANGE, 1))
    assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, "groups/web not found")


# Reconcile loop


def test_instances_converge_to_the_desired_capacity_and_the_activity_succeeds(stub, driver):
    created = create_group(stub, min_size=2, max_size=4)
    assert created.scaling_in_progress
    found = wait_for(lambda: converged(stub, 2), "two running instances")
    assert {i.server_id for i in found} == set(driver.running().values())
    group = stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group
    assert (group.current_capacity, group.scaling_in_progress) == (2, False)
    (activity,) = activities(stub)
    assert (activity.cause, activity.from_capacity, activity.to_capacity, activity.status) == ("CreateGroup", 0, 2, SUCCEEDED)
    assert activity.end_time.seconds >= activity.start_time.seconds and activity.status_message == "2 instances running"
    request = next(iter(driver.servers.values())).request
    assert (request.group_id, request.metrics_addr, request.process.command) == ("web", "metrics.example:50051", ("sleep", "600"))
    assert request.instance_id in {i.name.rsplit("/", 1)[1] for i in found}


def test_a_group_scales_out_and_in_on_every_database(database_url, driver):
    with serving(database_url, driver) as (_, stub):
        stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=SLEEPER)), timeout=5)
        create_group(stub, desired_capacity=2)
        wait_for(lambda: converged(stub, 2), "two instances")
        adjust(stub, PERCENT, -50, request_id="in")
        wait_for(lambda: converged(stub, 1), "one instance")
        stub.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web"), timeout=10)
        assert driver.servers == {}


def test_instances_are_pending_until_the_driver_reports_them_running(stub, driver):
    driver.start_pending = True
    create_group(stub, desired_capacity=1)
    (server_id,) = wait_for(lambda: list(driver.servers), "a launch")
    passes_over(driver, server_id)
    assert [i.state for i in instances(stub)] == [group_pb2.INSTANCE_STATE_PENDING]
    assert activities(stub)[0].status == IN_PROGRESS
    driver.start_all()
    wait_for(lambda: converged(stub, 1), "the instance to run")


def test_an_instance_that_dies_is_replaced(stub, driver):
    create_group(stub, desired_capacity=2)
    before = wait_for(lambda: converged(stub, 2), "two running instances")
    victim = before[0]
    driver.kill(victim.server_id)
    after = wait_for(lambda: (found := converged(stub, 2)) and victim.name not in {i.name for i in found} and found,
                     "the dead instance to be replaced")
    assert before[1].name in {i.name for i in after}
    assert ("terminate", victim.server_id) in driver.calls


def test_scale_out_then_in_removes_the_oldest_instances(stub, driver):
    create_group(stub, desired_capacity=2)
    oldest = wait_for(lambda: converged(stub, 2), "two instances")
    adjust(stub, CHANGE, 2)
    grown = wait_for(lambda: converged(stub, 4), "four instances")
    assert grown[:2] == oldest
    adjust(stub, EXACT, 2, cause="scale in")
    remaining = wait_for(lambda: converged(stub, 2), "two instances again")
    assert remaining == grown[2:]
    assert {("terminate", i.server_id) for i in oldest} <= set(driver.calls)
    assert [(a.cause, a.status) for a in activities(stub)] == [
        ("scale in", SUCCEEDED), ("Adjust by caller", SUCCEEDED), ("CreateGroup", SUCCEEDED)
    ]


def test_adjust_answers_the_group_as_it_stands_after_the_call(stub, driver):
    driver.start_pending = True
    create_group(stub, min_size=1, max_size=4, desired_capacity=1, cooldown=to_duration(90))
    answer = adjust(stub, CHANGE, 5)
    assert (answer.group.name, answer.group.min_size, answer.group.max_size) == ("groups/web", 1, 4)
    assert answer.group.desired_capacity == answer.desired_capacity == 4
    assert answer.group.cooldown.seconds == 90
    assert answer.group.scaling_in_progress


def test_adjust_answers_whether_it_adjusted_and_why(stub: Any) -> None:
    create_group(stub, min_size=1, max_size=3, desired_capacity=2)
    moved = adjust(stub, CHANGE, 1)
    assert (moved.adjusted, moved.reason, moved.refusal) == (True, "desired capacity 2 → 3", group_pb2.ADJUST_REFUSAL_UNSPECIFIED)
    stays = adjust(stub, CHANGE, 1)
    assert (stays.adjusted, stays.reason) == (False, "capacity stays at 3 (already at max_size 3)")
    assert stays.activity.status == group_pb2.ACTIVITY_STATUS_UNCHANGED and not stays.HasField("cooldown_end_time")


@pytest.mark.parametrize("flag", ["honor_cooldown", "refuse_while_scaling"])
def test_adjust_honouring_the_cooldown_leaves_a_resizing_group_as_it_is_and_says_which_activity(
    stub: Any, driver: FakeComputeDriver, flag: str
) -> None:
    driver.start_pending = True
    create_group(stub, desired_capacity=1)
    (resizing,) = activities(stub)
    refused = adjust(stub, CHANGE, 1, request_id="policy-1", **{flag: True})
    assert not refused.HasField("activity") and not refused.adjusted
    assert refused.refusal == group_pb2.ADJUST_REFUSAL_SCALING_IN_PROGRESS
    assert refused.reason == f"group groups/web is resizing (activity {resizing.name})"
    assert (refused.previous_capacity, refused.desired_capacity) == (1, 1)
    assert refused.group.scaling_in_progress and refused.group.desired_capacity == 1
    assert [(a.name, a.status) for a in activities(stub)] == [(resizing.name, IN_PROGRESS)]
    # The reconcile pass launches after CreateGroup answered (later still under load): start the server once it is there.
    wait_for(lambda: driver.servers, "the first launch")
    driver.start_all()
    wait_for(lambda: converged(stub, 1), "the first instance")
    # Nothing was remembered under the request id, and CreateGroup started no cooldown: the same request adjusts.
    allowed = adjust(stub, CHANGE, 1, request_id="policy-1", **{flag: True})
    assert allowed.activity.status == IN_PROGRESS and allowed.desired_capacity == 2 and allowed.adjusted


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked_stub(sqlite_url: str, driver: FakeComputeDriver, clock: FakeClock) -> Iterator[Any]:
    """A group service whose clock (activity times, cooldowns) the test moves by hand."""
    with serving(sqlite_url, driver, clock=clock) as (_, stub):
        stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=SLEEPER)), timeout=5)
        yield stub


def test_adjust_honouring_the_cooldown_is_refused_until_the_cooldown_after_the_resize_ends(
    clocked_stub: Any, driver: FakeComputeDriver, clock: FakeClock
) -> None:
    stub = clocked_stub
    driver.start_pending = True
    create_group(stub, min_size=1, desired_capacity=1, cooldown=to_duration(120))
    wait_for(lambda: driver.start_all() or converged(stub, 1), "the first instance")
    clock.advance(1)
    first = adjust(stub, CHANGE, 1, honor_cooldown=True, cooldown=to_duration(60))
    assert first.adjusted and first.activity.status == IN_PROGRESS
    clock.advance(20)  # the resize takes 20 s: the cooldown counts from its end
    ended = wait_for(lambda: driver.start_all() or (converged(stub, 2) and activities(stub)[0]), "the resize to end")
    assert ended.end_time.seconds == int(clock.now)
    clock.advance(59)

    refused = adjust(stub, CHANGE, 1, honor_cooldown=True)
    assert not refused.adjusted and not refused.HasField("activity")
    assert refused.refusal == group_pb2.ADJUST_REFUSAL_COOLDOWN
    assert refused.cooldown_end_time.seconds == ended.end_time.seconds + 60
    assert refused.reason.startswith("group groups/web is in cooldown until ") and refused.reason.endswith("(1s left)")
    assert len(activities(stub)) == 2

    # An operator's Adjust is made at once, and starts no cooldown of its own.
    manual = adjust(stub, CHANGE, -1)
    assert manual.adjusted and manual.desired_capacity == 1
    wait_for(lambda: driver.start_all() or converged(stub, 1), "the manual resize to end")

    clock.advance(1)
    allowed = adjust(stub, CHANGE, 1, honor_cooldown=True)
    assert allowed.adjusted and allowed.refusal == group_pb2.ADJUST_REFUSAL_UNSPECIFIED


def test_adjust_honouring_a_zero_cooldown_is_allowed_as_soon_as_the_resize_ends(clocked_stub: Any, driver: FakeComputeDriver) -> None:
    stub = clocked_stub
    create_group(stub, min_size=1, desired_capacity=1, cooldown=to_duration(300))
    wait_for(lambda: converged(stub, 1), "the first instance")
    assert adjust(stub, EXACT, 2, honor_cooldown=True, cooldown=to_duration(0)).adjusted
    wait_for(lambda: converged(stub, 2), "two instances")
    again = adjust(stub, EXACT, 1, honor_cooldown=True, cooldown=to_duration(0))
    assert (again.adjusted, again.reason) == (True, "desired capacity 2 → 1")


def test_adjust_honouring_the_cooldown_without_one_takes_the_groups(clocked_stub: Any, driver: FakeComputeDriver, clock: FakeClock) -> None:
    stub = clocked_stub
    create_group(stub, min_size=1, desired_capacity=1)  # no cooldown set: 300 s
    wait_for(lambda: converged(stub, 1), "the first instance")
    adjust(stub, CHANGE, 1, honor_cooldown=True)
    wait_for(lambda: converged(stub, 2), "two instances")
    clock.advance(299)
    assert adjust(stub, CHANGE, 1, honor_cooldown=True).reason.endswith("(1s left)")
    clock.advance(1)
    assert adjust(stub, CHANGE, 1, honor_cooldown=True).adjusted


def test_concurrent_adjusts_honouring_the_cooldown_change_the_group_once(stub: Any, driver: FakeComputeDriver) -> None:
    driver.start_pending = True
    create_group(stub, max_size=10)
    start = threading.Barrier(8)
    answers: list[group_pb2.AdjustResponse] = []

    def signal() -> None:
        start.wait()
        answers.append(adjust(stub, CHANGE, 1, honor_cooldown=True, cooldown=to_duration(0)))

    threads = [threading.Thread(target=signal) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (adjusted,) = [answer for answer in answers if answer.adjusted]
    assert adjusted.desired_capacity == 1
    assert {answer.refusal for answer in answers if not answer.adjusted} == {group_pb2.ADJUST_REFUSAL_SCALING_IN_PROGRESS}
    assert [a.name for a in activities(stub)] == [adjusted.activity.name]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cooldown": to_duration(60)}, "cooldown: is read only with honor_cooldown: set both, or neither"),
        ({"cooldown": to_duration(86_401), "honor_cooldown": True}, "cooldown: must be between 0s and 86400s, got 86401s"),
        ({"cooldown": duration_pb2.Duration(seconds=-1), "honor_cooldown": True}, "cooldown: must be between 0s and 86400s, got -1s"),
    ],
)
def test_an_adjusts_cooldown_needs_honor_cooldown_and_lies_within_a_day(stub: Any, fields: dict[str, Any], message: str) -> None:
    create_group(stub, desired_capacity=1)
    error = rpc_error(lambda: adjust(stub, CHANGE, 1, **fields))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT and error.details() == message
    assert len(activities(stub)) == 1


def test_a_newer_adjust_cancels_the_activity_in_progress(stub, driver):
    driver.start_pending = True
    create_group(stub, desired_capacity=1)
    second = adjust(stub, CHANGE, 1)
    newest, oldest = activities(stub)
    assert newest.name == second.activity.name and newest.status == IN_PROGRESS
    assert oldest.status == group_pb2.ACTIVITY_STATUS_CANCELLED
    assert oldest.status_message == f"superseded by {second.activity.name}"
    driver.start_all()
    wait_for(lambda: driver.start_all() or converged(stub, 2), "two instances")
    assert stub.GetActivity(group_pb2.GetActivityRequest(name=second.activity.name), timeout=5).activity.status == SUCCEEDED


def test_a_failing_launch_fails_the_activity_degrades_the_group_and_is_retried_after_a_wait(stub, driver):
    driver.launch_error = "quota exceeded"
    create_group(stub, desired_capacity=1)
    failed = wait_for(lambda: (a := activities(stub)[0]).status == group_pb2.ACTIVITY_STATUS_FAILED and a, "the activity to fail")
    assert "quota exceeded" in failed.status_message
    # (The FAILED instance itself lasts one pass: the next one removes it. The group keeps saying why it is degraded.)
    group = wait_for(lambda: (g := stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group).state
                     == group_pb2.GROUP_STATE_DEGRADED and g, "the group to be degraded")
    assert "quota exceeded" in group.state_reason
    assert group.HasField("launch_retry_time")

    def launches() -> int:
        return sum(1 for call, _ in driver.calls if call == "launch")

    # Each failure doubles the wait (2 s, 4 s, ...): a second attempt comes, but not one a pass.
    retry_at = group.launch_retry_time.ToMicroseconds() / 1e6
    assert retry_at - failed.end_time.ToMicroseconds() / 1e6 >= 1.0
    attempts = launches()
    wait_for(lambda: launches() >= attempts + 1, "another launch attempt")
    assert time.time() >= retry_at
    driver.launch_error = ""
    wait_for(lambda: converged(stub, 1), "the instance to be launched at last")


def test_a_restarted_service_adopts_its_instances_without_duplicating_them(sqlite_url, driver):
    with serving(sqlite_url, driver) as (_, stub):
        stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=SLEEPER)), timeout=5)
        create_group(stub, desired_capacity=3)
        before = wait_for(lambda: converged(stub, 3), "three instances")
    launches = len([c for c in driver.calls if c[0] == "launch"])
    assert len(driver.running()) == 3, "stopping the service leaves the instances running"
    calls = len(driver.calls)
    with serving(sqlite_url, driver) as (_, stub):
        passes_over(driver, before[0].server_id, since=calls)
        assert converged(stub, 3) == before
        assert len([c for c in driver.calls if c[0] == "launch"]) == launches
    # Down again: one instance dies meanwhile; the next start replaces it and keeps the others.
    driver.kill(before[0].server_id)
    with serving(sqlite_url, driver) as (_, stub):
        after = wait_for(lambda: (found := converged(stub, 3)) and before[0].name not in {i.name for i in found} and found,
                         "the dead instance to be replaced")
        assert after[:2] == before[1:]
        assert len(driver.running()) == 3


def test_delete_group_terminates_its_instances_first_and_waits_until_they_are_gone(stub, driver):
    create_group(stub, desired_capacity=2)
    wait_for(lambda: converged(stub, 2), "two instances")
    slow_terminate = driver.terminate

    def terminate_later(server_id: str) -> None:
        # The server goes away a little after it is asked to, as a real one does.
        threading.Timer(0.3, slow_terminate, args=(server_id,)).start()

    driver.terminate = terminate_later  # type: ignore[method-assign]
    started = time.monotonic()
    stub.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web"), timeout=10)
    assert time.monotonic() - started >= 0.25
    assert driver.servers == {}
    assert rpc_error(lambda: instances(stub)).code() is grpc.StatusCode.NOT_FOUND
    assert rpc_error(lambda: activities(stub)).code() is grpc.StatusCode.NOT_FOUND
    stub.DeleteLaunchConfig(group_pb2.DeleteLaunchConfigRequest(name="launchConfigs/lc"), timeout=5)
    error = rpc_error(lambda: stub.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web"), timeout=5))
    assert error.code() is grpc.StatusCode.NOT_FOUND


def test_deleting_a_group_that_policies_name_is_refused_naming_them_and_keeps_the_group(stub, policies):
    create_group(stub)
    policies.add_policy("web-out", "web")
    policies.add_policy("web-in", "web")
    policies.add_policy("api-out", "api")
    error = rpc_error(lambda: stub.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web"), timeout=5))
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == (
        "groups/web is used by 2 policies (policies/web-in, policies/web-out); "
        "delete them first, or delete the group with force to delete them with it"
    )
    assert stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group.name == "groups/web"
    assert policies.deleted == []


def test_deleting_a_group_with_force_deletes_its_policies_then_the_group(stub, policies):
    create_group(stub)
    policies.add_policy("web-out", "web")
    policies.add_policy("api-out", "api")
    stub.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web", force=True), timeout=10)
    assert policies.deleted == ["policies/web-out"]
    assert sorted(policies.policies) == ["policies/api-out"]
    assert rpc_error(lambda: stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5)).code() is grpc.StatusCode.NOT_FOUND


def test_a_forced_delete_deletes_a_policy_that_another_of_the_groups_policies_resolves_to_after_that_one(stub, policies):
    create_group(stub)
    policies.add_policy("web-in", "web")
    policies.add_policy("web-out", "web")
    policies.resolved_by["policies/web-in"] = "policies/web-out"  # web-out's Alertmanager receiver scales in with web-in
    stub.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web", force=True), timeout=10)
    assert policies.deleted == ["policies/web-out", "policies/web-in"]
    assert rpc_error(lambda: stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5)).code() is grpc.StatusCode.NOT_FOUND


def test_a_forced_delete_keeps_the_group_when_alarms_keep_one_of_its_policies(stub, policies):
    create_group(stub)
    policies.add_policy("web-in", "web")
    policies.add_policy("web-out", "web")
    policies.kept["policies/web-out"] = "policies/web-out is used by 1 alarm (alarms/busy); take it out of their actions first"
    error = rpc_error(lambda: stub.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web", force=True), timeout=5))
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "groups/web is kept" in error.details() and "alarms/busy" in error.details()
    assert stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group.name == "groups/web"


@pytest.mark.parametrize("force", [False, True])
def test_a_group_is_not_deleted_while_the_policy_service_cannot_say_which_policies_name_it(stub, policies, driver, force):
    create_group(stub, desired_capacity=1)
    wait_for(lambda: converged(stub, 1), "one instance")
    policies.failure = grpc.StatusCode.UNAVAILABLE
    error = rpc_error(lambda: stub.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web", force=force), timeout=5))
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    assert "cannot tell whether policies name groups/web, so it is kept" in error.details()
    assert len(driver.running()) == 1
    assert stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group.desired_capacity == 1


def test_a_group_is_not_deleted_by_a_group_service_that_has_no_policy_service_address(sqlite_url, driver):
    build = make_build(lambda settings: {"process": driver, "openstack_server": driver})
    with running_server([("group", build)], Settings(database_url=sqlite_url)) as (_, channel):
        stub = group_pb2_grpc.GroupServiceStub(channel)
        stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=SLEEPER)), timeout=5)
        create_group(stub)
        error = rpc_error(lambda: stub.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web"), timeout=5))
        assert error.code() is grpc.StatusCode.UNAVAILABLE
        assert "--policy-addr" in error.details()
        assert stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group.name == "groups/web"


# Lists and names


def test_instances_are_listed_oldest_first_in_pages(stub):
    create_group(stub, desired_capacity=3)
    every = wait_for(lambda: converged(stub, 3), "three instances")
    assert [i.create_time.ToNanoseconds() for i in every] == sorted(i.create_time.ToNanoseconds() for i in every)
    paged, token = [], ""
    while True:
        page = stub.ListInstances(group_pb2.ListInstancesRequest(parent="groups/web", page_size=2, page_token=token), timeout=5)
        paged.extend(page.instances)
        token = page.next_page_token
        if not token:
            break
    assert paged == every
    assert all(i.name.startswith("groups/web/instances/i-") for i in every)


def test_activities_are_listed_newest_first_in_pages_and_read_by_name(stub):
    create_group(stub)
    names = [adjust(stub, EXACT, n).activity.name for n in (1, 2, 3)]
    first = stub.ListActivities(group_pb2.ListActivitiesRequest(parent="groups/web", page_size=2), timeout=5)
    second = stub.ListActivities(group_pb2.ListActivitiesRequest(parent="groups/web", page_size=2, page_token=first.next_page_token),
                                 timeout=5)
    assert [a.name for a in (*first.activities, *second.activities)] == names[::-1]
    missing = rpc_error(lambda: stub.GetActivity(group_pb2.GetActivityRequest(name="groups/web/activities/a-0"), timeout=5))
    assert missing.code() is grpc.StatusCode.NOT_FOUND
    for bad in ("groups/web/activity/a-1", "groups/web/activities/", "activities/a-1"):
        assert violated_fields(lambda bad=bad: stub.GetActivity(group_pb2.GetActivityRequest(name=bad), timeout=5)) == ["name"]


def test_lists_of_unknown_groups_are_not_found_and_bad_pages_invalid(stub):
    for call in (lambda: instances(stub, "nope"), lambda: activities(stub, "nope")):
        assert rpc_error(call).code() is grpc.StatusCode.NOT_FOUND
    create_group(stub)
    request = group_pb2.ListInstancesRequest(parent="groups/web", page_token="garbage")
    assert violated_fields(lambda: stub.ListInstances(request, timeout=5)) == ["page_token"]
    request = group_pb2.ListActivitiesRequest(parent="groups/web", page_size=-1)
    assert violated_fields(lambda: stub.ListActivities(request, timeout=5)) == ["page_size"]
    assert violated_fields(lambda: stub.ListInstances(group_pb2.ListInstancesRequest(parent="web"), timeout=5)) == ["parent"]


def test_local_instances_log_under_the_state_directory_unless_told_otherwise():
    assert instance_log_dir(Settings(instance_log_dir="/var/log/autoscale")) == Path("/var/log/autoscale")
    assert instance_log_dir(Settings()) == default_state_dir() / "instances"


# Termination policies

NEWEST = group_pb2.TERMINATION_POLICY_NEWEST_INSTANCE
OLD_CONFIG = group_pb2.TERMINATION_POLICY_OLDEST_LAUNCH_CONFIGURATION
DEFAULT_POLICY = group_pb2.TERMINATION_POLICY_DEFAULT


def test_termination_policies_are_kept_in_order_and_changed_through_their_mask(stub):
    created = create_group(stub, termination_policies=[OLD_CONFIG, NEWEST])
    assert list(created.termination_policies) == [OLD_CONFIG, NEWEST]
    assert list(create_group(stub, "plain").termination_policies) == []
    request = group_pb2.UpdateGroupRequest(
        group=group_pb2.Group(name="groups/web", termination_policies=[NEWEST]),
        update_mask=field_mask_pb2.FieldMask(paths=["termination_policies"]),
    )
    assert list(stub.UpdateGroup(request, timeout=5).group.termination_policies) == [NEWEST]
    assert list(stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group.termination_policies) == [NEWEST]


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ([0], "group.termination_policies[0]"),
        ([NEWEST, 9], "group.termination_policies[1]"),
        ([NEWEST, NEWEST], "group.termination_policies"),
        ([DEFAULT_POLICY, NEWEST], "group.termination_policies"),
        ([1, 2, 3, 4, 1], "group.termination_policies"),
    ],
)
def test_bad_termination_policies_are_refused_naming_the_field(stub, given, field):
    assert field in violated_fields(lambda: create_group(stub, termination_policies=given))


# Scale-in protection


def test_instances_are_protected_and_unprotected_and_new_ones_follow_the_groups_setting(stub):
    create_group(stub, desired_capacity=1, new_instances_protected_from_scale_in=True)
    (first,) = wait_for(lambda: instances(stub), "the instance")
    assert first.protected_from_scale_in
    request = group_pb2.SetInstanceProtectionRequest(group="groups/web", instances=[first.name], protected_from_scale_in=False)
    (changed,) = stub.SetInstanceProtection(request, timeout=5).instances
    assert (changed.name, changed.protected_from_scale_in) == (first.name, False)
    assert not instances(stub)[0].protected_from_scale_in
    mask = field_mask_pb2.FieldMask(paths=["new_instances_protected_from_scale_in"])
    updated = stub.UpdateGroup(group_pb2.UpdateGroupRequest(group=group_pb2.Group(name="groups/web"), update_mask=mask), timeout=5)
    assert not updated.group.new_instances_protected_from_scale_in


@pytest.mark.parametrize(
    ("names", "field"),
    [
        ([], "instances"),
        (["groups/web/instances/i-1"] * 51, "instances"),
        (["i-1"], "instances[0]"),
        (["groups/api/instances/i-1"], "instances[0]"),
    ],
)
def test_set_instance_protection_refuses_bad_names_naming_the_field(stub, names, field):
    create_group(stub)
    request = group_pb2.SetInstanceProtectionRequest(group="groups/web", instances=names, protected_from_scale_in=True)
    assert field in violated_fields(lambda: stub.SetInstanceProtection(request, timeout=5))


def test_set_instance_protection_of_an_unknown_instance_changes_nothing_and_is_not_found(stub):
    create_group(stub, desired_capacity=1)
    (known,) = wait_for(lambda: instances(stub), "the instance")
    request = group_pb2.SetInstanceProtectionRequest(
        group="groups/web", instances=[known.name, "groups/web/instances/i-nope"], protected_from_scale_in=True
    )
    error = rpc_error(lambda: stub.SetInstanceProtection(request, timeout=5))
    assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, "groups/web/instances/i-nope not found")
    assert not instances(stub)[0].protected_from_scale_in
    missing_group = group_pb2.SetInstanceProtectionRequest(group="groups/nope", instances=["groups/nope/instances/i-1"])
    assert rpc_error(lambda: stub.SetInstanceProtection(missing_group, timeout=5)).code() is grpc.StatusCode.NOT_FOUND


# Terminating a given instance


def _terminate(stub, name: str, decrement: bool) -> group_pb2.TerminateInstanceResponse:  # type: ignore[no-untyped-def]
    request = group_pb2.TerminateInstanceRequest(name=name, should_decrement_desired_capacity=decrement)
    return stub.TerminateInstance(request, timeout=5)


def test_terminating_an_instance_with_decrement_shrinks_the_group_and_without_replaces_it(stub, driver):
    create_group(stub, desired_capacity=2)
    wait_for(lambda: converged(stub, 2), "two instances")
    first, second = instances(stub)
    answer = _terminate(stub, first.name, decrement=False)
    assert (answer.activity.from_capacity, answer.activity.to_capacity, answer.group.desired_capacity) == (2, 2, 2)
    assert answer.activity.cause == f"TerminateInstance {first.name}, to be replaced"
    wait_for(lambda: converged(stub, 2) and first.name not in {i.name for i in instances(stub)}, "a replacement")
    answer = _terminate(stub, second.name, decrement=True)
    assert (answer.activity.to_capacity, answer.group.desired_capacity) == (1, 1)
    wait_for(lambda: converged(stub, 1) and second.name not in {i.name for i in instances(stub)}, "one instance left")
    assert activities(stub)[0].status == group_pb2.ACTIVITY_STATUS_SUCCEEDED


def test_terminating_refuses_unknown_instances_and_a_decrement_below_min_size(stub):
    create_group(stub, min_size=1, desired_capacity=1)
    (only,) = wait_for(lambda: instances(stub), "the instance")
    missing = rpc_error(lambda: _terminate(stub, "groups/web/instances/i-nope", decrement=False))
    assert (missing.code(), missing.details()) == (grpc.StatusCode.NOT_FOUND, "groups/web/instances/i-nope not found")
    below = rpc_error(lambda: _terminate(stub, only.name, decrement=True))
    assert below.code() is grpc.StatusCode.FAILED_PRECONDITION and "below its min_size (1)" in below.details()
    assert "name" in violated_fields(lambda: _terminate(stub, "groups/web/i-1", decrement=False))
    _terminate(stub, only.name, decrement=False)
    again = rpc_error(lambda: _terminate(stub, only.name, decrement=False))
    assert again.code() is grpc.StatusCode.FAILED_PRECONDITION or again.code() is grpc.StatusCode.NOT_FOUND


# Health checks


def _checked_config(health_check: group_pb2.HealthCheck, kind: str = "process") -> group_pb2.LaunchConfig:
    if kind == "process":
        return group_pb2.LaunchConfig(process=SLEEPER, health_check=health_check)
    return group_pb2.LaunchConfig(openstack_server=group_pb2.OpenStackServerSpec(image="i", flavor="f"), health_check=health_check)


def test_a_health_check_is_stored_with_its_defaults_spelled_out(stub):
    check = group_pb2.HealthCheck(http=group_pb2.HttpHealthCheck())
    stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(launch_config_id="web", launch_config=_checked_config(check)), timeout=5)
    got = stub.GetLaunchConfig(group_pb2.GetLaunchConfigRequest(name="launchConfigs/web"), timeout=5).launch_config.health_check
    assert got == group_pb2.HealthCheck(
        http=group_pb2.HttpHealthCheck(port=0, path="/"), interval=to_duration(10), timeout=to_duration(5), unhealthy_threshold=3
    )


def _duration(seconds: float) -> duration_pb2.Duration:
    return to_duration(seconds)


@pytest.mark.parametrize(
    ("health_check", "kind", "fields"),
    [
        (group_pb2.HealthCheck(), "process", ["launch_config.health_check"]),
        (group_pb2.HealthCheck(command=group_pb2.CommandHealthCheck()), "process", ["launch_config.health_check.command.command"]),
        (group_pb2.HealthCheck(command=group_pb2.CommandHealthCheck(command=["x"] * 65)), "process",
         ["launch_config.health_check.command.command"]),
        (group_pb2.HealthCheck(tcp=group_pb2.TcpHealthCheck(port=70000)), "process", ["launch_config.health_check.tcp.port"]),
        (group_pb2.HealthCheck(tcp=group_pb2.TcpHealthCheck()), "openstack_server", ["launch_config.health_check.tcp.port"]),
        (group_pb2.HealthCheck(http=group_pb2.HttpHealthCheck(path="healthz")), "process", ["launch_config.health_check.http.path"]),
        (group_pb2.HealthCheck(http=group_pb2.HttpHealthCheck(path="/a b\r\nHost: evil")), "process",
         ["launch_config.health_check.http.path"]),
        (group_pb2.HealthCheck(tcp=group_pb2.TcpHealthCheck(), interval=_duration(0.5)), "process",
         ["launch_config.health_check.interval"]),
        (group_pb2.HealthCheck(tcp=group_pb2.TcpHealthCheck(), interval=_duration(301)), "process",
         ["launch_config.health_check.interval"]),
        (group_pb2.HealthCheck(tcp=group_pb2.TcpHealthCheck(), interval=_duration(5), timeout=_duration(6)), "process",
         ["launch_config.health_check.timeout"]),
        (group_pb2.HealthCheck(tcp=group_pb2.TcpHealthCheck(), unhealthy_threshold=11), "process",
         ["launch_config.health_check.unhealthy_threshold"]),
    ],
)
def test_bad_health_checks_are_invalid_arguments_naming_the_field(stub, health_check, kind, fields):
    request = group_pb2.CreateLaunchConfigRequest(launch_config_id="x", launch_config=_checked_config(health_check, kind))
    assert violated_fields(lambda: stub.CreateLaunchConfig(request, timeout=5)) == fields


def test_a_groups_grace_period_is_set_on_create_changed_by_update_and_bounded(stub):
    assert not create_group(stub).HasField("health_check_grace_period")  # unset: 300 s
    update = group_pb2.UpdateGroupRequest(group=group_pb2.Group(name="groups/web", health_check_grace_period=to_duration(30)))
    update.update_mask.paths.append("health_check_grace_period")
    assert stub.UpdateGroup(update, timeout=5).group.health_check_grace_period == to_duration(30)
    assert stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group.health_check_grace_period == to_duration(30)
    update.group.health_check_grace_period.CopyFrom(to_duration(86401))
    assert violated_fields(lambda: stub.UpdateGroup(update, timeout=5)) == ["group.health_check_grace_period"]
    request = group_pb2.CreateGroupRequest(
        group_id="api", group=group_pb2.Group(launch_config="launchConfigs/lc", max_size=1, health_check_grace_period=to_duration(-1))
    )
    assert violated_fields(lambda: stub.CreateGroup(request, timeout=5)) == ["group.health_check_grace_period"]


def test_instance_listings_show_each_instances_health_address_and_when_it_came_into_service(stub, driver):
    create_group(stub, desired_capacity=1)
    instance = wait_for(lambda: [i for i in instances(stub) if i.health_status == group_pb2.HEALTH_STATUS_HEALTHY], "healthy")[0]
    assert instance.health_reason == "running (no health check)"
    assert instance.address == "10.0.0.1:8000" and instance.in_service_time.seconds > 0
