"""The in-memory index finds the alarms that watch a series, and only those."""

from __future__ import annotations

from dataclasses import replace

from autoscale.series import Statistic, canonical_dimensions_key
from services.alarm import index as index_module
from services.alarm.domain import Alarm, AlarmState, ComparisonOperator, ThresholdRule
from services.alarm.index import AlarmIndex

PROJECT = "p1"


def alarm(alarm_id: str, metric: str = "cpu", *, project: str = PROJECT, **dimensions: str) -> Alarm:
    rule = ThresholdRule(metric, tuple(sorted(dimensions.items())), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 1.0, 60.0, 1)
    return Alarm(id=alarm_id, rule=rule, project=project)


def _pairs(dimensions: dict[str, str]) -> str:
    """The series' dimensions as the metrics service names them."""
    return canonical_dimensions_key(dimensions)


_IDS: dict[tuple[str, str], int] = {}


def _id(metric: str, dimensions: str) -> int:
    """The id the metrics service gives the series (one per metric and dimensions, for good)."""
    return _IDS.setdefault((metric, dimensions), len(_IDS) + 1)


def _watching(index: AlarmIndex, metric: str, dimensions: str, project: str = PROJECT) -> list[str] | None:
    return index.watching(project, "catalogue", [_id(metric, dimensions)], [metric], [dimensions])[0]


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
    index.remove((PROJECT, "gone"))
    assert _watching(index, "cpu", _pairs({"group": "web"})) == []
    assert index.keys() == []


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
    index.remove((PROJECT, "b"))
    assert _watching(index, "cpu", web) == []
    index.replace_all([alarm("c")])
    assert _watching(index, "cpu", web) == ["c"]


def test_a_state_change_keeps_what_watches_a_series():
    index = AlarmIndex()
    index.put(alarm("a", group="web"))
    watchers = _watching(index, "cpu", _pairs({"group": "web"}))
    index.put(replace(alarm("a", group="web"), state=AlarmState.ALARM))
    assert _watching(index, "cpu", _pairs({"group": "web"})) is watchers


def test_a_state_write_judged_at_an_older_definition_does_not_undo_a_newer_one_put_before_it():
    index = AlarmIndex()
    web = _pairs({"group": "web"})
    old = replace(alarm("a", group="web"), create_time=10.0, revision=1)
    newer = replace(alarm("a", "mem", group="web"), create_time=10.0, revision=2)
    index.put(newer)
    index.put(replace(old, state=AlarmState.ALARM))  # an evaluation of revision 1 whose put came late
    assert index.get((PROJECT, "a")) == newer
    assert _watching(index, "cpu", web) == [] and _watching(index, "mem", web) == ["a"]


def test_an_alarm_made_again_under_the_same_id_replaces_the_deleted_one_whatever_their_revisions():
    index = AlarmIndex()
    index.put(replace(alarm("a", group="web"), create_time=10.0, revision=5))
    made_again = replace(alarm("a", "mem"), create_time=20.0)
    index.put(made_again)
    assert index.get((PROJECT, "a")) == made_again


def test_a_reload_read_before_an_update_keeps_the_updated_definition():
    index = AlarmIndex()
    updated = replace(alarm("a", "mem"), create_time=10.0, revision=3)
    index.put(updated)
    index.replace_all([replace(alarm("a"), create_time=10.0, revision=2), alarm("b")])
    assert index.get((PROJECT, "a")) == updated and index.get((PROJECT, "b")) == alarm("b")


def test_reloading_keeps_the_evaluation_times_known_in_memory():
    index = AlarmIndex()
    index.put(alarm("a"))
    index.note_evaluated((PROJECT, "a"), 50.0)
    index.replace_all([alarm("a")])
    assert index.evaluate_time((PROJECT, "a")) == 50.0
    index.replace_all([])
    assert index.evaluate_time((PROJECT, "a")) is None


def test_a_series_whose_dimensions_are_no_json_object_of_strings_is_answered_none_among_the_others():
    index = AlarmIndex()
    index.put(alarm("all"))
    assert index.watching(PROJECT, "c", [1, 2, 3], ["cpu", "cpu", "cpu"], ["{}", "not json", '{"a": 1}']) == [["all"], None, None]


def test_a_series_known_by_its_id_is_not_read_by_its_names_again_but_one_of_another_catalogue_is():
    index = AlarmIndex()
    index.put(alarm("web", group="web"))
    web = _pairs({"group": "web"})
    assert index.watching(PROJECT, "first", [5], ["cpu"], [web]) == [["web"]]
    # The names are not read again for an id already known: even names that would not parse give the known answer.
    assert index.watching(PROJECT, "first", [5], ["", "ignored"][:1], ["not json"]) == [["web"]]
    # Another catalogue's id 5 is another series.
    assert index.watching(PROJECT, "second", [5], ["cpu"], [_pairs({"group": "db"})]) == [[]]
    assert index.watching(PROJECT, "first", [5], ["cpu"], [web]) == [["web"]]


def test_alarms_of_the_same_id_in_two_projects_are_held_apart():
    index = AlarmIndex()
    index.replace_all([alarm("a", "cpu", project="p1"), alarm("a", "mem", project="p2")])
    assert sorted(index.keys()) == [("p1", "a"), ("p2", "a")]
    assert (index.get(("p1", "a")).rule.metric, index.get(("p2", "a")).rule.metric) == ("cpu", "mem")
    index.note_evaluated(("p2", "a"), 50.0)
    index.remove(("p1", "a"))
    assert index.keys() == [("p2", "a")] and index.evaluate_time(("p2", "a")) == 50.0


def test_a_series_is_watched_only_by_the_alarms_of_the_project_it_is_notified_in():
    index = AlarmIndex()
    index.replace_all([alarm("ours", project="p1", group="web"), alarm("theirs", project="p2", group="web")])
    web = _pairs({"group": "web"})
    assert index.watching("p1", "c", [7], ["cpu"], [web]) == [["ours"]]
    # The same id named in another project's call is asked afresh there, never answered from p1's memory.
    assert index.watching("p2", "c", [7], ["cpu"], [web]) == [["theirs"]]
    assert index.watching("p3", "c", [7], ["cpu"], [web]) == [[]]


def test_a_change_in_one_project_keeps_what_the_other_projects_remember():
    index = AlarmIndex()
    index.put(alarm("a", project="p1", group="web"))
    web = _pairs({"group": "web"})
    remembered = _watching(index, "cpu", web, project="p1")
    index.put(alarm("b", project="p2", group="web"))
    index.replace_all([alarm("a", project="p1", group="web"), alarm("c", project="p2")])
    assert _watching(index, "cpu", web, project="p1") is remembered
    index.put(alarm("d", project="p1", group="web"))
    assert sorted(_watching(index, "cpu", web, project="p1")) == ["a", "d"]


def test_the_series_remembered_are_bounded_across_projects_and_then_read_afresh(monkeypatch):
    monkeypatch.setattr(index_module, "MAX_REMEMBERED_SERIES", 2)
    index = AlarmIndex()
    index.replace_all([alarm("ours", project="p1"), alarm("theirs", project="p2")])
    assert index.watching("p1", "c", [1, 2], ["cpu", "cpu"], ["{}", "{}"]) == [["ours"], ["ours"]]
    # Remembered: names that would not parse are not read again.
    assert index.watching("p1", "c", [1], ["cpu"], ["not json"]) == [["ours"]]
    # A third series (of another project) is beyond the bound: every project's memory starts afresh.
    assert index.watching("p2", "c", [3], ["cpu"], ["{}"]) == [["theirs"]]
    assert index.watching("p1", "c", [1], ["cpu"], ["not json"]) == [None]


def test_a_project_remembers_the_series_of_so_many_catalogues_then_forgets_only_its_own(monkeypatch):
    monkeypatch.setattr(index_module, "MAX_CATALOGUES", 1)
    index = AlarmIndex()
    index.replace_all([alarm("ours", project="p1"), alarm("theirs", project="p2")])
    assert index.watching("p1", "first", [1], ["cpu"], ["{}"]) == [["ours"]]
    assert index.watching("p2", "first", [2], ["cpu"], ["{}"]) == [["theirs"]]
    assert index.watching("p1", "second", [1], ["cpu"], ["{}"]) == [["ours"]]
    assert index.watching("p1", "first", [1], ["cpu"], ["not json"]) == [None]
    assert index.watching("p2", "first", [2], ["cpu"], ["not json"]) == [["theirs"]]
