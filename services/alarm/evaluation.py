"""The evaluator of rules over periods: statistics per period, the newest periods decide the state.

Two rules judge the periods, Aodh's (the default) and CloudWatch's (when the alarm sets
datapoints_to_alarm or treat_missing_data). Pure functions: `now` is passed in.

Buckets are aligned to multiples of `period` since the epoch; the newest bucket is the
one under way. Aodh's rule looks at the last `evaluation_periods + 1` buckets (the newest
may have only just begun, so it must not count as missing) and takes the newest
`evaluation_periods` non-empty ones: all breaching → ALARM, none breaching → OK, mixed →
the state stays (from INSUFFICIENT_DATA it takes the newest bucket's side); fewer
non-empty buckets than `evaluation_periods` → INSUFFICIENT_DATA.

CloudWatch's rule (its user guide, "How Alarm State is Evaluated When Data is Missing")
looks at an evaluation range of the last `evaluation_periods + 2` buckets. With at least
N = `evaluation_periods` non-empty ones, the newest N decide: M = `datapoints_to_alarm`
(0: N) breaching or more → ALARM, fewer → OK. With fewer than N, all of them count and
the missing ones are filled up to N as `treat_missing_data` says: BREACHING and
NOT_BREACHING count them so, and M breaching → ALARM, fewer → OK; MISSING and IGNORE
fill nothing: M breaching → ALARM, otherwise a datapoint within the threshold → OK, and
otherwise (no datapoints, or too few and all breaching) MISSING → INSUFFICIENT_DATA and
IGNORE → the state stays; but under MISSING, breaching datapoints none of which lies in
the newest N periods (the metric stopped after it breached) → ALARM. This gives every
cell of the guide's two tables, "X - - - -" (ALARM) and "- - - - X" (INSUFFICIENT_DATA)
among them.

A rule over an external store (services.alarm.stores) is judged by the same maths
(`judge_periods`) over its own window: the store evaluates the query at the instants
now - period * k, ..., now (k = evaluation_periods for Aodh's rule, evaluation_periods + 1
for CloudWatch's), each value standing for the period that ends at its instant (the
newest instant may lack data as the newest bucket may). A store that cannot answer puts
the alarm in INSUFFICIENT_DATA with its reason (`store_unavailable`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from autoscale.series import Statistic, bucket_start
from services.alarm.domain import (
    NO_REASON_DATA,
    AlarmState,
    ComparisonOperator,
    PeriodicRule,
    StoreRule,
    ThresholdRule,
    TreatMissingData,
    follows_cloudwatch,
)


class JudgedPeriods(Protocol):
    """What the decision maths read of a rule, whatever its kind."""

    @property
    def comparison(self) -> ComparisonOperator: ...
    @property
    def threshold(self) -> float: ...
    @property
    def period(self) -> float: ...
    @property
    def evaluation_periods(self) -> int: ...
    @property
    def datapoints_to_alarm(self) -> int: ...
    @property
    def treat_missing_data(self) -> TreatMissingData | None: ...
    def describe(self) -> str: ...


class Datapoint(NamedTuple):
    """The rule's statistic over one period (a tuple: a sweep reads tens of thousands)."""

    start: float
    value: float
    sample_count: int


class Evaluation(NamedTuple):
    """What one evaluation found: the state the alarm should be in and why (a tuple: a sweep makes one per alarm)."""

    state: AlarmState
    reason: str
    reason_data: Mapping[str, Any] = NO_REASON_DATA


def window_periods(rule: JudgedPeriods) -> int:
    """The periods an evaluation reads, the one under way included: evaluation_periods + 1 by Aodh's rule, CloudWatch's
    evaluation range of evaluation_periods + 2 by its own."""
    return rule.evaluation_periods + (2 if follows_cloudwatch(rule) else 1)


def query_window(rule: ThresholdRule, now: float) -> tuple[float, float]:
    """[start, end) of the statistics an evaluation at `now` needs: the last window_periods buckets."""
    current = bucket_start(now, rule.period)
    return current - (window_periods(rule) - 1) * rule.period, current + rule.period


def evaluate_threshold_rule(rule: ThresholdRule, current_state: AlarmState, datapoints: list[Datapoint], now: float) -> Evaluation:
    """The state `rule` puts an alarm in, given the statistics of its window at `now`."""
    start, end = query_window(rule, now)
    in_window = [d for d in datapoints if start <= d.start < end and d.sample_count > 0]
    return judge_periods(rule, current_state, in_window, newest_from=end - rule.evaluation_periods * rule.period)


def store_window(rule: StoreRule, now: float) -> tuple[float, float]:
    """[start, end] of the instants an external store evaluates a rule's query at, at `now` (a step of `period` apart)."""
    return now - (window_periods(rule) - 1) * rule.period, now


def evaluate_store_rule(rule: StoreRule, current_state: AlarmState, datapoints: list[Datapoint], now: float) -> Evaluation:
    """The state a rule over an external store puts an alarm in, given the datapoints the store answered for its window
    at `now` (each starting a period before its instant, see services.alarm.stores)."""
    start, end = store_window(rule, now)
    # Each instant's datapoint starts a period before it; half a period either way absorbs the store's rounding of times
    # (Prometheus keeps milliseconds) and takes exactly the instants asked.
    low, high = start - 1.5 * rule.period, end - 0.5 * rule.period
    in_window = [d for d in datapoints if low <= d.start <= high and d.sample_count > 0]
    return judge_periods(rule, current_state, in_window, newest_from=end - (rule.evaluation_periods + 0.5) * rule.period)


def evaluate_rule(rule: PeriodicRule, current_state: AlarmState, datapoints: list[Datapoint], now: float) -> Evaluation:
    """The state `rule` (of any kind) puts an alarm in, given the datapoints of its window at `now`."""
    if isinstance(rule, ThresholdRule):
        return evaluate_threshold_rule(rule, current_state, datapoints, now)
    return evaluate_store_rule(rule, current_state, datapoints, now)


def store_unavailable(rule: StoreRule, reason: str) -> Evaluation:
    """INSUFFICIENT_DATA because the rule's store could not answer, or answered what cannot be judged; `reason` says why."""
    return Evaluation(AlarmState.INSUFFICIENT_DATA, reason, {"type": rule.store, "error": reason})


def judge_periods(
    rule: JudgedPeriods, current_state: AlarmState, in_window: list[Datapoint], newest_from: float | None = None
) -> Evaluation:
    """The state the datapoints of a rule's window (non-empty periods only) put an alarm in: the decision maths of every rule
    kind. `newest_from`: where the newest evaluation_periods periods of the window start (CloudWatch's rule reads it)."""
    # NOTE: a sweep judges every alarm (a hundred thousand a minute at scale): no generator, no key
    # function in Python (datapoints come in order, which sorting finds at once), one dict per answer.
    in_window.sort(key=_START)
    if follows_cloudwatch(rule):
        return _judge_m_of_n(rule, current_state, in_window, newest_from)
    period = rule.period
    needed = rule.evaluation_periods
    usable = in_window[-needed:]
    if len(usable) < needed:
        return Evaluation(
            AlarmState.INSUFFICIENT_DATA,
            f"{len(usable)} of the {needed} periods of {_number(period)}s needed have datapoints of {rule.describe()}",
            {"type": "threshold", "count": len(usable), "needed": needed},
        )
    subject = f"{rule.describe()} {rule.comparison.value} {rule.threshold:g}"
    values = ", ".join([f"{d.value:g}" for d in usable])
    breaches, threshold = rule.comparison.breaches, rule.threshold
    breaching = sum(1 for d in usable if breaches(d.value, threshold))
    newest_breaches = breaches(usable[-1].value, threshold)
    if breaching == needed:
        state, disposition, said = AlarmState.ALARM, "outside", f"{subject} in the last {_periods(needed, period)}"
    elif breaching == 0:
        state, disposition, said = AlarmState.OK, "inside", f"not {subject} in the last {_periods(needed, period)}"
    elif current_state is AlarmState.INSUFFICIENT_DATA:
        state, disposition = (AlarmState.ALARM, "outside") if newest_breaches else (AlarmState.OK, "inside")
        side = "" if newest_breaches else "not "
        said = f"{side}{subject} in the newest period of {_number(period)}s (the earlier ones are mixed)"
    else:
        state, disposition = current_state, "mixed"
        said = f"mixed: {breaching} of the last {_periods(needed, period)} {subject}"
    reason = f"{said}: {values} (newest last); the state stays" if disposition == "mixed" else f"{said}: {values} (newest last)"
    return Evaluation(
        state,
        reason,
        {
            "type": "threshold", "count": needed, "most_recent": usable[-1].value, "threshold": threshold,
            "disposition": disposition, "datapoints": [d.value for d in usable],
        },
    )


def _judge_m_of_n(
    rule: JudgedPeriods, current_state: AlarmState, in_window: list[Datapoint], newest_from: float | None
) -> Evaluation:
    """CloudWatch's rule (see the module's docstring) over the datapoints of the evaluation range, oldest first."""
    period, needed = rule.period, rule.evaluation_periods
    to_alarm = rule.datapoints_to_alarm or needed
    treatment = rule.treat_missing_data or TreatMissingData.MISSING
    usable = in_window[-needed:]
    breaches, threshold = rule.comparison.breaches, rule.threshold
    breaching = sum(1 for d in usable if breaches(d.value, threshold))
    missing = needed - len(usable)
    filled = missing if treatment in (TreatMissingData.BREACHING, TreatMissingData.NOT_BREACHING) else 0
    counted = breaching + (filled if treatment is TreatMissingData.BREACHING else 0)
    subject = f"{rule.describe()} {rule.comparison.value} {threshold:g}"
    points = ", ".join([f"{d.value:g}" for d in usable])
    if filled:
        side = "breaching" if treatment is TreatMissingData.BREACHING else "not breaching"
        fill = f"{filled} missing period{'s' if filled != 1 else ''} counted as {side}"
        points = f"{points} and {fill}" if points else fill
    points = points or "no datapoints"
    if counted >= to_alarm:
        state, disposition = AlarmState.ALARM, "outside"
        said = f"{counted} of the last {_periods(needed, period)} {subject} (at least {to_alarm} alarm)"
    elif missing == 0 or filled or breaching < len(usable):
        state, disposition = AlarmState.OK, "inside"
        said = f"{counted} of the last {_periods(needed, period)} {subject}, fewer than the {to_alarm} that alarm"
    elif (
        treatment is TreatMissingData.MISSING and usable and newest_from is not None and usable[-1].start < newest_from
    ):
        # The guide's "X - - - -": breaching datapoints only, none in the newest periods (the metric stopped after it
        # breached): ALARM, where the same datapoint among the newest ("- - - - X") is too few to decide.
        state, disposition = AlarmState.ALARM, "outside"
        said = (
            f"{subject} in the {breaching} datapoint{'s' if breaching != 1 else ''} of the range, none of them in the last "
            f"{_periods(needed, period)}: the metric stopped after it breached"
        )
    else:
        state, disposition = (
            (AlarmState.INSUFFICIENT_DATA, "insufficient") if treatment is TreatMissingData.MISSING else (current_state, "ignored")
        )
        said = (
            f"{len(usable)} of the {needed} periods of {_number(period)}s needed have datapoints of {rule.describe()}, "
            f"{breaching} of them {subject} (at least {to_alarm} alarm) and none within it; missing data is "
            + ("treated as missing" if treatment is TreatMissingData.MISSING else "ignored: the state stays")
        )
    reason_data: dict[str, Any] = {
        "type": "threshold", "count": len(usable), "needed": needed, "threshold": threshold, "disposition": disposition,
        "datapoints_to_alarm": to_alarm, "treat_missing_data": treatment.value,
    }
    if state is not AlarmState.INSUFFICIENT_DATA:
        # What decided the state (an action's payload hands it on); too few to decide, they decided nothing.
        reason_data["datapoints"] = [d.value for d in usable]
    if usable:
        reason_data["most_recent"] = usable[-1].value
    return Evaluation(state, f"{said}: {points} (newest last)", reason_data)


_START = operator.attrgetter("start")


def _periods(count: int, period: float) -> str:
    return f"{count} period{'s' if count != 1 else ''} of {_number(period)}s"


def _number(value: float) -> str:
    return f"{value:g}"


QuietBand = tuple[float, float]
"""Values [low, high], both ends included, that new points may take without being able to move an alarm's state."""

NEVER_QUIET: QuietBand = (math.inf, -math.inf)
"""The band no value lies in: every new point could move the state."""

_BELOW, _ABOVE = -math.inf, math.inf


def quiet_band(rule: ThresholdRule, state: AlarmState) -> QuietBand:
    """The values new points may take without being able to move an alarm out of `state`.

    This decides which alarms are evaluated at once when samples arrive (see
    services.alarm.feed); the others wait for the periodic sweep. A value
    on the side of the threshold that the state already stands for can only keep
    the state: for an average, a minimum or a maximum it makes no period breach if
    it was not (OK), or stop breaching if it was (ALARM), and a new period it opens
    shares that side. Sums and counts move with every point, and any data may end
    INSUFFICIENT_DATA, so no value is quiet for those. The passing of time (periods
    emptying) is the sweep's to notice, not the arrivals'.
    """
    if state is AlarmState.INSUFFICIENT_DATA or rule.statistic in (Statistic.SUM, Statistic.SAMPLE_COUNT):
        return NEVER_QUIET
    threshold = rule.threshold
    # The side that does not breach, as a closed band: a strict comparison's threshold itself does not breach.
    below_or_at = rule.comparison in (ComparisonOperator.GREATER_THAN, ComparisonOperator.GREATER_THAN_OR_EQUAL)
    threshold_breaches = rule.comparison in (ComparisonOperator.GREATER_THAN_OR_EQUAL, ComparisonOperator.LESS_THAN_OR_EQUAL)
    if state is AlarmState.OK:
        edge = threshold if not threshold_breaches else math.nextafter(threshold, _BELOW if below_or_at else _ABOVE)
        return (_BELOW, edge) if below_or_at else (edge, _ABOVE)
    edge = threshold if threshold_breaches else math.nextafter(threshold, _ABOVE if below_or_at else _BELOW)
    return (edge, _ABOVE) if below_or_at else (_BELOW, edge)


def could_change_state(rule: ThresholdRule, state: AlarmState, lowest: float, highest: float) -> bool:
    """Whether new points with values in [lowest, highest] could move an alarm out of `state` (see quiet_band)."""
    low, high = quiet_band(rule, state)
    return not (low <= lowest and highest <= high)
