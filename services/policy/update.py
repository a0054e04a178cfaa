"""UpdatePolicy's semantics: which fields an update_mask changes, and what the policy becomes."""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.policy.domain import AdjustmentType, MetricAggregationType, Policy, StepAdjustment, TargetTracking

UPDATABLE_FIELDS = (
    "group", "adjustment_type", "scaling_adjustment", "min_adjustment_step", "cooldown", "step_adjustments",
    "metric_aggregation_type", "estimated_instance_warmup", "target_tracking",
)
"""Fields of Policy an update may name; an empty mask means all of them."""

OUTPUT_ONLY_FIELDS = frozenset({"name", "create_time", "alarms", "last_recommendation", "last_forecast"})
"""Fields of Policy a mask may name to no effect."""


@dataclass(frozen=True)
class ProposedFields:
    """The values an UpdatePolicy request gives; None where a value could not be read (already a violation)."""

    group_id: str | None
    adjustment_type: AdjustmentType | None
    scaling_adjustment: int
    min_adjustment_step: int
    cooldown: float | None
    """None: unset, so the policy takes its group's cooldown again."""
    step_adjustments: tuple[StepAdjustment, ...] = ()
    """Empty: a simple policy."""
    metric_aggregation_type: MetricAggregationType | None = None
    """None: unset (the average)."""
    estimated_instance_warmup: float | None = None
    """None: unset (the group's cooldown)."""
    target_tracking: TargetTracking | None = None
    """None: not a target tracking policy."""


def apply_update(policy: Policy, proposed: ProposedFields, fields: frozenset[str]) -> Policy:
    """`policy` with the named `fields` of `proposed`; an unreadable proposed value keeps the current one."""
    return replace(
        policy,
        group_id=proposed.group_id if "group" in fields and proposed.group_id is not None else policy.group_id,
        adjustment_type=(
            proposed.adjustment_type if "adjustment_type" in fields and proposed.adjustment_type is not None else policy.adjustment_type
        ),
        scaling_adjustment=proposed.scaling_adjustment if "scaling_adjustment" in fields else policy.scaling_adjustment,
        min_adjustment_step=proposed.min_adjustment_step if "min_adjustment_step" in fields else policy.min_adjustment_step,
        cooldown=proposed.cooldown if "cooldown" in fields else policy.cooldown,
        step_adjustments=proposed.step_adjustments if "step_adjustments" in fields else policy.step_adjustments,
        metric_aggregation_type=(
            proposed.metric_aggregation_type if "metric_aggregation_type" in fields else policy.metric_aggregation_type
        ),
        estimated_instance_warmup=(
            proposed.estimated_instance_warmup if "estimated_instance_warmup" in fields else policy.estimated_instance_warmup
        ),
        target_tracking=proposed.target_tracking if "target_tracking" in fields else policy.target_tracking,
    )
