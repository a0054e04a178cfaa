"""PutSamples holds a project to its series and samples-a-second quotas, and says which quota refused it."""

from __future__ import annotations

import grpc
import pytest

from autoscale.config import Settings
from autoscale.v1 import metrics_pb2, metrics_pb2_grpc, quota_pb2, quota_pb2_grpc
from services.metrics.server import build
from tests.support import running_server


def _acting_in(project: str) -> tuple[tuple[str, str]]:
    return (("x-autoscale-project", project),)


def _series(host: str, points: int) -> metrics_pb2.TimeSeries:
    return metrics_pb2.TimeSeries(
        metric="cpu", dimensions={"host": host}, points=[metrics_pb2.Point(value=float(i)) for i in range(points)]
    )


def _set_quota(channel: grpc.Channel, project: str, **limits: int) -> None:
    request = quota_pb2.UpdateQuotaRequest(quota=quota_pb2.Quota(name=f"projects/{project}/quota", **limits))  # type: ignore[arg-type]
    request.update_mask.paths.extend(limits)
    quota_pb2_grpc.QuotaServiceStub(channel).UpdateQuota(request)


def test_a_new_series_beyond_the_projects_series_quota_is_refused_and_other_projects_are_not(sqlite_url: str) -> None:
    with running_server([("metrics", build)], Settings(database_url=sqlite_url)) as (_, channel):
        _set_quota(channel, "p1", series=1)
        metrics = metrics_pb2_grpc.MetricsServiceStub(channel)
        metrics.PutSamples(metrics_pb2.PutSamplesRequest(series=[_series("a", 1)]), metadata=_acting_in("p1"))
        with pytest.raises(grpc.RpcError) as refused:
            metrics.PutSamples(metrics_pb2.PutSamplesRequest(series=[_series("b", 1)]), metadata=_acting_in("p1"))
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "quota series of project p1 is 1" in (refused.value.details() or "")
        metrics.PutSamples(metrics_pb2.PutSamplesRequest(series=[_series("a", 1), _series("b", 1)]), metadata=_acting_in("p2"))


def test_points_beyond_the_samples_a_second_quota_are_refused_naming_it(sqlite_url: str) -> None:
    with running_server([("metrics", build)], Settings(database_url=sqlite_url)) as (_, channel):
        _set_quota(channel, "p1", samples_per_second=10)
        metrics = metrics_pb2_grpc.MetricsServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            metrics.PutSamples(metrics_pb2.PutSamplesRequest(series=[_series("a", 11)]), metadata=_acting_in("p1"))
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "quota samples_per_second of project p1 is 10" in (refused.value.details() or "")
        accepted = metrics.PutSamples(metrics_pb2.PutSamplesRequest(series=[_series("a", 10)]), metadata=_acting_in("p2"))
        assert accepted.accepted_points == 10
