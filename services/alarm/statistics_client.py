"""The metrics service as the evaluator sees it: rules' statistics over windows, many in one call."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import grpc

from autoscale.errors import PeerError
from autoscale.identity import acting_for
from autoscale.internal.v1 import batch_statistics_pb2, batch_statistics_pb2_grpc
from autoscale.peers import as_peer_error
from autoscale.series import STATISTIC_NUMBERS
from services.alarm.domain import ThresholdRule
from services.alarm.evaluation import Datapoint


def batch_statistics_request(windows: Sequence[tuple[ThresholdRule, float, float]]) -> batch_statistics_pb2.BatchGetStatisticsRequest:
    """A BatchGetStatisticsRequest of each (rule, start, end): columns, one row per query."""
    metrics, dimension_counts, dimension_names, dimension_values = [], [], [], []
    statistics, periods, start_times, end_times = [], [], [], []
    for rule, start, end in windows:
        metrics.append(rule.metric)
        dimension_counts.append(len(rule.dimensions))
        for name, value in rule.dimensions:
            dimension_names.append(name)
            dimension_values.append(value)
        statistics.append(STATISTIC_NUMBERS[rule.statistic])
        periods.append(rule.period)
        start_times.append(start)
        end_times.append(end)
    return batch_statistics_pb2.BatchGetStatisticsRequest(
        metrics=metrics, dimension_counts=dimension_counts, dimension_names=dimension_names, dimension_values=dimension_values,
        statistics=statistics, periods=periods, start_times=start_times, end_times=end_times,
    )


def batch_statistics_answers(response: batch_statistics_pb2.BatchGetStatisticsResponse, queries: int) -> list[list[Datapoint]]:
    """Each query's datapoints in a BatchGetStatisticsResponse; PeerError when it does not answer `queries` queries."""
    counts = list(response.datapoint_counts)
    starts, values, sample_counts = response.start_times, response.values, response.sample_counts
    if len(counts) != queries or not sum(counts) == len(starts) == len(values) == len(sample_counts):
        raise PeerError(
            grpc.StatusCode.INTERNAL,
            f"BatchGetStatistics answered {len(counts)} queries of {queries}, with columns of {len(starts)}, {len(values)} "
            f"and {len(sample_counts)} datapoints for {sum(counts)}",
        )
    datapoints = list(map(Datapoint, starts, values, sample_counts))
    answers = []
    offset = 0
    for count in counts:
        answers.append(datapoints[offset : offset + count])
        offset += count
    return answers


class StatisticsClient:
    """Asks the metrics service's BatchStatisticsService for rules' datapoints; failures raise PeerError.

    `batch_stub` gives a BatchStatisticsService stub whose calls carry the acting project (autoscale.peers).
    """

    def __init__(self, batch_stub: Callable[[], batch_statistics_pb2_grpc.BatchStatisticsServiceStub]) -> None:
        self._batch_stub = batch_stub

    def batch_datapoints(self, project: str, windows: Sequence[tuple[ThresholdRule, float, float]]) -> list[list[Datapoint]]:
        """The rule's statistic per period in [start, end) of each (rule, start, end) over the series of `project`, in one
        call acting for it (on whatever thread asks: the sweep's, a scheduler's, the evaluator's prefetch pool)."""
        try:
            with acting_for(project):
                response = self._batch_stub().BatchGetStatistics(batch_statistics_request(windows))
        except grpc.RpcError as error:
            raise as_peer_error(error) from None
        return batch_statistics_answers(response, len(windows))
