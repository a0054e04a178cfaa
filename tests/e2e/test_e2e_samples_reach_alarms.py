"""Samples reach the alarms they may move at once, whatever happened to those alarms just before.

Against `autoscale up` with the periodic sweep pushed an hour away, so that only
the metrics service's notifications can make an alarm change state.
"""

from __future__ import annotations

import pytest

from tests.e2e.harness import autoscale, free_port, grpcurl, wait_until

pytestmark = pytest.mark.e2e

ALARM = "autoscale.v1.AlarmService"
METRICS = "autoscale.v1.MetricsService"
NO_SWEEP = ["--alarm-sweep-interval", "3600"]


def _put(address: str, value: float, group: str = "web") -> None:
    grpcurl(address, f"{METRICS}/PutSamples", {
        "series": [{"metric": "cpu_util", "dimensions": {"group": group}, "points": [{"value": value}]}],
    })


def _create(address: str, alarm_id: str, group: str = "web") -> None:
    grpcurl(address, f"{ALARM}/CreateAlarm", {
        "alarmId": alarm_id,
        "alarm": {"thresholdRule": {
            "metric": "cpu_util", "dimensions": {"group": group}, "statistic": "STATISTIC_AVERAGE",
            "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN", "threshold": 80, "period": "300s", "evaluationPeriods": 1,
        }},
    })


def _state(address: str, alarm_id: str) -> str:
    return grpcurl(address, f"{ALARM}/GetAlarm", {"name": f"alarms/{alarm_id}"})["alarm"].get("state", "")


def test_samples_reach_a_new_alarm_and_an_alarm_an_operator_just_moved_without_waiting_for_the_sweep(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), *NO_SWEEP]
    with autoscale(args, tmp_path / "up.log", address):
        _put(address, 10, group="api")  # the metrics service has sent samples before any alarm existed
        _create(address, "high-cpu")
        _put(address, 10)
        wait_until(lambda: _state(address, "high-cpu") == "ALARM_STATE_OK", 15, "the first sample to settle the new alarm in OK")
        _put(address, 500)
        wait_until(lambda: _state(address, "high-cpu") == "ALARM_STATE_ALARM", 15, "the high sample to move the alarm")
        grpcurl(address, f"{ALARM}/SetAlarmState", {"name": "alarms/high-cpu", "state": "ALARM_STATE_OK", "reason": "test"})
        _put(address, 1000)  # the average of the period is still above 80: from OK, it moves the alarm again
        wait_until(lambda: _state(address, "high-cpu") == "ALARM_STATE_ALARM", 15, "the next sample to reach the moved alarm")
        _create(address, "api-cpu", group="api")
        _put(address, 1000, group="api")  # right after the alarm: it is heard at once
        wait_until(lambda: _state(address, "api-cpu") == "ALARM_STATE_ALARM", 15, "a sample right after CreateAlarm to reach it")
