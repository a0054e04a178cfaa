"""Alarms over a real Prometheus through `autoscale up --prometheus-url`: the chain exporter → Prometheus → alarm →
policy → group, the CLI's --prometheus-query, and a Prometheus that is down or refuses the query (tests/prometheus_server.py
starts Prometheus; the test's own exporter serves the gauge it scrapes every second)."""

from __future__ import annotations

import contextlib
import sys
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
from tests.prometheus_server import PrometheusServer

pytestmark = pytest.mark.e2e


def up(tmp_path: Path, address: str, prometheus_url: str) -> list[str]:
    return [
        "up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'autoscale.db'}", "--instance-log-dir",
        str(tmp_path / "instances"), *FAST, "--prometheus-url", prometheus_url,
    ]


def alarm(address: str, alarm_id: str) -> dict[str, Any]:
    found: dict[str, Any] = grpcurl(address, f"{ALARM}/GetAlarm", {"name": f"alarms/{alarm_id}"})["alarm"]
    return found


@pytest.mark.timeout(180)
def test_an_alarm_over_prometheus_scales_the_group_out_through_autoscale_up(tmp_path, prometheus: PrometheusServer):
    prometheus.exporter.set("test_load", 10, e2e="chain")
    prometheus.wait_for_value('avg(test_load{e2e="chain"})', 10)
    address = f"127.0.0.1:{free_port()}"
    with autoscale(up(tmp_path, address, prometheus.url), tmp_path / "up.log", address):
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
            cli(address, "alarm", "create", "load", "--prometheus-query", 'avg(test_load{e2e="chain"})', "--comparison", "gt",
                "--threshold", "80", "--period", "1s", "--evaluation-periods", "2", "--alarm-action", "policies/scale-out")
            wait_for_first_instance(address)
            wait_until(lambda: alarm(address, "load")["state"] == "ALARM_STATE_OK", 20, "the alarm to be OK at 10")
            assert 'avg(test_load{e2e="chain"}) > 80 for 2 x 1s (Prometheus)' in cli(address, "alarm", "show", "load")

            prometheus.exporter.set("test_load", 95, e2e="chain")

            def scaled_activity() -> dict[str, Any] | None:
                activities = grpcurl(address, f"{GROUP}/ListActivities", {"parent": "groups/web"}).get("activities", [])
                return next((a for a in activities if "alarms/load" in a.get("cause", "")), None)

            activity = wait_until(scaled_activity, 30, "an activity caused by the alarm over Prometheus")
            assert "policies/scale-out" in activity["cause"]
            assert (activity.get("from_capacity", 0), activity["to_capacity"]) == (1, 2)
            fired = alarm(address, "load")
            assert fired["state"] == "ALARM_STATE_ALARM"
            assert fired["state_reason"] == 'avg(test_load{e2e="chain"}) > 80 in the last 2 periods of 1s: 95, 95 (newest last)'

            # A query Prometheus refuses: its own message, in the state reason and the history.
            grpcurl(address, f"{ALARM}/CreateAlarm", {
                "alarmId": "typo",
                "alarm": {"prometheusRule": {"query": "avg(test_load", "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN",
                                             "threshold": 1, "period": "1s"}},
            })
            refused = wait_until(lambda: "parse error" in (found := alarm(address, "typo")).get("state_reason", "") and found, 20,
                                 "the bad query's reason")
            assert refused["state"] == "ALARM_STATE_INSUFFICIENT_DATA"
            assert refused["state_reason"].startswith("Prometheus refused the query: bad_data: ")
            entries = grpcurl(address, f"{ALARM}/ListAlarmHistory", {"name": "alarms/typo"})["entries"]
            assert entries[0]["type"] == "ALARM_HISTORY_TYPE_STATE_REASON_CHANGE" and entries[0]["reason"] == refused["state_reason"]
        finally:
            # The group's instances are processes of this machine: deleting the group stops them.
            with contextlib.suppress(GrpcurlError):
                grpcurl(address, f"{ALARM}/DeleteAlarm", {"name": "alarms/load"})
            with contextlib.suppress(GrpcurlError):
                grpcurl(address, f"{GROUP}/DeleteGroup", {"name": "groups/web", "force": True})


@pytest.mark.timeout(120)
def test_a_prometheus_that_is_down_leaves_the_alarm_in_insufficient_data_saying_why(tmp_path):
    address, down = f"127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    with autoscale(up(tmp_path, address, down), tmp_path / "up.log", address):
        grpcurl(address, f"{ALARM}/CreateAlarm", {
            "alarmId": "load",
            "alarm": {"prometheusRule": {"query": "avg(test_load)", "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN",
                                         "threshold": 1, "period": "1s"}},
        })
        found = wait_until(lambda: "cannot be reached" in (a := alarm(address, "load")).get("state_reason", "") and a, 20,
                           "the alarm to say Prometheus cannot be reached")
        assert found["state"] == "ALARM_STATE_INSUFFICIENT_DATA"
        assert found["state_reason"].startswith(f"Prometheus at {down} cannot be reached: ")
