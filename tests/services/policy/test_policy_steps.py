"""Step scaling's maths (services.policy.steps) and the rules of a step policy's steps (services.policy.rules).

The tables follow AWS's documentation: the StepAdjustment reference
(https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StepAdjustment.html: with a breach threshold of 50, bounds
[0, 10) hold 50 <= metric < 60 and bounds (-10, 0] hold 40 < metric <= 50; its rules for the steps), and the user guide's
example of "Step adjustments for step scaling"
(https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html): threshold 50, a scale-out policy
of 0 / +10 % / +30 % at breaches [0, 10), [10, 20), [20, +inf) and a scale-in policy of 0 / -10 % / -30 % at
(-10, 0], (-20, -10], (-inf, -20].
"""

from __future__ import annotations

import math

import pytest

from autoscale.validation import Violations
from services.policy.domain import AdjustmentType, MetricAggregationType, StepAdjustment
from services.policy.rules import check_breach, check_policy_kind, check_step_adjustments
from services.policy.steps import aggregate, step_for

PERCENT = AdjustmentType.PERCENT_CHANGE_IN_CAPACITY
EXACT = AdjustmentType.EXACT_CAPACITY

SCALE_OUT = (StepAdjustment(0, 10, 0), StepAdjustment(10, 20, 10), StepAdjustment(20, None, 30))
SCALE_IN = (StepAdjustment(-10, 0, 0), StepAdjustment(-20, -10, -10), StepAdjustment(None, -20, -30))


@pytest.mark.parametrize(
    ("steps", "metric_value", "scale_in_alarm", "expected"),
    [
        # AWS's example: the metric at 60 takes the +10 % step, at 70 the +30 % step; 40 the -10 %, 30 the -30 %.
        (SCALE_OUT, 60.0, False, SCALE_OUT[1]),
        (SCALE_OUT, 70.0, False, SCALE_OUT[2]),
        (SCALE_IN, 40.0, True, SCALE_IN[1]),
        (SCALE_IN, 30.0, True, SCALE_IN[2]),
        # Above the threshold the lower bound is inclusive, the upper exclusive.
        (SCALE_OUT, 50.0, False, SCALE_OUT[0]),
        (SCALE_OUT, 59.999, False, SCALE_OUT[0]),
        (SCALE_OUT, 69.999, False, SCALE_OUT[1]),
        (SCALE_OUT, 1e9, False, SCALE_OUT[2]),
        # Below it the lower bound is exclusive, the upper inclusive.
        (SCALE_IN, 50.0, True, SCALE_IN[0]),
        (SCALE_IN, 40.001, True, SCALE_IN[0]),
        (SCALE_IN, 30.001, True, SCALE_IN[1]),
        (SCALE_IN, -1e9, True, SCALE_IN[2]),
        # A breach no step holds (the other side of the threshold) picks none.
        (SCALE_OUT, 49.0, False, None),
        (SCALE_IN, 51.0, True, None),
        # At the threshold an alarm comparing with >= reads it above, one comparing with <= below.
        ((SCALE_IN[0], SCALE_OUT[0]), 50.0, False, SCALE_OUT[0]),
        ((SCALE_IN[0], SCALE_OUT[0]), 50.0, True, SCALE_IN[0]),
    ],
)
def test_the_step_holding_the_breach_applies_as_aws_documents(
    steps: tuple[StepAdjustment, ...], metric_value: float, scale_in_alarm: bool, expected: StepAdjustment | None
) -> None:
    assert step_for(steps, metric_value, 50.0, scale_in_alarm=scale_in_alarm) == expected


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [(None, 62.0), (MetricAggregationType.AVERAGE, 62.0), (MetricAggregationType.MINIMUM, 55.0), (MetricAggregationType.MAXIMUM, 71.0)],
)
def test_the_metric_value_of_the_datapoints_is_their_aggregate(aggregation: MetricAggregationType | None, expected: float) -> None:
    assert aggregate([55.0, 60.0, 71.0], aggregation) == expected


def _fields(steps: list[StepAdjustment], policy_type: AdjustmentType = AdjustmentType.PERCENT_CHANGE_IN_CAPACITY) -> list[str]:
    violations = Violations()
    check_step_adjustments(violations, steps, policy_type)
    return [v.field for v in violations.items]


def test_a_negative_step_of_a_policy_of_exact_capacities_is_refused_naming_the_step() -> None:
    steps = [StepAdjustment(0.0, None, -3)]
    assert _fields(steps, AdjustmentType.EXACT_CAPACITY) == ["policy.step_adjustments[0].scaling_adjustment"]
    assert _fields(steps, AdjustmentType.CHANGE_IN_CAPACITY) == []
    assert _fields([StepAdjustment(0.0, None, -3, AdjustmentType.CHANGE_IN_CAPACITY)], AdjustmentType.EXACT_CAPACITY) == []


@pytest.mark.parametrize(
    ("steps", "fields"),
    [
        # AWS's documented policies, in any order.
        (list(SCALE_OUT), []),
        (list(SCALE_IN), []),
        ([SCALE_OUT[2], SCALE_OUT[0], SCALE_OUT[1]], []),
        ([StepAdjustment(None, 0, -1), StepAdjustment(0, None, 1)], []),
        ([StepAdjustment(0, None, 1)], []),
        ([StepAdjustment(5, None, 1)], []),  # breaches below 5 left to nothing: no negative lower bound, so allowed
        ([StepAdjustment(None, -5, -1)], []),
        ([StepAdjustment(0, 10, 3, EXACT), StepAdjustment(10, None, 5, EXACT)], []),
        # No gaps, no overlaps.
        ([StepAdjustment(0, 10, 1), StepAdjustment(15, None, 2)], ["policy.step_adjustments[1].metric_interval_lower_bound"]),
        ([StepAdjustment(0, 10, 1), StepAdjustment(5, None, 2)], ["policy.step_adjustments[1].metric_interval_lower_bound"]),
        ([StepAdjustment(0, None, 1), StepAdjustment(10, 20, 2)], ["policy.step_adjustments[1].metric_interval_lower_bound"]),
        # At most one step open each way, never both ways in one step.
        ([StepAdjustment(None, 0, -1), StepAdjustment(None, -5, -2)], ["policy.step_adjustments[1].metric_interval_lower_bound"]),
        ([StepAdjustment(0, None, 1), StepAdjustment(5, None, 2)], ["policy.step_adjustments[1].metric_interval_upper_bound"]),
        ([StepAdjustment(None, None, 1)], ["policy.step_adjustments[0]"]),
        # A negative lower bound needs a step open below; a positive upper bound one open above.
        ([StepAdjustment(-10, 0, -1)], ["policy.step_adjustments[0].metric_interval_lower_bound"]),
        ([StepAdjustment(0, 10, 1)], ["policy.step_adjustments[0].metric_interval_upper_bound"]),
        # Each step's own rules: finite bounds, upper above lower, an exact capacity >= 0.
        ([StepAdjustment(math.nan, None, 1)], ["policy.step_adjustments[0].metric_interval_lower_bound"]),
        ([StepAdjustment(None, -math.inf, 1)], ["policy.step_adjustments[0].metric_interval_upper_bound"]),
        ([StepAdjustment(10, 10, 1), StepAdjustment(None, 10, 1)], ["policy.step_adjustments[0].metric_interval_upper_bound"]),
        ([StepAdjustment(0, None, -1, EXACT)], ["policy.step_adjustments[0].scaling_adjustment"]),
        # At most 20 steps.
        ([StepAdjustment(None, 0, 1)] + [StepAdjustment(n, n + 1, 1) for n in range(19)] + [StepAdjustment(19, None, 1)],
         ["policy.step_adjustments"]),
    ],
)
def test_step_adjustments_follow_aws_rules_each_violation_naming_its_step(steps: list[StepAdjustment], fields: list[str]) -> None:
    assert _fields(steps) == fields


@pytest.mark.parametrize(
    ("steps", "scaling_adjustment", "cooldown", "aggregation_set", "warmup", "fields"),
    [
        ([], 1, 60.0, False, None, []),
        ([], 1, None, True, 60.0, ["policy.metric_aggregation_type", "policy.estimated_instance_warmup"]),
        (list(SCALE_OUT), 0, None, True, 60.0, []),
        (list(SCALE_OUT), 2, 60.0, False, None, ["policy.scaling_adjustment", "policy.cooldown"]),
    ],
)
def test_each_kind_of_policy_leaves_the_fields_of_the_other_unset(
    steps: list[StepAdjustment], scaling_adjustment: int, cooldown: float | None, aggregation_set: bool, warmup: float | None,
    fields: list[str],
) -> None:
    violations = Violations()
    assert check_policy_kind(violations, steps, scaling_adjustment, cooldown, aggregation_set, warmup) is bool(steps)
    assert [v.field for v in violations.items] == fields


@pytest.mark.parametrize(
    ("metric_value", "breach_threshold", "fields"),
    [
        (None, None, []),
        (62.0, 50.0, []),
        (62.0, None, ["breach_threshold"]),
        (None, 50.0, ["metric_value"]),
        (math.nan, 50.0, ["metric_value"]),
        (62.0, math.inf, ["breach_threshold"]),
    ],
)
def test_an_operators_metric_value_and_threshold_come_together_and_finite(
    metric_value: float | None, breach_threshold: float | None, fields: list[str]
) -> None:
    violations = Violations()
    breach = check_breach(violations, metric_value, breach_threshold)
    assert [v.field for v in violations.items] == fields
    assert (breach is not None) == (metric_value is not None and breach_threshold is not None and not fields)
