"""Conversions between the metrics service's protobuf messages and its domain values."""

from __future__ import annotations

from autoscale.timeutil import to_timestamp
from autoscale.v1 import common_pb2, metrics_pb2
from services.metrics.domain import SeriesDescriptor, SeriesKey, Statistic

STATISTICS = {
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


def extremes_to_message(key: SeriesKey, lowest: float, highest: float) -> metrics_pb2.TimeSeries:
    """A TimeSeries as NotifySamples sends it: the series, and points of its lowest and highest new value (one if equal)."""
    values = [lowest] if lowest == highest else [lowest, highest]
    return metrics_pb2.TimeSeries(metric=key.metric, dimensions=key.dimension_map(), points=[metrics_pb2.Point(value=v) for v in values])
