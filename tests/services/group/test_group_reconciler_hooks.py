"""Reconcile passes holding instances at their group's lifecycle hooks (PENDING_WAIT before service, TERMINATING_WAIT
before a stop, each until answered or timed out, also across a restart of the service) and while its pools drain them
(a real SQLite repository, an in-memory driver, a clock the test moves)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from services.group import capacity
from services.group.domain import ActivityStatus, Group, InstanceState, LaunchConfig
from services.group.drivers.base import ProcessSpec, ServerState, ServerStatus
from services.group.hooks import HookResult, LifecycleHook, Transition
from services.group.load_balancers import PoolFiles, PoolSync
from services.group.pools import LoadBalancerPool, PoolKind
from services.group.reconciler import Reconciler
from services.group.repository import GroupRepository
from tests.services.group.fake_compute import FakeComputeDriver
from tests.services.group.reconcile_support import PROJECT, passes


@pytest.fixture
def repository(repositories) -> GroupRepository:
    repository = repositories.of(PROJECT)
    repository.create_launch_config(LaunchConfig("lc", process=ProcessSpec(("sleep", "60"))))
    return repository


def _reconciler(repositories, driver, clock) -> Reconciler:  # type: ignore[no-untyped-def]
    return Reconciler(repositories, {"process": driver}, lambda: clock[0], "127.0.0.1:1", delete_timeout=0.2, poll_interval=0.01)


@pytest.fixture
def reconciler(repositories, driver, clock) -> Reconciler:
    return _reconciler(repositories, driver, clock)


def _create(repository: GroupRepository, desired: int, *hooks: LifecycleHook) -> None:
    group = Group(id="web", launch_config_id="lc", min_size=0, max_size=10, desired_capacity=desired)
    repository.create_group(group, capacity.creation_activity("a-0", group, 1.0))
    for hook in hooks:
        repository.create_lifecycle_hook(hook)


def _instances(repository: GroupRepository):
    return repository.list_instances("web", None, 10)


def _answer(repository: GroupRepository, hook_id: str, instance_id: str, result: HookResult) -> None:
    repository.answer_lifecycle_action("web", hook_id, instance_id, lambda action: replace(action, result=result))


WARM_UP = LifecycleHook("warm-up", "web", Transition.LAUNCHING, heartbeat_timeout=60.0)
DRAIN = LifecycleHook("drain", "web", Transition.TERMINATING, heartbeat_timeout=60.0, default_result=HookResult.CONTINUE)


def test_a_launched_instance_waits_for_its_launch_hook_then_goes_into_service_on_continue(repository, reconciler, clock):
    _create(repository, 1, WARM_UP)
    passes(reconciler, clock, 0.0, 1.0)
    (waiting,) = _instances(repository)
    assert waiting.state is InstanceState.PENDING_WAIT and waiting.state_reason.startswith("waiting for lifecycle hook warm-up")
    assert repository.get_group("web").current_capacity == 0 and repository.get_group("web").scaling_in_progress
    passes(reconciler, clock, 10.0)
    assert _instances(repository)[0].state is InstanceState.PENDING_WAIT
    _answer(repository, "warm-up", waiting.id, HookResult.CONTINUE)
    passes(reconciler, clock, 1.0)
    (in_service,) = _instances(repository)
    assert in_service.state is InstanceState.RUNNING and in_service.in_service_time == clock[0]
    assert repository.get_activity("web", "a-0").status is ActivityStatus.SUCCEEDED


def test_an_abandoned_launch_is_terminated_and_replaced(repository, reconciler, driver, clock):
    _create(repository, 1, WARM_UP)
    passes(reconciler, clock, 0.0, 1.0)
    (first,) = _instances(repository)
    _answer(repository, "warm-up", first.id, HookResult.ABANDON)
    passes(reconciler, clock, 1.0)
    assert ("terminate", first.server_id) in driver.calls
    assert [i.id for i in _instances(repository)] != [first.id]


def test_a_wait_nobody_answers_ends_with_the_hooks_default_after_its_heartbeat_timeout(repository, reconciler, driver, clock):
    _create(repository, 1, replace(WARM_UP, default_result=HookResult.CONTINUE))
    passes(reconciler, clock, 0.0, 1.0, 59.0)
    assert _instances(repository)[0].state is InstanceState.PENDING_WAIT
    passes(reconciler, clock, 1.0)
    assert _instances(repository)[0].state is InstanceState.RUNNING


def test_a_scale_in_waits_for_the_termination_hook_before_stopping_the_instance(repository, reconciler, driver, clock):
    _create(repository, 2, DRAIN)
    passes(reconciler, clock, 0.0, 1.0)
    repository.change_group("web", lambda current: (replace(current, desired_capacity=1), None))
    passes(reconciler, clock, 1.0)
    draining = [i for i in _instances(repository) if i.state is InstanceState.TERMINATING_WAIT]
    assert len(draining) == 1 and draining[0].state_reason.startswith("scaling to 1; waiting for lifecycle hook drain")
    assert ("terminate", draining[0].server_id) not in driver.calls
    passes(reconciler, clock, 1.0)
    assert len(_instances(repository)) == 2  # no second instance chosen meanwhile
    _answer(repository, "drain", draining[0].id, HookResult.CONTINUE)
    passes(reconciler, clock, 1.0)
    assert ("terminate", draining[0].server_id) in driver.calls
    assert [i.state for i in _instances(repository)] == [InstanceState.RUNNING]


def test_a_terminated_instance_is_replaced_at_once_and_stopped_after_its_drain_times_out(repository, reconciler, driver, clock):
    _create(repository, 1, DRAIN)
    passes(reconciler, clock, 0.0, 1.0)
    (first,) = _instances(repository)
    repository.terminate_instance("web", first.id, decrement=False, activity_id="a-1", caller="ops", now=clock[0])
    passes(reconciler, clock, 1.0, 1.0)
    states = {i.id: i.state for i in _instances(repository)}
    assert states[first.id] is InstanceState.TERMINATING_WAIT and InstanceState.RUNNING in states.values()
    passes(reconciler, clock, 60.0)
    assert ("terminate", first.server_id) in driver.calls and first.id not in {i.id for i in _instances(repository)}


def test_a_failed_instance_is_replaced_without_waiting_for_termination_hooks(repository, reconciler, driver, clock):
    _create(repository, 1, DRAIN)
    passes(reconciler, clock, 0.0, 1.0)
    (first,) = _instances(repository)
    driver.kill(first.server_id)
    passes(reconciler, clock, 120.0)
    assert first.id not in {i.id for i in _instances(repository)}


def test_deleting_a_hook_lets_the_instances_waiting_for_it_go_on(repository, reconciler, clock):
    _create(repository, 1, WARM_UP)
    passes(reconciler, clock, 0.0, 1.0)
    repository.delete_lifecycle_hook("web", "warm-up")
    passes(reconciler, clock, 1.0)
    assert _instances(repository)[0].state is InstanceState.RUNNING


def test_a_restarted_service_resumes_a_wait_where_it_was(repositories, repository, driver, clock):
    _create(repository, 1, WARM_UP)
    passes(_reconciler(repositories, driver, clock), clock, 0.0, 1.0)
    (waiting,) = _instances(repository)
    restarted = _reconciler(repositories, driver, clock)
    passes(restarted, clock, 30.0)
    assert _instances(repository)[0].state is InstanceState.PENDING_WAIT  # the same wait, not a new one
    passes(restarted, clock, 30.0)  # the wait began 60 s ago: its default (ABANDON) applies
    assert waiting.id not in {i.id for i in _instances(repository)}


def test_an_instance_leaves_its_pool_when_chosen_for_removal_and_stops_once_drained(repositories, repository, driver, clock, tmp_path):
    pools = PoolSync({PoolKind.FILE: PoolFiles(tmp_path)})
    reconciler = Reconciler(repositories, {"process": driver}, lambda: clock[0], "127.0.0.1:1", pools=pools)
    group = Group(id="web", launch_config_id="lc", min_size=0, max_size=10, desired_capacity=2,
                  load_balancer_pools=(LoadBalancerPool(PoolKind.FILE, "front", drain_delay=30.0),))
    repository.create_group(group, capacity.creation_activity("a-0", group, 1.0))
    pool_file = tmp_path / PROJECT / "web" / "front.json"

    def targets() -> list[str]:
        listed = json.loads(pool_file.read_text())
        return sorted(listed[0]["targets"]) if listed else []

    passes(reconciler, clock, 0.0)
    assert targets() == []  # launched, not running yet
    passes(reconciler, clock, 1.0)
    assert targets() == ["10.0.0.1:8000", "10.0.0.2:8000"]
    repository.change_group("web", lambda current: (replace(current, desired_capacity=1), None))
    passes(reconciler, clock, 1.0)
    (draining,) = [i for i in _instances(repository) if i.state is InstanceState.TERMINATING]
    assert "draining until" in draining.state_reason and draining.drain_until == clock[0] + 30.0
    (staying,) = [i for i in _instances(repository) if i.state is InstanceState.RUNNING]
    assert targets() == [staying.address] and ("terminate", draining.server_id) not in driver.calls
    passes(reconciler, clock, 29.0)
    assert ("terminate", draining.server_id) not in driver.calls
    passes(reconciler, clock, 1.0)
    assert ("terminate", draining.server_id) in driver.calls and len(_instances(repository)) == 1
    reconciler.delete_group(PROJECT, "web")
    assert not pool_file.exists()


class SlowStops(FakeComputeDriver):
    """Servers told to stop stay there, being deleted, as Nova's do (even in ERROR), until `finish_stops`."""

    def __init__(self) -> None:
        super().__init__()
        self.stopping: set[str] = set()

    def terminate(self, server_id: str) -> None:
        self.calls.append(("terminate", server_id))
        if server_id in self.servers:
            self.stopping.add(server_id)

    def state(self, server_id: str) -> ServerState:
        if server_id in self.stopping:
            return ServerState(ServerStatus.PENDING, "the server is being deleted (ERROR)")
        return super().state(server_id)

    def finish_stops(self) -> None:
        for server_id in self.stopping:
            self.servers.pop(server_id, None)
        self.stopping.clear()


def test_a_failed_instance_whose_server_is_slow_to_stop_never_waits_for_termination_hooks(repositories, repository, clock):
    driver = SlowStops()
    reconciler = _reconciler(repositories, driver, clock)
    _create(repository, 1, DRAIN)
    passes(reconciler, clock, 0.0, 1.0)
    (first,) = _instances(repository)
    driver.kill(first.server_id, "exited with status 1")
    passes(reconciler, clock, 120.0, 1.0, 1.0)  # failed and told to stop; the next passes see it still being deleted
    stopping = [i for i in _instances(repository) if i.id == first.id]
    assert [i.state for i in stopping] == [InstanceState.TERMINATING]
    snapshot = repository.snapshot("web")
    assert snapshot is not None and not snapshot.actions_of(first.id, Transition.TERMINATING)
    driver.finish_stops()
    passes(reconciler, clock, 1.0)
    assert first.id not in {i.id for i in _instances(repository)}
