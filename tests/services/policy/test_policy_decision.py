"""Whether a signal may adjust its group now, and what an Adjust's answer means."""

from __future__ import annotations

import pytest

from services.policy.cooldown import GroupCooldown
from services.policy.decision import Decision, Outcome, adjustment_outcome, decide

GROUP = "groups/web"
NOW = 1_700_000_000.0
LEASE = 30.0


@pytest.mark.parametrize(
    ("state", "scaling_in_progress", "expected"),
    [
        (GroupCooldown("web"), False, Decision(True)),
        (GroupCooldown("web", cooldown_end=NOW), False, Decision(True)),
        (GroupCooldown("web", cooldown_end=NOW - 1), False, Decision(True)),
        (
            GroupCooldown("web", cooldown_end=NOW + 59.5),
            False,
            Decision(False, "group groups/web is in cooldown until 2023-11-14T22:14:19Z (60s left)"),
        ),
        (GroupCooldown("web"), True, Decision(False, "group groups/web is resizing (an activity is in progress)")),
        (
            GroupCooldown("web", pending_activity="groups/web/activities/a1", pending_cooldown=60.0),
            False,
            Decision(False, "group groups/web is resizing (activity groups/web/activities/a1)"),
        ),
        # A resize under way is reported before a cooldown still running from an earlier one.
        (
            GroupCooldown("web", cooldown_end=NOW + 60, pending_activity="groups/web/activities/a2"),
            True,
            Decision(False, "group groups/web is resizing (activity groups/web/activities/a2)"),
        ),
        (
            GroupCooldown("web", adjusting_since=NOW - 5),
            False,
            Decision(False, "group groups/web is being adjusted by another signal (since 2023-11-14T22:13:15Z)"),
        ),
        # A claim older than the lease is that of an execution that died: it blocks no more.
        (GroupCooldown("web", adjusting_since=NOW - LEASE), False, Decision(True)),
    ],
)
def test_decide_refuses_while_resizing_or_cooling_down_and_says_why(state, scaling_in_progress, expected):
    assert decide(GROUP, state, scaling_in_progress=scaling_in_progress, now=NOW, claim_lease=LEASE) == expected


@pytest.mark.parametrize(
    ("previous", "desired", "expected"),
    [
        (1, 2, Outcome(True, "desired capacity 1 → 2")),
        (3, 0, Outcome(True, "desired capacity 3 → 0")),
        (3, 3, Outcome(False, "capacity stays at 3 (group limits [1, 3])")),
        (1, 1, Outcome(False, "capacity stays at 1 (group limits [1, 3])")),
    ],
)
def test_adjustment_outcome_is_adjusted_only_when_the_capacity_moved(previous, desired, expected):
    assert adjustment_outcome(previous, desired, 1, 3) == expected
