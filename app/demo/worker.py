"""The demo's instance: reports a CPU-like metric for its share of a shared load.

Each instance is a local process started by the local driver. It reads the total
demand the demo writes to `<demo dir>/demand`, counts the live instances by their
heartbeat files (as a load balancer spreads requests), and reports
`cpu_util = min(100, demand / instances)` with dimensions {group, instance} to the
metrics service named by AUTOSCALE_METRICS_ADDR, twice a second.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import grpc

from autoscale.v1 import metrics_pb2, metrics_pb2_grpc

REPORT_INTERVAL = 0.5
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


def main() -> int:
    """Report until SIGTERM."""
    demo_dir = Path(os.environ["AUTOSCALE_DEMO_DIR"])
    group, instance = os.environ["AUTOSCALE_GROUP"], os.environ["AUTOSCALE_INSTANCE"]
    heartbeat_dir = demo_dir / "heartbeats"
    heartbeat_dir.mkdir(parents=True, exist_ok=True)
    beat = heartbeat_dir / instance
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    channel = grpc.insecure_channel(os.environ["AUTOSCALE_METRICS_ADDR"])
    metrics = metrics_pb2_grpc.MetricsServiceStub(channel)
    try:
        while not stopping:
            beat.touch()
            value = cpu_share(read_demand(demo_dir / "demand"), live_instances(heartbeat_dir, time.time()))
            series = metrics_pb2.TimeSeries(metric="cpu_util", dimensions={"group": group, "instance": instance})
            series.points.add(value=value)
            try:
                metrics.PutSamples(metrics_pb2.PutSamplesRequest(series=[series]), timeout=5)
            except grpc.RpcError as error:
                print(f"PutSamples failed: {error.code().name}", file=sys.stderr, flush=True)
            time.sleep(REPORT_INTERVAL)
    finally:
        beat.unlink(missing_ok=True)
        channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
