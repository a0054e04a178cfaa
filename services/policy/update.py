"""UpdatePolicy's semantics: which fields an update_mask changes, and what the policy becomes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from autoscale.validation import Violations, quoted
from services.policy.domain import AdjustmentType, Policy

UPDATABLE_FIELDS = ("group", "adjustment_type", "scaling_adjustment", "min_adjustment_step", "cooldown")
"""Fields of Policy an update may name; an empty mask means all of them."""

OUTPUT_ONLY_FIELDS = frozenset({"name", "create_time"})
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


def mask_fields(violations: Violations, paths: Iterable[str]) -> frozenset[str]:
    """The updatable fields an update_mask names (all for an empty mask); unknown paths are violations."""
    paths = list(paths)
    if not paths:
        return frozenset(UPDATABLE_FIELDS)
    for path in paths:
        if path not in UPDATABLE_FIELDS and path not in OUTPUT_ONLY_FIELDS:
            violations.add("update_mask", f"unknown field {quoted(path)}; updatable fields are {', '.join(UPDATABLE_FIELDS)}")
    return frozenset(path for path in paths if path in UPDATABLE_FIELDS)


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
    )
