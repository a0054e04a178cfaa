"""OTLP ingest: samples per second that OTLP's metrics Export stores (durable on return), on SQLite, beside the parse limit.

Several client processes (multiprocessing, spawn), each with its own channel, send
pre-serialized ExportMetricsServiceRequests to `autoscale up`'s gRPC port (the path an
OTel SDK or Collector takes) in a loop for a fixed time. Each request is one resource
(the attributes the group service gives its instances, and a service name) holding
gauges: `series` series (a point attribute `host` each) of `points` points each. The
figure is the data points stored per second (those sent, less those the answers count as
rejected: none, here), with 100 alarms attached to the metric (so every batch is also
handed to the Alarm service).

Parse limit, measured in the same run on the same requests, right before and right
after the service's run (the mean of the two): `ExportMetricsServiceRequest.FromString`
and the mapping to samples (services.metrics.otlp.map_export_request) in a bare loop,
one thread. The issue's figure: OTLP ingest >= 0.3 x the parse limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest, ExportMetricsServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2

from autoscale.validation import Violations
from bench import harness, ingest
from bench.harness import BenchResult, Figure
from bench.ingest import Shape, attach_alarms
from services.metrics import otlp

METRIC = "bench_otlp"
ATTACHED_ALARMS = 100
EXPORT_METHOD = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
SHAPES = (Shape(1000, 1), Shape(100, 10))
TARGET = 0.3


@dataclass(frozen=True)
class Sizes:
    clients: int
    seconds: float
    raw_seconds: float


FULL = Sizes(clients=4, seconds=10.0, raw_seconds=2.0)
QUICK = Sizes(clients=2, seconds=2.0, raw_seconds=0.5)


def _attribute(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def build_requests(shape: Shape, client: int, variants: int = 8) -> list[bytes]:
    """Serialized Export requests of one client: its own instance (so its own series), points a few seconds old."""
    now = time.time()
    requests = []
    for variant in range(variants):
        request = ExportMetricsServiceRequest()
        resource_metrics = request.resource_metrics.add()
        resource_metrics.resource.attributes.extend([
            _attribute("autoscale.project", "bench"), _attribute("autoscale.group", "bench"),
            _attribute("autoscale.instance", f"i-{client}"), _attribute("service.instance.id", f"i-{client}"),
            _attribute("service.name", "bench-worker"),
        ])
        metric = resource_metrics.scope_metrics.add().metrics.add(name=METRIC)
        gauge: metrics_pb2.Gauge = metric.gauge
        for number in range(shape.series):
            for index in range(shape.points):
                point = gauge.data_points.add(
                    as_double=float((number + index + variant) % 50), time_unix_nano=int((now - index - variant * 0.001) * 1e9)
                )
                point.attributes.append(_attribute("host", f"h{number}"))
        requests.append(request.SerializeToString())
    return requests


def client_process(address: str, payloads: list[bytes], barrier: Any, seconds: float, results: Any, slot: int) -> None:
    """Export `payloads` round-robin for `seconds` once every client is ready; put (slot, points, calls, errors, latencies,
    elapsed)."""
    channel = harness.channel(address, None)
    export = channel.unary_unary(EXPORT_METHOD, request_serializer=None, response_deserializer=ExportMetricsServiceResponse.FromString)
    sent = len(ExportMetricsServiceRequest.FromString(payloads[0]).resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points)
    export(payloads[0], timeout=60)  # the first batch creates the series
    barrier.wait(120)
    points = calls = errors = 0
    latencies: list[float] = []
    start = time.perf_counter()
    end = start + seconds
    index = 0
    while time.perf_counter() < end:
        begin = time.perf_counter()
        try:
            response = export(payloads[index % len(payloads)], timeout=60)
            rejected = response.partial_success.rejected_data_points
            points += sent - rejected
            errors += bool(rejected)
            calls += 1
        except grpc.RpcError:
            errors += 1
        latencies.append(time.perf_counter() - begin)
        index += 1
    elapsed = time.perf_counter() - start
    channel.close()
    results.put((slot, points, calls, errors, latencies, elapsed))


def parse_rate(payloads: list[bytes], seconds: float) -> float:
    """Data points per second of `ExportMetricsServiceRequest.FromString` and the mapping to samples, in a bare loop."""
    points = 0
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    index = 0
    while time.perf_counter() < end:
        request = ExportMetricsServiceRequest.FromString(payloads[index % len(payloads)])
        points += otlp.map_export_request(Violations(), request, time.time()).accepted_points
        index += 1
    return points / (time.perf_counter() - start)


def run(quick: bool = False) -> BenchResult:
    sizes = QUICK if quick else FULL
    result = BenchResult("otlp_ingest")
    with harness.workspace("otlp_ingest") as workdir:
        sampler = harness.RssSampler()
        try:
            with harness.temp_database("sqlite", workdir, "service") as url, harness.mesh(
                "up", url, workdir, sampler, alarm_sweep_interval=3600
            ) as services:
                attach_alarms(services.metrics, ATTACHED_ALARMS, metric=METRIC)
                for shape in SHAPES:
                    payloads = build_requests(shape, 0)
                    # NOTE: as bench.ingest, the limit is taken right before and right after the service's run.
                    before = parse_rate(payloads, sizes.raw_seconds)
                    measured = ingest.run_clients(
                        services.metrics, shape, sizes.clients, sizes.seconds, payloads_for=build_requests, client=client_process
                    )
                    after = parse_rate(payloads, sizes.raw_seconds)
                    limit = (before + after) / 2
                    value = measured["points_per_s"]
                    share = value / limit
                    result.add(Figure(
                        name=f"otlp ingest sqlite {shape.label}",
                        value=round(value),
                        unit="points/s",
                        raw=round(limit),
                        raw_unit="points/s",
                        raw_what="bare FromString + OTLP mapping, 1 thread",
                        ratio=round(share, 3),
                        target=f">= {TARGET} x raw",
                        met=share >= TARGET and measured["errors"] == 0,
                        details={
                            **{k: (round(v, 2) if isinstance(v, float) else v) for k, v in measured.items()},
                            "clients": sizes.clients,
                            "seconds": sizes.seconds,
                            "attached_alarms": ATTACHED_ALARMS,
                            "raw_parse_before_points_per_s": round(before),
                            "raw_parse_after_points_per_s": round(after),
                        },
                    ))
                    sampler.sample("up")
        finally:
            sampler.stop()
        result.peak_rss_mb["up (sqlite)"] = sampler.peak_mb().get("up", 0.0)
    return result
