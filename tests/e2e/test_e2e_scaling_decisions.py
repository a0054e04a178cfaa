"""Every scaling decision through the public API of `autoscale up`: an alarm's adjustment and the cooldown refusal of its
repeated action, read back with their chain by grpcurl and by `autoscale group explain`."""

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
    autoscale,
    cli,
    free_port,
    grpcurl,
    wait_for_first_instance,
    wait_until,
)

pytestmark = pytest.mark.e2e


def test_an_alarms_adjustment_and_its_refused_repeat_are_explained_with_their_chain(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), *FAST]
    with autoscale(args, tmp_path / "up.log", address):
        grpcurl(address, f"{GROUP}/CreateLaunchConfig", {
            "launchConfigId": "sleeper",
            "launchConfig": {"process": {"command": [sys.executable, "-c", "import time; time.sleep(600)"]}},
        })
        grpcurl(address, f"{GROUP}/CreateGroup", {
            "groupId": "web", "group": {"launchConfig": "launchConfigs/sleeper", "minSize": 1, "maxSize": 3},
        })
        cli(address, "policy", "create", "web-out", "--group", "web", "--type", "change", "--adjustment", "1", "--cooldown", "10m")
        # The alarm stays in ALARM (missing data ignored), so its policy action repeats every period: into the cooldown.
        grpcurl(address, f"{ALARM}/CreateAlarm", {
            "alarmId": "high-cpu",
            "alarm": {
                "thresholdRule": {
                    "metric": "cpu_util", "dimensions": {"group": "web"}, "statistic": "STATISTIC_AVERAGE",
                    "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN", "threshold": 80, "period": "2s",
                    "evaluationPeriods": 1,
                },
                "treatMissingData": "TREAT_MISSING_DATA_IGNORE",
                "alarmActions": ["policies/web-out"],
            },
        })
        wait_for_first_instance(address)
        grpcurl(address, f"{METRICS}/PutSamples", {
            "series": [{"metric": "cpu_util", "dimensions": {"group": "web", "instance": "i-1"}, "points": [{"value": 91}]}],
        })

        def refused_after_adjusting() -> list[dict[str, Any]] | None:
            found = grpcurl(address, f"{GROUP}/ListScalingDecisions", {"parent": "groups/web"}).get("scaling_decisions", [])
            # (A repeat while the group still resizes to 2 is refused as scaling in progress; the next ones meet the cooldown.)
            return found if len(found) >= 2 and found[0].get("refusal") == "ADJUST_REFUSAL_COOLDOWN" else None

        found = wait_until(refused_after_adjusting, 60, "the alarm's adjustment, then a repeat refused for the cooldown")
        refused = found[0]
        (adjusted,) = [decision for decision in found if decision.get("outcome") == "SCALING_DECISION_OUTCOME_ADJUSTED"]
        assert adjusted["source"] == "SCALING_DECISION_SOURCE_ALARM" and adjusted["outcome"] == "SCALING_DECISION_OUTCOME_ADJUSTED"
        assert adjusted["trigger"]["alarm"] == "alarms/high-cpu" and adjusted["trigger"]["policy"] == "policies/web-out"
        assert (adjusted["trigger"]["datapoints"], adjusted["trigger"]["threshold"]) == ([91], 80)
        assert adjusted["calculation"] == {
            "base_capacity": 1, "raw_capacity": 2, "rounded_capacity": 2, "clamped_capacity": 2, "min_size": 1, "max_size": 3,
        }
        assert (adjusted["previous_capacity"], adjusted["desired_capacity"]) == (1, 2)
        assert refused["refusal"] == "ADJUST_REFUSAL_COOLDOWN" and "cooldown_end_time" in refused

        explained = cli(address, "group", "explain", "web")
        assert "alarms/high-cpu ALARM (91 > 80) -> policies/web-out +1 : 1 -> raw 2 -> 2 : adjusted 1 -> 2" in explained
        assert "alarms/high-cpu ALARM (91 > 80) -> policies/web-out +1 : not adjusted: cooldown until " in explained
        assert "is in cooldown until" in explained
