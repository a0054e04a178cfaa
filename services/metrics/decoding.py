"""PutSamples from the request's bytes to the batch to store: the native decoder for the common case, protobuf for the rest.

The native decoder (services/metrics/_putsamples.c, built with the package when a C
compiler is at hand) reads a valid request in canonical encoding straight into the
batch. It declines anything else, which then goes through protobuf and
`rules.check_put_samples`: those say what is wrong with an invalid request, and
take every encoding protobuf takes. Both give the same batch for the same request.
"""

from __future__ import annotations

import logging
from collections.abc import Container
from typing import Protocol

from google.protobuf.message import DecodeError

from autoscale.v1 import metrics_pb2
from autoscale.validation import Violations
from services.metrics import rules
from services.metrics.domain import SeriesKey, SeriesPoints

log = logging.getLogger(__name__)


class NativeDecoder(Protocol):
    def decode(self, payload: bytes, now: float, latest_allowed: float, /) -> list[SeriesPoints] | None: ...


def _load_native() -> NativeDecoder | None:
    try:
        from services.metrics import _putsamples  # type: ignore[attr-defined]
    except ImportError:
        return None
    _putsamples.configure(
        SeriesKey,
        SeriesPoints,
        rules.MAX_METRIC_LENGTH,
        rules.MAX_DIMENSION_LENGTH,
        rules.MAX_DIMENSIONS,
        rules.MAX_DIMENSIONS_KEY_BYTES,
        rules.MAX_POINTS_PER_BATCH,
    )
    return _putsamples  # type: ignore[no-any-return]


NATIVE: NativeDecoder | None = _load_native()
"""The native decoder; None where it was not built (PutSamples then decodes every request through protobuf)."""


def decode_put_samples(
    violations: Violations, payload: bytes, now: float, known: Container[SeriesKey] = frozenset(), *, native: NativeDecoder | None = NATIVE
) -> list[SeriesPoints]:
    """The batch a serialized PutSamplesRequest carries, as `rules.check_put_samples` gives it; meaningful only without violations."""
    if native is not None:
        batch = native.decode(payload, now, now + rules.MAX_FUTURE)
        if batch is not None:
            return batch
    try:
        request = metrics_pb2.PutSamplesRequest.FromString(payload)
    except DecodeError as error:
        violations.add("request", f"must be a serialized PutSamplesRequest: {error}")
        return []
    return rules.check_put_samples(violations, request, now, known)


def describe() -> str:
    """Which decoder PutSamples uses, for the start-up log."""
    return "native" if NATIVE is not None else "protobuf (the native decoder was not built)"
