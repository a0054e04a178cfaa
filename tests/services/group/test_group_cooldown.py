"""The group's cooldown decision (services.group.cooldown): pure, with the time as an input."""

from __future__ import annotations

import pytest

from autoscale.cooldown import DEFAULT_COOLDOWN, effective_cooldown
from services.group.cooldown import adjust_refusal, adjustment, cooldown_end_after, refusal
from services.group.domain import Activity, ActivityStatus, AdjustCommand, AdjustmentType, Group, Refusal, Refused

CHANGE = AdjustmentType.CHANGE_IN_CAPACITY
EXACT = AdjustmentType.EXACT_CAPACITY
NOW = 1_700_000_000.0
"""2023-11-14T22:13:20Z"""
def _cooling(until: str, left: int, end: float) -> Refused:
    return Refused(Refusal.COOLDOWN, f"group groups/web is in cooldown until {until} ({left}s left)", end)


RESIZING = Refused(Refusal.SCALING_IN_PROGRESS, "group groups/web is resizing (activity groups/web/activities/a-1)")


def _group(cooldown_end: float | None = None, cooldown: float | None = None, desired: int = 2) -> Group:
    return Group("web", "lc", min_size=1, max_size=5, desired_capacity=desired, cooldown=cooldown, cooldown_end=cooldown_end)


@pytest.mark.parametrize(
    ("cooldown_end", "in_progress", "honor_cooldown", "expected"),
    [
        # Nothing under way: allowed.
        (None, None, True, None),
        (None, None, False, None),
        # Resizing: refused whether or not the cooldown is honoured, naming the activity.
        (None, "a-1", True, RESIZING),
        (None, "a-1", False, RESIZING),
        (NOW + 60, "a-1", True, RESIZING),  # resizing says more than a cooldown that will be restarted
        # Cooling down: refused with the end, the seconds left rounded up.
        (NOW + 60, None, True, _cooling("2023-11-14T22:14:20Z", 60, NOW + 60)),
        (NOW + 0.2, None, True, _cooling("2023-11-14T22:13:20Z", 1, NOW + 0.2)),
        # The cooldown ends at its end exactly; one over is over.
        (NOW, None, True, None),
        (NOW - 30, None, True, None),
        # Refusing only while resizing ignores the cooldown.
        (NOW + 60, None, False, None),
    ],
)
def test_refusal_says_whether_a_resize_or_the_cooldown_keeps_the_group_as_it_is(
    cooldown_end: float | None, in_progress: str | None, honor_cooldown: bool, expected: Refused | None
) -> None:
    assert refusal(_group(cooldown_end), in_progress, NOW, honor_cooldown=honor_cooldown) == expected


@pytest.mark.parametrize(
    ("honor_cooldown", "refuse_while_scaling", "cooldown_end", "in_progress", "expected"),
    [
        # An operator's Adjust (no flag) is never refused.
        (False, False, NOW + 60, "a-1", None),
        (False, True, NOW + 60, None, None),
        (False, True, None, "a-1", Refusal.SCALING_IN_PROGRESS),
        (True, False, NOW + 60, None, Refusal.COOLDOWN),
        (True, True, NOW + 60, None, Refusal.COOLDOWN),
        (True, False, None, "a-1", Refusal.SCALING_IN_PROGRESS),
    ],
)
def test_an_adjust_is_refused_only_as_its_flags_ask(
    honor_cooldown: bool, refuse_while_scaling: bool, cooldown_end: float | None, in_progress: str | None, expected: Refusal | None
) -> None:
    command = AdjustCommand(CHANGE, 1, 0, "c", honor_cooldown=honor_cooldown, refuse_while_scaling=refuse_while_scaling)
    refused = adjust_refusal(command, _group(cooldown_end), in_progress, NOW)
    assert (refused.refusal if refused is not None else None) == expected


@pytest.mark.parametrize(
    ("requested", "group_cooldown", "expected"),
    [(30.0, 120.0, 30.0), (0.0, 120.0, 0.0), (None, 120.0, 120.0), (None, 0.0, 0.0), (None, None, DEFAULT_COOLDOWN)],
)
def test_an_adjustment_starts_the_callers_cooldown_else_the_groups_else_300s(
    requested: float | None, group_cooldown: float | None, expected: float
) -> None:
    assert effective_cooldown(requested, group_cooldown) == expected


@pytest.mark.parametrize(
    ("honor_cooldown", "requested", "adjustment_type", "amount", "status", "cooldown"),
    [
        (True, 30.0, CHANGE, 1, ActivityStatus.IN_PROGRESS, 30.0),
        (True, None, CHANGE, 1, ActivityStatus.IN_PROGRESS, 120.0),  # the group's
        (False, None, CHANGE, 1, ActivityStatus.IN_PROGRESS, None),  # an operator's Adjust starts none
        (True, 30.0, EXACT, 2, ActivityStatus.UNCHANGED, None),  # nothing changed: none
        (True, 30.0, CHANGE, 9, ActivityStatus.IN_PROGRESS, 30.0),  # clamped to max_size, still a change
    ],
)
def test_the_activity_of_an_adjustment_carries_the_cooldown_it_starts(
    honor_cooldown: bool, requested: float | None, adjustment_type: AdjustmentType, amount: int, status: ActivityStatus,
    cooldown: float | None,
) -> None:
    command = AdjustCommand(adjustment_type, amount, 0, "c", honor_cooldown=honor_cooldown, cooldown=requested)
    activity = adjustment(command, _group(cooldown=120.0), "a-9", NOW)
    assert (activity.id, activity.from_capacity, activity.start_time) == ("a-9", 2, NOW)
    assert (activity.status, activity.cooldown) == (status, cooldown)


def _ended(status: ActivityStatus, end_time: float | None, cooldown: float | None) -> Activity:
    return Activity("a-1", "web", "c", 1, 2, NOW - 10, status, end_time=end_time, cooldown=cooldown)


@pytest.mark.parametrize(
    ("previous_end", "ended", "expected"),
    [
        # Counted from the end of the activity, whatever ended it.
        (None, _ended(ActivityStatus.SUCCEEDED, NOW, 60.0), NOW + 60),
        (None, _ended(ActivityStatus.FAILED, NOW, 60.0), NOW + 60),
        (None, _ended(ActivityStatus.CANCELLED, NOW, 60.0), NOW + 60),
        (None, _ended(ActivityStatus.SUCCEEDED, NOW, 0.0), NOW),
        # An older cooldown that ended is replaced; one running longer is kept.
        (NOW - 100, _ended(ActivityStatus.SUCCEEDED, NOW, 60.0), NOW + 60),
        (NOW + 500, _ended(ActivityStatus.SUCCEEDED, NOW, 60.0), NOW + 500),
        # No cooldown started: an operator's activity, one that changed nothing, one not ended.
        (NOW - 5, _ended(ActivityStatus.SUCCEEDED, NOW, None), NOW - 5),
        (None, _ended(ActivityStatus.UNCHANGED, NOW, 60.0), None),
        (None, _ended(ActivityStatus.IN_PROGRESS, None, 60.0), None),
    ],
)
def test_the_groups_cooldown_ends_the_activitys_cooldown_after_the_activity_ended(
    previous_end: float | None, ended: Activity, expected: float | None
) -> None:
    assert cooldown_end_after(previous_end, ended) == expected
