"""PutSamples and BatchGetStatistics from the request's bytes: the native decoder for the common case, protobuf for the rest.

The native decoder (autoscale/_wire.c, built with the package when a C compiler is
at hand) reads a valid request in canonical encoding straight into the batch. It
declines anything else, which then goes through protobuf and
`rules.check_put_samples`: those say what is wrong with an invalid request, and
take every encoding protobuf takes. Both give the same batch (or queries) for the same request.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any, Protocol

from google.protobuf.message import DecodeError, Message

from autoscale import wire
from autoscale.v1 import metrics_pb2
from autoscale.validation import Violations
from services.metrics import rules
from services.metrics.domain import SeriesKey, SeriesPoints, Statistic, StatisticsQuery
from services.metrics.messages import STATISTICS


class NativeDecoder(Protocol):
    def decode_put_samples(self, payload: bytes, now: float, latest_allowed: float, /) -> list[SeriesPoints] | None: ...

    def decode_statistics_queries(
        self, payload: bytes, now: float, query_type: type, statistics: tuple[Statistic | None, ...], max_queries: int, max_periods: float,
        default_window: float, /,
    ) -> list[StatisticsQuery] | None: ...


def _configured(native: Any) -> NativeDecoder | None:
    if native is not None:
        native.configure(
            SeriesKey,
            SeriesPoints,
            rules.MAX_METRIC_LENGTH,
            rules.MAX_DIMENSION_LENGTH,
            rules.MAX_DIMENSIONS,
            rules.MAX_DIMENSIONS_KEY_BYTES,
            rules.MAX_POINTS_PER_BATCH,
        )
    return native  # type: ignore[no-any-return]


NATIVE: NativeDecoder | None = _configured(wire.NATIVE)
"""The native decoder; None where it was not built (PutSamples then decodes every request through protobuf)."""


def decode_put_samples(
    violations: Violations, payload: bytes, now: float, known: Container[SeriesKey] = frozenset(), *, native: NativeDecoder | None = NATIVE
) -> list[SeriesPoints]:
    """The batch a serialized PutSamplesRequest carries, as `rules.check_put_samples` gives it; meaningful only without violations."""
    if native is not None:
        batch = native.decode_put_samples(payload, now, now + rules.MAX_FUTURE)
        if batch is not None:
            return batch
    request = _parsed(violations, metrics_pb2.PutSamplesRequest, payload)
    return rules.check_put_samples(violations, request, now, known) if request is not None else []


STATISTICS_BY_NUMBER: tuple[Statistic | None, ...] = tuple(STATISTICS.get(number) for number in range(max(STATISTICS) + 1))
"""Each Statistic enum number's statistic, None where there is none (what the native decoder is handed)."""


def decode_batch_get_statistics(
    violations: Violations, payload: bytes, now: float, *, native: NativeDecoder | None = NATIVE
) -> list[StatisticsQuery]:
    """The queries a serialized BatchGetStatisticsRequest asks, as `rules.check_batch_get_statistics` gives them;
    meaningful only without violations.

    NOTE: natively where autoscale/_wire.c was built: a sweep's call asks 500 queries, and their
    messages (a map and three times each) and the rules read field by field cost a third of answering.
    """
    if native is not None:
        queries = native.decode_statistics_queries(
            payload, now, StatisticsQuery, STATISTICS_BY_NUMBER, rules.MAX_BATCH_QUERIES, rules.MAX_PERIODS, rules.DEFAULT_WINDOW
        )
        if queries is not None:
            return queries
    request = _parsed(violations, metrics_pb2.BatchGetStatisticsRequest, payload)
    if request is None:
        return []
    return [query for query in rules.check_batch_get_statistics(violations, request, now) if query is not None]


def _parsed(violations: Violations, message_type: type[Message], payload: bytes) -> Any:
    """The message protobuf reads from `payload`; None, with a violation of the request, when it cannot."""
    try:
        return message_type.FromString(payload)
    except DecodeError as error:
        violations.add("request", f"must be a serialized {message_type.__name__}: {error}")
        return None
