"""Prometheus sweep: a sweep of 1000 alarms over a real Prometheus (issue 16's figure: < 2 s).

Setup: a real Prometheus (Debian's /usr/bin/prometheus, started as the tests start it:
tests/prometheus_server.py) scrapes an exporter of this process every second that
serves `bench_load` for SHARDS shards. Alarm j's prometheus_rule is
`avg(bench_load{shard="<j % SHARDS>"}) * <1 + j // SHARDS>`: every alarm asks a
query of its own (none shares a call), over one period of 60 s (two instants).
The alarms are created through `serve alarm` alone, with that Prometheus.

Measure: `autoscale up --prometheus-url` on that database, its sweep interval an
hour: the sweep of the alarms over external stores runs once on start and
evaluates every alarm. The service logs how long it took ("swept N alarms over
external stores in X s", at INFO); that is the figure. Afterwards every alarm's
`evaluate_time` (ListAlarms) is checked to lie after the start, and its state to be
OK (each query has a value, below the threshold), so the count is seen from outside.

Raw limit, in the same run: the same query_range calls (same queries, window and
step) made directly by this process to the same Prometheus over as many keep-alive
connections as the service uses (services.alarm.store_evaluator.CONCURRENCY).

Skipped, with the reason as a note, when Prometheus is not installed.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3

from autoscale.timeutil import to_duration
from autoscale.v1 import alarm_pb2, alarm_pb2_grpc
from bench import harness
from bench.alarm_scale import evaluate_times
from bench.harness import BenchResult, Figure
from services.alarm.store_evaluator import CONCURRENCY
from tests.prometheus_server import PrometheusServer, PrometheusUnavailable, started_prometheus

SHARDS = 100
PERIOD = 60.0
TARGET_SECONDS = 2.0


@dataclass(frozen=True)
class Sizes:
    alarms: int
    sweep_cap: float
    """Seconds the first sweep is waited for at most."""


FULL = Sizes(alarms=1000, sweep_cap=120.0)
QUICK = Sizes(alarms=200, sweep_cap=60.0)


def query(number: int) -> str:
    return f'avg(bench_load{{shard="{number % SHARDS}"}}) * {1 + number // SHARDS}'


def alarm_requests(count: int) -> list[alarm_pb2.CreateAlarmRequest]:
    return [
        alarm_pb2.CreateAlarmRequest(
            alarm_id=f"p{number}",
            alarm=alarm_pb2.Alarm(prometheus_rule=alarm_pb2.PrometheusRule(
                query=query(number), comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, threshold=1e9,
                period=to_duration(PERIOD), evaluation_periods=1,
            )),
        )
        for number in range(count)
    ]


def raw_query_range_seconds(url: str, count: int) -> float:
    """Seconds `count` query_range calls (the alarms' queries, window and step) take made directly, CONCURRENCY at once."""
    pool = urllib3.PoolManager(num_pools=1, maxsize=CONCURRENCY, block=True, retries=False, timeout=urllib3.Timeout(total=30))
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    now = time.time()

    def call(number: int) -> None:
        body = urlencode({"query": query(number), "start": f"{now - PERIOD:.3f}", "end": f"{now:.3f}", "step": f"{PERIOD:g}"})
        response = pool.request("POST", f"{url}/api/v1/query_range", body=body, headers=headers)
        if response.status != 200 or b'"success"' not in response.data:
            raise RuntimeError(f"query_range answered HTTP {response.status}: {response.data[:200]!r}")

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as threads:
        list(threads.map(call, range(count)))
    seconds = time.perf_counter() - started
    pool.clear()
    return seconds


SWEEP_LOGGED = re.compile(r"swept (\d+) alarms over external stores in ([0-9.]+)s")


def measure_sweep(address: str, log_path: Path, count: int, started: float, sizes: Sizes) -> dict[str, Any]:
    """Wait for the service's own account of its first sweep of the alarms over stores; then look from outside."""
    logged = harness.wait_until(lambda: SWEEP_LOGGED.search(log_path.read_text()), sizes.sweep_cap, "the first Prometheus sweep", 0.25)
    evaluated, sweep = int(logged.group(1)), float(logged.group(2))
    with harness.channel(address) as chan:
        stub = alarm_pb2_grpc.AlarmServiceStub(chan)
        seen = sum(1 for evaluated_at in evaluate_times(stub).values() if evaluated_at > started)
        states = _states(stub)
    return {
        "sweep_s": sweep,
        "measured_by": "the service's log",
        "complete": evaluated == count and seen == count,
        "evaluated_in_sweep": evaluated,
        "evaluated_seen_from_outside": seen,
        "ok_after_sweep": states.get(alarm_pb2.ALARM_STATE_OK, 0),
    }


def _states(stub: alarm_pb2_grpc.AlarmServiceStub) -> dict[int, int]:
    counts: dict[int, int] = {}
    token = ""
    while True:
        page = stub.ListAlarms(alarm_pb2.ListAlarmsRequest(page_size=1000, page_token=token), timeout=120)
        for alarm in page.alarms:
            counts[alarm.state] = counts.get(alarm.state, 0) + 1
        token = page.next_page_token
        if not token:
            return counts


def serve_gauges(prometheus: PrometheusServer) -> None:
    """The exporter serves a value per shard; returns once Prometheus has scraped them all."""
    for shard in range(SHARDS):
        prometheus.exporter.set("bench_load", float(shard % 10), shard=str(shard))
    prometheus.wait_for_value("count(bench_load)", float(SHARDS), timeout=30)


def run(quick: bool = False) -> BenchResult:
    sizes = QUICK if quick else FULL
    result = BenchResult("prometheus_sweep")
    count = sizes.alarms
    sampler = harness.RssSampler()
    setup_sampler = harness.RssSampler()
    try:
        with tempfile.TemporaryDirectory(prefix="autoscale-bench-prometheus-") as folder, contextlib.ExitStack() as stack:
            try:
                prometheus = stack.enter_context(started_prometheus(Path(folder)))
            except PrometheusUnavailable as error:
                result.notes.append(f"skipped: no Prometheus to measure against: {error}")
                return result
            serve_gauges(prometheus)
            with harness.workspace("prometheus-sweep") as workdir:
                url = f"sqlite:///{workdir / 'autoscale.db'}"
                # 1. The alarms, through the alarm service alone (each create evaluates its alarm once).
                closed = f"127.0.0.1:{harness.free_port()}"
                with harness.serve_one("alarm", url, workdir, setup_sampler, {"metrics": closed}, prometheus_url=prometheus.url) as alarm:
                    begin = time.perf_counter()
                    harness.create_alarms(alarm.address, alarm_requests(count))
                    create_rate = count / (time.perf_counter() - begin)
                # 2. The raw limit, against the same Prometheus, in the same run.
                raw = raw_query_range_seconds(prometheus.url, count)
                # 3. The whole mesh: its sweep of the alarms over stores runs once on start.
                started = time.time()
                with harness.mesh(
                    "up", url, workdir, sampler, log_level="info", alarm_sweep_interval=3600, prometheus_url=prometheus.url
                ) as services:
                    measured = measure_sweep(services.alarm, services.process("up").log_path, count, started, sizes)
    finally:
        sampler.stop()
        setup_sampler.stop()
    result.peak_rss_mb = sampler.peak_mb()
    if not measured["complete"] or measured["ok_after_sweep"] != count:
        result.notes.append(
            f"the sweep evaluated {measured['evaluated_in_sweep']} of {count} alarms ({measured['evaluated_seen_from_outside']} seen "
            f"evaluated through ListAlarms, {measured['ok_after_sweep']} OK)"
        )
    sweep = measured["sweep_s"]
    result.add(
        Figure(
            name=f"Prometheus sweep, {count} alarms",
            value=round(sweep, 3),
            unit="s",
            raw=round(raw, 3),
            raw_unit="s",
            raw_what=f"the same {count} query_range calls made directly, {CONCURRENCY} at once",
            ratio=round(sweep / raw, 2) if raw else None,
            target=f"< {TARGET_SECONDS:g} s" if count == FULL.alarms else "",
            met=sweep < TARGET_SECONDS if count == FULL.alarms else None,
            details={
                **{k: round(v, 3) if isinstance(v, float) else v for k, v in measured.items()},
                "alarms": count,
                "distinct_queries": count,
                "concurrency": CONCURRENCY,
                "create_alarms_per_s": round(create_rate, 1),
            },
        )
    )
    return result
