"""SampleFeedService: the metrics service says which series just received points; the alarms they may move are evaluated now.

A call names the series of one project (the one it acts in: the metrics service sends
one call per project), and only that project's alarms hear of them.

Each series comes with the lowest and the highest value it received. An alarm
watching it is queued in the evaluator's urgent lane when those values could move
it out of its state (see evaluation.could_change_state); otherwise evaluating it
would only confirm the state, and the periodic sweep does so in its turn, except
for an alarm whose state's actions repeat, which is queued in the normal lane when
they are due again (see Alarm.repeated_actions).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from itertools import compress
from typing import NamedTuple, cast

import grpc

from autoscale import telemetry
from autoscale.identity import current_project
from autoscale.internal.v1 import sample_feed_pb2, sample_feed_pb2_grpc
from autoscale.timeutil import Clock
from autoscale.validation import Violations
from services.alarm.domain import AlarmKey, ThresholdRule
from services.alarm.evaluation import could_change_state
from services.alarm.index import AlarmIndex
from services.alarm.scheduler import EvaluationScheduler

MAX_NOTIFIED_SERIES = 100_000
"""Series one NotifySamples may name (a PutSamples batch holds at most as many points)."""


class NotifiedSeries(NamedTuple):
    """Series that received points, in columns: each one's metric, canonical dimensions key, range of values and id (in the
    catalogue named)."""

    metrics: Sequence[str]
    dimensions: Sequence[str]
    minimums: Sequence[float]
    maximums: Sequence[float]
    series_ids: Sequence[int]
    catalogue: str


def read_notify_samples(violations: Violations, request: sample_feed_pb2.NotifySamplesRequest) -> NotifiedSeries:
    """The series a NotifySamplesRequest names; meaningful only without violations (dimensions are read in decide_evaluations)."""
    # NOTE: the metrics and dimensions stay in the request (read by position where needed): the alarms that watch
    # a series are found by its id, and making a string of every name of a large batch cost more than the rest.
    series = NotifiedSeries(
        request.metrics, request.dimensions, list(request.minimums), list(request.maximums), list(request.series_ids), request.catalogue
    )
    count = len(series.metrics)
    for name in ("dimensions", "minimums", "maximums", "series_ids"):
        length = len(getattr(series, name))
        violations.check(length == count, name, f"must hold one entry per series ({count}), got {length}")
    violations.check(count <= MAX_NOTIFIED_SERIES, "metrics", f"must name at most {MAX_NOTIFIED_SERIES} series, got {count}")
    if violations or (all(series.metrics) and all(map(operator.le, series.minimums, series.maximums))):
        return series
    for position, (metric, lowest, highest) in enumerate(zip(series.metrics, series.minimums, series.maximums, strict=True)):
        if not metric:
            violations.add(f"metrics[{position}]", "is required")
        if not lowest <= highest:  # NaN fails this too
            violations.add(f"minimums[{position}]", f"must be a number at most maximums[{position}], got {lowest} and {highest}")
    return series


class Decision(NamedTuple):
    """Which alarms arriving values concern: those to evaluate now, and those whose actions may be due again."""

    matched: int
    urgent: list[AlarmKey]
    repeating: list[AlarmKey]


def decide_evaluations(violations: Violations, index: AlarmIndex, project: str, series: NotifiedSeries, now: float) -> Decision:
    """Which alarms of `project` its notified series may move (urgent), and which stay but have actions due to repeat at
    `now` (normal); meaningful only without violations (a series whose dimensions are no JSON object of strings)."""
    # Per alarm: the lowest and the highest value of the series it watches.
    ranges: dict[str, tuple[float, float]] = {}
    watching = index.watching(project, series.catalogue, series.series_ids, series.metrics, series.dimensions)
    if None in watching:
        for position in (position for position, watchers in enumerate(watching) if watchers is None):
            violations.add(f"dimensions[{position}]", "must be a JSON object of strings with sorted keys")
        return Decision(0, [], [])
    # NOTE: only the series some alarm watches are looked at one by one (compress runs in C): most series of a
    # large batch have none.
    minimums, maximums = series.minimums, series.maximums
    for position in compress(range(len(watching)), watching):
        lowest, highest = minimums[position], maximums[position]
        for alarm_id in cast("list[str]", watching[position]):
            known = ranges.get(alarm_id)
            ranges[alarm_id] = (lowest, highest) if known is None else (min(lowest, known[0]), max(highest, known[1]))
    urgent: list[AlarmKey] = []
    repeating: list[AlarmKey] = []
    for alarm_id, (lowest, highest) in ranges.items():
        key = (project, alarm_id)
        alarm = index.get(key)
        if alarm is None or not isinstance(alarm.rule, ThresholdRule):
            continue  # gone meanwhile, or its rule changed to one over an external store (the stores' sweep evaluates it)
        if could_change_state(alarm.rule, alarm.state, lowest, highest):
            urgent.append(key)
        elif alarm.repeat_due(now):
            repeating.append(key)
    return Decision(len(ranges), urgent, repeating)


class SampleFeedServicer(sample_feed_pb2_grpc.SampleFeedServiceServicer):
    """The internal SampleFeedService: each call's series are its project's (autoscale.identity.current_project)."""

    def __init__(self, index: AlarmIndex, scheduler: EvaluationScheduler, clock: Clock) -> None:
        self._index = index
        self._scheduler = scheduler
        self._clock = clock

    def NotifySamples(
        self, request: sample_feed_pb2.NotifySamplesRequest, context: grpc.ServicerContext
    ) -> sample_feed_pb2.NotifySamplesResponse:
        violations = Violations()
        series = read_notify_samples(violations, request)
        violations.raise_if_any()
        decision = decide_evaluations(violations, self._index, current_project(), series, self._clock())
        violations.raise_if_any()
        trace_context = telemetry.capture_context()
        for key in decision.urgent:
            self._scheduler.submit(key, trace_context, urgent=True)
        for key in decision.repeating:
            self._scheduler.submit(key, trace_context)
        queued = len(decision.urgent) + len(decision.repeating)
        return sample_feed_pb2.NotifySamplesResponse(matched_alarms=decision.matched, queued_alarms=queued)
