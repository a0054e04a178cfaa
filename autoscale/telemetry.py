"""OpenTelemetry tracing: one trace from PutSamples through evaluation to Adjust.

Trace context travels in gRPC metadata (W3C traceparent) through the OTel gRPC
interceptors; work handed to a background thread carries its context along with
`capture_context` / `attached`. Exporters are chosen by the standard OTEL_*
variables (OTEL_TRACES_EXPORTER=otlp|console, OTEL_EXPORTER_OTLP_*); none by default.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import client_interceptor, server_interceptor
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

_configured = False


def _exporters(names: str) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in (n.strip() for n in names.split(",")):
        if name == "console":
            exporters.append(ConsoleSpanExporter())
        elif name == "otlp":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())
        elif name not in ("", "none"):
            raise ValueError(f"OTEL_TRACES_EXPORTER: unknown exporter {name!r} (use otlp, console or none)")
    return exporters


def configure_tracing(service_name: str, environ: Mapping[str, str]) -> None:
    """Install a tracer provider exporting as OTEL_TRACES_EXPORTER says (once per process).

    Without an exporter configured, nothing is installed, and neither are the gRPC interceptors.
    """
    global _configured
    if _configured:
        return
    exporters = _exporters(environ.get("OTEL_TRACES_EXPORTER", "none"))
    if not exporters:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME", service_name)}))
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _configured = True


def tracing() -> bool:
    """Whether spans go anywhere: an SDK tracer provider is installed (by configure_tracing, or by the program embedding us)."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


# NOTE: without tracing, the gRPC interceptors are left out rather than run with no-op spans: each
# still costs every call of the chain (sample → Adjust) tens of microseconds on both sides.


def server_interceptors() -> list[grpc.ServerInterceptor]:
    """Interceptors that start a server span from the caller's trace context (none when not tracing)."""
    return [server_interceptor()] if tracing() else []


def instrument_channel(channel: grpc.Channel) -> grpc.Channel:
    """A channel whose calls carry the current trace context in their metadata (as it is when not tracing)."""
    if not tracing():
        return channel
    # NOTE: OTel's client interceptor is of its own grpcext type, which only its
    # own intercept_channel accepts (grpc.intercept_channel raises TypeError).
    instrumented: grpc.Channel = intercept_channel(channel, client_interceptor())  # untyped, but a grpc.Channel subclass
    return instrumented


def capture_context() -> otel_context.Context:
    """The current trace context, to hand to a background thread with its work."""
    return otel_context.get_current()


@contextmanager
def attached(context: otel_context.Context | None) -> Iterator[None]:
    """Run a block of a background thread inside the trace context it was handed."""
    if context is None:
        yield
        return
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)


tracer = trace.get_tracer("autoscale")
"""The tracer the services use for their own spans (evaluation, reconcile)."""
