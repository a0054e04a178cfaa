"""The shared server bootstrap: health, reflection, the error choke point, peer deadlines."""

import threading
import time

import grpc
import pytest
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from autoscale.config import Settings
from autoscale.database import Database
from autoscale.errors import InvalidArgument, NotFound, field_violations
from autoscale.server import BuildContext, ServiceRegistration
from autoscale.v1 import metrics_pb2, metrics_pb2_grpc
from tests.support import running_server

FULL_NAME = "autoscale.v1.MetricsService"


class RaisingMetrics(metrics_pb2_grpc.MetricsServiceServicer):
    """A fake whose methods raise domain errors or wait, to exercise the bootstrap."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()

    def PutSamples(self, request, context):
        raise InvalidArgument.field("series[0].metric", "is required")

    def ListMetrics(self, request, context):
        raise NotFound("metrics/x")

    def GetStatistics(self, request, context):
        self.entered.set()
        self.release.wait(5)
        return metrics_pb2.GetStatisticsResponse()


def fake_builder(servicer):
    def build(context: BuildContext) -> ServiceRegistration:
        return ServiceRegistration(
            name="metrics",
            full_name=FULL_NAME,
            add_to_server=lambda server: metrics_pb2_grpc.add_MetricsServiceServicer_to_server(servicer, server),
        )

    return build


@pytest.fixture
def served(sqlite_url):
    servicer = RaisingMetrics()
    with running_server([("metrics", fake_builder(servicer))], Settings(database_url=sqlite_url)) as (server, channel):
        yield server, channel, servicer


def test_health_is_serving_for_the_server_and_each_service(served):
    _, channel, _ = served
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", FULL_NAME):
        response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_services(served):
    _, channel, _ = served
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
    names = {service.name for response in responses for service in response.list_services_response.service}
    assert {FULL_NAME, "grpc.health.v1.Health"} <= names


def test_domain_errors_become_statuses_with_field_violations(served):
    _, channel, _ = served
    stub = metrics_pb2_grpc.MetricsServiceStub(channel)
    with pytest.raises(grpc.RpcError) as raised:
        stub.PutSamples(metrics_pb2.PutSamplesRequest(), timeout=5)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert [(v.field, v.description) for v in field_violations(raised.value)] == [("series[0].metric", "is required")]
    with pytest.raises(grpc.RpcError) as raised:
        stub.ListMetrics(metrics_pb2.ListMetricsRequest(), timeout=5)
    assert raised.value.code() is grpc.StatusCode.NOT_FOUND


def test_peer_calls_get_the_default_deadline(sqlite_url):
    servicer = RaisingMetrics()
    settings = Settings(database_url=sqlite_url, peer_timeout=0.2)
    with running_server([("metrics", fake_builder(servicer))], settings) as (server, _):
        peers = server._peers
        with pytest.raises(grpc.RpcError) as raised:
            peers.metrics.GetStatistics(metrics_pb2.GetStatisticsRequest())
        servicer.release.set()
        assert raised.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED


def test_stop_lets_in_flight_calls_finish(sqlite_url):
    servicer = RaisingMetrics()
    with running_server([("metrics", fake_builder(servicer))], Settings(database_url=sqlite_url)) as (server, channel):
        stub = metrics_pb2_grpc.MetricsServiceStub(channel)
        future = stub.GetStatistics.future(metrics_pb2.GetStatisticsRequest(), timeout=10)
        assert servicer.entered.wait(5)
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        _wait_until_new_calls_are_refused(stub)
        # Draining, with the call still in flight: stop waits for it.
        assert stopper.is_alive() and not future.done()
        servicer.release.set()
        assert future.result() == metrics_pb2.GetStatisticsResponse()
        stopper.join(5)
        assert not stopper.is_alive()


def _wait_until_new_calls_are_refused(stub: metrics_pb2_grpc.MetricsServiceStub) -> None:
    """Wait (at most 5 s) until the server refuses new calls, as it does once it drains (UNAVAILABLE, or CANCELLED for
    one that reached it as it began)."""
    deadline = time.monotonic() + 5
    while True:
        with pytest.raises(grpc.RpcError) as raised:
            stub.ListMetrics(metrics_pb2.ListMetricsRequest(), timeout=1)
        if raised.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
            return
        assert raised.value.code() is grpc.StatusCode.NOT_FOUND, raised.value  # served as before
        assert time.monotonic() < deadline, "the server still takes new calls 5 s after stop began"
        time.sleep(0.01)


class StoringMetrics(metrics_pb2_grpc.MetricsServiceServicer):
    """A fake that stores each PutSamples as a row of the server's database."""

    def __init__(self, database: Database) -> None:
        self._database = database
        with database.transaction() as connection:
            connection.execute(sa.text("CREATE TABLE IF NOT EXISTS puts (n INTEGER)"))

    def PutSamples(self, request, context):
        with self._database.transaction() as connection:
            connection.execute(sa.text("INSERT INTO puts VALUES (1)"))
        return metrics_pb2.PutSamplesResponse(accepted_points=1)


def storing_builder(context: BuildContext) -> ServiceRegistration:
    servicer = StoringMetrics(context.database)
    return ServiceRegistration(
        name="metrics",
        full_name=FULL_NAME,
        add_to_server=lambda server: metrics_pb2_grpc.add_MetricsServiceServicer_to_server(servicer, server),
    )


def test_a_sqlite_file_deleted_under_the_server_turns_health_not_serving_and_calls_unavailable(tmp_path):
    path = tmp_path / "served.db"
    with running_server([("metrics", storing_builder)], Settings(database_url=f"sqlite:///{path}")) as (_, channel):
        stub = metrics_pb2_grpc.MetricsServiceStub(channel)
        assert stub.PutSamples(metrics_pb2.PutSamplesRequest(), timeout=5).accepted_points == 1
        health = health_pb2_grpc.HealthStub(channel)
        watches = {service: health.Watch(health_pb2.HealthCheckRequest(service=service), timeout=10) for service in ("", FULL_NAME)}
        for updates in watches.values():
            assert next(updates).status == health_pb2.HealthCheckResponse.SERVING

        path.unlink()

        for updates in watches.values():
            assert next(updates).status == health_pb2.HealthCheckResponse.NOT_SERVING
        with pytest.raises(grpc.RpcError) as raised:
            stub.PutSamples(metrics_pb2.PutSamplesRequest(), timeout=5)
        assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
        assert f"the database file {path} was deleted or replaced" in raised.value.details()
        for updates in watches.values():
            updates.cancel()
