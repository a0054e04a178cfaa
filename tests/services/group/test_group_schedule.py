"""When scheduled actions run and what a run does (pure: times are inputs).

The recurrences follow AWS's PutScheduledUpdateGroupAction: "[Minute] [Hour] [Day_of_Month]
[Month_of_Year] [Day_of_Week]", e.g. its "30 0 1 1,6,12 *"; "If you specify Recurrence and
StartTime, Amazon EC2 Auto Scaling performs the action at this time, and then performs the action
based on the specified recurrence"; StartTime and EndTime "form the boundaries of when the
recurring action starts and stops".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from services.group.domain import ActivityStatus, Group
from services.group.processes import ScalingProcess
from services.group.schedule import (
    RunStatus,
    ScheduledAction,
    latest_due,
    recurrence_problem,
    run,
    run_after,
)


def at(text: str) -> float:
    """An ISO 8601 time with its offset, as seconds since the epoch."""
    return datetime.fromisoformat(text).timestamp()


def action(recurrence: str = "", time_zone: str = "", **fields: float | int | None) -> ScheduledAction:
    return ScheduledAction(id="nightly", group_id="web", recurrence=recurrence, time_zone=time_zone, **fields)  # type: ignore[arg-type]


GROUP = Group(id="web", launch_config_id="lc", min_size=1, max_size=10, desired_capacity=4)


@pytest.mark.parametrize(
    ("scheduled", "after", "expected"),
    [
        # one-time: at its start_time, then never
        (action(start_time=at("2026-12-24T18:00:00+00:00")), "2026-12-06T12:00:00+00:00", "2026-12-24T18:00:00+00:00"),
        (action(start_time=at("2026-12-24T18:00:00+00:00")), "2026-12-24T18:00:00+00:00", None),
        # AWS's example recurrence, in UTC
        (action("30 0 1 1,6,12 *"), "2026-12-06T12:00:00+00:00", "2027-01-01T00:30:00+00:00"),
        (action("30 0 1 1,6,12 *"), "2027-01-01T00:30:00+00:00", "2027-06-01T00:30:00+00:00"),
        # weekdays at 09:00 on Berlin's clock (CET in winter, CEST in summer)
        (action("0 9 * * 1-5", "Europe/Berlin"), "2026-12-11T10:00:00+01:00", "2026-12-14T09:00:00+01:00"),
        (action("0 9 * * 1-5", "Europe/Berlin"), "2027-06-04T10:00:00+02:00", "2027-06-07T09:00:00+02:00"),
        # with a start_time: at the start time first (AWS), then the recurrence after it
        (action("0 9 * * *", start_time=at("2026-12-07T15:00:00+00:00")), "2026-12-06T12:00:00+00:00", "2026-12-07T15:00:00+00:00"),
        (action("0 9 * * *", start_time=at("2026-12-07T15:00:00+00:00")), "2026-12-07T15:00:00+00:00", "2026-12-08T09:00:00+00:00"),
        # no run at or after end_time
        (action("0 9 * * *", end_time=at("2026-12-08T09:00:00+00:00")), "2026-12-07T09:00:00+00:00", None),
        (action("0 9 * * *", end_time=at("2026-12-08T09:00:01+00:00")), "2026-12-07T09:00:00+00:00", "2026-12-08T09:00:00+00:00"),
        # spring forward in Berlin (2027-03-28, 02:00 CET -> 03:00 CEST): 02:30 does not exist, it runs at the change
        (action("30 2 * * *", "Europe/Berlin"), "2027-03-27T12:00:00+01:00", "2027-03-28T03:00:00+02:00"),
        (action("30 2 * * *", "Europe/Berlin"), "2027-03-28T03:00:00+02:00", "2027-03-29T02:30:00+02:00"),
        # fall back in Berlin (2027-10-31, 03:00 CEST -> 02:00 CET): 02:30 happens twice, it runs the first time only
        (action("30 2 * * *", "Europe/Berlin"), "2027-10-30T12:00:00+02:00", "2027-10-31T02:30:00+02:00"),
        (action("30 2 * * *", "Europe/Berlin"), "2027-10-31T02:30:00+02:00", "2027-11-01T02:30:00+01:00"),
        (action("30 2 * * *", "Europe/Berlin"), "2027-10-31T02:10:00+01:00", "2027-11-01T02:30:00+01:00"),
        # nothing after the last time a Timestamp holds (9999-12-31), whatever the zone's offset
        (action("0 0 1 1 *"), "9999-12-31T22:00:00+00:00", None),
        (action("0 0 1 1 *", "Pacific/Kiritimati"), "9999-12-31T22:00:00+00:00", None),
    ],
)
def test_an_action_runs_next_at_its_start_then_at_each_time_of_its_recurrence_in_its_zone_before_its_end(scheduled, after, expected):
    found = run_after(scheduled, at(after))
    assert found == (at(expected) if expected is not None else None)


def _runs_while_the_clock_ticks(scheduled: ScheduledAction, start: str, end: str, step: float) -> list[float]:
    """The times a runner polling every `step` seconds from start to end runs the action."""
    now, runs = at(start), []
    scheduled = replace(scheduled, next_run_time=run_after(scheduled, now))
    while now <= at(end):
        due = latest_due(scheduled, now)
        if due is not None:
            runs.append(due)
            scheduled = run(scheduled, GROUP, "a-1", now).action
        now += step
    return runs


def test_a_daily_0230_action_in_berlin_runs_once_at_the_change_on_the_spring_forward_day():
    runs = _runs_while_the_clock_ticks(action("30 2 * * *", "Europe/Berlin"), "2027-03-27T12:00:00+01:00", "2027-03-29T12:00:00+02:00", 60)
    assert runs == [at("2027-03-28T03:00:00+02:00"), at("2027-03-29T02:30:00+02:00")]


def test_a_daily_0230_action_in_berlin_runs_once_on_the_fall_back_day_when_0230_happens_twice():
    runs = _runs_while_the_clock_ticks(action("30 2 * * *", "Europe/Berlin"), "2027-10-30T12:00:00+02:00", "2027-11-01T12:00:00+01:00", 60)
    assert runs == [at("2027-10-31T02:30:00+02:00"), at("2027-11-01T02:30:00+01:00")]


DAILY_0900 = action("0 9 * * *", next_run_time=at("2026-12-01T09:00:00+00:00"))


@pytest.mark.parametrize(
    ("scheduled", "now", "expected"),
    [
        (DAILY_0900, "2026-12-01T08:59:59+00:00", None),
        (DAILY_0900, "2026-12-01T09:00:00+00:00", "2026-12-01T09:00:00+00:00"),
        # down two days: only the most recent missed time runs
        (DAILY_0900, "2026-12-03T10:00:00+00:00", "2026-12-03T09:00:00+00:00"),
        (DAILY_0900, "2026-12-03T08:00:00+00:00", "2026-12-02T09:00:00+00:00"),
        # never past its end
        (replace(DAILY_0900, end_time=at("2026-12-02T12:00:00+00:00")), "2026-12-03T10:00:00+00:00", "2026-12-02T09:00:00+00:00"),
        # a one-time action missed runs late
        (action(start_time=at("2026-12-01T09:00:00+00:00"), next_run_time=at("2026-12-01T09:00:00+00:00")),
         "2026-12-03T10:00:00+00:00", "2026-12-01T09:00:00+00:00"),
        (replace(DAILY_0900, next_run_time=None), "2026-12-03T10:00:00+00:00", None),
    ],
)
def test_the_run_due_is_the_most_recent_time_not_after_now_and_older_missed_ones_are_skipped(scheduled, now, expected):
    assert latest_due(scheduled, at(now)) == (at(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        # desired capacity moved into the new range (as UpdateGroup and AWS)
        ({"min_size": 6}, (6, 10, 6)),
        ({"max_size": 2}, (1, 2, 2)),
        ({"min_size": 0, "max_size": 3}, (0, 3, 3)),
        ({"desired_capacity": 8}, (1, 10, 8)),
        ({"min_size": 2, "max_size": 20, "desired_capacity": 12}, (2, 20, 12)),
        ({"min_size": 2}, (2, 10, 4)),
    ],
)
def test_a_run_sets_the_sizes_it_names_and_keeps_the_desired_capacity_within_them(sizes, expected):
    done = run(action(start_time=1000.0, next_run_time=1000.0, **sizes), GROUP, "a-1", 1000.0)
    assert (done.group.min_size, done.group.max_size, done.group.desired_capacity) == expected
    assert done.action.last_run_status is RunStatus.SUCCEEDED and done.action.next_run_time is None
    assert done.activity is not None and done.activity.cause == "scheduled action nightly"
    assert done.activity.status is (ActivityStatus.UNCHANGED if expected[2] == 4 else ActivityStatus.IN_PROGRESS)


def test_a_run_whose_desired_capacity_is_beyond_the_groups_max_size_fails_and_leaves_the_group_as_it_was():
    done = run(action(start_time=1000.0, next_run_time=1000.0, desired_capacity=12), GROUP, "a-1", 1000.0)
    assert done.group == GROUP
    assert done.action.last_run_status is RunStatus.FAILED
    assert done.action.last_run_reason == "desired capacity 12 would be outside [min_size, max_size] = [1, 10]"
    assert done.activity is not None and done.activity.status is ActivityStatus.FAILED


def test_a_run_due_while_scheduled_actions_are_suspended_is_skipped_and_the_next_one_still_comes():
    suspended = replace(GROUP, suspended_processes=frozenset({ScalingProcess.SCHEDULED_ACTIONS}))
    done = run(replace(DAILY_0900, desired_capacity=8), suspended, "a-1", at("2026-12-01T09:00:00+00:00"))
    assert done.group == suspended and done.activity is None
    assert done.action.last_run_status is RunStatus.SKIPPED and "suspended" in done.action.last_run_reason
    assert done.action.next_run_time == at("2026-12-02T09:00:00+00:00")


def test_an_action_whose_end_time_passed_while_it_waited_does_not_run_and_runs_no_more():
    ended = replace(DAILY_0900, desired_capacity=8, end_time=at("2026-12-02T12:00:00+00:00"))
    done = run(ended, GROUP, "a-1", at("2026-12-03T10:00:00+00:00"))
    assert done.group == GROUP and done.activity is None
    assert done.action.last_run_status is RunStatus.SKIPPED and done.action.next_run_time is None


def test_a_late_run_says_which_time_it_was_for_in_its_cause():
    done = run(replace(DAILY_0900, desired_capacity=8), GROUP, "a-1", at("2026-12-03T10:00:00+00:00"))
    assert done.activity is not None
    assert done.activity.cause == "scheduled action nightly, late: its run of 2026-12-03T09:00:00Z"
    assert done.action.next_run_time == at("2026-12-04T09:00:00+00:00")


@pytest.mark.parametrize(
    ("recurrence", "problem"),
    [
        ("0 9 * * 1-5", None),
        ("30 0 1 1,6,12 *", None),
        ("0 9 * *", "must have 5 fields (minute hour day-of-month month day-of-week), got 4"),
        ("0 0 9 * * 1-5", "must have 5 fields (minute hour day-of-month month day-of-week), got 6"),
        ("@daily", "must have 5 fields (minute hour day-of-month month day-of-week), got 1"),
        ("61 9 * * *", "is not a valid cron expression"),
        ("0 0 31 2 *", "names no time that exists (e.g. the 31st of a month that has 30 days)"),
    ],
)
def test_a_recurrence_is_a_valid_five_field_cron_expression_that_names_some_time(recurrence, problem):
    assert recurrence_problem(recurrence) == problem
