"""Reaction: from PutSamples (the sample that fires an alarm) until GetGroup shows the new desired capacity.

Measured from outside, through the public API, on the real path: one group of local
processes (`sleep`), min_size 1, max_size 2, cooldown 0s, and two exact-capacity
policies (`policies/two`: 2, `policies/one`: 1, cooldown 0s), so that the capacity
really changes on every firing, alternating 1 → 2 → 1, and instances of the local
driver really start and stop. Each firing alarm watches its own series (metric
`bench_fire`, dimension n=<i>, MAXIMUM > 50 over one FIRING_PERIOD) and runs the policy
that moves the group away from the capacity it will have then.

For each firing: wait until the group has settled (its desired capacity is what the
firing starts from, as many instances run, no activity is in progress: the previous
firing's process has started or stopped), sample the raw limit, then note
time.perf_counter(), PutSamples a value of 100 on the alarm's series, and call GetGroup
until its desired capacity is the new one; the latency is the time that GetGroup
answered minus the time PutSamples was called. The poller calls GetGroup back to back
with POLL_PAUSE between calls, so a figure is late by at most one GetGroup round trip
and the pause; each poll is a real call on the measured server (in `up`, it takes the
interpreter lock from the chain for its while), which the figure includes. The details
split the figure at the Adjust's entry (its activity's start time, read afterwards).
One warm-up firing goes first and is not counted (WARMUP_FIRINGS).

Meanwhile 1000 idle alarms watch other series that a background process keeps
feeding, and the periodic sweep runs at its default interval. Before the firings, each
firing alarm's series receives a value below its threshold (SEEDED_VALUE), so that a
firing is what it is in a running autoscaler: a new sample of a series that reports
already moves its alarm from OK to ALARM. The firings start once no alarm is in
INSUFFICIENT_DATA (the background load has reached each idle alarm's series): the
steady state of a running autoscaler. The group service runs with
`--reconcile-interval` RECONCILE_INTERVAL: the reconcile pass that an Adjust wakes
starts or stops the process, and the activity ends one pass later, so the interval
bounds how long a group takes to settle between two firings (with the default 2 s,
200 firings would take seven minutes).

The no-op figure of earlier rounds is kept, labelled as such: a second group with
min_size = max_size = 0 and a change-in-capacity policy, so that every Adjust changes
nothing and starts no process; its latency is the start time of the (UNCHANGED)
activity Adjust records (the clock reading Adjust took on entry) minus the time the
PutSamples call answered.

Run on `autoscale up` (one process) and on four `autoscale serve` processes, in plaintext with
authentication off (PLAIN); bench/reaction_auth.py runs the same firings on a mesh with API keys and TLS
(a `Variant`), its raw limit the same round trips over TLS with the same token.
Raw limit: three sequential loopback unary round trips to a bare gRPC server in a
child process (health Check), median of RAW_PER_FIRING samples taken before each
firing (once the group has settled): this machine's speed drifts by half within
minutes, and the limit is sampled over the same seconds, under the same background
load, as the figure. The details also give the stricter ratio to the same round
trips measured back to back on the quiet machine before the modes.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import field_mask_pb2

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
NOOP_METRIC = "bench_noop"
IDLE_METRIC = "bench_idle"
GROUP = "groups/g"
NOOP_GROUP = "groups/noop"
LOW, HIGH = 1, 2
"""The two capacities the group alternates between."""
POLICY_TO = {HIGH: "policies/two", LOW: "policies/one"}
"""The policy that sets each capacity."""
INSTANCE_COMMAND = ["sleep", "86400"]
"""Each instance: a local process that does nothing, cheap to start and to stop."""
FIRING_PERIOD = 600
"""Seconds of the firing alarms' period. An alarm that stays in ALARM runs its policy again once a period,
and a firing alarm stays in ALARM while its sample is in its window: a period longer than a mode's firings
keeps those repeats (which would move the group between two firings) out of the run."""
IDLE_PERIOD = 60
SEEDED_VALUE = 1.0
"""What each firing alarm's series reports before its firing (below FIRING_THRESHOLD: the alarm is OK)."""
FIRING_THRESHOLD = 50.0
FIRING_VALUE = 100.0
WARMUP_FIRINGS = 1
"""Firings before the measured ones, not counted: the first pays one-time costs (statements compiled
for the first time), which a running autoscaler paid long ago."""
POLL_PAUSE = 0.0005
"""Seconds between two GetGroup calls of the poller (each also takes a loopback round trip)."""
SETTLE_POLL = 0.02
"""Seconds between two checks of whether the group has settled (outside the measured time)."""
RECONCILE_INTERVAL = 0.2
"""Seconds between reconcile passes of the group service in this benchmark (the default is 2)."""
NOOP_FIRST_POLL_AFTER = 0.03
"""Seconds the no-op poller waits after PutSamples answered before its first ListActivities (the no-op latency
is read off the activity's start time, so the poller need not race the chain and load the server it measures)."""
NOOP_POLL_INTERVAL = 0.01
RAW_PER_FIRING = 10
"""Samples of the raw limit (three loopback round trips) taken before each firing."""
QUIET_RAW_REPETITIONS = 1000
"""Samples of the raw limit taken back to back before the modes, on the quiet machine."""


@dataclass(frozen=True)
class Variant:
    """How the mesh of a run is secured and reached: what its figures are named, the flags it starts with, the calls'
    TLS and token, and the target of its p99."""

    label: str = ""
    """Added to the mode in the figures' names ("up" -> "up, keys + TLS"); empty for the plain mesh."""
    options: dict[str, Any] = field(default_factory=dict)
    """CLI flags of every process (auth="keys" -> --auth keys; True: a flag without a value)."""
    serve_environment: dict[str, str] = field(default_factory=dict)
    """Environment added to the processes of `serve` (AUTOSCALE_PEER_TOKEN: processes apart call each other with a key)."""
    access: harness.Access | None = None
    """How the benchmark's calls, and the raw limit's, reach the servers (None: plaintext, no credentials)."""
    prepare_database: Callable[[str], None] | None = None
    """Called with each database's URL before the processes start (to store the API keys the calls carry)."""
    target_ms: float = 20.0
    """The p99 must stay below this many milliseconds (and within 10 x the raw limit)."""
    raw_what: str = "3 sequential loopback gRPC round trips"
    """What the raw limit is, as the results say it (sampled between the firings, p50)."""

    def named(self, mode: str) -> str:
        """The mode as the figures' names say it."""
        return f"{mode}, {self.label}" if self.label else mode


PLAIN = Variant()
"""The mesh as `autoscale up` starts on a laptop: plaintext, authentication off."""


@dataclass(frozen=True)
class Sizes:
    firing: int
    noop_firing: int
    idle: int
    background_series: int
    background_pause: float
    timeout: float
    budget: float
    """Seconds of firings at most per mode (the rest are skipped, and said so), to bound the whole run."""
    modes: tuple[str, ...]


FULL = Sizes(
    firing=200, noop_firing=50, idle=1000, background_series=20, background_pause=0.1,
    timeout=15.0, budget=150.0, modes=("up", "serve"),
)
QUICK = Sizes(
    firing=20, noop_firing=10, idle=100, background_series=10, background_pause=0.1,
    timeout=10.0, budget=25.0, modes=("up",),
)


def threshold_alarm(metric: str, number: int, threshold: float, actions: list[str], period: int) -> alarm_pb2.Alarm:
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
    alarm.threshold_rule.period.FromSeconds(period)
    return alarm


def firing_order(sizes: Sizes) -> list[int]:
    """The firing alarms' numbers in the order they fire: the warm-up ones (numbered after the measured ones) first."""
    return [*range(sizes.firing, sizes.firing + WARMUP_FIRINGS), *range(sizes.firing)]


def target_of(position: int) -> int:
    """The capacity the firing at `position` in the firing order sets: HIGH first (the group starts at LOW), then in turn."""
    return HIGH if position % 2 == 0 else LOW


def setup(services: harness.Mesh, sizes: Sizes) -> None:
    with services.channel(services.group) as chan:
        groups = group_pb2_grpc.GroupServiceStub(chan)
        groups.CreateLaunchConfig(
            group_pb2.CreateLaunchConfigRequest(
                launch_config_id="sleeper", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=INSTANCE_COMMAND))
            )
        )
        for group_id, size in (("g", (LOW, HIGH)), ("noop", (0, 0))):
            group = group_pb2.Group(launch_config="launchConfigs/sleeper", min_size=size[0], max_size=size[1])
            group.cooldown.FromSeconds(0)
            groups.CreateGroup(group_pb2.CreateGroupRequest(group_id=group_id, group=group))
    with services.channel(services.policy) as chan:
        policies = policy_pb2_grpc.PolicyServiceStub(chan)
        exact = common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY
        change = common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY
        for policy_id, group_ref, adjustment_type, adjustment in (
            ("two", GROUP, exact, HIGH), ("one", GROUP, exact, LOW), ("noop", NOOP_GROUP, change, 1)
        ):
            policy = policy_pb2.Policy(group=group_ref, adjustment_type=adjustment_type, scaling_adjustment=adjustment)
            policy.cooldown.FromSeconds(0)
            policies.CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id=policy_id, policy=policy))
    create = alarm_pb2.CreateAlarmRequest
    requests = [
        create(
            alarm_id=f"fire-{number}",
            alarm=threshold_alarm(FIRE_METRIC, number, FIRING_THRESHOLD, [POLICY_TO[target_of(position)]], FIRING_PERIOD),
        )
        for position, number in enumerate(firing_order(sizes))
    ]
    requests += [
        create(alarm_id=f"noop-{n}", alarm=threshold_alarm(NOOP_METRIC, n, FIRING_THRESHOLD, ["policies/noop"], FIRING_PERIOD))
        for n in range(sizes.noop_firing + WARMUP_FIRINGS)
    ]
    requests += [create(alarm_id=f"idle-{n}", alarm=threshold_alarm(IDLE_METRIC, n, 1e9, [], IDLE_PERIOD)) for n in range(sizes.idle)]
    harness.create_alarms(services.alarm, requests, access=services.access)


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


def seed_payload(sizes: Sizes) -> bytes:
    """One batch giving every firing alarm's series (and every no-op one's) SEEDED_VALUE, so that each alarm is OK before it fires."""
    request = metrics_pb2.PutSamplesRequest()
    for metric, count in ((FIRE_METRIC, sizes.firing), (NOOP_METRIC, sizes.noop_firing)):
        for number in range(count + WARMUP_FIRINGS):
            series = request.series.add(metric=metric)
            series.dimensions["n"] = str(number)
            series.points.add(value=SEEDED_VALUE)
    return request.SerializeToString()


IDLE_SETTLE_TIMEOUT = 60.0
"""Seconds the alarms get to leave INSUFFICIENT_DATA before the firings start anyway (and a note says so)."""


def wait_for_alarms(services: harness.Mesh) -> tuple[float, int]:
    """Wait until no alarm is in INSUFFICIENT_DATA (at most IDLE_SETTLE_TIMEOUT); seconds waited and how many still are."""
    started = time.monotonic()
    with services.channel(services.alarm) as chan:
        alarms = alarm_pb2_grpc.AlarmServiceStub(chan)
        while True:
            unsettled, token = 0, ""
            while True:
                page = alarms.ListAlarms(alarm_pb2.ListAlarmsRequest(page_size=1000, page_token=token), timeout=60)
                waiting = alarm_pb2.ALARM_STATE_INSUFFICIENT_DATA
                unsettled += sum(1 for alarm in page.alarms if alarm.state == waiting)
                token = page.next_page_token
                if not token:
                    break
            waited = time.monotonic() - started
            if unsettled == 0 or waited > IDLE_SETTLE_TIMEOUT:
                return waited, unsettled
            time.sleep(0.5)


def firing_request(metric: str, number: int) -> metrics_pb2.PutSamplesRequest:
    """The sample that fires alarm `number` of `metric`."""
    request = metrics_pb2.PutSamplesRequest()
    series = request.series.add(metric=metric)
    series.dimensions["n"] = str(number)
    series.points.add(value=FIRING_VALUE)
    return request


@dataclass
class Measured:
    """What the firings of one mode measured (seconds)."""

    latencies: list[float] = field(default_factory=list)
    """PutSamples called → GetGroup answered the new desired capacity."""
    put_samples: list[float] = field(default_factory=list)
    """PutSamples called → PutSamples answered."""
    to_adjust: list[float] = field(default_factory=list)
    """PutSamples called → Adjust entered (its activity's start time)."""
    polls: list[int] = field(default_factory=list)
    """GetGroup calls until the new capacity was seen."""
    settle: list[float] = field(default_factory=list)
    """The group's settling (the previous firing's process started or stopped) before each firing."""
    raw: list[float] = field(default_factory=list)
    noop: list[float] = field(default_factory=list)
    """No-op group: PutSamples answered → Adjust entered."""
    misses: list[str] = field(default_factory=list)
    skipped: int = 0


class Group:
    """The public calls the firings make on the group service."""

    def __init__(self, stub: group_pb2_grpc.GroupServiceStub) -> None:
        self._stub = stub
        self._get = group_pb2.GetGroupRequest(name=GROUP)

    def get(self) -> group_pb2.Group:
        group: group_pb2.Group = self._stub.GetGroup(self._get, timeout=30).group
        return group

    def settle(self, capacity: int, timeout: float) -> bool:
        """Wait until the group wants `capacity` and runs exactly that many instances, with no activity in progress.

        A group that wants another capacity (a firing before was missed) is adjusted to `capacity` by hand first.
        """
        deadline = time.monotonic() + timeout
        group = self.get()
        if group.desired_capacity != capacity:
            exact = common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY
            self._stub.Adjust(group_pb2.AdjustRequest(name=GROUP, adjustment_type=exact, adjustment=capacity, cause="bench"), timeout=30)
        while time.monotonic() < deadline:
            group = self.get()
            if group.desired_capacity == capacity and group.current_capacity == capacity and not group.scaling_in_progress:
                return True
            time.sleep(SETTLE_POLL)
        return False

    def newest_activity(self, parent: str, marker: str) -> group_pb2.Activity | None:
        """The newest of the group's activities whose cause names `marker`, if any is among the newest 20."""
        listing = self._stub.ListActivities(group_pb2.ListActivitiesRequest(parent=parent, page_size=20), timeout=30)
        return next((activity for activity in listing.activities if marker in activity.cause), None)


def _seconds(stamp: Any) -> float:
    return float(stamp.seconds + stamp.nanos / 1e9)


def measure_firings(services: harness.Mesh, sizes: Sizes, raw: harness.LoopbackRoundTrips) -> Measured:
    """Fire each firing alarm in turn into the real group, then each no-op alarm into the no-op group."""
    measured = Measured()
    budget_end = time.monotonic() + sizes.budget
    with services.channel(services.metrics) as metrics_chan, services.channel(services.group) as group_chan:
        put: Callable[..., Any] = metrics_pb2_grpc.MetricsServiceStub(metrics_chan).PutSamples
        group = Group(group_pb2_grpc.GroupServiceStub(group_chan))
        for position, number in enumerate(firing_order(sizes)):
            warmup = number >= sizes.firing
            if time.monotonic() > budget_end:
                measured.skipped = sizes.firing - (position - WARMUP_FIRINGS)
                break
            target = target_of(position)
            settle_started = time.monotonic()
            if not group.settle(HIGH if target == LOW else LOW, sizes.timeout):
                measured.misses.append(f"fire-{number} (the group did not settle before it)")
                continue
            if not warmup:
                measured.settle.append(time.monotonic() - settle_started)
                measured.raw.extend(raw.measure(RAW_PER_FIRING))
            request = firing_request(FIRE_METRIC, number)
            wall_start = time.time()
            start = time.perf_counter()
            put(request, timeout=30)
            answered = time.perf_counter()
            deadline = answered + sizes.timeout
            polls = 0
            seen = None
            while seen is None and time.perf_counter() < deadline:
                polls += 1
                if group.get().desired_capacity == target:
                    seen = time.perf_counter()
                else:
                    time.sleep(POLL_PAUSE)
            if seen is None:
                measured.misses.append(f"fire-{number}")
                continue
            if warmup:
                continue
            measured.latencies.append(seen - start)
            measured.put_samples.append(answered - start)
            measured.polls.append(polls)
            activity = group.newest_activity(GROUP, f"alarms/fire-{number} ")
            if activity is not None:
                measured.to_adjust.append(_seconds(activity.start_time) - wall_start)
        measure_noop(put, group, sizes, measured, budget_end)
    return measured


def measure_noop(put: Callable[..., Any], group: Group, sizes: Sizes, measured: Measured, budget_end: float) -> None:
    """The no-op figure: each noop alarm fires into the group that cannot change; Adjust's entry read off its activity."""
    for number in [*range(sizes.noop_firing, sizes.noop_firing + WARMUP_FIRINGS), *range(sizes.noop_firing)]:
        if time.monotonic() > budget_end + 10:
            break
        put(firing_request(NOOP_METRIC, number), timeout=30)
        answered = time.time()
        deadline = time.monotonic() + sizes.timeout
        time.sleep(NOOP_FIRST_POLL_AFTER)
        found = None
        while found is None and time.monotonic() < deadline:
            found = group.newest_activity(NOOP_GROUP, f"alarms/noop-{number} ")
            if found is None:
                time.sleep(NOOP_POLL_INTERVAL)
        if found is None:
            measured.misses.append(f"noop-{number}")
        elif number < sizes.noop_firing:
            measured.noop.append(_seconds(found.start_time) - answered)


def stop_instances(services: harness.Mesh, timeout: float) -> bool:
    """Make the group want no instance and wait until none is left; whether none is.

    NOTE: a stopped service leaves a group's local processes running, as the group's state says (they outlive
    restarts); a benchmark must not leave them behind.
    """
    with services.channel(services.group) as chan:
        groups = group_pb2_grpc.GroupServiceStub(chan)
        empty = group_pb2.Group(name=GROUP, min_size=0, desired_capacity=0)
        mask = field_mask_pb2.FieldMask(paths=["min_size", "desired_capacity"])
        groups.UpdateGroup(group_pb2.UpdateGroupRequest(group=empty, update_mask=mask), timeout=30)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not groups.ListInstances(group_pb2.ListInstancesRequest(parent=GROUP), timeout=30).instances:
                return True
            time.sleep(SETTLE_POLL)
    return False


def require_authentication(services: harness.Mesh, access: harness.Access) -> None:
    """RuntimeError unless the mesh refuses a GetGroup that carries no token (UNAUTHENTICATED): the figures of a
    variant whose calls carry one are of the authenticated path only if the mesh asks for it."""
    anonymous = harness.Access(ca_file=access.ca_file)
    with harness.channel(services.group, anonymous) as chan:
        try:
            group_pb2_grpc.GroupServiceStub(chan).GetGroup(group_pb2.GetGroupRequest(name=GROUP), timeout=30)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                return
            raise RuntimeError(f"a GetGroup without a token failed with {error.code().name}, not UNAUTHENTICATED") from error
    raise RuntimeError("the mesh answered a GetGroup without a token: authentication is off")


def run_mode(
    mode: str, sizes: Sizes, variant: Variant, workdir: Path, result: BenchResult, raw_address: str, quiet_raw: float
) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    sampler = harness.RssSampler()
    if mode == "up":
        database: str | dict[str, str] = f"sqlite:///{workdir / 'autoscale.db'}"
    else:
        database = {name: f"sqlite:///{workdir / (name + '.db')}" for name in harness.SERVICES}
    if variant.prepare_database is not None:
        for url in [database] if isinstance(database, str) else database.values():
            variant.prepare_database(url)
    environment = variant.serve_environment if mode == "serve" else {}
    context = multiprocessing.get_context("spawn")
    try:
        with harness.mesh(
            mode, database, workdir, sampler, access=variant.access, environment=environment,
            reconcile_interval=RECONCILE_INTERVAL, **variant.options,
        ) as services:
            setup(services, sizes)
            if variant.access is not None and variant.access.token:
                require_authentication(services, variant.access)
            results = context.Queue()
            payloads = background_payloads(sizes)
            background = context.Process(
                target=ingest.client_process,
                args=(services.metrics, payloads, None, 3600.0, results, 0, sizes.background_pause, variant.access),
                daemon=True,
            )
            if payloads:
                background.start()
            try:
                with services.channel(services.metrics) as chan:
                    metrics_pb2_grpc.MetricsServiceStub(chan).PutSamples(metrics_pb2.PutSamplesRequest.FromString(seed_payload(sizes)))
                time.sleep(1.0)  # the background load is flowing
                settled_after, unsettled = wait_for_alarms(services)
                raw = harness.LoopbackRoundTrips(raw_address, hops=3, access=variant.access)
                try:
                    measured = measure_firings(services, sizes, raw)
                finally:
                    raw.close()
                    if not stop_instances(services, sizes.timeout):
                        result.notes.append(
                            f"{variant.named(mode)}: the group's processes did not all stop within {sizes.timeout:g}s"
                        )
            finally:
                if payloads:
                    background.terminate()
                    background.join(10)
    finally:
        sampler.stop()
    report(mode, sizes, variant, measured, result, settled_after, unsettled, quiet_raw)
    for name, mb in sampler.peak_mb().items():
        result.peak_rss_mb[f"{mode}: {name}" if mode == "serve" else name] = mb


def _ms(values: list[float], fraction: float) -> float:
    return round(harness.percentile(values, fraction) * 1000, 2)


def report(
    mode: str,
    sizes: Sizes,
    variant: Variant,
    measured: Measured,
    result: BenchResult,
    settled_after: float,
    unsettled: int,
    quiet_raw: float,
) -> None:
    """The mode's figures and notes."""
    latencies = measured.latencies
    mode = variant.named(mode)
    if unsettled:
        result.notes.append(
            f"{mode}: {unsettled} alarms were still in INSUFFICIENT_DATA after {settled_after:.0f}s; the firings started anyway"
        )
    if measured.misses:
        result.notes.append(
            f"{mode}: {len(measured.misses)} firings did not show their capacity within {sizes.timeout:g}s "
            f"(first: {', '.join(measured.misses[:5])})"
        )
    if measured.skipped:
        result.notes.append(f"{mode}: {measured.skipped} of {sizes.firing} firings skipped: the {sizes.budget:g}s budget was spent")
    if not latencies:
        raise RuntimeError(f"{mode}: no firing changed the group's capacity")
    p50, p99, worst = (harness.percentile(latencies, q) * 1000 for q in (0.5, 0.99, 1.0))
    raw_ms = harness.percentile(measured.raw, 0.5) * 1000
    details = {
        "firings": sizes.firing,
        "measured": len(latencies),
        "missed": len(measured.misses),
        "skipped": measured.skipped,
        "p50_ms": round(p50, 2),
        "p90_ms": _ms(latencies, 0.9),
        "p99_ms": round(p99, 2),
        "max_ms": round(worst, 2),
        "min_ms": _ms(latencies, 0.0),
        "put_samples_p50_ms": _ms(measured.put_samples, 0.5),
        "to_adjust_entered_p50_ms": _ms(measured.to_adjust, 0.5),
        "to_adjust_entered_p99_ms": _ms(measured.to_adjust, 0.99),
        "get_group_polls_p50": harness.percentile([float(p) for p in measured.polls], 0.5),
        "settle_p50_ms": _ms(measured.settle, 0.5),
        "reconcile_interval_s": RECONCILE_INTERVAL,
        "idle_alarms": sizes.idle,
        "background_points_per_s": round(sizes.background_series / sizes.background_pause),
        "alarms_settled_after_s": round(settled_after, 1),
        "raw_samples": len(measured.raw),
        "raw_p10_ms": _ms(measured.raw, 0.1),
        "raw_p90_ms": _ms(measured.raw, 0.9),
        "quiet_raw_ms": round(quiet_raw * 1000, 3),
        "p99_to_quiet_raw": round(p99 / (quiet_raw * 1000), 1),
    }
    common: dict[str, Any] = {
        "raw": round(raw_ms, 3), "raw_unit": "ms", "raw_what": f"{variant.raw_what} (p50, sampled between the firings)",
    }
    name = f"reaction ({mode}), PutSamples → new capacity in GetGroup"
    result.add(Figure(name=f"{name} p50", value=round(p50, 2), unit="ms", ratio=round(p50 / raw_ms, 1), **common))
    result.add(
        Figure(
            name=f"{name} p99",
            value=round(p99, 2),
            unit="ms",
            ratio=round(p99 / raw_ms, 1),
            target=f"<= 10 x raw and < {variant.target_ms:g} ms",
            met=p99 <= 10 * raw_ms and p99 < variant.target_ms and not measured.misses,
            details=details,
            **common,
        )
    )
    result.add(Figure(name=f"{name} max", value=round(worst, 2), unit="ms", ratio=round(worst / raw_ms, 1), **common))
    if measured.noop:
        noop_name = f"reaction ({mode}) no-op (min = max = 0), PutSamples answered → Adjust entered"
        for label, fraction in (("p50", 0.5), ("p99", 0.99)):
            value = harness.percentile(measured.noop, fraction) * 1000
            result.add(
                Figure(
                    name=f"{noop_name} {label}", value=round(value, 2), unit="ms", ratio=round(value / raw_ms, 1),
                    details={"firings": sizes.noop_firing, "measured": len(measured.noop)} if label == "p99" else {}, **common,
                )
            )


def run_modes(sizes: Sizes, variant: Variant, workdir: Path, result: BenchResult, raw_address: str) -> None:
    """Every mode of `sizes` on meshes secured as `variant` says, the raw limit taken at `raw_address` (reached as the
    variant's calls are)."""
    # Beside the limit sampled between the firings: the same round trips back to back on the quiet machine
    # (the stricter yardstick, in the details).
    quiet = harness.LoopbackRoundTrips(raw_address, hops=3, access=variant.access)
    try:
        quiet_raw = harness.percentile(quiet.measure(QUIET_RAW_REPETITIONS), 0.5)
    finally:
        quiet.close()
    for mode in sizes.modes:
        try:
            run_mode(mode, sizes, variant, workdir / mode, result, raw_address, quiet_raw)
        except Exception as error:
            # One mode failing does not hide the other's figures.
            result.error = (result.error + "; " if result.error else "") + f"{variant.named(mode)}: {type(error).__name__}: {error}"


def run(quick: bool = False) -> BenchResult:
    sizes = QUICK if quick else FULL
    result = BenchResult("reaction")
    with harness.bare_grpc_server() as raw_address, harness.workspace("reaction") as workdir:
        run_modes(sizes, PLAIN, workdir, result, raw_address)
    return result
