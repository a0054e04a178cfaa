"""Which alarms notified samples concern: those the values may move are urgent, those repeating actions are queued too."""

from __future__ import annotations

from dataclasses import replace

from autoscale.internal.v1 import sample_feed_pb2
from autoscale.validation import Violations
from services.alarm.domain import Alarm, AlarmState, ComparisonOperator, Statistic, ThresholdRule
from services.alarm.feed import NotifiedSeries, decide_evaluations, read_notify_samples
from services.alarm.index import AlarmIndex

WEB = (("group", "web"), ("instance", "i-1"))


def _alarm(alarm_id: str, state: AlarmState, threshold: float = 80.0, **fields: object) -> Alarm:
    rule = ThresholdRule("cpu", (("group", "web"),), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, threshold, 60.0, 1)
    return replace(Alarm(id=alarm_id, rule=rule, state=state), **fields)  # type: ignore[arg-type]


def test_an_alarm_is_urgent_only_when_the_values_reach_across_its_threshold_from_its_state():
    index = AlarmIndex()
    index.replace_all([_alarm("ok", AlarmState.OK), _alarm("alarm", AlarmState.ALARM), _alarm("new", AlarmState.INSUFFICIENT_DATA)])
    below = decide_evaluations(index, [NotifiedSeries("cpu", WEB, 10.0, 80.0)])
    assert (below.matched, sorted(below.urgent), below.repeating) == (3, ["alarm", "new"], [])
    above = decide_evaluations(index, [NotifiedSeries("cpu", WEB, 81.0, 99.0)])
    assert sorted(above.urgent) == ["new", "ok"]


def test_the_values_of_every_series_an_alarm_watches_are_taken_together():
    index = AlarmIndex()
    index.put(_alarm("ok", AlarmState.OK))
    decision = decide_evaluations(
        index, [NotifiedSeries("cpu", WEB, 10.0, 20.0), NotifiedSeries("cpu", (("group", "web"), ("instance", "i-2")), 30.0, 90.0)]
    )
    assert (decision.matched, decision.urgent) == (1, ["ok"])


def test_an_alarm_repeating_its_actions_is_queued_even_when_the_values_cannot_move_it():
    index = AlarmIndex()
    index.put(_alarm("repeats", AlarmState.ALARM, repeat_actions=True))
    decision = decide_evaluations(index, [NotifiedSeries("cpu", WEB, 90.0, 95.0)])
    assert (decision.urgent, decision.repeating) == ([], ["repeats"])


def test_series_no_alarm_watches_concern_none():
    index = AlarmIndex()
    index.put(_alarm("ok", AlarmState.OK))
    assert decide_evaluations(index, [NotifiedSeries("cpu", (("group", "db"),), 0.0, 100.0), NotifiedSeries("mem", WEB, 0.0, 100.0)]) == (
        0, [], [],
    )


def test_a_request_reads_as_its_series_with_sorted_dimensions():
    request = sample_feed_pb2.NotifySamplesRequest(
        metrics=["cpu", "mem"], dimension_counts=[2, 0], dimension_names=["instance", "group"], dimension_values=["i-1", "web"],
        minimums=[1.0, -5.0], maximums=[2.0, -5.0],
    )
    violations = Violations()
    assert read_notify_samples(violations, request) == [NotifiedSeries("cpu", WEB, 1.0, 2.0), NotifiedSeries("mem", (), -5.0, -5.0)]
    assert not violations
