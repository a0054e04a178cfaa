"""Load balancer pool files end to end: `autoscale up --pool-dir` lists a group's real local instances in a pool file
(Prometheus file_sd JSON and HAProxy server lines) while they serve and are healthy; a scale-in takes the removed one
out of the file at once and stops its process only after the drain delay."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.harness import FAST, autoscale, cli, free_port, grpcurl, wait_until

pytestmark = pytest.mark.e2e

GROUP = "autoscale.v1.GroupService"
SERVE = (
    "import http.server, os; "
    "http.server.HTTPServer(('127.0.0.1', int(os.environ['AUTOSCALE_PORT'])), http.server.BaseHTTPRequestHandler).serve_forever()"
)


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_pool_file_lists_the_groups_serving_instances_and_a_removed_one_drains_before_it_stops(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    pools = tmp_path / "pools"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), "--pool-dir", str(pools), *FAST]

    pool_file = pools / "default" / "web" / "front.json"

    def targets() -> list[str]:
        listed = json.loads(pool_file.read_text()) if pool_file.exists() else []
        return sorted(listed[0]["targets"]) if listed else []

    with autoscale(args, tmp_path / "up.log", address):
        cli(address, "launch-config", "create", "web", "--arg", sys.executable, "--arg", "-c", "--arg", SERVE, "--health-check-tcp")
        shown = cli(address, "group", "create", "web", "--launch-config", "web", "--min", "0", "--max", "3", "--desired", "2",
                    "--health-check-grace-period", "0s", "--pool-file", "front", "--drain-delay", "6s")
        assert "pool file front (own port, drain 6s)" in shown
        both = wait_until(lambda: len(found := targets()) == 2 and found, 30, "both instances in the pool file")
        instances = grpcurl(address, f"{GROUP}/ListInstances", {"parent": "groups/web"})["instances"]
        assert sorted(i["address"] for i in instances) == both
        haproxy = (pools / "default" / "web" / "front.haproxy").read_text().splitlines()
        assert sorted(line.split()[2] for line in haproxy) == both and all(line.startswith("server i-") for line in haproxy)

        asked_at = time.monotonic()
        cli(address, "group", "set-desired", "web", "1")
        wait_until(lambda: len(targets()) == 1, 10, "the removed instance out of the pool file")
        (draining,) = [i for i in grpcurl(address, f"{GROUP}/ListInstances", {"parent": "groups/web"})["instances"]
                       if i["state"] == "INSTANCE_STATE_TERMINATING"]
        assert "draining until" in draining["state_reason"]
        pid = int(draining["server_id"].split("-")[0])
        assert _alive(pid)
        wait_until(lambda: not _alive(pid), 20, "the drained instance to stop")
        assert time.monotonic() - asked_at >= 6.0  # not before its drain delay, which began after the call
        cli(address, "group", "delete", "web")
        assert not pool_file.exists()
