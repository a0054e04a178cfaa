"""The reconcile loop's passes, one at a time, on a real SQLite repository and an in-memory driver (and the local one)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from autoscale.errors import Unavailable
from autoscale.identity import current_project
from services.group import capacity
from services.group.domain import ActivityStatus, AdjustmentType, Group, Instance, InstanceState, LaunchConfig, TerminationPolicy
from services.group.drivers.base import DriverError, FoundServer, LaunchRequest, ProcessSpec
from services.group.drivers.local import LocalProcessDriver
from services.group.reconciler import Reconciler
from services.group.repository import GroupRepositories, GroupRepository
from tests.services.group.drivers.test_local_driver import is_running, pid_of, wait_for
from tests.services.group.fake_compute import FakeComputeDriver

needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the local driver finds its processes in /proc (Linux)")


PROJECT = "default"
OTHER = "other"
"""A second project, with a launch config and a group `web` of the same ids as PROJECT's."""


@pytest.fixture
def repository(repositories):
    repository = repositories.of(PROJECT)
    repository.create_launch_config(LaunchConfig("lc", process=ProcessSpec(("sleep", "60"))))
    return repository


@pytest.fixture
def reconciler(repositories, driver) -> Reconciler:
    ticks = itertools.count(1000)
    return Reconciler(repositories, {"process": driver}, lambda: float(next(ticks)), "127.0.0.1:1", delete_timeout=0.2,
                      poll_interval=0.01)


@pytest.fixture
def other(repositories):
    other = repositories.of(OTHER)
    other.create_launch_config(LaunchConfig("lc", process=ProcessSpec(("sleep", "61"))))
    return other


def _create(repository: GroupRepository, desired: int) -> None:
    group = Group(id="web", launch_config_id="lc", min_size=0, max_size=10, desired_capacity=desired)
    repository.create_group(group, capacity.creation_activity("a-0", group, 1.0))


def _request(group_id: str, instance_id: str, project: str = PROJECT, process: ProcessSpec | None = None) -> LaunchRequest:
    """What a pass asks a driver to launch (made here to leave a server that no instance records)."""
    return LaunchRequest(project=project, group_id=group_id, instance_id=instance_id, metrics_addr="", process=process)


def _states(repository: GroupRepository) -> list[InstanceState]:
    return [i.state for i in repository.list_instances("web", None, 100)]


def test_a_pass_launches_then_the_next_sees_them_running_and_ends_the_activity(repository, reconciler, driver):
    _create(repository, 2)
    reconciler.reconcile_group(PROJECT, "web")
    assert _states(repository) == [InstanceState.PENDING] * 2
    assert all(i.server_id for i in repository.list_instances("web", None, 100))
    assert repository.get_activity("web", "a-0").status is ActivityStatus.IN_PROGRESS
    reconciler.reconcile_group(PROJECT, "web")
    assert _states(repository) == [InstanceState.RUNNING] * 2
    activity = repository.get_activity("web", "a-0")
    assert (activity.status, activity.status_message) == (ActivityStatus.SUCCEEDED, "2 instances running")
    assert activity.end_time is not None


def test_an_instance_whose_server_is_gone_is_replaced(repository, reconciler, driver):
    _create(repository, 1)
    reconciler.reconcile_group(PROJECT, "web")
    (first,) = repository.list_instances("web", None, 100)
    driver.servers.clear()
    reconciler.reconcile_group(PROJECT, "web")  # it failed a second after its launch: the next launch waits (2 s)
    assert repository.list_instances("web", None, 100) == []
    assert repository.get_group("web").group.launch_backoff.failures == 1
    reconciler.reconcile_group(PROJECT, "web")  # the clock of these tests moves a second a call
    (second,) = repository.list_instances("web", None, 100)
    assert second.id != first.id and second.state is InstanceState.PENDING


def test_a_row_left_pending_without_a_server_by_a_crash_is_replaced(repository, reconciler, driver):
    _create(repository, 1)
    repository.add_instance(Instance("i-crashed", "web", "process", "lc", InstanceState.PENDING, create_time=1.0))
    reconciler.reconcile_group(PROJECT, "web")
    (instance,) = repository.list_instances("web", None, 100)
    assert instance.id != "i-crashed" and instance.server_id
    assert ("terminate", "") not in driver.calls


def test_a_server_still_stopping_stays_terminating_until_it_is_gone(repository, reconciler, driver):
    _create(repository, 1)
    reconciler.reconcile_group(PROJECT, "web")
    (instance,) = repository.list_instances("web", None, 100)
    stubborn = driver.terminate
    driver.terminate = lambda server_id: driver.calls.append(("terminate", server_id))  # type: ignore[method-assign]
    repository.adjust("web", "", lambda g: capacity.adjustment_activity("a-1", g, AdjustmentType.EXACT_CAPACITY, 0, 0, "in", 2.0))
    reconciler.reconcile_group(PROJECT, "web")
    assert _states(repository) == [InstanceState.TERMINATING]
    assert repository.get_activity("web", "a-1").status is ActivityStatus.IN_PROGRESS
    driver.terminate = stubborn  # type: ignore[method-assign]
    reconciler.reconcile_group(PROJECT, "web")
    assert _states(repository) == []
    assert repository.get_activity("web", "a-1").status is ActivityStatus.SUCCEEDED
    assert driver.calls.count(("terminate", instance.server_id)) == 2


def test_a_driver_error_on_terminate_fails_the_activity_and_is_retried(repository, reconciler, driver):
    _create(repository, 1)
    reconciler.reconcile_group(PROJECT, "web")
    working = driver.terminate

    def broken(server_id: str) -> None:
        raise DriverError("cloud unreachable")

    driver.terminate = broken  # type: ignore[method-assign]
    repository.adjust("web", "", lambda g: capacity.adjustment_activity("a-1", g, AdjustmentType.EXACT_CAPACITY, 0, 0, "in", 2.0))
    reconciler.reconcile_group(PROJECT, "web")
    activity = repository.get_activity("web", "a-1")
    assert activity.status is ActivityStatus.FAILED and "cloud unreachable" in activity.status_message
    driver.terminate = working  # type: ignore[method-assign]
    reconciler.reconcile_group(PROJECT, "web")
    assert _states(repository) == []


def test_an_unreadable_state_keeps_the_instance_as_it_was(repository, reconciler, driver):
    _create(repository, 1)
    reconciler.reconcile_group(PROJECT, "web")
    reconciler.reconcile_group(PROJECT, "web")

    def unreadable(server_id: str):  # type: ignore[no-untyped-def]
        raise DriverError("timeout")

    driver.state = unreadable  # type: ignore[method-assign]
    reconciler.reconcile_group(PROJECT, "web")
    assert _states(repository) == [InstanceState.RUNNING]
    assert len([call for call in driver.calls if call[0] == "launch"]) == 1


def test_an_instance_of_process_kind_where_local_processes_are_off_fails_its_launch_saying_so(repositories, repository, driver):
    reconciler = Reconciler(repositories, {}, lambda: 5.0, "")
    _create(repository, 1)
    reconciler.reconcile_group(PROJECT, "web")
    (instance,) = repository.list_instances("web", None, 100)
    assert instance.state is InstanceState.FAILED
    assert "local processes are off in this deployment" in instance.state_reason and "--enable-process-driver" in instance.state_reason
    assert repository.get_activity("web", "a-0").status is ActivityStatus.FAILED


def test_one_group_failing_does_not_stop_the_others(repository, reconciler, driver):
    _create(repository, 1)
    other = Group(id="api", launch_config_id="lc", min_size=0, max_size=10, desired_capacity=1)
    repository.create_group(other, None)
    launch = driver.launch

    def launch_or_crash(request):  # type: ignore[no-untyped-def]
        if request.group_id == "api":
            raise RuntimeError("driver bug")
        return launch(request)

    driver.launch = launch_or_crash  # type: ignore[method-assign]
    reconciler.reconcile_all()
    assert _states(repository) == [InstanceState.PENDING]


def test_delete_group_that_cannot_stop_its_instances_is_unavailable_and_keeps_them_at_zero(repository, reconciler, driver):
    _create(repository, 1)
    reconciler.reconcile_group(PROJECT, "web")
    (instance,) = repository.list_instances("web", None, 100)
    driver.terminate = lambda server_id: None  # type: ignore[method-assign]
    with pytest.raises(Unavailable, match="still terminating"):
        reconciler.delete_group(PROJECT, "web")
    status = repository.get_group("web")
    assert status.group.deleting and _states(repository) == [InstanceState.TERMINATING]
    reconciler.reconcile_group(PROJECT, "web")
    assert _states(repository) == [InstanceState.TERMINATING], "a group being deleted launches nothing"
    driver.kill(instance.server_id, "stopped")
    reconciler.delete_group(PROJECT, "web")
    assert repository.list_groups(None, 10) == []


def test_a_server_whose_launch_reply_was_lost_is_adopted_on_the_next_pass_not_replaced(repository, reconciler, driver):
    _create(repository, 1)
    launch = driver.launch

    def launch_and_lose_the_reply(request: LaunchRequest) -> str:
        launch(request)
        raise DriverError("timed out waiting for the reply")

    driver.launch = launch_and_lose_the_reply  # type: ignore[method-assign]
    reconciler.reconcile_group(PROJECT, "web")
    (failed,) = repository.list_instances("web", None, 100)
    assert (failed.state, failed.server_id) == (InstanceState.FAILED, "")
    driver.launch = launch  # type: ignore[method-assign]
    reconciler.reconcile_group(PROJECT, "web")
    (adopted,) = repository.list_instances("web", None, 100)
    assert (adopted.id, adopted.state, adopted.server_id) == (failed.id, InstanceState.RUNNING, "fake-1")
    assert list(driver.servers) == ["fake-1"] and [c for c in driver.calls if c[0] == "launch"] == [("launch", failed.id)]


def test_on_its_first_pass_a_group_stops_the_servers_no_instance_records(repository, reconciler, driver):
    _create(repository, 1)
    stray = driver.launch(_request("web", "i-stray"))
    elsewhere = driver.launch(_request("api", "i-other"))
    reconciler.reconcile_group(PROJECT, "web")
    assert ("terminate", stray) in driver.calls and ("terminate", elsewhere) not in driver.calls
    (instance,) = repository.list_instances("web", None, 100)
    assert set(driver.servers) == {instance.server_id, elsewhere}


def test_servers_are_looked_for_on_a_groups_first_pass_and_after_a_launch_that_did_not_return_only(repository, reconciler, driver):
    _create(repository, 1)
    reconciler.reconcile_group(PROJECT, "web")
    reconciler.reconcile_group(PROJECT, "web")
    assert driver.calls.count(("servers", "web")) == 1
    driver.launch_error = "quota exceeded"
    repository.adjust("web", "", lambda g: capacity.adjustment_activity("a-1", g, AdjustmentType.EXACT_CAPACITY, 2, 0, "out", 2.0))
    reconciler.reconcile_group(PROJECT, "web")
    driver.launch_error = ""
    reconciler.reconcile_group(PROJECT, "web")  # the failed launch left a row without a server: looked for, then replaced
    reconciler.reconcile_group(PROJECT, "web")
    assert driver.calls.count(("servers", "web")) == 2
    assert _states(repository) == [InstanceState.RUNNING] * 2


def test_a_pass_that_cannot_look_for_the_groups_servers_launches_and_forgets_nothing(repository, reconciler, driver):
    _create(repository, 1)
    repository.add_instance(Instance("i-crashed", "web", "process", "lc", InstanceState.PENDING, create_time=1.0))

    def unreachable(project: str, group_id: str) -> list[FoundServer]:
        raise DriverError("cloud unreachable")

    driver.find_servers = unreachable  # type: ignore[method-assign]
    reconciler.reconcile_group(PROJECT, "web")
    assert [(i.id, i.state) for i in repository.list_instances("web", None, 100)] == [("i-crashed", InstanceState.PENDING)]
    assert not [call for call in driver.calls if call[0] == "launch"]
    activity = repository.get_activity("web", "a-0")
    assert activity.status is ActivityStatus.FAILED and "cannot look for the group's servers: cloud unreachable" in activity.status_message


def test_delete_group_stops_the_servers_no_instance_records_too(repository, reconciler, driver):
    _create(repository, 1)
    reconciler.reconcile_group(PROJECT, "web")
    stray = driver.launch(_request("web", "i-stray"))
    reconciler.delete_group(PROJECT, "web")
    assert driver.servers == {} and ("terminate", stray) in driver.calls
    assert repository.list_groups(None, 10) == []


def test_a_pass_over_every_group_converges_each_projects_web_on_servers_of_its_own(repository, other, reconciler, driver):
    _create(repository, 2)
    _create(other, 1)
    reconciler.reconcile_all()
    reconciler.reconcile_all()
    for project, found, count in ((PROJECT, repository, 2), (OTHER, other, 1)):
        assert _states(found) == [InstanceState.RUNNING] * count
        assert found.get_activity("web", "a-0").status is ActivityStatus.SUCCEEDED
        for instance in found.list_instances("web", None, 100):
            launched = driver.servers[instance.server_id].request
            assert (launched.project, launched.group_id, launched.instance_id) == (project, "web", instance.id)
    assert sorted(driver.servers[i.server_id].request.process.command[1] for i in other.list_instances("web", None, 100)) == ["61"]


def test_a_pass_acts_for_its_groups_project_so_what_it_asks_of_peers_is_that_projects(repository, other, reconciler, driver):
    _create(repository, 1)
    _create(other, 1)
    launch = driver.launch
    acting: list[tuple[str, str]] = []

    def launch_noting_the_project(request: LaunchRequest) -> str:
        acting.append((request.project, current_project()))
        return launch(request)

    driver.launch = launch_noting_the_project  # type: ignore[method-assign]
    reconciler.reconcile_all()
    assert sorted(acting) == [(PROJECT, PROJECT), (OTHER, OTHER)]


def test_a_first_pass_adopts_only_its_own_projects_server_of_an_instance_id_both_projects_hold(repository, other, reconciler, driver):
    for project, found in ((PROJECT, repository), (OTHER, other)):
        _create(found, 1)
        # A launch that never returned, in each project, for an instance of the same id.
        found.add_instance(Instance("i-1", "web", "process", "lc", InstanceState.PENDING, create_time=1.0))
        driver.launch(_request("web", "i-1", project=project))
    (mine, theirs) = list(driver.servers)
    reconciler.reconcile_group(PROJECT, "web")
    assert [(i.id, i.server_id) for i in repository.list_instances("web", None, 100)] == [("i-1", mine)]
    assert [(i.id, i.server_id) for i in other.list_instances("web", None, 100)] == [("i-1", "")]
    assert ("terminate", theirs) not in driver.calls and theirs in driver.servers
    reconciler.reconcile_group(OTHER, "web")
    assert [(i.id, i.server_id) for i in other.list_instances("web", None, 100)] == [("i-1", theirs)]
    assert not [call for call in driver.calls if call[0] == "terminate"]


def test_deleting_a_projects_group_stops_its_servers_only_not_the_other_projects_web(repository, other, reconciler, driver):
    _create(repository, 1)
    _create(other, 1)
    reconciler.reconcile_all()
    (kept,) = other.list_instances("web", None, 100)
    stray = driver.launch(_request("web", "i-stray", project=OTHER))
    reconciler.delete_group(PROJECT, "web")
    assert set(driver.servers) == {kept.server_id, stray}
    assert repository.list_groups(None, 10) == [] and other.get_group("web").group.desired_capacity == 1


class Killed(BaseException):
    """The group service killed (kill -9) between a launch and its record."""


@pytest.fixture
def local_driver(tmp_path: Path) -> Iterator[LocalProcessDriver]:
    """A local driver whose log directory marks its processes; every marked process still running is stopped afterwards."""
    driver = LocalProcessDriver(tmp_path / "instances", terminate_grace=0.3)
    yield driver
    for project in (PROJECT, OTHER):
        for group_id in ("web", "api"):
            for found in driver.find_servers(project, group_id):
                driver.terminate(found.server_id)


def _restarted(repositories: GroupRepositories, log_dir: Path) -> tuple[Reconciler, LocalProcessDriver]:
    """The group service after a restart: a new driver of the same log directory, a new reconcile loop."""
    driver = LocalProcessDriver(log_dir, terminate_grace=0.3)
    return Reconciler(repositories, {"process": driver}, lambda: 2000.0, "", delete_timeout=5, poll_interval=0.01), driver


@needs_proc
def test_a_process_started_but_not_recorded_before_a_crash_is_adopted_after_the_restart_and_deleted_with_the_group(
    repositories, repository, local_driver, tmp_path
):
    _create(repository, 1)
    launch = local_driver.launch
    started: list[str] = []

    def launch_then_die(request: LaunchRequest) -> str:
        started.append(launch(request))
        raise Killed

    local_driver.launch = launch_then_die  # type: ignore[method-assign]
    with pytest.raises(Killed):
        Reconciler(repositories, {"process": local_driver}, lambda: 1000.0, "").reconcile_group(PROJECT, "web")
    (recorded,) = repository.list_instances("web", None, 100)
    assert (recorded.state, recorded.server_id) == (InstanceState.PENDING, "")
    wait_for(lambda: local_driver.find_servers(PROJECT, "web"))  # its marks are readable a moment after its launch returns

    restarted, driver = _restarted(repositories, tmp_path / "instances")
    restarted.reconcile_group(PROJECT, "web")
    (adopted,) = repository.list_instances("web", None, 100)
    assert (adopted.id, adopted.server_id, adopted.state) == (recorded.id, started[0], InstanceState.RUNNING)
    assert driver.find_servers(PROJECT, "web") == [FoundServer(recorded.id, started[0])], "a replacement was started"

    restarted.delete_group(PROJECT, "web")
    assert driver.find_servers(PROJECT, "web") == [] and not is_running(pid_of(started[0]))


@needs_proc
def test_on_start_a_marked_process_that_no_instance_records_is_stopped_and_other_deployments_are_left_alone(
    repositories, repository, local_driver, tmp_path
):
    _create(repository, 0)
    process = ProcessSpec(("sleep", "60"))
    stray = local_driver.launch(_request("web", "i-stray", process=process))
    other_deployment = LocalProcessDriver(tmp_path / "elsewhere", terminate_grace=0.3)
    theirs = other_deployment.launch(_request("web", "i-theirs", process=process))
    wait_for(lambda: local_driver.find_servers(PROJECT, "web") and other_deployment.find_servers(PROJECT, "web"))
    try:
        restarted, _ = _restarted(repositories, tmp_path / "instances")
        restarted.reconcile_group(PROJECT, "web")
        assert not is_running(pid_of(stray))
        assert is_running(pid_of(theirs))
    finally:
        other_deployment.terminate(theirs)


@needs_proc
def test_after_a_restart_each_projects_process_is_adopted_by_its_own_projects_instance_of_the_same_id(
    repositories, repository, other, local_driver, tmp_path
):
    started = {}
    for project, found in ((PROJECT, repository), (OTHER, other)):
        _create(found, 1)
        # Launched and then killed before the server id was stored: the record and the marked process are all there is.
        found.add_instance(Instance("i-1", "web", "process", "lc", InstanceState.PENDING, create_time=1.0))
        started[project] = local_driver.launch(_request("web", "i-1", project=project, process=ProcessSpec(("sleep", "60"))))
    # NOTE: a process's environment (its marks) is readable a moment after its launch returns.
    wait_for(lambda: all(local_driver.find_servers(project, "web") for project in started))

    restarted, driver = _restarted(repositories, tmp_path / "instances")
    restarted.reconcile_all()
    for project, found in ((PROJECT, repository), (OTHER, other)):
        assert [(i.id, i.server_id) for i in found.list_instances("web", None, 100)] == [("i-1", started[project])]
        assert driver.find_servers(project, "web") == [FoundServer("i-1", started[project])], "nothing stopped, nothing added"
        assert is_running(pid_of(started[project]))


# Launch failures back off


@pytest.fixture
def paced(repositories, driver, clock) -> Reconciler:
    """A reconciler on a clock the test moves."""
    return Reconciler(repositories, {"process": driver}, lambda: clock[0], "127.0.0.1:1", delete_timeout=0.2, poll_interval=0.01,
                      launch_timeout=120.0)


def _launches(driver: FakeComputeDriver) -> int:
    return sum(1 for call, _ in driver.calls if call == "launch")


def test_failing_launches_wait_twice_as_long_each_time_and_the_group_says_why(repository, paced, driver, clock):
    _create(repository, 1)
    driver.launch_error = "Quota exceeded for instances"
    attempts_at = []
    for _ in range(40):  # 40 passes, a second apart
        before = _launches(driver)
        paced.reconcile_group(PROJECT, "web")
        if _launches(driver) > before:
            attempts_at.append(clock[0] - 1000.0)
        clock[0] += 1.0
    assert attempts_at == [0.0, 2.0, 6.0, 14.0, 30.0]  # waits of 2, 4, 8, 16 s
    backoff = repository.get_group("web").group.launch_backoff
    assert backoff.failures == 5 and backoff.retry_time == 1000.0 + 30.0 + 32.0
    assert "Quota exceeded for instances" in backoff.last_failure
    (activity,) = repository.list_activities("web", None, 10)
    assert activity.status is ActivityStatus.FAILED and "Quota exceeded" in activity.status_message


def test_a_workload_crashing_on_start_backs_off_fails_the_activity_and_is_never_a_tight_loop(repository, paced, driver, clock):
    _create(repository, 1)
    for _ in range(60):
        paced.reconcile_group(PROJECT, "web")
        for server_id in list(driver.running().values()):
            driver.kill(server_id, "exited with status 3; last output: ImportError: no module named worker")
        clock[0] += 1.0
    assert _launches(driver) <= 6  # at 0, 2, 6, 14, 30 s (and the kill seen a pass later): not once a pass
    group = repository.get_group("web").group
    assert group.launch_backoff.degraded and "exited with status 3" in group.launch_backoff.last_failure
    (activity,) = repository.list_activities("web", None, 10)
    assert activity.status is ActivityStatus.FAILED and "ImportError" in activity.status_message


def test_an_instance_that_runs_long_enough_after_the_wait_ends_the_run_of_failures(repository, paced, driver, clock):
    _create(repository, 1)
    driver.launch_error = "no valid host"
    paced.reconcile_group(PROJECT, "web")
    driver.launch_error = ""
    clock[0] += 2.0
    paced.reconcile_group(PROJECT, "web")  # launched after the wait
    assert repository.get_group("web").group.launch_backoff.degraded
    clock[0] += 61.0
    paced.reconcile_group(PROJECT, "web")
    assert not repository.get_group("web").group.launch_backoff.degraded


def test_an_instance_not_running_by_the_launch_timeout_is_failed_stopped_and_backs_off(repository, paced, driver, clock):
    driver.start_pending = True  # BUILD for ever
    _create(repository, 1)
    paced.reconcile_group(PROJECT, "web")
    (stuck,) = repository.list_instances("web", None, 10)
    clock[0] += 120.0
    paced.reconcile_group(PROJECT, "web")
    assert ("terminate", stuck.server_id) in driver.calls
    backoff = repository.get_group("web").group.launch_backoff
    assert backoff.failures == 1 and "not running 120s after its launch" in backoff.last_failure
    (activity,) = repository.list_activities("web", None, 10)
    assert activity.status is ActivityStatus.FAILED


def test_the_wait_survives_a_restart_of_the_service(repositories, repository, driver, clock):
    _create(repository, 1)
    driver.launch_error = "no valid host"
    Reconciler(repositories, {"process": driver}, lambda: clock[0], "127.0.0.1:1").reconcile_group(PROJECT, "web")
    driver.launch_error = ""
    clock[0] += 1.0
    restarted = Reconciler(repositories, {"process": driver}, lambda: clock[0], "127.0.0.1:1")
    restarted.reconcile_group(PROJECT, "web")
    assert _launches(driver) == 1  # still waiting
    clock[0] += 1.0
    restarted.reconcile_group(PROJECT, "web")
    assert _launches(driver) == 2


def test_a_scale_in_removes_the_instances_its_termination_policies_name_first(repository, paced, driver, clock):
    group = Group(id="web", launch_config_id="lc", min_size=0, max_size=10, desired_capacity=1,
                  termination_policies=(TerminationPolicy.NEWEST_INSTANCE,))
    repository.create_group(group, capacity.creation_activity("a-0", group, 1.0))
    for desired in (1, 2, 3):  # one launch a second
        repository.change_group("web", lambda current, desired=desired: (replace(current, desired_capacity=desired), None))
        paced.reconcile_group(PROJECT, "web")
        clock[0] += 1.0
    launched = sorted(repository.list_instances("web", None, 10), key=lambda i: i.create_time)
    assert len({i.create_time for i in launched}) == 3
    repository.change_group("web", lambda current: (replace(current, desired_capacity=1), None))
    clock[0] += 1.0
    paced.reconcile_group(PROJECT, "web")
    assert [i.id for i in repository.list_instances("web", None, 10)] == [launched[0].id]


def test_a_scale_in_leaves_protected_instances_and_its_activity_ends_saying_so(repository, paced, driver, clock):
    group = Group(id="web", launch_config_id="lc", min_size=0, max_size=10, desired_capacity=2, new_instances_protected_from_scale_in=True)
    repository.create_group(group, capacity.creation_activity("a-0", group, 1.0))
    paced.reconcile_group(PROJECT, "web")
    assert all(i.protected_from_scale_in for i in repository.list_instances("web", None, 10))
    repository.change_group("web", lambda current: (replace(current, desired_capacity=0),
                                                    capacity.capacity_change("a-1", current, 0, "scale in", clock[0])))
    clock[0] += 1.0
    paced.reconcile_group(PROJECT, "web")
    assert len(repository.list_instances("web", None, 10)) == 2
    newest = repository.list_activities("web", None, 10)[0]
    assert newest.status is ActivityStatus.SUCCEEDED and "protected from scale-in" in newest.status_message
    (first, _) = repository.list_instances("web", None, 10)
    repository.set_instance_protection("web", [first.id], False)
    clock[0] += 1.0
    paced.reconcile_group(PROJECT, "web")
    assert [i.id for i in repository.list_instances("web", None, 10)] != [] and first.id not in {
        i.id for i in repository.list_instances("web", None, 10)
    }


def test_an_instance_that_fails_after_running_a_while_is_replaced_in_an_activity_naming_it_and_why(repository, paced, driver, clock):
    _create(repository, 1)
    paced.reconcile_group(PROJECT, "web")
    clock[0] += 1.0
    paced.reconcile_group(PROJECT, "web")  # running: the creation ends
    (first,) = repository.list_instances("web", None, 10)
    clock[0] += 600.0
    driver.kill(first.server_id, "killed by signal SIGKILL")
    paced.reconcile_group(PROJECT, "web")
    replacing = repository.list_activities("web", None, 10)[0]
    assert replacing.status is ActivityStatus.IN_PROGRESS and (replacing.from_capacity, replacing.to_capacity) == (1, 1)
    assert replacing.cause == f"replacing groups/web/instances/{first.id}: killed by signal SIGKILL"
    assert not repository.get_group("web").group.launch_backoff.degraded  # it had run long enough: no failed launch
    clock[0] += 1.0
    paced.reconcile_group(PROJECT, "web")
    assert repository.list_activities("web", None, 10)[0].status is ActivityStatus.SUCCEEDED


def test_no_pass_of_a_group_runs_while_a_caller_changes_its_instances_between_passes(repository, paced, driver):
    _create(repository, 1)
    passed = threading.Event()
    with paced.between_passes(PROJECT, "web"):
        worker = threading.Thread(target=lambda: (paced.reconcile_group(PROJECT, "web"), passed.set()))
        worker.start()
        assert not passed.wait(0.2)  # the pass waits for the block
        assert _launches(driver) == 0
    worker.join(5)
    assert passed.is_set() and _launches(driver) == 1


def test_a_restarted_service_leaves_a_detached_server_running_though_it_carries_the_groups_marks(repositories, repository, driver):
    _create(repository, 2)
    first_pass = Reconciler(repositories, {"process": driver}, lambda: 1000.0, "127.0.0.1:1")
    first_pass.reconcile_group(PROJECT, "web")
    first_pass.reconcile_group(PROJECT, "web")  # running
    detached = repository.list_instances("web", None, 10)[0]
    repository.detach_instances("web", [detached.id], decrement=True, activity_id="a-1", caller="", now=1001.0)
    restarted = Reconciler(repositories, {"process": driver}, lambda: 1002.0, "127.0.0.1:1")
    restarted.reconcile_group(PROJECT, "web")
    assert ("terminate", detached.server_id) not in driver.calls
    assert detached.server_id in driver.servers
