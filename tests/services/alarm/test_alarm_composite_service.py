"""Composite alarms in the real alarm service: judged again whenever an alarm they name changes state, their actions run,
and what would break them (missing alarms, cycles, deleting what they name) refused."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from autoscale.errors import field_violations
from autoscale.v1 import alarm_pb2
from tests.services.alarm.mesh import Mesh, mesh_with, wait_for

ALARM, OK = alarm_pb2.ALARM_STATE_ALARM, alarm_pb2.ALARM_STATE_OK


@pytest.fixture
def mesh(sqlite_url) -> Iterator[Mesh]:
    with mesh_with(sqlite_url) as mesh:
        mesh.create("cpu", alarm_actions=[])
        mesh.create("deploying", alarm_actions=[])
        mesh.settle()
        yield mesh


def _composite(mesh: Mesh, alarm_id: str, expression: str, **fields: Any) -> alarm_pb2.Alarm:
    alarm = alarm_pb2.Alarm(composite_rule=alarm_pb2.CompositeRule(expression=expression), **fields)
    request = alarm_pb2.CreateAlarmRequest(alarm_id=alarm_id, alarm=alarm)
    return mesh.alarms.CreateAlarm(request, timeout=5, metadata=mesh.metadata).alarm


def _set(mesh: Mesh, alarm_id: str, state: int) -> None:
    request = alarm_pb2.SetAlarmStateRequest(name=f"alarms/{alarm_id}", state=state, reason="test")
    mesh.alarms.SetAlarmState(request, timeout=5, metadata=mesh.metadata)


def _failure(call: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def test_a_composite_alarm_follows_its_expression_as_the_alarms_it_names_move_and_runs_its_actions(mesh):
    created = _composite(mesh, "scale", "ALARM(cpu) AND NOT ALARM(deploying)", alarm_actions=["policies/scale-out"])
    assert created.composite_rule.expression == "ALARM(cpu) AND NOT ALARM(deploying)"
    wait_for(lambda: mesh.get("scale").state == OK)
    _set(mesh, "cpu", ALARM)
    wait_for(lambda: mesh.get("scale").state == ALARM)
    assert mesh.get("scale").state_reason == (
        "ALARM(cpu) AND NOT ALARM(deploying) is true: alarms/cpu alarm, alarms/deploying insufficient data"
    )
    assert mesh.policy.called.wait(5)
    assert mesh.policy.requests[0].cause.startswith("alarms/scale entered ALARM: ALARM(cpu) AND NOT ALARM(deploying) is true")
    _set(mesh, "deploying", ALARM)
    wait_for(lambda: mesh.get("scale").state == OK)


def test_a_change_reaches_composites_of_composites(mesh):
    _composite(mesh, "inner", "ALARM(cpu)")
    _composite(mesh, "outer", "ALARM(inner) OR ALARM(deploying)")
    wait_for(lambda: mesh.get("outer").state == OK)
    _set(mesh, "cpu", ALARM)
    wait_for(lambda: mesh.get("outer").state == ALARM)
    assert mesh.get("inner").state == ALARM


def test_an_alarm_named_must_exist_in_the_callers_project(mesh):
    error = _failure(lambda: _composite(mesh, "scale", "ALARM(cpu) OR ALARM(nowhere)"))
    assert error.code() == grpc.StatusCode.NOT_FOUND and "alarms/nowhere" in error.details()
    other = mesh.in_project("other")
    assert _failure(lambda: _composite(other, "scale", "ALARM(cpu)")).code() == grpc.StatusCode.NOT_FOUND


def test_cycles_are_refused_naming_them(mesh):
    itself = _failure(lambda: _composite(mesh, "loop", "ALARM(loop)"))
    assert itself.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(itself)] == ["alarm.composite_rule.expression"]
    _composite(mesh, "first", "ALARM(cpu)")
    _composite(mesh, "second", "ALARM(first)")
    change = alarm_pb2.Alarm(name="alarms/first", composite_rule=alarm_pb2.CompositeRule(expression="ALARM(second)"))
    request = alarm_pb2.UpdateAlarmRequest(alarm=change, update_mask={"paths": ["composite_rule"]})
    error = _failure(lambda: mesh.alarms.UpdateAlarm(request, timeout=5))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "makes a cycle: alarms/first -> alarms/second -> alarms/first" in error.details()


def test_an_alarm_a_composite_names_cannot_be_deleted_before_the_composite(mesh):
    _composite(mesh, "scale", "ALARM(cpu)", disabled=True)
    delete = alarm_pb2.DeleteAlarmRequest(name="alarms/cpu")
    error = _failure(lambda: mesh.alarms.DeleteAlarm(delete, timeout=5))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "alarms/cpu is used by 1 composite alarm (alarms/scale)" in error.details()
    mesh.alarms.DeleteAlarm(alarm_pb2.DeleteAlarmRequest(name="alarms/scale"), timeout=5)
    mesh.alarms.DeleteAlarm(delete, timeout=5)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"composite_rule": alarm_pb2.CompositeRule(expression="ALARM(cpu) AND")}, "alarm.composite_rule.expression"),
        ({"composite_rule": alarm_pb2.CompositeRule()}, "alarm.composite_rule.expression"),
        ({"composite_rule": alarm_pb2.CompositeRule(expression="ALARM(cpu)"), "datapoints_to_alarm": 1},
         "alarm.datapoints_to_alarm"),
        ({"composite_rule": alarm_pb2.CompositeRule(expression="ALARM(cpu)"), "threshold_rule": alarm_pb2.ThresholdRule()},
         "alarm.composite_rule"),
    ],
)
def test_a_bad_composite_rule_names_the_field(mesh, fields, field):
    request = alarm_pb2.CreateAlarmRequest(alarm_id="scale", alarm=alarm_pb2.Alarm(**fields))
    error = _failure(lambda: mesh.alarms.CreateAlarm(request, timeout=5))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in [v.field for v in field_violations(error)]


def test_an_update_turns_a_threshold_alarm_into_a_composite_one(mesh):
    change = alarm_pb2.Alarm(name="alarms/deploying", composite_rule=alarm_pb2.CompositeRule(expression="OK(cpu)"))
    request = alarm_pb2.UpdateAlarmRequest(alarm=change, update_mask={"paths": ["composite_rule"]})
    updated = mesh.alarms.UpdateAlarm(request, timeout=5).alarm
    assert updated.HasField("composite_rule") and not updated.HasField("threshold_rule")
    _set(mesh, "cpu", OK)
    wait_for(lambda: mesh.get("deploying").state == ALARM)


def test_a_composite_that_stays_in_its_state_says_which_states_hold_it_there_now(mesh):
    _composite(mesh, "either", "ALARM(cpu) OR ALARM(deploying)")
    _set(mesh, "cpu", ALARM)
    wait_for(lambda: mesh.get("either").state == ALARM)
    _set(mesh, "deploying", ALARM)
    _set(mesh, "cpu", OK)
    wait_for(lambda: mesh.get("either").state_reason.endswith("alarms/cpu ok, alarms/deploying alarm"))
    assert mesh.get("either").state == ALARM


def _name(mesh: Mesh, alarm_id: str, expression: str) -> None:
    request = alarm_pb2.UpdateAlarmRequest(
        alarm=alarm_pb2.Alarm(name=f"alarms/{alarm_id}", composite_rule=alarm_pb2.CompositeRule(expression=expression)),
        update_mask=field_mask_pb2.FieldMask(paths=["composite_rule"]),
    )
    mesh.alarms.UpdateAlarm(request, timeout=10, metadata=mesh.metadata)


def _at_once(changes: list[tuple[Mesh, str, str]]) -> dict[str, grpc.RpcError | None]:
    """Each (replica, alarm id, expression) change made on a thread of its own, all released at one moment; what each
    raised (None: stored)."""
    barrier = threading.Barrier(len(changes))
    outcomes: dict[str, grpc.RpcError | None] = {}

    def change(mesh: Mesh, alarm_id: str, expression: str) -> None:
        barrier.wait()
        try:
            _name(mesh, alarm_id, expression)
            outcomes[alarm_id] = None
        except grpc.RpcError as error:
            outcomes[alarm_id] = error

    threads = [threading.Thread(target=change, args=arguments) for arguments in changes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_two_replicas_changing_composites_at_once_take_turns_so_no_cycle_is_made_between_them(database_url: str) -> None:
    # Two alarm services on one database, each holding its own index: x and y, each over cpu, are changed at the same
    # moment to name each other, one through each replica. Checked under the project's definitions lock in the
    # transaction that writes, exactly one change is stored and the other is refused naming the cycle, every round.
    with mesh_with(database_url) as first, mesh_with(database_url) as second:
        first.create("cpu", alarm_actions=[])
        for round_number in range(5):
            x, y = f"x{round_number}", f"y{round_number}"
            _composite(first, x, "ALARM(cpu)")
            _composite(first, y, "ALARM(cpu)")
            outcomes = _at_once([(first, x, f"ALARM(cpu) OR ALARM({y})"), (second, y, f"ALARM(cpu) OR ALARM({x})")])
            refused = [error for error in outcomes.values() if error is not None]
            assert len(refused) == 1, outcomes
            assert refused[0].code() == grpc.StatusCode.INVALID_ARGUMENT and "makes a cycle" in (refused[0].details() or "")


def test_an_alarm_named_through_another_replica_cannot_be_deleted_through_this_one(database_url: str) -> None:
    with mesh_with(database_url) as first, mesh_with(database_url) as second:
        first.create("cpu", alarm_actions=[])
        _composite(second, "scale", "ALARM(cpu)")
        refused = _failure(lambda: first.alarms.DeleteAlarm(alarm_pb2.DeleteAlarmRequest(name="alarms/cpu"), timeout=5))
        assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION and "alarms/scale" in (refused.details() or "")
