"""Conversions of the metrics service's messages: NotifySamples requests built from serialized parts read as if built field by field."""

from __future__ import annotations

import random

import pytest

from autoscale.v1 import alarm_pb2, metrics_pb2
from services.metrics import messages
from services.metrics.domain import SeriesKey
from tests.support import needs_native_wire

CPU = SeriesKey.of("cpu", {"group": "web", "instance": "i-1"})
DISK = SeriesKey.of("dísk ✓", {})


def _built_field_by_field(series: list[tuple[SeriesKey, float, float]], watch_version: int) -> alarm_pb2.NotifySamplesRequest:
    return alarm_pb2.NotifySamplesRequest(
        series=[
            metrics_pb2.TimeSeries(
                metric=key.metric,
                dimensions=key.dimension_map(),
                points=[metrics_pb2.Point(value=v) for v in ([low] if low == high else [low, high])],
            )
            for key, low, high in series
        ],
        watch_version=watch_version,
    )


@pytest.mark.parametrize(
    "series",
    [
        [],
        [(CPU, 1.5, 1.5)],
        [(CPU, -2.0, 1e300), (DISK, 0.0, 0.0), (SeriesKey.of("m" * 300, {"k" * 200: "v" * 200}), -0.0, 5.0)],
    ],
)
@pytest.mark.parametrize("watch_version", [0, 42, 2**40])
@pytest.mark.parametrize("builder", ["native", "python"])
@pytest.mark.parametrize("changes_accepted", [False, True])
def test_a_notify_samples_request_from_series_headers_equals_one_built_field_by_field(series, watch_version, builder, changes_accepted):
    if builder == "native" and messages.NATIVE_ENCODER is None:
        pytest.skip("the native wire helpers (autoscale/_wire.c) were not built: there was no C compiler at install time")
    native = messages.NATIVE_ENCODER if builder == "native" else None
    headers = ((messages.series_header(key), low, high) for key, low, high in series)
    payload = messages.notify_samples_request(headers, watch_version=watch_version, changes_accepted=changes_accepted, native=native)
    expected = _built_field_by_field(series, watch_version)
    expected.watch_list_changes_accepted = changes_accepted
    assert alarm_pb2.NotifySamplesRequest.FromString(payload) == expected


@needs_native_wire
def test_the_native_and_the_python_builders_write_the_same_bytes():
    generator = random.Random(7)
    for _ in range(200):
        series = []
        for _ in range(generator.randrange(0, 20)):
            key = SeriesKey.of("m" * generator.randrange(1, 200), {f"k{n}": "v" * generator.randrange(0, 300) for n in range(3)})
            low = generator.choice([0.0, -0.0, 1.5, -1e308, 5e-324, generator.uniform(-1e6, 1e6)])
            high = generator.choice([low, generator.uniform(-1e6, 1e6), 1e308])
            series.append((messages.series_header(key), low, high))
        version = generator.choice([0, 1, 127, 128, 2**63 - 1])
        assert messages.notify_samples_request(series, version) == messages.notify_samples_request(series, version, native=None)


@needs_native_wire
def test_the_native_builder_refuses_entries_of_another_shape():
    assert messages.NATIVE_ENCODER is not None
    with pytest.raises(TypeError):
        messages.NATIVE_ENCODER([("not bytes", 1.0, 2.0)], 0)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        messages.NATIVE_ENCODER([(b"header", "low", 2.0)], 0)  # type: ignore[list-item]


def test_a_notify_samples_request_refuses_a_negative_watch_version():
    with pytest.raises(ValueError, match="never negative"):
        messages.notify_samples_request([], watch_version=-1)


def _random_answers(generator: random.Random) -> messages.StatisticsAnswers:
    return [
        [
            (
                generator.choice([0.0, 1_700_000_100.0, 1.9999999999, 1_700_000_000.123456789, generator.uniform(0, 2e9)]),
                generator.choice([0.0, -0.0, 5e-324, -1e308, float("nan"), generator.uniform(-1e6, 1e6)]),
                generator.choice([0, 1, 127, 128, 2**40]),
            )
            for _ in range(generator.randrange(0, 4))
        ]
        for _ in range(generator.randrange(0, 30))
    ]


@pytest.mark.parametrize("builder", ["native", "python"])
def test_a_batch_statistics_response_reads_as_each_querys_datapoints(builder):
    if builder == "native" and messages.NATIVE_ANSWERS_ENCODER is None:
        pytest.skip("the native wire helpers (autoscale/_wire.c) were not built: there was no C compiler at install time")
    native = messages.NATIVE_ANSWERS_ENCODER if builder == "native" else None
    answers = [[(1_700_000_100.0, 42.5, 3), (1_700_000_400.25, 0.0, 1)], [], [(1.9999999999, -1.0, 0)]]
    response = metrics_pb2.BatchGetStatisticsResponse.FromString(messages.batch_statistics_response(answers, native=native))
    read = [
        [(d.start_time.seconds, d.start_time.nanos, d.value, d.sample_count) for d in answer.datapoints] for answer in response.responses
    ]
    assert read == [[(1_700_000_100, 0, 42.5, 3), (1_700_000_400, 250_000_000, 0.0, 1)], [], [(2, 0, -1.0, 0)]]


@needs_native_wire
def test_the_native_and_the_python_statistics_answers_read_the_same():
    generator = random.Random(11)
    for _ in range(200):
        answers = _random_answers(generator)
        native = metrics_pb2.BatchGetStatisticsResponse.FromString(messages.batch_statistics_response(answers))
        python = metrics_pb2.BatchGetStatisticsResponse.FromString(messages.batch_statistics_response(answers, native=None))
        # NaN != NaN: compare the serialized forms, each written by protobuf from what it read.
        assert native.SerializeToString(deterministic=True) == python.SerializeToString(deterministic=True)


@needs_native_wire
def test_the_native_statistics_answers_refuse_entries_of_another_shape_or_an_infinite_time():
    with pytest.raises(TypeError):
        messages.batch_statistics_response([[(1.0, 2.0)]])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        messages.batch_statistics_response([(1.0, 2.0, 3)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="finite"):
        messages.batch_statistics_response([[(float("inf"), 2.0, 3)]])
