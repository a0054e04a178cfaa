"""Capacity maths (Heat's calculate_new_capacity, step by step) and the activities of capacity changes."""

from __future__ import annotations

import pytest

from services.group.capacity import adjustment_activity, calculation, creation_activity, supersede
from services.group.domain import ActivityStatus, AdjustmentType, Group

CHANGE = AdjustmentType.CHANGE_IN_CAPACITY
EXACT = AdjustmentType.EXACT_CAPACITY
PERCENT = AdjustmentType.PERCENT_CHANGE_IN_CAPACITY


@pytest.mark.parametrize(
    ("current", "adjustment", "adjustment_type", "min_step", "minimum", "maximum", "expected"),
    [
        # Change in capacity.
        (2, 1, CHANGE, 0, 0, 10, 3),
        (5, -2, CHANGE, 0, 0, 10, 3),
        (1, 0, CHANGE, 0, 0, 10, 1),
        (9, 3, CHANGE, 0, 0, 10, 10),  # above max -> max
        (2, -5, CHANGE, 0, 1, 10, 1),  # below min -> min
        # Exact capacity.
        (2, 7, EXACT, 0, 0, 10, 7),
        (2, 0, EXACT, 0, 0, 10, 0),
        (2, 12, EXACT, 0, 0, 10, 10),
        (5, 1, EXACT, 0, 3, 10, 3),
        (2, 5, EXACT, 9, 0, 10, 5),  # min_adjustment_step only applies to percentages
        # Percent change: a delta under one instance rounds away from zero...
        (5, 10, PERCENT, 0, 0, 10, 6),  # +0.5 -> +1
        (5, -10, PERCENT, 0, 0, 10, 4),  # -0.5 -> -1
        (1, 1, PERCENT, 0, 0, 10, 2),  # +0.01 -> +1
        # ...a larger one towards zero.
        (3, 150, PERCENT, 0, 0, 10, 7),  # +4.5 -> +4
        (3, -150, PERCENT, 0, 0, 10, 0),  # -4.5 -> -4, clamped at min 0
        (8, -150, PERCENT, 0, 0, 20, 0),  # -12 -> -12 below min -> min
        (10, 25, PERCENT, 0, 0, 20, 12),  # +2.5 -> +2
        (10, -25, PERCENT, 0, 0, 20, 8),  # -2.5 -> -2
        (4, 100, PERCENT, 0, 0, 20, 8),  # exactly +4
        # min_adjustment_step raises a smaller change, keeping its sign.
        (5, 10, PERCENT, 2, 0, 10, 7),  # +1 -> +2
        (5, -10, PERCENT, 2, 0, 10, 3),  # -1 -> -2
        (10, 25, PERCENT, 2, 0, 20, 12),  # +2 is not smaller than 2: unchanged
        (10, 25, PERCENT, 1, 0, 20, 12),  # a step smaller than the change does nothing
        # Heat's quirk: a change of 0 counts as negative when a step applies.
        (5, 0, PERCENT, 2, 0, 10, 3),
        (0, 50, PERCENT, 1, 0, 10, 0),  # 0 -> -1, clamped at min 0
        (5, 0, PERCENT, 0, 0, 10, 5),
        # Clamps after everything.
        (9, 50, PERCENT, 0, 0, 10, 10),  # +4.5 -> +4 -> 13 -> max 10
        (2, -50, PERCENT, 3, 1, 10, 1),  # -1 -> -3 -> -1 -> min 1
    ],
)
def test_calculate_new_capacity_is_heats(current, adjustment, adjustment_type, min_step, minimum, maximum, expected):
    assert calculation(current, adjustment, adjustment_type, min_step, minimum, maximum).clamped_capacity == expected


@pytest.mark.parametrize(
    ("current", "adjustment", "min_step", "change"),
    [
        (5, 10, 0, +1),  # 0.5 rounds away from zero
        (3, 150, 0, +4),  # 4.5 rounds towards zero
        (5, -10, 0, -1),
        (3, -150, 0, -4),
        (5, 10, 2, +2),  # raised to the step
        (5, -10, 2, -2),
    ],
)
def test_percent_changes_round_as_heat_before_the_clamp(current, adjustment, min_step, change):
    assert calculation(current, adjustment, PERCENT, min_step, 0, 1000).rounded_capacity == current + change


def _group(desired: int, min_size: int = 0, max_size: int = 5) -> Group:
    return Group(id="web", launch_config_id="lc", min_size=min_size, max_size=max_size, desired_capacity=desired)


@pytest.mark.parametrize(
    ("group", "adjustment_type", "adjustment", "status", "to_capacity", "message"),
    [
        (_group(2), CHANGE, 1, ActivityStatus.IN_PROGRESS, 3, ""),
        (_group(5), CHANGE, 1, ActivityStatus.UNCHANGED, 5, "already at max_size 5"),
        (_group(1, min_size=1), CHANGE, -1, ActivityStatus.UNCHANGED, 1, "already at min_size 1"),
        (_group(3), EXACT, 3, ActivityStatus.UNCHANGED, 3, "desired capacity is already 3"),
        (_group(3), EXACT, 9, ActivityStatus.IN_PROGRESS, 5, ""),
    ],
)
def test_adjustment_activity_says_whether_and_why_the_capacity_changed(group, adjustment_type, adjustment, status, to_capacity, message):
    activity = adjustment_activity("a-1", group, adjustment_type, adjustment, 0, "alarm", 100.0)
    assert (activity.status, activity.from_capacity, activity.to_capacity, activity.status_message) == (
        status, group.desired_capacity, to_capacity, message
    )
    assert activity.cause == "alarm" and activity.start_time == 100.0
    assert activity.end_time == (100.0 if status is ActivityStatus.UNCHANGED else None)


def test_creation_activity_starts_from_zero_and_is_none_for_an_empty_group():
    activity = creation_activity("a-1", _group(2), 7.0)
    assert activity is not None
    assert (activity.cause, activity.from_capacity, activity.to_capacity) == ("CreateGroup", 0, 2)
    assert activity.status is ActivityStatus.IN_PROGRESS
    assert creation_activity("a-1", _group(0), 7.0) is None


def test_supersede_cancels_and_names_the_newer_activity():
    older = adjustment_activity("a-1", _group(2), CHANGE, 1, 0, "alarm", 1.0)
    cancelled = supersede(older, "groups/web/activities/a-2", 2.0)
    assert (cancelled.status, cancelled.end_time, cancelled.status_message) == (
        ActivityStatus.CANCELLED, 2.0, "superseded by groups/web/activities/a-2"
    )
