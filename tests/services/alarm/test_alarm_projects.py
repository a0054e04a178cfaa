"""One alarm service serves every project, each isolated: two projects through a real in-process server.

Authentication is off in these tests, so a call acts in the project its `x-autoscale-project` metadata names (as a
peer's does); the fakes record the project of every call the alarm service makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from autoscale.v1 import alarm_pb2
from tests.services.alarm.mesh import Mesh, mesh_with, wait_for

ALARM = alarm_pb2.ALARM_STATE_ALARM
OK = alarm_pb2.ALARM_STATE_OK
INSUFFICIENT = alarm_pb2.ALARM_STATE_INSUFFICIENT_DATA


@pytest.fixture
def mesh(sqlite_url) -> Iterator[Mesh]:
    with mesh_with(sqlite_url) as mesh:
        yield mesh


def _failure(call: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def _names(mesh: Mesh) -> list[str]:
    return [alarm.name for alarm in mesh.alarms.ListAlarms(alarm_pb2.ListAlarmsRequest(), timeout=5, metadata=mesh.metadata).alarms]


def test_each_project_sees_only_its_own_alarms_under_the_same_ids(mesh):
    p1, p2 = mesh.in_project("p1"), mesh.in_project("p2")
    p1.create("a", description="ours")
    p1.create("b")
    p2.create("a", description="theirs")
    assert _names(p1) == ["alarms/a", "alarms/b"]
    assert _names(p2) == ["alarms/a"]
    assert _names(mesh) == []  # no project named: the default one, which has none
    assert (p1.get("a").description, p2.get("a").description) == ("ours", "theirs")
    assert [len(p1.history("a")), len(p2.history("a"))] == [1, 1]


def _calls_on(mesh: Mesh, alarm_id: str) -> dict[str, Callable[[], Any]]:
    """Every call that names one alarm, made in the mesh's project."""
    name, metadata = f"alarms/{alarm_id}", mesh.metadata
    change = alarm_pb2.Alarm(name=name, description="changed")
    return {
        "GetAlarm": lambda: mesh.alarms.GetAlarm(alarm_pb2.GetAlarmRequest(name=name), timeout=5, metadata=metadata),
        "UpdateAlarm": lambda: mesh.alarms.UpdateAlarm(
            alarm_pb2.UpdateAlarmRequest(alarm=change, update_mask=field_mask_pb2.FieldMask(paths=["description"])),
            timeout=5, metadata=metadata,
        ),
        "SetAlarmState": lambda: mesh.alarms.SetAlarmState(
            alarm_pb2.SetAlarmStateRequest(name=name, state=OK), timeout=5, metadata=metadata
        ),
        "ListAlarmHistory": lambda: mesh.alarms.ListAlarmHistory(
            alarm_pb2.ListAlarmHistoryRequest(name=name), timeout=5, metadata=metadata
        ),
        "DeleteAlarm": lambda: mesh.alarms.DeleteAlarm(alarm_pb2.DeleteAlarmRequest(name=name), timeout=5, metadata=metadata),
    }


def test_another_project_s_alarm_is_not_found_exactly_as_a_missing_one(mesh):
    p1, p2 = mesh.in_project("p1"), mesh.in_project("p2")
    p1.create("a")
    p1.settle()
    missing = {method: _failure(call) for method, call in _calls_on(p2, "missing").items()}
    for method, call in _calls_on(p2, "a").items():
        error = _failure(call)
        expected = missing[method]
        assert error.code() == expected.code() == grpc.StatusCode.NOT_FOUND, method
        assert error.details() == expected.details().replace("alarms/missing", "alarms/a"), method
    # Nothing of p1's alarm was touched.
    alarm = p1.get("a")
    assert (alarm.description, alarm.state) == ("", INSUFFICIENT)
    assert [entry.type for entry in p1.history("a")] == [alarm_pb2.ALARM_HISTORY_TYPE_CREATION]
    assert mesh.policy.requests == []


def test_samples_notified_in_one_project_evaluate_only_that_project_s_alarms(mesh):
    p1, p2 = mesh.in_project("p1"), mesh.in_project("p2")
    p1.create("a")
    p2.create("a")
    mesh.settle()  # each creation's first evaluation (no data yet)
    asked = len(mesh.metrics.calls)
    mesh.metrics.values["cpu_util"] = [95.0]  # what either project's series would answer now
    answer = p1.notify_samples()
    assert (answer.matched_alarms, answer.queued_alarms) == (1, 1)
    mesh.settle()
    assert (p1.get("a").state, p2.get("a").state) == (ALARM, INSUFFICIENT)
    later_calls = mesh.metrics.calls[asked:]
    assert [(project, len(queries)) for project, queries in later_calls] == [("p1", 1)]
    assert mesh.policy.projects == ["p1"]


def test_the_statistics_of_each_project_s_alarms_are_asked_in_that_project(mesh):
    p1, p2 = mesh.in_project("p1"), mesh.in_project("p2")
    mesh.metrics.project_values = {("p1", "cpu_util"): [95.0], ("p2", "cpu_util"): [10.0]}
    p1.create("a")
    p2.create("a")
    mesh.settle()
    assert (p1.get("a").state, p2.get("a").state) == (ALARM, OK)
    assert sorted(project or "" for project, _ in mesh.metrics.calls) == ["p1", "p2"]


def test_an_alarm_executes_the_policy_of_its_own_project_never_another_s(mesh):
    p1, p2 = mesh.in_project("p1"), mesh.in_project("p2")
    mesh.policy.policies = {"p1": {"policies/x"}, "p2": {"policies/x"}}
    p2.create("a", alarm_actions=["policies/x"])
    mesh.settle()
    mesh.metrics.project_values = {("p1", "cpu_util"): [95.0]}
    p1.create("a", alarm_actions=["policies/x"])
    (request,) = mesh.policy.wait_for_requests(1)
    mesh.settle()
    assert request.name == "policies/x" and mesh.policy.projects == ["p1"]
    (action,) = wait_for(lambda: p1.actions(1, "a"))
    assert action.action_succeeded
    assert p2.get("a").state == INSUFFICIENT and p2.actions(0, "a") == []


def test_a_policy_only_another_project_has_fails_as_a_missing_one_and_the_history_says_so(mesh):
    p1 = mesh.in_project("p1")
    mesh.policy.policies = {"p2": {"policies/x"}}
    mesh.metrics.values["cpu_util"] = [95.0]
    p1.create("a", alarm_actions=["policies/x"])
    (action,) = wait_for(lambda: p1.actions(1, "a"))
    mesh.settle()
    assert not action.action_succeeded
    assert "NOT_FOUND" in action.reason and "not retried" in action.reason
    assert mesh.policy.projects == ["p1"]


def test_the_sweep_evaluates_the_alarms_of_every_project(sqlite_url):
    with mesh_with(sqlite_url, alarm_sweep_interval=0.2) as mesh:
        p1, p2 = mesh.in_project("p1"), mesh.in_project("p2")
        p1.create("a")
        p2.create("b")
        mesh.settle()
        # No sample arrives from now on: only the sweep evaluates them again.
        mesh.metrics.project_values = {("p1", "cpu_util"): [95.0], ("p2", "cpu_util"): [10.0]}
        wait_for(lambda: p1.get("a").state == ALARM and p2.get("b").state == OK)
        assert {project for project, _ in mesh.metrics.calls} == {"p1", "p2"}
        # One call asks one project's alarms: the rule is the same, the series are not.
        assert all(len(queries) == 1 for _, queries in mesh.metrics.calls)


def test_actions_left_pending_in_every_project_run_after_a_restart_each_in_its_project(sqlite_url):
    with mesh_with(sqlite_url, alarm_action_backoff=60) as before:
        before.policy.failures = [grpc.StatusCode.INTERNAL] * 5
        before.metrics.values["cpu_util"] = [95.0]
        before.in_project("p1").create("a", alarm_actions=["policies/x"])
        before.in_project("p2").create("a", alarm_actions=["policies/y"])
        wait_for(lambda: before.in_project("p1").actions(1, "a") and before.in_project("p2").actions(1, "a"))
    with mesh_with(sqlite_url) as after:
        wait_for(lambda: after.in_project("p1").actions(2, "a") and after.in_project("p2").actions(2, "a"))
        assert sorted(zip(after.policy.projects, [r.name for r in after.policy.requests], strict=True)) == [
            ("p1", "policies/x"), ("p2", "policies/y"),
        ]
