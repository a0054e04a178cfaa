"""The chain sample → alarm → policy → group.Adjust, through grpcurl, against real processes.

Once against `autoscale up`, once against four `autoscale serve` processes with
databases of their own, as operators deploy them.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from typing import Any

import pytest

from tests.e2e.harness import AutoscaleProcess, GrpcurlError, autoscale, free_port, grpcurl, grpcurl_list, wait_healthy, wait_until

pytestmark = pytest.mark.e2e

GROUP = "autoscale.v1.GroupService"
POLICY = "autoscale.v1.PolicyService"
ALARM = "autoscale.v1.AlarmService"
METRICS = "autoscale.v1.MetricsService"
FAST = ["--alarm-sweep-interval", "1", "--reconcile-interval", "0.5"]


def drive_chain(addr: dict[str, str], tmp_path) -> None:
    """Create a group, a policy and an alarm; a high sample must scale the group out."""
    grpcurl(addr["group"], f"{GROUP}/CreateLaunchConfig", {
        "launchConfigId": "sleeper",
        "launchConfig": {"process": {"command": [sys.executable, "-c", "import time; time.sleep(600)"]}},
    })
    grpcurl(addr["group"], f"{GROUP}/CreateGroup", {
        "groupId": "web",
        "group": {"launchConfig": "launchConfigs/sleeper", "minSize": 1, "maxSize": 3, "cooldown": "0s"},
    })
    grpcurl(addr["policy"], f"{POLICY}/CreatePolicy", {
        "policyId": "scale-out",
        "policy": {"group": "groups/web", "adjustmentType": "ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY", "scalingAdjustment": 1},
    })
    grpcurl(addr["alarm"], f"{ALARM}/CreateAlarm", {
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
    wait_until(lambda: _running_instances(addr["group"]) == 1, 30, "the group to start its first instance")
    accepted = grpcurl(addr["metrics"], f"{METRICS}/PutSamples", {
        "series": [{"metric": "cpu_util", "dimensions": {"group": "web", "instance": "i-1"}, "points": [{"value": 95}]}],
    })
    assert accepted["accepted_points"] == "1"

    def scaled_activity():
        activities = grpcurl(addr["group"], f"{GROUP}/ListActivities", {"parent": "groups/web"}).get("activities", [])
        return next((a for a in activities if "alarms/high-cpu" in a.get("cause", "")), None)

    activity = wait_until(scaled_activity, 30, "an activity caused by the alarm")
    assert "policies/scale-out" in activity["cause"]
    assert (activity.get("from_capacity", 0), activity["to_capacity"]) == (1, 2)
    wait_until(lambda: _running_instances(addr["group"]) == 2, 30, "the second instance to run")

    alarm = grpcurl(addr["alarm"], f"{ALARM}/GetAlarm", {"name": "alarms/high-cpu"})["alarm"]
    assert alarm["state"] == "ALARM_STATE_ALARM"
    history = grpcurl(addr["alarm"], f"{ALARM}/ListAlarmHistory", {"name": "alarms/high-cpu"})["entries"]
    assert any(e["type"] == "ALARM_HISTORY_TYPE_STATE_TRANSITION" and e.get("state") == "ALARM_STATE_ALARM" for e in history)
    executions = grpcurl(addr["policy"], f"{POLICY}/ListPolicyExecutions", {"name": "policies/scale-out"})["executions"]
    assert any(e.get("adjusted") for e in executions)

    refused = pytest.raises(GrpcurlError, match="FAILED_PRECONDITION: groups/web is used by 1 policy")
    with refused:
        grpcurl(addr["group"], f"{GROUP}/DeleteGroup", {"name": "groups/web"})
    grpcurl(addr["alarm"], f"{ALARM}/DeleteAlarm", {"name": "alarms/high-cpu"})
    grpcurl(addr["group"], f"{GROUP}/DeleteGroup", {"name": "groups/web", "force": True})
    with pytest.raises(GrpcurlError, match="NOT_FOUND"):
        grpcurl(addr["policy"], f"{POLICY}/GetPolicy", {"name": "policies/scale-out"})


def _running_instances(address: str) -> int:
    instances = grpcurl(address, f"{GROUP}/ListInstances", {"parent": "groups/web"}).get("instances", [])
    return sum(1 for i in instances if i.get("state") == "INSTANCE_STATE_RUNNING")


def test_chain_runs_through_grpcurl_against_autoscale_up(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), *FAST]
    with autoscale(args, tmp_path / "up.log", address) as process:
        services = grpcurl_list(address)
        assert {f"autoscale.v1.{s}Service" for s in ("Metrics", "Alarm", "Policy", "Group")} <= services
        assert "grpc.health.v1.Health" in services
        drive_chain(dict.fromkeys(("metrics", "alarm", "policy", "group"), address), tmp_path)
    assert process.process.returncode == 0, process.log()


def test_chain_runs_across_four_serve_processes_with_their_own_databases(tmp_path):
    addr = {name: f"127.0.0.1:{free_port()}" for name in ("metrics", "alarm", "policy", "group")}
    peers = [f"--{name}-addr={address}" for name, address in addr.items()]
    processes: list[AutoscaleProcess] = []
    try:
        for name, address in addr.items():
            args = ["serve", name, "--listen", address, "--database-url", f"sqlite:///{tmp_path / name}.db",
                    "--instance-log-dir", str(tmp_path / "instances"), *peers, *FAST]
            processes.append(AutoscaleProcess(args, tmp_path / f"{name}.log"))
        for address in addr.values():
            wait_healthy(address)
        drive_chain(addr, tmp_path)
    finally:
        codes = [p.stop() for p in processes]
    assert codes == [0, 0, 0, 0], "\n".join(p.log() for p in processes)


def test_sigint_stops_autoscale_up_cleanly(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    process = AutoscaleProcess(["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}"], tmp_path / "up.log")
    wait_healthy(address)
    assert process.stop(signal.SIGINT) == 0, process.log()



def _tgkill() -> Any:
    libc = ctypes.CDLL(None, use_errno=True)
    return getattr(libc, "tgkill", None)


@pytest.mark.skipif(not sys.platform.startswith("linux") or _tgkill() is None, reason="needs Linux's tgkill to aim a signal at one thread")
def test_a_sigterm_the_kernel_hands_to_another_thread_than_the_main_one_still_stops_autoscale(tmp_path):
    # The kernel may deliver a process's signal to any of its threads; Python runs the handler in the main thread.
    address = f"127.0.0.1:{free_port()}"
    process = AutoscaleProcess(["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}"], tmp_path / "up.log")
    wait_healthy(address)
    pid = process.process.pid
    other = next(int(tid) for tid in os.listdir(f"/proc/{pid}/task") if int(tid) != pid)
    try:
        assert _tgkill()(pid, other, signal.SIGTERM) == 0, ctypes.get_errno()
        assert process.process.wait(15) == 0, process.log()
    finally:
        if process.process.poll() is None:  # it hung: the test failed, the process must not outlive it
            process.process.kill()
            process.process.wait()
