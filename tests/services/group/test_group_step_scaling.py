"""Adjust with step_scaling over a real group service: AWS's warm-up rule decided under the group's lock, with the clock
moved by hand (the instances' in-service times are the service's clock)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from autoscale.errors import field_violations
from autoscale.timeutil import to_duration
from autoscale.v1 import common_pb2, group_pb2
from tests.services.group.fake_compute import FakeComputeDriver
from tests.services.group.test_group_service import (
    CHANGE,
    IN_PROGRESS,
    PERCENT,
    SLEEPER,
    activities,
    adjust,
    converged,
    create_group,
    rpc_error,
    serving,
    wait_for,
)
from tests.support import FakeClock

UNCHANGED = group_pb2.ACTIVITY_STATUS_UNCHANGED


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stub(sqlite_url: str, driver: FakeComputeDriver, clock: FakeClock) -> Iterator[Any]:
    with serving(sqlite_url, driver, clock=clock) as (_, stub):
        stub.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=SLEEPER)), timeout=5)
        yield stub


def _step(stub: Any, adjustment_type: int, adjustment: int, warmup: float = 300) -> group_pb2.AdjustResponse:
    return adjust(stub, adjustment_type, adjustment, step_scaling=True, estimated_instance_warmup=to_duration(warmup))


def test_a_second_breach_while_the_firsts_instance_warms_up_adds_only_what_a_larger_step_asks_beyond_it(
    stub: Any, clock: FakeClock
) -> None:
    """AWS's documented example: a group of 10, +10 % at 60, +30 % at 70."""
    create_group(stub, min_size=1, max_size=20, desired_capacity=10)
    wait_for(lambda: converged(stub, 10), "ten instances")
    clock.advance(600)  # the first ten have warmed up

    first = _step(stub, PERCENT, 10)
    assert (first.adjusted, first.desired_capacity) == (True, 11)
    wait_for(lambda: converged(stub, 11), "the eleventh instance")

    same_step = _step(stub, PERCENT, 10)
    assert (same_step.adjusted, same_step.desired_capacity, same_step.activity.status) == (False, 11, UNCHANGED)
    assert same_step.reason == (
        "capacity stays at 11 (from 10 instances in service and warmed up (1 warming up), the step asks 11; "
        "desired capacity 11 already covers it)"
    )

    larger_step = _step(stub, PERCENT, 30)
    assert (larger_step.adjusted, larger_step.desired_capacity) == (True, 13)
    assert larger_step.activity.cause.endswith("; step scaling from 10 instances in service and warmed up (1 warming up)")

    wait_for(lambda: converged(stub, 13), "thirteen instances")
    clock.advance(300)  # all warmed up: the same step counts from 13 (10 % of 13 is 1.3, rounded down)
    assert _step(stub, PERCENT, 10).desired_capacity == 14


def test_a_step_scale_in_waits_while_instances_warm_up_and_is_not_refused_for_a_resize_or_a_cooldown(
    stub: Any, driver: FakeComputeDriver, clock: FakeClock
) -> None:
    create_group(stub, min_size=1, max_size=10, desired_capacity=2, cooldown=to_duration(3600))
    wait_for(lambda: converged(stub, 2), "two instances")
    clock.advance(60)
    waits = _step(stub, CHANGE, -1, warmup=120)
    assert (waits.adjusted, waits.activity.status) == (False, UNCHANGED)
    assert waits.reason.startswith("capacity stays at 2 (scale-in waits while 2 instances warm up (until ")
    clock.advance(60)
    driver.start_pending = True
    assert _step(stub, CHANGE, 2, warmup=120).desired_capacity == 4  # no cooldown: the group's hour is not honoured
    resizing = activities(stub)[0]
    assert resizing.status == IN_PROGRESS
    again = _step(stub, CHANGE, 3, warmup=120)  # a resize under way refuses nothing: the larger step adds its difference
    assert (again.adjusted, again.desired_capacity) == (True, 5)


def test_an_exact_capacity_decided_from_a_desired_capacity_that_changed_meanwhile_is_refused(stub: Any) -> None:
    """A target tracking policy decides from what it read; an operator's change that came first is not undone."""
    create_group(stub, min_size=1, max_size=30, desired_capacity=10)
    stub.SetDesiredCapacity(group_pb2.SetDesiredCapacityRequest(name="groups/web", desired_capacity=20), timeout=5)
    stale = adjust(stub, common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY, 4, step_scaling=True, expected_desired_capacity=10)
    assert (stale.adjusted, stale.desired_capacity, stale.refusal) == (False, 20, group_pb2.ADJUST_REFUSAL_CAPACITY_CHANGED)
    assert "is 20, not the 10 this was decided from" in stale.reason
    current = adjust(stub, common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY, 25, step_scaling=True, expected_desired_capacity=20)
    assert (current.adjusted, current.desired_capacity) == (True, 25)


@pytest.mark.parametrize(
    ("fields", "violations"),
    [
        ({"expected_desired_capacity": -1}, ["expected_desired_capacity"]),
        ({"step_scaling": True, "honor_cooldown": True}, ["step_scaling"]),
        ({"step_scaling": True, "refuse_while_scaling": True}, ["step_scaling"]),
        ({"estimated_instance_warmup": to_duration(60)}, ["estimated_instance_warmup"]),
        ({"step_scaling": True, "estimated_instance_warmup": to_duration(-1)}, ["estimated_instance_warmup"]),
        ({"step_scaling": True, "estimated_instance_warmup": to_duration(86_401)}, ["estimated_instance_warmup"]),
    ],
)
def test_bad_step_scaling_input_is_invalid_argument_naming_the_field(stub: Any, fields: dict[str, Any], violations: list[str]) -> None:
    create_group(stub, desired_capacity=1)
    error = rpc_error(lambda: adjust(stub, CHANGE, 1, **fields))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(v.field for v in field_violations(error)) == violations
