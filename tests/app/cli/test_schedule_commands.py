"""`autoscale group schedule ...` against a real in-process server."""

from __future__ import annotations

import json

from tests.app.cli.cli_support import Invoke


def test_scheduled_actions_are_created_listed_updated_and_deleted_from_the_command_line(invoke: Invoke, web_group: str) -> None:
    created = invoke("group", "schedule", "create", web_group, "office-hours", "--recurrence", "0 9 * * 1-5",
                     "--time-zone", "Europe/Berlin", "--min", "2", "--desired", "4")
    assert created.exit_code == 0, created.output
    assert "groups/web/scheduledActions/office-hours" in created.stdout and "0 9 * * 1-5 (Europe/Berlin)" in created.stdout
    once = invoke("group", "schedule", "create", web_group, "christmas", "--at", "2099-12-24T18:00:00Z", "--max", "0")
    assert once.exit_code == 0 and "once at 2099-12-24T18:00:00Z" in once.stdout
    listed = invoke("group", "schedule", "list", web_group)
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == ["christmas", "office-hours"]

    updated = invoke("group", "schedule", "update", web_group, "office-hours", "--recurrence", "0 8 * * 1-5", "--clear", "min", "--json")
    assert updated.exit_code == 0, updated.output
    action = json.loads(updated.stdout)["scheduledAction"]
    assert action["recurrence"] == "0 8 * * 1-5" and "minSize" not in action and action["desiredCapacity"] == 4
    both = invoke("group", "schedule", "update", web_group, "office-hours", "--min", "1", "--clear", "min")
    assert both.exit_code == 2 and "not both" in both.output

    assert invoke("group", "schedule", "delete", web_group, "christmas").exit_code == 0
    shown = invoke("group", "schedule", "show", web_group, "christmas")
    assert shown.exit_code == 1 and shown.stderr.startswith("error: NOT_FOUND: ")


def test_a_bad_recurrence_from_the_command_line_names_the_field(invoke: Invoke, web_group: str) -> None:
    result = invoke("group", "schedule", "create", web_group, "nightly", "--recurrence", "0 25 * * *", "--desired", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: INVALID_ARGUMENT: ") and "scheduled_action.recurrence" in result.stderr
