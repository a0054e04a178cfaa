"""`autoscale alarm create --gnocchi-...` and its show, list and update, against the real services in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from autoscale.config import Settings
from services.registry import builders
from tests.app.cli.cli_support import Invoke, invoker
from tests.prometheus_server import free_port
from tests.support import running_server

SEARCH = '{"=": {"server_group": "web"}}'
TARGET = ("--gnocchi-metric", "cpu_util", "--gnocchi-resource-type", "instance", "--gnocchi-query", SEARCH)
SHARED = ("--comparison", "gt", "--threshold", "80", "--period", "1m", "--evaluation-periods", "2")
METRIC_IDS = ("0b9c5c9e-7d57-4a5e-9d0e-0c5c1e0b8c11", "5f0a9c2e-1b6d-4f55-8a40-3d2e1c0b9a22")


@pytest.fixture
def gnocchi_invoke(sqlite_url, tmp_path) -> Iterator[Invoke]:  # type: ignore[no-untyped-def]
    """Runs `autoscale ...` against the four services, whose alarm service reads a Gnocchi (not there: a closed port)."""
    settings = Settings(database_url=sqlite_url, instance_log_dir=str(tmp_path), gnocchi_url=f"http://127.0.0.1:{free_port()}")
    with running_server(builders(("metrics", "alarm", "policy", "group")), settings) as (server, _channel):
        yield invoker(f"127.0.0.1:{server.port}")


def test_alarm_create_over_a_server_group_in_gnocchi_shows_and_lists_the_rule(gnocchi_invoke: Invoke) -> None:
    created = gnocchi_invoke("alarm", "create", "web-cpu", *TARGET, *SHARED, "--alarm-action", "policies/web-out")
    assert created.exit_code == 0, created.output
    rule_line = f"mean(cpu_util of instance {SEARCH}) > 80 for 2 x 1m (Gnocchi)"
    assert rule_line in gnocchi_invoke("alarm", "show", "web-cpu").stdout
    assert rule_line in gnocchi_invoke("alarm", "list").stdout
    alarm = json.loads(gnocchi_invoke("alarm", "show", "web-cpu", "--json").stdout)["alarm"]
    assert alarm["gnocchiRule"] == {
        "metric": "cpu_util", "resourceType": "instance", "resourceId": "", "resourceQuery": SEARCH, "metricIds": [],
        "aggregationMethod": "mean",
        "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN", "threshold": 80.0, "period": "60s", "evaluationPeriods": 2,
    }
    assert "thresholdRule" not in alarm


def test_alarm_create_over_one_resource_and_over_metrics_by_id(gnocchi_invoke: Invoke) -> None:
    one = gnocchi_invoke(
        "alarm", "create", "one", "--gnocchi-metric", "cpu_util", "--gnocchi-resource-type", "instance",
        "--gnocchi-resource-id", "r1", "--gnocchi-aggregation", "95pct", *SHARED, "--json",
    )
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout)["alarm"]["gnocchiRule"]["resourceId"] == "r1"
    ids = gnocchi_invoke(
        "alarm", "create", "ids", *(part for metric_id in METRIC_IDS for part in ("--gnocchi-metric-id", metric_id)),
        "--gnocchi-aggregation", "max", *SHARED,
    )
    assert ids.exit_code == 0, ids.output
    assert f"max(metrics {', '.join(METRIC_IDS)}) > 80 for 2 x 1m (Gnocchi)" in gnocchi_invoke("alarm", "show", "ids").stdout


def test_alarm_update_changes_the_gnocchi_rule_and_switches_kinds(gnocchi_invoke: Invoke) -> None:
    assert gnocchi_invoke("alarm", "create", "web-cpu", *TARGET, *SHARED).exit_code == 0
    updated = gnocchi_invoke("alarm", "update", "web-cpu", "--threshold", "90", "--gnocchi-aggregation", "max", "--json")
    assert updated.exit_code == 0, updated.output
    rule = json.loads(updated.stdout)["alarm"]["gnocchiRule"]
    assert (rule["resourceQuery"], rule["threshold"], rule["aggregationMethod"]) == (SEARCH, 90.0, "max")
    switched = gnocchi_invoke("alarm", "update", "web-cpu", "--metric", "cpu", "--statistic", "avg", *SHARED, "--json")
    assert switched.exit_code == 0, switched.output
    alarm = json.loads(switched.stdout)["alarm"]
    assert "thresholdRule" in alarm and "gnocchiRule" not in alarm


def test_rules_of_two_kinds_and_bad_targets_are_refused(gnocchi_invoke: Invoke) -> None:
    both = gnocchi_invoke("alarm", "create", "x", *TARGET, *SHARED, "--prometheus-query", "up")
    assert both.exit_code == 2 and "make rules of different kinds" in both.stderr
    two_targets = gnocchi_invoke("alarm", "create", "x", *TARGET, "--gnocchi-resource-id", "r1", *SHARED)
    assert two_targets.exit_code != 0
    assert "alarm.gnocchi_rule.resource_query: must not be set with alarm.gnocchi_rule.resource_id" in two_targets.stderr


def test_without_gnocchi_url_the_server_says_which_flag_to_set(mesh_invoke: Invoke) -> None:
    refused = mesh_invoke("alarm", "create", "web-cpu", *TARGET, *SHARED)
    assert refused.exit_code != 0
    assert refused.stderr.startswith("error: FAILED_PRECONDITION: ") and "--gnocchi-url" in refused.stderr
