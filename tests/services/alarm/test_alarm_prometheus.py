"""Alarms with a prometheus_rule through AlarmService: validation, one rule kind, updates, and evaluation against a real
Prometheus (tests/prometheus_server.py) that scrapes an exporter of the test's own."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from autoscale.errors import field_violations
from autoscale.timeutil import to_duration
from autoscale.v1 import alarm_pb2, common_pb2
from services.alarm.domain import ComparisonOperator, PrometheusRule
from services.alarm.rules import MAX_QUERY_LENGTH
from services.alarm.stores import StoreError
from services.alarm.stores.prometheus import PrometheusStore
from tests.prometheus_server import FakePrometheus, PrometheusServer, free_port
from tests.services.alarm.mesh import Mesh, mesh_with, wait_for

ALARM = alarm_pb2.ALARM_STATE_ALARM
OK = alarm_pb2.ALARM_STATE_OK
INSUFFICIENT = alarm_pb2.ALARM_STATE_INSUFFICIENT_DATA
REASON_CHANGE = alarm_pb2.ALARM_HISTORY_TYPE_STATE_REASON_CHANGE
INVALID = grpc.StatusCode.INVALID_ARGUMENT


def prometheus_rule(**changes: Any) -> alarm_pb2.PrometheusRule:
    fields = {"query": "avg(test_load)", "comparison_operator": alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, "threshold": 10.0,
              "period": to_duration(1), "evaluation_periods": 2}
    fields.update(changes)
    return alarm_pb2.PrometheusRule(**{k: v for k, v in fields.items() if v is not None})


def threshold_rule() -> alarm_pb2.ThresholdRule:
    return alarm_pb2.ThresholdRule(
        metric="cpu", statistic=common_pb2.STATISTIC_AVERAGE, comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN,
        threshold=1.0, period=to_duration(60),
    )


def create(mesh: Mesh, alarm_id: str = "load", **fields: Any) -> alarm_pb2.Alarm:
    alarm = alarm_pb2.Alarm(**{"prometheus_rule": prometheus_rule(), "alarm_actions": ["policies/scale-out"], **fields})
    return mesh.alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id=alarm_id, alarm=alarm), timeout=5).alarm


def _failure(call: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


@pytest.fixture
def unreachable_url() -> str:
    """The URL of a Prometheus that is not there (a closed port)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def mesh(sqlite_url, unreachable_url) -> Iterator[Mesh]:
    with mesh_with(sqlite_url, prometheus_url=unreachable_url) as mesh:
        yield mesh


# Validation, kinds and updates


@pytest.mark.parametrize(
    ("alarm", "field"),
    [
        (alarm_pb2.Alarm(), "alarm.threshold_rule"),
        (alarm_pb2.Alarm(threshold_rule=threshold_rule(), prometheus_rule=prometheus_rule()), "alarm.prometheus_rule"),
        (alarm_pb2.Alarm(prometheus_rule=prometheus_rule(query="")), "alarm.prometheus_rule.query"),
        (alarm_pb2.Alarm(prometheus_rule=prometheus_rule(query="  ")), "alarm.prometheus_rule.query"),
        (alarm_pb2.Alarm(prometheus_rule=prometheus_rule(query="x" * (MAX_QUERY_LENGTH + 1))), "alarm.prometheus_rule.query"),
        (alarm_pb2.Alarm(prometheus_rule=prometheus_rule(query="up\x00")), "alarm.prometheus_rule.query"),
        (alarm_pb2.Alarm(prometheus_rule=prometheus_rule(query="up\x1b[31m")), "alarm.prometheus_rule.query"),
        (alarm_pb2.Alarm(prometheus_rule=prometheus_rule(comparison_operator=0)), "alarm.prometheus_rule.comparison_operator"),
        (alarm_pb2.Alarm(prometheus_rule=prometheus_rule(threshold=float("inf"))), "alarm.prometheus_rule.threshold"),
        (alarm_pb2.Alarm(prometheus_rule=prometheus_rule(period=None)), "alarm.prometheus_rule.period"),
        (alarm_pb2.Alarm(prometheus_rule=prometheus_rule(period=to_duration(0.5))), "alarm.prometheus_rule.period"),
        (alarm_pb2.Alarm(prometheus_rule=prometheus_rule(period=to_duration(86_401))), "alarm.prometheus_rule.period"),
        (alarm_pb2.Alarm(prometheus_rule=prometheus_rule(evaluation_periods=-1)), "alarm.prometheus_rule.evaluation_periods"),
        (alarm_pb2.Alarm(prometheus_rule=prometheus_rule(evaluation_periods=1441)), "alarm.prometheus_rule.evaluation_periods"),
    ],
)
def test_create_rejects_bad_prometheus_rules_naming_the_field(mesh, alarm, field):
    error = _failure(lambda: mesh.alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id="a", alarm=alarm), timeout=5))
    assert error.code() == INVALID
    assert field in [violation.field for violation in field_violations(error)]


def test_both_rule_kinds_at_once_are_refused_naming_both(mesh):
    alarm = alarm_pb2.Alarm(threshold_rule=threshold_rule(), prometheus_rule=prometheus_rule())
    error = _failure(lambda: mesh.alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id="a", alarm=alarm), timeout=5))
    assert "alarm.prometheus_rule: must not be set with alarm.threshold_rule: an alarm has exactly one rule kind" in error.details()


def test_a_multi_line_query_with_tabs_is_accepted_and_kept_as_written(mesh):
    query = "avg(\n\ttest_load\n)"
    assert create(mesh, prometheus_rule=prometheus_rule(query=query)).prometheus_rule.query == query


def test_a_prometheus_rule_without_prometheus_url_is_a_failed_precondition_naming_the_flag(sqlite_url):
    with mesh_with(sqlite_url) as mesh:
        error = _failure(lambda: create(mesh))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "--prometheus-url" in error.details()
        mesh.create("cpu")  # a threshold alarm still is welcome
        request = alarm_pb2.UpdateAlarmRequest(
            alarm=alarm_pb2.Alarm(name="alarms/cpu", prometheus_rule=prometheus_rule()),
            update_mask=field_mask_pb2.FieldMask(paths=["prometheus_rule"]),
        )
        assert _failure(lambda: mesh.alarms.UpdateAlarm(request, timeout=5)).code() == grpc.StatusCode.FAILED_PRECONDITION


def test_the_rule_is_stored_and_answered_as_created(mesh):
    created = create(mesh, prometheus_rule=prometheus_rule(evaluation_periods=0))
    assert not created.HasField("threshold_rule")
    fetched = mesh.get("load")
    assert fetched.prometheus_rule == prometheus_rule(evaluation_periods=1)  # 0 means 1
    assert fetched.prometheus_rule.period.seconds == 1


def update(mesh: Mesh, paths: list[str], **fields: Any) -> alarm_pb2.Alarm:
    request = alarm_pb2.UpdateAlarmRequest(
        alarm=alarm_pb2.Alarm(name="alarms/load", **fields), update_mask=field_mask_pb2.FieldMask(paths=paths)
    )
    return mesh.alarms.UpdateAlarm(request, timeout=5).alarm


def test_update_changes_one_field_of_the_prometheus_rule(mesh):
    create(mesh)
    updated = update(mesh, ["prometheus_rule.query"], prometheus_rule=alarm_pb2.PrometheusRule(query="max(test_load)"))
    assert updated.prometheus_rule == prometheus_rule(query="max(test_load)")


def test_update_switches_the_rule_kind_both_ways(mesh):
    create(mesh)
    switched = update(mesh, ["threshold_rule"], threshold_rule=threshold_rule())
    assert switched.HasField("threshold_rule") and not switched.HasField("prometheus_rule")
    back = update(mesh, ["prometheus_rule"], prometheus_rule=prometheus_rule(threshold=3))
    assert back.prometheus_rule.threshold == 3 and not back.HasField("threshold_rule")
    assert mesh.notify("cpu", group="web") == 0  # over Prometheus again: it watches no series of ours
    error = _failure(lambda: update(mesh, ["prometheus_rule", "threshold_rule"], threshold_rule=threshold_rule(),
                                    prometheus_rule=prometheus_rule()))
    assert error.code() == INVALID and "exactly one rule kind" in error.details()


# Evaluation


def test_a_prometheus_that_is_down_leaves_the_alarm_in_insufficient_data_saying_why(mesh, unreachable_url):
    create(mesh)
    alarm = wait_for(lambda: (found := mesh.get("load")).state_reason != "Not evaluated yet" and found)
    assert alarm.state == INSUFFICIENT
    assert alarm.state_reason.startswith(f"Prometheus at {unreachable_url} cannot be reached: ")
    entry = mesh.history("load")[0]
    assert (entry.type, entry.state, entry.reason) == (REASON_CHANGE, INSUFFICIENT, alarm.state_reason)
    assert not mesh.policy.requests


@contextmanager
def _hung_prometheus() -> Iterator[tuple[str, threading.Event]]:
    """The URL of a server that accepts connections and never answers, and an event set once it is asked."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    asked, held = threading.Event(), []

    def hold_connections() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:  # closed: the test is over
                return
            asked.set()

    holder = threading.Thread(target=hold_connections, daemon=True)
    holder.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", asked
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        holder.join(timeout=5)
        for connection in held:
            connection.close()


def test_a_hung_prometheus_times_out_and_does_not_hold_up_alarms_over_our_metrics(sqlite_url):
    with _hung_prometheus() as (url, asked), \
            mesh_with(sqlite_url, prometheus_url=url, prometheus_timeout=6.0, alarm_sweep_interval=0.5) as mesh:
        create(mesh)
        mesh.create("cpu")
        assert asked.wait(timeout=10)  # the prometheus alarm's evaluation is under way (and hangs)
        mesh.metrics.values["cpu_util"] = [95.0]
        started = time.monotonic()
        assert mesh.notify() == 1
        wait_for(lambda: mesh.get("cpu").state == ALARM, timeout=5)
        assert time.monotonic() - started < 5  # well before the hung evaluation gives up
        alarm = wait_for(lambda: (found := mesh.get("load")).state_reason != "Not evaluated yet" and found, timeout=20)
        assert alarm.state_reason == f"Prometheus at {url} did not answer within 6s"


@pytest.fixture
def live(sqlite_url, prometheus: PrometheusServer) -> Iterator[tuple[Mesh, PrometheusServer]]:
    with mesh_with(sqlite_url, prometheus_url=prometheus.url, alarm_sweep_interval=0.5) as mesh:
        yield mesh, prometheus


def test_an_alarm_over_prometheus_goes_to_alarm_when_the_value_rises_and_runs_its_policy(live):
    mesh, prometheus = live
    prometheus.exporter.set("test_load", 5, test="rises")
    prometheus.wait_for_value('avg(test_load{test="rises"})', 5)
    create(mesh, prometheus_rule=prometheus_rule(query='avg(test_load{test="rises"})'))
    assert wait_for(lambda: mesh.get("load").state == OK, timeout=10)
    prometheus.exporter.set("test_load", 50, test="rises")
    alarm = wait_for(lambda: (found := mesh.get("load")).state == ALARM and found, timeout=15)
    assert alarm.state_reason == 'avg(test_load{test="rises"}) > 10 in the last 2 periods of 1s: 50, 50 (newest last)'
    assert mesh.policy.called.wait(5)
    assert mesh.policy.requests[0].name == "policies/scale-out"
    assert mesh.policy.requests[0].cause.startswith('alarms/load entered ALARM: avg(test_load{test="rises"}) > 10')


def test_bad_promql_leaves_the_alarm_in_insufficient_data_with_prometheus_s_message(live):
    mesh, _ = live
    create(mesh, prometheus_rule=prometheus_rule(query="avg(test_load"))
    alarm = wait_for(lambda: (found := mesh.get("load")).state_reason != "Not evaluated yet" and found, timeout=10)
    assert alarm.state == INSUFFICIENT
    assert alarm.state_reason.startswith("Prometheus refused the query: bad_data: ")
    assert "parse error" in alarm.state_reason


def test_a_query_of_several_series_must_aggregate_to_one(live):
    mesh, prometheus = live
    prometheus.exporter.set("test_load", 1, test="several", shard="a")
    prometheus.exporter.set("test_load", 2, test="several", shard="b")
    prometheus.wait_for_value('count(test_load{test="several"})', 2)
    create(mesh, prometheus_rule=prometheus_rule(query='test_load{test="several"}'))
    alarm = wait_for(lambda: "series" in (found := mesh.get("load")).state_reason and found, timeout=10)
    assert alarm.state == INSUFFICIENT
    assert alarm.state_reason.startswith("the query returned 2 series (")
    assert alarm.state_reason.endswith("it must aggregate to one series, e.g. wrap it in sum() or avg()")


def test_a_query_that_matches_nothing_has_insufficient_data_as_missing_samples(live):
    mesh, _ = live
    create(mesh, prometheus_rule=prometheus_rule(query='avg(test_load{test="never-served"})'))
    alarm = wait_for(lambda: (found := mesh.get("load")).state_reason != "Not evaluated yet" and found, timeout=10)
    assert alarm.state == INSUFFICIENT
    assert alarm.state_reason == '0 of the 2 periods of 1s needed have datapoints of avg(test_load{test="never-served"})'


# TLS


def test_an_https_prometheus_is_checked_against_the_ca_given(tls_files):
    server = FakePrometheus((tls_files.server_cert, tls_files.server_key))
    try:
        now = time.time()
        rule = PrometheusRule("avg(up)", ComparisonOperator.GREATER_THAN, 5.0, 60.0, 1)
        trusted = PrometheusStore(server.url, ca_file=str(tls_files.ca))
        assert [point.value for point in trusted.datapoints(rule, now - 60, now)] == [1.0]
        distrusted = PrometheusStore(server.url, ca_file=str(tls_files.other_ca))
        with pytest.raises(StoreError) as raised:
            distrusted.datapoints(rule, now - 60, now)
        assert str(raised.value).startswith(f"Prometheus at {server.url} cannot be reached: ")
        assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value)
    finally:
        server.close()


def test_an_answer_too_large_to_judge_is_not_read_whole_and_the_next_query_is_answered():
    server = FakePrometheus()
    try:
        server.answers.append(b'{"status":"success","data":{"resultType":"matrix","result":[' + b" " * (5 * 2**20) + b"]}}")
        store = PrometheusStore(server.url)
        rule = PrometheusRule("{__name__=~'.+'}", ComparisonOperator.GREATER_THAN, 5.0, 60.0, 1)
        now = time.time()
        with pytest.raises(StoreError) as raised:
            store.datapoints(rule, now - 60, now)
        assert str(raised.value) == "Prometheus answered more than 4 MiB: the query must aggregate to one series"
        assert [point.value for point in store.datapoints(rule, now - 60, now)] == [1.0]
    finally:
        server.close()
