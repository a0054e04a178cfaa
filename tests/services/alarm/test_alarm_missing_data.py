"""Alarms that set datapoints_to_alarm or treat_missing_data are judged by CloudWatch's rule: M of N over an evaluation
range of N + 2 periods, missing periods treated as the alarm says.

The tables are CloudWatch's user guide's ("How Alarm State is Evaluated When Data is Missing", in "Using Amazon
CloudWatch Alarms"): five periods of the evaluation range, oldest first; 0 within the threshold, X breaching, - missing.
"""

from __future__ import annotations

import pytest

from autoscale.series import Statistic, bucket_start
from services.alarm.domain import AlarmState, ComparisonOperator, PrometheusRule, ThresholdRule, TreatMissingData
from services.alarm.evaluation import (
    Datapoint,
    evaluate_store_rule,
    evaluate_threshold_rule,
    query_window,
    store_window,
    window_periods,
)

OK, ALARM, INSUFFICIENT = AlarmState.OK, AlarmState.ALARM, AlarmState.INSUFFICIENT_DATA
MISSING, IGNORE = TreatMissingData.MISSING, TreatMissingData.IGNORE
BREACHING, NOT_BREACHING = TreatMissingData.BREACHING, TreatMissingData.NOT_BREACHING
NOW = 1_000_030.0  # 30 s into the bucket that starts at 1_000_020
STAYS = "the state stays"
"""IGNORE's "Retain current state": checked from each of the three states."""


def rule(
    treat_missing_data: TreatMissingData | None = MISSING, datapoints_to_alarm: int = 3, evaluation_periods: int = 3
) -> ThresholdRule:
    return ThresholdRule(
        metric="cpu_util", dimensions=(), statistic=Statistic.AVERAGE, comparison=ComparisonOperator.GREATER_THAN,
        threshold=80.0, period=60.0, evaluation_periods=evaluation_periods, datapoints_to_alarm=datapoints_to_alarm,
        treat_missing_data=treat_missing_data,
    )


def evaluation_range(pattern: str) -> list[Datapoint]:
    """The datapoints a row of the guide's tables shows, the last of them in the bucket under way: 0 → 50, X → 90."""
    marks = pattern.split()
    newest = bucket_start(NOW, 60.0)
    values = {"0": 50.0, "X": 90.0}
    return [
        Datapoint(newest - (len(marks) - 1 - position) * 60.0, values[mark], 1)
        for position, mark in enumerate(marks)
        if mark != "-"
    ]


def judged(pattern: str, treatment: TreatMissingData, datapoints_to_alarm: int, current: AlarmState) -> AlarmState:
    return evaluate_threshold_rule(rule(treatment, datapoints_to_alarm), current, evaluation_range(pattern), NOW).state


# Table 1: datapoints_to_alarm and evaluation_periods both 3.
THREE_OF_THREE = [
    ("0 - X - X", OK, OK, OK, OK),
    ("0 - - - -", OK, OK, OK, OK),
    ("- - - - -", INSUFFICIENT, STAYS, ALARM, OK),
    ("0 X X - X", ALARM, ALARM, ALARM, ALARM),
    ("- - - - X", INSUFFICIENT, STAYS, ALARM, OK),
    ("X - - - -", ALARM, STAYS, ALARM, OK),
]
# Table 2: 2 out of 3.
TWO_OF_THREE = [
    ("0 - X - X", ALARM, ALARM, ALARM, ALARM),
    ("0 0 X 0 X", ALARM, ALARM, ALARM, ALARM),
    ("0 - X - -", OK, OK, ALARM, OK),
    ("- - - - 0", OK, OK, ALARM, OK),
    ("- - - - X", INSUFFICIENT, STAYS, ALARM, OK),
]


@pytest.mark.parametrize(
    ("datapoints_to_alarm", "pattern", "missing", "ignore", "breaching", "not_breaching"),
    [(3, *row) for row in THREE_OF_THREE] + [(2, *row) for row in TWO_OF_THREE],
)
@pytest.mark.parametrize("current", [OK, ALARM, INSUFFICIENT])
def test_cloudwatchs_tables_of_missing_data_with_m_of_n(
    datapoints_to_alarm, pattern, missing, ignore, breaching, not_breaching, current
):
    for treatment, expected in ((MISSING, missing), (IGNORE, ignore), (BREACHING, breaching), (NOT_BREACHING, not_breaching)):
        want = current if expected == STAYS else expected
        assert judged(pattern, treatment, datapoints_to_alarm, current) is want, (pattern, treatment, current)


def test_breaching_datapoints_before_the_newest_periods_alarm_under_missing_as_the_guide_says():
    # "In the sixth row, the alarm goes to ALARM state even if missing data is treated as missing, because the oldest
    # evaluated data point is breaching and there aren't any non-breaching data points": the metric stopped after it
    # breached. The same datapoint among the newest periods is too few to decide.
    result = evaluate_threshold_rule(rule(MISSING, 3), OK, evaluation_range("X - - - -"), NOW)
    assert result.state is ALARM
    assert result.reason == (
        "average(cpu_util) > 80 in the 1 datapoint of the range, none of them in the last 3 periods of 60s: the metric "
        "stopped after it breached: 90 (newest last)"
    )
    assert judged("X X - - -", MISSING, 3, OK) is ALARM
    assert judged("- X - - -", MISSING, 3, OK) is ALARM
    assert judged("- - X - -", MISSING, 3, OK) is INSUFFICIENT
    assert judged("X - - - 0", MISSING, 3, ALARM) is OK


def test_an_insufficient_data_evaluation_hands_on_no_datapoints():
    result = evaluate_threshold_rule(rule(MISSING, 3), OK, evaluation_range("- - - - X"), NOW)
    assert result.state is INSUFFICIENT and "datapoints" not in result.reason_data


def test_the_evaluation_range_is_evaluation_periods_plus_two_periods():
    assert window_periods(rule()) == 5
    assert window_periods(rule(treat_missing_data=None, datapoints_to_alarm=0)) == 4  # Aodh's rule
    start, end = query_window(rule(), NOW)
    assert (end - start) / 60.0 == 5 and end == bucket_start(NOW, 60.0) + 60.0
    # A datapoint older than the range does not count.
    too_old = Datapoint(start - 60.0, 90.0, 1)
    assert evaluate_threshold_rule(rule(), OK, [too_old], NOW).state is INSUFFICIENT


def test_with_n_datapoints_or_more_the_newest_n_decide_and_missing_data_is_not_read():
    # "0 0 X X X": the newest three breach; the older ones are not among those evaluated.
    for treatment in TreatMissingData:
        assert judged("0 0 X X X", treatment, 3, OK) is ALARM
        assert judged("X X X 0 0", treatment, 3, ALARM) is OK


def test_m_of_n_alarms_with_m_breaching_datapoints_that_need_not_be_consecutive():
    assert judged("- X 0 X", MISSING, 2, OK) is ALARM
    assert judged("- X 0 0", MISSING, 2, ALARM) is OK  # unlike Aodh's rule, a mixed window is OK, not the state kept


def test_datapoints_to_alarm_alone_follows_cloudwatch_with_missing_data_treated_as_missing():
    subject = rule(treat_missing_data=None, datapoints_to_alarm=2)
    assert evaluate_threshold_rule(subject, ALARM, evaluation_range("- - - - X"), NOW).state is INSUFFICIENT
    assert evaluate_threshold_rule(subject, ALARM, evaluation_range("- - X 0 0"), NOW).state is OK


def test_treat_missing_data_alone_alarms_when_all_n_breach():
    subject = rule(treatment := BREACHING, datapoints_to_alarm=0)
    assert subject.treat_missing_data is treatment
    assert evaluate_threshold_rule(subject, OK, evaluation_range("- - 0 X X"), NOW).state is OK
    assert evaluate_threshold_rule(subject, OK, evaluation_range("- - - X X"), NOW).state is ALARM  # one filled as breaching


def test_the_reason_says_how_many_breached_how_many_alarm_and_what_was_filled():
    result = evaluate_threshold_rule(rule(BREACHING, 2), OK, evaluation_range("- - - - X"), NOW)
    assert result.state is ALARM
    assert result.reason == (
        "3 of the last 3 periods of 60s average(cpu_util) > 80 (at least 2 alarm): 90 and 2 missing periods counted as "
        "breaching (newest last)"
    )
    assert result.reason_data["datapoints"] == [90.0]
    assert result.reason_data["datapoints_to_alarm"] == 2
    assert result.reason_data["treat_missing_data"] == "breaching"
    assert result.reason_data["threshold"] == 80.0
    fewer = evaluate_threshold_rule(rule(MISSING, 2), ALARM, evaluation_range("- 0 X - X"), NOW)
    assert fewer.state is ALARM
    assert fewer.reason.startswith("2 of the last 3 periods of 60s average(cpu_util) > 80 (at least 2 alarm): 50, 90, 90")
    waiting = evaluate_threshold_rule(rule(IGNORE, 3), OK, evaluation_range("- - - - X"), NOW)
    assert waiting.state is OK
    assert waiting.reason == (
        "1 of the 3 periods of 60s needed have datapoints of average(cpu_util), 1 of them average(cpu_util) > 80 (at least 3 "
        "alarm) and none within it; missing data is ignored: the state stays: 90 (newest last)"
    )


def test_rules_over_a_store_read_one_more_instant_under_cloudwatchs_rule():
    store_rule = PrometheusRule(
        query="avg(load)", comparison=ComparisonOperator.GREATER_THAN, threshold=80.0, period=60.0, evaluation_periods=3,
        datapoints_to_alarm=2, treat_missing_data=MISSING,
    )
    assert store_window(store_rule, NOW) == (NOW - 240.0, NOW)
    # Each instant's datapoint starts a period before it; the oldest instant of the range counts.
    oldest_two = [Datapoint(NOW - 300.0, 90.0, 1), Datapoint(NOW - 240.0, 90.0, 1)]
    assert evaluate_store_rule(store_rule, OK, oldest_two, NOW).state is ALARM
