"""PutSamples from the request's bytes: the native decoder for the common case, protobuf for the rest.

The native decoder (autoscale/_wire.c, built with the package when a C compiler is
at hand) reads a valid request in canonical encoding straight into the batch. It
declines anything else, which then goes through protobuf and
`rules.check_put_samples`: those say what is wrong with an invalid request, and
take every encoding protobuf takes. Both give the same batch for the same request.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any, Protocol

from google.protobuf.message import DecodeError, Message

from autoscale import wire
from autoscale.v1 import metrics_pb2
from autoscale.validation import Violations
from services.metrics import rules
from services.metrics.domain import SeriesKey, SeriesPoints


class NativeDecoder(Protocol):
    def decode_put_samples(self, payload: bytes, now: float, latest_allowed: float, /) -> list[SeriesPoints] | None: ...


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


def _parsed(violations: Violations, message_type: type[Message], payload: bytes) -> Any:
    """The message protobuf reads from `payload`; None, with a violation of the request, when it cannot."""
    try:
        return message_type.FromString(payload)
    except DecodeError as error:
        violations.add("request", f"must be a serialized {message_type.__name__}: {error}")
        return None
