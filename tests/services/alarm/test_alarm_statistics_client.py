"""The sweep's BatchGetStatistics request and its answers, written and read natively or through protobuf, to the same effect."""

from __future__ import annotations

import random

import pytest
from google.protobuf.message import DecodeError

from autoscale.v1 import common_pb2, metrics_pb2
from services.alarm import statistics_client
from services.alarm.evaluation import Datapoint
from services.alarm.statistics_client import Query, batch_statistics_request
from tests.support import mutated, needs_native_wire

QUERIES: list[Query] = [
    ("cpu_util", (("group", "web"), ("zone", "é ✓")), common_pb2.STATISTIC_AVERAGE, 300.0, 1_700_000_000.0, 1_700_000_600.5),
    ("", (), 0, 0.001, 1.9999999999, 2.0),
    ("m" * 300, (("k" * 200, ""),), common_pb2.STATISTIC_SAMPLE_COUNT, 86_400.25, 0.0, 1e-9),
]


def _read(payload: bytes) -> list[tuple[object, ...]]:
    request = metrics_pb2.BatchGetStatisticsRequest.FromString(payload)
    return [
        (
            query.metric, dict(query.dimensions), query.statistic, (query.period.seconds, query.period.nanos),
            (query.start_time.seconds, query.start_time.nanos), (query.end_time.seconds, query.end_time.nanos),
            query.HasField("period") and query.HasField("start_time") and query.HasField("end_time"),
        )
        for query in request.requests
    ]


@pytest.mark.parametrize("builder", ["native", "python"])
def test_a_batch_statistics_request_reads_as_its_queries(builder):
    if builder == "native" and statistics_client.NATIVE_QUERIES_ENCODER is None:
        pytest.skip("the native wire helpers (autoscale/_wire.c) were not built: there was no C compiler at install time")
    native = statistics_client.NATIVE_QUERIES_ENCODER if builder == "native" else None
    assert _read(batch_statistics_request(QUERIES, native=native)) == [
        ("cpu_util", {"group": "web", "zone": "é ✓"}, common_pb2.STATISTIC_AVERAGE, (300, 0), (1_700_000_000, 0),
         (1_700_000_600, 500_000_000), True),
        ("", {}, 0, (0, 1_000_000), (2, 0), (2, 0), True),
        ("m" * 300, {"k" * 200: ""}, common_pb2.STATISTIC_SAMPLE_COUNT, (86_400, 250_000_000), (0, 0), (0, 1), True),
    ]


@needs_native_wire
def test_the_native_and_the_python_requests_read_the_same():
    generator = random.Random(5)
    for _ in range(200):
        queries: list[Query] = [
            (
                "m" * generator.randrange(0, 300),
                tuple(sorted({f"k{n}": "v" * generator.randrange(0, 200) for n in range(generator.randrange(0, 4))}.items())),
                generator.randrange(0, 6),
                generator.choice([60.0, 0.5, 1e-9, 3.0000000005, generator.uniform(0, 1e6)]),
                generator.choice([0.0, 1.9999999999, generator.uniform(0, 2e9)]),
                generator.choice([2e9, generator.uniform(0, 2e9)]),
            )
            for _ in range(generator.randrange(0, 20))
        ]
        assert _read(batch_statistics_request(queries)) == _read(batch_statistics_request(queries, native=None))


@needs_native_wire
def test_the_native_request_refuses_queries_of_another_shape_or_an_infinite_time():
    with pytest.raises(TypeError):
        batch_statistics_request([("cpu", (("group",),), 1, 60.0, 0.0, 60.0)])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        batch_statistics_request([("cpu", (), 1, 60.0, 0.0)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="finite"):
        batch_statistics_request([("cpu", (), 1, 60.0, float("nan"), 60.0)])


def _response(*answers: list[tuple[int, int, float, int]]) -> bytes:
    return metrics_pb2.BatchGetStatisticsResponse(
        responses=[
            metrics_pb2.GetStatisticsResponse(datapoints=[
                metrics_pb2.Datapoint(start_time={"seconds": seconds, "nanos": nanos}, value=value, sample_count=count)
                for seconds, nanos, value, count in answer
            ])
            for answer in answers
        ]
    ).SerializeToString()


ANSWERS = [
    _response(),
    _response([(1_700_000_100, 0, 42.5, 3), (1_700_000_400, 250_000_000, 0.0, 1)], [], [(0, 0, -1e308, 0)]),
    _response(*[[(1_700_000_000 + 300 * n, 0, float(n), n + 1)] for n in range(500)]),
]


@pytest.mark.parametrize("payload", ANSWERS)
@pytest.mark.parametrize("reader", ["native", "python"])
def test_the_answers_read_as_each_querys_datapoints_oldest_first(payload, reader):
    if reader == "native" and statistics_client.NATIVE_ANSWERS_DECODER is None:
        pytest.skip("the native wire helpers (autoscale/_wire.c) were not built: there was no C compiler at install time")
    native = statistics_client.NATIVE_ANSWERS_DECODER if reader == "native" else None
    response = metrics_pb2.BatchGetStatisticsResponse.FromString(payload)
    expected = [
        [(d.start_time.seconds + d.start_time.nanos / 1e9, d.value, d.sample_count) for d in answer.datapoints]
        for answer in response.responses
    ]
    read = statistics_client.batch_statistics_answers(payload, native=native)
    assert read == expected
    assert all(type(datapoint).__name__ == "Datapoint" for answer in read for datapoint in answer)


@needs_native_wire
def test_mutated_answers_read_natively_only_as_protobuf_reads_them():
    generator = random.Random(29)
    agreed = declined = 0
    for _ in range(3000):
        payload = bytes(mutated(generator, generator.choice(ANSWERS[1:])))
        native = statistics_client.NATIVE_ANSWERS_DECODER(payload, Datapoint)  # type: ignore[misc]
        if native is None:
            declined += 1
            continue
        try:
            expected = statistics_client.batch_statistics_answers(payload, native=None)
        except DecodeError:
            pytest.fail(f"read natively what protobuf cannot parse: {payload!r}")
        # NaN != NaN: compare how each value is written.
        assert repr(native) == repr(expected), payload
        agreed += 1
    assert agreed > 100 and declined > 100
