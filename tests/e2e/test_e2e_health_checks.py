"""Health checks end to end: `autoscale up` runs real local workloads that serve HTTP on their AUTOSCALE_PORT; one that
starts answering 500 is replaced, in an activity that says why, and the CLI and grpcurl show each instance's health."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.e2e.harness import FAST, autoscale, cli, free_port, group_instances, grpcurl, wait_until

pytestmark = pytest.mark.e2e

GROUP = "autoscale.v1.GroupService"

# A workload whose /healthz answers 500 once a file named after its instance appears in the directory it is given.
WORKLOAD = """
import http.server, os, sys
sick = os.path.join(sys.argv[1], os.environ["AUTOSCALE_INSTANCE"])
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(500 if os.path.exists(sick) else 200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["AUTOSCALE_PORT"])), Health).serve_forever()
"""


def test_an_instance_whose_health_check_fails_is_replaced_in_an_activity_saying_why(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), *FAST]

    with autoscale(args, tmp_path / "up.log", address):
        cli(address, "launch-config", "create", "web", "--arg", sys.executable, "--arg", "-c", "--arg", WORKLOAD, "--arg", str(tmp_path),
            "--health-check-http", "/healthz", "--health-check-interval", "1s", "--health-check-timeout", "1s",
            "--unhealthy-threshold", "2")
        cli(address, "group", "create", "web", "--launch-config", "web", "--min", "2", "--max", "2", "--health-check-grace-period", "1s")
        try:
            healthy = wait_until(
                lambda: (found := group_instances(address)) and len(found) == 2
                and all(i.get("health_status") == "HEALTH_STATUS_HEALTHY" for i in found) and found,
                30, "two healthy instances",
            )
            assert all(i["health_reason"].startswith("HTTP 200 from http://127.0.0.1:") for i in healthy)
            listed = cli(address, "group", "instances", "web")
            assert listed.count("healthy") == 2, listed

            sick = healthy[0]["name"].rsplit("/", 1)[1]
            (tmp_path / sick).touch()
            wait_until(
                lambda: len(ids := {i["name"] for i in group_instances(address)}) == 2 and healthy[0]["name"] not in ids, 30,
                "the sick instance to be replaced",
            )
            activities = grpcurl(address, f"{GROUP}/ListActivities", {"parent": "groups/web"})["activities"]
            replacing = next(a for a in activities if a["cause"].startswith("replacing"))
            assert replacing["cause"] == (
                f"replacing {healthy[0]['name']}: unhealthy: 2 health checks in a row failed: "
                f"HTTP 500 from http://{healthy[0]['address']}/healthz"
            )
            wait_until(
                lambda: all(i.get("health_status") == "HEALTH_STATUS_HEALTHY" for i in group_instances(address)), 30,
                "the replacement healthy",
            )
            assert healthy[1]["name"] in {i["name"] for i in group_instances(address)}  # the healthy one stayed
        finally:
            cli(address, "group", "delete", "web", "--force")
