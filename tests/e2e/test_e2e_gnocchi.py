"""Alarms over a real Gnocchi through `autoscale up --gnocchi-url`: the chain measures → Gnocchi → alarm → policy → group,
as Ceilometer and Aodh make it (the instances of a server group found by the resource attribute `server_group`, which
Ceilometer fills from the Nova metadata `metering.server_group` our OpenStack driver sets), the CLI's --gnocchi-* options,
one resource, and a Gnocchi that is down or lacks the granularity asked (tests/gnocchi_server.py starts Gnocchi)."""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import (
    ALARM,
    FAST,
    GROUP,
    POLICY,
    GrpcurlError,
    autoscale,
    cli,
    free_port,
    grpcurl,
    wait_for_first_instance,
    wait_until,
)
from tests.e2e.test_e2e_prometheus import alarm
from tests.gnocchi_server import INSTALL_TIMEOUT, START_TIMEOUT, GnocchiServer

pytestmark = pytest.mark.e2e

SERVER_GROUP = '{"=": {"server_group": "web"}}'


def up(tmp_path: Path, address: str, gnocchi_url: str) -> list[str]:
    return [
        "up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'autoscale.db'}", "--instance-log-dir",
        str(tmp_path / "instances"), *FAST, "--gnocchi-url", gnocchi_url,
    ]


def post_ahead(gnocchi: GnocchiServer, metric_id: str, value: float, seconds: int = 120) -> None:
    """`value` each second from 5 s ago to `seconds` ahead, as Ceilometer would post them second by second."""
    now = datetime.now(UTC).replace(microsecond=0)
    gnocchi.post_measures(metric_id, [(now + timedelta(seconds=offset), value) for offset in range(-5, seconds)])


@pytest.mark.postgres
@pytest.mark.timeout(INSTALL_TIMEOUT + 2 * START_TIMEOUT + 120)
def test_an_alarm_over_a_server_group_in_gnocchi_scales_the_group_out_through_autoscale_up(tmp_path, gnocchi: GnocchiServer):
    # Two Nova servers of group `web`, as Ceilometer indexes them, busy.
    first = gnocchi.create_resource({"server_group": "web"}, metrics=["cpu_util"])
    second = gnocchi.create_resource({"server_group": "web"}, metrics=["cpu_util"])
    post_ahead(gnocchi, first["metrics"]["cpu_util"], 90.0)
    post_ahead(gnocchi, second["metrics"]["cpu_util"], 96.0)
    gnocchi.await_processed()
    address = f"127.0.0.1:{free_port()}"
    with autoscale(up(tmp_path, address, gnocchi.url.replace("http://", "http://autoscale@")), tmp_path / "up.log", address):
        try:
            grpcurl(address, f"{GROUP}/CreateLaunchConfig", {
                "launchConfigId": "sleeper",
                "launchConfig": {"process": {"command": [sys.executable, "-c", "import time; time.sleep(600)"]}},
            })
            grpcurl(address, f"{GROUP}/CreateGroup", {
                "groupId": "web", "group": {"launchConfig": "launchConfigs/sleeper", "minSize": 1, "maxSize": 3, "cooldown": "0s"},
            })
            grpcurl(address, f"{POLICY}/CreatePolicy", {
                "policyId": "scale-out",
                "policy": {"group": "groups/web", "adjustmentType": "ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY", "scalingAdjustment": 1},
            })
            wait_for_first_instance(address)
            cli(address, "alarm", "create", "web-cpu", "--gnocchi-metric", "cpu_util", "--gnocchi-resource-type", "instance",
                "--gnocchi-query", SERVER_GROUP, "--gnocchi-aggregation", "mean", "--comparison", "gt", "--threshold", "80",
                "--period", "1s", "--evaluation-periods", "2", "--alarm-action", "policies/scale-out")
            assert f"mean(cpu_util of instance {SERVER_GROUP}) > 80 for 2 x 1s (Gnocchi)" in cli(address, "alarm", "show", "web-cpu")

            def scaled_activity() -> dict[str, Any] | None:
                activities = grpcurl(address, f"{GROUP}/ListActivities", {"parent": "groups/web"}).get("activities", [])
                # The first (activities come newest first): with no cooldown, the alarm may scale out again meanwhile.
                return next((a for a in reversed(activities) if "alarms/web-cpu" in a.get("cause", "")), None)

            activity = wait_until(scaled_activity, 30, "an activity caused by the alarm over Gnocchi")
            assert "policies/scale-out" in activity["cause"]
            assert (activity.get("from_capacity", 0), activity["to_capacity"]) == (1, 2)
            fired = alarm(address, "web-cpu")
            assert fired["state"] == "ALARM_STATE_ALARM"
            assert fired["state_reason"] == (
                f"mean(cpu_util of instance {SERVER_GROUP}) > 80 in the last 2 periods of 1s: 93, 93 (newest last)"
            )

            # One resource (Aodh's gnocchi_resources_threshold), through the API.
            grpcurl(address, f"{ALARM}/CreateAlarm", {
                "alarmId": "one",
                "alarm": {"gnocchiRule": {"metric": "cpu_util", "resourceType": "instance", "resourceId": first["id"],
                                          "aggregationMethod": "max", "comparisonOperator": "COMPARISON_OPERATOR_LESS_THAN",
                                          "threshold": 95, "period": "1s", "evaluationPeriods": 2}},
            })
            one = wait_until(lambda: (found := alarm(address, "one"))["state"] == "ALARM_STATE_ALARM" and found, 20,
                             "the alarm over one resource")
            assert one["state_reason"] == f"max(cpu_util of instance {first['id']}) < 95 in the last 2 periods of 1s: 90, 90 (newest last)"

            # A granularity the archive policy lacks: Gnocchi's own words, in the state reason.
            grpcurl(address, f"{ALARM}/CreateAlarm", {
                "alarmId": "minute",
                "alarm": {"gnocchiRule": {"metric": "cpu_util", "resourceType": "instance", "resourceQuery": SERVER_GROUP,
                                          "aggregationMethod": "mean", "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN",
                                          "threshold": 80, "period": "60s"}},
            })
            refused = wait_until(lambda: "Granularities" in (found := alarm(address, "minute")).get("state_reason", "") and found,
                                 20, "the missing granularity's reason")
            assert refused["state"] == "ALARM_STATE_INSUFFICIENT_DATA"
            assert refused["state_reason"].startswith(
                "Gnocchi refused the request (HTTP 400): Metrics cannot be aggregated: Granularities are missing"
            )
        finally:
            # The group's instances are processes of this machine: deleting the group stops them.
            with contextlib.suppress(GrpcurlError):
                grpcurl(address, f"{ALARM}/DeleteAlarm", {"name": "alarms/web-cpu"})
            with contextlib.suppress(GrpcurlError):
                grpcurl(address, f"{GROUP}/DeleteGroup", {"name": "groups/web", "force": True})


@pytest.mark.timeout(120)
def test_a_gnocchi_that_is_down_leaves_the_alarm_in_insufficient_data_saying_why(tmp_path):
    address, down = f"127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    with autoscale(up(tmp_path, address, down), tmp_path / "up.log", address):
        cli(address, "alarm", "create", "web-cpu", "--gnocchi-metric", "cpu_util", "--gnocchi-resource-type", "instance",
            "--gnocchi-query", SERVER_GROUP, "--comparison", "gt", "--threshold", "80", "--period", "1s")
        found = wait_until(lambda: "cannot be reached" in (a := alarm(address, "web-cpu")).get("state_reason", "") and a, 20,
                           "the alarm to say Gnocchi cannot be reached")
        assert found["state"] == "ALARM_STATE_INSUFFICIENT_DATA"
        assert found["state_reason"].startswith(f"Gnocchi at {down} cannot be reached: ")
