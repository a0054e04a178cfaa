"""A step policy through the public API of `autoscale up`: the alarm's datapoints pick the step by the size of the breach."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import (
    ALARM,
    FAST,
    GROUP,
    METRICS,
    POLICY,
    autoscale,
    cli,
    free_port,
    grpcurl,
    running_instances,
    wait_for_first_instance,
    wait_until,
)

pytestmark = pytest.mark.e2e


def test_an_alarms_breach_picks_the_second_step_of_a_step_policy_created_with_the_cli(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), *FAST]
    with autoscale(args, tmp_path / "up.log", address):
        grpcurl(address, f"{GROUP}/CreateLaunchConfig", {
            "launchConfigId": "sleeper",
            "launchConfig": {"process": {"command": [sys.executable, "-c", "import time; time.sleep(600)"]}},
        })
        grpcurl(address, f"{GROUP}/CreateGroup", {
            "groupId": "web", "group": {"launchConfig": "launchConfigs/sleeper", "minSize": 1, "maxSize": 5},
        })
        # Threshold 50: a breach of 0 to 20 adds 1, one of 20 or more adds 2 (the group's 300 s cooldown is not honoured).
        shown = cli(address, "policy", "create", "steps", "--group", "web", "--type", "change",
                    "--step", "0:20:1", "--step", "20::2", "--warmup", "0s")
        assert "20 .. +inf: +2" in shown
        grpcurl(address, f"{ALARM}/CreateAlarm", {
            "alarmId": "high-cpu",
            "alarm": {
                "thresholdRule": {
                    "metric": "cpu_util", "dimensions": {"group": "web"}, "statistic": "STATISTIC_AVERAGE",
                    "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN", "threshold": 50, "period": "60s",
                    "evaluationPeriods": 1,
                },
                "alarmActions": ["policies/steps"],
            },
        })
        wait_for_first_instance(address)
        grpcurl(address, f"{METRICS}/PutSamples", {
            "series": [{"metric": "cpu_util", "dimensions": {"group": "web", "instance": "i-1"}, "points": [{"value": 80}]}],
        })

        def executed() -> dict[str, Any] | None:
            found = grpcurl(address, f"{POLICY}/ListPolicyExecutions", {"name": "policies/steps"}).get("executions", [])
            return found[-1] if found else None

        execution = wait_until(executed, 30, "the alarm's execution of the step policy")
        assert execution.get("adjusted"), execution
        assert (execution["metric_value"], execution["breach_threshold"]) == (80, 50)
        assert execution["step_adjustment"] == {"metric_interval_lower_bound": 20, "scaling_adjustment": 2}
        assert execution["alarm_payload"]["datapoints"] == [80] and execution["alarm_payload"]["alarm"] == "alarms/high-cpu"
        wait_until(lambda: running_instances(address) == 3, 30, "the two instances of the second step")
        activities = grpcurl(address, f"{GROUP}/ListActivities", {"parent": "groups/web"})["activities"]
        scaled = next(a for a in activities if "policies/steps" in a.get("cause", ""))
        assert (scaled["from_capacity"], scaled["to_capacity"]) == (1, 3)
        assert "step scaling from 1 instance in service and warmed up" in scaled["cause"]
        assert "breach 30" in cli(address, "policy", "executions", "steps")
