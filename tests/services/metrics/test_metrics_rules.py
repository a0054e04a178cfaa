"""Field rules of PutSamples, GetStatistics and ListMetrics: each names the field it is about."""

from __future__ import annotations

import math

import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from autoscale.series import Statistic
from autoscale.v1 import common_pb2, metrics_pb2
from autoscale.validation import Violations
from services.metrics import rules
from services.metrics.domain import SeriesKey, StatisticsQuery

NOW = 1_700_000_000.0
AVERAGE = common_pb2.STATISTIC_AVERAGE


def _series(metric="cpu", dimensions=None, points=None):  # type: ignore[no-untyped-def]
    if points is None:
        points = [metrics_pb2.Point(value=1.0)]
    return metrics_pb2.TimeSeries(metric=metric, dimensions=dimensions or {}, points=points)


def _put_violations(*series) -> list[str]:  # type: ignore[no-untyped-def]
    violations = Violations()
    rules.check_put_samples(violations, metrics_pb2.PutSamplesRequest(series=series), NOW)
    return [v.field for v in violations.items]


def test_a_valid_batch_becomes_domain_points_with_unset_times_at_now():
    violations = Violations()
    request = metrics_pb2.PutSamplesRequest(series=[
        _series(dimensions={"instance": "i-1", "group": "web"}, points=[
            metrics_pb2.Point(value=2.5, time=timestamp_pb2.Timestamp(seconds=100, nanos=500_000_000)),
            metrics_pb2.Point(value=-1.0),
        ]),
    ])
    batch = rules.check_put_samples(violations, request, NOW)
    assert not violations
    assert len(batch) == 1
    assert batch[0].key == SeriesKey.of("cpu", {"group": "web", "instance": "i-1"})
    assert (batch[0].times, batch[0].values) == ([100.5, NOW], [2.5, -1.0])


@pytest.mark.parametrize(
    ("series", "fields"),
    [
        ([], ["series"]),
        ([_series(metric="")], ["series[0].metric"]),
        ([_series(metric=" cpu")], ["series[0].metric"]),
        ([_series(metric="m" * 256)], ["series[0].metric"]),
        ([_series(points=[])], ["series[0].points"]),
        ([_series(points=[metrics_pb2.Point(value=math.nan)])], ["series[0].points[0].value"]),
        ([_series(points=[metrics_pb2.Point(value=1.0), metrics_pb2.Point(value=math.inf)])], ["series[0].points[1].value"]),
        # CloudWatch's range: two values of 1e308 would sum to infinity.
        ([_series(points=[metrics_pb2.Point(value=1e308)])], ["series[0].points[0].value"]),
        ([_series(points=[metrics_pb2.Point(value=-(2.0**361))])], ["series[0].points[0].value"]),
        ([_series(dimensions={"": "web"})], ["series[0].dimensions"]),
        ([_series(dimensions={"k" * 256: "web"})], ["series[0].dimensions"]),
        ([_series(dimensions={"group": "v" * 256})], ["series[0].dimensions"]),
        ([_series(dimensions={f"d{i}": "v" for i in range(31)})], ["series[0].dimensions"]),
        ([_series(dimensions={f"d{i}": "v" * 200 for i in range(6)})], ["series[0].dimensions"]),
        ([_series(points=[metrics_pb2.Point(value=1.0, time=timestamp_pb2.Timestamp(seconds=-1))])], ["series[0].points[0].time"]),
        (
            [_series(points=[metrics_pb2.Point(value=1.0, time=timestamp_pb2.Timestamp(seconds=int(NOW) + 3601))])],
            ["series[0].points[0].time"],
        ),
        # Every violation of every series is reported at once.
        (
            [_series(), _series(metric="", dimensions={"": "x"}, points=[metrics_pb2.Point(value=math.nan)])],
            ["series[1].metric", "series[1].dimensions", "series[1].points[0].value"],
        ),
    ],
)
def test_put_samples_rules_name_the_field(series, fields):
    assert _put_violations(*series) == fields


def test_a_point_up_to_an_hour_ahead_of_the_server_is_accepted():
    assert _put_violations(_series(points=[metrics_pb2.Point(value=1.0, time=timestamp_pb2.Timestamp(seconds=int(NOW) + 3600))])) == []


def test_a_value_at_cloudwatchs_bound_is_accepted():
    assert _put_violations(_series(points=[metrics_pb2.Point(value=2.0**360), metrics_pb2.Point(value=-(2.0**360))])) == []


def test_a_batch_is_capped_in_points():
    too_many = [metrics_pb2.Point(value=1.0)] * (rules.MAX_POINTS_PER_BATCH + 1)
    assert _put_violations(_series(points=too_many)) == ["series"]


def _statistics(**fields) -> tuple[StatisticsQuery | None, list[str]]:  # type: ignore[no-untyped-def]
    fields = {"metric": "cpu", "statistic": AVERAGE, "period": duration_pb2.Duration(seconds=60), **fields}
    violations = Violations()
    query = rules.check_get_statistics(violations, metrics_pb2.GetStatisticsRequest(**fields), NOW)
    return query, [v.field for v in violations.items]


def test_an_unset_window_is_the_day_before_now():
    query, fields = _statistics(dimensions={"group": "web"})
    assert fields == []
    assert query == StatisticsQuery("cpu", (("group", "web"),), Statistic.AVERAGE, 60.0, NOW - 86400, NOW)


def test_an_unset_start_is_a_day_before_the_end_given():
    query, _ = _statistics(end_time=timestamp_pb2.Timestamp(seconds=200_000), period=duration_pb2.Duration(seconds=1, nanos=500_000_000))
    assert query is not None and (query.start, query.end, query.period) == (200_000 - 86400, 200_000, 1.5)


@pytest.mark.parametrize(
    ("fields", "paths"),
    [
        ({"metric": ""}, ["metric"]),
        ({"metric": "cpu "}, ["metric"]),
        ({"dimensions": {"": "x"}}, ["dimensions"]),
        ({"statistic": 0}, ["statistic"]),
        ({"statistic": 42}, ["statistic"]),
        ({"period": None}, ["period"]),
        ({"period": duration_pb2.Duration(seconds=0)}, ["period"]),
        ({"period": duration_pb2.Duration(seconds=-60)}, ["period"]),
        ({"start_time": timestamp_pb2.Timestamp(seconds=100), "end_time": timestamp_pb2.Timestamp(seconds=100)}, ["start_time"]),
        ({"start_time": timestamp_pb2.Timestamp(seconds=200), "end_time": timestamp_pb2.Timestamp(seconds=100)}, ["start_time"]),
        ({"start_time": timestamp_pb2.Timestamp(seconds=-5)}, ["start_time"]),
        ({"end_time": timestamp_pb2.Timestamp(seconds=-5)}, ["end_time"]),
        ({"end_time": timestamp_pb2.Timestamp(seconds=5, nanos=-1)}, ["end_time"]),
        ({"start_time": timestamp_pb2.Timestamp(seconds=5, nanos=1_000_000_000)}, ["start_time"]),
        ({"metric": "m" * 10_000}, ["metric"]),
        ({"dimensions": {"group": "w" * 10_000}}, ["dimensions"]),
        ({"dimensions": {"g" * 10_000: "web"}}, ["dimensions"]),
        # A day in 0.5 s periods is 172 800 periods: too many.
        ({"period": duration_pb2.Duration(nanos=500_000_000)}, ["period"]),
        ({"period": duration_pb2.Duration(seconds=10**12)}, ["period"]),
        ({"period": duration_pb2.Duration(seconds=2**63 - 1)}, ["period"]),
        ({"period": duration_pb2.Duration(seconds=60, nanos=1_000_000_000)}, ["period"]),
        ({"end_time": timestamp_pb2.Timestamp(seconds=rules.MAX_TIME + 1)}, ["end_time"]),
        ({"metric": "", "statistic": 0, "period": None}, ["metric", "statistic", "period"]),
    ],
)
def test_get_statistics_rules_name_the_field(fields, paths):
    query, violations = _statistics(**fields)
    assert violations == paths
    assert query is None


def test_the_metric_filter_of_list_metrics_is_optional_but_checked_when_set():
    violations = Violations()
    assert rules.check_metric_filter(violations, "") is None
    assert rules.check_metric_filter(violations, "cpu") == "cpu"
    rules.check_metric_filter(violations, " cpu")
    assert [v.field for v in violations.items] == ["metric"]


def test_a_point_just_after_the_epoch_takes_the_careful_path_and_keeps_its_time():
    violations = Violations()
    point = metrics_pb2.Point(value=1.0, time=timestamp_pb2.Timestamp(seconds=0, nanos=500_000_000))
    batch = rules.check_put_samples(violations, metrics_pb2.PutSamplesRequest(series=[_series(points=[point])]), NOW)
    assert not violations
    assert batch[0].times == [0.5]


def test_a_known_series_is_not_measured_again_but_its_points_still_are():
    key = SeriesKey.of("cpu", {f"d{i}": "v" for i in range(31)})
    request = metrics_pb2.PutSamplesRequest(series=[_series(dimensions=dict(key.dimensions), points=[metrics_pb2.Point(value=math.nan)])])
    violations = Violations()
    rules.check_put_samples(violations, request, NOW, known={key})
    assert [v.field for v in violations.items] == ["series[0].points[0].value"]
