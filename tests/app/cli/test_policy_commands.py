"""`autoscale policy ...` against real in-process policy and group services."""

from __future__ import annotations

import json

from tests.app.cli.cli_support import Invoke


def test_policy_create_list_show_delete_round_trip(invoke: Invoke, web_group: str) -> None:
    created = invoke("policy", "create", "web-out", "--group", web_group, "--type", "percent", "--adjustment", "50",
                     "--min-step", "1", "--cooldown", "60s")
    assert created.exit_code == 0, created.output
    assert "policies/web-out" in created.stdout and "1m" in created.stdout

    listed = invoke("policy", "list")
    assert listed.exit_code == 0
    row = next(line for line in listed.stdout.splitlines() if line.startswith("web-out"))
    assert "percent +50 (at least 1)" in row

    shown = json.loads(invoke("policy", "show", "web-out", "--json").stdout)["policy"]
    assert shown["group"] == "groups/web"
    assert shown["adjustmentType"] == "ADJUSTMENT_TYPE_PERCENT_CHANGE_IN_CAPACITY"
    assert shown["cooldown"] == "60s"

    assert invoke("policy", "delete", "web-out").exit_code == 0
    assert invoke("policy", "show", "web-out").exit_code == 1


def test_policy_without_cooldown_shows_the_groups(invoke: Invoke, web_group: str) -> None:
    created = invoke("policy", "create", "web-in", "--group", web_group, "--type", "change", "--adjustment", "-1")
    assert created.exit_code == 0, created.output
    assert "group's" in created.stdout
    invoke("policy", "delete", "web-in")


def test_policy_update_changes_only_the_fields_given(invoke: Invoke, web_group: str) -> None:
    invoke("policy", "create", "p", "--group", web_group, "--type", "change", "--adjustment", "1", "--cooldown", "30s")
    updated = invoke("policy", "update", "p", "--adjustment", "2", "--json")
    assert updated.exit_code == 0, updated.output
    policy = json.loads(updated.stdout)["policy"]
    assert policy["scalingAdjustment"] == 2 and policy["cooldown"] == "30s"
    assert policy["adjustmentType"] == "ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY"
    invoke("policy", "delete", "p")


def test_policy_execute_adjusts_the_group_and_is_listed_in_executions(invoke: Invoke, web_group: str) -> None:
    invoke("policy", "create", "p", "--group", web_group, "--type", "exact", "--adjustment", "0", "--cooldown", "0s")
    executed = invoke("policy", "execute", "p", "--cause", "by hand", "--request-id", "r-1", "--json")
    assert executed.exit_code == 0, executed.output
    assert "adjusted" in json.loads(executed.stdout)

    executions = invoke("policy", "executions", "p")
    assert executions.exit_code == 0
    assert "by hand" in executions.stdout and "r-1" in executions.stdout

    as_json = json.loads(invoke("policy", "executions", "p", "--json").stdout)
    assert len(as_json["executions"]) == 1
    invoke("policy", "delete", "p")


def test_policy_of_an_unknown_group_is_not_found(invoke: Invoke) -> None:
    result = invoke("policy", "create", "p", "--group", "ghost", "--type", "change", "--adjustment", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: NOT_FOUND: ")


def test_policy_type_must_be_one_of_the_words(invoke: Invoke) -> None:
    result = invoke("policy", "create", "p", "--group", "g", "--type", "sideways", "--adjustment", "1")
    assert result.exit_code == 2
    assert "--type" in result.stderr


def test_policy_delete_refuses_a_policy_that_an_alarm_names_until_the_alarm_is_gone(invoke: Invoke, web_group: str) -> None:
    assert invoke("policy", "create", "web-out", "--group", web_group, "--type", "change", "--adjustment", "1").exit_code == 0
    created = invoke("alarm", "create", "busy", "--metric", "cpu", "--statistic", "avg", "--comparison", "gt", "--threshold", "80",
                     "--period", "60s", "--ok-action", "policies/web-out")
    assert created.exit_code == 0, created.output

    refused = invoke("policy", "delete", "web-out")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: FAILED_PRECONDITION: policies/web-out is used by 1 alarm (alarms/busy); ")
    forced_group = invoke("group", "delete", web_group, "--force")
    assert forced_group.exit_code == 1
    assert "groups/web is kept" in forced_group.stderr and "alarms/busy" in forced_group.stderr
    assert invoke("policy", "show", "web-out").exit_code == 0

    assert invoke("alarm", "delete", "busy").exit_code == 0
    assert invoke("policy", "delete", "web-out").exit_code == 0


def test_a_step_policy_is_created_with_steps_shown_and_executed_with_a_metric_value(invoke: Invoke, web_group: str) -> None:
    created = invoke("policy", "create", "web-steps", "--group", web_group, "--type", "change", "--step", "0:10:0",
                     "--step", "10:20:1", "--step", "20::3:exact", "--aggregation", "max", "--warmup", "2m")
    assert created.exit_code == 0, created.output
    assert "step 1" in created.stdout and "10 .. 20: +1" in created.stdout and "20 .. +inf: +3 exact" in created.stdout
    assert "max" in created.stdout and "2m" in created.stdout

    listed = invoke("policy", "list")
    assert "change steps: 0 .. 10: +0, 10 .. 20: +1, 20 .. +inf: +3 exact" in listed.stdout

    executed = invoke("policy", "execute", "web-steps", "--metric-value", "65", "--breach-threshold", "50")
    assert executed.exit_code == 0, executed.output
    assert "breach 15 (metric value 65, threshold 50) in step 10 .. 20" in executed.stdout
    assert "10 .. 20: +1" in executed.stdout

    refused = invoke("policy", "execute", "web-steps")
    assert refused.exit_code == 1 and "FAILED_PRECONDITION" in refused.stderr
    invoke("policy", "delete", "web-steps")


def test_a_step_that_is_not_lower_upper_adjustment_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("policy", "create", "p", "--group", "g", "--type", "change", "--step", "10:x:1")
    assert result.exit_code == 2 and "bounds must be numbers" in result.output
