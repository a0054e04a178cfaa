"""Lifecycle hooks end to end, with a restart in the middle: `autoscale up` holds a real local instance at its launch hook,
is restarted, still holds the same instance, puts it in service once the CLI completes the hook, and on scale-in keeps it
running until the drain hook is completed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import FAST, autoscale, cli, free_port, group_instances, wait_until

pytestmark = pytest.mark.e2e

GROUP = "autoscale.v1.GroupService"


def _alive(server_id: str) -> bool:
    try:
        os.kill(int(server_id.split("-")[0]), 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{server_id.split('-')[0]}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_an_instance_waits_at_its_hooks_across_a_restart_until_the_cli_completes_them(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), *FAST]

    def in_state(state: str) -> list[dict[str, str]]:
        return [i for i in group_instances(address) if i.get("state") == state]

    with autoscale(args, tmp_path / "up-1.log", address):
        cli(address, "launch-config", "create", "sleeper", "--arg", sys.executable, "--arg", "-c", "--arg", "import time; time.sleep(600)")
        cli(address, "group", "create", "web", "--launch-config", "sleeper", "--min", "0", "--max", "2")
        cli(address, "lifecycle-hook", "create", "web", "warm-up", "--transition", "launching", "--heartbeat-timeout", "10m")
        cli(address, "lifecycle-hook", "create", "web", "drain", "--transition", "terminating", "--heartbeat-timeout", "10m",
            "--default-result", "continue")
        cli(address, "group", "set-desired", "web", "1")
        (waiting,) = wait_until(lambda: in_state("INSTANCE_STATE_PENDING_WAIT"), 30, "the instance to wait at its launch hook")
        assert waiting["state_reason"].startswith("waiting for lifecycle hook warm-up")

    with autoscale(args, tmp_path / "up-2.log", address):
        wait_until(lambda: in_state("INSTANCE_STATE_PENDING_WAIT"), 10, "the restarted service to show the wait")
        assert [(i["name"], i["server_id"]) for i in group_instances(address)] == [(waiting["name"], waiting["server_id"])]
        instance_id = waiting["name"].rsplit("/", 1)[1]
        cli(address, "lifecycle-hook", "complete", "web", "warm-up", instance_id, "continue")
        wait_until(lambda: in_state("INSTANCE_STATE_RUNNING"), 30, "the instance in service")

        cli(address, "group", "set-desired", "web", "0")
        wait_until(lambda: in_state("INSTANCE_STATE_TERMINATING_WAIT"), 30, "the instance to wait at its drain hook")
        assert _alive(waiting["server_id"])  # draining: still running
        cli(address, "lifecycle-hook", "complete", "web", "drain", instance_id, "continue")
        wait_until(lambda: not group_instances(address), 30, "the instance to be gone")
        wait_until(lambda: not _alive(waiting["server_id"]), 10, "its process to have stopped")
        cli(address, "group", "delete", "web")
