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
    ("seconds", "whole", "nanos"),
    [(1.9999999999, 2, 0), (-0.25, -1, 750_000_000), (1700000000.5, 1700000000, 500_000_000)],
)
def test_a_time_rounding_up_to_a_whole_second_carries_into_it(seconds, whole, nanos):
    stamp = to_timestamp(seconds)
    assert (stamp.seconds, stamp.nanos) == (whole, nanos)


@pytest.mark.parametrize(("seconds", "whole", "nanos"), [(4.9999999999, 5, 0), (-4.9999999999, -5, 0), (-1.5, -1, -500_000_000)])
def test_a_duration_rounding_up_to_a_whole_second_carries_into_it_and_keeps_its_sign(seconds, whole, nanos):
    duration = to_duration(seconds)
    assert (duration.seconds, duration.nanos) == (whole, nanos)


@pytest.mark.parametrize(
    ("duration", "allow_zero", "ok"),
    [
        (duration_pb2.Duration(seconds=60), False, True),
        (duration_pb2.Duration(seconds=0), False, False),
        (duration_pb2.Duration(seconds=0), True, True),
        (duration_pb2.Duration(seconds=-5), True, False),
        (duration_pb2.Duration(seconds=86400), True, True),
        (duration_pb2.Duration(seconds=86400, nanos=1000), True, False),
        (duration_pb2.Duration(seconds=10**12), True, False),
        (duration_pb2.Duration(seconds=2**63 - 1), True, False),
        (duration_pb2.Duration(seconds=5, nanos=-1), True, False),
        (duration_pb2.Duration(seconds=5, nanos=1_000_000_000), True, False),
    ],
)
def test_duration_rules(duration, allow_zero, ok):
    violations = Violations()
    check_duration(violations, "policy.cooldown", duration, allow_zero=allow_zero, maximum=86400)
    assert (not violations) is ok


@pytest.mark.parametrize(
    ("duration", "allow_zero", "description"),
    [
        (duration_pb2.Duration(seconds=2**63 - 1), True, "must be between 0s and 86400s, got 9223372036854775807s"),
        (duration_pb2.Duration(seconds=0), False, "must be greater than 0s and at most 86400s, got 0s"),
        (duration_pb2.Duration(seconds=86400, nanos=500_000_000), True, "must be between 0s and 86400s, got 86400.5s"),
        (duration_pb2.Duration(seconds=5, nanos=-1), True, "must be between 0s and 86400s, got seconds=5 nanos=-1"),
    ],
)
def test_a_duration_out_of_range_names_the_allowed_range_and_what_was_given(duration, allow_zero, description):
    violations = Violations()
    check_duration(violations, "group.cooldown", duration, allow_zero=allow_zero, maximum=86400)
    assert [(v.field, v.description) for v in violations.items] == [("group.cooldown", description)]
