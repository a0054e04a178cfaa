"""Instance refresh end to end: `autoscale up` runs four real local instances; `autoscale group refresh start --watch`
replaces them with a new launch config in batches, printing its progress live, and the group never has fewer than
two instances in service meanwhile."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.e2e.harness import AUTOSCALE, FAST, autoscale, cli, free_port, group_instances, grpcurl, wait_until

pytestmark = pytest.mark.e2e

GROUP = "autoscale.v1.GroupService"


def test_a_refresh_replaces_every_instance_keeping_half_of_them_in_service_and_the_cli_shows_it_live(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), *FAST]

    with autoscale(args, tmp_path / "up.log", address):
        for version in ("v1", "v2"):
            cli(address, "launch-config", "create", version, "--arg", sys.executable, "--arg", "-c", "--arg",
                f"import time; time.sleep(600)  # {version}")
        cli(address, "group", "create", "web", "--launch-config", "v1", "--min", "0", "--max", "6", "--desired", "4",
            "--health-check-grace-period", "0s")
        wait_until(
            lambda: len([i for i in group_instances(address) if i.get("state") == "INSTANCE_STATE_RUNNING"]) == 4, 30, "four instances"
        )
        old = {i["name"] for i in group_instances(address)}

        in_service: list[int] = []
        watching = threading.Event()

        def sample() -> None:
            while not watching.is_set():
                in_service.append(sum(1 for i in group_instances(address) if i.get("state") == "INSTANCE_STATE_RUNNING"))

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            watched = subprocess.run(
                [AUTOSCALE, "group", "refresh", "start", "web", "--launch-config", "v2", "--min-healthy", "50", "--warmup", "1s",
                 "--watch", "--addr", address],
                capture_output=True, text=True, timeout=120,
            )
        finally:
            watching.set()
            sampler.join()
        assert watched.returncode == 0, watched.stdout + watched.stderr
        lines = watched.stdout.splitlines()
        assert any("in-progress" in line for line in lines), lines  # shown live (each reason lasts one pass: not asserted)
        assert "successful  100%" in lines[-1], lines
        assert min(in_service) >= 2, in_service
        batches = [a["cause"] for a in grpcurl(address, f"{GROUP}/ListActivities", {"parent": "groups/web"})["activities"]
                   if "instanceRefreshes/" in a["cause"]]
        # Two batches of two: two of the four kept in service each time.
        assert len(batches) == 2 and all("(and 1 more) with " in cause and cause.endswith("v2") for cause in batches), batches

        now = group_instances(address)
        assert len(now) == 4 and not old & {i["name"] for i in now}
        shown = cli(address, "group", "refresh", "show", "web")
        assert "successful" in shown and "launchConfigs/v2" in shown
        cli(address, "group", "delete", "web")
