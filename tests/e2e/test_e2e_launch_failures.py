"""A workload that crashes on start, run by the real local driver behind the public API: its launches back off, the
group says it is degraded and why (the exit status and the workload's last output), its activity ends, and `autoscale
group show` tells the same."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import field_mask_pb2

from autoscale.config import Settings
from autoscale.v1 import group_pb2, group_pb2_grpc
from services.registry import builders
from tests.e2e.harness import AUTOSCALE
from tests.support import running_server

pytestmark = pytest.mark.e2e

CRASHING = [sys.executable, "-c", "import sys; print('loading model'); print('fatal: no GPU found'); sys.exit(3)"]
SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def _wait_for(what: str, condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_workload_crashing_on_start_backs_off_and_the_group_says_why(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'autoscale.db'}", reconcile_interval=0.2, instance_log_dir=str(logs))
    with running_server(builders(), settings) as (server, channel):
        groups = group_pb2_grpc.GroupServiceStub(channel)
        for config_id, command in (("crashing", CRASHING), ("fixed", SLEEPER)):
            groups.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
                launch_config_id=config_id, launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=command))
            ), timeout=5)
        groups.CreateGroup(group_pb2.CreateGroupRequest(
            group_id="web", group=group_pb2.Group(launch_config="launchConfigs/crashing", min_size=1, max_size=2)
        ), timeout=5)
        try:
            def get() -> group_pb2.Group:
                return groups.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group

            degraded = _wait_for("the group to be degraded", lambda: (g := get()).state == group_pb2.GROUP_STATE_DEGRADED and g)
            assert "exited with status 3; last output: loading model | fatal: no GPU found" in degraded.state_reason
            activity = groups.ListActivities(group_pb2.ListActivitiesRequest(parent="groups/web"), timeout=5).activities[0]
            assert activity.status == group_pb2.ACTIVITY_STATUS_FAILED and "fatal: no GPU found" in activity.status_message

            # Ten seconds of a crash loop: waits of 2, 4 and 8 s allow four launches, where a launch a pass made fifty.
            time.sleep(10)
            launched = len(list((logs / "default" / "web").glob("*.log")))
            assert 2 <= launched <= 5, launched
            assert get().state == group_pb2.GROUP_STATE_DEGRADED

            shown = subprocess.run(
                [AUTOSCALE, "group", "show", "web", "--addr", f"127.0.0.1:{server.port}"], capture_output=True, text=True, timeout=30,
            )
            assert "degraded" in shown.stdout and "fatal: no GPU found" in shown.stdout and "launches again" in shown.stdout

            # Mended: the next launch (after the wait) runs.
            mask = field_mask_pb2.FieldMask(paths=["launch_config"])
            groups.UpdateGroup(group_pb2.UpdateGroupRequest(
                group=group_pb2.Group(name="groups/web", launch_config="launchConfigs/fixed"), update_mask=mask), timeout=5)
            _wait_for("the fixed workload to run", lambda: get().current_capacity == 1, timeout=40)
        finally:
            groups.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web", force=True), timeout=10)
