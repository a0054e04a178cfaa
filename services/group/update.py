"""UpdateGroup's semantics: which fields an update_mask changes, and what the group becomes.

As AWS UpdateAutoScalingGroup: when min_size or max_size change and no desired
capacity is given, the desired capacity is kept within the new range; a change of
the desired capacity is an activity.
"""

from __future__ import annotations

from dataclasses import replace

from services.group import capacity
from services.group.domain import Activity, Group

UPDATABLE_FIELDS = (
    "launch_config", "min_size", "max_size", "desired_capacity", "cooldown", "tags", "termination_policies",
    "new_instances_protected_from_scale_in", "health_check_grace_period", "load_balancer_pools",
)
"""Fields of Group an update may name; an empty mask means all of them."""

OUTPUT_ONLY_FIELDS = frozenset(
    {
        "name", "current_capacity", "create_time", "scaling_in_progress", "state", "state_reason", "launch_retry_time",
        "suspended_processes",
    }
)
"""Fields of Group a mask may name to no effect."""

SIZE_FIELDS = frozenset({"min_size", "max_size", "desired_capacity"})
"""Fields whose update is a scaling decision of the group (services.group.decisions), even one that keeps its capacity."""

UPDATE_CAUSE = "UpdateGroup"


def apply_update(
    group: Group, proposed: Group, fields: frozenset[str], *, desired_given: bool, activity_id: str, now: float
) -> tuple[Group, Activity | None]:
    """`group` with the `fields` of `proposed`, and the activity of its capacity change (None when it keeps its capacity).

    The desired capacity is `proposed`'s when it is named and `desired_given`;
    otherwise the current one, kept within the (possibly new) [min_size, max_size].
    """
    changed = replace(
        group,
        launch_config_id=proposed.launch_config_id if "launch_config" in fields else group.launch_config_id,
        min_size=proposed.min_size if "min_size" in fields else group.min_size,
        max_size=proposed.max_size if "max_size" in fields else group.max_size,
        cooldown=proposed.cooldown if "cooldown" in fields else group.cooldown,
        tags=proposed.tags if "tags" in fields else group.tags,
        termination_policies=proposed.termination_policies if "termination_policies" in fields else group.termination_policies,
        new_instances_protected_from_scale_in=(
            proposed.new_instances_protected_from_scale_in if "new_instances_protected_from_scale_in" in fields
            else group.new_instances_protected_from_scale_in
        ),
        health_check_grace_period=(
            proposed.health_check_grace_period if "health_check_grace_period" in fields else group.health_check_grace_period
        ),
        load_balancer_pools=proposed.load_balancer_pools if "load_balancer_pools" in fields else group.load_balancer_pools,
    )
    if "desired_capacity" in fields and desired_given:
        desired = proposed.desired_capacity
    elif changed.min_size <= changed.max_size:
        desired = capacity.clamp(group.desired_capacity, changed.min_size, changed.max_size)
    else:
        # An impossible range is refused by validation; keep the capacity out of that report.
        desired = group.desired_capacity
    changed = replace(changed, desired_capacity=desired)
    if desired == group.desired_capacity:
        return changed, None
    return changed, capacity.capacity_change(activity_id, group, desired, UPDATE_CAUSE, now)
