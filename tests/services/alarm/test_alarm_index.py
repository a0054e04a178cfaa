"""The in-memory index finds the alarms that watch a series, and only those."""

from __future__ import annotations

import math
from dataclasses import replace

from services.alarm import index as index_module
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


NOT_QUIET = (math.inf, -math.inf)
OK_BAND = (-math.inf, 1.0)  # at or under the threshold (1.0, GREATER_THAN)


def test_the_watch_list_version_moves_only_when_what_is_watched_or_its_bands_change():
    index = AlarmIndex()
    index.put(alarm("a", group="web"))
    version, watched = index.watch_list()
    assert watched == [(("cpu", ("group", "web")), NOT_QUIET)]  # INSUFFICIENT_DATA: any value may move it
    index.replace_all([alarm("a", group="web")])
    index.put(replace(alarm("a", group="web"), state_reason="judged again"))
    assert index.watch_list()[0] == version
    index.put(alarm("b", "mem"))
    assert index.watch_list() == (version + 1, [(("cpu", ("group", "web")), NOT_QUIET), (("mem", None), NOT_QUIET)])
    index.put(replace(alarm("b", "mem"), disabled=True))
    assert index.watch_list() == (version + 2, [(("cpu", ("group", "web")), NOT_QUIET)])
    index.put(replace(alarm("a", group="web"), state=AlarmState.OK))
    assert index.watch_list() == (version + 3, [(("cpu", ("group", "web")), OK_BAND)])


def test_an_anchors_band_is_what_every_enabled_alarm_filed_there_leaves_quiet():
    index = AlarmIndex()
    ok = replace(alarm("a", group="web"), state=AlarmState.OK)
    higher = replace(ok, id="b", rule=replace(ok.rule, threshold=5.0))
    index.put_many([ok, higher])
    assert index.watch_list()[1] == [(("cpu", ("group", "web")), OK_BAND)]
    index.put(replace(ok, disabled=True))
    assert index.watch_list()[1] == [(("cpu", ("group", "web")), (-math.inf, 5.0))]
    index.put(replace(higher, state=AlarmState.ALARM))  # above 5: stays ALARM; at or under: could go OK
    assert index.watch_list()[1] == [(("cpu", ("group", "web")), (math.nextafter(5.0, math.inf), math.inf))]
    index.put(replace(ok, disabled=False, state=AlarmState.OK))  # the two bands no longer meet
    assert index.watch_list()[1] == [(("cpu", ("group", "web")), NOT_QUIET)]


def test_an_alarm_repeating_its_actions_leaves_nothing_quiet():
    # NotifySamples evaluates it on every arrival: its actions may be due again.
    index = AlarmIndex()
    index.put(replace(alarm("a", group="web"), state=AlarmState.OK))
    version, _ = index.watch_list()
    index.put(replace(alarm("a", group="web"), state=AlarmState.OK, repeat_actions=True))
    assert index.watch_list() == (version + 1, [(("cpu", ("group", "web")), NOT_QUIET)])


def test_a_new_threshold_moves_the_band():
    index = AlarmIndex()
    index.put(replace(alarm("a", group="web"), state=AlarmState.OK))
    version, _ = index.watch_list()
    moved = replace(alarm("a", group="web"), state=AlarmState.OK)
    index.put(replace(moved, rule=replace(moved.rule, threshold=3.0)))
    assert index.watch_list() == (version + 1, [(("cpu", ("group", "web")), (-math.inf, 3.0))])


def test_many_state_changes_between_two_asks_move_the_version_once():
    index = AlarmIndex()
    alarms = [alarm(f"a{number}", group=f"g{number}") for number in range(100)]
    index.put_many(alarms)
    version, _ = index.watch_list()
    for state in (AlarmState.OK, AlarmState.ALARM):
        index.put_many(replace(each, state=state) for each in alarms)
    assert index.watch_list()[0] == version + 1


def test_a_new_index_never_reuses_an_earlier_ones_watch_version():
    before = AlarmIndex()
    before.put(alarm("a", group="web"))
    held, _ = before.watch_list()
    after = AlarmIndex()  # the service restarted
    assert after.watch_list()[0] != held


def test_a_caller_holding_a_recent_version_is_told_only_the_places_that_changed_since():
    index = AlarmIndex()
    index.put_many([alarm("a", group="web"), alarm("b", group="db")])
    since, _ = index.watch_list()
    index.put(replace(alarm("a", group="web"), state=AlarmState.OK))
    index.watch_list()
    index.put(alarm("c", "mem"))
    index.remove("b")
    version, changes = index.watch_changes(since)
    assert version == index.watch_list()[0] == since + 2
    assert sorted(changes, key=repr) == sorted(
        [(("cpu", ("group", "web")), OK_BAND), (("mem", None), NOT_QUIET), (("cpu", ("group", "db")), None)], key=repr
    )
    assert index.watch_changes(version) == (version, [])


def test_a_version_too_old_or_not_given_by_this_index_has_no_changes_to_tell(monkeypatch):
    monkeypatch.setattr(index_module, "WATCH_VERSIONS_KEPT", 2)
    index = AlarmIndex()
    index.put(alarm("a", group="web"))
    first, _ = index.watch_list()
    for state in (AlarmState.OK, AlarmState.ALARM, AlarmState.OK):
        index.put(replace(alarm("a", group="web"), state=state))
        index.watch_list()
    assert index.watch_changes(first) is None
    assert index.watch_changes(first + 1) is not None
    assert index.watch_changes(first + 100) is None
    assert AlarmIndex().watch_changes(first) is None


def test_a_reload_tells_only_the_places_where_an_alarm_changed_its_state_meanwhile():
    index = AlarmIndex()
    alarms = [replace(alarm(f"a{number}", group=f"g{number}"), state=AlarmState.OK) for number in range(3)]
    index.replace_all(alarms)
    since, _ = index.watch_list()
    index.replace_all([*alarms[:2], replace(alarms[2], state=AlarmState.ALARM)])  # another replica moved a2
    assert index.watch_changes(since) == (since + 1, [(("cpu", ("group", "g2")), (math.nextafter(1.0, math.inf), math.inf))])
