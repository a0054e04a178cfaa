"""Whether a policy's signal may adjust its group now, and what its outcome means, for people.

Pure functions of the group's cooldown state and what the group service said; the
caller passes `now`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from autoscale.timeutil import format_time
from services.policy.cooldown import GroupCooldown


@dataclass(frozen=True)
class Decision:
    """May the group be adjusted now, and if not, why."""

    allowed: bool
    reason: str = ""


def decide(group: str, state: GroupCooldown, *, scaling_in_progress: bool, now: float, claim_lease: float) -> Decision:
    """Heat's rule: no adjustment while the group resizes or cools down.

    `state` is settled (its pending activity, if any, is still in progress).
    Another execution's claim counts until `claim_lease` seconds after it was
    taken, so that a replica that died while calling Adjust blocks no one for long.
    """
    if state.adjusting_since is not None and now < state.adjusting_since + claim_lease:
        return Decision(False, f"group {group} is being adjusted by another signal (since {format_time(state.adjusting_since)})")
    if scaling_in_progress or state.pending_activity is not None:
        activity = f"activity {state.pending_activity}" if state.pending_activity else "an activity is in progress"
        return Decision(False, f"group {group} is resizing ({activity})")
    if state.cooldown_end is not None and now < state.cooldown_end:
        left = math.ceil(state.cooldown_end - now)
        return Decision(False, f"group {group} is in cooldown until {format_time(state.cooldown_end)} ({left}s left)")
    return Decision(True)


@dataclass(frozen=True)
class Outcome:
    """What an Adjust did to the group, for the caller and the execution record."""

    adjusted: bool
    reason: str


def adjustment_outcome(previous_capacity: int, desired_capacity: int, min_size: int, max_size: int) -> Outcome:
    """What an Adjust's answer means: adjusted when the desired capacity moved (a cooldown starts), else why it stayed."""
    if desired_capacity == previous_capacity:
        return Outcome(False, f"capacity stays at {desired_capacity} (group limits [{min_size}, {max_size}])")
    return Outcome(True, f"desired capacity {previous_capacity} → {desired_capacity}")
