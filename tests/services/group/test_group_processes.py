"""SuspendProcesses and ResumeProcesses: what each suspended process holds in a reconcile pass (a real SQLite repository,
an in-memory driver, a clock the test moves), and alarm notifications refused through the real policy service."""

from __future__ import annotations

import json
from dataclasses import replace

import grpc
import pytest

from autoscale.config import Settings
from autoscale.v1 import common_pb2, group_pb2, group_pb2_grpc, policy_pb2, policy_pb2_grpc
from services.group import capacity
from services.group.domain import Group, InstanceState, LaunchConfig
from services.group.drivers.base import ProcessSpec
from services.group.health import HealthCheck, HealthStatus, ProbeKind, ProbeResult
from services.group.health_monitor import HealthMonitor
from services.group.load_balancers import PoolFiles, PoolSync
from services.group.pools import LoadBalancerPool, PoolKind
from services.group.processes import ScalingProcess
from services.group.reconciler import Reconciler
from services.group.repository import GroupRepository
from services.registry import builders
from tests.services.group.reconcile_support import PROJECT, passes
from tests.services.group.test_group_health_monitor import InlineExecutor
from tests.support import running_server

CHECK = HealthCheck(ProbeKind.TCP, port=80, interval=1.0, unhealthy_threshold=1)


@pytest.fixture
def repository(repositories) -> GroupRepository:
    repository = repositories.of(PROJECT)
    repository.create_launch_config(LaunchConfig("lc", process=ProcessSpec(("sleep", "60")), health_check=CHECK))
    return repository


@pytest.fixture
def failing() -> set[str]:
    """Instance ids whose health check fails."""
    return set()


@pytest.fixture
def reconciler(repositories, driver, clock, failing, tmp_path) -> Reconciler:
    def probe(check, target):  # type: ignore[no-untyped-def]
        return ProbeResult(target.instance_id not in failing, "refused" if target.instance_id in failing else "accepts")

    return Reconciler(
        repositories, {"process": driver}, lambda: clock[0], "127.0.0.1:1", health=HealthMonitor(probe, InlineExecutor()),
        pools=PoolSync({PoolKind.FILE: PoolFiles(tmp_path)}),
    )


def _create(repository: GroupRepository, desired: int) -> None:
    group = Group(id="web", launch_config_id="lc", min_size=0, max_size=10, desired_capacity=desired, health_check_grace_period=0.0,
                  load_balancer_pools=(LoadBalancerPool(PoolKind.FILE, "front", drain_delay=0.0),))
    repository.create_group(group, capacity.creation_activity("a-0", group, 1.0))


def _suspend(repository: GroupRepository, *processes: ScalingProcess) -> None:
    repository.change_group("web", lambda group: (replace(group, suspended_processes=frozenset(processes)), None))


def _desire(repository: GroupRepository, desired: int) -> None:
    repository.change_group("web", lambda group: (replace(group, desired_capacity=desired), None))


def _instances(repository: GroupRepository):
    return repository.list_instances("web", None, 20)


def test_a_suspended_launch_starts_nothing_until_resumed(repository, reconciler, driver, clock):
    _create(repository, 0)
    _suspend(repository, ScalingProcess.LAUNCH)
    _desire(repository, 2)
    passes(reconciler, clock, 0.0, 1.0)
    assert _instances(repository) == []
    _suspend(repository)
    passes(reconciler, clock, 1.0)
    assert len(_instances(repository)) == 2


def test_a_suspended_terminate_keeps_surplus_and_failed_instances_but_a_callers_terminate_goes_on(repository, reconciler, driver, clock):
    _create(repository, 3)
    passes(reconciler, clock, 0.0, 1.0)
    first, second, _ = _instances(repository)
    _suspend(repository, ScalingProcess.TERMINATE)
    _desire(repository, 1)
    driver.kill(second.server_id)
    passes(reconciler, clock, 120.0)
    assert len(_instances(repository)) == 3 and not [call for call in driver.calls if call[0] == "terminate"]
    repository.terminate_instance("web", first.id, decrement=False, activity_id="a-1", caller="ops", now=clock[0])
    passes(reconciler, clock, 1.0)
    assert ("terminate", first.server_id) in driver.calls


def test_suspended_health_checks_and_replacements_leave_an_unhealthy_instance_in_place(repository, reconciler, clock, failing):
    _create(repository, 1)
    passes(reconciler, clock, 0.0, 1.0)
    (first,) = _instances(repository)
    _suspend(repository, ScalingProcess.HEALTH_CHECK)
    failing.add(first.id)
    passes(reconciler, clock, 2.0)
    assert _instances(repository)[0].health_status is HealthStatus.HEALTHY  # not checked
    _suspend(repository, ScalingProcess.REPLACE_UNHEALTHY)
    passes(reconciler, clock, 2.0)
    (kept,) = _instances(repository)
    assert (kept.id, kept.state, kept.health_status) == (first.id, InstanceState.RUNNING, HealthStatus.UNHEALTHY)
    assert kept.health_reason.endswith("not replaced: ReplaceUnhealthy is suspended")
    _suspend(repository)
    passes(reconciler, clock, 2.0, 1.0)
    assert first.id not in {i.id for i in _instances(repository)}


def test_a_suspended_add_to_load_balancer_freezes_the_pool_members(repository, reconciler, clock, tmp_path):
    _create(repository, 1)
    passes(reconciler, clock, 0.0, 1.0)
    pool_file = tmp_path / PROJECT / "web" / "front.json"
    assert len(json.loads(pool_file.read_text())[0]["targets"]) == 1
    _suspend(repository, ScalingProcess.ADD_TO_LOAD_BALANCER)
    _desire(repository, 2)
    passes(reconciler, clock, 1.0, 1.0)
    assert len(json.loads(pool_file.read_text())[0]["targets"]) == 1
    _suspend(repository)
    passes(reconciler, clock, 1.0)
    assert len(json.loads(pool_file.read_text())[0]["targets"]) == 2


def test_alarm_notifications_suspended_refuse_a_policy_an_alarm_runs_but_not_an_operators(sqlite_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=sqlite_url, instance_log_dir=str(tmp_path), reconcile_interval=60.0)
    with running_server(builders(), settings) as (_, channel):
        groups = group_pb2_grpc.GroupServiceStub(channel)
        policies = policy_pb2_grpc.PolicyServiceStub(channel)
        groups.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=["sleep", "60"]))
        ))
        group = group_pb2.Group(launch_config="launchConfigs/lc", min_size=0, max_size=5)
        group.cooldown.FromSeconds(0)
        groups.CreateGroup(group_pb2.CreateGroupRequest(group_id="web", group=group))
        policies.CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id="out", policy=policy_pb2.Policy(
            group="groups/web", adjustment_type=common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY, scaling_adjustment=1,
        )))
        suspended = groups.SuspendProcesses(group_pb2.SuspendProcessesRequest(
            group="groups/web", processes=[group_pb2.SCALING_PROCESS_ALARM_NOTIFICATION, group_pb2.SCALING_PROCESS_LAUNCH]
        )).group
        assert list(suspended.suspended_processes) == [group_pb2.SCALING_PROCESS_LAUNCH, group_pb2.SCALING_PROCESS_ALARM_NOTIFICATION]
        by_alarm = policies.ExecutePolicy(policy_pb2.ExecutePolicyRequest(name="policies/out", alarm="alarms/busy", cause="alarms/busy"))
        assert not by_alarm.adjusted and by_alarm.refusal == group_pb2.ADJUST_REFUSAL_SUSPENDED
        assert "alarm notifications suspended" in by_alarm.reason
        by_operator = policies.ExecutePolicy(policy_pb2.ExecutePolicyRequest(name="policies/out", cause="ops"))
        assert by_operator.adjusted
        resumed = groups.ResumeProcesses(group_pb2.ResumeProcessesRequest(group="groups/web")).group
        assert list(resumed.suspended_processes) == []
        with pytest.raises(grpc.RpcError) as bad:
            groups.SuspendProcesses(group_pb2.SuspendProcessesRequest(group="groups/web", processes=[99]))
        assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "processes[0]" in (bad.value.details() or "")
        groups.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web", force=True))
