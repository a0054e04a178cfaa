"""A target tracking policy through the public API of `autoscale up`: the group goes to the capacity that brings its
average CPU to the target, out at once and back in only after the scale-down stabilization window."""

from __future__ import annotations

import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import (
    ALARM,
    FAST,
    GROUP,
    METRICS,
    POLICY,
    autoscale,
    cli,
    free_port,
    grpcurl,
    running_instances,
    wait_for_first_instance,
    wait_until,
)
from tests.fake_cloud import FakeCloud

pytestmark = pytest.mark.e2e

SCALE_DOWN_WINDOW = 6.0
"""Seconds the policy waits before it scales in (HPA's window, short for the test)."""


def _desired(address: str) -> int:
    group = grpcurl(address, f"{GROUP}/GetGroup", {"name": "groups/web"})["group"]
    return int(group.get("desired_capacity", 0))


def test_a_cpu_target_tracking_policy_made_with_the_cli_scales_out_to_the_computed_size_and_in_after_its_window(
    tmp_path: Path,
) -> None:
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), *FAST,
            # The test reports the CPU itself: the group service's measure of its idle instances would be averaged in.
            "--cpu-report-interval", "0"]
    with autoscale(args, tmp_path / "up.log", address):
        grpcurl(address, f"{GROUP}/CreateLaunchConfig", {
            "launchConfigId": "sleeper",
            "launchConfig": {"process": {"command": [sys.executable, "-c", "import time; time.sleep(600)"]}},
        })
        grpcurl(address, f"{GROUP}/CreateGroup", {
            "groupId": "web", "group": {"launchConfig": "launchConfigs/sleeper", "minSize": 1, "maxSize": 3},
        })
        shown = cli(address, "policy", "create", "web-cpu", "--group", "web", "--target-tracking", "cpu=50", "--period", "1s",
                    "--scale-down-window", f"{SCALE_DOWN_WINDOW:g}s", "--warmup", "0s")
        assert "alarms/web-cpu-target" in shown
        policy = grpcurl(address, f"{POLICY}/GetPolicy", {"name": "policies/web-cpu"})["policy"]
        assert policy["target_tracking"]["predefined_metric_specification"] == {
            "predefined_metric_type": "PREDEFINED_METRIC_TYPE_ASG_AVERAGE_CPU_UTILIZATION"
        }
        alarm = grpcurl(address, f"{ALARM}/GetAlarm", {"name": "alarms/web-cpu-target"})["alarm"]
        assert alarm["owner"] == "policies/web-cpu" and alarm["ok_actions"] == ["policies/web-cpu"]
        wait_for_first_instance(address)

        def reporting(cpu: float, wanted: int) -> bool:
            """Report the group's average CPU, as its workload would; whether `wanted` instances run and are desired."""
            grpcurl(address, f"{METRICS}/PutSamples", {
                "series": [{"metric": "cpu_utilization", "dimensions": {"group": "web", "instance": "i-1"}, "points": [{"value": cpu}]}],
            })
            return running_instances(address) == wanted and _desired(address) == wanted

        # 150 % against a 50 % target with 1 instance in service: ceil(1 x 150 / 50) = 3, the group's max_size.
        wait_until(lambda: reporting(150, 3), 60, "three instances for an average of 150 %")
        executions = grpcurl(address, f"{POLICY}/ListPolicyExecutions", {"name": "policies/web-cpu"})["executions"]
        first = next(e for e in reversed(executions) if e.get("adjusted"))
        assert (first["metric_value"], first["recommended_capacity"], first["desired_capacity"]) == (150, 3, 3)

        # 10 % with 3 in service recommends ceil(0.6) = 1, but only once the window's higher recommendations have passed.
        dropped = time.monotonic()
        wait_until(lambda: reporting(10, 1), 60, "one instance once the average fell and the window passed")
        # The last high recommendation came at most a period (and a poll) before the drop.
        assert time.monotonic() - dropped >= SCALE_DOWN_WINDOW - 2
        assert re.search(r"last recommendation +1 at", cli(address, "policy", "show", "web-cpu"))
        reasons = cli(address, "policy", "executions", "web-cpu")
        assert "stabilized at 3" in reasons
        activities = grpcurl(address, f"{GROUP}/ListActivities", {"parent": "groups/web"})["activities"]
        scaled_in = next(a for a in activities if "policies/web-cpu" in a.get("cause", "") and a.get("to_capacity", 0) == 1)
        assert scaled_in["from_capacity"] == 3


def test_the_group_service_measures_the_cpu_of_a_local_instance_for_the_predefined_metric(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), *FAST, "--cpu-report-interval", "1"]
    busy = "import time\nwhile True:\n    end = time.time() + 0.05\n    while time.time() < end: pass\n    time.sleep(0.05)"
    with autoscale(args, tmp_path / "up.log", address):
        grpcurl(address, f"{GROUP}/CreateLaunchConfig", {
            "launchConfigId": "busy", "launchConfig": {"process": {"command": [sys.executable, "-c", busy]}},
        })
        grpcurl(address, f"{GROUP}/CreateGroup", {
            "groupId": "web", "group": {"launchConfig": "launchConfigs/busy", "minSize": 1, "maxSize": 1},
        })
        (instance,) = wait_until(lambda: grpcurl(address, f"{GROUP}/ListInstances", {"parent": "groups/web"}).get("instances"), 30,
                                 "the group's instance")
        instance_id = instance["name"].rsplit("/", 1)[1]

        def measured() -> list[dict[str, object]]:
            # The last minute of samples, as the predefined metric's alarm reads them: about half a CPU.
            now = datetime.now(UTC)
            return grpcurl(address, f"{METRICS}/GetStatistics", {
                "metric": "cpu_utilization", "dimensions": {"group": "web", "instance": instance_id},
                "statistic": "STATISTIC_AVERAGE", "period": "60s",
                "startTime": (now - timedelta(minutes=1)).isoformat(), "endTime": (now + timedelta(minutes=1)).isoformat(),
            }).get("datapoints", [])

        (datapoint, *_) = wait_until(measured, 30, "a measure of the instance's CPU")
        assert 5 < float(str(datapoint["value"])) < 150, datapoint


def test_a_cpu_target_tracking_policy_scales_a_nova_group_by_its_servers_cpu_from_their_diagnostics(
    tmp_path: Path, fake_cloud: FakeCloud
) -> None:
    """Item 3's predefined CPU for Nova: the group service reads each server's vCPU times from Nova's diagnostics (through
    openstacksdk, against the fake cloud) and the policy follows them; nothing reports the CPU but the platform."""
    address = f"127.0.0.1:{free_port()}"
    clouds = fake_cloud.clouds_yaml(tmp_path / "clouds.yaml", cloud="fake")
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}", "--openstack-cloud", "fake",
            *FAST, "--cpu-report-interval", "0.5"]
    with autoscale(args, tmp_path / "up.log", address, env={"OS_CLIENT_CONFIG_FILE": str(clouds)}):
        cli(address, "launch-config", "create", "vm", "--image", "cirros", "--flavor", "m1.medium")
        grpcurl(address, f"{GROUP}/CreateGroup", {
            "groupId": "web", "group": {"launchConfig": "launchConfigs/vm", "minSize": 1, "maxSize": 4},
        })
        wait_for_first_instance(address)
        (first,) = fake_cloud.servers("^web-")
        # Both vCPUs of the one server fully busy: 100 % against a 40 % target recommends ceil(1 x 100 / 40) = 3.
        fake_cloud.state.set_cpu_load(first.id, 1.0)
        # New servers have no CPU reading before two passes of diagnostics: until then the first server's 100 % is the
        # group's average. While they warm up they are not counted, so that average asks for no more (AWS's warm-up).
        cli(address, "policy", "create", "web-cpu", "--group", "web", "--target-tracking", "cpu=40", "--period", "1s", "--warmup", "5s")

        wait_until(lambda: running_instances(address) == 3 and _desired(address) == 3, 60, "three servers for a CPU of 100 %")
        assert len(fake_cloud.servers("^web-")) == 3
        executions = grpcurl(address, f"{POLICY}/ListPolicyExecutions", {"name": "policies/web-cpu"})["executions"]
        # The one that reached 3 (an earlier one may have read a measure begun before the load, and gone to 2 first).
        reached = next(e for e in executions if e.get("adjusted") and e.get("desired_capacity") == 3)
        assert reached["recommended_capacity"] == 3 and 80 < reached["metric_value"] <= 110, reached
        assert fake_cloud.requests_to("GET", f"/compute/v2.1/servers/{first.id}/diagnostics")

        def after_the_warm_up() -> list[dict[str, Any]] | None:
            """The executions once one has counted the three servers (warmed up, their idle CPU in the average)."""
            found = grpcurl(address, f"{POLICY}/ListPolicyExecutions", {"name": "policies/web-cpu"})["executions"]
            return found if any("with 3 in service:" in e.get("reason", "") for e in found) else None

        executions = wait_until(after_the_warm_up, 30, "an execution counting the three servers")
        assert max(e.get("desired_capacity", 0) for e in executions) == 3 and _desired(address) == 3  # no overshoot
