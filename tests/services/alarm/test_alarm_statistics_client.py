"""The evaluator's BatchGetStatistics request (columns of its rules' windows) and how the answer's columns are read."""

from __future__ import annotations

import pytest

from autoscale.errors import PeerError
from autoscale.internal.v1 import batch_statistics_pb2
from autoscale.series import Statistic
from autoscale.v1 import common_pb2
from services.alarm.domain import ComparisonOperator, ThresholdRule
from services.alarm.evaluation import Datapoint
from services.alarm.statistics_client import batch_statistics_answers, batch_statistics_request

WEB = ThresholdRule("cpu_util", (("group", "web"), ("zone", "é ✓")), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 80.0, 300.0, 2)
ALL = ThresholdRule("mem", (), Statistic.SAMPLE_COUNT, ComparisonOperator.LESS_THAN, 1.0, 0.5, 1)


def test_a_batch_statistics_request_has_one_row_per_window_with_its_rules_dimensions_in_order():
    request = batch_statistics_request([(WEB, 1_700_000_000.0, 1_700_000_600.5), (ALL, 0.0, 1e-9)])
    assert list(request.metrics) == ["cpu_util", "mem"]
    assert list(request.dimension_counts) == [2, 0]
    assert (list(request.dimension_names), list(request.dimension_values)) == (["group", "zone"], ["web", "é ✓"])
    assert list(request.statistics) == [common_pb2.STATISTIC_AVERAGE, common_pb2.STATISTIC_SAMPLE_COUNT]
    assert list(request.periods) == [300.0, 0.5]
    assert (list(request.start_times), list(request.end_times)) == ([1_700_000_000.0, 0.0], [1_700_000_600.5, 1e-9])


def test_the_answers_read_as_each_querys_datapoints_in_order():
    response = batch_statistics_pb2.BatchGetStatisticsResponse(
        datapoint_counts=[2, 0, 1], start_times=[60.0, 120.0, 0.0], values=[1.5, 3.0, -1e308], sample_counts=[2, 1, 0]
    )
    read = batch_statistics_answers(response, 3)
    assert read == [[Datapoint(60.0, 1.5, 2), Datapoint(120.0, 3.0, 1)], [], [Datapoint(0.0, -1e308, 0)]]
    assert all(type(datapoint) is Datapoint for answer in read for datapoint in answer)


@pytest.mark.parametrize(
    "response",
    [
        batch_statistics_pb2.BatchGetStatisticsResponse(datapoint_counts=[1]),
        batch_statistics_pb2.BatchGetStatisticsResponse(datapoint_counts=[1, 0], start_times=[1.0], values=[1.0]),
        batch_statistics_pb2.BatchGetStatisticsResponse(datapoint_counts=[0, 1], start_times=[1.0], values=[1.0, 2.0], sample_counts=[1]),
        batch_statistics_pb2.BatchGetStatisticsResponse(datapoint_counts=[0]),
    ],
)
def test_an_answer_whose_columns_disagree_with_the_queries_asked_is_a_peer_error(response):
    with pytest.raises(PeerError):
        batch_statistics_answers(response, 2)
