"""M of N and missing data through the CLI and grpcurl against `autoscale up`: the same samples put an alarm that follows
CloudWatch's rule in ALARM, which scales the group, and leave one that follows Aodh's in INSUFFICIENT_DATA."""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness import ALARM, GROUP, METRICS, autoscale, cli, free_port, grpcurl, sleeper_group, up_args, wait_until

pytestmark = pytest.mark.e2e

PERIOD = 60


def test_two_breaching_periods_of_three_alarm_by_cloudwatchs_rule_and_scale_the_group(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    with autoscale(up_args(tmp_path, address), tmp_path / "up.log", address):
        sleeper_group(address, min_size=1, max_size=3, policy="web-out")
        rule = ["--metric", "cpu_util", "--dimension", "group=web", "--statistic", "avg", "--comparison", "gt",
                "--threshold", "80", "--period", f"{PERIOD}s", "--evaluation-periods", "3"]
        cli(address, "alarm", "create", "two-of-three", *rule, "--datapoints-to-alarm", "2",
            "--treat-missing-data", "not-breaching", "--alarm-action", "policies/web-out")
        cli(address, "alarm", "create", "aodh", *rule)

        # Two breaching periods, the two before the one under way, and nothing else.
        current = time.time() // PERIOD * PERIOD
        points = [{"time": _rfc3339(current - back * PERIOD + 1), "value": 95} for back in (1, 2)]
        grpcurl(address, f"{METRICS}/PutSamples", {
            "series": [{"metric": "cpu_util", "dimensions": {"group": "web", "instance": "i-1"}, "points": points}],
        })

        def state(alarm_id: str) -> str:
            return str(grpcurl(address, f"{ALARM}/GetAlarm", {"name": f"alarms/{alarm_id}"})["alarm"]["state"])

        def reason(alarm_id: str) -> str:
            return str(grpcurl(address, f"{ALARM}/GetAlarm", {"name": f"alarms/{alarm_id}"})["alarm"]["state_reason"])

        wait_until(lambda: state("two-of-three") == "ALARM_STATE_ALARM", 30, "the 2-of-3 alarm to fire")
        assert "2 of 3 breaching alarm, fewer ok; missing data: not-breaching" in cli(address, "alarm", "show", "two-of-three")
        assert reason("two-of-three").startswith("2 of the last 3 periods of 60s average(cpu_util{group=web}) > 80")
        wait_until(
            lambda: grpcurl(address, f"{GROUP}/GetGroup", {"name": "groups/web"})["group"]["desired_capacity"] == 2, 30,
            "the policy to scale the group out",
        )
        # Aodh's rule wants three periods with data among the last four (the sweep of every second judged it since).
        assert state("aodh") == "ALARM_STATE_INSUFFICIENT_DATA"


def _rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
