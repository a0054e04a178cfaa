"""Real `autoscale` processes and the real grpcurl binary, for end-to-end tests."""

from __future__ import annotations

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

BIN_DIR = Path(sys.executable).parent
AUTOSCALE = str(BIN_DIR / "autoscale")
GRPCURL = str(BIN_DIR / "grpcurl")

GROUP = "autoscale.v1.GroupService"
POLICY = "autoscale.v1.PolicyService"
ALARM = "autoscale.v1.AlarmService"
METRICS = "autoscale.v1.MetricsService"

FAST = ("--alarm-sweep-interval", "1", "--reconcile-interval", "0.5")
"""Intervals of `up` and `serve` short enough for a test to see the loops act within seconds."""

PLAINTEXT = ("-plaintext",)
"""grpcurl's flags for a server without TLS; with TLS they are `-cacert CA` (and `-cert`, `-key` for mutual TLS)."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GrpcurlError(Exception):
    """grpcurl reported a failed call: its status code name and message."""

    def __init__(self, code: str, message: str, output: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.output = output


def bearer(token: str) -> tuple[str, ...]:
    """The metadata that authenticates a call with `token` (a Keystone token or an API key), as grpcurl's `headers`."""
    return (f"authorization: Bearer {token}",)


def grpcurl(
    address: str,
    method: str,
    body: dict[str, Any] | None = None,
    *,
    timeout: float = 20,
    transport: Sequence[str] = PLAINTEXT,
    headers: Sequence[str] = (),
) -> dict[str, Any]:
    """Call `method` (e.g. autoscale.v1.GroupService/GetGroup) through reflection, with the `transport` flags and the
    `headers` ("name: value") as metadata; the JSON answer.

    Requests may use either JSON name; grpcurl answers with the proto field names (snake_case).
    """
    args = [GRPCURL, *transport, "-format-error", "-max-time", str(timeout)]
    for header in headers:
        args += ["-H", header]
    if body is not None:
        args += ["-d", json.dumps(body)]
    completed = subprocess.run([*args, address, method], capture_output=True, text=True, timeout=timeout + 10)
    if completed.returncode != 0:
        output = completed.stdout + completed.stderr
        try:
            error = json.loads(completed.stdout or completed.stderr)
        except json.JSONDecodeError:
            raise GrpcurlError("UNKNOWN", completed.stderr.strip(), output) from None
        raise GrpcurlError(_CODE_NAMES.get(error.get("code", 2), "UNKNOWN"), error.get("message", ""), output)
    return json.loads(completed.stdout) if completed.stdout.strip() else {}


_CODE_NAMES = {
    1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND", 6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}


def grpcurl_list(address: str, transport: Sequence[str] = PLAINTEXT) -> set[str]:
    """The services the server at `address` lists through reflection."""
    completed = subprocess.run([GRPCURL, *transport, address, "list"], capture_output=True, text=True, timeout=20, check=True)
    return set(completed.stdout.split())


def cli(address: str, *args: str) -> str:
    """`autoscale ARGS --addr ADDRESS`, which must succeed; its output."""
    completed = subprocess.run([AUTOSCALE, *args, "--addr", address], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def group_instances(address: str, group_id: str = "web") -> list[dict[str, Any]]:
    """The group's instances through grpcurl (proto field names)."""
    found: list[dict[str, Any]] = grpcurl(address, "autoscale.v1.GroupService/ListInstances", {"parent": f"groups/{group_id}"}).get(
        "instances", []
    )
    return found


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    """Poll `condition` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except (GrpcurlError, grpc.RpcError) as error:
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


def wait_healthy(address: str, timeout: float = 30) -> None:
    """Wait until the server at `address` answers SERVING for ""."""
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)

        def serving() -> bool:
            response = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
            return response.status == health_pb2.HealthCheckResponse.SERVING

        wait_until(serving, timeout, f"{address} to be healthy")


class AutoscaleProcess:
    """One running `autoscale` process; its output goes to a log file."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [AUTOSCALE, "--log-level", "INFO", *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )

    def log(self) -> str:
        """What the process printed so far."""
        return self.log_path.read_text()

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> int:
        """Send `sig` and wait for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"autoscale did not exit within {timeout}s of {sig.name}:\n{self.log()}") from None
        self._log.close()
        return self.process.returncode


@contextmanager
def autoscale(args: list[str], log_path: Path, address: str, env: dict[str, str] | None = None) -> Iterator[AutoscaleProcess]:
    """Start `autoscale ARGS`, wait until `address` is healthy, stop it with SIGTERM afterwards."""
    process = AutoscaleProcess(args, log_path, env)
    try:
        try:
            wait_healthy(address)
        except AssertionError:
            raise AssertionError(f"autoscale {' '.join(args)} did not become healthy:\n{process.log()}") from None
        yield process
    finally:
        process.stop()


def up_args(tmp_path: Path, address: str) -> list[str]:
    """`autoscale up` on `address` with its database and instance logs under `tmp_path`, its loops FAST."""
    return ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), *FAST]


def sleeper_group(address: str, *, min_size: int, max_size: int, policy: str = "") -> None:
    """Through the CLI: a launch config `sleeper` of processes that wait, a group `web` of them with a 0 s cooldown, and
    (when named) a policy of it that adds one instance."""
    cli(address, "launch-config", "create", "sleeper", "--arg", sys.executable, "--arg", "-c", "--arg", "import time; time.sleep(600)")
    cli(address, "group", "create", "web", "--launch-config", "sleeper", "--min", str(min_size), "--max", str(max_size),
        "--cooldown", "0s")
    if policy:
        cli(address, "policy", "create", policy, "--group", "web", "--type", "change", "--adjustment", "1")


def scale_out_through_the_chain(addr: dict[str, str], *, transport: Sequence[str] = PLAINTEXT, headers: Sequence[str] = ()) -> None:
    """Create a launch config of local processes, a group web (1 to 3 of them), a policy scale-out and an alarm high-cpu
    that runs it; a high sample must scale the group out to 2 through the alarm and the policy.

    `addr` names each service's address; grpcurl calls with the `transport` flags and the `headers`.
    """
    call = functools.partial(grpcurl, transport=transport, headers=headers)
    call(addr["group"], f"{GROUP}/CreateLaunchConfig", {
        "launchConfigId": "sleeper",
        "launchConfig": {"process": {"command": [sys.executable, "-c", "import time; time.sleep(600)"]}},
    })
    call(addr["group"], f"{GROUP}/CreateGroup", {
        "groupId": "web",
        "group": {"launchConfig": "launchConfigs/sleeper", "minSize": 1, "maxSize": 3, "cooldown": "0s"},
    })
    call(addr["policy"], f"{POLICY}/CreatePolicy", {
        "policyId": "scale-out",
        "policy": {"group": "groups/web", "adjustmentType": "ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY", "scalingAdjustment": 1},
    })
    call(addr["alarm"], f"{ALARM}/CreateAlarm", {
        "alarmId": "high-cpu",
        "alarm": {
            "thresholdRule": {
                "metric": "cpu_util", "dimensions": {"group": "web"}, "statistic": "STATISTIC_AVERAGE",
                "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN", "threshold": 80, "period": "60s",
                "evaluationPeriods": 1,
            },
            "alarmActions": ["policies/scale-out"],
        },
    })
    wait_for_first_instance(addr["group"], transport, headers)
    accepted = call(addr["metrics"], f"{METRICS}/PutSamples", {
        "series": [{"metric": "cpu_util", "dimensions": {"group": "web", "instance": "i-1"}, "points": [{"value": 95}]}],
    })
    assert accepted["accepted_points"] == "1"

    def scaled_activity() -> dict[str, Any] | None:
        activities = call(addr["group"], f"{GROUP}/ListActivities", {"parent": "groups/web"}).get("activities", [])
        return next((a for a in activities if "alarms/high-cpu" in a.get("cause", "")), None)

    activity = wait_until(scaled_activity, 30, "an activity caused by the alarm")
    assert "policies/scale-out" in activity["cause"]
    assert (activity.get("from_capacity", 0), activity["to_capacity"]) == (1, 2)
    wait_until(lambda: running_instances(addr["group"], transport, headers) == 2, 30, "the second instance to run")

    alarm = call(addr["alarm"], f"{ALARM}/GetAlarm", {"name": "alarms/high-cpu"})["alarm"]
    assert alarm["state"] == "ALARM_STATE_ALARM"
    history = call(addr["alarm"], f"{ALARM}/ListAlarmHistory", {"name": "alarms/high-cpu"})["entries"]
    assert any(e["type"] == "ALARM_HISTORY_TYPE_STATE_TRANSITION" and e.get("state") == "ALARM_STATE_ALARM" for e in history)
    executions = call(addr["policy"], f"{POLICY}/ListPolicyExecutions", {"name": "policies/scale-out"})["executions"]
    assert any(e.get("adjusted") for e in executions)


def running_instances(address: str, transport: Sequence[str] = PLAINTEXT, headers: Sequence[str] = ()) -> int:
    """How many instances of the group web run."""
    answer = grpcurl(address, f"{GROUP}/ListInstances", {"parent": "groups/web"}, transport=transport, headers=headers)
    return sum(1 for i in answer.get("instances", []) if i.get("state") == "INSTANCE_STATE_RUNNING")


def wait_for_first_instance(address: str, transport: Sequence[str] = PLAINTEXT, headers: Sequence[str] = ()) -> None:
    """Wait until the group web runs one instance and has ended the activity that started it (a simple policy's signal
    is refused while the group is resizing)."""

    def settled() -> bool:
        group = grpcurl(address, f"{GROUP}/GetGroup", {"name": "groups/web"}, transport=transport, headers=headers)["group"]
        return not group.get("scaling_in_progress") and running_instances(address, transport, headers) == 1

    wait_until(settled, 30, "the group's first instance, started and its activity ended")
