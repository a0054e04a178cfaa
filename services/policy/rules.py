"""Field rules of a policy and of an execution request, collected into `Violations`.

Limits (listed for users in README.md, under bad input):
- `policy.cooldown`: 0s to 86400s (a day); unset means the group's.
- ExecutePolicy `cause`: at most 1024 characters (MAX_CAUSE_LENGTH); `request_id`: at most 255 characters.
"""

from __future__ import annotations

from autoscale.validation import MAX_CAUSE_LENGTH, Violations, check_text
from services.policy.domain import AdjustmentType

MAX_COOLDOWN = 86400.0
"""Seconds of a policy's cooldown at most (a day), as of a group's: a longer one is a mistake, and must still fit the answer."""


def check_policy(
    violations: Violations,
    adjustment_type: AdjustmentType | None,
    scaling_adjustment: int,
    min_adjustment_step: int,
    prefix: str = "policy",
) -> None:
    """A policy's adjustment and step; `adjustment_type` None (unset or unknown) is checked elsewhere.

    min_adjustment_step only matters to a percent change but is accepted on every
    type (and ignored there), as Heat does.
    """
    if adjustment_type is AdjustmentType.EXACT_CAPACITY:
        violations.check(
            scaling_adjustment >= 0, f"{prefix}.scaling_adjustment", f"must be >= 0 for an exact capacity, got {scaling_adjustment}"
        )
    elif adjustment_type is not None:
        violations.check(
            scaling_adjustment != 0,
            f"{prefix}.scaling_adjustment",
            f"must not be 0 for {adjustment_type.name}: a policy that changes nothing is a mistake",
        )
    violations.check(min_adjustment_step >= 0, f"{prefix}.min_adjustment_step", f"must be >= 0, got {min_adjustment_step}")


def check_cause(violations: Violations, cause: str) -> None:
    """An execution's cause, kept with the execution and passed on to Adjust, is bounded."""
    check_text(violations, "cause", cause, MAX_CAUSE_LENGTH)


