"""Every method of every service reads its request itself: bytes that are no such message are INVALID_ARGUMENT, not INTERNAL."""

from __future__ import annotations

import grpc
import pytest

from autoscale.config import Settings
from autoscale.errors import field_violations
from services.registry import builders
from tests.support import running_server

NOT_A_MESSAGE = b"\x0a\x7f\x0a\x03cpu"  # a field longer than the request

METHODS = [
    "/autoscale.v1.MetricsService/PutSamples",
    "/autoscale.v1.MetricsService/GetStatistics",
    "/autoscale.internal.v1.BatchStatisticsService/BatchGetStatistics",
    "/autoscale.v1.AlarmService/CreateAlarm",
    "/autoscale.internal.v1.SampleFeedService/NotifySamples",
    "/autoscale.v1.PolicyService/ExecutePolicy",
    "/autoscale.v1.GroupService/Adjust",
    "/autoscale.v1.GroupService/CreateLaunchConfig",
]


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    database = tmp_path_factory.mktemp("handlers") / "autoscale.db"
    settings = Settings(database_url=f"sqlite:///{database}", instance_log_dir=str(database.parent / "instances"))
    with running_server(builders(), settings) as (_, channel):
        yield channel


@pytest.mark.parametrize("method", METHODS)
def test_bytes_that_are_no_request_of_the_method_are_invalid_naming_the_request(channel: grpc.Channel, method: str) -> None:
    call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as raised:
        call(NOT_A_MESSAGE, timeout=5)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert [v.field for v in field_violations(raised.value)] == ["request"]
