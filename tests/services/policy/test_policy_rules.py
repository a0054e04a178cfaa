"""Field rules of a policy and UpdatePolicy's semantics."""

from __future__ import annotations

import pytest

from autoscale.validation import Violations, check_request_id, check_update_mask
from services.policy.domain import AdjustmentType, Policy
from services.policy.rules import check_policy
from services.policy.update import OUTPUT_ONLY_FIELDS, UPDATABLE_FIELDS, ProposedFields, apply_update

CHANGE = AdjustmentType.CHANGE_IN_CAPACITY
EXACT = AdjustmentType.EXACT_CAPACITY
PERCENT = AdjustmentType.PERCENT_CHANGE_IN_CAPACITY


@pytest.mark.parametrize(
    ("adjustment_type", "adjustment", "min_step", "fields"),
    [
        (CHANGE, 1, 0, []),
        (CHANGE, -2, 0, []),
        (CHANGE, 0, 0, ["policy.scaling_adjustment"]),
        (EXACT, 0, 0, []),
        (EXACT, 4, 0, []),
        (EXACT, -1, 0, ["policy.scaling_adjustment"]),
        (PERCENT, 50, 2, []),
        (PERCENT, 0, 0, ["policy.scaling_adjustment"]),
        (PERCENT, -50, -1, ["policy.min_adjustment_step"]),
        # Only meaningful to a percent change, but accepted (and ignored) on the others, as Heat does.
        (CHANGE, 1, 3, []),
        (CHANGE, 0, -1, ["policy.scaling_adjustment", "policy.min_adjustment_step"]),
        # An unknown type is reported by check_enum; the adjustment cannot be judged without it.
        (None, 0, 0, []),
    ],
)
def test_policy_rules_collect_every_violation(adjustment_type, adjustment, min_step, fields):
    violations = Violations()
    check_policy(violations, adjustment_type, adjustment, min_step)
    assert [v.field for v in violations.items] == fields


def test_a_policy_that_changes_nothing_is_refused_saying_so():
    violations = Violations()
    check_policy(violations, CHANGE, 0, 0)
    assert "changes nothing" in violations.items[0].description


@pytest.mark.parametrize(("request_id", "ok"), [("", True), ("r" * 255, True), ("r" * 256, False)])
def test_request_id_fits_its_column(request_id, ok):
    violations = Violations()
    check_request_id(violations, request_id)
    assert not violations == ok


@pytest.mark.parametrize(
    ("paths", "fields", "violations"),
    [
        (
            [],
            {
                "group", "adjustment_type", "scaling_adjustment", "min_adjustment_step", "cooldown", "step_adjustments",
                "metric_aggregation_type", "estimated_instance_warmup", "target_tracking",
            },
            [],
        ),
        (["cooldown"], {"cooldown"}, []),
        (["name", "create_time", "scaling_adjustment"], {"scaling_adjustment"}, []),
        (["size", "cooldown"], {"cooldown"}, ["update_mask"]),
    ],
)
def test_update_mask_names_updatable_fields_and_refuses_unknown_ones(paths, fields, violations):
    found = Violations()
    assert check_update_mask(found, paths, UPDATABLE_FIELDS, OUTPUT_ONLY_FIELDS) == frozenset(fields)
    assert [v.field for v in found.items] == violations


POLICY = Policy("up", "web", CHANGE, 1, 0, cooldown=60.0, create_time=5.0)
PROPOSED = ProposedFields(group_id="api", adjustment_type=EXACT, scaling_adjustment=3, min_adjustment_step=2, cooldown=None)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (frozenset(), POLICY),
        (frozenset({"cooldown"}), Policy("up", "web", CHANGE, 1, 0, cooldown=None, create_time=5.0)),
        (
            frozenset({"group", "adjustment_type", "scaling_adjustment", "min_adjustment_step", "cooldown"}),
            Policy("up", "api", EXACT, 3, 2, cooldown=None, create_time=5.0),
        ),
    ],
)
def test_apply_update_changes_only_the_named_fields(fields, expected):
    assert apply_update(POLICY, PROPOSED, fields) == expected


def test_apply_update_keeps_what_the_request_could_not_say():
    unreadable = ProposedFields(group_id=None, adjustment_type=None, scaling_adjustment=1, min_adjustment_step=0, cooldown=0.0)
    updated = apply_update(POLICY, unreadable, frozenset({"group", "adjustment_type", "cooldown"}))
    assert (updated.group_id, updated.adjustment_type, updated.cooldown) == ("web", CHANGE, 0.0)
