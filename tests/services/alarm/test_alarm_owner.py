"""Alarm.owner: an alarm made by another resource (a target tracking policy) is changed and deleted through its owner."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import field_mask_pb2

from autoscale.errors import field_violations
from autoscale.v1 import alarm_pb2
from tests.services.alarm.mesh import Mesh, mesh_with

OWNER = "policies/web-cpu"


@pytest.fixture
def mesh(sqlite_url: str) -> Iterator[Mesh]:
    with mesh_with(sqlite_url) as mesh:
        yield mesh


def _update(mesh: Mesh, owner: str = "") -> alarm_pb2.UpdateAlarmResponse:
    request = alarm_pb2.UpdateAlarmRequest(
        alarm=alarm_pb2.Alarm(name="alarms/high-cpu", description="changed"),
        update_mask=field_mask_pb2.FieldMask(paths=["description"]), owner=owner,
    )
    response: alarm_pb2.UpdateAlarmResponse = mesh.alarms.UpdateAlarm(request, timeout=5)
    return response


def test_an_owned_alarm_keeps_its_owner_and_answers_it(mesh: Mesh) -> None:
    assert mesh.create(owner=OWNER).owner == OWNER
    assert mesh.get().owner == OWNER


def test_an_owned_alarm_is_changed_or_deleted_only_by_a_request_naming_its_owner(mesh: Mesh) -> None:
    mesh.create(owner=OWNER)
    for call in (lambda: _update(mesh), lambda: mesh.alarms.DeleteAlarm(alarm_pb2.DeleteAlarmRequest(name="alarms/high-cpu"))):
        with pytest.raises(grpc.RpcError) as refused:
            call()
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "alarms/high-cpu belongs to policies/web-cpu" in (refused.value.details() or "")
    assert _update(mesh, OWNER).alarm.description == "changed"
    assert _update(mesh, OWNER).alarm.owner == OWNER  # an update leaves the owner
    mesh.alarms.DeleteAlarm(alarm_pb2.DeleteAlarmRequest(name="alarms/high-cpu", owner=OWNER), timeout=5)


def test_an_alarm_without_owner_is_changed_as_before(mesh: Mesh) -> None:
    mesh.create()
    assert _update(mesh).alarm.owner == ""


def test_an_owner_that_is_not_a_policy_name_is_refused_naming_the_field(mesh: Mesh) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        mesh.create(owner="groups/web")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [violation.field for violation in field_violations(refused.value)] == ["alarm.owner"]
