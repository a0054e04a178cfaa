"""Storage of the alarm service on SQLite and PostgreSQL: migrations, alarms, states, history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from autoscale.database import Database, alembic_config, schema_differences
from autoscale.errors import AlreadyExists, NotFound
from autoscale.series import Statistic
from services.alarm.domain import (
    NO_REASON_DATA,
    Alarm,
    AlarmState,
    ComparisonOperator,
    HistoryEntry,
    HistoryType,
    PendingAction,
    ThresholdRule,
)
from services.alarm.models import metadata
from services.alarm.repository import AlarmRepository, Repeat, StateChange, Transition
from services.alarm.server import MIGRATIONS_DIR

PROJECT = "p1"
RULE = ThresholdRule("cpu_util", (("group", "web"),), Statistic.MAXIMUM, ComparisonOperator.GREATER_THAN_OR_EQUAL, 80.5, 60.0, 3)
ALARM = Alarm(
    id="high", rule=RULE, description="hot", alarm_actions=("policies/up", "https://hooks.example/x"), ok_actions=("policies/down",),
    repeat_actions=True, state_time=10.0, create_time=10.0, project=PROJECT, webhook_secret="5e" * 32,
)


def _change(
    repository: AlarmRepository, alarm_id: str, expected: AlarmState | None, state: AlarmState, reason: str, time: float,
    reason_data: Mapping[str, Any] = NO_REASON_DATA,
) -> Transition | None:
    """Change an alarm's state as an evaluation judged it (see _judged)."""
    return repository.change_states([StateChange(_judged(repository, alarm_id, expected), state, reason, time, reason_data)])[0]


def _judged(repository: AlarmRepository, alarm_id: str, expected: AlarmState | None = None) -> Alarm:
    """The alarm as an evaluation read it, in `expected` (None: as stored now; an alarm that is gone: as it was created)."""
    try:
        stored = repository.get_alarm(PROJECT, alarm_id)
    except NotFound:
        stored = replace(ALARM, id=alarm_id)
    return stored if expected is None else replace(stored, state=expected)


def _created(alarm: Alarm) -> HistoryEntry:
    return HistoryEntry(alarm.id, alarm.create_time, HistoryType.CREATION, "created", state=alarm.state)


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    db.migrate(MIGRATIONS_DIR, "alarm")
    yield db
    db.dispose()


@pytest.fixture
def repository(database):
    repository = AlarmRepository(database)
    repository.create_alarm(ALARM, _created(ALARM))
    return repository


def test_migrations_create_exactly_the_tables_of_the_models(database):
    assert schema_differences(database, metadata) == []


def test_an_alarm_reads_back_as_it_was_stored(repository):
    assert repository.get_alarm(PROJECT, "high") == ALARM


def test_creating_a_taken_id_is_already_exists(repository):
    with pytest.raises(AlreadyExists):
        repository.create_alarm(ALARM, _created(ALARM))


def test_alarms_of_another_project_are_invisible(repository):
    with pytest.raises(NotFound):
        repository.get_alarm("other", "high")
    with pytest.raises(NotFound):
        repository.list_history("other", "high", None, 10)
    with pytest.raises(NotFound):
        repository.delete_alarm("other", "high")
    with pytest.raises(NotFound):
        repository.update_alarm(replace(ALARM, project="other"), HistoryEntry("high", 30.0, HistoryType.RULE_CHANGE, "x"))
    assert repository.list_alarms("other") == []
    assert repository.get_alarm(PROJECT, "high") == ALARM


def test_the_same_id_names_one_alarm_in_each_project_and_each_is_changed_apart(repository):
    theirs = replace(ALARM, project="p2", description="theirs")
    repository.create_alarm(theirs, _created(theirs))
    assert repository.get_alarm("p2", "high") == theirs and repository.get_alarm(PROJECT, "high") == ALARM
    assert [(a.project, a.id) for a in repository.every_alarm()] == [(PROJECT, "high"), ("p2", "high")]
    moved = repository.change_states([StateChange(theirs, AlarmState.ALARM, "hot", 20.0)])[0]
    assert moved is not None and [p.project for p in moved.actions] == ["p2", "p2"]
    assert repository.get_alarm(PROJECT, "high").state is AlarmState.INSUFFICIENT_DATA
    assert [e.reason for e in repository.list_history(PROJECT, "high", None, 10)] == ["created"]
    repository.delete_alarm("p2", "high")
    assert repository.get_alarm(PROJECT, "high") == ALARM and repository.pending_actions() == []


def test_pending_actions_of_every_project_are_read_back_with_their_project(repository):
    theirs = replace(ALARM, project="p2")
    repository.create_alarm(theirs, _created(theirs))
    ours = _change(repository, "high", AlarmState.INSUFFICIENT_DATA, AlarmState.ALARM, "hot", 20.0)
    (other,) = repository.change_states([StateChange(theirs, AlarmState.OK, "calm", 21.0)])
    assert ours is not None and other is not None
    assert repository.pending_actions() == ours.actions + other.actions
    assert [p.project for p in repository.pending_actions()] == [PROJECT, PROJECT, "p2"]


def test_an_attempt_is_recorded_only_in_the_project_named(repository):
    theirs = replace(ALARM, project="p2")
    repository.create_alarm(theirs, _created(theirs))
    entry = HistoryEntry("high", 20.0, HistoryType.ACTION, "ran", state=AlarmState.ALARM, action="policies/up", attempt=1)
    assert repository.record_attempt("p2", entry, None, done=True)
    assert [e.type for e in repository.list_history("p2", "high", None, 10)] == [HistoryType.ACTION, HistoryType.CREATION]
    assert [e.type for e in repository.list_history(PROJECT, "high", None, 10)] == [HistoryType.CREATION]
    assert repository.record_attempt("p3", entry, None, done=True) is False


def test_repeats_of_alarms_of_two_projects_are_stored_together_each_in_its_project(repository):
    theirs = replace(ALARM, project="p2")
    repository.create_alarm(theirs, _created(theirs))
    ours = _change(repository, "high", AlarmState.INSUFFICIENT_DATA, AlarmState.OK, "calm", 20.0)
    (other,) = repository.change_states([StateChange(theirs, AlarmState.OK, "calm", 20.0)])
    assert ours is not None and other is not None
    _done(repository, ours.actions[0])  # p2's first invocation is still pending: its repeat leaves it out
    repeated = repository.add_repeated_actions([Repeat(ours.alarm, "still calm", {}, 80.0), Repeat(other.alarm, "still calm", {}, 80.0)])
    assert [(r.alarm.project, r.alarm.repeat_time, [p.target for p in r.actions]) for r in repeated] == [
        (PROJECT, 80.0, ["policies/down"]), ("p2", 80.0, []),
    ]
    assert [(p.project, p.repeat) for p in repository.pending_actions()] == [("p2", False), (PROJECT, True)]


def test_list_pages_by_id(repository):
    for alarm_id in ("c", "b"):
        repository.create_alarm(replace(ALARM, id=alarm_id), _created(replace(ALARM, id=alarm_id)))
    assert [a.id for a in repository.list_alarms(PROJECT, limit=2)] == ["b", "c"]
    assert [a.id for a in repository.list_alarms(PROJECT, after="c")] == ["high"]


def test_update_changes_the_definition_but_not_the_state(repository):
    _change(repository, "high", AlarmState.INSUFFICIENT_DATA, AlarmState.ALARM, "hot", 20.0)
    changed = replace(ALARM, description="new", state=AlarmState.OK, rule=replace(RULE, threshold=70.0))
    stored = repository.update_alarm(changed, HistoryEntry("high", 30.0, HistoryType.RULE_CHANGE, "changed"))
    assert (stored.description, stored.rule.threshold, stored.state) == ("new", 70.0, AlarmState.ALARM)


def test_a_state_change_is_stored_only_from_the_state_it_expects(repository):
    changed = _change(repository, "high", AlarmState.INSUFFICIENT_DATA, AlarmState.ALARM, "hot", 20.0)
    assert changed is not None
    alarm, previous = changed.alarm, changed.previous
    assert (alarm.state, alarm.state_reason, alarm.state_time, previous) == (AlarmState.ALARM, "hot", 20.0, AlarmState.INSUFFICIENT_DATA)
    assert _change(repository, "high", AlarmState.INSUFFICIENT_DATA, AlarmState.OK, "stale", 21.0) is None
    assert repository.get_alarm(PROJECT, "high").state is AlarmState.ALARM


def test_a_forced_state_change_ignores_the_current_state(repository):
    assert _change(repository, "high", None, AlarmState.OK, "operator", 20.0) is not None
    assert _change(repository, "missing", None, AlarmState.OK, "operator", 20.0) is None


def test_history_lists_newest_first_in_pages(repository):
    _change(repository, "high", AlarmState.INSUFFICIENT_DATA, AlarmState.ALARM, "hot", 20.0)
    repository.record_attempt(PROJECT, HistoryEntry("high", 20.0, HistoryType.ACTION, "ok", state=AlarmState.ALARM, action="policies/up",
                                           action_succeeded=True, attempt=1), None, done=True)
    entries = repository.list_history(PROJECT, "high", None, 10)
    assert [e.type for e in entries] == [HistoryType.ACTION, HistoryType.STATE_TRANSITION, HistoryType.CREATION]
    first = repository.list_history(PROJECT, "high", None, 1)
    rest = repository.list_history(PROJECT, "high", (first[-1].time, first[-1].sequence), 10)
    assert [e.type for e in first + rest] == [e.type for e in entries]
    assert entries[0] == HistoryEntry("high", 20.0, HistoryType.ACTION, "ok", state=AlarmState.ALARM, action="policies/up",
                                      action_succeeded=True, attempt=1)


def test_history_of_a_deleted_alarm_is_gone_and_not_added_to(repository):
    repository.delete_alarm(PROJECT, "high")
    assert repository.record_attempt(PROJECT, HistoryEntry("high", 30.0, HistoryType.ACTION, "late"), None, done=True) is False
    with pytest.raises(NotFound):
        repository.list_history(PROJECT, "high", None, 10)
    with pytest.raises(NotFound):
        repository.delete_alarm(PROJECT, "high")


def test_many_state_changes_are_stored_together_each_only_from_its_expected_state(repository):
    other = replace(ALARM, id="other")
    repository.create_alarm(other, _created(other))
    answers = repository.change_states([
        StateChange(_judged(repository, "high", AlarmState.INSUFFICIENT_DATA), AlarmState.ALARM, "hot", 20.0),
        StateChange(_judged(repository, "other", AlarmState.OK), AlarmState.ALARM, "stale", 20.0),
        StateChange(_judged(repository, "missing"), AlarmState.OK, "gone", 20.0),
    ])
    assert [None if a is None else (a.alarm.id, a.alarm.state, a.previous) for a in answers] == [
        ("high", AlarmState.ALARM, AlarmState.INSUFFICIENT_DATA), None, None,
    ]
    assert repository.get_alarm(PROJECT, "other").state is AlarmState.INSUFFICIENT_DATA
    assert [e.type for e in repository.list_history(PROJECT, "high", None, 10)] == [HistoryType.STATE_TRANSITION, HistoryType.CREATION]


def test_alarms_moved_together_come_back_as_stored_with_their_new_state(repository):
    other = replace(ALARM, id="other", repeat_actions=False, disabled=True, ok_actions=())
    repository.create_alarm(other, _created(other))
    answers = repository.change_states([
        StateChange(_judged(repository, "high", AlarmState.INSUFFICIENT_DATA), AlarmState.ALARM, "hot", 20.0),
        StateChange(_judged(repository, "other", AlarmState.INSUFFICIENT_DATA), AlarmState.OK, "cool", 21.0),
    ])
    assert [a.alarm for a in answers] == [repository.get_alarm(PROJECT, "high"), repository.get_alarm(PROJECT, "other")]
    assert answers[0].alarm == replace(ALARM, state=AlarmState.ALARM, state_reason="hot", state_time=20.0, evaluate_time=20.0)
    assert answers[1].alarm.disabled is True and answers[1].alarm.repeat_actions is False


def test_a_transition_stores_the_actions_of_its_new_state_as_pending(repository):
    transition = _change(repository, "high", AlarmState.INSUFFICIENT_DATA, AlarmState.ALARM, "hot", 20.0, {"most_recent": 95.0})
    assert [(p.target, p.state, p.previous_state, p.reason_data, p.attempts) for p in transition.actions] == [
        ("policies/up", AlarmState.ALARM, AlarmState.INSUFFICIENT_DATA, {"most_recent": 95.0}, 0),
        ("https://hooks.example/x", AlarmState.ALARM, AlarmState.INSUFFICIENT_DATA, {"most_recent": 95.0}, 0),
    ]
    assert repository.pending_actions() == transition.actions


def test_a_pending_action_counts_its_failed_attempts_and_goes_once_done(repository):
    first, second = _change(repository, "high", AlarmState.INSUFFICIENT_DATA, AlarmState.ALARM, "hot", 20.0).actions
    attempt = HistoryEntry("high", 21.0, HistoryType.ACTION, "failed", state=AlarmState.ALARM, action=first.target, attempt=1)
    assert repository.record_attempt(PROJECT, attempt, first.id, done=False)
    assert [p.attempts for p in repository.pending_actions()] == [1, 0]
    assert repository.record_attempt(PROJECT, replace(attempt, attempt=2, action_succeeded=True), first.id, done=True)
    assert [p.id for p in repository.pending_actions()] == [second.id]


def _done(repository: AlarmRepository, action: PendingAction) -> None:
    entry = HistoryEntry(action.alarm_id, action.time, HistoryType.ACTION, "ran", state=action.state, action=action.target, attempt=1)
    assert repository.record_attempt(action.project, entry, action.id, done=True)


def test_repeated_actions_are_stored_as_pending_repeats_with_the_time_of_the_repeat(repository):
    moved = _change(repository, "high", AlarmState.INSUFFICIENT_DATA, AlarmState.OK, "calm", 20.0)
    _done(repository, moved.actions[0])
    (repeated,) = repository.add_repeated_actions([Repeat(moved.alarm, "still calm", {}, 80.0)])
    assert [(p.target, p.repeat, p.state, p.reason) for p in repeated.actions] == [("policies/down", True, AlarmState.OK, "still calm")]
    assert repeated.alarm.repeat_time == 80.0 and repeated.alarm == repository.get_alarm(PROJECT, "high")


def test_a_repeat_leaves_out_an_action_whose_previous_invocation_is_still_pending(repository):
    moved = _change(repository, "high", AlarmState.INSUFFICIENT_DATA, AlarmState.ALARM, "hot", 20.0)
    policy, webhook = moved.actions
    _done(repository, webhook)
    (repeated,) = repository.add_repeated_actions([Repeat(moved.alarm, "still hot", {}, 80.0)])
    assert [p.target for p in repeated.actions] == ["https://hooks.example/x"]
    assert [p.id for p in repository.pending_actions()] == [policy.id, repeated.actions[0].id]


def test_a_repeat_not_due_as_stored_or_of_an_alarm_that_moved_stores_nothing(repository):
    moved = _change(repository, "high", AlarmState.INSUFFICIENT_DATA, AlarmState.OK, "calm", 20.0)
    _done(repository, moved.actions[0])
    (first,) = repository.add_repeated_actions([Repeat(moved.alarm, "still calm", {}, 80.0)])
    _done(repository, first.actions[0])
    # Another replica repeated it at 80: a period has not passed since.
    (again,) = repository.add_repeated_actions([Repeat(moved.alarm, "still calm", {}, 100.0)])
    assert again.actions == [] and again.alarm.repeat_time == 80.0
    _change(repository, "high", None, AlarmState.ALARM, "hot", 110.0)
    assert repository.add_repeated_actions([Repeat(moved.alarm, "still calm", {}, 200.0)]) == []
    assert repository.pending_actions()[-1].state is AlarmState.ALARM


def test_deleting_an_alarm_drops_its_pending_actions(repository):
    _change(repository, "high", AlarmState.INSUFFICIENT_DATA, AlarmState.ALARM, "hot", 20.0)
    repository.delete_alarm(PROJECT, "high")
    assert repository.pending_actions() == []


def test_an_update_moves_the_revision_and_a_transition_keeps_it(repository):
    assert repository.get_alarm(PROJECT, "high").revision == 0
    updated = repository.update_alarm(replace(ALARM, description="new"), HistoryEntry("high", 30.0, HistoryType.RULE_CHANGE, "changed"))
    assert updated.revision == 1
    moved = _change(repository, "high", AlarmState.INSUFFICIENT_DATA, AlarmState.ALARM, "hot", 31.0)
    assert moved.alarm.revision == repository.get_alarm(PROJECT, "high").revision == 1


def test_alarms_still_as_judged_move_together_as_if_read_again(repository):
    other = replace(ALARM, id="other", repeat_actions=False, ok_actions=())
    repository.create_alarm(other, _created(other))
    judged = [repository.get_alarm(PROJECT, "high"), repository.get_alarm(PROJECT, "other")]
    answers = repository.change_states([
        StateChange(judged[0], AlarmState.ALARM, "hot", 20.0, {"most_recent": 95.0}),
        StateChange(judged[1], AlarmState.OK, "cool", 21.0, {}),
    ])
    assert [a.alarm for a in answers] == [repository.get_alarm(PROJECT, "high"), repository.get_alarm(PROJECT, "other")]
    assert [a.previous for a in answers] == [AlarmState.INSUFFICIENT_DATA, AlarmState.INSUFFICIENT_DATA]
    assert [p.target for p in answers[0].actions] == ["policies/up", "https://hooks.example/x"] and answers[1].actions == []
    assert repository.pending_actions() == answers[0].actions
    assert [e.state for e in repository.list_history(PROJECT, "other", None, 10)] == [AlarmState.OK, AlarmState.INSUFFICIENT_DATA]


def test_an_alarm_updated_since_it_was_judged_is_not_moved_by_that_judgment(repository):
    judged = repository.get_alarm(PROJECT, "high")
    repository.update_alarm(replace(ALARM, alarm_actions=("policies/other",)), HistoryEntry("high", 30.0, HistoryType.RULE_CHANGE, "x"))
    assert repository.change_states([StateChange(judged, AlarmState.ALARM, "hot", 31.0, {})]) == [None]
    assert repository.get_alarm(PROJECT, "high").state is AlarmState.INSUFFICIENT_DATA and repository.pending_actions() == []


def test_an_alarm_deleted_and_made_again_under_its_id_since_it_was_judged_is_moved_by_neither_judgment_nor_reason(repository):
    judged = repository.get_alarm(PROJECT, "high")
    repository.delete_alarm(PROJECT, "high")
    made_again = replace(ALARM, rule=replace(RULE, metric="mem"), create_time=40.0, state_time=40.0)
    repository.create_alarm(made_again, _created(made_again))  # the same id, state and revision as the one judged
    assert repository.change_states([StateChange(judged, AlarmState.ALARM, "hot", 41.0, {})]) == [None]
    assert repository.change_reasons([StateChange(judged, judged.state, "no data", 41.0, {})]) == [None]
    assert repository.get_alarm(PROJECT, "high") == replace(made_again, webhook_secret=repository.get_alarm(PROJECT, "high").webhook_secret)
    assert repository.pending_actions() == []


def test_when_one_alarm_moved_since_judged_the_others_of_its_batch_still_move_and_it_does_not(repository):
    other = replace(ALARM, id="other")
    repository.create_alarm(other, _created(other))
    judged = [repository.get_alarm(PROJECT, "high"), repository.get_alarm(PROJECT, "other")]
    _change(repository, "other", None, AlarmState.OK, "operator", 15.0)
    answers = repository.change_states([
        StateChange(judged[0], AlarmState.ALARM, "hot", 20.0, {}),
        StateChange(judged[1], AlarmState.ALARM, "stale", 20.0, {}),
    ])
    assert answers[0].alarm.state is AlarmState.ALARM and answers[1] is None
    assert repository.get_alarm(PROJECT, "other").state is AlarmState.OK
    assert [e.reason for e in repository.list_history(PROJECT, "other", None, 10)] == ["operator", "created"]
    assert [e.reason for e in repository.list_history(PROJECT, "high", None, 10)] == ["hot", "created"]


def test_the_webhook_secret_is_written_by_an_update_only_when_it_makes_a_new_one(repository):
    read_before = repository.get_alarm(PROJECT, "high")
    repository.update_alarm(replace(read_before, webhook_secret="ab" * 32), HistoryEntry("high", 30.0, HistoryType.RULE_CHANGE, "new"),
                            new_webhook_secret=True)
    # An update that read the alarm before the new secret was made does not bring the old one back.
    stored = repository.update_alarm(replace(read_before, description="later"), HistoryEntry("high", 31.0, HistoryType.RULE_CHANGE, "x"))
    assert (stored.description, stored.webhook_secret) == ("later", "ab" * 32)
    assert repository.webhook_secret(PROJECT, "high") == "ab" * 32
    assert repository.webhook_secret(PROJECT, "gone") is None


def test_upgrading_gives_every_alarm_a_webhook_secret_of_its_own(database_url):
    database = Database(database_url)
    try:
        with database.engine.begin() as connection:
            command.upgrade(alembic_config(MIGRATIONS_DIR, "alarm", connection), "alarm_0004")
            for alarm_id in ("a", "b"):
                connection.execute(sa.text(
                    "INSERT INTO alarm_alarms (project, id, description, metric, dimensions, statistic, comparison, threshold, period, "
                    "evaluation_periods, alarm_actions, ok_actions, insufficient_data_actions, repeat_actions, disabled, state, "
                    "state_reason, state_time, create_time) VALUES ('default', :id, '', 'cpu', '{}', 'average', '>', 80, 60, 1, "
                    "'[]', '[]', '[]', false, false, 'insufficient data', 'new', 1.0, 1.0)"
                ), {"id": alarm_id})
        database.migrate(MIGRATIONS_DIR, "alarm")
        repository = AlarmRepository(database)
        secrets = [repository.webhook_secret("default", alarm_id) for alarm_id in ("a", "b")]
        assert all(secret is not None and len(secret) == 64 for secret in secrets) and secrets[0] != secrets[1]
        assert schema_differences(database, metadata) == []
    finally:
        database.dispose()
