"""The predictive floor's maths (services.policy.forecast), table-driven, with the public documentation's examples.

AWS, PredictiveScalingMetricSpecification (Amazon EC2 Auto Scaling API reference,
https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PredictiveScalingMetricSpecification.html): with the
ALBRequestCount pair and a target value of 1000.0, "the number of requests the target group receives per minute
provides the load metric, and the request count averaged between the members of the target group provides the scaling
metric": the capacity is the load over the target per instance (a forecast of 5000 requests a minute asks 5 instances).
AWS, "Predictive scaling for Amazon EC2 Auto Scaling": SchedulingBufferTime launches ahead of the forecast (default
300 s), the forecast capacity never goes above the group's maximum unless MaxCapacityBreachBehavior says so (here it
never does), and predictive scaling never scales in: dynamic scaling does.
"""

from __future__ import annotations

import pytest

from autoscale.config import Settings
from services.policy.forecast import (
    DAY,
    DEFAULT_BUFFER,
    DEFAULT_CPU_SAMPLE_INTERVAL,
    WEEK,
    FloorMode,
    Forecast,
    PredictiveFloor,
    SeasonAggregation,
    SeasonLoad,
    apply_floor,
    floor_capacity,
    forecast,
    forecast_load,
    read_forecast,
    season_window,
    window_load,
)

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("buffer", "season", "period", "sample_interval", "window"),
    [
        (300.0, DAY, 60.0, 15.0, (NOW + 300 - DAY - 30, NOW + 300 - DAY + 30)),  # yesterday, five minutes ahead
        (0.0, WEEK, 60.0, 60.0, (NOW - WEEK - 30, NOW - WEEK + 30)),  # last week, no buffer
        (600.0, DAY, 120.0, 15.0, (NOW + 600 - DAY - 60, NOW + 600 - DAY + 60)),  # the policy's period is the window
        (0.0, DAY, 1.0, 15.0, (NOW - DAY - 7.5, NOW - DAY + 7.5)),  # unless samples are rarer: each series has one in it
    ],
)
def test_a_season_reads_the_window_around_the_forecast_moment_one_season_before(
    buffer: float, season: float, period: float, sample_interval: float, window: tuple[float, float]
) -> None:
    assert season_window(NOW, buffer, season, period, sample_interval) == window


@pytest.mark.parametrize(
    ("window_sum", "window_length", "sample_interval", "load"),
    [
        (360.0, 60.0, 60.0, 360.0),  # one sample a series a window: the sum is the total (CloudWatch's one-minute Sum)
        (1440.0, 60.0, 15.0, 360.0),  # four instances at 90 % sampled every 15 s: 16 samples in a minute, a total of 360
        (90.0, 15.0, 15.0, 90.0),
        (0.0, 60.0, 15.0, 0.0),
    ],
)
def test_a_windows_sum_counts_each_series_once(window_sum: float, window_length: float, sample_interval: float, load: float) -> None:
    assert window_load(window_sum, window_length, sample_interval) == load


@pytest.mark.parametrize(
    ("loads", "aggregation", "expected"),
    [
        ([120.0, 300.0], None, 300.0),  # the greatest by default: the safe side
        ([120.0, 300.0], SeasonAggregation.MAXIMUM, 300.0),
        ([120.0, 300.0], SeasonAggregation.AVERAGE, 210.0),
        ([None, 300.0], SeasonAggregation.AVERAGE, 300.0),  # a season without samples is left out
        ([120.0, None], None, 120.0),
        ([None, None], None, None),  # no history: no forecast
        ([], None, None),
        ([0.0, None], None, 0.0),  # an idle season is a forecast of no load, not a missing one
    ],
)
def test_the_seasons_loads_are_aggregated_leaving_out_those_without_samples(
    loads: list[float | None], aggregation: SeasonAggregation | None, expected: float | None
) -> None:
    seasons = [SeasonLoad(season, load) for season, load in zip((DAY, WEEK), loads, strict=False)]
    assert forecast_load(seasons, aggregation) == expected


@pytest.mark.parametrize(
    ("load", "target", "min_size", "max_size", "expected"),
    [
        (5000.0, 1000.0, 0, 10, 5),  # AWS's ALBRequestCount example: 5000 requests a minute at 1000 each
        (5001.0, 1000.0, 0, 10, 6),  # a part of an instance is an instance
        (400.0, 50.0, 1, 10, 8),  # four instances at 100 % CPU against 50 %
        (0.3, 0.1, 0, 10, 3),  # float error does not ceil a whole quotient one higher
        (10.0, 50.0, 2, 10, 2),  # min_size bounds it below
        (0.0, 50.0, 1, 10, 1),
        (-20.0, 50.0, 0, 10, 0),  # a negative load asks nothing
        (9000.0, 50.0, 1, 10, 10),  # max_size bounds it above: never beyond the maximum
        (float("inf"), 50.0, 1, 10, 10),
        (1e308, 1e-10, 1, 10, 10),  # an overflowing quotient is the maximum
    ],
)
def test_the_floor_is_the_load_over_the_target_within_the_sizes(
    load: float, target: float, min_size: int, max_size: int, expected: int
) -> None:
    assert floor_capacity(load, target, min_size, max_size) == expected


def test_a_forecast_looks_ahead_by_the_buffer_and_turns_the_load_into_a_floor() -> None:
    loads = (SeasonLoad(DAY, 360.0), SeasonLoad(WEEK, 90.0))
    made = forecast(PredictiveFloor(), loads, now=NOW, target_value=50.0, min_size=1, max_size=10)
    assert made == Forecast(NOW + DEFAULT_BUFFER, loads, load=360.0, floor_capacity=8)


def test_a_forecast_without_history_has_no_floor_and_says_so() -> None:
    loads = (SeasonLoad(DAY, None),)
    made = forecast(PredictiveFloor(seasons=(DAY,), buffer=0.0), loads, now=NOW, target_value=50.0, min_size=1, max_size=10)
    assert (made.time, made.load, made.floor_capacity) == (NOW, None, None)
    assert "no samples" in made.note


@pytest.mark.parametrize(
    ("decided", "floor", "expected"),
    [
        (2, 5, (5, True)),  # the floor holds the capacity up (or scales out ahead of the load)
        (6, 5, (6, False)),  # above the floor: a forecast never scales in
        (5, 5, (5, False)),
        (2, None, (2, False)),  # no floor
    ],
)
def test_the_floor_only_raises_the_decided_capacity(decided: int, floor: int | None, expected: tuple[int, bool]) -> None:
    made = Forecast(NOW, (), load=None if floor is None else 1.0, floor_capacity=floor)
    assert apply_floor(decided, made) == expected


@pytest.mark.parametrize(
    ("floor", "seasons", "buffer", "applied"),
    [
        (PredictiveFloor(), (DAY, WEEK), DEFAULT_BUFFER, False),  # AWS's default mode: forecast only
        (PredictiveFloor(mode=FloorMode.FORECAST_ONLY), (DAY, WEEK), DEFAULT_BUFFER, False),
        (PredictiveFloor(seasons=(3600.0,), mode=FloorMode.FORECAST_AND_SCALE, buffer=0.0), (3600.0,), 0.0, True),
    ],
)
def test_unset_fields_take_the_defaults(floor: PredictiveFloor, seasons: tuple[float, ...], buffer: float, applied: bool) -> None:
    assert (floor.effective_seasons, floor.effective_buffer, floor.applied) == (seasons, buffer, applied)


@pytest.mark.parametrize(
    ("sample_interval", "predefined_cpu", "expected"),
    [
        (None, True, DEFAULT_CPU_SAMPLE_INTERVAL),  # the group service's CPU reporter
        (None, False, 60.0),  # a sample a period
        (10.0, True, 10.0),
        (10.0, False, 10.0),
    ],
)
def test_the_sample_interval_is_the_cpu_reporters_or_the_policys_period_unless_set(
    sample_interval: float | None, predefined_cpu: bool, expected: float
) -> None:
    assert PredictiveFloor(sample_interval=sample_interval).effective_sample_interval(60.0, predefined_cpu) == expected


def test_the_cpu_sample_interval_is_the_group_services_default_report_interval() -> None:
    assert DEFAULT_CPU_SAMPLE_INTERVAL == Settings().cpu_report_interval


def test_reading_a_forecast_asks_each_seasons_window_and_scales_its_sum() -> None:
    asked: list[tuple[float, float]] = []
    sums = {NOW + 300 - DAY - 30: 1440.0}  # yesterday: 16 samples of 90 (four instances every 15 s); last week: none

    def read_window_sum(start: float, end: float) -> float | None:
        asked.append((start, end))
        return sums.get(start)

    made = read_forecast(
        read_window_sum, PredictiveFloor(), now=NOW, period=60.0, predefined_cpu=True, target_value=50.0, min_size=1, max_size=10,
    )
    assert asked == [(NOW + 300 - DAY - 30, NOW + 300 - DAY + 30), (NOW + 300 - WEEK - 30, NOW + 300 - WEEK + 30)]
    assert made == Forecast(NOW + 300, (SeasonLoad(DAY, 360.0), SeasonLoad(WEEK, None)), 360.0, 8)
