"""Reaction: from PutSamples answering to GroupService.Adjust being entered, through alarm and policy.

One group with min_size = max_size = 0 and cooldown 0s, so that every Adjust changes
nothing, starts no process, and still records an activity (status UNCHANGED) whose
start_time is the clock reading Adjust took on entry (services/group/servicer.py).
Each of the firing alarms watches its own series (metric `bench_fire`, dimension
n=<i>, MAXIMUM > 50 over one 60 s period) and runs `policies/p` on entering ALARM.
For each in turn: PutSamples a value of 100 on its series, note time.time() when
the call answered, and poll ListActivities until an activity whose cause names
`alarms/fire-<i>` appears; the latency is its start_time minus that answer time.
One warm-up firing goes first and is not counted (WARMUP_FIRINGS).
Meanwhile 1000 idle alarms watch other series that a background process keeps
feeding, and the periodic sweep runs at its default interval. The firings start once
every idle alarm has left INSUFFICIENT_DATA (the background load has reached each of
its series): the steady state of a running autoscaler, not the seconds after a
thousand alarms were created, when each in turn takes its first transition.

Run on `autoscale up` (one process) and on four `autoscale serve` processes.
Raw limit: three sequential loopback unary round trips to a bare gRPC server in a
child process (health Check), median of RAW_PER_FIRING samples taken after each
firing of the mode (once its Adjust was seen): this machine's speed drifts by half
within minutes, and the limit is sampled over the same seconds, under the same
background load, as the figure. The details also give the stricter ratio to the
same round trips measured back to back on the quiet machine before the modes.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoscale.v1 import (
    alarm_pb2,
    alarm_pb2_grpc,
    common_pb2,
    group_pb2,
    group_pb2_grpc,
    metrics_pb2,
    metrics_pb2_grpc,
    policy_pb2,
    policy_pb2_grpc,
)
from bench import harness, ingest
from bench.harness import BenchResult, Figure

FIRE_METRIC = "bench_fire"
IDLE_METRIC = "bench_idle"
GROUP = "groups/g"
POLICY = "policies/p"
WARMUP_FIRINGS = 1
"""Firings before the measured ones, not counted: the first pays one-time costs (statements compiled
for the first time, the group's first cooldown row), which a running autoscaler paid long ago."""
FIRST_POLL_AFTER = 0.03
"""Seconds the poller waits after PutSamples answered before its first ListActivities.

The latency is read off the activity's start time, not off when the poller sees it,
so the poller need not race the chain: asking while the chain runs would only load
the server it measures (in `up`, every poll took the GIL from the chain)."""
POLL_INTERVAL = 0.01
"""Seconds between two ListActivities of the poller after the first."""
RAW_PER_FIRING = 10
"""Samples of the raw limit (three loopback round trips) taken after each firing."""
QUIET_RAW_REPETITIONS = 1000
"""Samples of the raw limit taken back to back before the modes, on the quiet machine."""


@dataclass(frozen=True)
class Sizes:
    firing: int
    idle: int
    background_series: int
    background_pause: float
    timeout: float
    budget: float
    """Seconds of firings at most per mode (the rest are skipped, and said so), to bound the whole run."""
    modes: tuple[str, ...]


FULL = Sizes(
    firing=200, idle=1000, background_series=20, background_pause=0.1,
    timeout=15.0, budget=120.0, modes=("up", "serve"),
)
QUICK = Sizes(
    firing=20, idle=100, background_series=10, background_pause=0.1,
    timeout=10.0, budget=20.0, modes=("up",),
)


def threshold_alarm(metric: str, number: int, threshold: float, actions: list[str]) -> alarm_pb2.Alarm:
    alarm = alarm_pb2.Alarm(
        threshold_rule=alarm_pb2.ThresholdRule(
            metric=metric,
            dimensions={"n": str(number)},
            statistic=common_pb2.STATISTIC_MAXIMUM,
            comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN,
            threshold=threshold,
            evaluation_periods=1,
        ),
        alarm_actions=actions,
    )
    alarm.threshold_rule.period.FromSeconds(60)
    return alarm


def setup(services: harness.Mesh, sizes: Sizes) -> None:
    with harness.channel(services.group) as chan:
        groups = group_pb2_grpc.GroupServiceStub(chan)
        groups.CreateLaunchConfig(
            group_pb2.CreateLaunchConfigRequest(
                launch_config_id="noop",
                launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=[sys.executable, "-c", "pass"])),
            )
        )
        group = group_pb2.Group(launch_config="launchConfigs/noop", min_size=0, max_size=0)
        group.cooldown.FromSeconds(0)
        groups.CreateGroup(group_pb2.CreateGroupRequest(group_id="g", group=group))
    with harness.channel(services.policy) as chan:
        policy = policy_pb2.Policy(group=GROUP, adjustment_type=common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY, scaling_adjustment=1)
        policy.cooldown.FromSeconds(0)
        policy_pb2_grpc.PolicyServiceStub(chan).CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id="p", policy=policy))
    create = alarm_pb2.CreateAlarmRequest
    requests = [
        create(alarm_id=f"fire-{n}", alarm=threshold_alarm(FIRE_METRIC, n, 50.0, [POLICY])) for n in range(sizes.firing + WARMUP_FIRINGS)
    ]
    requests += [create(alarm_id=f"idle-{n}", alarm=threshold_alarm(IDLE_METRIC, n, 1e9, [])) for n in range(sizes.idle)]
    harness.create_alarms(services.alarm, requests)


def background_payloads(sizes: Sizes) -> list[bytes]:
    """Batches over the idle alarms' series, `background_series` series each, cycling through all of them."""
    payloads = []
    for start in range(0, sizes.idle, sizes.background_series):
        request = metrics_pb2.PutSamplesRequest()
        for number in range(start, min(start + sizes.background_series, sizes.idle)):
            series = request.series.add(metric=IDLE_METRIC)
            series.dimensions["n"] = str(number)
            series.points.add(value=1.0)  # no time: the server's receive time
        payloads.append(request.SerializeToString())
    return payloads


IDLE_SETTLE_TIMEOUT = 60.0
"""Seconds the idle alarms get to leave INSUFFICIENT_DATA before the firings start anyway (and a note says so)."""


def wait_for_idle_alarms(services: harness.Mesh, sizes: Sizes) -> tuple[float, int]:
    """Wait until no idle alarm is in INSUFFICIENT_DATA (at most IDLE_SETTLE_TIMEOUT); seconds waited and how many still are."""
    started = time.monotonic()
    with harness.channel(services.alarm) as chan:
        alarms = alarm_pb2_grpc.AlarmServiceStub(chan)
        while True:
            unsettled, token = 0, ""
            while True:
                page = alarms.ListAlarms(alarm_pb2.ListAlarmsRequest(page_size=1000, page_token=token), timeout=60)
                waiting = alarm_pb2.ALARM_STATE_INSUFFICIENT_DATA
                unsettled += sum(1 for alarm in page.alarms if alarm.name.startswith("alarms/idle-") and alarm.state == waiting)
                token = page.next_page_token
                if not token:
                    break
            waited = time.monotonic() - started
            if unsettled == 0 or waited > IDLE_SETTLE_TIMEOUT:
                return waited, unsettled
            time.sleep(0.5)


def measure_firings(services: harness.Mesh, sizes: Sizes, raw: harness.LoopbackRoundTrips) -> dict[str, Any]:
    """Fire each firing alarm in turn; the Adjust latencies (s), the misses, and the raw limit's samples (s) taken between."""
    latencies: list[float] = []
    raw_samples: list[float] = []
    observed: list[float] = []
    misses: list[str] = []
    skipped = 0
    budget_end = time.monotonic() + sizes.budget
    with harness.channel(services.metrics) as metrics_chan, harness.channel(services.group) as group_chan:
        metrics = metrics_pb2_grpc.MetricsServiceStub(metrics_chan)
        groups = group_pb2_grpc.GroupServiceStub(group_chan)
        listing = group_pb2.ListActivitiesRequest(parent=GROUP, page_size=20)
        # The warm-up firings (numbered after the measured ones) go first.
        for number in [*range(sizes.firing, sizes.firing + WARMUP_FIRINGS), *range(sizes.firing)]:
            if time.monotonic() > budget_end:
                skipped = sizes.firing - number if number < sizes.firing else sizes.firing
                break
            marker = f"alarms/fire-{number} "
            request = metrics_pb2.PutSamplesRequest()
            series = request.series.add(metric=FIRE_METRIC)
            series.dimensions["n"] = str(number)
            series.points.add(value=100.0)
            metrics.PutSamples(request, timeout=30)
            answered = time.time()
            deadline = time.monotonic() + sizes.timeout
            found = None
            time.sleep(FIRST_POLL_AFTER)
            while found is None and time.monotonic() < deadline:
                for activity in groups.ListActivities(listing, timeout=30).activities:
                    if marker in activity.cause:
                        found = activity
                        break
                else:
                    time.sleep(POLL_INTERVAL)
            if found is None:
                misses.append(f"fire-{number}")
                continue
            if number >= sizes.firing:
                continue  # a warm-up firing
            seen = time.time()
            latencies.append(found.start_time.seconds + found.start_time.nanos / 1e9 - answered)
            observed.append(seen - answered)
            raw_samples.extend(raw.measure(RAW_PER_FIRING))
    return {"latencies": latencies, "observed": observed, "misses": misses, "skipped": skipped, "raw": raw_samples}


def run_mode(mode: str, sizes: Sizes, workdir: Path, result: BenchResult, raw_address: str, quiet_raw: float) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    sampler = harness.RssSampler()
    if mode == "up":
        database: str | dict[str, str] = f"sqlite:///{workdir / 'autoscale.db'}"
    else:
        database = {name: f"sqlite:///{workdir / (name + '.db')}" for name in harness.SERVICES}
    context = multiprocessing.get_context("spawn")
    try:
        with harness.mesh(mode, database, workdir, sampler) as services:
            setup(services, sizes)
            results = context.Queue()
            payloads = background_payloads(sizes)
            background = context.Process(
                target=ingest.client_process,
                args=(services.metrics, payloads, None, 3600.0, results, 0, sizes.background_pause),
                daemon=True,
            )
            if payloads:
                background.start()
            try:
                time.sleep(1.0)  # the background load is flowing
                settled_after, unsettled = wait_for_idle_alarms(services, sizes) if payloads else (0.0, 0)
                raw = harness.LoopbackRoundTrips(raw_address, hops=3)
                try:
                    measured = measure_firings(services, sizes, raw)
                finally:
                    raw.close()
            finally:
                if payloads:
                    background.terminate()
                    background.join(10)
    finally:
        sampler.stop()
    latencies = measured["latencies"]
    if unsettled:
        result.notes.append(
            f"{mode}: {unsettled} idle alarms were still in INSUFFICIENT_DATA after {settled_after:.0f}s; the firings started anyway"
        )
    for name, mb in sampler.peak_mb().items():
        result.peak_rss_mb[f"{mode}: {name}" if mode == "serve" else name] = mb
    if measured["misses"]:
        result.notes.append(
            f"{mode}: {len(measured['misses'])} of {sizes.firing} firings produced no Adjust within {sizes.timeout:g}s "
            f"(first: {', '.join(measured['misses'][:5])})"
        )
    if measured["skipped"]:
        result.notes.append(f"{mode}: {measured['skipped']} of {sizes.firing} firings skipped: the {sizes.budget:g}s budget was spent")
    if not latencies:
        raise RuntimeError(f"{mode}: no firing reached Adjust")
    p50, p99, worst = (harness.percentile(latencies, q) * 1000 for q in (0.5, 0.99, 1.0))
    raw_ms = harness.percentile(measured["raw"], 0.5) * 1000
    details = {
        "firings": sizes.firing,
        "measured": len(latencies),
        "missed": len(measured["misses"]),
        "skipped": measured["skipped"],
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(worst, 2),
        "min_ms": round(min(latencies) * 1000, 2),
        "observed_by_poller_p50_ms": round(harness.percentile(measured["observed"], 0.5) * 1000, 2),
        "idle_alarms": sizes.idle,
        "background_points_per_s": round(sizes.background_series / sizes.background_pause),
        "idle_alarms_settled_after_s": round(settled_after, 1),
        "raw_samples": len(measured["raw"]),
        "raw_p10_ms": round(harness.percentile(measured["raw"], 0.1) * 1000, 3),
        "raw_p90_ms": round(harness.percentile(measured["raw"], 0.9) * 1000, 3),
        "quiet_raw_ms": round(quiet_raw * 1000, 3),
        "p99_to_quiet_raw": round(p99 / (quiet_raw * 1000), 1),
    }
    common = {
        "raw": round(raw_ms, 3), "raw_unit": "ms", "raw_what": "3 sequential loopback gRPC round trips (p50, sampled between the firings)",
    }
    result.add(Figure(name=f"reaction ({mode}) p50", value=round(p50, 2), unit="ms", ratio=round(p50 / raw_ms, 1), **common))
    result.add(
        Figure(
            name=f"reaction ({mode}) p99",
            value=round(p99, 2),
            unit="ms",
            ratio=round(p99 / raw_ms, 1),
            target="<= 10 x raw and < 20 ms",
            met=p99 <= 10 * raw_ms and p99 < 20 and not measured["misses"],
            details=details,
            **common,
        )
    )
    result.add(Figure(name=f"reaction ({mode}) max", value=round(worst, 2), unit="ms", ratio=round(worst / raw_ms, 1), **common))


def run(quick: bool = False) -> BenchResult:
    sizes = QUICK if quick else FULL
    result = BenchResult("reaction")
    with harness.bare_grpc_server() as raw_address, harness.workspace("reaction") as workdir:
        # Beside the limit sampled between the firings: the same round trips back to back on the quiet machine
        # (the stricter yardstick, in the details).
        quiet = harness.LoopbackRoundTrips(raw_address, hops=3)
        try:
            quiet_raw = harness.percentile(quiet.measure(QUIET_RAW_REPETITIONS), 0.5)
        finally:
            quiet.close()
        for mode in sizes.modes:
            try:
                run_mode(mode, sizes, workdir / mode, result, raw_address, quiet_raw)
            except Exception as error:
                # One mode failing does not hide the other's figures.
                result.error = (result.error + "; " if result.error else "") + f"{mode}: {type(error).__name__}: {error}"
    return result
