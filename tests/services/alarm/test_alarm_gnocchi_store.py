"""The Gnocchi plug-in without a Gnocchi: the requests of the three targets, the window, the reading of answers and errors,
and how its rules are judged and stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from alembic import command

from autoscale.config import ConfigurationError
from autoscale.database import Database, alembic_config
from services.alarm.action_runners import ActionRequest
from services.alarm.domain import Alarm, AlarmState, ComparisonOperator, GnocchiRule, HistoryEntry, HistoryType, PendingAction
from services.alarm.evaluation import Datapoint, evaluate_store_rule, store_window
from services.alarm.repository import AlarmRepository
from services.alarm.server import MIGRATIONS_DIR
from services.alarm.stores import StoreError
from services.alarm.stores.gnocchi import GnocchiStore, gnocchi_request, gnocchi_window, read_measures
from services.alarm.webhook_delivery import webhook_body
from tests.services.alarm.test_alarm_storage import ALARM, PROJECT

NOW = 1_800_000_030.0
"""Half a minute into a minute."""
WEB = '{"=": {"server_group": "web"}}'
METRIC_IDS = ("0b9c5c9e-7d57-4a5e-9d0e-0c5c1e0b8c11", "5f0a9c2e-1b6d-4f55-8a40-3d2e1c0b9a22")


def rule(**changes: Any) -> GnocchiRule:
    fields: dict[str, Any] = {
        "metric": "cpu_util", "resource_type": "instance", "resource_id": "", "resource_query": WEB, "metric_ids": (),
        "aggregation_method": "mean", "comparison": ComparisonOperator.GREATER_THAN, "threshold": 80.0, "period": 60.0,
        "evaluation_periods": 2,
    }
    return GnocchiRule(**{**fields, **changes})


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def aggregated(*measures: tuple[float, float, float | None]) -> bytes:
    return json.dumps({"measures": {"aggregated": [[iso(t), granularity, value] for t, granularity, value in measures]}}).encode()


# The requests


def test_the_window_starts_a_period_before_the_evaluation_s_aligned_to_the_period_and_ends_now():
    start, end = store_window(rule(), NOW)
    assert gnocchi_window(rule(), start, end) == (1_800_000_030.0 - 30 - 3 * 60, NOW)
    assert gnocchi_window(rule(period=300.0, evaluation_periods=1), *store_window(rule(period=300.0, evaluation_periods=1), NOW)) == (
        1_799_999_400.0, NOW,
    )


def test_a_resource_id_reads_the_measures_of_its_metric_by_the_resource_endpoint():
    method, path, body = gnocchi_request(rule(resource_id="8f1c/x y", resource_query="", metric="cpu util"), 1000.0, 1200.0)
    assert (method, body) == ("GET", None)
    parts = urlsplit(path)
    assert parts.path == "/resource/instance/8f1c%2Fx%20y/metric/cpu%20util/measures"
    assert parse_qs(parts.query) == {
        "start": ["1970-01-01T00:16:40+00:00"], "stop": ["1970-01-01T00:20:00+00:00"], "granularity": ["60"],
        "aggregation": ["mean"],
    }


def test_a_resource_query_aggregates_the_metric_of_the_resources_it_matches():
    method, path, body = gnocchi_request(rule(aggregation_method="rate:max"), 1000.0, 1200.0)
    assert method == "POST" and urlsplit(path).path == "/aggregates"
    assert parse_qs(urlsplit(path).query)["needed_overlap"] == ["0"]
    assert json.loads(body or b"") == {
        "operations": ["aggregate", "rate:max", ["metric", "cpu_util", "max"]],
        "search": {"=": {"server_group": "web"}}, "resource_type": "instance",
    }


def test_metric_ids_are_aggregated_across_them():
    _, path, body = gnocchi_request(rule(metric="", resource_type="", resource_query="", metric_ids=METRIC_IDS), 0.0, 60.0)
    assert urlsplit(path).path == "/aggregates"
    assert json.loads(body or b"") == {
        "operations": ["aggregate", "mean", ["metric", [METRIC_IDS[0], "mean"], [METRIC_IDS[1], "mean"]]]
    }


# The answers


def test_aggregated_measures_become_datapoints_starting_at_their_time():
    body = aggregated((NOW - 150, 60.0, 85.0), (NOW - 90, 60.0, 90.0), (NOW - 30, 60.0, 70.0))
    assert read_measures(200, body, rule()) == [
        Datapoint(NOW - 150, 85.0, 1), Datapoint(NOW - 90, 90.0, 1), Datapoint(NOW - 30, 70.0, 1)
    ]


def test_a_resource_s_measures_are_a_plain_list_and_other_granularities_and_empty_values_are_left_out():
    body = json.dumps([[iso(60), 60.0, 1.0], [iso(120), 300.0, 2.0], [iso(180), 60.0, None], [iso(240), 60.0, 4.0]]).encode()
    assert read_measures(200, body, rule(resource_id="r1", resource_query="")) == [Datapoint(60, 1.0, 1), Datapoint(240, 4.0, 1)]


@pytest.mark.parametrize(
    "description",
    ["Metric ['cpu_util'] does not exist", "Metric cpu_util does not exist", "Resource 6ba82ee1-c4fd-4027 does not exist"],
)
def test_nothing_matching_is_no_datapoint(description):
    body = json.dumps({"code": 404, "title": "Not Found", "description": description}).encode()
    assert read_measures(404, body, rule()) == []
    assert read_measures(200, aggregated(), rule()) == []
    assert read_measures(200, b"[]", rule(resource_id="r1")) == []


def _error(status: int, description: Any) -> bytes:
    return json.dumps({"code": status, "title": "Error", "description": description}).encode()


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (400, _error(400, {"cause": "Metrics cannot be aggregated", "reason": "Granularities are missing",
                           "detail": [["cpu_util", "mean", 60.0]]}),
         'Gnocchi refused the request (HTTP 400): Metrics cannot be aggregated: Granularities are missing '
         '([["cpu_util", "mean", 60.0]])'),
        (404, _error(404, "Aggregation method 'mean' at granularity '60.0' for metric 37 does not exist"),
         "Gnocchi refused the request (HTTP 404): Aggregation method 'mean' at granularity '60.0' for metric 37 does not exist"),
        (404, _error(404, "Resource type nosuchtype does not exist"),
         "Gnocchi refused the request (HTTP 404): Resource type nosuchtype does not exist"),
        (404, _error(404, {"cause": "Unknown metrics", "reason": "Provided metrics don't exists", "detail": [METRIC_IDS[0]]}),
         f"Gnocchi refused the request (HTTP 404): Unknown metrics: Provided metrics don't exists ([\"{METRIC_IDS[0]}\"])"),
        (401, _error(401, "The request you have made requires authentication."),
         "Gnocchi refused the credentials (HTTP 401): The request you have made requires authentication."),
        (503, _error(503, "indexer down"), "Gnocchi answered HTTP 503: indexer down"),
        (502, b"<html>Bad Gateway</html>", "Gnocchi answered HTTP 502 with no JSON: '<html>Bad Gateway</html>'"),
        (200, b'{"measures": {}}', "Gnocchi answered no list of measures"),
        (200, b'[["2026-12-06T12:00:00+00:00", 60.0]]', "Gnocchi answered measures that are not [time, granularity, number] triples"),
        (200, b'[["yesterday", 60.0, 1.0]]', "Gnocchi answered measures that are not [time, granularity, number] triples"),
    ],
)
def test_what_gnocchi_refuses_or_cannot_be_read_is_a_store_error_quoting_it(status, body, reason):
    with pytest.raises(StoreError) as raised:
        read_measures(status, body, rule(resource_id="r1" if body.startswith(b"[") else ""))
    assert str(raised.value) == reason


# Judging


def test_the_newest_periods_decide_and_the_period_under_way_counts_once_half_gone():
    # At NOW (half a minute into the newest period), the newest full periods start at NOW-90 and NOW-150.
    window = [Datapoint(NOW - 210, 10.0, 1), Datapoint(NOW - 150, 85.0, 1), Datapoint(NOW - 90, 90.0, 1)]
    assert evaluate_store_rule(rule(), AlarmState.OK, window, NOW).state is AlarmState.ALARM
    under_way = [*window, Datapoint(NOW - 30, 20.0, 1)]  # half of it gone: it counts, as the built-in rule's newest bucket
    assert evaluate_store_rule(rule(), AlarmState.ALARM, under_way, NOW).state is AlarmState.ALARM  # mixed: stays
    assert evaluate_store_rule(rule(), AlarmState.OK, [Datapoint(NOW - 90, 90.0, 1)], NOW).state is AlarmState.INSUFFICIENT_DATA


def test_the_reason_describes_the_target():
    reason = evaluate_store_rule(rule(), AlarmState.OK, [Datapoint(NOW - 150, 85.0, 1), Datapoint(NOW - 90, 90.0, 1)], NOW).reason
    assert reason.startswith('mean(cpu_util of instance {"=": {"server_group": "web"}}) > 80 in the last 2 periods of 60s')
    assert rule(resource_id="r1", resource_query="").describe() == "mean(cpu_util of instance r1)"
    assert rule(metric_ids=METRIC_IDS, metric="", resource_type="", resource_query="").describe() == (
        f"mean(metrics {METRIC_IDS[0]}, {METRIC_IDS[1]})"
    )


def test_a_webhook_of_an_alarm_over_gnocchi_carries_its_rule_under_gnocchi_rule():
    alarm = Alarm(id="web", rule=rule(), project="p1")
    pending = PendingAction(1, "web", "https://hooks.example/x", AlarmState.OK, AlarmState.ALARM, "high", {}, NOW, False, project="p1")
    body = webhook_body(ActionRequest(alarm, pending))
    assert body["gnocchi_rule"] == {
        "metric": "cpu_util", "resource_type": "instance", "resource_id": "", "resource_query": WEB, "metric_ids": [],
        "aggregation_method": "mean", "comparison_operator": ">", "threshold": 80.0, "period_seconds": 60.0,
        "evaluation_periods": 2,
    }
    assert "threshold_rule" not in body


# The store's settings


def test_the_url_may_name_the_api_with_or_without_v1_and_credentials_are_never_named():
    assert GnocchiStore("http://gnocchi:8041")._api == "http://gnocchi:8041/v1"
    store = GnocchiStore("http://admin:secret@gnocchi:8041/v1/")
    assert store._api == "http://gnocchi:8041/v1" and store.url == "http://gnocchi:8041/v1"
    assert store._headers["authorization"] == "Basic YWRtaW46c2VjcmV0"
    with pytest.raises(ConfigurationError, match=r"--gnocchi-url 'ftp://gnocchi' is not an http\(s\) URL"):
        GnocchiStore("ftp://u:p@gnocchi")


# Storage


@pytest.fixture
def repository(database_url: str) -> Iterator[AlarmRepository]:
    database = Database(database_url)
    database.migrate(MIGRATIONS_DIR, "alarm")
    yield AlarmRepository(database)
    database.dispose()


@pytest.mark.parametrize(
    "stored",
    [
        rule(),
        rule(resource_id="8f1c6f3e-instance", resource_query="", aggregation_method="95pct", period=300.0),
        rule(metric="", resource_type="", resource_query="", metric_ids=METRIC_IDS, aggregation_method="max"),
    ],
    ids=["resource_query", "resource_id", "metric_ids"],
)
def test_each_target_is_read_back_as_stored_and_kinds_switch(repository, stored):
    over_gnocchi = Alarm(id="web", rule=stored, state_time=10.0, create_time=10.0, project=PROJECT)
    repository.create_alarm(ALARM, HistoryEntry(ALARM.id, 1.0, HistoryType.CREATION, "created"))
    repository.create_alarm(over_gnocchi, HistoryEntry("web", 10.0, HistoryType.CREATION, "created"))
    assert repository.get_alarm(PROJECT, "web").rule == stored
    assert [alarm.rule for alarm in repository.every_alarm()] == [ALARM.rule, stored]
    entry = HistoryEntry("web", 20.0, HistoryType.RULE_CHANGE, "changed")
    assert repository.update_alarm(replace(over_gnocchi, rule=ALARM.rule), entry).rule == ALARM.rule
    assert repository.update_alarm(replace(over_gnocchi, rule=stored), entry).rule == stored


def test_downgrading_to_alarm_0007_drops_the_alarms_over_gnocchi_and_keeps_the_others(repository, database_url):
    repository.create_alarm(ALARM, HistoryEntry(ALARM.id, 1.0, HistoryType.CREATION, "created"))
    over_gnocchi = Alarm(id="web", rule=rule(), state_time=10.0, create_time=10.0, project=PROJECT)
    repository.create_alarm(over_gnocchi, HistoryEntry("web", 10.0, HistoryType.CREATION, "created"))
    database = Database(database_url)
    try:
        with database.engine.begin() as connection:
            command.downgrade(alembic_config(MIGRATIONS_DIR, "alarm", connection), "alarm_0007")
        with database.reader() as connection:
            assert [row.id for row in connection.execute(sa.text("SELECT id FROM alarm_alarms"))] == [ALARM.id]
            assert {row.alarm_id for row in connection.execute(sa.text("SELECT alarm_id FROM alarm_history"))} == {ALARM.id}
        database.migrate(MIGRATIONS_DIR, "alarm")
        assert [alarm.rule for alarm in AlarmRepository(database).every_alarm()] == [ALARM.rule]
    finally:
        database.dispose()
