"""Step scaling's maths (AWS's StepScaling): the metric value of an alarm's datapoints, its breach, and the step that holds it.

The breach is the metric value minus the breach threshold (the alarm's threshold). A
step holds a breach within its bounds, an unset bound being infinite. As AWS's
StepAdjustment says: when the metric is above the threshold, the lower bound is
inclusive and the upper exclusive (threshold 50, bounds [0, 10): 50 <= metric < 60);
below it, the lower bound is exclusive and the upper inclusive (bounds (-10, 0]:
40 < metric <= 50). A metric at the threshold itself breaches an alarm comparing with
>= (or one whose comparison is unknown: an operator's value) as one above it, and an
alarm comparing with <= as one below it, so that [0, 10) and (-10, 0] each hold it
for their own alarm.

The metric value of an alarm's evaluated datapoints (one per period, newest last) is
their average, minimum or maximum as the policy's metric_aggregation_type says (AWS's
MetricAggregationType; unset: the average).

Pure functions.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.policy.domain import MetricAggregationType, StepAdjustment


def aggregate(datapoints: Sequence[float], aggregation: MetricAggregationType | None) -> float:
    """The metric value of `datapoints` (at least one) by `aggregation`; None means the average."""
    if aggregation is MetricAggregationType.MINIMUM:
        return min(datapoints)
    if aggregation is MetricAggregationType.MAXIMUM:
        return max(datapoints)
    return sum(datapoints) / len(datapoints)


def holds(step: StepAdjustment, breach: float, above: bool) -> bool:
    """Whether `step` holds `breach`, read `above` the threshold (lower bound inclusive) or below it (upper bound inclusive)."""
    lower, upper = step.lower_bound, step.upper_bound
    if lower is not None and not (breach >= lower if above else breach > lower):
        return False
    return upper is None or (breach < upper if above else breach <= upper)


def step_for(
    steps: Sequence[StepAdjustment], metric_value: float, breach_threshold: float, *, scale_in_alarm: bool = False
) -> StepAdjustment | None:
    """The step that holds the breach `metric_value - breach_threshold`, or None when none does (the steps may leave the
    breaches on the far side of the threshold to another policy); `scale_in_alarm`: the alarm compares with < or <=, so
    a metric at the threshold is read as below it."""
    breach = metric_value - breach_threshold
    above = breach > 0 or (breach == 0 and not scale_in_alarm)
    return next((step for step in steps if holds(step, breach, above)), None)


def describe_bounds(step: StepAdjustment) -> str:
    """A step's interval for people, `10 .. 20`, `20 .. +inf`, `-inf .. -20` (which end is inclusive depends on the
    breach's side of the threshold)."""
    lower = "-inf" if step.lower_bound is None else f"{step.lower_bound:g}"
    upper = "+inf" if step.upper_bound is None else f"{step.upper_bound:g}"
    return f"{lower} .. {upper}"
