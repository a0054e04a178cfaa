"""`autoscale alarm ...` against the real services, all on one in-process server."""

from __future__ import annotations

import json
import re

import pytest

from tests.app.cli.cli_support import Invoke

RULE = ("--metric", "cpu", "--dimension", "group=web", "--statistic", "avg", "--comparison", "gt", "--threshold", "80",
        "--period", "60s")


@pytest.fixture
def busy_alarm(mesh_invoke: Invoke) -> str:
    """An alarm `busy` on cpu{group=web} > 80 over 2 periods of 60 s, acting on policies/web-out."""
    result = mesh_invoke("alarm", "create", "busy", *RULE, "--evaluation-periods", "2", "--alarm-action", "policies/web-out",
                         "--description", "web is hot")
    assert result.exit_code == 0, result.output
    return "busy"


def test_alarm_create_list_show_delete_round_trip(mesh_invoke: Invoke, busy_alarm: str) -> None:
    listed = mesh_invoke("alarm", "list")
    assert listed.exit_code == 0
    row = next(line for line in listed.stdout.splitlines() if line.startswith("busy"))
    assert "insufficient-data" in row and "avg(cpu{group=web}) > 80 for 2 x 1m" in row

    shown = mesh_invoke("alarm", "show", "alarms/busy")
    assert shown.exit_code == 0 and "web is hot" in shown.stdout and "policies/web-out" in shown.stdout

    assert mesh_invoke("alarm", "delete", busy_alarm).exit_code == 0
    assert mesh_invoke("alarm", "show", busy_alarm).stderr.startswith("error: NOT_FOUND: ")


def test_alarm_show_json_holds_the_rule(mesh_invoke: Invoke, busy_alarm: str) -> None:
    alarm = json.loads(mesh_invoke("alarm", "show", busy_alarm, "--json").stdout)["alarm"]
    assert alarm["thresholdRule"] == {
        "metric": "cpu", "dimensions": {"group": "web"}, "statistic": "STATISTIC_AVERAGE",
        "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN", "threshold": 80.0, "period": "60s", "evaluationPeriods": 2,
    }
    assert alarm["disabled"] is False


def test_alarm_update_changes_only_the_fields_given(mesh_invoke: Invoke, busy_alarm: str) -> None:
    updated = mesh_invoke("alarm", "update", busy_alarm, "--threshold", "90", "--disabled", "--json")
    assert updated.exit_code == 0, updated.output
    alarm = json.loads(updated.stdout)["alarm"]
    assert alarm["thresholdRule"]["threshold"] == 90.0 and alarm["thresholdRule"]["evaluationPeriods"] == 2
    assert alarm["disabled"] is True
    assert alarm["description"] == "web is hot" and alarm["alarmActions"] == ["policies/web-out"]


def test_alarm_set_state_moves_it_and_history_shows_the_transition(mesh_invoke: Invoke, busy_alarm: str) -> None:
    forced = mesh_invoke("alarm", "set-state", busy_alarm, "ok", "--reason", "by hand")
    assert forced.exit_code == 0, forced.output
    assert "by hand" in forced.stdout

    history = mesh_invoke("alarm", "history", busy_alarm)
    assert history.exit_code == 0
    assert "insufficient-data -> ok" in history.stdout

    entries = json.loads(mesh_invoke("alarm", "history", busy_alarm, "--json").stdout)["entries"]
    assert any(entry["type"] == "ALARM_HISTORY_TYPE_STATE_TRANSITION" for entry in entries)


def test_alarm_with_a_bad_rule_is_an_invalid_argument_naming_the_field(mesh_invoke: Invoke) -> None:
    result = mesh_invoke("alarm", "create", "bad", *RULE[:-2], "--period", "0s")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: INVALID_ARGUMENT: ")
    assert "  alarm.threshold_rule.period: " in result.stderr


def test_alarm_statistic_and_state_are_words(mesh_invoke: Invoke, busy_alarm: str) -> None:
    assert mesh_invoke("alarm", "create", "x", *RULE[:5], "--statistic", "mean", *RULE[6:]).exit_code == 2
    assert mesh_invoke("alarm", "set-state", busy_alarm, "red").exit_code == 2


def test_alarm_create_prints_the_webhook_secret_once_and_update_makes_a_new_one(mesh_invoke: Invoke) -> None:
    created = mesh_invoke("alarm", "create", "hooked", *RULE, "--ok-action", "https://hooks.example/ok")
    assert created.exit_code == 0, created.output
    [first] = re.findall(r"webhook secret\s+([0-9a-f]{64})", created.stdout)
    assert "webhook secret" not in mesh_invoke("alarm", "show", "hooked").stdout
    renewed = mesh_invoke("alarm", "update", "hooked", "--new-webhook-secret", "--json")
    assert renewed.exit_code == 0, renewed.output
    second = json.loads(renewed.stdout)["alarm"]["webhookSecret"]
    assert len(second) == 64 and second != first


def test_alarm_create_with_m_of_n_and_missing_data_shows_how_it_is_judged(mesh_invoke: Invoke) -> None:
    created = mesh_invoke(
        "alarm", "create", "web-busy", "--metric", "cpu", "--statistic", "avg", "--comparison", "gt", "--threshold", "80",
        "--period", "60s", "--evaluation-periods", "3", "--datapoints-to-alarm", "2", "--treat-missing-data", "not-breaching",
    )
    assert created.exit_code == 0, created.output
    assert "2 of 3 breaching alarm, fewer ok; missing data: not-breaching" in created.stdout
    updated = mesh_invoke("alarm", "update", "web-busy", "--datapoints-to-alarm", "3", "--json")
    assert updated.exit_code == 0, updated.output
    alarm = json.loads(updated.stdout)["alarm"]
    assert (alarm["datapointsToAlarm"], alarm["treatMissingData"]) == (3, "TREAT_MISSING_DATA_NOT_BREACHING")
    too_many = mesh_invoke("alarm", "update", "web-busy", "--datapoints-to-alarm", "4")
    assert too_many.exit_code != 0 and "alarm.datapoints_to_alarm" in too_many.output


def test_an_alarm_setting_neither_is_judged_by_aodhs_rule(mesh_invoke: Invoke, busy_alarm: str) -> None:
    assert "otherwise the state stays (Aodh's rule)" in mesh_invoke("alarm", "show", busy_alarm).stdout


def test_a_composite_alarm_is_made_shown_and_refused_with_metric_options(mesh_invoke: Invoke, busy_alarm: str) -> None:
    created = mesh_invoke("alarm", "create", "scale", "--composite-rule", "ALARM(busy) AND NOT OK(busy)")
    assert created.exit_code == 0, created.output
    assert "ALARM(busy) AND NOT OK(busy) (composite)" in mesh_invoke("alarm", "list").stdout
    mixed = mesh_invoke("alarm", "create", "x", "--composite-rule", "TRUE", "--threshold", "1")
    assert mixed.exit_code == 2 and "make no sense with --composite-rule" in mixed.output
    bare = mesh_invoke("alarm", "create", "y", "--metric", "cpu", "--statistic", "avg")
    assert bare.exit_code == 2 and "--comparison, --threshold, --period are required" in bare.output
    updated = mesh_invoke("alarm", "update", "scale", "--composite-rule", "ALARM(busy)", "--json")
    assert updated.exit_code == 0, updated.output
    assert json.loads(updated.stdout)["alarm"]["compositeRule"] == {"expression": "ALARM(busy)"}
    refused = mesh_invoke("alarm", "delete", busy_alarm)
    assert refused.exit_code != 0 and "used by 1 composite alarm (alarms/scale)" in refused.output
