"""Proto time conversions."""

import pytest
from google.protobuf import duration_pb2

from autoscale.timeutil import check_duration, from_duration, from_timestamp, to_duration, to_timestamp
from autoscale.validation import Violations


@pytest.mark.parametrize("seconds", [0.0, 1.5, 1700000000.25, 1700000000.999999])
def test_timestamps_round_trip(seconds):
    assert from_timestamp(to_timestamp(seconds)) == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize("seconds", [0.0, 0.5, 60.0, 300.25])
def test_durations_round_trip(seconds):
    assert from_duration(to_duration(seconds)) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("duration", "allow_zero", "ok"),
    [
        (duration_pb2.Duration(seconds=60), False, True),
        (duration_pb2.Duration(seconds=0), False, False),
        (duration_pb2.Duration(seconds=0), True, True),
        (duration_pb2.Duration(seconds=-5), True, False),
    ],
)
def test_duration_rules(duration, allow_zero, ok):
    violations = Violations()
    check_duration(violations, "policy.cooldown", duration, allow_zero=allow_zero)
    assert (not violations) is ok
