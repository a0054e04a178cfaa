"""GroupService's scheduled actions over a real in-process server whose clock the test moves: the standard methods,
every rule of a request naming its field, other projects' groups, and a run through the server's own runner."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2

from autoscale.timeutil import from_timestamp, to_timestamp
from autoscale.v1 import group_pb2
from services.group.schedule import MAX_ACTIONS_PER_GROUP
from tests.services.group.fake_compute import FakeComputeDriver
from tests.services.group.test_group_projects import P1, P2, in_project
from tests.services.group.test_group_service import (
    SLEEPER,
    activities,
    create_group,
    rpc_error,
    serving,
    serving_channel,
    violated_fields,
    wait_for,
)
from tests.support import FakeClock

NOW = 1_796_083_200.0
"""2026-12-01T00:00:00Z, a Tuesday."""
HOUR = 3600.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def stub(sqlite_url: str, driver: FakeComputeDriver, clock: FakeClock) -> Iterator[Any]:
    with serving(sqlite_url, driver, clock=clock) as (_, stub):
        stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=SLEEPER)), timeout=5)
        create_group(stub, min_size=1, max_size=10, desired_capacity=2)
        yield stub


@pytest.fixture
def driver() -> FakeComputeDriver:
    return FakeComputeDriver()


def create(stub: Any, action_id: str = "nightly", parent: str = "groups/web", **fields: Any) -> group_pb2.ScheduledAction:
    request = group_pb2.CreateScheduledActionRequest(
        parent=parent, scheduled_action_id=action_id, scheduled_action=group_pb2.ScheduledAction(**fields)
    )
    return stub.CreateScheduledAction(request, timeout=5).scheduled_action


def get(stub: Any, action_id: str = "nightly") -> group_pb2.ScheduledAction:
    request = group_pb2.GetScheduledActionRequest(name=f"groups/web/scheduledActions/{action_id}")
    return stub.GetScheduledAction(request, timeout=5).scheduled_action


def group(stub: Any) -> group_pb2.Group:
    return stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group


def test_a_recurring_action_is_created_with_its_next_run_in_its_time_zone_and_read_back(stub: Any) -> None:
    created = create(stub, recurrence="0 9 * * 1-5", time_zone="Europe/Berlin", min_size=2, desired_capacity=4)
    assert created.name == "groups/web/scheduledActions/nightly"
    assert from_timestamp(created.next_run_time) == NOW + 8 * HOUR  # 09:00 CET is 08:00Z
    assert created.HasField("min_size") and not created.HasField("max_size")
    assert created.last_run_status == group_pb2.SCHEDULED_ACTION_RUN_STATUS_UNSPECIFIED
    assert get(stub) == created
    listed = stub.ListScheduledActions(group_pb2.ListScheduledActionsRequest(parent="groups/web"), timeout=5)
    assert list(listed.scheduled_actions) == [created]


def test_a_size_of_zero_is_set_not_unset(stub: Any) -> None:
    created = create(stub, start_time=to_timestamp(NOW + HOUR), min_size=0, max_size=0, desired_capacity=0)
    assert created.HasField("desired_capacity") and created.desired_capacity == 0


def test_the_list_pages_by_id(stub: Any) -> None:
    for action_id in ("c", "a", "b"):
        create(stub, action_id, start_time=to_timestamp(NOW + HOUR), desired_capacity=3)
    first = stub.ListScheduledActions(group_pb2.ListScheduledActionsRequest(parent="groups/web", page_size=2), timeout=5)
    rest = stub.ListScheduledActions(
        group_pb2.ListScheduledActionsRequest(parent="groups/web", page_size=2, page_token=first.next_page_token), timeout=5
    )
    names = [a.name.rsplit("/", 1)[1] for a in [*first.scheduled_actions, *rest.scheduled_actions]]
    assert names == ["a", "b", "c"] and not rest.next_page_token


@pytest.mark.parametrize(
    ("fields", "violated"),
    [
        ({}, ["scheduled_action.start_time", "scheduled_action"]),
        ({"start_time": to_timestamp(NOW + HOUR)}, ["scheduled_action"]),
        ({"start_time": to_timestamp(NOW - 1), "desired_capacity": 3}, ["scheduled_action.start_time"]),
        ({"start_time": timestamp_pb2.Timestamp(seconds=-5), "desired_capacity": 3}, ["scheduled_action.start_time"]),
        ({"recurrence": "0 9 * *", "desired_capacity": 3}, ["scheduled_action.recurrence"]),
        ({"recurrence": "0 25 * * *", "desired_capacity": 3}, ["scheduled_action.recurrence"]),
        ({"recurrence": "0 9 * * *" + " " * 300, "desired_capacity": 3}, ["scheduled_action.recurrence"]),
        ({"recurrence": "0 9 * * *", "time_zone": "Mars/Olympus", "desired_capacity": 3}, ["scheduled_action.time_zone"]),
        ({"recurrence": "0 9 * * *", "time_zone": "../../etc/passwd", "desired_capacity": 3}, ["scheduled_action.time_zone"]),
        ({"recurrence": "0 9 * * *", "time_zone": "Europe", "desired_capacity": 3}, ["scheduled_action.time_zone"]),
        # The host's own zone is no IANA zone: the action would move with the host's setting.
        ({"recurrence": "0 9 * * *", "time_zone": "localtime", "desired_capacity": 3}, ["scheduled_action.time_zone"]),
        # Unix cron, as AWS's Recurrence: no Quartz extensions, no backwards range.
        ({"recurrence": "0 0 L * *", "desired_capacity": 3}, ["scheduled_action.recurrence"]),
        ({"recurrence": "0 0 * * 1#2", "desired_capacity": 3}, ["scheduled_action.recurrence"]),
        ({"recurrence": "5-1 * * * *", "desired_capacity": 3}, ["scheduled_action.recurrence"]),
        ({"recurrence": "0 9 * * *", "time_zone": "Europe/" * 20, "desired_capacity": 3}, ["scheduled_action.time_zone"]),
        ({"start_time": to_timestamp(NOW + HOUR), "time_zone": "Europe/Berlin", "desired_capacity": 3}, ["scheduled_action.time_zone"]),
        ({"start_time": to_timestamp(NOW + HOUR), "end_time": to_timestamp(NOW + 2 * HOUR), "desired_capacity": 3},
         ["scheduled_action.end_time"]),
        ({"recurrence": "0 9 * * *", "start_time": to_timestamp(NOW + 2 * HOUR), "end_time": to_timestamp(NOW + HOUR),
          "desired_capacity": 3}, ["scheduled_action.end_time"]),
        ({"recurrence": "0 9 * * *", "end_time": to_timestamp(NOW + HOUR), "desired_capacity": 3}, ["scheduled_action.end_time"]),
        ({"recurrence": "0 9 * * *", "min_size": 5, "max_size": 3}, ["scheduled_action.max_size"]),
        ({"recurrence": "0 9 * * *", "min_size": 2, "max_size": 4, "desired_capacity": 5}, ["scheduled_action.desired_capacity"]),
        ({"recurrence": "0 9 * * *", "min_size": 2, "desired_capacity": 1}, ["scheduled_action.desired_capacity"]),
        ({"recurrence": "0 9 * * *", "min_size": -1}, ["scheduled_action.min_size"]),
        ({"recurrence": "0 9 * * *", "max_size": 10_001}, ["scheduled_action.max_size"]),
    ],
)
def test_a_bad_action_is_refused_naming_each_field_and_rule(stub: Any, fields: dict[str, Any], violated: list[str]) -> None:
    assert violated_fields(lambda: create(stub, **fields)) == violated


def test_a_bad_id_or_parent_is_refused_naming_the_field(stub: Any) -> None:
    fields = {"start_time": to_timestamp(NOW + HOUR), "desired_capacity": 3}
    assert violated_fields(lambda: create(stub, "Nightly!", **fields)) == ["scheduled_action_id"]
    assert violated_fields(lambda: create(stub, parent="web", **fields)) == ["parent"]


def test_a_duplicate_is_already_exists_and_a_missing_group_or_action_not_found(stub: Any) -> None:
    fields = {"start_time": to_timestamp(NOW + HOUR), "desired_capacity": 3}
    create(stub, **fields)
    assert rpc_error(lambda: create(stub, **fields)).code() is grpc.StatusCode.ALREADY_EXISTS
    assert rpc_error(lambda: create(stub, parent="groups/db", **fields)).code() is grpc.StatusCode.NOT_FOUND
    assert rpc_error(lambda: get(stub, "weekly")).code() is grpc.StatusCode.NOT_FOUND


def test_a_group_holds_at_most_125_actions(stub: Any) -> None:
    for index in range(MAX_ACTIONS_PER_GROUP):
        create(stub, f"a{index}", start_time=to_timestamp(NOW + HOUR), desired_capacity=3)
    error = rpc_error(lambda: create(stub, "one-more", start_time=to_timestamp(NOW + HOUR), desired_capacity=3))
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED and "125 scheduled actions" in error.details()


def test_an_update_changes_the_fields_its_mask_names_and_computes_the_next_run_again(stub: Any) -> None:
    create(stub, recurrence="0 9 * * *", desired_capacity=4)
    changed = group_pb2.ScheduledAction(name="groups/web/scheduledActions/nightly", recurrence="0 18 * * *", min_size=3)
    updated = stub.UpdateScheduledAction(
        group_pb2.UpdateScheduledActionRequest(scheduled_action=changed, update_mask=field_mask_pb2.FieldMask(paths=["recurrence"])),
        timeout=5,
    ).scheduled_action
    assert updated.recurrence == "0 18 * * *" and not updated.HasField("min_size") and updated.desired_capacity == 4
    assert from_timestamp(updated.next_run_time) == NOW + 18 * HOUR
    cleared = group_pb2.UpdateScheduledActionRequest(
        scheduled_action=changed, update_mask=field_mask_pb2.FieldMask(paths=["min_size", "desired_capacity"])
    )
    after = stub.UpdateScheduledAction(cleared, timeout=5).scheduled_action
    assert after.min_size == 3 and not after.HasField("desired_capacity")


def test_an_update_that_breaks_a_rule_is_refused_naming_the_field_and_changes_nothing(stub: Any) -> None:
    created = create(stub, recurrence="0 9 * * *", min_size=2, desired_capacity=4)
    changed = group_pb2.ScheduledAction(name=created.name, desired_capacity=1, time_zone="Nowhere/Atlantis")
    assert violated_fields(lambda: stub.UpdateScheduledAction(group_pb2.UpdateScheduledActionRequest(
        scheduled_action=changed, update_mask=field_mask_pb2.FieldMask(paths=["desired_capacity", "time_zone"])), timeout=5),
    ) == ["scheduled_action.time_zone", "scheduled_action.desired_capacity"]
    assert violated_fields(lambda: stub.UpdateScheduledAction(group_pb2.UpdateScheduledActionRequest(
        scheduled_action=changed, update_mask=field_mask_pb2.FieldMask(paths=["next_run_time", "colour"])), timeout=5),
    ) == ["update_mask"]
    assert get(stub) == created


def test_a_deleted_action_is_gone_and_so_are_a_deleted_groups(stub: Any) -> None:
    create(stub, start_time=to_timestamp(NOW + HOUR), desired_capacity=3)
    stub.DeleteScheduledAction(group_pb2.DeleteScheduledActionRequest(name="groups/web/scheduledActions/nightly"), timeout=5)
    assert rpc_error(lambda: get(stub)).code() is grpc.StatusCode.NOT_FOUND
    create(stub, start_time=to_timestamp(NOW + HOUR), desired_capacity=3)
    stub.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web"), timeout=5)
    wait_for(lambda: rpc_error(lambda: group(stub)).code() is grpc.StatusCode.NOT_FOUND, "the group deleted")
    create_group(stub, min_size=1, max_size=10, desired_capacity=2)
    assert rpc_error(lambda: get(stub)).code() is grpc.StatusCode.NOT_FOUND


def test_the_servers_runner_runs_a_one_time_action_at_its_time(stub: Any, clock: FakeClock) -> None:
    create(stub, start_time=to_timestamp(NOW + HOUR), min_size=3, max_size=6)
    clock.advance(HOUR)
    ran = wait_for(lambda: (action := get(stub)).last_run_status and action, "the action's run")
    assert ran.last_run_status == group_pb2.SCHEDULED_ACTION_RUN_STATUS_SUCCEEDED and not ran.HasField("next_run_time")
    after = group(stub)
    assert (after.min_size, after.max_size, after.desired_capacity) == (3, 6, 3)
    assert activities(stub)[0].cause == "scheduled action nightly"


def test_another_projects_group_and_actions_are_not_found(sqlite_url: str, driver: FakeComputeDriver, clock: FakeClock) -> None:
    with serving_channel(sqlite_url, driver, clock=clock) as (_, channel):
        mine, theirs = in_project(channel, P1), in_project(channel, P2)
        mine.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=SLEEPER)), timeout=5)
        create_group(mine, max_size=10)
        create(mine, start_time=to_timestamp(NOW + HOUR), desired_capacity=3)
        fields = {"start_time": to_timestamp(NOW + HOUR), "desired_capacity": 3}
        assert rpc_error(lambda: create(theirs, **fields)).code() is grpc.StatusCode.NOT_FOUND
        assert rpc_error(lambda: get(theirs)).code() is grpc.StatusCode.NOT_FOUND
        request = group_pb2.ListScheduledActionsRequest(parent="groups/web")
        assert rpc_error(lambda: theirs.ListScheduledActions(request, timeout=5)).code() is grpc.StatusCode.NOT_FOUND
        delete = group_pb2.DeleteScheduledActionRequest(name="groups/web/scheduledActions/nightly")
        assert rpc_error(lambda: theirs.DeleteScheduledAction(delete, timeout=5)).code() is grpc.StatusCode.NOT_FOUND
        assert get(mine).name == "groups/web/scheduledActions/nightly"
