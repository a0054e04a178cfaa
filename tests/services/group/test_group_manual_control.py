"""Manual control of a group through its API (AWS's names): SetDesiredCapacity, SetInstanceHealth, EnterStandby and
ExitStandby, DetachInstances and AttachInstances, lifecycle hooks and instance refreshes, against a group server whose
instances live in an in-memory driver."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2

from autoscale.timeutil import to_duration
from autoscale.v1 import group_pb2
from tests.services.group.fake_compute import FakeComputeDriver
from tests.services.group.fake_policy import FakePolicyService
from tests.services.group.test_group_service import (
    SLEEPER,
    activities,
    converged,
    create_group,
    instances,
    rpc_error,
    serving,
    violated_fields,
    wait_for,
)

STANDBY = group_pb2.INSTANCE_STATE_STANDBY
RUNNING = group_pb2.INSTANCE_STATE_RUNNING


@pytest.fixture
def driver() -> FakeComputeDriver:
    return FakeComputeDriver()


@pytest.fixture
def stub(sqlite_url, driver):
    with serving(sqlite_url, driver, FakePolicyService()) as (_, stub):
        stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=SLEEPER)), timeout=5)
        yield stub


def _group(stub, group_id: str = "web") -> group_pb2.Group:  # type: ignore[no-untyped-def]
    return stub.GetGroup(group_pb2.GetGroupRequest(name=f"groups/{group_id}"), timeout=5).group


# SetDesiredCapacity


def test_set_desired_capacity_changes_the_capacity_within_the_size_range_and_refuses_outside_it(stub):
    create_group(stub, min_size=1, max_size=4)
    wait_for(lambda: converged(stub, 1), "one instance")
    response = stub.SetDesiredCapacity(group_pb2.SetDesiredCapacityRequest(name="groups/web", desired_capacity=3), timeout=5)
    assert response.group.desired_capacity == 3 and response.activity.cause == "SetDesiredCapacity"
    assert (response.activity.from_capacity, response.activity.to_capacity) == (1, 3)
    wait_for(lambda: converged(stub, 3), "three instances")
    error = rpc_error(lambda: stub.SetDesiredCapacity(group_pb2.SetDesiredCapacityRequest(name="groups/web", desired_capacity=5)))
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == "desired_capacity: 5 is outside the size range of groups/web, [min_size, max_size] = [1, 4]"
    assert violated_fields(lambda: stub.SetDesiredCapacity(
        group_pb2.SetDesiredCapacityRequest(name="groups/web", desired_capacity=-1), timeout=5
    )) == ["desired_capacity"]


def test_set_desired_capacity_honouring_the_cooldown_leaves_a_cooling_group_as_it_is_and_says_until_when(stub):
    create_group(stub, max_size=4, cooldown=to_duration(600))
    stub.SetDesiredCapacity(group_pb2.SetDesiredCapacityRequest(name="groups/web", desired_capacity=1, honor_cooldown=True), timeout=5)
    wait_for(lambda: converged(stub, 1), "one instance")
    refused = stub.SetDesiredCapacity(
        group_pb2.SetDesiredCapacityRequest(name="groups/web", desired_capacity=2, honor_cooldown=True), timeout=5
    )
    assert refused.refusal == group_pb2.ADJUST_REFUSAL_COOLDOWN and "in cooldown until" in refused.reason
    assert refused.cooldown_end_time.seconds > 0 and not refused.HasField("activity")
    assert _group(stub).desired_capacity == 1


# SetInstanceHealth


def test_an_instance_set_unhealthy_is_replaced_in_an_activity_naming_the_reason(stub, driver):
    create_group(stub, desired_capacity=1, health_check_grace_period=to_duration(0))
    (first,) = wait_for(lambda: converged(stub, 1), "one instance")
    request = group_pb2.SetInstanceHealthRequest(
        name=first.name, health_status=group_pb2.HEALTH_STATUS_UNHEALTHY, reason="disk full (from Nagios)"
    )
    marked = stub.SetInstanceHealth(request, timeout=5).instance
    assert marked.state == group_pb2.INSTANCE_STATE_FAILED and marked.health_status == group_pb2.HEALTH_STATUS_UNHEALTHY
    replaced = wait_for(lambda: (found := converged(stub, 1)) and found[0].name != first.name and found, "a replacement")
    assert replaced[0].name != first.name
    assert any(a.cause == f"replacing {first.name}: unhealthy: disk full (from Nagios)" for a in activities(stub))
    assert first.server_id not in driver.servers


def test_set_instance_health_may_respect_the_grace_period_and_refuses_bad_input(stub):
    create_group(stub, desired_capacity=1)  # the default grace period: 300 s
    (first,) = wait_for(lambda: converged(stub, 1), "one instance")
    request = group_pb2.SetInstanceHealthRequest(
        name=first.name, health_status=group_pb2.HEALTH_STATUS_UNHEALTHY, should_respect_grace_period=True
    )
    error = rpc_error(lambda: stub.SetInstanceHealth(request, timeout=5))
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION and "grace period" in error.details()
    assert violated_fields(lambda: stub.SetInstanceHealth(group_pb2.SetInstanceHealthRequest(name=first.name), timeout=5)) == [
        "health_status"
    ]
    healthy = stub.SetInstanceHealth(
        group_pb2.SetInstanceHealthRequest(name=first.name, health_status=group_pb2.HEALTH_STATUS_HEALTHY), timeout=5
    ).instance
    assert healthy.state == RUNNING and healthy.health_reason == "set healthy by anonymous"


# Standby


def test_an_instance_in_standby_keeps_running_out_of_the_capacity_and_is_replaced_unless_decremented(stub, driver):
    create_group(stub, desired_capacity=2)
    first, second = wait_for(lambda: converged(stub, 2), "two instances")
    response = stub.EnterStandby(group_pb2.EnterStandbyRequest(group="groups/web", instances=[first.name]), timeout=5)
    assert [(i.name, i.state) for i in response.instances] == [(first.name, STANDBY)]
    assert response.activity.cause == f"EnterStandby {first.name}, to be replaced"
    found = wait_for(lambda: (found := instances(stub)) and len(found) == 3 and found, "a replacement")
    assert [i.state for i in found].count(STANDBY) == 1
    wait_for(lambda: _group(stub).current_capacity == 2 and not _group(stub).scaling_in_progress, "two in service")
    assert first.server_id in driver.servers  # still running

    decremented = stub.EnterStandby(group_pb2.EnterStandbyRequest(
        group="groups/web", instances=[second.name], should_decrement_desired_capacity=True
    ), timeout=5)
    assert decremented.group.desired_capacity == 1
    wait_for(lambda: _group(stub).current_capacity == 1 and not _group(stub).scaling_in_progress, "one in service")
    assert len(instances(stub)) == 3


def test_exit_standby_returns_instances_to_service_raising_the_desired_capacity_within_max_size(stub):
    create_group(stub, desired_capacity=2, max_size=2)
    first, _ = wait_for(lambda: converged(stub, 2), "two instances")
    stub.EnterStandby(group_pb2.EnterStandbyRequest(
        group="groups/web", instances=[first.name], should_decrement_desired_capacity=True
    ), timeout=5)
    back = stub.ExitStandby(group_pb2.ExitStandbyRequest(group="groups/web", instances=[first.name]), timeout=5)
    assert back.group.desired_capacity == 2 and [i.state for i in back.instances] == [RUNNING]
    wait_for(lambda: converged(stub, 2), "two in service again")
    stub.EnterStandby(group_pb2.EnterStandbyRequest(group="groups/web", instances=[first.name]), timeout=5)
    wait_for(lambda: len(instances(stub)) == 3, "a replacement")
    error = rpc_error(lambda: stub.ExitStandby(group_pb2.ExitStandbyRequest(group="groups/web", instances=[first.name]), timeout=5))
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION and "beyond its max_size (2)" in error.details()


def test_standby_refuses_an_instance_not_running_and_a_decrement_below_min_size(stub, driver):
    create_group(stub, min_size=1, desired_capacity=1)
    (first,) = wait_for(lambda: converged(stub, 1), "one instance")
    error = rpc_error(lambda: stub.EnterStandby(group_pb2.EnterStandbyRequest(
        group="groups/web", instances=[first.name], should_decrement_desired_capacity=True
    ), timeout=5))
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION and "below its min_size (1)" in error.details()
    error = rpc_error(lambda: stub.ExitStandby(group_pb2.ExitStandbyRequest(group="groups/web", instances=[first.name]), timeout=5))
    assert (error.code(), error.details()) == (grpc.StatusCode.FAILED_PRECONDITION, f"{first.name} is running, not in standby")
    assert [i.state for i in instances(stub)] == [RUNNING]
    too_many = group_pb2.EnterStandbyRequest(group="groups/web", instances=[first.name] * 21)
    assert violated_fields(lambda: stub.EnterStandby(too_many, timeout=5)) == ["instances"]


def test_a_standby_instance_whose_server_dies_is_dropped_not_replaced(stub, driver):
    create_group(stub, desired_capacity=1)
    (first,) = wait_for(lambda: converged(stub, 1), "one instance")
    stub.EnterStandby(group_pb2.EnterStandbyRequest(
        group="groups/web", instances=[first.name], should_decrement_desired_capacity=True
    ), timeout=5)
    driver.kill(first.server_id)
    wait_for(lambda: instances(stub) == [], "the dead standby instance dropped")
    assert _group(stub).desired_capacity == 0


# Detach and attach


def test_a_detached_instance_keeps_running_outside_the_group_even_after_the_group_is_deleted(stub, driver):
    create_group(stub, desired_capacity=2)
    first, second = wait_for(lambda: converged(stub, 2), "two instances")
    response = stub.DetachInstances(group_pb2.DetachInstancesRequest(
        group="groups/web", instances=[first.name], should_decrement_desired_capacity=True
    ), timeout=5)
    assert [i.server_id for i in response.instances] == [first.server_id] and response.group.desired_capacity == 1
    wait_for(lambda: converged(stub, 1), "one instance left")
    assert [i.name for i in instances(stub)] == [second.name]
    stub.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web"), timeout=10)
    assert first.server_id in driver.servers and second.server_id not in driver.servers


def test_a_detached_server_is_attached_to_another_group_raising_its_capacity_once(stub, driver):
    create_group(stub, desired_capacity=1)
    create_group(stub, "api", max_size=1)
    (first,) = wait_for(lambda: converged(stub, 1), "one instance")
    stub.DetachInstances(group_pb2.DetachInstancesRequest(group="groups/web", instances=[first.name]), timeout=5)
    wait_for(lambda: (found := converged(stub, 1)) and found[0].name != first.name, "a replacement in web")
    attached = stub.AttachInstances(group_pb2.AttachInstancesRequest(group="groups/api", server_ids=[first.server_id]), timeout=5)
    assert attached.group.desired_capacity == 1 and [i.server_id for i in attached.instances] == [first.server_id]
    assert attached.activity.cause == f"AttachInstances {first.server_id}"
    wait_for(lambda: converged(stub, 1, "api"), "api at one instance, the attached one")
    assert instances(stub, "api")[0].server_id == first.server_id
    again = rpc_error(lambda: stub.AttachInstances(
        group_pb2.AttachInstancesRequest(group="groups/web", server_ids=[first.server_id]), timeout=5
    ))
    assert again.code() is grpc.StatusCode.FAILED_PRECONDITION and "in a group already" in again.details()
    full = rpc_error(lambda: stub.AttachInstances(group_pb2.AttachInstancesRequest(group="groups/api", server_ids=["x"]), timeout=5))
    assert full.code() is grpc.StatusCode.NOT_FOUND and "no group of this project detached it" in full.details()


def test_only_a_running_server_is_attached(stub, driver):
    create_group(stub, desired_capacity=1)
    (first,) = wait_for(lambda: converged(stub, 1), "one instance")
    stub.DetachInstances(group_pb2.DetachInstancesRequest(
        group="groups/web", instances=[first.name], should_decrement_desired_capacity=True
    ), timeout=5)
    driver.kill(first.server_id, "exited with status 1")
    error = rpc_error(lambda: stub.AttachInstances(
        group_pb2.AttachInstancesRequest(group="groups/web", server_ids=[first.server_id]), timeout=5
    ))
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == f"server '{first.server_id}' is failed (exited with status 1): only a running server is attached"


# Lifecycle hooks


def _hook(transition: int, **fields) -> group_pb2.LifecycleHook:  # type: ignore[no-untyped-def]
    return group_pb2.LifecycleHook(transition=transition, **fields)


LAUNCHING = group_pb2.LIFECYCLE_TRANSITION_INSTANCE_LAUNCHING


def test_lifecycle_hooks_are_created_with_their_defaults_listed_and_deleted(stub):
    create_group(stub)
    created = stub.CreateLifecycleHook(group_pb2.CreateLifecycleHookRequest(
        parent="groups/web", lifecycle_hook_id="warm-up", lifecycle_hook=_hook(LAUNCHING, notification_metadata="queue=jobs")
    ), timeout=5).lifecycle_hook
    assert created.name == "groups/web/lifecycleHooks/warm-up"
    assert (created.heartbeat_timeout, created.default_result) == (to_duration(3600), group_pb2.LIFECYCLE_ACTION_RESULT_ABANDON)
    listed = stub.ListLifecycleHooks(group_pb2.ListLifecycleHooksRequest(parent="groups/web"), timeout=5).lifecycle_hooks
    assert [h.name for h in listed] == ["groups/web/lifecycleHooks/warm-up"]
    again = rpc_error(lambda: stub.CreateLifecycleHook(group_pb2.CreateLifecycleHookRequest(
        parent="groups/web", lifecycle_hook_id="warm-up", lifecycle_hook=_hook(LAUNCHING)), timeout=5))
    assert again.code() is grpc.StatusCode.ALREADY_EXISTS
    stub.DeleteLifecycleHook(group_pb2.DeleteLifecycleHookRequest(name="groups/web/lifecycleHooks/warm-up"), timeout=5)
    assert not stub.ListLifecycleHooks(group_pb2.ListLifecycleHooksRequest(parent="groups/web"), timeout=5).lifecycle_hooks
    gone = rpc_error(lambda: stub.DeleteLifecycleHook(
        group_pb2.DeleteLifecycleHookRequest(name="groups/web/lifecycleHooks/warm-up"), timeout=5))
    assert gone.code() is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("hook", "fields"),
    [
        (group_pb2.LifecycleHook(), ["lifecycle_hook.transition"]),
        (_hook(LAUNCHING, heartbeat_timeout=to_duration(10)), ["lifecycle_hook.heartbeat_timeout"]),
        (_hook(LAUNCHING, heartbeat_timeout=to_duration(7201)), ["lifecycle_hook.heartbeat_timeout"]),
        (_hook(LAUNCHING, default_result=7), ["lifecycle_hook.default_result"]),
        (_hook(LAUNCHING, notification_metadata="x" * 1024), ["lifecycle_hook.notification_metadata"]),
    ],
)
def test_bad_lifecycle_hooks_are_invalid_arguments_naming_the_field(stub, hook, fields):
    create_group(stub)
    request = group_pb2.CreateLifecycleHookRequest(parent="groups/web", lifecycle_hook_id="h", lifecycle_hook=hook)
    assert violated_fields(lambda: stub.CreateLifecycleHook(request, timeout=5)) == fields


def test_an_instance_waits_for_its_launch_hook_until_completed_and_a_heartbeat_extends_the_wait(stub):
    create_group(stub)
    stub.CreateLifecycleHook(group_pb2.CreateLifecycleHookRequest(
        parent="groups/web", lifecycle_hook_id="warm-up", lifecycle_hook=_hook(LAUNCHING, heartbeat_timeout=to_duration(60))
    ), timeout=5)
    stub.SetDesiredCapacity(group_pb2.SetDesiredCapacityRequest(name="groups/web", desired_capacity=1), timeout=5)
    (waiting,) = wait_for(
        lambda: [i for i in instances(stub) if i.state == group_pb2.INSTANCE_STATE_PENDING_WAIT], "an instance in PENDING_WAIT"
    )
    hook = "groups/web/lifecycleHooks/warm-up"
    beat = stub.RecordLifecycleActionHeartbeat(
        group_pb2.RecordLifecycleActionHeartbeatRequest(lifecycle_hook=hook, instance=waiting.name), timeout=5
    )
    assert beat.timeout_time.seconds > 0
    unknown = rpc_error(lambda: stub.CompleteLifecycleAction(group_pb2.CompleteLifecycleActionRequest(
        lifecycle_hook="groups/web/lifecycleHooks/other", instance=waiting.name, result=group_pb2.LIFECYCLE_ACTION_RESULT_CONTINUE
    ), timeout=5))
    assert unknown.code() is grpc.StatusCode.NOT_FOUND and "is not waiting for groups/web/lifecycleHooks/other" in unknown.details()
    assert violated_fields(lambda: stub.CompleteLifecycleAction(
        group_pb2.CompleteLifecycleActionRequest(lifecycle_hook=hook, instance=waiting.name), timeout=5
    )) == ["result"]
    stub.CompleteLifecycleAction(group_pb2.CompleteLifecycleActionRequest(
        lifecycle_hook=hook, instance=waiting.name, result=group_pb2.LIFECYCLE_ACTION_RESULT_CONTINUE
    ), timeout=5)
    (running,) = wait_for(lambda: converged(stub, 1), "the instance in service")
    assert running.name == waiting.name
    answered = rpc_error(lambda: stub.CompleteLifecycleAction(group_pb2.CompleteLifecycleActionRequest(
        lifecycle_hook=hook, instance=waiting.name, result=group_pb2.LIFECYCLE_ACTION_RESULT_CONTINUE
    ), timeout=5))
    assert answered.code() is grpc.StatusCode.NOT_FOUND


# Instance refresh


def _refresh(stub, rpc: str) -> group_pb2.InstanceRefresh:  # type: ignore[no-untyped-def]
    request = getattr(group_pb2, f"{rpc}Request")(group="groups/web")
    return getattr(stub, rpc)(request, timeout=5).instance_refresh


def test_an_instance_refresh_replaces_the_groups_instances_with_its_new_launch_config(stub):
    stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
        launch_config_id="v2", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=["sleep", "601"]))
    ), timeout=5)
    create_group(stub, desired_capacity=2, health_check_grace_period=to_duration(0))
    old = {i.name for i in wait_for(lambda: converged(stub, 2), "two instances")}
    started = stub.StartInstanceRefresh(group_pb2.StartInstanceRefreshRequest(
        group="groups/web", launch_config="launchConfigs/v2",
        preferences=group_pb2.RefreshPreferences(min_healthy_percentage=50, instance_warmup=to_duration(0)),
    ), timeout=5).instance_refresh
    assert started.status == group_pb2.INSTANCE_REFRESH_STATUS_IN_PROGRESS and started.instances_to_update == 2
    assert (started.launch_config, started.rollback_launch_config) == ("launchConfigs/v2", "launchConfigs/lc")
    assert _group(stub).launch_config == "launchConfigs/v2"
    again = rpc_error(lambda: stub.StartInstanceRefresh(group_pb2.StartInstanceRefreshRequest(group="groups/web"), timeout=5))
    assert again.code() is grpc.StatusCode.FAILED_PRECONDITION and "cancel it, or wait until it ends" in again.details()
    done = wait_for(lambda: (r := stub.GetInstanceRefresh(group_pb2.GetInstanceRefreshRequest(name=started.name), timeout=5)
                             .instance_refresh).status == group_pb2.INSTANCE_REFRESH_STATUS_SUCCESSFUL and r, "the refresh to succeed")
    assert done.percentage_complete == 100 and done.HasField("end_time")
    assert not old & {i.name for i in instances(stub)}
    listed = stub.ListInstanceRefreshes(group_pb2.ListInstanceRefreshesRequest(parent="groups/web"), timeout=5).instance_refreshes
    assert [r.name for r in listed] == [started.name]


def test_a_refresh_is_paused_resumed_and_cancelled_and_bad_preferences_are_refused(stub):
    create_group(stub, desired_capacity=1)
    wait_for(lambda: converged(stub, 1), "one instance")
    assert violated_fields(lambda: stub.StartInstanceRefresh(group_pb2.StartInstanceRefreshRequest(
        group="groups/web", preferences=group_pb2.RefreshPreferences(min_healthy_percentage=101, instance_warmup=to_duration(-1)),
    ), timeout=5)) == ["preferences.min_healthy_percentage", "preferences.instance_warmup"]
    missing = rpc_error(lambda: stub.StartInstanceRefresh(
        group_pb2.StartInstanceRefreshRequest(group="groups/web", launch_config="launchConfigs/nope"), timeout=5))
    assert missing.code() is grpc.StatusCode.NOT_FOUND
    no_refresh = rpc_error(lambda: _refresh(stub, "PauseInstanceRefresh"))
    assert no_refresh.code() is grpc.StatusCode.FAILED_PRECONDITION and "no instance refresh in progress" in no_refresh.details()
    # The group's instances run its launch config already and it waits for the 300 s grace period: the refresh stays active.
    stub.SetDesiredCapacity(group_pb2.SetDesiredCapacityRequest(name="groups/web", desired_capacity=2), timeout=5)
    stub.StartInstanceRefresh(group_pb2.StartInstanceRefreshRequest(group="groups/web"), timeout=5)
    assert _refresh(stub, "PauseInstanceRefresh").status == group_pb2.INSTANCE_REFRESH_STATUS_PAUSED
    assert _refresh(stub, "ResumeInstanceRefresh").status == group_pb2.INSTANCE_REFRESH_STATUS_IN_PROGRESS
    rollback = rpc_error(lambda: _refresh(stub, "RollbackInstanceRefresh"))
    assert rollback.code() is grpc.StatusCode.FAILED_PRECONDITION and "nothing to roll back to" in rollback.details()
    cancelled = _refresh(stub, "CancelInstanceRefresh")
    assert cancelled.status == group_pb2.INSTANCE_REFRESH_STATUS_CANCELLED and cancelled.HasField("end_time")


def test_a_groups_launch_config_cannot_change_under_a_refresh_nor_can_a_launch_config_its_instances_run_be_deleted(stub):
    stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
        launch_config_id="v2", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=["sleep", "601"]))
    ), timeout=5)
    create_group(stub, desired_capacity=1)
    wait_for(lambda: converged(stub, 1), "one instance")
    stub.UpdateGroup(group_pb2.UpdateGroupRequest(
        group=group_pb2.Group(name="groups/web", launch_config="launchConfigs/v2"),
        update_mask=field_mask_pb2.FieldMask(paths=["launch_config"]),
    ), timeout=5)
    in_use = rpc_error(lambda: stub.DeleteLaunchConfig(group_pb2.DeleteLaunchConfigRequest(name="launchConfigs/lc"), timeout=5))
    assert in_use.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert in_use.details().startswith("launchConfigs/lc is used by 1 group's instances (groups/web)")
    stub.StartInstanceRefresh(group_pb2.StartInstanceRefreshRequest(group="groups/web"), timeout=5)  # waits for the grace period
    moved = rpc_error(lambda: stub.UpdateGroup(group_pb2.UpdateGroupRequest(
        group=group_pb2.Group(name="groups/web", launch_config="launchConfigs/lc"),
        update_mask=field_mask_pb2.FieldMask(paths=["launch_config"]),
    ), timeout=5))
    assert moved.code() is grpc.StatusCode.FAILED_PRECONDITION and "cancel it first" in moved.details()


def test_terminating_a_standby_instance_never_decrements_the_desired_capacity(stub):
    create_group(stub, desired_capacity=2)
    first, _ = wait_for(lambda: converged(stub, 2), "two instances")
    stub.EnterStandby(group_pb2.EnterStandbyRequest(
        group="groups/web", instances=[first.name], should_decrement_desired_capacity=True
    ), timeout=5)
    refused = rpc_error(lambda: stub.TerminateInstance(group_pb2.TerminateInstanceRequest(
        name=first.name, should_decrement_desired_capacity=True
    ), timeout=5))
    assert refused.code() is grpc.StatusCode.FAILED_PRECONDITION and "is in standby, outside the desired capacity" in refused.details()
