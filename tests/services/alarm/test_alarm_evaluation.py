"""The threshold evaluator decides as Aodh's does: newest non-empty periods, all / none / mixed."""

from __future__ import annotations

import math

import pytest

from autoscale.series import Statistic, bucket_start
from services.alarm.domain import AlarmState, ComparisonOperator, ThresholdRule
from services.alarm.evaluation import Datapoint, could_change_state, evaluate_threshold_rule, query_window, quiet_band

OK, ALARM, INSUFFICIENT = AlarmState.OK, AlarmState.ALARM, AlarmState.INSUFFICIENT_DATA
NOW = 1_000_030.0  # 30 s into the bucket that starts at 1_000_020 (period 60 s: buckets start at multiples of 60)


def rule(evaluation_periods: int = 3, comparison: ComparisonOperator = ComparisonOperator.GREATER_THAN) -> ThresholdRule:
    return ThresholdRule(
        metric="cpu_util", dimensions=(("group", "web"),), statistic=Statistic.AVERAGE, comparison=comparison,
        threshold=80.0, period=60.0, evaluation_periods=evaluation_periods,
    )


def points(*values: float | None, newest_bucket: float = bucket_start(NOW, 60.0)) -> list[Datapoint]:
    """Datapoints for consecutive buckets ending with the current one; None leaves a bucket empty."""
    count = len(values)
    return [
        Datapoint(newest_bucket - (count - 1 - position) * 60.0, value, 1)
        for position, value in enumerate(values)
        if value is not None
    ]


@pytest.mark.parametrize(
    ("time", "period", "expected"),
    [(125.0, 60.0, 120.0), (120.0, 60.0, 120.0), (119.999, 60.0, 60.0), (0.0, 60.0, 0.0), (7.5, 2.5, 7.5), (8.0, 2.5, 7.5)],
)
def test_buckets_are_aligned_to_multiples_of_the_period_since_the_epoch(time, period, expected):
    assert bucket_start(time, period) == expected


def test_window_spans_evaluation_periods_plus_the_current_bucket():
    start, end = query_window(rule(evaluation_periods=3), NOW)
    assert (start, end) == (999_840.0, 1_000_080.0)
    assert (end - start) / 60.0 == 4


@pytest.mark.parametrize(
    ("current", "values", "expected"),
    [
        (INSUFFICIENT, (90, 91, 92), ALARM),
        (OK, (90, 91, 92), ALARM),
        (ALARM, (10, 20, 30), OK),
        (INSUFFICIENT, (10, 20, 30), OK),
        (OK, (90, 20, 92), OK),  # mixed: the state stays
        (ALARM, (90, 20, 92), ALARM),
        (INSUFFICIENT, (90, 20, 92), ALARM),  # mixed from insufficient data: the newest bucket's side
        (INSUFFICIENT, (90, 92, 20), OK),
        (ALARM, (90, 92), INSUFFICIENT),  # fewer non-empty buckets than evaluation_periods
        (OK, (), INSUFFICIENT),
    ],
)
def test_state_follows_the_newest_evaluation_periods(current, values, expected):
    assert evaluate_threshold_rule(rule(), current, points(*values), NOW).state is expected


def test_a_current_bucket_without_data_yet_does_not_count_as_missing():
    # The three complete buckets breach; the one that just began is empty.
    datapoints = points(90, 91, 92, None)
    assert evaluate_threshold_rule(rule(), OK, datapoints, NOW).state is ALARM


def test_the_newest_non_empty_buckets_decide_when_the_current_one_has_data():
    # Four buckets in the window; the oldest (OK) is dropped because the newest three are non-empty.
    datapoints = points(10, 90, 91, 92)
    assert evaluate_threshold_rule(rule(), OK, datapoints, NOW).state is ALARM


def test_datapoints_out_of_order_are_judged_as_in_order():
    in_order = points(10, 90, 91, 92)
    shuffled = [in_order[2], in_order[0], in_order[3], in_order[1]]
    assert evaluate_threshold_rule(rule(), OK, shuffled, NOW) == evaluate_threshold_rule(rule(), OK, in_order, NOW)
    assert evaluate_threshold_rule(rule(), OK, shuffled, NOW).state is ALARM


def test_datapoints_outside_the_window_are_ignored():
    stale = [Datapoint(bucket_start(NOW, 60.0) - 10 * 60.0, 99.0, 5)]
    assert evaluate_threshold_rule(rule(evaluation_periods=1), OK, stale, NOW).state is INSUFFICIENT


def test_one_evaluation_period_alarms_on_the_first_breaching_sample():
    assert evaluate_threshold_rule(rule(evaluation_periods=1), INSUFFICIENT, points(95), NOW).state is ALARM


@pytest.mark.parametrize(
    ("comparison", "value", "breaches"),
    [
        (ComparisonOperator.GREATER_THAN, 80.0, False),
        (ComparisonOperator.GREATER_THAN_OR_EQUAL, 80.0, True),
        (ComparisonOperator.LESS_THAN, 80.0, False),
        (ComparisonOperator.LESS_THAN_OR_EQUAL, 80.0, True),
        (ComparisonOperator.LESS_THAN, 79.9, True),
        (ComparisonOperator.GREATER_THAN, 80.1, True),
    ],
)
def test_comparison_operators_at_and_around_the_threshold(comparison, value, breaches):
    result = evaluate_threshold_rule(rule(1, comparison), INSUFFICIENT, points(value), NOW)
    assert result.state is (ALARM if breaches else OK)


def test_reason_names_the_values_and_the_threshold():
    result = evaluate_threshold_rule(rule(), OK, points(90, 91.5, 92), NOW)
    assert "average(cpu_util{group=web}) > 80" in result.reason
    assert "90, 91.5, 92" in result.reason
    assert result.reason_data["most_recent"] == 92


def test_insufficient_data_reason_says_how_many_periods_had_data():
    result = evaluate_threshold_rule(rule(), OK, points(90), NOW)
    assert result.reason.startswith("1 of the 3 periods of 60s needed have datapoints")


@pytest.mark.parametrize(
    ("state", "statistic", "comparison", "lowest", "highest", "could"),
    [
        (OK, Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 10, 70, False),  # all on OK's side
        (OK, Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 10, 95, True),
        (ALARM, Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 85, 95, False),  # all on ALARM's side
        (ALARM, Statistic.MAXIMUM, ComparisonOperator.GREATER_THAN, 10, 95, True),
        (ALARM, Statistic.MINIMUM, ComparisonOperator.LESS_THAN, 10, 20, False),
        (OK, Statistic.MINIMUM, ComparisonOperator.LESS_THAN, 10, 20, True),
        (OK, Statistic.AVERAGE, ComparisonOperator.GREATER_THAN_OR_EQUAL, 80, 80, True),
        (INSUFFICIENT, Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 10, 10, True),
        (OK, Statistic.SUM, ComparisonOperator.GREATER_THAN, 1, 1, True),
        (ALARM, Statistic.SAMPLE_COUNT, ComparisonOperator.GREATER_THAN, 99, 99, True),
    ],
)
def test_only_values_on_the_other_side_of_the_threshold_could_change_the_state(state, statistic, comparison, lowest, highest, could):
    subject = ThresholdRule("cpu", (), statistic, comparison, 80.0, 60.0, 3)
    assert could_change_state(subject, state, lowest, highest) is could


@pytest.mark.parametrize("comparison", list(ComparisonOperator))
@pytest.mark.parametrize("state", [OK, ALARM])
def test_the_quiet_band_holds_exactly_the_values_on_the_side_the_state_stands_for(comparison, state):
    subject = ThresholdRule("cpu", (), Statistic.AVERAGE, comparison, 80.0, 60.0, 3)
    low, high = quiet_band(subject, state)
    near = [-math.inf, 0.0, math.nextafter(80.0, 0.0), 80.0, math.nextafter(80.0, 100.0), 200.0, math.inf]
    for value in near:
        stands_for_state = comparison.breaches(value, 80.0) is (state is ALARM)
        assert (low <= value <= high) is stands_for_state, value


@pytest.mark.parametrize(
    ("state", "statistic"), [(INSUFFICIENT, Statistic.AVERAGE), (OK, Statistic.SUM), (ALARM, Statistic.SAMPLE_COUNT)]
)
def test_no_value_is_quiet_for_insufficient_data_sums_and_counts(state, statistic):
    low, high = quiet_band(ThresholdRule("cpu", (), statistic, ComparisonOperator.GREATER_THAN, 80.0, 60.0, 3), state)
    assert not any(low <= value <= high for value in (-math.inf, 0.0, 80.0, 1e300, math.inf))


def test_a_value_that_could_not_change_the_state_indeed_does_not():
    # OK with mixed periods (the state stayed): values on OK's side cannot make every period breach.
    subject = rule(evaluation_periods=3)
    before = points(90, 20, 92)
    assert evaluate_threshold_rule(subject, OK, before, NOW).state is OK
    assert not could_change_state(subject, OK, 10.0, 70.0)
    after = [*before[:-1], Datapoint(before[-1].start, (92 + 10 + 70) / 3, 3)]
    assert evaluate_threshold_rule(subject, OK, after, NOW).state is OK
