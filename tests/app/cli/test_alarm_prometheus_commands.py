"""`autoscale alarm create --prometheus-query ...` and its show, list and update, against the real services in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from autoscale.config import Settings
from services.registry import builders
from tests.app.cli.cli_support import Invoke, invoker
from tests.prometheus_server import free_port
from tests.support import running_server

QUERY = 'avg(test_load{job="web"})'
RULE = ("--prometheus-query", QUERY, "--comparison", "gt", "--threshold", "10", "--period", "1m", "--evaluation-periods", "2")


@pytest.fixture
def prometheus_invoke(sqlite_url, tmp_path) -> Iterator[Invoke]:  # type: ignore[no-untyped-def]
    """Runs `autoscale ...` against the four services, whose alarm service reads a Prometheus (not there: a closed port)."""
    settings = Settings(database_url=sqlite_url, instance_log_dir=str(tmp_path), prometheus_url=f"http://127.0.0.1:{free_port()}")
    with running_server(builders(("metrics", "alarm", "policy", "group")), settings) as (server, _channel):
        yield invoker(f"127.0.0.1:{server.port}")


def test_alarm_create_with_a_prometheus_query_shows_and_lists_the_rule(prometheus_invoke: Invoke) -> None:
    created = prometheus_invoke("alarm", "create", "web-load", *RULE, "--alarm-action", "policies/web-out")
    assert created.exit_code == 0, created.output
    rule_line = f"{QUERY} > 10 for 2 x 1m (Prometheus)"
    assert rule_line in prometheus_invoke("alarm", "show", "web-load").stdout
    assert rule_line in prometheus_invoke("alarm", "list").stdout
    alarm = json.loads(prometheus_invoke("alarm", "show", "web-load", "--json").stdout)["alarm"]
    assert alarm["prometheusRule"] == {
        "query": QUERY, "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN", "threshold": 10.0, "period": "60s",
        "evaluationPeriods": 2,
    }
    assert "thresholdRule" not in alarm


def test_alarm_update_of_a_shared_rule_option_changes_the_prometheus_rule(prometheus_invoke: Invoke) -> None:
    assert prometheus_invoke("alarm", "create", "web-load", *RULE).exit_code == 0
    updated = prometheus_invoke("alarm", "update", "web-load", "--threshold", "20", "--json")
    assert updated.exit_code == 0, updated.output
    rule = json.loads(updated.stdout)["alarm"]["prometheusRule"]
    assert (rule["query"], rule["threshold"], rule["evaluationPeriods"]) == (QUERY, 20.0, 2)


def test_alarm_update_switches_a_threshold_alarm_to_prometheus(prometheus_invoke: Invoke) -> None:
    created = prometheus_invoke("alarm", "create", "cpu", "--metric", "cpu", "--statistic", "avg", *RULE[2:])
    assert created.exit_code == 0, created.output
    switched = prometheus_invoke("alarm", "update", "cpu", *RULE, "--json")
    assert switched.exit_code == 0, switched.output
    alarm = json.loads(switched.stdout)["alarm"]
    assert alarm["prometheusRule"]["query"] == QUERY and "thresholdRule" not in alarm


def test_a_rule_of_both_kinds_or_of_none_is_a_usage_error(prometheus_invoke: Invoke) -> None:
    both = prometheus_invoke("alarm", "create", "x", *RULE, "--metric", "cpu")
    assert both.exit_code == 2 and "make rules of different kinds" in both.stderr
    neither = prometheus_invoke("alarm", "create", "x", *RULE[2:])
    assert neither.exit_code == 2 and "--prometheus-query" in neither.stderr


def test_without_prometheus_url_the_server_says_which_flag_to_set(mesh_invoke: Invoke) -> None:
    refused = mesh_invoke("alarm", "create", "web-load", *RULE)
    assert refused.exit_code != 0
    assert refused.stderr.startswith("error: FAILED_PRECONDITION: ") and "--prometheus-url" in refused.stderr
