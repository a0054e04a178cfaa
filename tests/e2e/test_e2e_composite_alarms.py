"""Composite alarms through the CLI and grpcurl against `autoscale up`: one alarm's move reaches the composite alarm that
names it, whose policy scales the group."""

from __future__ import annotations

import pytest

from tests.e2e.harness import ALARM, GROUP, METRICS, autoscale, cli, free_port, grpcurl, sleeper_group, up_args, wait_until

pytestmark = pytest.mark.e2e


def test_a_composite_alarm_scales_the_group_when_the_alarms_it_names_say_so(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    with autoscale(up_args(tmp_path, address), tmp_path / "up.log", address):
        sleeper_group(address, min_size=1, max_size=3, policy="web-out")
        cli(address, "alarm", "create", "busy", "--metric", "cpu_util", "--statistic", "avg", "--comparison", "gt",
            "--threshold", "80", "--period", "1h")
        # A deploy under way: any deploy reported in the last 10 seconds (no report: none).
        cli(address, "alarm", "create", "deploying", "--metric", "deploys", "--statistic", "max", "--comparison", "gt",
            "--threshold", "0", "--period", "1s", "--evaluation-periods", "10", "--datapoints-to-alarm", "1",
            "--treat-missing-data", "not-breaching")
        grpcurl(address, f"{ALARM}/CreateAlarm", {
            "alarmId": "scale-out",
            "alarm": {
                "compositeRule": {"expression": "ALARM(busy) AND NOT ALARM(deploying)"},
                "alarmActions": ["policies/web-out"],
            },
        })

        def state(alarm_id: str) -> str:
            return str(grpcurl(address, f"{ALARM}/GetAlarm", {"name": f"alarms/{alarm_id}"})["alarm"]["state"])

        def report(metric: str, value: float) -> None:
            grpcurl(address, f"{METRICS}/PutSamples", {"series": [{"metric": metric, "points": [{"value": value}]}]})

        wait_until(lambda: state("scale-out") == "ALARM_STATE_OK", 30, "the composite alarm to be judged")
        report("deploys", 1)
        wait_until(lambda: state("deploying") == "ALARM_STATE_ALARM", 10, "the deploy to be seen")
        report("deploys", 1)  # the deploy is seen 10 s from now, to the assertion below however slow the machine
        report("cpu_util", 95)
        wait_until(lambda: state("busy") == "ALARM_STATE_ALARM", 10, "the load to be seen")
        assert state("scale-out") == "ALARM_STATE_OK"  # busy, but a deploy runs
        # The deploy ends (no more reports): once it is OK, the composite alarm fires.
        wait_until(lambda: state("scale-out") == "ALARM_STATE_ALARM", 30, "the composite alarm to fire")
        wait_until(
            lambda: grpcurl(address, f"{GROUP}/GetGroup", {"name": "groups/web"})["group"]["desired_capacity"] == 2, 30,
            "the composite alarm's policy to scale the group out",
        )
        history = grpcurl(address, f"{ALARM}/ListAlarmHistory", {"name": "alarms/scale-out"})["entries"]
        assert any("is true: alarms/busy alarm, alarms/deploying ok" in entry.get("reason", "") for entry in history)
