"""Bad input through grpcurl gets its status and a message naming the field (API.md, Errors)."""

from __future__ import annotations

import base64
import json
import sys

import pytest

from tests.e2e.harness import GrpcurlError, autoscale, free_port, grpcurl

pytestmark = pytest.mark.e2e

GROUP = "autoscale.v1.GroupService"


def _token(content: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(content).encode()).decode()


@pytest.fixture(scope="module")
def address(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("errors")
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}", "--instance-log-dir", str(tmp_path)]
    with autoscale(args, tmp_path / "up.log", address):
        grpcurl(address, f"{GROUP}/CreateLaunchConfig", {
            "launchConfigId": "lc", "launchConfig": {"process": {"command": [sys.executable, "-c", "import time; time.sleep(600)"]}},
        })
        grpcurl(address, f"{GROUP}/CreateGroup", {"groupId": "web", "group": {"launchConfig": "launchConfigs/lc", "maxSize": 2}})
        yield address
        grpcurl(address, f"{GROUP}/DeleteGroup", {"name": "groups/web"})


@pytest.mark.parametrize(
    ("method", "body", "code", "field"),
    [
        (f"{GROUP}/CreateGroup", {"groupId": "Bad_Id", "group": {"launchConfig": "launchConfigs/lc", "maxSize": 1}},
         "INVALID_ARGUMENT", "group_id"),
        (f"{GROUP}/CreateGroup", {"groupId": "g2", "group": {"launchConfig": "launchConfigs/lc", "minSize": 3, "maxSize": 1}},
         "INVALID_ARGUMENT", "group.max_size"),
        (f"{GROUP}/CreateGroup", {"groupId": "g3", "group": {"launchConfig": "launchConfigs/lc", "maxSize": 2, "desiredCapacity": 5}},
         "INVALID_ARGUMENT", "group.desired_capacity"),
        (f"{GROUP}/CreateGroup", {"groupId": "web", "group": {"launchConfig": "launchConfigs/lc", "maxSize": 1}},
         "ALREADY_EXISTS", "groups/web"),
        (f"{GROUP}/CreateGroup", {"groupId": "g4", "group": {"launchConfig": "launchConfigs/nope", "maxSize": 1}},
         "NOT_FOUND", "launchConfigs/nope"),
        (f"{GROUP}/GetGroup", {"name": "groups/missing"}, "NOT_FOUND", "groups/missing"),
        (f"{GROUP}/GetGroup", {"name": "web"}, "INVALID_ARGUMENT", "name"),
        (f"{GROUP}/DeleteLaunchConfig", {"name": "launchConfigs/lc"}, "FAILED_PRECONDITION", "groups/web"),
        (f"{GROUP}/Adjust", {"name": "groups/web", "adjustment": 1}, "INVALID_ARGUMENT", "adjustment_type"),
        ("autoscale.v1.MetricsService/PutSamples",
         {"series": [{"metric": "cpu", "points": [{"value": "NaN"}]}]}, "INVALID_ARGUMENT", "series[0].points[0].value"),
        ("autoscale.v1.MetricsService/GetStatistics", {"metric": "cpu", "statistic": "STATISTIC_AVERAGE"},
         "INVALID_ARGUMENT", "period"),
        ("autoscale.v1.PolicyService/CreatePolicy",
         {"policyId": "p", "policy": {"group": "groups/web", "adjustmentType": "ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY",
                                      "scalingAdjustment": 1, "cooldown": "-5s"}},
         "INVALID_ARGUMENT", "policy.cooldown"),
        ("autoscale.v1.PolicyService/CreatePolicy",
         {"policyId": "p", "policy": {"group": "groups/nope", "adjustmentType": "ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY",
                                      "scalingAdjustment": 1}},
         "NOT_FOUND", "groups/nope"),
        ("autoscale.v1.AlarmService/CreateAlarm",
         {"alarmId": "a", "alarm": {"thresholdRule": {"metric": "cpu", "statistic": "STATISTIC_AVERAGE",
                                                      "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN", "period": "60s"},
                                    "alarmActions": ["groups/web"]}},
         "INVALID_ARGUMENT", "alarm.alarm_actions[0]"),
        ("autoscale.v1.AlarmService/CreateAlarm",
         {"alarmId": "a", "alarm": {"thresholdRule": {"metric": "cpu", "statistic": "STATISTIC_AVERAGE",
                                                      "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN", "period": "0s"}}},
         "INVALID_ARGUMENT", "alarm.threshold_rule.period"),
        ("autoscale.v1.AlarmService/SetAlarmState", {"name": "alarms/missing", "state": "ALARM_STATE_ALARM"},
         "NOT_FOUND", "alarms/missing"),
        # As long as grpcurl takes (Go durations end at 292 years), far beyond the rules' day.
        (f"{GROUP}/CreateGroup",
         {"groupId": "g5", "group": {"launchConfig": "launchConfigs/lc", "maxSize": 1, "cooldown": "9000000000s"}},
         "INVALID_ARGUMENT", "group.cooldown: must be between 0s and 86400s"),
        ("autoscale.v1.MetricsService/GetStatistics",
         {"metric": "cpu", "statistic": "STATISTIC_AVERAGE", "period": "9000000000s"}, "INVALID_ARGUMENT", "period"),
        (f"{GROUP}/Adjust", {"name": "groups/web", "adjustmentType": "ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY", "adjustment": 1,
                             "cause": "c" * 100_000}, "INVALID_ARGUMENT", "cause: must be at most 1024 characters"),
        # Twenty over-long dimension keys once made trailers of 7-70 KB: RESOURCE_EXHAUSTED instead of the error.
        ("autoscale.v1.MetricsService/PutSamples",
         {"series": [{"metric": "cpu", "dimensions": {f"{n}" + "k" * 2000: "v" for n in range(20)}, "points": [{"value": 1}]}]},
         "INVALID_ARGUMENT", "series[0].dimensions"),
        (f"{GROUP}/ListActivities", {"parent": "groups/web", "pageToken": _token({"after": [int("9" * 401), "a-1"]})},
         "INVALID_ARGUMENT", "page_token"),
    ],
)
def test_bad_input_gets_its_status_and_names_the_field(address, method, body, code, field):
    with pytest.raises(GrpcurlError) as raised:
        grpcurl(address, method, body)
    assert raised.value.code == code, raised.value.output
    assert field in raised.value.message, raised.value.output
