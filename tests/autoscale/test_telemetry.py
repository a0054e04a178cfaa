import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from autoscale import telemetry


@pytest.fixture
def channel():
    channel = grpc.insecure_channel("127.0.0.1:1")
    yield channel
    channel.close()


def test_without_tracing_calls_go_through_no_interceptor(monkeypatch, channel):
    monkeypatch.setattr(telemetry.trace, "get_tracer_provider", lambda: trace.ProxyTracerProvider())
    assert not telemetry.tracing()
    assert telemetry.server_interceptors() == []
    assert telemetry.instrument_channel(channel) is channel


def test_with_an_sdk_tracer_provider_calls_carry_and_start_spans(monkeypatch, channel):
    monkeypatch.setattr(telemetry.trace, "get_tracer_provider", lambda: TracerProvider())
    assert telemetry.tracing()
    assert len(telemetry.server_interceptors()) == 1
    assert telemetry.instrument_channel(channel) is not channel
