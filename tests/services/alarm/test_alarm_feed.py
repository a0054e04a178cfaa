"""Which alarms notified samples concern: those the values may move are urgent, those repeating actions are queued too."""

from __future__ import annotations

from dataclasses import replace

from autoscale.internal.v1 import sample_feed_pb2
from autoscale.series import Statistic
from autoscale.validation import Violations
from services.alarm.domain import Alarm, AlarmKey, AlarmState, ComparisonOperator, ThresholdRule
from services.alarm.feed import Decision, NotifiedSeries, decide_evaluations, read_notify_samples
from services.alarm.index import AlarmIndex

WEB = '{"group":"web","instance":"i-1"}'


_IDS: dict[tuple[str, str], int] = {}


def _series(*rows: tuple[str, str, float, float]) -> NotifiedSeries:
    """Notified series given row by row: metric, dimensions key, lowest and highest value (each series with the id the metrics
    service gives it, for good, in one catalogue)."""
    metrics, dimensions, minimums, maximums = (list(column) for column in zip(*rows, strict=True))
    ids = [_IDS.setdefault((metric, key), len(_IDS) + 1) for metric, key in zip(metrics, dimensions, strict=True)]
    return NotifiedSeries(metrics, dimensions, minimums, maximums, ids, "catalogue")  # type: ignore[arg-type]


PROJECT = "p1"

NOW = 1_000.0
"""When the samples arrive: the alarms entered their states at 0, more than a period (60 s) before."""


def _decide(index: AlarmIndex, *rows: tuple[str, str, float, float], now: float = NOW, project: str = PROJECT) -> Decision:
    violations = Violations()
    decision = decide_evaluations(violations, index, project, _series(*rows), now)
    assert not violations
    return decision


def _alarm(alarm_id: str, state: AlarmState, threshold: float = 80.0, **fields: object) -> Alarm:
    rule = ThresholdRule("cpu", (("group", "web"),), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, threshold, 60.0, 1)
    return replace(Alarm(id=alarm_id, rule=rule, state=state, project=PROJECT), **fields)  # type: ignore[arg-type]


def _ids(keys: list[AlarmKey]) -> list[str]:
    """The ids of keys of PROJECT's alarms, sorted."""
    assert {project for project, _ in keys} <= {PROJECT}
    return sorted(alarm_id for _, alarm_id in keys)


def test_an_alarm_is_urgent_only_when_the_values_reach_across_its_threshold_from_its_state():
    index = AlarmIndex()
    index.replace_all([_alarm("ok", AlarmState.OK), _alarm("alarm", AlarmState.ALARM), _alarm("new", AlarmState.INSUFFICIENT_DATA)])
    below = _decide(index, ("cpu", WEB, 10.0, 80.0))
    assert (below.matched, _ids(below.urgent), below.repeating) == (3, ["alarm", "new"], [])
    above = _decide(index, ("cpu", WEB, 81.0, 99.0))
    assert _ids(above.urgent) == ["new", "ok"]


def test_the_values_of_every_series_an_alarm_watches_are_taken_together():
    index = AlarmIndex()
    index.put(_alarm("ok", AlarmState.OK))
    decision = _decide(index, ("cpu", WEB, 10.0, 20.0), ("cpu", '{"group":"web","instance":"i-2"}', 30.0, 90.0))
    assert (decision.matched, decision.urgent) == (1, [(PROJECT, "ok")])


def test_an_alarm_whose_actions_are_due_to_repeat_is_queued_even_when_the_values_cannot_move_it():
    index = AlarmIndex()
    hook = ("https://hooks.example/x",)
    index.put(_alarm("repeats", AlarmState.ALARM, repeat_actions=True, alarm_actions=hook))
    index.put(_alarm("scales", AlarmState.ALARM, alarm_actions=("policies/out",)))
    index.put(_alarm("hooks-once", AlarmState.ALARM, alarm_actions=hook))
    index.put(_alarm("no-actions", AlarmState.ALARM, repeat_actions=True))
    decision = _decide(index, ("cpu", WEB, 90.0, 95.0))
    assert (decision.urgent, _ids(decision.repeating)) == ([], ["repeats", "scales"])


def test_an_alarm_staying_in_its_state_is_queued_for_its_repeat_only_once_a_period_passed():
    index = AlarmIndex()
    index.put(_alarm("scales", AlarmState.ALARM, alarm_actions=("policies/out",), state_time=NOW - 30))
    assert _decide(index, ("cpu", WEB, 90.0, 95.0)).repeating == []
    assert _decide(index, ("cpu", WEB, 90.0, 95.0), now=NOW + 30).repeating == [(PROJECT, "scales")]


def test_series_no_alarm_watches_concern_none():
    index = AlarmIndex()
    index.put(_alarm("ok", AlarmState.OK))
    assert _decide(index, ("cpu", '{"group":"db"}', 0.0, 100.0), ("mem", WEB, 0.0, 100.0)) == (0, [], [])


def test_a_series_whose_dimensions_are_no_json_object_is_a_violation_naming_its_place():
    index = AlarmIndex()
    violations = Violations()
    decide_evaluations(violations, index, PROJECT, _series(("cpu", "{}", 1.0, 1.0), ("cpu", "[1]", 1.0, 1.0)), NOW)
    assert [v.field for v in violations.items] == ["dimensions[1]"]


def test_a_request_reads_as_its_columns():
    request = sample_feed_pb2.NotifySamplesRequest(
        metrics=["cpu", "mem"], dimensions=[WEB, "{}"], minimums=[1.0, -5.0], maximums=[2.0, -5.0], series_ids=[4, 2], catalogue="c"
    )
    violations = Violations()
    series = read_notify_samples(violations, request)
    assert not violations
    assert (list(series.metrics), list(series.dimensions), series.minimums, series.maximums) == (["cpu", "mem"], [WEB, "{}"], [1.0, -5.0],
                                                                                                  [2.0, -5.0])
    assert (series.series_ids, series.catalogue) == ([4, 2], "c")


def test_notified_series_concern_only_the_alarms_of_the_project_they_are_notified_in():
    index = AlarmIndex()
    index.replace_all([_alarm("ok", AlarmState.OK), replace(_alarm("ok", AlarmState.OK), project="p2")])
    decision = _decide(index, ("cpu", WEB, 90.0, 95.0))
    assert (decision.matched, decision.urgent) == (1, [(PROJECT, "ok")])
    assert _decide(index, ("cpu", WEB, 90.0, 95.0), project="p2").urgent == [("p2", "ok")]
