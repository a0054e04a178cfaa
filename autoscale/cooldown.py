"""The cooldown and warm-up defaults of the public API (group.proto: a group's cooldown, unset, means 300 s), which the
group service applies and a target tracking policy reads to count the instances warming up."""

from __future__ import annotations

DEFAULT_COOLDOWN = 300.0
"""Seconds of cooldown when neither the caller nor the group sets one (as AWS)."""


def effective_cooldown(requested: float | None, group_cooldown: float | None) -> float:
    """Seconds of cooldown an adjustment starts, or an instance warms up for: the caller's (a policy's), else the group's,
    else DEFAULT_COOLDOWN (AWS's EstimatedInstanceWarmup falls back to the default cooldown so)."""
    if requested is not None:
        return requested
    if group_cooldown is not None:
        return group_cooldown
    return DEFAULT_COOLDOWN
