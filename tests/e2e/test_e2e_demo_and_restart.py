"""The newcomer's demo, and a restart that converges without losing or doubling instances."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.harness import AUTOSCALE, autoscale, free_port, grpcurl, wait_until

pytestmark = pytest.mark.e2e

GROUP = "autoscale.v1.GroupService"


@pytest.mark.timeout(150)
def test_demo_scales_out_and_back_in_and_cleans_up(tmp_path):
    completed = subprocess.run(
        [AUTOSCALE, "demo"], capture_output=True, text=True, timeout=140, env={**os.environ, "HOME": str(tmp_path)}
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "scaling activities" in completed.stdout
    assert "alarms/high-cpu" in completed.stdout and "alarms/low-cpu" in completed.stdout
    leftover = subprocess.run(["pgrep", "-f", "app.demo.worker"], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", "demo instances left running"


def _instances(address: str) -> list[dict]:
    return grpcurl(address, f"{GROUP}/ListInstances", {"parent": "groups/web"}).get("instances", [])


def test_restart_adopts_running_instances_and_replaces_dead_ones(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), "--reconcile-interval", "0.5"]
    with autoscale(args, tmp_path / "first.log", address):
        grpcurl(address, f"{GROUP}/CreateLaunchConfig", {
            "launchConfigId": "sleeper",
            "launchConfig": {"process": {"command": [sys.executable, "-c", "import time; time.sleep(600)"]}},
        })
        grpcurl(address, f"{GROUP}/CreateGroup", {
            "groupId": "web", "group": {"launchConfig": "launchConfigs/sleeper", "minSize": 2, "maxSize": 4},
        })
        before = wait_until(
            lambda: (found := _instances(address)) and all(i["state"] == "INSTANCE_STATE_RUNNING" for i in found)
            and len(found) == 2 and found,
            30, "two running instances",
        )
    # The service is down; its instances are not. Kill one, as a crash would.
    survivor, victim = before
    os.kill(int(victim["server_id"].split("-")[0]), 9)
    with autoscale(args, tmp_path / "second.log", address):
        after = wait_until(
            lambda: (found := _instances(address)) and len(found) == 2
            and all(i["state"] == "INSTANCE_STATE_RUNNING" for i in found)
            and victim["name"] not in {i["name"] for i in found} and found,
            30, "the dead instance to be replaced",
        )
        assert survivor["name"] in {i["name"] for i in after}
        grpcurl(address, f"{GROUP}/DeleteGroup", {"name": "groups/web"})
