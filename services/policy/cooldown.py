"""A group's cooldown, as Heat keeps it: pure maths over the state this service stores per group.

The cooldown belongs to the group, not to a policy: after any policy of a group
adjusts it, no policy of that group adjusts it again until the resize is over and
the adjustment's cooldown has run out from the resize's end. This service keeps,
per group, when the last cooldown ends and which adjustment's activity it still
waits for; the group service says when that activity finishes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.policy.domain import DEFAULT_GROUP_COOLDOWN, ActivityStatus, ActivityView


@dataclass(frozen=True)
class GroupCooldown:
    """The cooldown state of one group."""

    group_id: str
    cooldown_end: float | None = None
    """When the cooldown of the last finished resize ends; None: none started yet."""
    pending_activity: str | None = None
    """The activity of the last adjustment, until it is seen to have finished."""
    pending_cooldown: float | None = None
    """Seconds of cooldown the pending adjustment starts when its activity ends."""
    adjusting_since: float | None = None
    """Set while an execution is calling Adjust (another replica's claim on the group)."""
    version: int = 0
    """Bumped by every stored change; 0 means nothing stored yet."""


def effective_cooldown(policy_cooldown: float | None, group_cooldown: float | None) -> float:
    """Seconds of cooldown an adjustment starts: the policy's, else the group's, else AWS's 300 s."""
    if policy_cooldown is not None:
        return policy_cooldown
    if group_cooldown is not None:
        return group_cooldown
    return DEFAULT_GROUP_COOLDOWN


def cooldown_end_after(previous_end: float | None, activity: ActivityView, cooldown: float) -> float | None:
    """When the group's cooldown ends once `activity` (finished) has ended.

    A resize that succeeded, failed or was cancelled starts the cooldown from its
    end, as Heat does after any resize attempt; one that changed nothing starts none.
    A cooldown already running longer is kept.
    """
    if activity.status is ActivityStatus.UNCHANGED or activity.end_time is None:
        return previous_end
    candidate = activity.end_time + cooldown
    return candidate if previous_end is None else max(previous_end, candidate)


def settle(state: GroupCooldown, activity: ActivityView | None) -> GroupCooldown:
    """The state once the pending activity's news is known.

    `activity` is what the group service says of `state.pending_activity`, None
    when it has no such activity (the group was deleted and made again): then
    there is nothing left to wait for. An activity still in progress changes nothing.
    """
    if state.pending_activity is None:
        return state
    if activity is None:
        return replace(state, pending_activity=None, pending_cooldown=None)
    if not activity.finished:
        return state
    cooldown = state.pending_cooldown if state.pending_cooldown is not None else DEFAULT_GROUP_COOLDOWN
    return replace(
        state, cooldown_end=cooldown_end_after(state.cooldown_end, activity, cooldown), pending_activity=None, pending_cooldown=None
    )


def claimed(state: GroupCooldown, now: float) -> GroupCooldown:
    """The state while this execution calls Adjust: claimed since `now`."""
    return replace(state, adjusting_since=now)


def released(state: GroupCooldown) -> GroupCooldown:
    """The state once an Adjust changed nothing or failed: claim released, no cooldown started."""
    return replace(state, adjusting_since=None)


def after_adjustment(state: GroupCooldown, activity: ActivityView, cooldown: float) -> GroupCooldown:
    """The state once Adjust changed the capacity: its activity pending with its cooldown (settled at once if already over)."""
    pending = replace(state, adjusting_since=None, pending_activity=activity.name, pending_cooldown=cooldown)
    return settle(pending, activity)
