"""QuotaService: callers read their own project's quota; only operators read others' and set any."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from autoscale.config import Settings
from autoscale.database import Database
from autoscale.identity.caller import Role
from autoscale.quotas.limits import DEFAULTS
from autoscale.quotas.store import CACHE_SECONDS, QuotaStore
from autoscale.v1 import quota_pb2, quota_pb2_grpc
from services.registry import builders
from tests.support import FakeClock, running_server, stored_key


def _token(database_url: str, project: str, role: Role, service: bool = False) -> str:
    return stored_key(database_url, project, role, service=service).token


@pytest.fixture
def quotas(sqlite_url: str, tmp_path) -> Iterator[tuple[quota_pb2_grpc.QuotaServiceStub, dict[str, str]]]:  # type: ignore[no-untyped-def]
    tokens = {
        "p1-admin": _token(sqlite_url, "p1", Role.ADMIN),
        "p1-reader": _token(sqlite_url, "p1", Role.READER),
        "operator": _token(sqlite_url, "admin", Role.ADMIN),
        "service": _token(sqlite_url, "", Role.ADMIN, service=True),
    }
    settings = Settings(database_url=sqlite_url, auth="keys", instance_log_dir=str(tmp_path))
    with running_server(builders(("policy",)), settings) as (_, channel):
        yield quota_pb2_grpc.QuotaServiceStub(channel), tokens


def _as(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


def _code(call) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as failure:
        call()
    return failure.value.code()  # type: ignore[no-any-return]


def test_a_reader_sees_its_own_projects_quota_with_the_defaults_named(quotas) -> None:  # type: ignore[no-untyped-def]
    stub, tokens = quotas
    quota = stub.GetQuota(quota_pb2.GetQuotaRequest(name="projects/p1/quota"), metadata=_as(tokens["p1-reader"])).quota
    assert quota.groups == DEFAULTS["groups"] and "groups" in quota.defaulted


def test_another_projects_quota_is_not_found_for_its_users(quotas) -> None:  # type: ignore[no-untyped-def]
    stub, tokens = quotas
    request = quota_pb2.GetQuotaRequest(name="projects/p2/quota")
    assert _code(lambda: stub.GetQuota(request, metadata=_as(tokens["p1-admin"]))) == grpc.StatusCode.NOT_FOUND


def test_a_projects_own_admin_cannot_raise_its_quota(quotas) -> None:  # type: ignore[no-untyped-def]
    stub, tokens = quotas
    request = quota_pb2.UpdateQuotaRequest(quota=quota_pb2.Quota(name="projects/p1/quota", groups=10**6))
    request.update_mask.paths.append("groups")
    assert _code(lambda: stub.UpdateQuota(request, metadata=_as(tokens["p1-admin"]))) == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("who", ["operator", "service"])
def test_operators_set_and_clear_any_projects_limits(quotas, who: str) -> None:  # type: ignore[no-untyped-def]
    stub, tokens = quotas
    request = quota_pb2.UpdateQuotaRequest(quota=quota_pb2.Quota(name="projects/p2/quota", groups=5, alarms=7))
    request.update_mask.paths.extend(["groups", "alarms"])
    quota = stub.UpdateQuota(request, metadata=_as(tokens[who])).quota
    assert (quota.groups, quota.alarms) == (5, 7) and "groups" not in quota.defaulted
    cleared = quota_pb2.UpdateQuotaRequest(quota=quota_pb2.Quota(name="projects/p2/quota"))
    cleared.update_mask.paths.append("groups")
    quota = stub.UpdateQuota(cleared, metadata=_as(tokens[who])).quota
    assert quota.groups == DEFAULTS["groups"] and quota.alarms == 7


def test_bad_names_masks_and_values_are_invalid_arguments_naming_the_field(quotas) -> None:  # type: ignore[no-untyped-def]
    stub, tokens = quotas
    operator = _as(tokens["operator"])
    bad_name = quota_pb2.GetQuotaRequest(name="projects/p 1/quota")
    assert _code(lambda: stub.GetQuota(bad_name, metadata=operator)) == grpc.StatusCode.INVALID_ARGUMENT
    bad_mask = quota_pb2.UpdateQuotaRequest(quota=quota_pb2.Quota(name="projects/p1/quota"))
    bad_mask.update_mask.paths.append("cpus")
    assert _code(lambda: stub.UpdateQuota(bad_mask, metadata=operator)) == grpc.StatusCode.INVALID_ARGUMENT
    negative = quota_pb2.UpdateQuotaRequest(quota=quota_pb2.Quota(name="projects/p1/quota", groups=-1))
    negative.update_mask.paths.append("groups")
    with pytest.raises(grpc.RpcError) as failure:
        stub.UpdateQuota(negative, metadata=operator)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "quota.groups" in (failure.value.details() or "")


def test_a_change_reaches_another_process_within_the_cache_time(sqlite_url: str) -> None:
    clock = FakeClock()
    first, second = Database(sqlite_url), Database(sqlite_url)
    try:
        writer, reader = QuotaStore(first, clock, DEFAULTS), QuotaStore(second, clock, DEFAULTS)
        assert reader.limits("p1").of("groups") == DEFAULTS["groups"]
        writer.update("p1", {"groups": 3}, updated_by="test")
        clock.advance(CACHE_SECONDS)
        assert reader.limits("p1").of("groups") == 3
    finally:
        first.dispose()
        second.dispose()
