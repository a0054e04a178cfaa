"""BatchGetStatistics decoded from bytes: the native decoder gives the queries protobuf + the rules give, or declines."""

from __future__ import annotations

import random

import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from autoscale.v1 import common_pb2, metrics_pb2
from autoscale.validation import Violations
from services.metrics import decoding, rules
from services.metrics.domain import Statistic, StatisticsQuery
from tests.support import mutated, needs_native_wire

NOW = 1_700_000_000.25
AVERAGE = common_pb2.STATISTIC_AVERAGE


def _query(**fields) -> metrics_pb2.GetStatisticsRequest:  # type: ignore[no-untyped-def]
    fields = {"metric": "cpu", "statistic": AVERAGE, "period": duration_pb2.Duration(seconds=60), **fields}
    return metrics_pb2.GetStatisticsRequest(**{name: value for name, value in fields.items() if value is not None})


def _batch(*queries: metrics_pb2.GetStatisticsRequest) -> bytes:
    return metrics_pb2.BatchGetStatisticsRequest(requests=queries).SerializeToString()


def _reference(payload: bytes) -> tuple[list[StatisticsQuery], list[str]]:
    violations = Violations()
    queries = decoding.decode_batch_get_statistics(violations, payload, NOW, native=None)
    return queries, [v.field for v in violations.items]


VALID = {
    "empty": _batch(),
    "the default window": _batch(_query(dimensions={"group": "web"})),
    "a sweep's": _batch(*[
        _query(metric=f"m{n}", dimensions={"g": str(n), "a": "x"}, statistic=1 + n % 5, period=duration_pb2.Duration(seconds=300),
               start_time=timestamp_pb2.Timestamp(seconds=1_699_999_400), end_time=timestamp_pb2.Timestamp(seconds=1_700_000_100))
        for n in range(50)
    ]),
    "unicode and nanos": _batch(_query(
        metric="mémoire ✓", dimensions={"zone": "ünï", "b": ""}, period=duration_pb2.Duration(seconds=1, nanos=500_000_000),
        start_time=timestamp_pb2.Timestamp(seconds=5, nanos=999_999_999), end_time=timestamp_pb2.Timestamp(seconds=6),
    )),
    "only an end": _batch(_query(end_time=timestamp_pb2.Timestamp(seconds=200_000))),
    "the longest names": _batch(_query(metric="m" * rules.MAX_METRIC_LENGTH, dimensions={"k" * rules.MAX_DIMENSION_LENGTH: "v" * 255})),
    "the most periods": _batch(_query(period=duration_pb2.Duration(seconds=1), start_time=timestamp_pb2.Timestamp(seconds=0),
                                      end_time=timestamp_pb2.Timestamp(seconds=rules.MAX_PERIODS))),
}

INVALID = {
    "no metric": _batch(_query(metric="")),
    "a spaced metric": _batch(_query(metric=" cpu")),
    "an empty dimension name": _batch(_query(dimensions={"": "x"})),
    "a long dimension value": _batch(_query(dimensions={"g": "v" * 256})),
    "no statistic": _batch(_query(statistic=0)),
    "an unknown statistic": _batch(_query(statistic=42)),
    "no period": _batch(_query(period=None)),
    "a zero period": _batch(_query(period=duration_pb2.Duration())),
    "a negative period": _batch(_query(period=duration_pb2.Duration(seconds=-60))),
    "an empty window": _batch(_query(start_time=timestamp_pb2.Timestamp(seconds=100), end_time=timestamp_pb2.Timestamp(seconds=100))),
    "a negative time": _batch(_query(start_time=timestamp_pb2.Timestamp(seconds=-5))),
    "nanos out of range": _batch(_query(end_time=timestamp_pb2.Timestamp(seconds=5, nanos=1_000_000_000))),
    "too many periods": _batch(_query(period=duration_pb2.Duration(nanos=500_000_000))),
    "too many queries": _batch(*[_query()] * (rules.MAX_BATCH_QUERIES + 1)),
    "one bad query among good ones": _batch(_query(), _query(metric=""), _query()),
}


@needs_native_wire
@pytest.mark.parametrize("payload", VALID.values(), ids=VALID.keys())
def test_a_valid_batch_decodes_natively_to_the_queries_the_rules_give(payload):
    expected, violations = _reference(payload)
    assert violations == []
    assert decoding.decode_batch_get_statistics(Violations(), payload, NOW) == expected
    assert decoding.NATIVE.decode_statistics_queries(  # type: ignore[union-attr]
        payload, NOW, StatisticsQuery, decoding.STATISTICS_BY_NUMBER, rules.MAX_BATCH_QUERIES, rules.MAX_PERIODS, rules.DEFAULT_WINDOW
    ) is not None


def test_an_unset_window_is_the_default_day_before_now_and_dimensions_come_sorted():
    (query,), _ = _reference(VALID["the default window"])
    assert query == StatisticsQuery("cpu", (("group", "web"),), Statistic.AVERAGE, 60.0, NOW - rules.DEFAULT_WINDOW, NOW)
    (sorted_query,) = decoding.decode_batch_get_statistics(Violations(), _batch(_query(dimensions={"b": "1", "a": "2"})), NOW)
    assert sorted_query.dimensions == (("a", "2"), ("b", "1"))


@needs_native_wire
@pytest.mark.parametrize("payload", INVALID.values(), ids=INVALID.keys())
def test_a_batch_breaking_a_rule_is_declined_natively_and_gets_the_rules_violations(payload):
    assert decoding.NATIVE.decode_statistics_queries(  # type: ignore[union-attr]
        payload, NOW, StatisticsQuery, decoding.STATISTICS_BY_NUMBER, rules.MAX_BATCH_QUERIES, rules.MAX_PERIODS, rules.DEFAULT_WINDOW
    ) is None
    violations = Violations()
    decoding.decode_batch_get_statistics(violations, payload, NOW)
    assert [v.field for v in violations.items] == _reference(payload)[1] != []


def test_bytes_protobuf_cannot_parse_are_a_violation_of_the_request():
    violations = Violations()
    assert decoding.decode_batch_get_statistics(violations, b"\x0a\x7f\x0a\x03cpu", NOW) == []
    assert [v.field for v in violations.items] == ["request"]


def test_a_field_given_twice_reads_as_protobuf_reads_it():
    # Not canonical (the metric twice): declined natively, and protobuf keeps the last value.
    query = _query().SerializeToString() + metrics_pb2.GetStatisticsRequest(metric="mem").SerializeToString()
    payload = b"\x0a" + bytes([len(query)]) + query
    (read,) = decoding.decode_batch_get_statistics(Violations(), payload, NOW)
    assert read.metric == "mem"


@needs_native_wire
def test_mutated_batches_decode_natively_only_to_what_protobuf_and_the_rules_give():
    generator = random.Random(20261129)
    sources = [payload for payload in VALID.values() if payload]
    agreed = declined = 0
    for round_number in range(3000):
        payload = bytes(mutated(generator, generator.choice(sources)))
        native = decoding.NATIVE.decode_statistics_queries(  # type: ignore[union-attr]
            payload, NOW, StatisticsQuery, decoding.STATISTICS_BY_NUMBER, rules.MAX_BATCH_QUERIES, rules.MAX_PERIODS, rules.DEFAULT_WINDOW
        )
        if native is None:
            declined += 1
            continue
        expected, violations = _reference(payload)
        assert violations == [], f"round {round_number}: decoded natively what the rules reject: {payload!r}"
        assert native == expected, f"round {round_number}: {payload!r}"
        agreed += 1
    assert agreed > 100 and declined > 100
