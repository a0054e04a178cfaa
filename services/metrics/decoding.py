"""PutSamples from the request's bytes: the native reader for a plainly valid request, protobuf and the rules for the rest.

The native reader (services/metrics/_put_samples.c, built with the package where a C
compiler is at hand) reads a valid request in canonical encoding straight into the
batch, and declines anything else, which then goes through protobuf and
`rules.check_put_samples`: those say what is wrong with an invalid request, and take
every encoding protobuf takes. Both give the same batch for the same request (tests, and
the fuzz target in fuzz/).
"""

from __future__ import annotations

from collections.abc import Container
from types import ModuleType

from google.protobuf.message import DecodeError

from autoscale import series
from autoscale.v1 import metrics_pb2
from autoscale.validation import Violations
from services.metrics import rules
from services.metrics.domain import SeriesKey, SeriesPoints


def _native() -> ModuleType | None:
    try:
        from services.metrics import _put_samples
    except ImportError:
        return None
    _put_samples.configure(
        SeriesKey, SeriesPoints, series.MAX_METRIC_LENGTH, series.MAX_DIMENSION_LENGTH, series.MAX_DIMENSIONS,
        rules.MAX_DIMENSIONS_KEY_BYTES, rules.MAX_POINTS_PER_BATCH, rules.MAX_SAMPLE_VALUE,
    )
    return _put_samples


NATIVE: ModuleType | None = _native()
"""The native reader; None where it was not built."""


def decode_put_samples(
    violations: Violations, payload: bytes, now: float, known: Container[SeriesKey] = frozenset(), *, native: ModuleType | None = NATIVE
) -> list[SeriesPoints]:
    """The batch a serialized PutSamplesRequest carries, as `rules.check_put_samples` gives it; meaningful only without violations."""
    if native is not None:
        batch: list[SeriesPoints] | None = native.decode(payload, now, now + rules.MAX_FUTURE)
        if batch is not None:
            return batch
    try:
        request = metrics_pb2.PutSamplesRequest.FromString(payload)
    except DecodeError as error:
        violations.add("request", f"must be a serialized PutSamplesRequest: {error}")
        return []
    return rules.check_put_samples(violations, request, now, known)


def describe() -> str:
    """Which reader PutSamples uses, for the start-up log."""
    return "native" if NATIVE is not None else "protobuf (the native reader was not built)"
