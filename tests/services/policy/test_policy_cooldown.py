"""The cooldown maths of a group: effective cooldown, its end after a resize, the pending activity's settlement."""

from __future__ import annotations

import pytest

from services.policy.cooldown import GroupCooldown, after_adjustment, claimed, cooldown_end_after, effective_cooldown, released, settle
from services.policy.domain import ActivityStatus, ActivityView

ACTIVITY = "groups/web/activities/a1"


def _activity(status: ActivityStatus, end_time: float | None = 100.0) -> ActivityView:
    return ActivityView(ACTIVITY, status, end_time)


@pytest.mark.parametrize(
    ("policy_cooldown", "group_cooldown", "expected"),
    [
        (60.0, 120.0, 60.0),
        (0.0, 120.0, 0.0),
        (None, 120.0, 120.0),
        (None, 0.0, 0.0),
        (None, None, 300.0),
        (30.0, None, 30.0),
    ],
)
def test_effective_cooldown_is_the_policys_else_the_groups_else_300s(policy_cooldown, group_cooldown, expected):
    assert effective_cooldown(policy_cooldown, group_cooldown) == expected


@pytest.mark.parametrize(
    ("previous_end", "activity", "cooldown", "expected"),
    [
        (None, _activity(ActivityStatus.SUCCEEDED), 60.0, 160.0),
        (None, _activity(ActivityStatus.FAILED), 60.0, 160.0),
        (None, _activity(ActivityStatus.CANCELLED), 60.0, 160.0),
        (None, _activity(ActivityStatus.UNCHANGED), 60.0, None),
        (500.0, _activity(ActivityStatus.UNCHANGED), 60.0, 500.0),
        (500.0, _activity(ActivityStatus.SUCCEEDED), 60.0, 500.0),
        (120.0, _activity(ActivityStatus.SUCCEEDED), 60.0, 160.0),
        (None, _activity(ActivityStatus.SUCCEEDED), 0.0, 100.0),
    ],
)
def test_cooldown_ends_at_the_later_of_the_running_one_and_the_resize_end_plus_its_cooldown(previous_end, activity, cooldown, expected):
    assert cooldown_end_after(previous_end, activity, cooldown) == expected


PENDING = GroupCooldown("web", cooldown_end=50.0, pending_activity=ACTIVITY, pending_cooldown=60.0, version=3)


@pytest.mark.parametrize(
    ("state", "activity", "expected"),
    [
        (GroupCooldown("web", cooldown_end=50.0), _activity(ActivityStatus.SUCCEEDED), GroupCooldown("web", cooldown_end=50.0)),
        (PENDING, _activity(ActivityStatus.IN_PROGRESS, None), PENDING),
        # The status is what counts: an end time alone does not finish an activity in progress.
        (PENDING, _activity(ActivityStatus.IN_PROGRESS, 100.0), PENDING),
        (PENDING, _activity(ActivityStatus.SUCCEEDED), GroupCooldown("web", cooldown_end=160.0, version=3)),
        (PENDING, _activity(ActivityStatus.FAILED, 200.0), GroupCooldown("web", cooldown_end=260.0, version=3)),
        (PENDING, _activity(ActivityStatus.UNCHANGED), GroupCooldown("web", cooldown_end=50.0, version=3)),
        (PENDING, None, GroupCooldown("web", cooldown_end=50.0, version=3)),
    ],
)
def test_settling_the_pending_activity_starts_its_cooldown_once_it_has_finished(state, activity, expected):
    assert settle(state, activity) == expected


def test_an_adjustment_leaves_its_activity_pending_with_its_cooldown_and_releases_the_claim():
    state = claimed(GroupCooldown("web", cooldown_end=50.0, version=2), now=90.0)
    assert state.adjusting_since == 90.0
    after = after_adjustment(state, _activity(ActivityStatus.IN_PROGRESS, None), 45.0)
    assert after == GroupCooldown("web", cooldown_end=50.0, pending_activity=ACTIVITY, pending_cooldown=45.0, version=2)


def test_an_adjustment_whose_activity_is_already_over_starts_the_cooldown_at_once():
    after = after_adjustment(claimed(GroupCooldown("web"), now=90.0), _activity(ActivityStatus.SUCCEEDED, 95.0), 45.0)
    assert after == GroupCooldown("web", cooldown_end=140.0)


def test_releasing_a_claim_keeps_the_cooldown():
    assert released(claimed(GroupCooldown("web", cooldown_end=50.0), now=90.0)) == GroupCooldown("web", cooldown_end=50.0)
