"""The predictive floor's maths: a seasonal naive forecast of a target tracking policy's load, turned into a capacity.

AWS's predictive scaling ("Predictive scaling for Amazon EC2 Auto Scaling") forecasts a
load metric (a total over the group) from its history and turns it into capacity with
the scaling metric's target (capacity = load / target per instance); it launches ahead
of the forecast time by SchedulingBufferTime, and a forecast never scales in. This is
the same idea, simpler: the load expected at `now + buffer` is the load one season
earlier (the same time yesterday, last week), each season's load being the total of the
metric over the group's series around that moment. The Metrics service sums samples, not
series, so a window's sum counts each series once per sample it put: the load is the
window's sum times the sample interval over the window (`window_load`), the window being
the policy's period, or the sample interval if that is longer. The seasons that have
samples are aggregated (the greatest by default: the safe side); none has, no floor.
The floor capacity is ceil(load / target) within the group's sizes, and the decision
of the metric becomes max(decided, floor) when the floor is applied.

Pure functions; the caller passes `now` and the loads it read, or the reader of a window's sum (`read_forecast`: the
policy service's executor reads the Metrics service for the moment of each execution, `autoscale policy forecast` for
the moments ahead).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

DAY = 86400.0
WEEK = 7 * DAY

DEFAULT_SEASONS = (DAY, WEEK)
"""The same time yesterday and last week."""

DEFAULT_BUFFER = 300.0
"""Seconds the forecast looks ahead when unset: five minutes for an instance to be ready (AWS's SchedulingBufferTime,
whose default is 300 s)."""


DEFAULT_CPU_SAMPLE_INTERVAL = 15.0
"""Seconds between the predefined CPU metric's samples when unset: the group service's default --cpu-report-interval."""


class FloorMode(StrEnum):
    """Whether a predictive floor is applied (AWS's PredictiveScalingMode)."""

    FORECAST_ONLY = "forecast_only"
    FORECAST_AND_SCALE = "forecast_and_scale"


class SeasonAggregation(StrEnum):
    """How the seasons' loads make one forecast load."""

    MAXIMUM = "maximum"
    AVERAGE = "average"


@dataclass(frozen=True)
class PredictiveFloor:
    """A target tracking policy's predictive floor; None fields take the defaults."""

    seasons: tuple[float, ...] = ()
    """Seconds back each season reads; empty: DEFAULT_SEASONS."""
    mode: FloorMode | None = None
    """None: FORECAST_ONLY (AWS's default)."""
    buffer: float | None = None
    """Seconds ahead; None: DEFAULT_BUFFER."""
    aggregation: SeasonAggregation | None = None
    """None: MAXIMUM."""
    sample_interval: float | None = None
    """Seconds between two samples of one series; None: `sample_interval`'s default."""

    @property
    def effective_seasons(self) -> tuple[float, ...]:
        """The seasons read."""
        return self.seasons or DEFAULT_SEASONS

    @property
    def effective_buffer(self) -> float:
        """The seconds looked ahead."""
        return DEFAULT_BUFFER if self.buffer is None else self.buffer

    def effective_sample_interval(self, period: float, predefined_cpu: bool) -> float:
        """Seconds between two samples of one series: as set, else the CPU reporter's default for the predefined CPU, else
        the policy's `period` (one sample a period, as CloudWatch's one-minute metrics)."""
        if self.sample_interval is not None:
            return self.sample_interval
        return DEFAULT_CPU_SAMPLE_INTERVAL if predefined_cpu else period

    @property
    def applied(self) -> bool:
        """Whether the floor holds the capacity up (FORECAST_AND_SCALE), not only shown."""
        return self.mode is FloorMode.FORECAST_AND_SCALE


@dataclass(frozen=True)
class SeasonLoad:
    """One season's load: the metric's total over the series around the moment one season before the forecast time;
    None when that window had no samples."""

    season: float
    load: float | None


@dataclass(frozen=True)
class Forecast:
    """What one execution forecast."""

    time: float
    """The moment forecast (the execution's time plus the buffer)."""
    seasons: tuple[SeasonLoad, ...]
    load: float | None = None
    """The seasons' loads aggregated; None without any, or when they could not be read."""
    floor_capacity: int | None = None
    """ceil(load / target) within the group's sizes; None with load."""
    applied: bool = False
    """Whether the floor raised the desired capacity."""
    note: str = ""
    """Why there is no floor, for people."""


def season_window(now: float, buffer: float, season: float, period: float, sample_interval: float) -> tuple[float, float]:
    """The window [start, end) around `now + buffer - season` whose samples are that season's load: the policy's period,
    or the sample interval if it is longer (so that each series has a sample in it)."""
    moment = now + buffer - season
    length = max(period, sample_interval)
    return moment - length / 2, moment + length / 2


def window_load(window_sum: float, window_length: float, sample_interval: float) -> float:
    """The total over the series of a window's samples: their sum over the samples each series put in it (the window's
    length over the sample interval)."""
    return window_sum * sample_interval / window_length


def forecast_load(loads: Sequence[SeasonLoad], aggregation: SeasonAggregation | None) -> float | None:
    """The seasons' loads aggregated (the greatest, or the mean), those without samples left out; None when none has."""
    present = [season.load for season in loads if season.load is not None]
    if not present:
        return None
    if aggregation is SeasonAggregation.AVERAGE:
        return sum(present) / len(present)
    return max(present)


def floor_capacity(load: float, target_value: float, min_size: int, max_size: int) -> int:
    """ceil(load / target_value) within [min_size, max_size]: the capacity that holds `load` at the target per instance
    (AWS: capacity = load / target). `target_value` > 0; a negative load asks nothing."""
    wanted = load / target_value
    if not wanted < max_size:  # also infinity
        return max_size
    # NOTE: rounded to 9 digits first, so that float error never ceils a whole quotient one higher (0.3 / 0.1).
    return min(max(math.ceil(round(wanted, 9)), min_size), max_size)


def forecast(
    floor: PredictiveFloor, loads: Sequence[SeasonLoad], *, now: float, target_value: float, min_size: int, max_size: int,
) -> Forecast:
    """The forecast of `floor` at `now` from the seasons' `loads` (not yet applied)."""
    time = now + floor.effective_buffer
    load = forecast_load(loads, floor.aggregation)
    if load is None:
        return Forecast(time, tuple(loads), note="no samples one season before: no floor")
    return Forecast(time, tuple(loads), load, floor_capacity(load, target_value, min_size, max_size))


WindowSum = Callable[[float, float], float | None]
"""Reads the sum of the metric's samples over the group's series in [start, end); None when there is none."""


def read_forecast(
    read_window_sum: WindowSum, floor: PredictiveFloor, *, now: float, period: float, predefined_cpu: bool,
    target_value: float, min_size: int, max_size: int,
) -> Forecast:
    """The forecast of `floor` at `now`, each season's load read by `read_window_sum` over its window (`period`: the
    policy's); what the reader raises goes through."""
    sample_interval = floor.effective_sample_interval(period, predefined_cpu)
    loads = []
    for season in floor.effective_seasons:
        start, end = season_window(now, floor.effective_buffer, season, period, sample_interval)
        window_sum = read_window_sum(start, end)
        loads.append(SeasonLoad(season, None if window_sum is None else window_load(window_sum, end - start, sample_interval)))
    return forecast(floor, loads, now=now, target_value=target_value, min_size=min_size, max_size=max_size)


def floored(decided: int, forecast_made: Forecast, floor: PredictiveFloor) -> tuple[int, Forecast, str]:
    """The desired capacity `decided` with the floor under it when `floor` applies it (FORECAST_AND_SCALE): the capacity,
    the forecast (marked applied when it raised the capacity) and why it was raised, for people ("" when it was not)."""
    if not floor.applied:
        return decided, forecast_made, ""
    desired, raised = apply_floor(decided, forecast_made)
    if not raised:
        return decided, forecast_made, ""
    reason = f"held up at {desired} by the predictive floor (forecast load {forecast_made.load:g})"
    return desired, replace(forecast_made, applied=True), reason


def apply_floor(decided: int, forecast_made: Forecast) -> tuple[int, bool]:
    """The desired capacity with the floor under `decided`, and whether the floor raised it. The floor is already within
    the group's sizes, so this never goes above max_size, and never below `decided` (a forecast never scales in)."""
    floor = forecast_made.floor_capacity
    if floor is None or floor <= decided:
        return decided, False
    return floor, True
