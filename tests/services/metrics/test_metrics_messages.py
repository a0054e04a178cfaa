"""Conversions of the metrics service's messages: NotifySamples requests built from serialized parts read as if built field by field."""

from __future__ import annotations

import pytest

from autoscale.v1 import alarm_pb2, metrics_pb2
from services.metrics import messages
from services.metrics.domain import SeriesKey

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
def test_a_notify_samples_request_from_series_headers_equals_one_built_field_by_field(series, watch_version):
    headers = ((messages.series_header(key), low, high) for key, low, high in series)
    built = alarm_pb2.NotifySamplesRequest.FromString(messages.notify_samples_request(headers, watch_version=watch_version))
    assert built == _built_field_by_field(series, watch_version)


def test_a_notify_samples_request_refuses_a_negative_watch_version():
    with pytest.raises(ValueError, match="never negative"):
        messages.notify_samples_request([], watch_version=-1)
