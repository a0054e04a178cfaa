"""Alarm scale: 10 000 alarms over 100 000 series; the time of one full periodic sweep.

Setup, on one SQLite file: one point goes to each of the 100 000 series (100
metrics x 1000 series; dimensions s=<0..999> and g=<s % 100>) through `serve
metrics` alone; then 10 000 alarms are created through `serve alarm` alone, alarm
j on metric m<j % 100> with dimension g=<j // 100> (ten series each). That alarm
service's metrics peer is a closed port, so the evaluation each CreateAlarm queues
fails at once instead of making creation last as long as a sweep.

Measure: `autoscale up` on that database, its sweep interval an hour: the periodic
sweep runs once on start and evaluates every alarm. The service logs how long the
sweep took ("sweep evaluated N alarms in X s", at INFO); that is the figure, and
evaluations per second = N / X. Afterwards every alarm's `evaluate_time`
(ListAlarms) is checked to lie after the start, so the count is seen from outside too.
Nothing polls while the sweep runs (10 000 alarms listed would compete with it).

Raw limit: as many unary loopback round trips (each evaluation makes one
GetStatistics call) from 4 threads (the evaluator's) to a bare gRPC server.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoscale.v1 import alarm_pb2, alarm_pb2_grpc, common_pb2, metrics_pb2, metrics_pb2_grpc
from bench import harness
from bench.harness import BenchResult, Figure


@dataclass(frozen=True)
class Sizes:
    metrics: int
    series_per_metric: int
    groups_per_metric: int
    sweep_cap: float
    """Seconds the first sweep is watched at most; a slower sweep's time is extrapolated from its rate."""
    poll_interval: float


FULL = Sizes(metrics=100, series_per_metric=1000, groups_per_metric=100, sweep_cap=90.0, poll_interval=2.0)
QUICK = Sizes(metrics=10, series_per_metric=500, groups_per_metric=100, sweep_cap=20.0, poll_interval=0.25)


def seed_series(address: str, sizes: Sizes) -> float:
    """One point on every series (one request per metric, 2 in flight); returns new series per second."""
    now = time.time()

    def request(metric: int) -> metrics_pb2.PutSamplesRequest:
        batch = metrics_pb2.PutSamplesRequest()
        for number in range(sizes.series_per_metric):
            series = batch.series.add(metric=f"m{metric}")
            series.dimensions["s"] = str(number)
            series.dimensions["g"] = str(number % sizes.groups_per_metric)
            point = series.points.add(value=float(number % 10))
            point.time.FromNanoseconds(int(now * 1e9))
        return batch

    started = time.perf_counter()
    with harness.channel(address) as chan:
        stub = metrics_pb2_grpc.MetricsServiceStub(chan)
        with ThreadPoolExecutor(2) as pool:
            for _ in pool.map(lambda metric: stub.PutSamples(request(metric), timeout=300), range(sizes.metrics)):
                pass
    return sizes.metrics * sizes.series_per_metric / (time.perf_counter() - started)


def alarm_requests(sizes: Sizes) -> list[alarm_pb2.CreateAlarmRequest]:
    requests = []
    for group in range(sizes.groups_per_metric):
        for metric in range(sizes.metrics):
            alarm = alarm_pb2.Alarm(
                threshold_rule=alarm_pb2.ThresholdRule(
                    metric=f"m{metric}",
                    dimensions={"g": str(group)},
                    statistic=common_pb2.STATISTIC_AVERAGE,
                    comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN,
                    threshold=1e9,
                    evaluation_periods=1,
                )
            )
            alarm.threshold_rule.period.FromSeconds(300)
            requests.append(alarm_pb2.CreateAlarmRequest(alarm_id=f"a{metric}-{group}", alarm=alarm))
    return requests


def evaluate_times(stub: alarm_pb2_grpc.AlarmServiceStub) -> dict[str, float]:
    """Every alarm's evaluate_time (0 when never evaluated), through ListAlarms pages of 1000."""
    times: dict[str, float] = {}
    token = ""
    while True:
        page = stub.ListAlarms(alarm_pb2.ListAlarmsRequest(page_size=1000, page_token=token), timeout=120)
        for alarm in page.alarms:
            stamp = alarm.evaluate_time
            times[alarm.name] = stamp.seconds + stamp.nanos / 1e9
        token = page.next_page_token
        if not token:
            return times


SWEEP_LOGGED = re.compile(r"sweep evaluated (\d+) alarms in ([0-9.]+)s")


def measure_sweep(address: str, log_path: Path, count: int, started: float, sizes: Sizes) -> dict[str, Any]:
    """Wait for the service's own account of its first sweep; then count the alarms evaluated since `started` from outside."""
    deadline = time.monotonic() + sizes.sweep_cap
    logged = None
    while logged is None and time.monotonic() < deadline:
        time.sleep(sizes.poll_interval)
        logged = SWEEP_LOGGED.search(log_path.read_text())
    if logged is None:
        raise RuntimeError(f"the first sweep did not end within {sizes.sweep_cap:g}s")
    evaluated, sweep = int(logged.group(1)), float(logged.group(2))
    with harness.channel(address) as chan:
        seen = sum(1 for evaluated_at in evaluate_times(alarm_pb2_grpc.AlarmServiceStub(chan)).values() if evaluated_at > started)
    return {
        "sweep_s": sweep,
        "evaluations_per_s": evaluated / sweep if sweep > 0 else 0.0,
        "measured_by": "the service's log",
        "complete": evaluated == count and seen == count,
        "evaluated_in_window": evaluated,
        "evaluated_seen_from_outside": seen,
    }


def run(quick: bool = False) -> BenchResult:
    sizes = QUICK if quick else FULL
    result = BenchResult("alarm_scale")
    count = sizes.metrics * sizes.groups_per_metric
    series = sizes.metrics * sizes.series_per_metric
    with harness.bare_grpc_server() as address:
        raw_rate = harness.loopback_calls_per_second(address, threads=4, seconds=2.0)
    raw_sweep = count / raw_rate
    sampler = harness.RssSampler()
    setup_sampler = harness.RssSampler()
    try:
        with harness.workspace("alarm-scale") as workdir:
            url = f"sqlite:///{workdir / 'autoscale.db'}"
            # 1. The series, through the metrics service alone.
            with harness.serve_one("metrics", url, workdir, setup_sampler) as metrics:
                seed_rate = seed_series(metrics.address, sizes)
            # 2. The alarms, through the alarm service alone: its metrics peer is a closed port, so the evaluation
            #    each CreateAlarm queues fails at once instead of making creation take as long as a sweep.
            with harness.serve_one("alarm", url, workdir, setup_sampler, {"metrics": f"127.0.0.1:{harness.free_port()}"}) as alarm:
                harness.set_quota(alarm.address, alarms=count)
                begin = time.perf_counter()
                harness.create_alarms(alarm.address, alarm_requests(sizes))
                create_rate = count / (time.perf_counter() - begin)
            # 3. The whole mesh: its periodic sweep runs once on start (then not again within the run).
            started = time.time()
            with harness.mesh("up", url, workdir, sampler, log_level="info", alarm_sweep_interval=3600) as services:
                process = services.process("up")
                rss_start = harness.read_status_kb(process.pid, "VmRSS") or 0
                measured = measure_sweep(services.alarm, process.log_path, count, started, sizes)
                pid = process.pid
                rss_after = harness.read_status_kb(pid, "VmRSS") or 0
    finally:
        sampler.stop()
        setup_sampler.stop()
    result.peak_rss_mb = sampler.peak_mb()
    if not measured["complete"]:
        result.notes.append(
            f"the sweep evaluated {measured['evaluated_in_window']} of {count} alarms "
            f"({measured['evaluated_seen_from_outside']} seen evaluated through ListAlarms)"
        )
    sweep = measured["sweep_s"]
    rate = measured["evaluations_per_s"]
    result.add(
        Figure(
            name=f"full sweep, {count} alarms / {series} series",
            value=round(sweep, 3),
            unit="s",
            raw=round(raw_sweep, 3),
            raw_unit="s",
            raw_what=f"{count} loopback unary calls over 4 threads",
            ratio=round(sweep / raw_sweep, 1),
            target="< 1 s",
            met=sweep < 1.0,
            details={
                **{k: round(v, 3) if isinstance(v, float) else v for k, v in measured.items()},
                "alarms": count,
                "series": series,
                "create_alarms_per_s": round(create_rate, 1),
                "seed_new_series_per_s": round(seed_rate),
                "rss_at_start_mb": round(rss_start / 1024, 1),
                "rss_after_sweep_mb": round(rss_after / 1024, 1),
            },
        )
    )
    result.add(
        Figure(
            name="evaluations per second (sweep)",
            value=round(rate, 1),
            unit="evals/s",
            raw=round(raw_rate),
            raw_unit="calls/s",
            raw_what="loopback unary calls, 4 threads",
            ratio=round(rate / raw_rate, 3),
        )
    )
    result.add(
        Figure(
            name="RSS of `up` after the sweep",
            value=round(rss_after / 1024, 1),
            unit="MB",
            raw=round(rss_start / 1024, 1),
            raw_unit="MB",
            raw_what="RSS when it became healthy (alarms loaded)",
            ratio=round(rss_after / rss_start, 2) if rss_start else None,
        )
    )
    return result
