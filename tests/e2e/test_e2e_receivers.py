"""A real Alertmanager drives a policy through a receiver made with the CLI: firing alerts scale the group out once,
however often Alertmanager repeats them, and resolving them executes the resolved policy (the scale-in)."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from autoscale.config import Settings
from autoscale.timeutil import to_duration
from autoscale.v1 import common_pb2, group_pb2, group_pb2_grpc, policy_pb2, policy_pb2_grpc
from services.registry import builders
from tests.alertmanager_server import AlertmanagerUnavailable, alertmanager_binary, started_alertmanager
from tests.e2e.harness import AUTOSCALE
from tests.support import running_server

pytestmark = pytest.mark.e2e

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def _wait_for(what: str, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[tuple[grpc.Channel, str]]:
    try:
        alertmanager_binary()
    except AlertmanagerUnavailable as error:
        pytest.skip(str(error))
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'autoscale.db'}", http_listen="127.0.0.1:0", reconcile_interval=0.2,
        instance_log_dir=str(tmp_path / "logs"),
    )
    with running_server(builders(), settings) as (server, channel):
        groups = group_pb2_grpc.GroupServiceStub(channel)
        policies = policy_pb2_grpc.PolicyServiceStub(channel)
        groups.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=SLEEPER))), timeout=5)
        groups.CreateGroup(group_pb2.CreateGroupRequest(group_id="web", group=group_pb2.Group(
            launch_config="launchConfigs/lc", min_size=1, max_size=4, cooldown=to_duration(0))), timeout=5)
        for policy_id, adjustment in (("up", 1), ("down", -1)):
            policies.CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id=policy_id, policy=policy_pb2.Policy(
                group="groups/web", adjustment_type=common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY, scaling_adjustment=adjustment,
            )), timeout=5)
        try:
            yield channel, f"127.0.0.1:{server.port}"
        finally:
            groups.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web", force=True), timeout=10)


def _desired(channel: grpc.Channel) -> int:
    group = group_pb2_grpc.GroupServiceStub(channel).GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5).group
    return int(group.desired_capacity)


def _alert(starts_at: datetime.datetime, ends_at: datetime.datetime) -> dict[str, str | dict[str, str]]:
    return {"labels": {"alertname": "HighLoad", "group": "web"}, "annotations": {"summary": "web is busy"},
            "startsAt": starts_at.isoformat(), "endsAt": ends_at.isoformat()}


def test_alertmanager_scales_out_once_while_an_alert_repeats_and_in_when_it_resolves(mesh, tmp_path):
    channel, address = mesh
    made = subprocess.run(
        [AUTOSCALE, "receiver", "create", "up", "am", "--format", "alertmanager", "--resolved-policy", "down",
         "--addr", address, "--json"],
        capture_output=True, text=True, timeout=30, check=True,
    )
    url = json.loads(made.stdout)["url"]
    assert "/v1/signals/rcv_" in url

    with started_alertmanager(tmp_path / "alertmanager", url, repeat_interval="1s") as alertmanager:
        start = datetime.datetime.now(datetime.UTC)
        alertmanager.post_alerts([_alert(start, start + datetime.timedelta(minutes=5))])
        _wait_for("the firing alert to scale the group out", lambda: _desired(channel) == 2)
        sent_then = alertmanager.webhook_notifications()[0]
        # Alertmanager repeats the same notification (repeat_interval 1s): each repeat is answered, none adjusts again.
        _wait_for("three more notifications", lambda: alertmanager.webhook_notifications()[0] >= sent_then + 3)
        assert alertmanager.webhook_notifications()[1] == 0
        assert _desired(channel) == 2

        alertmanager.post_alerts([_alert(start, datetime.datetime.now(datetime.UTC))])
        _wait_for("the resolved alert to scale the group in", lambda: _desired(channel) == 1)

    policies = policy_pb2_grpc.PolicyServiceStub(channel)
    up = policies.ListPolicyExecutions(policy_pb2.ListPolicyExecutionsRequest(name="policies/up"), timeout=5).executions
    down = policies.ListPolicyExecutions(policy_pb2.ListPolicyExecutionsRequest(name="policies/down"), timeout=5).executions
    assert [(execution.adjusted, execution.cause) for execution in up] == [
        (True, "alertmanager via policies/up/receivers/am: 1 firing alert: HighLoad (" + up[0].cause.rsplit("(", 1)[1])
    ]
    assert len(down) == 1 and down[0].adjusted and "1 resolved alert: HighLoad" in down[0].cause
    activities = group_pb2_grpc.GroupServiceStub(channel).ListActivities(
        group_pb2.ListActivitiesRequest(parent="groups/web"), timeout=5
    ).activities
    assert {activity.caller for activity in activities if activity.cause.startswith("policies/")} == {"policies/up/receivers/am"}


def test_the_cli_lists_shows_and_deletes_receivers_and_never_shows_the_url_again(mesh):
    _, address = mesh

    def cli(*args: str) -> str:
        done = subprocess.run([AUTOSCALE, "receiver", *args, "--addr", address], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    made = cli("create", "up", "script", "--format", "plain")
    url = next(line.split()[-1] for line in made.splitlines() if line.startswith("url"))
    assert "/v1/signals/rcv_" in url
    listed, shown = cli("list", "up"), cli("show", "up", "script")
    assert "script" in listed and "plain" in listed
    assert "policies/up/receivers/script" in shown
    assert url.rsplit("/", 1)[1] not in listed + shown
    assert "deleted policies/up/receivers/script" in cli("delete", "up", "script")
    assert "no receivers" in cli("list", "up")
