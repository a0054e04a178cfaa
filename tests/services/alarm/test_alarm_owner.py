"""Alarm.owner: an alarm made by another resource (a target tracking policy) is changed and deleted through its owner."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import field_mask_pb2

from autoscale.errors import field_violations
from autoscale.identity.caller import Role
from autoscale.v1 import alarm_pb2, common_pb2
from tests.services.alarm.mesh import Mesh, mesh_with
from tests.support import stored_key

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


def test_with_authentication_on_only_the_mesh_names_an_owner_so_a_users_admin_cannot_take_a_policys_alarm(sqlite_url: str) -> None:
    admin = stored_key(sqlite_url, "p1", Role.ADMIN).metadata
    service = stored_key(sqlite_url, "p1", Role.ADMIN, service=True).metadata  # the policy service's own key
    rule = alarm_pb2.ThresholdRule(
        metric="cpu", statistic=common_pb2.STATISTIC_AVERAGE, threshold=80, comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN,
    )
    rule.period.FromSeconds(60)
    create = alarm_pb2.CreateAlarmRequest(alarm_id="high-cpu", alarm=alarm_pb2.Alarm(threshold_rule=rule, owner=OWNER))
    with mesh_with(sqlite_url, auth="keys") as mesh:
        with pytest.raises(grpc.RpcError) as refused:
            mesh.alarms.CreateAlarm(create, metadata=admin, timeout=5)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "alarm.owner: only autoscale's own services name an alarm's owner" in (refused.value.details() or "")
        assert mesh.alarms.CreateAlarm(create, metadata=service, timeout=5).alarm.owner == OWNER
        for owner, code in (("", grpc.StatusCode.FAILED_PRECONDITION), (OWNER, grpc.StatusCode.PERMISSION_DENIED)):
            with pytest.raises(grpc.RpcError) as refused:
                mesh.alarms.DeleteAlarm(alarm_pb2.DeleteAlarmRequest(name="alarms/high-cpu", owner=owner), metadata=admin, timeout=5)
            assert refused.value.code() == code, refused.value.details()
        mesh.alarms.DeleteAlarm(alarm_pb2.DeleteAlarmRequest(name="alarms/high-cpu", owner=OWNER), metadata=service, timeout=5)
