"""Reconcile passes carrying out instance refreshes: batches that keep the healthy minimum, a restart in the middle, and
a roll back when the new launch config cannot start (a real SQLite repository, an in-memory driver, a clock the test
moves)."""

from __future__ import annotations

import pytest

from services.group import capacity, refresh
from services.group.domain import Group, InstanceState, LaunchConfig
from services.group.drivers.base import ProcessSpec
from services.group.reconciler import Reconciler
from services.group.refresh import RefreshStatus
from services.group.repository import GroupRepository
from tests.services.group.reconcile_support import PROJECT


@pytest.fixture
def repository(repositories) -> GroupRepository:
    repository = repositories.of(PROJECT)
    repository.create_launch_config(LaunchConfig("v1", process=ProcessSpec(("sleep", "60"))))
    repository.create_launch_config(LaunchConfig("v2", process=ProcessSpec(("sleep", "61"))))
    return repository


def _reconciler(repositories, driver, clock) -> Reconciler:  # type: ignore[no-untyped-def]
    return Reconciler(repositories, {"process": driver}, lambda: clock[0], "127.0.0.1:1")


def _group_of_four(repository: GroupRepository, reconciler: Reconciler, clock: list[float]) -> None:
    group = Group(id="web", launch_config_id="v1", min_size=0, max_size=10, desired_capacity=4, health_check_grace_period=0.0)
    repository.create_group(group, capacity.creation_activity("a-0", group, 1.0))
    for _ in range(2):
        reconciler.reconcile_group(PROJECT, "web")
        clock[0] += 1.0


def _start(repository: GroupRepository, clock: list[float], min_healthy: int, auto_rollback: bool = False) -> str:
    started = repository.start_instance_refresh(
        "web", "v2", lambda group, instances: refresh.begin(group, instances, min_healthy, 0.0, auto_rollback, clock[0])
    )
    return started.id


def _running_healthy(repository: GroupRepository) -> int:
    return sum(1 for i in repository.list_instances("web", None, 20) if i.state is InstanceState.RUNNING)


def test_a_refresh_replaces_every_instance_in_batches_never_below_the_healthy_minimum(repositories, repository, driver, clock):
    reconciler = _reconciler(repositories, driver, clock)
    _group_of_four(repository, reconciler, clock)
    refresh_id = _start(repository, clock, min_healthy=50)
    lowest = 4
    for _ in range(12):
        reconciler.reconcile_group(PROJECT, "web")
        lowest = min(lowest, _running_healthy(repository))
        clock[0] += 1.0
    done = repository.get_instance_refresh("web", refresh_id)
    assert done.status is RefreshStatus.SUCCESSFUL and done.percentage_complete == 100
    assert {i.launch_config_id for i in repository.list_instances("web", None, 20)} == {"v2"}
    assert lowest >= 2, lowest
    causes = [a.cause for a in repository.list_activities("web", None, 20) if "instanceRefreshes" in a.cause]
    assert len(causes) == 2 and all(" (and 1 more) with v2" in cause for cause in causes)


def test_a_refresh_resumes_where_it_was_after_a_restart_of_the_service(repositories, repository, driver, clock):
    _group_of_four(repository, _reconciler(repositories, driver, clock), clock)
    refresh_id = _start(repository, clock, min_healthy=75)
    first = _reconciler(repositories, driver, clock)
    first.reconcile_group(PROJECT, "web")  # the first batch: one instance
    clock[0] += 1.0
    restarted = _reconciler(repositories, driver, clock)
    for _ in range(12):
        restarted.reconcile_group(PROJECT, "web")
        clock[0] += 1.0
    assert repository.get_instance_refresh("web", refresh_id).status is RefreshStatus.SUCCESSFUL
    assert sorted(i.launch_config_id for i in repository.list_instances("web", None, 20)) == ["v2"] * 4


def test_a_refresh_whose_launches_fail_rolls_back_to_the_old_launch_config(repositories, repository, driver, clock):
    reconciler = _reconciler(repositories, driver, clock)
    _group_of_four(repository, reconciler, clock)
    refresh_id = _start(repository, clock, min_healthy=75, auto_rollback=True)
    driver.launch_error = "image v2 is broken"
    for _ in range(4):
        reconciler.reconcile_group(PROJECT, "web")
        clock[0] += 1.0
        if repository.get_instance_refresh("web", refresh_id).status is not RefreshStatus.IN_PROGRESS:
            break
    rolling = repository.get_instance_refresh("web", refresh_id)
    assert rolling.status is RefreshStatus.ROLLBACK_IN_PROGRESS and "image v2 is broken" in rolling.status_reason
    assert repository.get_group("web").group.launch_config_id == "v1"
    driver.launch_error = ""
    for _ in range(40):  # the launch backoff's wait passes, then the old config launches again
        reconciler.reconcile_group(PROJECT, "web")
        clock[0] += 1.0
    assert repository.get_instance_refresh("web", refresh_id).status is RefreshStatus.ROLLBACK_SUCCESSFUL
    assert sorted(i.launch_config_id for i in repository.list_instances("web", None, 20)) == ["v1"] * 4
