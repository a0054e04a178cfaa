"""Storage of alarms over external stores on SQLite and PostgreSQL: their rules, their restated reasons, the migration."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import sqlalchemy as sa
from alembic import command

from autoscale.database import Database, alembic_config
from services.alarm.domain import (
    Alarm,
    AlarmState,
    ComparisonOperator,
    CompositeRule,
    HistoryEntry,
    HistoryType,
    PrometheusRule,
    TreatMissingData,
)
from services.alarm.repository import AlarmRepository, StateChange
from services.alarm.server import MIGRATIONS_DIR
from tests.services.alarm.test_alarm_storage import ALARM, PROJECT

QUERY = 'sum(rate(http_requests_total{job="web"}[1m]))\n  / 60'
OVER_PROMETHEUS = Alarm(
    id="load", rule=PrometheusRule(QUERY, ComparisonOperator.LESS_THAN, 2.5, 30.0, 4), alarm_actions=("policies/up",),
    insufficient_data_actions=("policies/x",), state_time=10.0, create_time=10.0, project=PROJECT,
)


def _created(alarm: Alarm) -> HistoryEntry:
    return HistoryEntry(alarm.id, alarm.create_time, HistoryType.CREATION, "created", state=alarm.state)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    db.migrate(MIGRATIONS_DIR, "alarm")
    yield db
    db.dispose()


@pytest.fixture
def repository(database: Database) -> AlarmRepository:
    repository = AlarmRepository(database)
    repository.create_alarm(ALARM, _created(ALARM))
    repository.create_alarm(OVER_PROMETHEUS, _created(OVER_PROMETHEUS))
    return repository


def test_a_prometheus_rule_is_read_back_as_stored_beside_threshold_rules(repository):
    assert repository.get_alarm(PROJECT, "load").rule == OVER_PROMETHEUS.rule
    assert [alarm.rule for alarm in repository.every_alarm()] == [ALARM.rule, OVER_PROMETHEUS.rule]


def test_an_update_switches_the_rule_kind_both_ways(repository):
    entry = HistoryEntry("load", 20.0, HistoryType.RULE_CHANGE, "changed")
    assert repository.update_alarm(replace(OVER_PROMETHEUS, rule=ALARM.rule), entry).rule == ALARM.rule
    assert repository.update_alarm(replace(OVER_PROMETHEUS, rule=OVER_PROMETHEUS.rule), entry).rule == OVER_PROMETHEUS.rule


def test_a_restated_reason_keeps_the_state_and_its_time_and_decides_no_action(repository):
    judged = repository.get_alarm(PROJECT, "load")
    [stored] = repository.change_reasons([StateChange(judged, judged.state, "Prometheus at http://p cannot be reached", 30.0)])
    assert stored is not None and stored.state_reason == "Prometheus at http://p cannot be reached"
    fetched = repository.get_alarm(PROJECT, "load")
    assert (fetched.state, fetched.state_time, fetched.state_reason) == (AlarmState.INSUFFICIENT_DATA, 10.0, stored.state_reason)
    entry = repository.list_history(PROJECT, "load", None, 10)[0]
    assert (entry.type, entry.previous_state, entry.state, entry.reason) == (
        HistoryType.STATE_REASON_CHANGE, AlarmState.INSUFFICIENT_DATA, AlarmState.INSUFFICIENT_DATA, stored.state_reason,
    )
    assert repository.pending_actions() == []


def test_a_restated_reason_is_not_stored_over_a_change_made_meanwhile(repository):
    judged = replace(repository.get_alarm(PROJECT, "load"), state=AlarmState.OK)
    assert repository.change_reasons([StateChange(judged, AlarmState.OK, "late", 30.0)]) == [None]
    assert repository.get_alarm(PROJECT, "load").state_reason == "Not evaluated yet"


def test_downgrading_drops_the_alarms_the_older_code_cannot_read_and_keeps_the_others(database, repository):
    with database.engine.begin() as connection:
        command.downgrade(alembic_config(MIGRATIONS_DIR, "alarm", connection), "alarm_0006")
    with database.reader() as connection:
        assert [row.id for row in connection.execute(sa.text("SELECT id FROM alarm_alarms"))] == ["high"]
        assert {row.alarm_id for row in connection.execute(sa.text("SELECT alarm_id FROM alarm_history"))} == {"high"}
    database.migrate(MIGRATIONS_DIR, "alarm")
    assert [alarm.rule for alarm in AlarmRepository(database).every_alarm()] == [ALARM.rule]


@pytest.mark.parametrize("rule", [ALARM.rule, OVER_PROMETHEUS.rule], ids=["threshold", "prometheus"])
def test_m_of_n_and_missing_data_settings_are_read_back_with_every_rule_kind(repository, rule):
    judged = replace(rule, datapoints_to_alarm=2, treat_missing_data=TreatMissingData.NOT_BREACHING)
    entry = HistoryEntry("load", 20.0, HistoryType.RULE_CHANGE, "changed")
    assert repository.update_alarm(replace(OVER_PROMETHEUS, rule=judged), entry).rule == judged
    assert repository.get_alarm(PROJECT, "load").rule == judged
    unset = replace(judged, datapoints_to_alarm=0, treat_missing_data=None)
    assert repository.update_alarm(replace(OVER_PROMETHEUS, rule=unset), entry).rule == unset


def test_a_composite_rule_is_read_back_and_downgrading_to_alarm_0009_drops_composite_alarms(repository, database_url):
    composite = Alarm(id="scale", rule=CompositeRule("ALARM(load) AND\nNOT OK(cpu)"), state_time=10.0, create_time=10.0,
                      project=PROJECT)
    repository.create_alarm(composite, _created(composite))
    assert repository.get_alarm(PROJECT, "scale").rule == composite.rule
    database = Database(database_url)
    try:
        with database.engine.begin() as connection:
            command.downgrade(alembic_config(MIGRATIONS_DIR, "alarm", connection), "alarm_0009")
        with database.reader() as connection:
            assert sorted(row.id for row in connection.execute(sa.text("SELECT id FROM alarm_alarms"))) == [ALARM.id, "load"]
        database.migrate(MIGRATIONS_DIR, "alarm")
        assert sorted(alarm.id for alarm in AlarmRepository(database).every_alarm()) == [ALARM.id, "load"]
    finally:
        database.dispose()
