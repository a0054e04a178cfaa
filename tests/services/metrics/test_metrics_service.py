"""MetricsService and BatchStatisticsService over a real in-process server, with a fake alarm service in the same server and a
clock moved by hand.

Auth is off in these servers: a call acts in the project its `x-autoscale-project` metadata names, else in "default".
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf import duration_pb2, timestamp_pb2

from autoscale.config import Settings
from autoscale.database import Database
from autoscale.errors import field_violations
from autoscale.identity.interceptor import PROJECT_METADATA
from autoscale.internal.v1 import batch_statistics_pb2, batch_statistics_pb2_grpc
from autoscale.v1 import common_pb2, metrics_pb2, metrics_pb2_grpc
from services.metrics.models import ingest_log
from services.metrics.server import build
from tests.services.metrics.fake_alarm import FakeAlarmService
from tests.support import FakeClock, running_server

AVERAGE = common_pb2.STATISTIC_AVERAGE
SAMPLE_COUNT = common_pb2.STATISTIC_SAMPLE_COUNT
INVALID = grpc.StatusCode.INVALID_ARGUMENT
MINUTE = duration_pb2.Duration(seconds=60)


@dataclass
class Mesh:
    """The metrics service under test, the fake alarm service beside it, and their clock."""

    metrics: Any
    batch: Any
    alarm: FakeAlarmService | None
    clock: FakeClock
    channel: grpc.Channel

    @classmethod
    def over(cls, channel: grpc.Channel, clock: FakeClock, alarm: FakeAlarmService | None = None) -> Mesh:
        """The stubs of the server `channel` leads to."""
        metrics, batch = metrics_pb2_grpc.MetricsServiceStub(channel), batch_statistics_pb2_grpc.BatchStatisticsServiceStub(channel)
        return cls(metrics, batch, alarm, clock, channel)

    def put(self, *series: metrics_pb2.TimeSeries, project: str | None = None) -> int:
        request = metrics_pb2.PutSamplesRequest(series=series)
        return self.metrics.PutSamples(request, metadata=_acting_in(project), timeout=5).accepted_points

    def statistics(self, project: str | None = None, **fields) -> list[tuple[float, float, int]]:  # type: ignore[no-untyped-def]
        fields = {"metric": "cpu", "statistic": AVERAGE, "period": MINUTE, **fields}
        response = self.metrics.GetStatistics(metrics_pb2.GetStatisticsRequest(**fields), metadata=_acting_in(project), timeout=5)
        return _datapoints(response)

    def listed(self, project: str | None = None) -> list[tuple[str, dict[str, str]]]:
        response = self.metrics.ListMetrics(metrics_pb2.ListMetricsRequest(), metadata=_acting_in(project), timeout=5)
        return [(m.metric, dict(m.dimensions)) for m in response.metrics]


def _acting_in(project: str | None) -> tuple[tuple[str, str], ...]:
    """The metadata of a call acting in `project` (None: no project named, so the server's default one)."""
    return () if project is None else ((PROJECT_METADATA, project),)


def _datapoints(response: metrics_pb2.GetStatisticsResponse) -> list[tuple[float, float, int]]:
    return [(d.start_time.seconds + d.start_time.nanos / 1e9, d.value, d.sample_count) for d in response.datapoints]


def _at(seconds: float) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=int(seconds), nanos=int(round((seconds % 1) * 1e9)))


def _series(metric: str = "cpu", dimensions: dict[str, str] | None = None, *points: tuple[float, float | None]) -> metrics_pb2.TimeSeries:
    """A series; a point is (value, time), time None for unset."""
    return metrics_pb2.TimeSeries(
        metric=metric,
        dimensions=dimensions or {},
        points=[metrics_pb2.Point(value=value) if at is None else metrics_pb2.Point(value=value, time=_at(at)) for value, at in points],
    )


@pytest.fixture
def mesh(sqlite_url) -> Iterator[Mesh]:
    clock = FakeClock()
    alarm = FakeAlarmService()
    settings = Settings(database_url=sqlite_url)
    with running_server([("metrics", build), ("alarm", alarm.registration)], settings, clock=clock) as (_, channel):
        yield Mesh.over(channel, clock, alarm)


def _failure(method, request) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    """The error of an RPC that must fail."""
    with pytest.raises(grpc.RpcError) as raised:
        method(request, timeout=5)
    return raised.value


def test_samples_put_are_answered_as_statistics_per_period(mesh):
    base = 1_699_999_980.0  # a multiple of 60
    web = {"group": "web", "instance": "i-1"}
    accepted = mesh.put(
        _series("cpu", web, (10.0, base + 1), (30.0, base + 50), (70.0, base + 61)),
        _series("cpu", {"group": "web", "instance": "i-2"}, (50.0, base + 2)),
        _series("cpu", {"group": "api", "instance": "i-3"}, (99.0, base + 3)),
    )
    assert accepted == 5
    window = {"start_time": _at(base), "end_time": _at(base + 120)}
    assert mesh.statistics(dimensions={"group": "web"}, **window) == [(base, 30.0, 3), (base + 60, 70.0, 1)]
    assert mesh.statistics(statistic=SAMPLE_COUNT, **window) == [(base, 4.0, 4), (base + 60, 1.0, 1)]
    assert mesh.statistics(dimensions=web, statistic=common_pb2.STATISTIC_MAXIMUM, **window) == [(base, 30.0, 2), (base + 60, 70.0, 1)]
    # An unknown metric has no datapoints, as CloudWatch answers.
    assert mesh.statistics(metric="unknown", **window) == []


def test_a_point_without_a_time_is_stored_at_the_servers_time(mesh):
    mesh.clock.now = 1_700_000_030.0
    mesh.put(_series("cpu", {"group": "web"}, (42.0, None)))
    # The default window is the day before now; the point lies in the minute that began 50 s before it.
    mesh.clock.advance(5)
    assert mesh.statistics() == [(1_699_999_980.0, 42.0, 1)]
    listed = mesh.metrics.ListMetrics(metrics_pb2.ListMetricsRequest(), timeout=5).metrics
    assert [(m.metric, dict(m.dimensions), m.last_point_time.seconds) for m in listed] == [("cpu", {"group": "web"}, 1_700_000_030)]


def test_metrics_are_listed_by_metric_then_dimensions_and_paged(mesh):
    mesh.put(
        _series("memory", {}, (1.0, None)),
        _series("cpu", {"group": "web"}, (1.0, None)),
        _series("cpu", {"group": "api"}, (1.0, None)),
    )
    first = mesh.metrics.ListMetrics(metrics_pb2.ListMetricsRequest(page_size=2), timeout=5)
    second = mesh.metrics.ListMetrics(metrics_pb2.ListMetricsRequest(page_size=2, page_token=first.next_page_token), timeout=5)
    names = [(m.metric, dict(m.dimensions)) for m in (*first.metrics, *second.metrics)]
    assert names == [("cpu", {"group": "api"}), ("cpu", {"group": "web"}), ("memory", {})]
    assert second.next_page_token == ""
    only_cpu = mesh.metrics.ListMetrics(metrics_pb2.ListMetricsRequest(metric="cpu"), timeout=5).metrics
    assert [dict(m.dimensions) for m in only_cpu] == [{"group": "api"}, {"group": "web"}]


@pytest.mark.parametrize(
    ("request_message", "fields"),
    [
        (metrics_pb2.PutSamplesRequest(), ["series"]),
        (metrics_pb2.PutSamplesRequest(series=[_series("cpu", {}, (math.nan, None))]), ["series[0].points[0].value"]),
        (metrics_pb2.PutSamplesRequest(series=[_series("", {"": "x"})]), ["series[0].metric", "series[0].dimensions", "series[0].points"]),
    ],
)
def test_put_samples_rejects_bad_batches_naming_every_field(mesh, request_message, fields):
    error = _failure(mesh.metrics.PutSamples, request_message)
    assert error.code() == INVALID
    assert [v.field for v in field_violations(error)] == fields


def test_bytes_that_are_no_put_samples_request_are_rejected_as_invalid_not_as_a_server_error(mesh):
    put_bytes = mesh.channel.unary_unary("/autoscale.v1.MetricsService/PutSamples", request_serializer=None, response_deserializer=None)
    error = _failure(put_bytes, b"\x0a\x7f\x0a\x03cpu")  # a series longer than the request
    assert error.code() == INVALID
    assert [v.field for v in field_violations(error)] == ["request"]


def test_a_request_in_a_non_canonical_encoding_is_read_as_protobuf_reads_it(mesh):
    # The same field twice: protobuf keeps the last.
    series = _series("cpu", {}, (1.0, None)).SerializeToString() + _series("mem", {}).SerializeToString()[:5]
    payload = b"\x0a" + bytes([len(series)]) + series
    assert metrics_pb2.PutSamplesRequest.FromString(payload).series[0].metric == "mem"
    put_bytes = mesh.channel.unary_unary("/autoscale.v1.MetricsService/PutSamples", request_serializer=None, response_deserializer=None)
    put_bytes(payload, timeout=5)
    assert [m.metric for m in mesh.metrics.ListMetrics(metrics_pb2.ListMetricsRequest(), timeout=5).metrics] == ["mem"]


def test_a_rejected_batch_stores_nothing(mesh):
    _failure(mesh.metrics.PutSamples, metrics_pb2.PutSamplesRequest(series=[
        _series("cpu", {}, (1.0, None)), _series("cpu", {}, (math.inf, None)),
    ]))
    assert mesh.metrics.ListMetrics(metrics_pb2.ListMetricsRequest(), timeout=5).metrics == []


@pytest.mark.parametrize(
    ("fields", "violations"),
    [
        ({"metric": "cpu", "statistic": AVERAGE}, ["period"]),
        ({"metric": "", "statistic": 0, "period": MINUTE}, ["metric", "statistic"]),
        ({"metric": "cpu", "statistic": AVERAGE, "period": MINUTE, "start_time": _at(200), "end_time": _at(100)}, ["start_time"]),
        ({"metric": "cpu", "statistic": AVERAGE, "period": duration_pb2.Duration(nanos=1_000_000)}, ["period"]),
    ],
)
def test_get_statistics_rejects_bad_queries_naming_the_field(mesh, fields, violations):
    error = _failure(mesh.metrics.GetStatistics, metrics_pb2.GetStatisticsRequest(**fields))
    assert error.code() == INVALID
    assert [v.field for v in field_violations(error)] == violations


def _batch_request(*queries: dict[str, Any]) -> batch_statistics_pb2.BatchGetStatisticsRequest:
    """A BatchGetStatisticsRequest of queries given as GetStatistics fields (times in seconds)."""
    request = batch_statistics_pb2.BatchGetStatisticsRequest()
    for query in queries:
        dimensions = query.get("dimensions", {})
        request.metrics.append(query["metric"])
        request.dimension_counts.append(len(dimensions))
        request.dimension_names.extend(dimensions)
        request.dimension_values.extend(dimensions.values())
        request.statistics.append(query["statistic"])
        request.periods.append(query.get("period", 60.0))
        request.start_times.append(query["start"])
        request.end_times.append(query["end"])
    return request


def _answers(response: batch_statistics_pb2.BatchGetStatisticsResponse) -> list[list[tuple[float, float, int]]]:
    points = list(zip(response.start_times, response.values, response.sample_counts, strict=True))
    answers, offset = [], 0
    for count in response.datapoint_counts:
        answers.append(points[offset : offset + count])
        offset += count
    return answers


def test_batch_get_statistics_answers_each_query_as_get_statistics_would_in_order(mesh):
    base = 1_699_999_980.0
    mesh.put(
        _series("cpu", {"group": "web", "instance": "i-1"}, (10.0, base + 1), (70.0, base + 61)),
        _series("cpu", {"group": "web", "instance": "i-2"}, (50.0, base + 2)),
        _series("cpu", {"group": "api", "instance": "i-3"}, (99.0, base + 3)),
        _series("mem", {"group": "web"}, (5.0, base + 4)),
    )
    queries = [
        {"metric": "cpu", "statistic": AVERAGE, "dimensions": {"group": "web"}},
        {"metric": "cpu", "statistic": common_pb2.STATISTIC_MAXIMUM, "dimensions": {"instance": "i-3"}},
        {"metric": "mem", "statistic": SAMPLE_COUNT},
        {"metric": "cpu", "statistic": common_pb2.STATISTIC_SUM},
        {"metric": "cpu", "statistic": AVERAGE, "dimensions": {"group": "db"}},
    ]
    request = _batch_request(*[{**q, "start": base, "end": base + 120} for q in queries])
    answers = _answers(mesh.batch.BatchGetStatistics(request, timeout=5))
    window = {"start_time": _at(base), "end_time": _at(base + 120), "period": MINUTE}
    assert answers == [mesh.statistics(**q, **window) for q in queries]
    assert [[value for _, value, _ in answer] for answer in answers][:2] == [[30.0, 70.0], [99.0]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"metric": "", "statistic": AVERAGE}, "queries[1].metric"),
        ({"metric": "cpu", "statistic": 0}, "queries[1].statistic"),
        ({"metric": "cpu", "statistic": AVERAGE, "period": 0.0}, "queries[1].period"),
        ({"metric": "cpu", "statistic": AVERAGE, "period": math.nan}, "queries[1].period"),
        ({"metric": "cpu", "statistic": AVERAGE, "start": 200.0}, "queries[1].start_time"),
        ({"metric": "cpu", "statistic": AVERAGE, "end": math.inf}, "queries[1].end_time"),
        ({"metric": "cpu", "statistic": AVERAGE, "period": 1e-6, "end": 1e9}, "queries[1].period"),
        ({"metric": "cpu", "statistic": AVERAGE, "period": 1e12}, "queries[1].period"),
        ({"metric": "cpu", "statistic": AVERAGE, "end": 1e15}, "queries[1].end_time"),
    ],
)
def test_batch_get_statistics_names_the_bad_query_and_the_rule(mesh, query, field):
    good = {"metric": "cpu", "statistic": AVERAGE, "start": 0.0, "end": 120.0}
    error = _failure(mesh.batch.BatchGetStatistics, _batch_request(good, {**good, **query}))
    assert error.code() == INVALID
    assert [v.field for v in field_violations(error)] == [field]


def test_batch_get_statistics_refuses_columns_of_different_lengths(mesh):
    request = _batch_request({"metric": "cpu", "statistic": AVERAGE, "start": 0.0, "end": 120.0})
    request.periods.append(60.0)
    request.dimension_names.append("group")
    error = _failure(mesh.batch.BatchGetStatistics, request)
    assert error.code() == INVALID
    assert [v.field for v in field_violations(error)] == ["periods", "dimension_names"]


@pytest.mark.parametrize(("page_size", "page_token", "field"), [(-1, "", "page_size"), (0, "not a token", "page_token")])
def test_list_metrics_rejects_bad_pages(mesh, page_size, page_token, field):
    error = _failure(mesh.metrics.ListMetrics, metrics_pb2.ListMetricsRequest(page_size=page_size, page_token=page_token))
    assert error.code() == INVALID
    assert [v.field for v in field_violations(error)] == [field]


def test_a_page_token_of_another_list_method_is_rejected(mesh):
    from autoscale.pagination import paginate

    _, foreign_token = paginate(["a", "b"], 1, lambda item: item)
    error = _failure(mesh.metrics.ListMetrics, metrics_pb2.ListMetricsRequest(page_token=foreign_token))
    assert [v.field for v in field_violations(error)] == ["page_token"]


def test_the_alarm_service_is_notified_of_the_series_that_received_points_with_their_lowest_and_highest_value(mesh):
    mesh.put(
        _series("cpu", {"group": "web", "instance": "i-1"}, (1.0, None), (7.0, None), (2.0, None)),
        _series("memory", {}, (3.0, None)),
    )
    assert mesh.alarm.notified_ranges(2, timeout=5) == {
        ("cpu", (("group", "web"), ("instance", "i-1"))): (1.0, 7.0),
        ("memory", ()): (3.0, 3.0),
    }


def test_put_samples_succeeds_while_the_alarm_service_fails(mesh):
    mesh.alarm.failure = grpc.StatusCode.INTERNAL
    assert mesh.put(_series("cpu", {}, (1.0, None))) == 1
    assert mesh.alarm.wait_for_attempts(1) >= 1
    # The failure was logged and forgotten: the next samples are notified as usual.
    mesh.alarm.failure = None
    mesh.put(_series("memory", {}, (1.0, None)))
    assert mesh.alarm.notified_series(1, timeout=5) == {("memory", ())}


def test_without_an_alarm_service_put_samples_works_and_notifies_nobody(sqlite_url):
    with running_server([("metrics", build)], Settings(database_url=sqlite_url)) as (_, channel):
        stub = metrics_pb2_grpc.MetricsServiceStub(channel)
        response = stub.PutSamples(metrics_pb2.PutSamplesRequest(series=[_series("cpu", {}, (1.0, None))]), timeout=5)
        assert response.accepted_points == 1


def test_points_older_than_the_retention_are_deleted_in_the_background(sqlite_url):
    clock = FakeClock()
    settings = Settings(database_url=sqlite_url, metrics_retention=3600.0, metrics_prune_interval=0.05, metrics_compaction_interval=0.05)
    with running_server([("metrics", build)], settings, clock=clock) as (_, channel):
        stub = metrics_pb2_grpc.MetricsServiceStub(channel)
        old, recent = clock.now - 7200, clock.now - 60
        stub.PutSamples(metrics_pb2.PutSamplesRequest(series=[_series("cpu", {}, (1.0, old), (2.0, recent))]), timeout=5)
        request = metrics_pb2.GetStatisticsRequest(
            metric="cpu", statistic=SAMPLE_COUNT, period=duration_pb2.Duration(seconds=86400), start_time=_at(0), end_time=_at(clock.now)
        )
        deadline = time.monotonic() + 5
        while stub.GetStatistics(request, timeout=5).datapoints[0].sample_count != 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [d.sample_count for d in stub.GetStatistics(request, timeout=5).datapoints] == [1]



def test_new_series_beyond_the_projects_limit_are_refused_naming_the_flag_while_known_ones_still_report(sqlite_url):
    with running_server([("metrics", build)], Settings(database_url=sqlite_url, metrics_max_series=2)) as (_, channel):
        stub = metrics_pb2_grpc.MetricsServiceStub(channel)
        put = stub.PutSamples
        put(metrics_pb2.PutSamplesRequest(series=[_series("cpu", {"host": "a"}, (1.0, None)), _series("cpu", {"host": "b"}, (1.0, None))]))
        new_one = [_series("cpu", {"host": "b"}, (2.0, None)), _series("cpu", {"host": "c"}, (1.0, None))]
        error = _failure(put, metrics_pb2.PutSamplesRequest(series=new_one))
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "--metrics-max-series" in error.details()
        assert put(metrics_pb2.PutSamplesRequest(series=[_series("cpu", {"host": "b"}, (3.0, None))]), timeout=5).accepted_points == 1
        listed = stub.ListMetrics(metrics_pb2.ListMetricsRequest(), timeout=5).metrics
        assert [dict(m.dimensions) for m in listed] == [{"host": "a"}, {"host": "b"}]  # the refused batch stored nothing


def test_the_same_metric_in_two_projects_is_two_series_and_each_project_reads_only_its_own(mesh):
    base = 1_699_999_980.0
    web = {"group": "web"}
    mesh.put(_series("cpu", web, (10.0, base + 1)), project="p1")
    mesh.put(_series("cpu", web, (90.0, base + 2), (70.0, base + 3)), _series("memory", {}, (1.0, base + 4)), project="p2")
    window = {"start_time": _at(base), "end_time": _at(base + 60)}
    assert mesh.statistics("p1", dimensions=web, **window) == [(base, 10.0, 1)]
    assert mesh.statistics("p2", dimensions=web, **window) == [(base, 80.0, 2)]
    assert mesh.listed("p1") == [("cpu", web)]
    assert mesh.listed("p2") == [("cpu", web), ("memory", {})]
    assert mesh.listed() == [] and mesh.statistics(**window) == []  # the default project stored nothing
    queries = _batch_request({"metric": "cpu", "statistic": SAMPLE_COUNT, "start": base, "end": base + 60})
    answers = [_answers(mesh.batch.BatchGetStatistics(queries, metadata=_acting_in(project), timeout=5)) for project in ("p1", "p2")]
    assert answers == [[[(base, 1.0, 1)]], [[(base, 2.0, 2)]]]


def test_the_alarm_service_is_told_of_each_projects_series_in_calls_acting_in_that_project(mesh):
    mesh.put(_series("cpu", {"group": "web"}, (1.0, None)), project="p1")
    mesh.put(_series("cpu", {"group": "web"}, (2.0, None)), _series("memory", {}, (3.0, None)), project="p2")
    assert mesh.alarm.notified_series_by_project(2, timeout=5) == {
        "p1": {("cpu", (("group", "web"),))},
        "p2": {("cpu", (("group", "web"),)), ("memory", ())},
    }


def test_a_restart_recovers_every_projects_points_from_the_ingest_log(sqlite_url):
    clock = FakeClock()
    settings = Settings(database_url=sqlite_url)
    base = 1_699_999_980.0
    with running_server([("metrics", build)], settings, clock=clock) as (_, channel):
        before = Mesh.over(channel, clock)
        before.put(_series("cpu", {}, (1.0, base + 1)), project="p1")
        before.put(_series("cpu", {}, (2.0, base + 2), (4.0, base + 3)), project="p2")
    database = Database(sqlite_url)
    try:
        with database.reader() as connection:
            logged = sorted(connection.scalars(sa.select(ingest_log.c.project)))
    finally:
        database.dispose()
    assert logged == ["p1", "p2"]  # not compacted: the points were only in the log and the stopped process's head
    with running_server([("metrics", build)], settings, clock=clock) as (_, channel):
        after = Mesh.over(channel, clock)
        window = {"start_time": _at(base), "end_time": _at(base + 60)}
        assert after.statistics("p1", **window) == [(base, 1.0, 1)]
        assert after.statistics("p2", **window) == [(base, 3.0, 2)]


def test_the_series_limit_counts_each_projects_series_apart(sqlite_url):
    with running_server([("metrics", build)], Settings(database_url=sqlite_url, metrics_max_series=2)) as (_, channel):
        mesh = Mesh.over(channel, FakeClock())
        two = [_series("cpu", {"host": "a"}, (1.0, None)), _series("cpu", {"host": "b"}, (1.0, None))]
        assert mesh.put(*two, project="p1") == 2
        assert mesh.put(*two, project="p2") == 2  # p1's two series do not count against p2
        request = metrics_pb2.PutSamplesRequest(series=[_series("cpu", {"host": "c"}, (1.0, None))])
        with pytest.raises(grpc.RpcError) as raised:
            mesh.metrics.PutSamples(request, metadata=_acting_in("p1"), timeout=5)
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "quota series of project p1 is 2: it holds 2 series" in raised.value.details()
