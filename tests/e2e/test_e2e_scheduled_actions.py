"""Scheduled actions end to end: `autoscale up`, a one-time action made with the CLI a few seconds ahead sets the group's
sizes at its time, and a recurring one made through grpcurl shows its next run in its time zone."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.harness import FAST, GROUP, autoscale, cli, free_port, grpcurl, wait_until

pytestmark = pytest.mark.e2e


def test_a_one_time_action_from_the_cli_sets_the_groups_sizes_at_its_time(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), *FAST]
    with autoscale(args, tmp_path / "up.log", address):
        cli(address, "launch-config", "create", "sleeper", "--arg", sys.executable, "--arg", "-c", "--arg", "import time; time.sleep(600)")
        cli(address, "group", "create", "web", "--launch-config", "sleeper", "--min", "0", "--max", "3")
        at = (datetime.now(UTC) + timedelta(seconds=3)).isoformat(timespec="seconds")
        created = cli(address, "group", "schedule", "create", "web", "warm-up", "--at", at, "--min", "1", "--max", "2")
        assert "next run" in created

        recurring = grpcurl(address, f"{GROUP}/CreateScheduledAction", {
            "parent": "groups/web", "scheduledActionId": "office-hours",
            "scheduledAction": {"recurrence": "0 9 * * 1-5", "timeZone": "Europe/Berlin", "desiredCapacity": 2},
        })["scheduled_action"]
        next_run = datetime.fromisoformat(recurring["next_run_time"])
        assert next_run > datetime.now(UTC) and next_run.astimezone(ZoneInfo("Europe/Berlin")).hour == 9

        def sizes() -> tuple[int, int, int] | None:
            group = grpcurl(address, f"{GROUP}/GetGroup", {"name": "groups/web"})["group"]
            found = (group.get("min_size", 0), group.get("max_size", 0), group.get("desired_capacity", 0))
            return found if found == (1, 2, 1) else None

        wait_until(sizes, 30, "the scheduled action to set min 1, max 2 (desired moved to 1)")
        shown = cli(address, "group", "schedule", "show", "web", "warm-up")
        assert "succeeded" in shown
        activities = cli(address, "group", "activities", "web")
        assert "scheduled action warm-up" in activities
        listed = cli(address, "group", "schedule", "list", "web")
        assert "office-hours" in listed and "0 9 * * 1-5 (Europe/Berlin)" in listed
        cli(address, "group", "schedule", "delete", "web", "office-hours")
        cli(address, "group", "delete", "web")

