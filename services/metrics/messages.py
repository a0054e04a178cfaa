"""Conversions between the metrics service's protobuf messages and its domain values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from autoscale.internal.v1 import batch_statistics_pb2, sample_feed_pb2
from autoscale.timeutil import to_timestamp
from autoscale.v1 import metrics_pb2
from services.metrics.domain import SeriesDescriptor


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
    catalogue: str, extremes: Mapping[int, tuple[float, float, object]], names: Sequence[tuple[str, str]]
) -> sample_feed_pb2.NotifySamplesRequest:
    """A NotifySamplesRequest of each series (by id, in the mapping's order: its lowest and highest value, and the metric and
    canonical dimensions key at the same place of `names`): columns, one row per series."""
    metrics, dimensions = zip(*names, strict=True) if names else ((), ())
    minimums, maximums, _ = zip(*extremes.values(), strict=True) if extremes else ((), (), ())
    return sample_feed_pb2.NotifySamplesRequest(
        catalogue=catalogue, series_ids=list(extremes), metrics=metrics, dimensions=dimensions, minimums=minimums, maximums=maximums
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
