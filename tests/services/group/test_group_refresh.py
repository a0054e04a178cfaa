"""The rules of instance refreshes (pure: instances and times are inputs)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from autoscale.errors import FailedPrecondition
from services.group.backoff import RESET, LaunchBackoff
from services.group.domain import Group, Instance, InstanceState
from services.group.health import HealthStatus
from services.group.refresh import (
    RefreshStatus,
    begin,
    cancel,
    pause,
    refresh_step,
    resume,
    roll_back,
)

FAILING = LaunchBackoff(1, 1002.0, "exited with status 3")

GROUP = Group(id="web", launch_config_id="v2", min_size=0, max_size=10, desired_capacity=4, health_check_grace_period=0.0)


def _instance(n: int, config: str = "v1", state: InstanceState = InstanceState.RUNNING, in_service: float | None = 0.0,
              health: HealthStatus = HealthStatus.HEALTHY, **fields) -> Instance:  # type: ignore[no-untyped-def]
    return Instance(id=f"i-{n}", group_id="web", kind="process", launch_config_id=config, state=state, create_time=float(n),
                    server_id=f"s-{n}", in_service_time=in_service, health_status=health, **fields)


OLD = [_instance(n) for n in range(4)]


def test_a_refresh_starts_with_the_outdated_instances_counted_and_aws_defaults():
    refresh = begin(GROUP, OLD, None, None, False, 100.0)
    assert (refresh.status, refresh.launch_config_id, refresh.rollback_launch_config_id) == (RefreshStatus.IN_PROGRESS, "v2", "v1")
    assert (refresh.min_healthy_percentage, refresh.instance_warmup, refresh.instances_to_update) == (90, 0.0, 4)


@pytest.mark.parametrize(
    ("min_healthy", "healthy_new", "batch"),
    [
        (90, 0, 1),    # ceil(3.6) = 4 must stay healthy: one at a time all the same
        (50, 0, 2),    # 4 healthy, 2 must stay: two at once
        (0, 0, 4),     # all at once
        (100, 0, 1),   # one at a time
    ],
)
def test_a_batch_keeps_the_minimum_healthy_percentage_and_replaces_the_oldest_outdated_first(min_healthy, healthy_new, batch):
    refresh = begin(GROUP, OLD, min_healthy, 0.0, False, 100.0)
    step = refresh_step(refresh, OLD, 4, RESET, 100.0)
    assert [i.id for i in step.replace] == [f"i-{n}" for n in range(batch)]


def test_no_new_batch_starts_while_replacements_start_or_warm_up():
    refresh = begin(GROUP, OLD, 50, 60.0, False, 100.0)
    warming = [*OLD[2:], _instance(10, "v2", in_service=90.0), _instance(11, "v2", InstanceState.PENDING, in_service=None)]
    step = refresh_step(refresh, warming, 4, RESET, 120.0)
    assert step.replace == () and "2 instances starting, warming up or stopping" in step.refresh.status_reason
    warmed = [*OLD[2:], _instance(10, "v2", in_service=50.0), _instance(11, "v2", in_service=50.0)]
    step = refresh_step(refresh, warmed, 4, RESET, 120.0)
    assert [i.id for i in step.replace] == ["i-2", "i-3"] and step.refresh.percentage_complete == 50


def test_an_unhealthy_replacement_does_not_count_as_healthy():
    refresh = begin(GROUP, OLD, 50, 0.0, False, 100.0)
    checked = [*OLD[2:], _instance(10, "v2", health=HealthStatus.UNKNOWN), _instance(11, "v2")]
    assert refresh_step(refresh, checked, 4, RESET, 120.0).replace == ()


def test_the_refresh_succeeds_once_every_instance_runs_the_launch_config_leaving_standby_and_protected_ones():
    refresh = begin(GROUP, OLD, 50, 0.0, False, 100.0)
    done = [_instance(10, "v2"), _instance(11, "v2"), _instance(12, "v1", InstanceState.STANDBY),
            _instance(13, "v1", protected_from_scale_in=True)]
    step = refresh_step(refresh, done, 3, RESET, 130.0)  # the one in standby is out of the capacity
    assert step.refresh.status is RefreshStatus.SUCCESSFUL and step.refresh.end_time == 130.0
    assert step.refresh.status_reason == "every instance runs v2; 2 in standby or protected from scale-in left as they are"
    assert step.refresh.percentage_complete == 100


def test_a_paused_refresh_starts_no_batch_and_resumes_as_it_was():
    refresh = pause(begin(GROUP, OLD, 50, 0.0, False, 100.0), 110.0)
    assert refresh.status is RefreshStatus.PAUSED and refresh_step(refresh, OLD, 4, RESET, 120.0).replace == ()
    resumed = resume(refresh)
    assert resumed.status is RefreshStatus.IN_PROGRESS and refresh_step(resumed, OLD, 4, RESET, 120.0).replace
    with pytest.raises(FailedPrecondition, match="not paused"):
        resume(resumed)


def test_a_refresh_fails_when_a_launch_fails_after_it_started_and_rolls_back_by_itself_if_asked():
    failing = [*OLD[1:], _instance(10, "v2", InstanceState.FAILED)]
    plain = refresh_step(begin(GROUP, OLD, 90, 0.0, False, 100.0), failing, 4, FAILING, 120.0)
    assert plain.refresh.status is RefreshStatus.FAILED and "the group cannot launch: exited with status 3" in plain.refresh.status_reason
    rolled = refresh_step(begin(GROUP, OLD, 90, 0.0, True, 100.0), failing, 4, FAILING, 120.0)
    assert rolled.rollback and rolled.refresh.status is RefreshStatus.ROLLBACK_IN_PROGRESS
    assert rolled.refresh.target_launch_config_id == "v1" and rolled.refresh.launch_failures_before == 1
    # The roll back fails only on a launch failing after it started (meanwhile the group is short of an instance).
    waiting = refresh_step(rolled.refresh, failing, 4, FAILING, 121.0).refresh
    assert waiting.status is RefreshStatus.ROLLBACK_IN_PROGRESS and "waiting for 1 more instances to run" in waiting.status_reason
    again = LaunchBackoff(2, 1010.0, "exited with status 3")
    assert refresh_step(rolled.refresh, failing, 4, again, 122.0).refresh.status is RefreshStatus.ROLLBACK_FAILED


def test_a_roll_back_replaces_what_was_replaced_with_the_old_launch_config():
    refresh = begin(GROUP, OLD, 50, 0.0, False, 100.0)
    halfway = [*OLD[2:], _instance(10, "v2"), _instance(11, "v2")]
    rolling = roll_back(refresh, halfway, RESET)
    assert (rolling.status, rolling.instances_to_update) == (RefreshStatus.ROLLBACK_IN_PROGRESS, 2)
    assert [i.id for i in refresh_step(rolling, halfway, 4, RESET, 130.0).replace] == ["i-10", "i-11"]
    with pytest.raises(FailedPrecondition, match="rolling back already"):
        roll_back(rolling, halfway, RESET)
    back = refresh_step(rolling, [*OLD[2:], _instance(12), _instance(13)], 4, RESET, 140.0)
    assert back.refresh.status is RefreshStatus.ROLLBACK_SUCCESSFUL


def test_a_refresh_with_nothing_to_return_to_cannot_roll_back_and_cancel_ends_it():
    current = [_instance(n, "v2") for n in range(4)]
    refresh = begin(GROUP, current, None, None, False, 100.0)
    with pytest.raises(FailedPrecondition, match="nothing to roll back to"):
        roll_back(refresh, current, RESET)
    cancelled = cancel(replace(refresh, instances_to_update=4, instances_replaced=1), 150.0)
    assert (cancelled.status, cancelled.end_time) == (RefreshStatus.CANCELLED, 150.0)
    assert cancelled.status_reason == "cancelled with 1 of 4 replaced"
