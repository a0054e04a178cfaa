"""The plaintext health port (`--health-listen`): the main port's statuses for probes that speak no TLS, and nothing else."""

from __future__ import annotations

import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from autoscale.config import ConfigurationError, Settings
from autoscale.server import BuildContext, ServiceRegistration, create_server
from autoscale.v1 import metrics_pb2, metrics_pb2_grpc
from tests.certificates import TlsFiles
from tests.support import running_server

METRICS = "autoscale.v1.MetricsService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class HeldMetrics(metrics_pb2_grpc.MetricsServiceServicer):
    """A fake whose GetStatistics waits until released, to hold a server in its drain."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def GetStatistics(self, request, context):
        self.entered.set()
        self.release.wait(10)
        return metrics_pb2.GetStatisticsResponse()


def held_metrics_builder(servicer: HeldMetrics):
    def build(context: BuildContext) -> ServiceRegistration:
        return ServiceRegistration(
            name="metrics", full_name=METRICS,
            add_to_server=lambda server: metrics_pb2_grpc.add_MetricsServiceServicer_to_server(servicer, server),
        )

    return build


def mutual_tls(files: TlsFiles, database_url: str) -> Settings:
    return Settings(database_url=database_url, health_listen="127.0.0.1:0", tls_cert=str(files.server_cert),
                    tls_key=str(files.server_key), tls_client_ca=str(files.ca))


def client_credentials(files: TlsFiles) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(files.ca.read_bytes(), files.client_key.read_bytes(), files.client_cert.read_bytes())


@pytest.fixture
def held():
    return HeldMetrics()


@pytest.fixture
def served(tls_files, sqlite_url, held):
    """A mutual-TLS server with a health port; yields it and a plaintext channel to the health port."""
    with running_server([("metrics", held_metrics_builder(held))], mutual_tls(tls_files, sqlite_url),
                        channel_credentials=client_credentials(tls_files)) as (server, channel):
        assert server.health_port is not None
        with grpc.insecure_channel(f"127.0.0.1:{server.health_port.port}") as health_channel:
            yield server, channel, health_channel


def test_the_health_port_answers_in_plaintext_the_statuses_of_a_port_that_requires_client_certificates(served):
    _, channel, health_channel = served
    plaintext, mutual = health_pb2_grpc.HealthStub(health_channel), health_pb2_grpc.HealthStub(channel)
    for service in ("", METRICS):
        request = health_pb2.HealthCheckRequest(service=service)
        assert plaintext.Check(request, timeout=5).status == mutual.Check(request, timeout=5).status == SERVING


def test_the_health_port_serves_nothing_but_health_and_its_reflection(served):
    _, _, health_channel = served
    with pytest.raises(grpc.RpcError) as raised:
        metrics_pb2_grpc.MetricsServiceStub(health_channel).ListMetrics(metrics_pb2.ListMetricsRequest(), timeout=5)
    assert raised.value.code() is grpc.StatusCode.UNIMPLEMENTED
    reflection = reflection_pb2_grpc.ServerReflectionStub(health_channel)
    responses = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
    names = {service.name for response in responses for service in response.list_services_response.service}
    assert names == {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}


def test_the_health_port_turns_not_serving_as_the_server_drains_and_closes_after_it(served, held):
    server, channel, health_channel = served
    in_flight = metrics_pb2_grpc.MetricsServiceStub(channel).GetStatistics.future(metrics_pb2.GetStatisticsRequest(), timeout=10)
    assert held.entered.wait(5)
    updates = health_pb2_grpc.HealthStub(health_channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert next(updates).status == SERVING

    stopper = threading.Thread(target=server.stop)
    stopper.start()
    assert next(updates).status == NOT_SERVING
    assert stopper.is_alive() and not in_flight.done()  # still draining, and the probes are told so

    held.release.set()
    assert in_flight.result() == metrics_pb2.GetStatisticsResponse()
    stopper.join(10)
    assert not stopper.is_alive()
    with pytest.raises(grpc.RpcError):  # the watch ends with the port
        next(updates)


def test_a_health_port_already_in_use_is_refused_naming_health_listen(sqlite_url, held):
    first, _ = create_server(Settings(database_url=sqlite_url, listen="127.0.0.1:0"), [("metrics", held_metrics_builder(held))])
    taken = f"127.0.0.1:{first.port}"
    try:
        settings = Settings(database_url=sqlite_url, listen="127.0.0.1:0", health_listen=taken)
        with pytest.raises(ConfigurationError, match=f"--health-listen {taken}: port {first.port} is already in use"):
            create_server(settings, [("metrics", held_metrics_builder(held))])
    finally:
        first.stop()
