"""Receiver reaction: from a signal POSTed to a receiver's URL until the group's Adjust is entered, and until it is
answered.

Measured from outside, on the path Alertmanager takes: `autoscale up` with its HTTP listener, one group of local
processes (`sleep`) alternating between 1 and 2 instances (cooldown 0s) through two exact-capacity policies, each
signalled by a receiver of its own in the Alertmanager format; every firing is a new alert (a new fingerprint), so
every one really changes the capacity and an instance really starts or stops. The signals go over one kept-alive
HTTP/1.1 connection, as Alertmanager's client keeps its connections.

For each firing: wait until the group has settled at the capacity the firing moves it from, sample the raw limit,
note the wall clock and POST the notification. "Adjust entered" is the start time of the activity the Adjust records
(the clock reading Adjust took on entry) minus the time the POST was sent; "answered" is when the POST's answer
(which waits for the Adjust's) arrived.

Raw limit, sampled between the firings: one HTTP/1.1 POST of the same body to a bare `http.server` in a child
process over a kept-alive connection, plus one loopback gRPC round trip (the policy's call to the group service):
the two hops a signal cannot avoid.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from autoscale.v1 import common_pb2, group_pb2, group_pb2_grpc, policy_pb2, policy_pb2_grpc
from bench import harness
from bench.harness import BenchResult, Figure
from bench.reaction import GROUP, HIGH, INSTANCE_COMMAND, LOW, POLICY_TO, RECONCILE_INTERVAL, Group, stop_instances

TARGET_MS = 20.0
WARMUP_FIRINGS = 2
RAW_PER_FIRING = 5


@dataclass(frozen=True)
class Sizes:
    firings: int
    timeout: float


FULL = Sizes(firings=150, timeout=15.0)
QUICK = Sizes(firings=15, timeout=10.0)


@dataclass
class Measured:
    to_adjust: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)


def notification(number: int) -> bytes:
    """An Alertmanager notification (webhook version 4) of one new firing alert."""
    alert = {"status": "firing", "labels": {"alertname": "BenchLoad", "n": str(number)}, "annotations": {},
             "startsAt": "2026-12-06T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "",
             "fingerprint": f"{number:016x}"}
    return json.dumps({"version": "4", "groupKey": "{}:{alertname=\"BenchLoad\"}", "truncatedAlerts": 0, "status": "firing",
                       "receiver": "autoscale", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                       "externalURL": "http://alertmanager:9093", "alerts": [alert]}).encode()


def setup(services: harness.Mesh) -> dict[int, str]:
    """The group, its two policies and a receiver of each; the receivers' URLs by the capacity they set."""
    with services.channel(services.group) as chan:
        groups = group_pb2_grpc.GroupServiceStub(chan)
        groups.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=INSTANCE_COMMAND))
        ), timeout=30)
        group = group_pb2.Group(launch_config="launchConfigs/lc", min_size=LOW, max_size=HIGH, desired_capacity=LOW)
        group.cooldown.seconds = 0
        groups.CreateGroup(group_pb2.CreateGroupRequest(group_id=GROUP.split("/")[1], group=group), timeout=30)
    urls = {}
    with services.channel(services.policy) as chan:
        policies = policy_pb2_grpc.PolicyServiceStub(chan)
        for capacity, name in POLICY_TO.items():
            policy = policy_pb2.Policy(group=GROUP, adjustment_type=common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY, scaling_adjustment=capacity)
            policy.cooldown.seconds = 0
            policy_id = name.split("/")[1]
            policies.CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id=policy_id, policy=policy), timeout=30)
            created = policies.CreateReceiver(policy_pb2.CreateReceiverRequest(
                parent=name, receiver_id="am", receiver=policy_pb2.Receiver(format=policy_pb2.RECEIVER_FORMAT_ALERTMANAGER)
            ), timeout=30)
            urls[capacity] = created.url
    return urls


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as autoscale's listener: no delayed-ACK stall between headers and body

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _sink_process(port_queue: Any, stop_event: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop_event.wait()
    server.shutdown()


class RawLimit:
    """One kept-alive HTTP POST to a bare http.server (in a child process) plus one loopback gRPC round trip."""

    def __init__(self, grpc_address: str) -> None:
        context = multiprocessing.get_context("spawn")
        ports = context.Queue()
        self._stop = context.Event()
        self._child = context.Process(target=_sink_process, args=(ports, self._stop), daemon=True)
        self._child.start()
        self._http = http.client.HTTPConnection("127.0.0.1", ports.get(timeout=30), timeout=30)
        self._grpc = harness.LoopbackRoundTrips(grpc_address, hops=1)
        self._body = notification(0)
        for _ in range(50):
            self._post()

    def _post(self) -> None:
        self._http.request("POST", "/v1/signals/x", body=self._body, headers={"Content-Type": "application/json"})
        self._http.getresponse().read()

    def measure(self, repetitions: int) -> list[float]:
        samples = []
        for _ in range(repetitions):
            start = time.perf_counter()
            self._post()
            samples.append(time.perf_counter() - start + self._grpc.measure(1)[0])
        return samples

    def close(self) -> None:
        self._http.close()
        self._grpc.close()
        self._stop.set()
        self._child.join(10)


def measure(services: harness.Mesh, urls: dict[int, str], sizes: Sizes, raw: RawLimit) -> Measured:
    measured = Measured()
    first = urlsplit(urls[HIGH])
    connection = http.client.HTTPConnection(first.hostname or "127.0.0.1", first.port, timeout=30)
    with services.channel(services.group) as chan:
        group = Group(group_pb2_grpc.GroupServiceStub(chan))
        for number in range(sizes.firings + WARMUP_FIRINGS):
            target = HIGH if number % 2 == 0 else LOW
            if not group.settle(LOW if target == HIGH else HIGH, sizes.timeout):
                measured.misses.append(f"firing {number} (the group did not settle before it)")
                continue
            warmup = number < WARMUP_FIRINGS
            if not warmup:
                measured.raw.extend(raw.measure(RAW_PER_FIRING))
            body = notification(number + 1)
            wall_start = time.time()
            start = time.perf_counter()
            connection.request("POST", urlsplit(urls[target]).path, body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = json.loads(response.read())
            answered = time.perf_counter()
            executions = answer.get("executions", [])
            if response.status != 200 or not executions or not executions[0].get("adjusted"):
                measured.misses.append(f"firing {number}: HTTP {response.status} {answer}")
                continue
            if warmup:
                continue
            measured.answered.append(answered - start)
            activity = group.newest_activity(GROUP, "receivers/am")
            if activity is not None and activity.name == executions[0].get("activity"):
                measured.to_adjust.append(activity.start_time.seconds + activity.start_time.nanos / 1e9 - wall_start)
            else:
                measured.misses.append(f"firing {number}: its activity was not found")
    connection.close()
    return measured


def report(measured: Measured, sizes: Sizes, result: BenchResult) -> None:
    if measured.misses:
        result.notes.append(f"{len(measured.misses)} firings missed (first: {'; '.join(measured.misses[:3])})")
    if not measured.to_adjust:
        raise RuntimeError("no signal adjusted the group")
    raw_ms = harness.percentile(measured.raw, 0.5) * 1000
    common: dict[str, Any] = {
        "raw": round(raw_ms, 3), "raw_unit": "ms",
        "raw_what": "a kept-alive HTTP POST to a bare http.server + one loopback gRPC round trip (p50, sampled between firings)",
    }
    to_adjust = [value * 1000 for value in measured.to_adjust]
    answered = [value * 1000 for value in measured.answered]
    p99 = harness.percentile(to_adjust, 0.99)
    details = {
        "firings": sizes.firings, "measured": len(to_adjust), "missed": len(measured.misses),
        "p50_ms": round(harness.percentile(to_adjust, 0.5), 2), "max_ms": round(max(to_adjust), 2),
        "answered_p50_ms": round(harness.percentile(answered, 0.5), 2), "answered_p99_ms": round(harness.percentile(answered, 0.99), 2),
        "reconcile_interval_s": RECONCILE_INTERVAL,
    }
    result.add(Figure(
        name="receiver (up), Alertmanager POST sent → Adjust entered p99", value=round(p99, 2), unit="ms",
        ratio=round(p99 / raw_ms, 1), target=f"< {TARGET_MS:g} ms", met=p99 < TARGET_MS and not measured.misses,
        details=details, **common,
    ))
    answered_p99 = harness.percentile(answered, 0.99)
    result.add(Figure(
        name="receiver (up), Alertmanager POST sent → answered (the Adjust done) p99", value=round(answered_p99, 2), unit="ms",
        ratio=round(answered_p99 / raw_ms, 1), **common,
    ))


def run(quick: bool = False) -> BenchResult:
    sizes = QUICK if quick else FULL
    result = BenchResult("receiver_reaction")
    sampler = harness.RssSampler()
    with harness.bare_grpc_server() as raw_address, harness.workspace("receiver") as workdir:
        try:
            with harness.mesh(
                "up", f"sqlite:///{Path(workdir) / 'autoscale.db'}", workdir, sampler,
                reconcile_interval=RECONCILE_INTERVAL, http_listen=f"127.0.0.1:{harness.free_port()}",
            ) as services:
                urls = setup(services)
                raw = RawLimit(raw_address)
                try:
                    measured = measure(services, urls, sizes, raw)
                finally:
                    raw.close()
                    if not stop_instances(services, sizes.timeout):
                        result.notes.append(f"the group's processes did not all stop within {sizes.timeout:g}s")
        finally:
            sampler.stop()
    report(measured, sizes, result)
    result.peak_rss_mb.update(sampler.peak_mb())
    return result
