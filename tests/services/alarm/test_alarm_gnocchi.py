"""Alarms with a gnocchi_rule through AlarmService: validation, one rule kind, updates, and evaluation against a real
Gnocchi (tests/gnocchi_server.py) holding instances of a server group, one resource and metrics by id."""

from __future__ import annotations

import http.server
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from autoscale.errors import field_violations
from autoscale.timeutil import to_duration
from autoscale.v1 import alarm_pb2, common_pb2
from services.alarm.domain import ComparisonOperator, GnocchiRule
from services.alarm.rules import MAX_QUERY_LENGTH
from services.alarm.stores import StoreError
from services.alarm.stores.gnocchi import GnocchiStore, open_gnocchi
from tests import keystone_server
from tests.gnocchi_server import INSTALL_TIMEOUT, START_TIMEOUT, GnocchiServer
from tests.prometheus_server import free_port
from tests.services.alarm.mesh import Mesh, mesh_with, wait_for

ALARM = alarm_pb2.ALARM_STATE_ALARM
OK = alarm_pb2.ALARM_STATE_OK
INSUFFICIENT = alarm_pb2.ALARM_STATE_INSUFFICIENT_DATA
INVALID = grpc.StatusCode.INVALID_ARGUMENT
WEB = '{"=": {"server_group": "web"}}'
METRIC_ID = "0b9c5c9e-7d57-4a5e-9d0e-0c5c1e0b8c11"


def gnocchi_rule(**changes: Any) -> alarm_pb2.GnocchiRule:
    fields: dict[str, Any] = {
        "metric": "cpu_util", "resource_type": "instance", "resource_query": WEB, "aggregation_method": "mean",
        "comparison_operator": alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, "threshold": 50.0, "period": to_duration(1),
        "evaluation_periods": 2,
    }
    fields.update(changes)
    return alarm_pb2.GnocchiRule(**{k: v for k, v in fields.items() if v is not None})


def by_ids(*ids: str, **changes: Any) -> alarm_pb2.GnocchiRule:
    return gnocchi_rule(**{"metric": "", "resource_type": "", "resource_query": "", "metric_ids": list(ids), **changes})


def threshold_rule() -> alarm_pb2.ThresholdRule:
    return alarm_pb2.ThresholdRule(
        metric="cpu", statistic=common_pb2.STATISTIC_AVERAGE, comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN,
        threshold=1.0, period=to_duration(60),
    )


def create(mesh: Mesh, alarm_id: str = "web-cpu", **fields: Any) -> alarm_pb2.Alarm:
    alarm = alarm_pb2.Alarm(**{"gnocchi_rule": gnocchi_rule(), "alarm_actions": ["policies/scale-out"], **fields})
    return mesh.alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id=alarm_id, alarm=alarm), timeout=5).alarm


def update(mesh: Mesh, paths: list[str], alarm_id: str = "web-cpu", **fields: Any) -> alarm_pb2.Alarm:
    request = alarm_pb2.UpdateAlarmRequest(
        alarm=alarm_pb2.Alarm(name=f"alarms/{alarm_id}", **fields), update_mask=field_mask_pb2.FieldMask(paths=paths)
    )
    return mesh.alarms.UpdateAlarm(request, timeout=5).alarm


def _failure(call: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def evaluated(mesh: Mesh, alarm_id: str = "web-cpu", timeout: float = 10) -> alarm_pb2.Alarm:
    found: alarm_pb2.Alarm = wait_for(
        lambda: (alarm := mesh.get(alarm_id)).state_reason != "Not evaluated yet" and alarm, timeout=timeout
    )
    return found


@pytest.fixture
def unreachable_url() -> str:
    """The URL of a Gnocchi that is not there (a closed port)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def mesh(sqlite_url, unreachable_url) -> Iterator[Mesh]:
    with mesh_with(sqlite_url, gnocchi_url=unreachable_url) as mesh:
        yield mesh


# Validation, kinds and updates


@pytest.mark.parametrize(
    ("rule", "fields"),
    [
        (gnocchi_rule(resource_query=""), ["alarm.gnocchi_rule.resource_id"]),
        (gnocchi_rule(resource_id="r1"), ["alarm.gnocchi_rule.resource_query"]),
        (gnocchi_rule(resource_id="r1", metric_ids=[METRIC_ID]), ["alarm.gnocchi_rule.resource_query", "alarm.gnocchi_rule.metric_ids"]),
        (gnocchi_rule(metric=""), ["alarm.gnocchi_rule.metric"]),
        (gnocchi_rule(metric="a/b"), ["alarm.gnocchi_rule.metric"]),
        (gnocchi_rule(metric="x" * 256), ["alarm.gnocchi_rule.metric"]),
        (gnocchi_rule(resource_type=""), ["alarm.gnocchi_rule.resource_type"]),
        (gnocchi_rule(resource_type="in stance"), ["alarm.gnocchi_rule.resource_type"]),
        (gnocchi_rule(resource_query="{"), ["alarm.gnocchi_rule.resource_query"]),
        (gnocchi_rule(resource_query='["server_group"]'), ["alarm.gnocchi_rule.resource_query"]),
        (gnocchi_rule(resource_query="{}"), ["alarm.gnocchi_rule.resource_query"]),
        (gnocchi_rule(resource_query='{"=": {"a": "' + "x" * MAX_QUERY_LENGTH + '"}}'), ["alarm.gnocchi_rule.resource_query"]),
        (gnocchi_rule(resource_query="", resource_id="a/b"), ["alarm.gnocchi_rule.resource_id"]),
        (gnocchi_rule(resource_query="", resource_id="x" * 256), ["alarm.gnocchi_rule.resource_id"]),
        (by_ids(METRIC_ID, metric="cpu_util"), ["alarm.gnocchi_rule.metric"]),
        (by_ids(METRIC_ID, resource_type="instance"), ["alarm.gnocchi_rule.resource_type"]),
        (by_ids("not-a-uuid"), ["alarm.gnocchi_rule.metric_ids[0]"]),
        (by_ids(METRIC_ID, METRIC_ID.upper()), ["alarm.gnocchi_rule.metric_ids[1]"]),
        (by_ids(*(str(uuid.uuid4()) for _ in range(11))), ["alarm.gnocchi_rule.metric_ids"]),
        (gnocchi_rule(aggregation_method=""), ["alarm.gnocchi_rule.aggregation_method"]),
        (gnocchi_rule(aggregation_method="average"), ["alarm.gnocchi_rule.aggregation_method"]),
        (gnocchi_rule(aggregation_method="100pct"), ["alarm.gnocchi_rule.aggregation_method"]),
        (gnocchi_rule(aggregation_method="95pct"), ["alarm.gnocchi_rule.aggregation_method"]),  # not across resources
        (by_ids(METRIC_ID, aggregation_method="last"), ["alarm.gnocchi_rule.aggregation_method"]),
        (gnocchi_rule(comparison_operator=0), ["alarm.gnocchi_rule.comparison_operator"]),
        (gnocchi_rule(threshold=float("nan")), ["alarm.gnocchi_rule.threshold"]),
        (gnocchi_rule(period=None), ["alarm.gnocchi_rule.period"]),
        (gnocchi_rule(period=to_duration(1.5)), ["alarm.gnocchi_rule.period"]),
        (gnocchi_rule(period=to_duration(86_401)), ["alarm.gnocchi_rule.period"]),
        (gnocchi_rule(evaluation_periods=1441), ["alarm.gnocchi_rule.evaluation_periods"]),
    ],
)
def test_create_rejects_bad_gnocchi_rules_naming_each_field(mesh, rule, fields):
    alarm = alarm_pb2.Alarm(gnocchi_rule=rule)
    error = _failure(lambda: mesh.alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id="a", alarm=alarm), timeout=5))
    assert error.code() == INVALID
    assert [violation.field for violation in field_violations(error)] == fields


@pytest.mark.parametrize(
    "rule",
    [
        gnocchi_rule(),
        gnocchi_rule(resource_query="", resource_id="6ba82ee1-c4fd-4027-a34c-f8a419b49c68", aggregation_method="95pct"),
        gnocchi_rule(aggregation_method="rate:max", period=to_duration(300), evaluation_periods=0),
        by_ids(METRIC_ID, str(uuid.uuid4()), aggregation_method="max"),
    ],
    ids=["resource_query", "resource_id", "rate", "metric_ids"],
)
def test_each_target_is_stored_and_answered_as_created(mesh, rule):
    created = create(mesh, gnocchi_rule=rule)
    assert not created.HasField("threshold_rule") and not created.HasField("prometheus_rule")
    expected = alarm_pb2.GnocchiRule()
    expected.CopyFrom(rule)
    expected.evaluation_periods = rule.evaluation_periods or 1  # 0 means 1
    assert mesh.get("web-cpu").gnocchi_rule == expected


def test_rule_kinds_are_exclusive_naming_each_extra_one(mesh):
    alarm = alarm_pb2.Alarm(threshold_rule=threshold_rule(), prometheus_rule=alarm_pb2.PrometheusRule(query="up"),
                            gnocchi_rule=gnocchi_rule())
    error = _failure(lambda: mesh.alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id="a", alarm=alarm), timeout=5))
    assert [violation.field for violation in field_violations(error)] == ["alarm.prometheus_rule", "alarm.gnocchi_rule"]
    assert "alarm.gnocchi_rule: must not be set with alarm.threshold_rule: an alarm has exactly one rule kind" in error.details()


def test_a_gnocchi_rule_without_gnocchi_url_is_a_failed_precondition_naming_the_flag(sqlite_url):
    with mesh_with(sqlite_url) as mesh:
        error = _failure(lambda: create(mesh))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "--gnocchi-url" in error.details()


def test_update_changes_one_field_of_the_gnocchi_rule_and_switches_kinds(mesh):
    create(mesh)
    changed = update(mesh, ["gnocchi_rule.resource_query"], gnocchi_rule=alarm_pb2.GnocchiRule(resource_query='{"=": {"a": 1}}'))
    assert changed.gnocchi_rule == gnocchi_rule(resource_query='{"=": {"a": 1}}')
    switched = update(mesh, ["threshold_rule"], threshold_rule=threshold_rule())
    assert switched.HasField("threshold_rule") and not switched.HasField("gnocchi_rule")
    back = update(mesh, ["gnocchi_rule"], gnocchi_rule=by_ids(METRIC_ID))
    assert back.gnocchi_rule == by_ids(METRIC_ID) and not back.HasField("threshold_rule")
    error = _failure(lambda: update(mesh, ["gnocchi_rule.metric"], gnocchi_rule=alarm_pb2.GnocchiRule(metric="cpu_util")))
    assert [violation.field for violation in field_violations(error)] == ["alarm.gnocchi_rule.metric"]


# Evaluation


def test_a_gnocchi_that_is_down_leaves_the_alarm_in_insufficient_data_saying_why(mesh, unreachable_url):
    create(mesh)
    alarm = evaluated(mesh)
    assert alarm.state == INSUFFICIENT
    assert alarm.state_reason.startswith(f"Gnocchi at {unreachable_url} cannot be reached: ")
    assert not mesh.policy.requests


def test_a_hung_gnocchi_times_out():
    with _silent_listener() as port:
        url = f"http://127.0.0.1:{port}"
        store = GnocchiStore(url, timeout=0.5)
        rule = GnocchiRule("cpu_util", "instance", "r1", "", (), "mean", ComparisonOperator.GREATER_THAN, 1.0, 60.0, 1)
        with pytest.raises(StoreError) as raised:
            store.datapoints(rule, time.time() - 60, time.time())
        assert (str(raised.value), raised.value.timed_out) == (f"Gnocchi at {url} did not answer within 0.5s", True)


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with the next of `answers` (an empty list of measures when none is left) and records its
    path and headers."""

    seen: list[tuple[str, dict[str, str]]] = []
    answers: list[bytes] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).seen.append((self.path, dict(self.headers)))
        body = type(self).answers.pop(0) if type(self).answers else b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _silent_listener:  # noqa: N801 (a context manager read as a phrase)
    """A port that accepts connections and never answers."""

    def __enter__(self) -> int:
        import socket

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)
        port: int = self._socket.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        self._socket.close()


@pytest.fixture
def recorder() -> Iterator[str]:
    """The URL of a local HTTP server of _Recorder's."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    _Recorder.answers.clear()
    server.shutdown()
    server.server_close()


def test_an_https_gnocchi_is_checked_against_the_ca_given(tls_files):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_files.server_cert, tls_files.server_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    rule = GnocchiRule("cpu_util", "instance", "r1", "", (), "mean", ComparisonOperator.GREATER_THAN, 1.0, 60.0, 1)
    try:
        assert GnocchiStore(url, ca_file=str(tls_files.ca)).datapoints(rule, time.time() - 60, time.time()) == []
        with pytest.raises(StoreError) as raised:
            GnocchiStore(url, ca_file=str(tls_files.other_ca)).datapoints(rule, time.time() - 60, time.time())
        assert str(raised.value).startswith(f"Gnocchi at {url} cannot be reached: ")
        assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value)
    finally:
        server.shutdown()
        server.server_close()


def test_an_answer_too_large_is_not_read_whole_and_the_next_request_is_answered(recorder):
    _Recorder.answers.append(b"[" + b" " * (5 * 2**20) + b"]")
    store = GnocchiStore(recorder)
    rule = GnocchiRule("cpu_util", "instance", "r1", "", (), "mean", ComparisonOperator.GREATER_THAN, 1.0, 60.0, 1)
    with pytest.raises(StoreError) as raised:
        store.datapoints(rule, time.time() - 60, time.time())
    assert str(raised.value) == "Gnocchi answered more than 4 MiB"
    assert store.datapoints(rule, time.time() - 60, time.time()) == []


def test_a_clouds_yaml_cloud_authenticates_with_its_token_and_its_catalog_names_gnocchi(tmp_path: Path, monkeypatch, recorder):
    endpoint = recorder
    clouds = tmp_path / "clouds.yaml"
    # keystoneauth's admin_token plug-in: a fixed token and a fixed endpoint for every service, the catalog's stand-in.
    clouds.write_text(
        "clouds:\n  metering:\n    auth_type: admin_token\n"
        f"    auth:\n      token: the-cloud-s-token\n      endpoint: {endpoint}\n"
    )
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    for name in ("OS_CLOUD", "OS_AUTH_URL", "OS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    store = open_gnocchi("", "metering", timeout=5.0, ca_file="", connections=1)
    rule = GnocchiRule("cpu_util", "instance", "r1", "", (), "mean", ComparisonOperator.GREATER_THAN, 1.0, 60.0, 1)
    assert store.datapoints(rule, time.time() - 60, time.time()) == []
    path, headers = _Recorder.seen[-1]
    assert path.startswith("/v1/resource/instance/r1/metric/cpu_util/measures?")
    assert headers["X-Auth-Token"] == "the-cloud-s-token"
    assert "Authorization" not in headers
    store.close()


# Against a real Gnocchi



def _post_around_now(gnocchi: GnocchiServer, metric_id: str, value: float, seconds: int = 40) -> None:
    """`value` each second from 5 s ago to `seconds` ahead (Gnocchi takes measures of the future): the evaluations of the
    next `seconds` find their periods full."""
    now = datetime.now(UTC).replace(microsecond=0)
    gnocchi.post_measures(metric_id, [(now + timedelta(seconds=offset), value) for offset in range(-5, seconds)])


@pytest.fixture
def live(sqlite_url, gnocchi: GnocchiServer) -> Iterator[tuple[Mesh, GnocchiServer]]:
    url = gnocchi.url.replace("http://", "http://autoscale@")
    with mesh_with(sqlite_url, gnocchi_url=url, alarm_sweep_interval=0.5) as mesh:
        yield mesh, gnocchi


@pytest.mark.postgres
@pytest.mark.timeout(INSTALL_TIMEOUT + 2 * START_TIMEOUT)
def test_the_instances_of_a_server_group_over_the_threshold_put_the_alarm_in_alarm_and_run_its_policy(live):
    mesh, gnocchi = live
    group = f"web-{uuid.uuid4()}"
    first = gnocchi.create_resource({"server_group": group}, metrics=["cpu_util"])
    second = gnocchi.create_resource({"server_group": group}, metrics=["cpu_util"])
    _post_around_now(gnocchi, first["metrics"]["cpu_util"], 80.0)
    _post_around_now(gnocchi, second["metrics"]["cpu_util"], 60.0)
    gnocchi.await_processed()
    create(mesh, gnocchi_rule=gnocchi_rule(resource_query=f'{{"=": {{"server_group": "{group}"}}}}'))
    alarm = wait_for(lambda: (found := mesh.get("web-cpu")).state == ALARM and found, timeout=15)
    assert alarm.state_reason == (
        f'mean(cpu_util of instance {{"=": {{"server_group": "{group}"}}}}) > 50 in the last 2 periods of 1s: 70, 70 (newest last)'
    )
    assert mesh.policy.called.wait(5)
    assert mesh.policy.requests[0].name == "policies/scale-out"


@pytest.mark.postgres
@pytest.mark.timeout(INSTALL_TIMEOUT + 2 * START_TIMEOUT)
def test_one_resource_and_metrics_by_id_are_read_as_aodh_reads_them(live):
    mesh, gnocchi = live
    resource = gnocchi.create_resource({"server_group": f"db-{uuid.uuid4()}"}, metrics=["cpu_util"])
    other = gnocchi.create_resource({"server_group": f"db-{uuid.uuid4()}"}, metrics=["cpu_util"])
    _post_around_now(gnocchi, resource["metrics"]["cpu_util"], 20.0)
    _post_around_now(gnocchi, other["metrics"]["cpu_util"], 90.0)
    gnocchi.await_processed()
    create(mesh, "one", gnocchi_rule=gnocchi_rule(resource_query="", resource_id=resource["id"]))
    create(mesh, "ids", gnocchi_rule=by_ids(resource["metrics"]["cpu_util"], other["metrics"]["cpu_util"], aggregation_method="max"))
    assert wait_for(lambda: (found := mesh.get("one")).state == OK and found, timeout=15).state_reason.endswith(": 20, 20 (newest last)")
    assert wait_for(lambda: (found := mesh.get("ids")).state == ALARM and found, timeout=15).state_reason.endswith(": 90, 90 (newest last)")


@pytest.mark.postgres
@pytest.mark.timeout(INSTALL_TIMEOUT + 2 * START_TIMEOUT)
def test_what_gnocchi_refuses_or_lacks_leaves_the_alarm_in_insufficient_data_saying_why(live):
    mesh, gnocchi = live
    group = f"web-{uuid.uuid4()}"
    resource = gnocchi.create_resource({"server_group": group}, metrics=["cpu_util"])
    create(mesh, "minute", gnocchi_rule=gnocchi_rule(resource_query=f'{{"=": {{"server_group": "{group}"}}}}', period=to_duration(60)))
    create(mesh, "nobody", gnocchi_rule=gnocchi_rule(resource_query=f'{{"=": {{"server_group": "{uuid.uuid4()}"}}}}'))
    create(mesh, "no-such-method", gnocchi_rule=gnocchi_rule(resource_query="", resource_id=resource["id"], aggregation_method="95pct"))
    assert evaluated(mesh, "minute").state_reason == (
        'Gnocchi refused the request (HTTP 400): Metrics cannot be aggregated: Granularities are missing '
        '([["cpu_util", "mean", 60.0]])'
    )
    nobody = evaluated(mesh, "nobody")
    assert nobody.state == INSUFFICIENT
    assert nobody.state_reason.startswith("0 of the 2 periods of 1s needed have datapoints of mean(cpu_util of instance ")
    assert evaluated(mesh, "no-such-method").state_reason.startswith(
        "Gnocchi refused the request (HTTP 404): Aggregation method does not exist for this metric"
    )


@pytest.mark.timeout(keystone_server.INSTALL_TIMEOUT + 2 * keystone_server.START_TIMEOUT)
def test_a_clouds_yaml_cloud_of_a_real_keystone_sends_that_user_s_token(tmp_path: Path, monkeypatch, recorder, keystone):
    for name in ("OS_CLOUD", "OS_AUTH_URL", "OS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    reader = keystone.users["p1-reader"]
    (tmp_path / "clouds.yaml").write_text(
        "clouds:\n  metering:\n    identity_api_version: 3\n    auth:\n"
        f"      auth_url: {keystone.url}\n      username: {reader.name}\n      password: {reader.password}\n"
        "      project_name: p1\n      user_domain_id: default\n      project_domain_id: default\n"
    )
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "clouds.yaml"))
    store = open_gnocchi(recorder, "metering", timeout=5.0, ca_file="", connections=1)
    rule = GnocchiRule("cpu_util", "instance", "r1", "", (), "mean", ComparisonOperator.GREATER_THAN, 1.0, 60.0, 1)
    assert store.datapoints(rule, time.time() - 60, time.time()) == []
    token = _Recorder.seen[-1][1]["X-Auth-Token"]
    validated = keystone.validate(token)
    assert (validated["user"]["name"], validated["project"]["name"]) == ("p1-reader", "p1")
    store.close()
