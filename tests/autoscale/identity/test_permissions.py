"""Every RPC of every service needs a role; only health and reflection are open, only peers call the internal services."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pool
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

from autoscale.identity.caller import Role
from autoscale.identity.permissions import Access, is_audited, required_access
from autoscale.internal.v1 import batch_statistics_pb2, sample_feed_pb2
from autoscale.v1 import alarm_pb2, group_pb2, metrics_pb2, policy_pb2

PUBLIC_FILES = (alarm_pb2, group_pb2, metrics_pb2, policy_pb2)
INTERNAL_FILES = (batch_statistics_pb2, sample_feed_pb2)


def _methods(files: tuple[object, ...]) -> list[str]:
    return [
        f"/{service.full_name}/{method.name}"
        for module in files
        for service in module.DESCRIPTOR.services_by_name.values()  # type: ignore[attr-defined]
        for method in service.methods
    ]


def test_every_public_method_needs_at_least_the_reader_role() -> None:
    for method in _methods(PUBLIC_FILES):
        assert isinstance(required_access(method), Role), method


@pytest.mark.parametrize("method", ["CreateGroup", "UpdateGroup", "DeleteGroup", "Adjust", "PutSamples", "ExecutePolicy", "SetAlarmState"])
def test_methods_that_change_something_need_the_member_role(method: str) -> None:
    service = next(
        service.full_name
        for module in PUBLIC_FILES
        for service in module.DESCRIPTOR.services_by_name.values()
        if method in service.methods_by_name
    )
    assert required_access(f"/{service}/{method}") is Role.MEMBER


@pytest.mark.parametrize("method", ["GetGroup", "ListGroups", "ListInstances", "GetStatistics", "ListAlarmHistory", "ListPolicyExecutions"])
def test_methods_that_only_read_need_the_reader_role(method: str) -> None:
    service = next(
        service.full_name
        for module in PUBLIC_FILES
        for service in module.DESCRIPTOR.services_by_name.values()
        if method in service.methods_by_name
    )
    assert required_access(f"/{service}/{method}") is Role.READER


def test_internal_methods_are_for_peer_services_only() -> None:
    methods = _methods(INTERNAL_FILES)
    assert methods
    assert all(required_access(method) == Access.SERVICE for method in methods)


def test_health_and_reflection_are_open() -> None:
    assert required_access("/grpc.health.v1.Health/Check") == Access.OPEN
    assert required_access("/grpc.health.v1.Health/Watch") == Access.OPEN
    assert required_access("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo") == Access.OPEN
    assert required_access("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo") == Access.OPEN


def test_an_unknown_method_of_our_package_is_not_open() -> None:
    assert descriptor_pool.Default() is not None
    assert required_access("/autoscale.v1.GroupService/Anything") is Role.MEMBER


def test_otlp_export_needs_the_member_role_and_is_not_audited_as_put_samples() -> None:
    export = f"/{metrics_service_pb2.DESCRIPTOR.services_by_name['MetricsService'].full_name}/Export"
    assert required_access(export) is Role.MEMBER
    assert not is_audited(export)
    assert not is_audited("/autoscale.v1.MetricsService/PutSamples")
