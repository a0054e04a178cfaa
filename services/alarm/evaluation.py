"""The threshold evaluator, after Aodh's: statistics per period, the newest periods decide the state.

Buckets are aligned to multiples of `period` since the epoch. The rule looks at the
last `evaluation_periods + 1` buckets (the newest may have only just begun, so it
must not count as missing) and takes the newest `evaluation_periods` non-empty ones:
all breaching → ALARM, none breaching → OK, mixed → the state stays (from
INSUFFICIENT_DATA it takes the newest bucket's side); fewer non-empty buckets than
`evaluation_periods` → INSUFFICIENT_DATA. Pure functions: `now` is passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from services.alarm.domain import AlarmState, Statistic, ThresholdRule


class Datapoint(NamedTuple):
    """The rule's statistic over one period (a tuple: a sweep reads tens of thousands)."""

    start: float
    value: float
    sample_count: int


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation found: the state the alarm should be in and why."""

    state: AlarmState
    reason: str
    reason_data: dict[str, Any] = field(default_factory=dict)


def bucket_start(time: float, period: float) -> float:
    """Start of the period-aligned bucket holding `time`."""
    return math.floor(time / period) * period


def query_window(rule: ThresholdRule, now: float) -> tuple[float, float]:
    """[start, end) of the statistics an evaluation at `now` needs: the last evaluation_periods + 1 buckets."""
    current = bucket_start(now, rule.period)
    return current - rule.evaluation_periods * rule.period, current + rule.period


def evaluate_threshold_rule(rule: ThresholdRule, current_state: AlarmState, datapoints: list[Datapoint], now: float) -> Evaluation:
    """The state `rule` puts an alarm in, given the statistics of its window at `now`."""
    start, end = query_window(rule, now)
    in_window = sorted((d for d in datapoints if start <= d.start < end and d.sample_count > 0), key=lambda d: d.start)
    needed = rule.evaluation_periods
    usable = in_window[-needed:]
    subject = f"{rule.describe()} {rule.comparison.value} {_number(rule.threshold)}"
    if len(usable) < needed:
        return Evaluation(
            AlarmState.INSUFFICIENT_DATA,
            f"{len(usable)} of the {needed} periods of {_number(rule.period)}s needed have datapoints of {rule.describe()}",
            {"type": "threshold", "count": len(usable), "needed": needed},
        )
    values = ", ".join(_number(d.value) for d in usable)
    breaching = [rule.comparison.breaches(d.value, rule.threshold) for d in usable]
    data = {"type": "threshold", "count": needed, "most_recent": usable[-1].value, "threshold": rule.threshold}
    if all(breaching):
        return Evaluation(
            AlarmState.ALARM,
            f"{subject} in the last {_periods(needed, rule.period)}: {values} (newest last)",
            {**data, "disposition": "outside"},
        )
    if not any(breaching):
        return Evaluation(
            AlarmState.OK,
            f"not {subject} in the last {_periods(needed, rule.period)}: {values} (newest last)",
            {**data, "disposition": "inside"},
        )
    if current_state is AlarmState.INSUFFICIENT_DATA:
        newest_breaches = breaching[-1]
        side = "" if newest_breaches else "not "
        return Evaluation(
            AlarmState.ALARM if newest_breaches else AlarmState.OK,
            f"{side}{subject} in the newest period of {_number(rule.period)}s (the earlier ones are mixed): {values} (newest last)",
            {**data, "disposition": "outside" if newest_breaches else "inside"},
        )
    return Evaluation(
        current_state,
        f"mixed: {sum(breaching)} of the last {_periods(needed, rule.period)} {subject}: {values} (newest last); the state stays",
        {**data, "disposition": "mixed"},
    )


def _periods(count: int, period: float) -> str:
    return f"{count} period{'s' if count != 1 else ''} of {_number(period)}s"


def _number(value: float) -> str:
    return f"{value:g}"


def could_change_state(rule: ThresholdRule, state: AlarmState, lowest: float, highest: float) -> bool:
    """Whether new points with values in [lowest, highest] could move an alarm out of `state`.

    This decides which alarms are evaluated first when samples arrive. A value on
    the side of the threshold that the state already stands for can only keep
    the state: for an average, a minimum or a maximum it makes no period breach
    if it was not (OK), or stop breaching if it was (ALARM), and a new period it
    opens shares that side. Sums and counts move with every point, and any data
    may end INSUFFICIENT_DATA, so those always could. The passing of time
    (periods emptying) is the sweep's to notice, not the arrivals'.
    """
    if state is AlarmState.INSUFFICIENT_DATA or rule.statistic in (Statistic.SUM, Statistic.SAMPLE_COUNT):
        return True
    breaching_lowest = rule.comparison.breaches(lowest, rule.threshold)
    breaching_highest = rule.comparison.breaches(highest, rule.threshold)
    if state is AlarmState.OK:
        return breaching_lowest or breaching_highest
    return not (breaching_lowest and breaching_highest)
