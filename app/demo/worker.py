"""The demo's instance: reports a CPU-like metric for its share of a shared load, through OpenTelemetry.

Each instance is a local process started by the local driver. It reads the total
demand the demo writes to `<demo dir>/demand`, counts the live instances by their
heartbeat files (as a load balancer spreads requests), and reports
`cpu_util = min(100, demand / instances)` as an OTel observable gauge, exported over OTLP
gRPC to the metrics service named by AUTOSCALE_METRICS_ADDR twice a second. Its resource
comes from OTEL_RESOURCE_ATTRIBUTES, which the group service sets: `autoscale.group` and
`autoscale.instance` become the dimensions {group, instance} the demo's alarms read
(services/metrics/otlp.py), as any OTel-instrumented workload would report.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource

REPORT_INTERVAL = 0.5
"""Seconds between two exports (and two heartbeats): the alarms' periods are 2 s."""
EXPORT_TIMEOUT = 5.0
HEARTBEAT_FRESH = 2.0


def cpu_share(demand: float, live_instances: int) -> float:
    """The CPU-like utilisation of one instance when `demand` is spread evenly."""
    return min(100.0, demand / max(1, live_instances))


def live_instances(heartbeat_dir: Path, now: float) -> int:
    """How many instances touched their heartbeat file in the last HEARTBEAT_FRESH seconds."""
    count = 0
    for beat in heartbeat_dir.iterdir():
        try:
            if now - beat.stat().st_mtime <= HEARTBEAT_FRESH:
                count += 1
        except FileNotFoundError:
            continue
    return count


def read_demand(demand_file: Path) -> float:
    """The total demand the demo set (0 while it has set none)."""
    try:
        return float(demand_file.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0.0


def meter_provider(metrics_addr: str) -> MeterProvider:
    """A MeterProvider exporting every REPORT_INTERVAL over OTLP gRPC (plaintext) to `metrics_addr`, its resource from
    OTEL_RESOURCE_ATTRIBUTES."""
    exporter = OTLPMetricExporter(endpoint=f"http://{metrics_addr}", insecure=True, timeout=EXPORT_TIMEOUT)
    reader = PeriodicExportingMetricReader(
        exporter, export_interval_millis=REPORT_INTERVAL * 1000, export_timeout_millis=EXPORT_TIMEOUT * 1000
    )
    return MeterProvider(resource=Resource.create({SERVICE_NAME: "autoscale-demo-worker"}), metric_readers=[reader])


def main() -> int:
    """Report until SIGTERM."""
    demo_dir = Path(os.environ["AUTOSCALE_DEMO_DIR"])
    instance = os.environ["AUTOSCALE_INSTANCE"]
    heartbeat_dir = demo_dir / "heartbeats"
    heartbeat_dir.mkdir(parents=True, exist_ok=True)
    beat = heartbeat_dir / instance
    beat.touch()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())

    def observe_cpu_util(options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(cpu_share(read_demand(demo_dir / "demand"), live_instances(heartbeat_dir, time.time())))

    provider = meter_provider(os.environ["AUTOSCALE_METRICS_ADDR"])
    provider.get_meter("app.demo.worker").create_observable_gauge("cpu_util", callbacks=[observe_cpu_util], unit="%")
    try:
        while not stopping.wait(REPORT_INTERVAL):
            beat.touch()
    finally:
        beat.unlink(missing_ok=True)
        provider.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
