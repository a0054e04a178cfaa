"""Samples reach their alarms at once when they may move them, and within the refresh interval otherwise.

Against `autoscale up` with the periodic sweep pushed an hour away, so that only
the metrics service's notifications can make an alarm change state.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness import autoscale, free_port, grpcurl, wait_until

pytestmark = pytest.mark.e2e

ALARM = "autoscale.v1.AlarmService"
METRICS = "autoscale.v1.MetricsService"
NO_SWEEP = ["--alarm-sweep-interval", "3600"]


def _put(address: str, value: float) -> None:
    grpcurl(address, f"{METRICS}/PutSamples", {
        "series": [{"metric": "cpu_util", "dimensions": {"group": "web"}, "points": [{"value": value}]}],
    })


def _state(address: str) -> str:
    return grpcurl(address, f"{ALARM}/GetAlarm", {"name": "alarms/high-cpu"})["alarm"].get("state", "")


def test_a_sample_reaches_an_alarm_that_moved_since_the_metrics_service_last_heard_of_its_band(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), *NO_SWEEP]
    with autoscale(args, tmp_path / "up.log", address):
        grpcurl(address, f"{ALARM}/CreateAlarm", {
            "alarmId": "high-cpu",
            "alarm": {"thresholdRule": {
                "metric": "cpu_util", "dimensions": {"group": "web"}, "statistic": "STATISTIC_AVERAGE",
                "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN", "threshold": 80, "period": "300s",
                "evaluationPeriods": 1,
            }},
        })
        _put(address, 10)
        wait_until(lambda: _state(address) == "ALARM_STATE_OK", 10, "the first sample to settle the alarm in OK")
        _put(address, 500)  # outside OK's band: sent and evaluated at once
        wait_until(lambda: _state(address) == "ALARM_STATE_ALARM", 5, "the high sample to move the alarm")
        _put(address, 600)  # sent (the series just moved its alarm): the answer gives ALARM's band
        time.sleep(1.5)  # the series' band is trusted again
        grpcurl(address, f"{ALARM}/SetAlarmState", {"name": "alarms/high-cpu", "state": "ALARM_STATE_OK", "reason": "test"})
        _put(address, 1000)  # inside the band the metrics service holds (ALARM's), outside OK's: held, then sent
        started = time.monotonic()
        wait_until(lambda: _state(address) == "ALARM_STATE_ALARM", 5, "the held sample to reach the alarm")
        assert time.monotonic() - started < 3.0
