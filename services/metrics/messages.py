"""Conversions between the metrics service's protobuf messages and its domain values."""

from __future__ import annotations

from collections.abc import Mapping

from autoscale.internal.v1 import batch_statistics_pb2, sample_feed_pb2
from autoscale.timeutil import to_timestamp
from autoscale.v1 import common_pb2, metrics_pb2
from services.metrics.domain import SeriesDescriptor, SeriesKey, Statistic

STATISTICS: dict[int, Statistic] = {
    common_pb2.STATISTIC_AVERAGE: Statistic.AVERAGE,
    common_pb2.STATISTIC_MINIMUM: Statistic.MINIMUM,
    common_pb2.STATISTIC_MAXIMUM: Statistic.MAXIMUM,
    common_pb2.STATISTIC_SUM: Statistic.SUM,
    common_pb2.STATISTIC_SAMPLE_COUNT: Statistic.SAMPLE_COUNT,
}


def datapoint_to_message(start: float, value: float, sample_count: int) -> metrics_pb2.Datapoint:
    """A Datapoint of one non-empty period."""
    return metrics_pb2.Datapoint(start_time=to_timestamp(start), value=value, sample_count=sample_count)


def descriptor_to_message(descriptor: SeriesDescriptor) -> metrics_pb2.MetricDescriptor:
    """A MetricDescriptor of a stored series."""
    return metrics_pb2.MetricDescriptor(
        metric=descriptor.key.metric,
        dimensions=descriptor.key.dimension_map(),
        last_point_time=to_timestamp(descriptor.last_point_time),
    )


def notify_samples_request(extremes: Mapping[SeriesKey, tuple[float, float]]) -> sample_feed_pb2.NotifySamplesRequest:
    """A NotifySamplesRequest of each series with the lowest and the highest value it received (columns, one row per series)."""
    metrics, dimension_counts, dimension_names, dimension_values, minimums, maximums = [], [], [], [], [], []
    for (metric, dimensions), (low, high) in extremes.items():
        metrics.append(metric)
        dimension_counts.append(len(dimensions))
        for name, value in dimensions:
            dimension_names.append(name)
            dimension_values.append(value)
        minimums.append(low)
        maximums.append(high)
    return sample_feed_pb2.NotifySamplesRequest(
        metrics=metrics, dimension_counts=dimension_counts, dimension_names=dimension_names, dimension_values=dimension_values,
        minimums=minimums, maximums=maximums,
    )


StatisticsAnswers = list[list[tuple[float, float, int]]]
"""Each query's datapoints, as (period start, value, sample count)."""


def batch_statistics_response(answers: StatisticsAnswers) -> batch_statistics_pb2.BatchGetStatisticsResponse:
    """A BatchGetStatisticsResponse of each query's datapoints (columns, one row per datapoint)."""
    datapoints = [datapoint for answer in answers for datapoint in answer]
    return batch_statistics_pb2.BatchGetStatisticsResponse(
        datapoint_counts=[len(answer) for answer in answers],
        start_times=[start for start, _, _ in datapoints],
        values=[value for _, value, _ in datapoints],
        sample_counts=[count for _, _, count in datapoints],
    )
