"""ListScalingDecisions over a real in-process server: every Adjust and SetDesiredCapacity recorded, refusals included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from autoscale.timeutil import to_duration
from autoscale.v1 import alarm_pb2, common_pb2, group_pb2
from tests.services.group.fake_compute import FakeComputeDriver
from tests.services.group.test_group_projects import create_launch_config, in_project
from tests.services.group.test_group_service import (
    SLEEPER,
    adjust,
    converged,
    create_group,
    rpc_error,
    serving,
    serving_channel,
    violated_fields,
    wait_for,
)
from tests.support import FakeClock

CHANGE = common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY
PERCENT = common_pb2.ADJUSTMENT_TYPE_PERCENT_CHANGE_IN_CAPACITY
TRIGGER = group_pb2.ScalingTrigger(
    policy="policies/web-out", alarm="alarms/web-busy", alarm_state=alarm_pb2.ALARM_STATE_ALARM,
    alarm_reason="cpu_util 95 > 80", datapoints=[91.0, 95.0], threshold=80.0,
    comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stub(sqlite_url: str, driver: FakeComputeDriver, clock: FakeClock) -> Iterator[Any]:
    with serving(sqlite_url, driver, clock=clock) as (_, stub):
        stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=SLEEPER)), timeout=5)
        yield stub


@pytest.fixture
def driver() -> FakeComputeDriver:
    return FakeComputeDriver()


def decisions(stub: Any, group_id: str = "web", **fields: Any) -> group_pb2.ListScalingDecisionsResponse:
    request = group_pb2.ListScalingDecisionsRequest(parent=f"groups/{group_id}", **fields)
    response: group_pb2.ListScalingDecisionsResponse = stub.ListScalingDecisions(request, timeout=5)
    return response


def test_an_alarms_adjustment_and_the_cooldown_refusal_after_it_are_recorded_newest_first(stub: Any, clock: FakeClock) -> None:
    create_group(stub, min_size=1, max_size=5, desired_capacity=4, cooldown=to_duration(60))
    wait_for(lambda: converged(stub, 4), "four instances")
    clock.advance(1)
    adjusted = adjust(stub, PERCENT, 30, honor_cooldown=True, alarm_notification=True, trigger=TRIGGER, cause="alarm")
    assert adjusted.adjusted and adjusted.desired_capacity == 5
    wait_for(lambda: converged(stub, 5), "five instances")
    clock.advance(10)
    refused = adjust(stub, PERCENT, 30, honor_cooldown=True, alarm_notification=True, trigger=TRIGGER, cause="alarm")
    assert refused.refusal == group_pb2.ADJUST_REFUSAL_COOLDOWN

    last, first = decisions(stub).scaling_decisions
    assert first.source == group_pb2.SCALING_DECISION_SOURCE_ALARM and first.trigger == TRIGGER
    assert (first.adjustment_type, first.adjustment, first.cause, first.caller) == (PERCENT, 30, "alarm", "anonymous")
    assert first.calculation == group_pb2.CapacityCalculation(
        base_capacity=4, raw_capacity=5.2, rounded_capacity=5, clamped_capacity=5, min_size=1, max_size=5
    )
    assert (first.previous_capacity, first.desired_capacity) == (4, 5)
    assert first.outcome == group_pb2.SCALING_DECISION_OUTCOME_ADJUSTED and first.reason == "desired capacity 4 → 5"
    assert first.activity == adjusted.activity.name and first.name.startswith("groups/web/scalingDecisions/")

    assert last.outcome == group_pb2.SCALING_DECISION_OUTCOME_REFUSED and last.refusal == group_pb2.ADJUST_REFUSAL_COOLDOWN
    assert last.reason == refused.reason and last.cooldown_end_time == refused.cooldown_end_time
    assert not last.HasField("calculation") and last.activity == "" and last.trigger == TRIGGER
    assert last.decide_time.seconds == int(clock.now) and (last.previous_capacity, last.desired_capacity) == (5, 5)


def test_an_adjustment_at_max_size_is_recorded_unchanged_with_its_clamp(stub: Any, clock: FakeClock) -> None:
    create_group(stub, min_size=0, max_size=2, desired_capacity=2)
    answer = adjust(stub, CHANGE, 3)
    assert not answer.adjusted
    (decision,) = decisions(stub).scaling_decisions
    assert decision.source == group_pb2.SCALING_DECISION_SOURCE_ADJUST and not decision.HasField("trigger")
    assert decision.outcome == group_pb2.SCALING_DECISION_OUTCOME_UNCHANGED
    assert (decision.calculation.rounded_capacity, decision.calculation.clamped_capacity) == (5, 2)
    assert decision.reason == "capacity stays at 2 (already at max_size 2)"


def test_set_desired_capacity_and_a_suspended_policy_are_recorded_as_theirs(stub: Any, clock: FakeClock) -> None:
    create_group(stub, min_size=0, max_size=5)
    stub.SetDesiredCapacity(group_pb2.SetDesiredCapacityRequest(name="groups/web", desired_capacity=2), timeout=5)
    stub.SuspendProcesses(group_pb2.SuspendProcessesRequest(
        group="groups/web", processes=[group_pb2.SCALING_PROCESS_ALARM_NOTIFICATION]), timeout=5)
    clock.advance(1)
    receiver_trigger = group_pb2.ScalingTrigger(policy="policies/web-out")
    assert adjust(stub, CHANGE, 1, alarm_notification=True, trigger=receiver_trigger).refusal == group_pb2.ADJUST_REFUSAL_SUSPENDED

    suspended, set_desired = decisions(stub).scaling_decisions
    assert set_desired.source == group_pb2.SCALING_DECISION_SOURCE_SET_DESIRED_CAPACITY
    assert (set_desired.requested_capacity, set_desired.desired_capacity) == (2, 2)
    assert set_desired.adjustment_type == common_pb2.ADJUSTMENT_TYPE_UNSPECIFIED and not set_desired.HasField("calculation")
    assert suspended.source == group_pb2.SCALING_DECISION_SOURCE_POLICY and suspended.trigger == receiver_trigger
    assert suspended.refusal == group_pb2.ADJUST_REFUSAL_SUSPENDED and "suspended" in suspended.reason


def test_decisions_come_a_page_at_a_time(stub: Any, clock: FakeClock) -> None:
    create_group(stub, min_size=0, max_size=5)
    for desired in (1, 2, 3):
        clock.advance(1)
        adjust(stub, common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY, desired)
    first = decisions(stub, page_size=2)
    assert [d.desired_capacity for d in first.scaling_decisions] == [3, 2] and first.next_page_token
    second = decisions(stub, page_size=2, page_token=first.next_page_token)
    assert [d.desired_capacity for d in second.scaling_decisions] == [1] and not second.next_page_token


def test_a_bad_trigger_is_refused_naming_each_field_and_nothing_is_decided(stub: Any) -> None:
    create_group(stub, min_size=0, max_size=5)
    bad = group_pb2.ScalingTrigger(
        policy="web-out", alarm="alarms/Web", datapoints=[float("nan")], threshold=float("inf"), alarm_reason="x" * 4097,
    )
    assert violated_fields(lambda: adjust(stub, CHANGE, 1, trigger=bad)) == [
        "trigger.policy", "trigger.alarm", "trigger.alarm_state", "trigger.alarm_reason", "trigger.datapoints[0]", "trigger.threshold",
    ]
    no_alarm = group_pb2.ScalingTrigger(policy="policies/web-out", alarm_state=alarm_pb2.ALARM_STATE_ALARM)
    assert violated_fields(lambda: adjust(stub, CHANGE, 1, trigger=no_alarm)) == ["trigger.alarm_state"]
    assert not decisions(stub).scaling_decisions


def test_another_projects_decisions_are_not_found(sqlite_url: str, driver: FakeComputeDriver) -> None:
    with serving_channel(sqlite_url, driver) as (_, channel):
        mine, theirs = in_project(channel, "p1"), in_project(channel, "p2")
        create_launch_config(mine, "lc", "sleep", "600")
        create_group(mine, min_size=0, max_size=3)
        mine.Adjust(group_pb2.AdjustRequest(name="groups/web", adjustment_type=CHANGE, adjustment=1), timeout=5)
        assert len(decisions(mine).scaling_decisions) == 1
        error = rpc_error(lambda: decisions(theirs))
        assert error.code() is grpc.StatusCode.NOT_FOUND and error.details() == "groups/web not found"


def test_an_update_naming_a_size_is_a_decision_and_one_of_tags_alone_is_none(stub: Any, clock: FakeClock) -> None:
    create_group(stub, min_size=0, max_size=5, desired_capacity=4)
    mask = field_mask_pb2.FieldMask(paths=["max_size"])
    stub.UpdateGroup(group_pb2.UpdateGroupRequest(group=group_pb2.Group(name="groups/web", max_size=3), update_mask=mask), timeout=5)
    clock.advance(1)
    tags = field_mask_pb2.FieldMask(paths=["tags"])
    stub.UpdateGroup(group_pb2.UpdateGroupRequest(group=group_pb2.Group(name="groups/web", tags={"a": "b"}), update_mask=tags), timeout=5)
    clock.advance(1)
    desired = field_mask_pb2.FieldMask(paths=["desired_capacity"])
    stub.UpdateGroup(
        group_pb2.UpdateGroupRequest(group=group_pb2.Group(name="groups/web", desired_capacity=3), update_mask=desired), timeout=5
    )

    same, lowered = decisions(stub).scaling_decisions
    assert lowered.source == group_pb2.SCALING_DECISION_SOURCE_UPDATE_GROUP and not lowered.HasField("requested_capacity")
    assert lowered.calculation == group_pb2.CapacityCalculation(
        base_capacity=4, raw_capacity=4, rounded_capacity=4, clamped_capacity=3, min_size=0, max_size=3
    )
    assert (lowered.outcome, lowered.previous_capacity, lowered.desired_capacity) == (
        group_pb2.SCALING_DECISION_OUTCOME_ADJUSTED, 4, 3)
    assert lowered.activity.startswith("groups/web/activities/")
    assert (same.outcome, same.requested_capacity, same.activity) == (group_pb2.SCALING_DECISION_OUTCOME_UNCHANGED, 3, "")
    assert same.reason == "capacity stays at 3 (min_size 0, max_size 3)" and not same.HasField("calculation")

    # With no mask every field is named; the sizes as they were make no decision.
    current = stub.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group
    current.tags["c"] = "d"
    current.ClearField("desired_capacity")
    stub.UpdateGroup(group_pb2.UpdateGroupRequest(group=current), timeout=5)
    assert len(decisions(stub).scaling_decisions) == 2
