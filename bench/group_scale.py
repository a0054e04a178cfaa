"""Group scale: one group from 0 to 1000 local-process instances and back, and Adjust calls per second under contention.

`autoscale up --reconcile-interval 0.2`; the instances are trivial processes
(`python -S -c "import time; time.sleep(3600)"`). Scale out: Adjust EXACT_CAPACITY
1000, then ListInstances until 1000 are RUNNING; scale in: Adjust to 0, then until
none is listed. Raw limit: the same processes started with subprocess.Popen in a
bare loop (and SIGTERMed and waited for, for the way back).

Contention: threads calling Adjust CHANGE_IN_CAPACITY +1 / -1 in turn, each call with a
unique request_id, on one group of at most 5 instances; successful calls per
second. Raw limit: unary loopback calls per second from as many threads to a
bare gRPC server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc

from autoscale.v1 import common_pb2, group_pb2, group_pb2_grpc
from bench import harness
from bench.harness import BenchResult, Figure

SLEEPER = [sys.executable, "-S", "-c", "import time; time.sleep(3600)"]


@dataclass(frozen=True)
class Sizes:
    instances: int
    threads: int
    contention_seconds: float
    contention_max: int
    timeout: float


FULL = Sizes(instances=1000, threads=8, contention_seconds=5.0, contention_max=5, timeout=300.0)
QUICK = Sizes(instances=20, threads=4, contention_seconds=1.5, contention_max=5, timeout=30.0)


def list_instances(stub: group_pb2_grpc.GroupServiceStub, group: str) -> list[group_pb2.Instance]:
    found: list[group_pb2.Instance] = []
    token = ""
    while True:
        page = stub.ListInstances(group_pb2.ListInstancesRequest(parent=group, page_size=1000, page_token=token), timeout=60)
        found.extend(page.instances)
        token = page.next_page_token
        if not token:
            return found


def raw_processes(count: int) -> tuple[float, float]:
    """Seconds to start `count` sleepers with Popen, and to SIGTERM and reap them all."""
    begin = time.perf_counter()
    quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    children = [subprocess.Popen(SLEEPER, **quiet) for _ in range(count)]
    started = time.perf_counter() - begin
    begin = time.perf_counter()
    for child in children:
        child.send_signal(signal.SIGTERM)
        child.wait()
    return started, time.perf_counter() - begin


def scale(stub: group_pb2_grpc.GroupServiceStub, group: str, target: int, timeout: float) -> float:
    """Seconds from Adjust EXACT_CAPACITY `target` until `target` instances are RUNNING (0: none is listed)."""
    begin = time.perf_counter()
    stub.Adjust(
        group_pb2.AdjustRequest(name=group, adjustment_type=common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY, adjustment=target, cause="bench"),
        timeout=60,
    )

    def reached() -> bool:
        instances = list_instances(stub, group)
        if target == 0:
            return not instances
        return sum(1 for i in instances if i.state == group_pb2.INSTANCE_STATE_RUNNING) >= target

    harness.wait_until(reached, timeout, f"{group} to reach {target} instances", interval=0.1)
    return time.perf_counter() - begin


def contention(address: str, group: str, threads: int, seconds: float) -> tuple[float, int]:
    """Successful Adjust calls per second from `threads` threads (+1 / -1 in turn), and the failed calls."""
    counts = [0] * threads
    failures = [0] * threads
    with harness.channel(address) as chan:
        stub = group_pb2_grpc.GroupServiceStub(chan)
        end = time.monotonic() + seconds

        def work(slot: int) -> None:
            step = 1 if slot % 2 == 0 else -1
            while time.monotonic() < end:
                request = group_pb2.AdjustRequest(
                    name=group, adjustment_type=common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY, adjustment=step,
                    cause="bench contention", request_id=uuid.uuid4().hex,
                )
                try:
                    stub.Adjust(request, timeout=30)
                    counts[slot] += 1
                except grpc.RpcError:
                    failures[slot] += 1
                step = -step

        workers = [threading.Thread(target=work, args=(slot,)) for slot in range(threads)]
        begin = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return sum(counts) / (time.monotonic() - begin), sum(failures)


def _kill_leftovers(server_ids: set[str]) -> int:
    """SIGKILL instances the service left running (only processes running our sleeper command); how many."""
    killed = 0
    for server_id in server_ids:
        pid_text, _, start = server_id.partition("-")
        try:
            pid = int(pid_text)
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (ValueError, OSError):
            continue
        if start and stat[stat.rindex(")") + 2 :].split()[19] != start:
            continue
        if [part.decode() for part in cmdline if part] == SLEEPER:
            os.kill(pid, signal.SIGKILL)
            killed += 1
    return killed


def run(quick: bool = False) -> BenchResult:
    sizes = QUICK if quick else FULL
    result = BenchResult("group_scale")
    raw_up, raw_down = raw_processes(sizes.instances)
    with harness.bare_grpc_server() as address:
        raw_calls = harness.loopback_calls_per_second(address, threads=sizes.threads, seconds=2.0)
    sampler = harness.RssSampler()
    server_ids: set[str] = set()
    try:
        with harness.workspace("group-scale") as workdir, harness.mesh(
            "up", f"sqlite:///{workdir / 'autoscale.db'}", workdir, sampler, reconcile_interval=0.2
        ) as services, harness.channel(services.group) as chan:
            stub = group_pb2_grpc.GroupServiceStub(chan)
            stub.CreateLaunchConfig(
                group_pb2.CreateLaunchConfigRequest(
                    launch_config_id="sleeper", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=SLEEPER))
                )
            )
            for group_id, maximum in (("big", sizes.instances), ("busy", sizes.contention_max)):
                group = group_pb2.Group(launch_config="launchConfigs/sleeper", min_size=0, max_size=maximum, desired_capacity=0)
                group.cooldown.FromSeconds(0)
                stub.CreateGroup(group_pb2.CreateGroupRequest(group_id=group_id, group=group))
            try:
                up = scale(stub, "groups/big", sizes.instances, sizes.timeout)
                server_ids.update(i.server_id for i in list_instances(stub, "groups/big"))
                down = scale(stub, "groups/big", 0, sizes.timeout)
                calls, failed = contention(services.group, "groups/busy", sizes.threads, sizes.contention_seconds)
                server_ids.update(i.server_id for i in list_instances(stub, "groups/busy"))
            finally:
                for group_id in ("big", "busy"):
                    try:
                        server_ids.update(i.server_id for i in list_instances(stub, f"groups/{group_id}"))
                        stub.DeleteGroup(group_pb2.DeleteGroupRequest(name=f"groups/{group_id}"), timeout=120)
                    except grpc.RpcError as error:
                        result.notes.append(f"DeleteGroup groups/{group_id} failed: {error.code().name}: {error.details()}")
    finally:
        sampler.stop()
        leftovers = _kill_leftovers(server_ids)
        if leftovers:
            result.notes.append(f"{leftovers} instance processes were still running after DeleteGroup and the server's stop: killed")
    result.peak_rss_mb = sampler.peak_mb()
    n = sizes.instances
    result.add(
        Figure(
            name=f"scale out 0 -> {n} instances", value=round(up, 2), unit="s", raw=round(raw_up, 2), raw_unit="s",
            raw_what=f"Popen of {n} sleepers in a loop", ratio=round(up / raw_up, 1),
            details={"instances_per_s": round(n / up, 1), "reconcile_interval_s": 0.2},
        )
    )
    result.add(
        Figure(
            name=f"scale in {n} -> 0 instances", value=round(down, 2), unit="s", raw=round(raw_down, 2), raw_unit="s",
            raw_what=f"SIGTERM + wait of {n} sleepers", ratio=round(down / raw_down, 1) if raw_down else None,
            details={"instances_per_s": round(n / down, 1)},
        )
    )
    result.add(
        Figure(
            name=f"Adjust calls/s, {sizes.threads} threads, one group", value=round(calls, 1), unit="calls/s",
            raw=round(raw_calls), raw_unit="calls/s", raw_what=f"loopback unary calls, {sizes.threads} threads",
            ratio=round(calls / raw_calls, 3), details={"failed_calls": failed, "seconds": sizes.contention_seconds},
        )
    )
    return result
