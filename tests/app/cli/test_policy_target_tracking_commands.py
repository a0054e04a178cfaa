"""`autoscale policy create|update|show|delete` of target tracking policies, against the four real services."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.app.cli.cli_support import Invoke


def test_a_cpu_target_tracking_policy_is_created_shown_with_its_alarm_updated_and_deleted(invoke: Invoke, web_group: str) -> None:
    created = invoke(
        "policy", "create", "web-cpu", "--group", web_group, "--target-tracking", "cpu=50", "--period", "30s",
        "--scale-down-window", "2m", "--scale-up-policy", "instances:2:1m", "--warmup", "1m",
    )
    assert created.exit_code == 0, created.output
    assert "cpu (the group's average CPU utilization) at 50" in created.stdout
    assert "window 2m, max of 100 percent per 15s" in created.stdout
    assert "window 0s, max of 2 instances per 1m" in created.stdout
    assert "alarms/web-cpu-target" in created.stdout

    alarm = json.loads(invoke("alarm", "show", "web-cpu-target", "--json").stdout)["alarm"]
    assert alarm["owner"] == "policies/web-cpu"
    assert alarm["thresholdRule"]["threshold"] == 50
    assert "policies/web-cpu" in invoke("alarm", "show", "web-cpu-target").stdout.split("owner", 1)[1]
    refused = invoke("alarm", "delete", "web-cpu-target")
    assert refused.exit_code == 1 and "belongs to policies/web-cpu" in refused.stderr

    updated = invoke("policy", "update", "web-cpu", "--target-tracking", "cpu=70", "--disable-scale-in", "--json")
    assert updated.exit_code == 0, updated.output
    tracking = json.loads(updated.stdout)["policy"]["targetTracking"]
    assert tracking["targetValue"] == 70 and tracking["disableScaleIn"] is True
    assert json.loads(invoke("alarm", "show", "web-cpu-target", "--json").stdout)["alarm"]["thresholdRule"]["threshold"] == 70

    listed = invoke("policy", "list")
    assert "target cpu (the group's average CPU utilization) at 70" in listed.stdout

    assert invoke("policy", "delete", "web-cpu").exit_code == 0
    assert invoke("alarm", "show", "web-cpu-target").exit_code == 1


def test_a_metric_of_the_metrics_service_is_tracked_with_its_dimensions_and_statistic(invoke: Invoke, web_group: str) -> None:
    created = invoke(
        "policy", "create", "web-queue", "--group", web_group, "--target-tracking", "queue_depth=10",
        "--metric-dimension", "group=web", "--metric-statistic", "max",
    )
    assert created.exit_code == 0, created.output
    assert "max(queue_depth{group=web}) at 10" in created.stdout
    invoke("policy", "delete", "web-queue")


def test_gnocchi_measures_are_tracked_through_an_alarm_of_the_gnocchi_rule(invoke: Invoke, web_group: str) -> None:
    created = invoke(
        "policy", "create", "web-nova", "--group", web_group, "--target-tracking", "gnocchi=60", "--gnocchi-metric", "cpu",
        "--gnocchi-resource-type", "instance", "--gnocchi-query", '{"=": {"server_group": "web"}}',
    )
    # The alarm service of this test has no --gnocchi-url: it refuses the alarm, and the policy is not kept.
    assert created.exit_code == 1 and "FAILED_PRECONDITION" in created.stderr and "--gnocchi-url" in created.stderr
    assert invoke("policy", "show", "web-nova").exit_code == 1


def test_a_bad_target_tracking_option_names_its_field(invoke: Invoke, web_group: str) -> None:
    refused = invoke("policy", "create", "p", "--group", web_group, "--target-tracking", "cpu=0")
    assert refused.exit_code == 1 and "policy.target_tracking.target_value" in refused.stderr
    malformed = invoke("policy", "create", "p", "--group", web_group, "--target-tracking", "cpu=50", "--scale-up-policy", "pods:1")
    assert malformed.exit_code == 2 and "TYPE:VALUE:PERIOD" in malformed.stderr


def test_a_predictive_floor_is_created_shown_and_refused_for_a_promql_metric(invoke: Invoke, web_group: str) -> None:
    created = invoke(
        "policy", "create", "web-cpu", "--group", web_group, "--target-tracking", "cpu=50", "--predictive-floor",
        "forecast-and-scale", "--forecast-season", "24h", "--forecast-season", "1h", "--forecast-aggregation", "avg",
    )
    assert created.exit_code == 0, created.output
    assert "forecast-and-scale, seasons 24h, 1h, buffer 5m, avg" in created.stdout
    floor = json.loads(invoke("policy", "show", "web-cpu", "--json").stdout)["policy"]["targetTracking"]["predictiveFloor"]
    assert floor == {"seasons": ["86400s", "3600s"], "mode": "PREDICTIVE_FLOOR_MODE_FORECAST_AND_SCALE",
                     "aggregation": "SEASON_AGGREGATION_AVERAGE"}
    # No execution yet: nothing forecast.
    forecast = invoke("policy", "forecast", "web-cpu")
    assert forecast.exit_code == 0 and "no executions" in forecast.stderr
    defaults = invoke("policy", "update", "web-cpu", "--target-tracking", "cpu=50", "--forecast-buffer", "0s")
    assert "forecast-only, seasons 24h, 168h, buffer 0s, max" in defaults.stdout
    sampled = invoke("policy", "update", "web-cpu", "--target-tracking", "cpu=50", "--forecast-sample-interval", "10s")
    assert "forecast-only, seasons 24h, 168h, buffer 5m, max, a sample every 10s" in sampled.stdout
    invoke("policy", "delete", "web-cpu")

    refused = invoke(
        "policy", "create", "web-prom", "--group", web_group, "--target-tracking", "promql=50", "--prometheus-query", "up",
        "--predictive-floor", "forecast-only",
    )
    assert refused.exit_code == 1 and "policy.target_tracking.predictive_floor" in refused.stderr
    assert "Metrics service" in refused.stderr


def test_policy_forecast_ahead_reads_the_metrics_history_for_the_moments_to_come(invoke: Invoke, web_group: str) -> None:
    created = invoke(
        "policy", "create", "web-cpu", "--group", web_group, "--target-tracking", "cpu=50", "--predictive-floor", "forecast-only",
        "--forecast-season", "24h", "--forecast-sample-interval", "1m",
    )
    assert created.exit_code == 0, created.output
    # Two instances at 100 % yesterday, half an hour later than now: a load of 200, a floor of 4 at 50 %.
    yesterday = datetime.now(UTC) + timedelta(minutes=30) - timedelta(days=1)
    for instance in ("i-1", "i-2"):
        put = invoke("metrics", "put", "cpu_utilization", "100", "--dimension", "group=web", "--dimension", f"instance={instance}",
                     "--time", yesterday.isoformat())
        assert put.exit_code == 0, put.output
    shown = invoke("policy", "forecast", "web-cpu", "--ahead", "1", "--step", "30m")
    assert shown.exit_code == 0, shown.output
    ahead = [line for line in shown.stdout.splitlines() if "(ahead)" in line]
    assert len(ahead) == 3  # now, in 30 minutes, in an hour: newest first
    assert "floor 4 (load 200), not applied" in ahead[1] and "24h: 200" in ahead[1]
    assert "no samples" in ahead[0] and "no samples" in ahead[2]
    as_json = json.loads(invoke("policy", "forecast", "web-cpu", "--ahead", "1", "--step", "30m", "--json").stdout)
    assert [made.get("floorCapacity") for made in as_json["ahead"]] == [None, 4, None] and as_json["executions"] == []
    too_many = invoke("policy", "forecast", "web-cpu", "--ahead", "100", "--step", "1m")
    assert too_many.exit_code == 2 and "at most 1000" in too_many.stderr
    invoke("policy", "delete", "web-cpu")


@pytest.mark.parametrize("ahead", ["nan", "inf", "1e308"])
def test_policy_forecast_ahead_must_be_finite_hours_within_a_year(invoke: Invoke, ahead: str) -> None:
    refused = invoke("policy", "forecast", "web-cpu", "--ahead", ahead)
    assert refused.exit_code == 2 and "--ahead" in refused.output
