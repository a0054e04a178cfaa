"""The sweep's BatchGetStatistics request, written natively or through protobuf, reads as the same queries."""

from __future__ import annotations

import random

import pytest

from autoscale.v1 import common_pb2, metrics_pb2
from services.alarm import statistics_client
from services.alarm.statistics_client import Query, batch_statistics_request
from tests.support import needs_native_wire

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
