"""Types of the native PutSamples reader (_put_samples.c), for the checker: the module exists only where it was built."""

from services.metrics.domain import SeriesKey, SeriesPoints

def configure(
    series_key: type[SeriesKey],
    series_points: type[SeriesPoints],
    max_metric_length: int,
    max_dimension_length: int,
    max_dimensions: int,
    max_dimensions_key_bytes: int,
    max_points: int,
    max_value: float,
    /,
) -> None: ...
def decode(payload: bytes, now: float, latest_allowed: float, /) -> list[SeriesPoints] | None:
    """The batch of a valid request in canonical encoding, or None for what protobuf and the rules must read."""
