"""The calls this service makes to MetricsService: the history a predictive floor forecasts from.

Each season of a predictive floor is one GetStatistics call with a short deadline of its
own, so that a slow Metrics service delays an execution by little; any failure becomes a
`PeerError`, which the executor records in the forecast and goes on without the floor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import grpc

from autoscale.peers import as_peer_error
from autoscale.timeutil import to_duration, to_timestamp
from autoscale.v1 import common_pb2, metrics_pb2

FORECAST_DEADLINE = 2.0
"""Seconds one season's GetStatistics may take: a forecast must not hold the execution back for long."""


class MetricsClient:
    """GetStatistics over the peer stub of the metrics service."""

    def __init__(self, stub: Callable[[], Any]) -> None:
        self._stub = stub

    def window_sum(self, metric: str, dimensions: Sequence[tuple[str, str]], start: float, end: float) -> float | None:
        """The sum of the samples of `metric` in [start, end) over every series whose dimensions include `dimensions`;
        None when there is none. PeerError when the metrics service failed or has no address."""
        request = window_sum_request(metric, dimensions, start, end)
        try:
            # NOTE: the stub is fetched per call: the peers raise PeerError at once when no address is configured.
            response: metrics_pb2.GetStatisticsResponse = self._stub().GetStatistics(request, timeout=FORECAST_DEADLINE)
        except grpc.RpcError as error:
            raise as_peer_error(error) from None
        return window_sum_of(response)


def window_sum_request(metric: str, dimensions: Sequence[tuple[str, str]], start: float, end: float) -> metrics_pb2.GetStatisticsRequest:
    """The GetStatistics request of the sum of `metric`'s samples in [start, end) (also the CLI's, for the moments ahead)."""
    return metrics_pb2.GetStatisticsRequest(
        metric=metric, dimensions=dict(dimensions), statistic=common_pb2.STATISTIC_SUM,
        # One period as long as the window: periods are aligned to the epoch, so the window spans at most two.
        period=to_duration(end - start), start_time=to_timestamp(start), end_time=to_timestamp(end),
    )


def window_sum_of(response: metrics_pb2.GetStatisticsResponse) -> float | None:
    """The window's sum from the answer of `window_sum_request`; None when it had no samples."""
    if not response.datapoints:
        return None
    return sum(datapoint.value for datapoint in response.datapoints)
