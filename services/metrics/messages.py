"""Conversions between the metrics service's protobuf messages and its domain values."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from autoscale.internal.v1 import batch_statistics_pb2, sample_feed_pb2
from autoscale.timeutil import to_timestamp
from autoscale.v1 import metrics_pb2
from services.metrics.domain import SeriesDescriptor, SeriesKey


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


def notify_samples_request(
    extremes: Mapping[SeriesKey, tuple[float, float]], dimensions_key: Callable[[SeriesKey], str]
) -> sample_feed_pb2.NotifySamplesRequest:
    """A NotifySamplesRequest of each series (its dimensions as `dimensions_key` gives their canonical key) with the lowest and the
    highest value it received: columns, one row per series."""
    bounds = extremes.values()
    return sample_feed_pb2.NotifySamplesRequest(
        metrics=[key.metric for key in extremes],
        dimensions=list(map(dimensions_key, extremes)),
        minimums=[low for low, _ in bounds],
        maximums=[high for _, high in bounds],
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
