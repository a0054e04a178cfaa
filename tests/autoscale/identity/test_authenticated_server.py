"""A server with `--auth keys` authenticates every call but health and reflection, and its services reach each other."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from autoscale.config import ConfigurationError, Settings
from autoscale.identity.caller import Role
from autoscale.server import create_server
from autoscale.v1 import group_pb2, group_pb2_grpc, policy_pb2, policy_pb2_grpc
from services.registry import builders
from tests.support import running_server, stored_key


def _key(database_url: str, project: str, role: Role) -> str:
    return stored_key(database_url, project, role).token


def _bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
def served(sqlite_url: str, tmp_path) -> Iterator[tuple[grpc.Channel, dict[str, str]]]:  # type: ignore[no-untyped-def]
    tokens = {role.name.lower(): _key(sqlite_url, "p1", role) for role in Role}
    settings = Settings(database_url=sqlite_url, auth="keys", instance_log_dir=str(tmp_path / "logs"))
    with running_server(builders(), settings) as (_, channel):
        yield channel, tokens


def test_a_call_without_credentials_is_unauthenticated(served: tuple[grpc.Channel, dict[str, str]]) -> None:
    channel, _ = served
    with pytest.raises(grpc.RpcError) as failure:
        group_pb2_grpc.GroupServiceStub(channel).ListGroups(group_pb2.ListGroupsRequest())
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_reader_reads_and_is_denied_writes(served: tuple[grpc.Channel, dict[str, str]]) -> None:
    channel, tokens = served
    groups = group_pb2_grpc.GroupServiceStub(channel)
    groups.ListGroups(group_pb2.ListGroupsRequest(), metadata=_bearer(tokens["reader"]))
    with pytest.raises(grpc.RpcError) as failure:
        groups.Adjust(group_pb2.AdjustRequest(name="groups/web", adjustment=1), metadata=_bearer(tokens["reader"]))
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "member role" in (failure.value.details() or "")


def test_the_services_of_one_process_call_each_other_with_its_own_key(served: tuple[grpc.Channel, dict[str, str]]) -> None:
    channel, tokens = served
    member = _bearer(tokens["member"])
    # CreatePolicy asks the group service whether the group exists: a peer call, authenticated by the process's key.
    with pytest.raises(grpc.RpcError) as failure:
        policy_pb2_grpc.PolicyServiceStub(channel).CreatePolicy(
            policy_pb2.CreatePolicyRequest(
                policy_id="up", policy=policy_pb2.Policy(group="groups/missing", adjustment_type=1, scaling_adjustment=1)
            ),
            metadata=member,
        )
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_user_cannot_call_the_internal_services(served: tuple[grpc.Channel, dict[str, str]]) -> None:
    channel, tokens = served
    from autoscale.internal.v1 import sample_feed_pb2, sample_feed_pb2_grpc

    with pytest.raises(grpc.RpcError) as failure:
        sample_feed_pb2_grpc.SampleFeedServiceStub(channel).NotifySamples(
            sample_feed_pb2.NotifySamplesRequest(), metadata=_bearer(tokens["admin"])
        )
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_health_and_reflection_need_no_credentials(served: tuple[grpc.Channel, dict[str, str]]) -> None:
    channel, _ = served
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    answers = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {service.name for answer in answers for service in answer.list_services_response.service}
    assert "autoscale.v1.GroupService" in names


def test_serving_alone_with_keys_needs_a_peer_token_for_peers_elsewhere(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, auth="keys", listen="127.0.0.1:0", group_addr="127.0.0.1:1")
    with pytest.raises(ConfigurationError, match="--peer-token"):
        create_server(settings, builders(("policy",)))
    server, _ = create_server(replace(settings, peer_token="ask_0123456789ab_x"), builders(("policy",)))
    server.stop()
