"""The in-memory index finds the alarms that watch a series, and only those."""

from __future__ import annotations

from dataclasses import replace

from services.alarm.domain import Alarm, AlarmState, ComparisonOperator, Statistic, ThresholdRule
from services.alarm.index import AlarmIndex


def alarm(alarm_id: str, metric: str = "cpu", **dimensions: str) -> Alarm:
    rule = ThresholdRule(metric, tuple(sorted(dimensions.items())), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 1.0, 60.0, 1)
    return Alarm(id=alarm_id, rule=rule)


def _pairs(dimensions: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(dimensions.items()))


def test_a_series_matches_alarms_whose_dimensions_it_includes():
    index = AlarmIndex()
    index.replace_all([alarm("all"), alarm("web", group="web"), alarm("web-i1", group="web", instance="i-1"), alarm("db", group="db"),
                       alarm("mem", "mem", group="web")])
    assert sorted(index.watching("cpu", _pairs({"group": "web", "instance": "i-1"}))) == ["all", "web", "web-i1"]
    assert sorted(index.watching("cpu", _pairs({"group": "web", "instance": "i-2"}))) == ["all", "web"]
    assert sorted(index.watching("cpu", _pairs({"instance": "i-1"}))) == ["all"]
    assert index.watching("disk", _pairs({"group": "web"})) == []


def test_disabled_and_removed_alarms_watch_nothing():
    index = AlarmIndex()
    index.put(replace(alarm("off", group="web"), disabled=True))
    index.put(alarm("gone", group="web"))
    index.remove("gone")
    assert index.watching("cpu", _pairs({"group": "web"})) == []
    assert index.ids() == []


def test_putting_a_changed_alarm_refiles_it_under_its_new_rule():
    index = AlarmIndex()
    index.put(alarm("a", group="web"))
    index.put(alarm("a", "mem", group="db"))
    assert index.watching("cpu", _pairs({"group": "web"})) == []
    assert index.watching("mem", _pairs({"group": "db"})) == ["a"]


def test_what_watches_a_series_is_found_afresh_once_an_alarm_changes_its_rule_switch_or_existence():
    index = AlarmIndex()
    web = _pairs({"group": "web", "instance": "i-1"})
    index.put(alarm("a", group="web"))
    assert index.watching("cpu", web) == ["a"]  # remembered from now on
    index.put(alarm("a", group="web", instance="i-2"))  # same anchor, narrower rule
    assert index.watching("cpu", web) == []
    index.put(alarm("b", instance="i-1"))
    assert index.watching("cpu", web) == ["b"]
    index.put(replace(alarm("b", instance="i-1"), disabled=True))
    assert index.watching("cpu", web) == []
    index.put(alarm("b", instance="i-1"))
    index.remove("b")
    assert index.watching("cpu", web) == []
    index.replace_all([alarm("c")])
    assert index.watching("cpu", web) == ["c"]


def test_a_state_change_keeps_what_watches_a_series():
    index = AlarmIndex()
    index.put(alarm("a", group="web"))
    watchers = index.watching("cpu", _pairs({"group": "web"}))
    index.put(replace(alarm("a", group="web"), state=AlarmState.ALARM))
    assert index.watching("cpu", _pairs({"group": "web"})) is watchers


def test_reloading_keeps_the_evaluation_times_known_in_memory():
    index = AlarmIndex()
    index.put(alarm("a"))
    index.note_evaluated("a", 50.0)
    index.replace_all([alarm("a")])
    assert index.evaluate_time("a") == 50.0
    index.replace_all([])
    assert index.evaluate_time("a") is None
