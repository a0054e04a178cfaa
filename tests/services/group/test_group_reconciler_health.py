"""Reconcile passes judging instances by their launch config's health check: the grace period, replacement of unhealthy
instances in an activity, and what instance listings show (a real SQLite repository, an in-memory driver, scripted
check results)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.group import capacity
from services.group.domain import ActivityStatus, Group, InstanceState, LaunchConfig
from services.group.drivers.base import ProcessSpec
from services.group.health import HealthCheck, HealthStatus, ProbeKind, ProbeResult
from services.group.health_monitor import HealthMonitor, ProbeTarget
from services.group.reconciler import Reconciler
from services.group.repository import GroupRepository
from tests.services.group.reconcile_support import PROJECT, passes
from tests.services.group.test_group_health_monitor import InlineExecutor

CHECK = HealthCheck(ProbeKind.HTTP, port=8080, path="/healthz", interval=10.0, unhealthy_threshold=2)


class ScriptedChecks:
    """Health check results the test sets per instance (healthy unless said), recording every target asked."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.targets: list[ProbeTarget] = []

    def __call__(self, check: HealthCheck, target: ProbeTarget) -> ProbeResult:
        self.targets.append(target)
        if target.instance_id in self.failing:
            return ProbeResult(False, f"HTTP 503 from http://{target.host}:{target.port}{check.path}")
        return ProbeResult(True, f"HTTP 200 from http://{target.host}:{target.port}{check.path}")


@pytest.fixture
def repository(repositories):
    repository = repositories.of(PROJECT)
    repository.create_launch_config(LaunchConfig("checked", process=ProcessSpec(("sleep", "60")), health_check=CHECK))
    repository.create_launch_config(LaunchConfig("unchecked", process=ProcessSpec(("sleep", "60"))))
    return repository


@pytest.fixture
def checks() -> ScriptedChecks:
    return ScriptedChecks()


@pytest.fixture
def reconciler(repositories, driver, clock, checks) -> Reconciler:
    return Reconciler(
        repositories, {"process": driver}, lambda: clock[0], "127.0.0.1:1",
        health=HealthMonitor(checks, InlineExecutor()),
    )


def _create(repository: GroupRepository, launch_config: str = "checked", grace_period: float | None = 60.0, desired: int = 1) -> None:
    group = Group(id="web", launch_config_id=launch_config, min_size=0, max_size=10, desired_capacity=desired,
                  health_check_grace_period=grace_period)
    repository.create_group(group, capacity.creation_activity("a-0", group, 1.0))


def _instances(repository: GroupRepository):
    return repository.list_instances("web", None, 10)


def test_no_check_counts_within_the_grace_period_from_when_the_instance_first_ran(repository, reconciler, clock, checks):
    _create(repository)
    passes(reconciler, clock, 0.0, 5.0)  # launched, then seen running
    (instance,) = _instances(repository)
    assert instance.in_service_time == 1005.0 and instance.health_status is HealthStatus.UNKNOWN
    assert instance.health_reason == "in its grace period: checks count 60s after it first ran"
    passes(reconciler, clock, 59.0)
    assert checks.targets == []
    passes(reconciler, clock, 1.0)
    assert checks.targets == [ProbeTarget("10.0.0.1", 8080, PROJECT, "web", instance.id)]
    (checked,) = _instances(repository)
    assert (checked.health_status, checked.health_reason) == (HealthStatus.HEALTHY, "HTTP 200 from http://10.0.0.1:8080/healthz")
    assert checked.address == "10.0.0.1:8000"


def test_an_unhealthy_instance_past_its_grace_period_is_replaced_in_an_activity_saying_why(repository, reconciler, driver, clock, checks):
    _create(repository)
    passes(reconciler, clock, 0.0, 1.0, 60.0)  # launched, running, checked healthy
    (first,) = _instances(repository)
    checks.failing.add(first.id)
    passes(reconciler, clock, 10.0)
    (once,) = _instances(repository)
    assert once.state is InstanceState.RUNNING and once.health_reason.startswith("1 of 2 health checks in a row failed")
    passes(reconciler, clock, 10.0)
    replacing = repository.list_activities("web", None, 10)[0]
    reason = "2 health checks in a row failed: HTTP 503 from http://10.0.0.1:8080/healthz"
    assert replacing.cause == f"replacing groups/web/instances/{first.id}: unhealthy: {reason}"
    assert replacing.status is ActivityStatus.IN_PROGRESS
    assert ("terminate", first.server_id) in driver.calls
    (replacement,) = _instances(repository)
    assert replacement.id != first.id
    assert not repository.get_group("web").group.launch_backoff.degraded  # it had run long enough: no failed launch
    passes(reconciler, clock, 1.0)
    assert repository.list_activities("web", None, 10)[0].status is ActivityStatus.SUCCEEDED


def test_an_instance_unhealthy_within_a_minute_of_its_launch_is_a_failed_launch_and_backs_off(repository, reconciler, clock, checks):
    _create(repository, grace_period=0.0)
    passes(reconciler, clock, 0.0)
    (first,) = _instances(repository)
    checks.failing.add(first.id)
    passes(reconciler, clock, 1.0, 10.0)
    backoff = repository.get_group("web").group.launch_backoff
    assert backoff.degraded and "unhealthy: 2 health checks in a row failed" in backoff.last_failure


def test_an_instance_without_a_health_check_is_healthy_once_running(repository, reconciler, clock, checks):
    _create(repository, launch_config="unchecked")
    passes(reconciler, clock, 0.0)
    assert _instances(repository)[0].health_status is HealthStatus.UNKNOWN  # not running yet
    passes(reconciler, clock, 1.0)
    (instance,) = _instances(repository)
    assert (instance.health_status, instance.health_reason) == (HealthStatus.HEALTHY, "running (no health check)")
    assert checks.targets == []


def test_instances_of_an_earlier_launch_config_are_checked_as_it_says(repository, reconciler, clock, checks):
    _create(repository, grace_period=0.0)
    passes(reconciler, clock, 0.0, 1.0)
    repository.change_group("web", lambda current: (replace(current, launch_config_id="unchecked"), None))
    (old,) = _instances(repository)
    passes(reconciler, clock, 10.0)
    assert [target.instance_id for target in checks.targets] == [old.id, old.id]


def test_a_process_that_exits_is_unhealthy_at_once_whatever_its_grace_period(repository, reconciler, driver, clock):
    _create(repository, grace_period=3600.0)
    passes(reconciler, clock, 0.0, 1.0)
    (first,) = _instances(repository)
    driver.kill(first.server_id, "exited with status 1")
    passes(reconciler, clock, 120.0)
    activity = repository.list_activities("web", None, 10)[0]
    assert activity.cause == f"replacing groups/web/instances/{first.id}: exited with status 1"


def test_an_instance_that_passed_its_check_and_fails_it_soon_after_is_replaced_but_is_no_failed_launch(
    repository, reconciler, clock, checks
):
    _create(repository, grace_period=0.0)
    passes(reconciler, clock, 0.0, 1.0)  # launched, running and checked healthy
    (first,) = _instances(repository)
    assert first.health_status is HealthStatus.HEALTHY
    checks.failing.add(first.id)
    passes(reconciler, clock, 10.0, 10.0)  # within a minute of its launch
    assert not repository.get_group("web").group.launch_backoff.degraded
    assert repository.list_activities("web", None, 10)[0].cause.startswith(f"replacing groups/web/instances/{first.id}: unhealthy")
