"""The in-memory index finds the alarms that watch a series, and only those."""

from __future__ import annotations

from dataclasses import replace

from autoscale.series import Statistic, canonical_dimensions_key
from services.alarm.domain import Alarm, AlarmState, ComparisonOperator, ThresholdRule
from services.alarm.index import AlarmIndex


def alarm(alarm_id: str, metric: str = "cpu", **dimensions: str) -> Alarm:
    rule = ThresholdRule(metric, tuple(sorted(dimensions.items())), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 1.0, 60.0, 1)
    return Alarm(id=alarm_id, rule=rule)


def _pairs(dimensions: dict[str, str]) -> str:
    """The series' dimensions as the metrics service names them."""
    return canonical_dimensions_key(dimensions)


_IDS: dict[tuple[str, str], int] = {}


def _id(metric: str, dimensions: str) -> int:
    """The id the metrics service gives the series (one per metric and dimensions, for good)."""
    return _IDS.setdefault((metric, dimensions), len(_IDS) + 1)


def _watching(index: AlarmIndex, metric: str, dimensions: str) -> list[str] | None:
    return index.watching("catalogue", [_id(metric, dimensions)], [metric], [dimensions])[0]


def test_a_series_matches_alarms_whose_dimensions_it_includes():
    index = AlarmIndex()
    index.replace_all([alarm("all"), alarm("web", group="web"), alarm("web-i1", group="web", instance="i-1"), alarm("db", group="db"),
                       alarm("mem", "mem", group="web")])
    assert sorted(_watching(index, "cpu", _pairs({"group": "web", "instance": "i-1"}))) == ["all", "web", "web-i1"]
    assert sorted(_watching(index, "cpu", _pairs({"group": "web", "instance": "i-2"}))) == ["all", "web"]
    assert sorted(_watching(index, "cpu", _pairs({"instance": "i-1"}))) == ["all"]
    assert _watching(index, "disk", _pairs({"group": "web"})) == []


def test_disabled_and_removed_alarms_watch_nothing():
    index = AlarmIndex()
    index.put(replace(alarm("off", group="web"), disabled=True))
    index.put(alarm("gone", group="web"))
    index.remove("gone")
    assert _watching(index, "cpu", _pairs({"group": "web"})) == []
    assert index.ids() == []


def test_putting_a_changed_alarm_refiles_it_under_its_new_rule():
    index = AlarmIndex()
    index.put(alarm("a", group="web"))
    index.put(alarm("a", "mem", group="db"))
    assert _watching(index, "cpu", _pairs({"group": "web"})) == []
    assert _watching(index, "mem", _pairs({"group": "db"})) == ["a"]


def test_what_watches_a_series_is_found_afresh_once_an_alarm_changes_its_rule_switch_or_existence():
    index = AlarmIndex()
    web = _pairs({"group": "web", "instance": "i-1"})
    index.put(alarm("a", group="web"))
    assert _watching(index, "cpu", web) == ["a"]  # remembered from now on
    index.put(alarm("a", group="web", instance="i-2"))  # same anchor, narrower rule
    assert _watching(index, "cpu", web) == []
    index.put(alarm("b", instance="i-1"))
    assert _watching(index, "cpu", web) == ["b"]
    index.put(replace(alarm("b", instance="i-1"), disabled=True))
    assert _watching(index, "cpu", web) == []
    index.put(alarm("b", instance="i-1"))
    index.remove("b")
    assert _watching(index, "cpu", web) == []
    index.replace_all([alarm("c")])
    assert _watching(index, "cpu", web) == ["c"]


def test_a_state_change_keeps_what_watches_a_series():
    index = AlarmIndex()
    index.put(alarm("a", group="web"))
    watchers = _watching(index, "cpu", _pairs({"group": "web"}))
    index.put(replace(alarm("a", group="web"), state=AlarmState.ALARM))
    assert _watching(index, "cpu", _pairs({"group": "web"})) is watchers


def test_reloading_keeps_the_evaluation_times_known_in_memory():
    index = AlarmIndex()
    index.put(alarm("a"))
    index.note_evaluated("a", 50.0)
    index.replace_all([alarm("a")])
    assert index.evaluate_time("a") == 50.0
    index.replace_all([])
    assert index.evaluate_time("a") is None


def test_a_series_whose_dimensions_are_no_json_object_of_strings_is_answered_none_among_the_others():
    index = AlarmIndex()
    index.put(alarm("all"))
    assert index.watching("c", [1, 2, 3], ["cpu", "cpu", "cpu"], ["{}", "not json", '{"a": 1}']) == [["all"], None, None]


def test_a_series_known_by_its_id_is_not_read_by_its_names_again_but_one_of_another_catalogue_is():
    index = AlarmIndex()
    index.put(alarm("web", group="web"))
    web = _pairs({"group": "web"})
    assert index.watching("first", [5], ["cpu"], [web]) == [["web"]]
    # The names are not read again for an id already known: even names that would not parse give the known answer.
    assert index.watching("first", [5], ["", "ignored"][:1], ["not json"]) == [["web"]]
    # Another catalogue's id 5 is another series.
    assert index.watching("second", [5], ["cpu"], [_pairs({"group": "db"})]) == [[]]
    assert index.watching("first", [5], ["cpu"], [web]) == [["web"]]
