"""The metrics service as the evaluator sees it: a rule's statistics over a window."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import grpc

from autoscale import wire
from autoscale.peers import as_peer_error
from autoscale.timeutil import to_duration, to_timestamp
from autoscale.v1 import common_pb2, metrics_pb2
from services.alarm.domain import Statistic, ThresholdRule
from services.alarm.evaluation import Datapoint

STATISTIC_MESSAGES = {
    Statistic.AVERAGE: common_pb2.STATISTIC_AVERAGE,
    Statistic.MINIMUM: common_pb2.STATISTIC_MINIMUM,
    Statistic.MAXIMUM: common_pb2.STATISTIC_MAXIMUM,
    Statistic.SUM: common_pb2.STATISTIC_SUM,
    Statistic.SAMPLE_COUNT: common_pb2.STATISTIC_SAMPLE_COUNT,
}


Query = tuple[str, tuple[tuple[str, str], ...], int, float, float, float]
"""One GetStatisticsRequest as plain values: metric, dimension pairs, Statistic number, period, start and end (seconds)."""

NATIVE_QUERIES_ENCODER: Callable[[list[Query]], bytes] | None = wire.NATIVE.encode_statistics_queries if wire.NATIVE is not None else None
"""autoscale/_wire.c's writer of the same message, where it was built."""


def batch_statistics_request(queries: list[Query], *, native: Callable[[list[Query]], bytes] | None = NATIVE_QUERIES_ENCODER) -> bytes:
    """A BatchGetStatisticsRequest, serialized, of these queries.

    NOTE: written natively where autoscale/_wire.c was built, and sent as bytes (Peers.call_taking_bytes):
    a sweep asks 500 queries a call, and their messages (a map and three times each) cost more than the
    rest of asking.
    """
    if native is not None:
        return native(queries)
    # Alarms of a sweep share few periods and windows: each Duration and Timestamp is built once.
    durations = {period: to_duration(period) for period in {period for _, _, _, period, _, _ in queries}}
    stamps = {time: to_timestamp(time) for time in {time for *_, start, end in queries for time in (start, end)}}
    return metrics_pb2.BatchGetStatisticsRequest(
        requests=[
            metrics_pb2.GetStatisticsRequest(
                metric=metric, dimensions=dict(dimensions), statistic=statistic,  # type: ignore[arg-type]
                period=durations[period], start_time=stamps[start], end_time=stamps[end],
            )
            for metric, dimensions, statistic, period, start, end in queries
        ]
    ).SerializeToString()


NATIVE_ANSWERS_DECODER: Callable[[bytes, type], list[list[Datapoint]] | None] | None = (
    wire.NATIVE.decode_statistics_answers if wire.NATIVE is not None else None
)
"""autoscale/_wire.c's reader of the same datapoints, where it was built."""


def batch_statistics_answers(
    payload: bytes, *, native: Callable[[bytes, type], list[list[Datapoint]] | None] | None = NATIVE_ANSWERS_DECODER
) -> list[list[Datapoint]]:
    """Each query's datapoints in a serialized BatchGetStatisticsResponse (natively where it was built: a sweep reads
    10 000 answers); DecodeError when it is not one."""
    if native is not None:
        answers = native(payload, Datapoint)
        if answers is not None:
            return answers
    return [_datapoints(answer) for answer in metrics_pb2.BatchGetStatisticsResponse.FromString(payload).responses]


class StatisticsClient:
    """Asks MetricsService.GetStatistics for a rule's datapoints; failures raise PeerError.

    `metrics_stub` gives a MetricsService stub, and `batch_call` the BatchGetStatistics call taking
    the request's bytes and answering bytes (Peers.call_taking_bytes).
    """

    def __init__(self, metrics_stub: Callable[[], Any], batch_call: Callable[[], Callable[[bytes], Any]]) -> None:
        self._stub = metrics_stub
        self._batch_call = batch_call

    def datapoints(self, rule: ThresholdRule, start: float, end: float) -> list[Datapoint]:
        """The rule's statistic per period in [start, end), oldest first."""
        try:
            response = self._stub().GetStatistics(_request(rule, start, end))
        except grpc.RpcError as error:
            raise as_peer_error(error) from None
        return _datapoints(response)

    def batch_datapoints(self, windows: Sequence[tuple[ThresholdRule, float, float]]) -> list[list[Datapoint]]:
        """`datapoints` of each (rule, start, end), in one call."""
        request = batch_statistics_request(
            [(rule.metric, rule.dimensions, STATISTIC_MESSAGES[rule.statistic], rule.period, start, end) for rule, start, end in windows]
        )
        try:
            response = self._batch_call()(request)
        except grpc.RpcError as error:
            raise as_peer_error(error) from None
        return batch_statistics_answers(response)


def _request(rule: ThresholdRule, start: float, end: float) -> metrics_pb2.GetStatisticsRequest:
    return metrics_pb2.GetStatisticsRequest(
        metric=rule.metric,
        dimensions=dict(rule.dimensions),
        statistic=STATISTIC_MESSAGES[rule.statistic],
        period=to_duration(rule.period),
        start_time=to_timestamp(start),
        end_time=to_timestamp(end),
    )


def _datapoints(response: metrics_pb2.GetStatisticsResponse) -> list[Datapoint]:
    return [Datapoint(d.start_time.seconds + d.start_time.nanos / 1e9, d.value, d.sample_count) for d in response.datapoints]
