"""Evaluating alarms: their statistics asked in batches, each decided, the decisions applied.

Alarms are evaluated a chunk of CHUNK at a time: one BatchGetStatistics call asks the
window of each, `decision.decide` judges each, and the unit of work stores what the
chunk's decisions change. A chunk holds alarms of one project (its statistics are that
project's series: one call per project). The sweep evaluates every alarm of every
project so, chunk by chunk (which notices missing data); the scheduler hands what
arriving samples queued. A failed statistics query leaves the alarms' states as they
were (as Aodh does): missing data is noticed from datapoints, not from an unreachable
metrics service. Alarms over external stores among the keys are handed to the
StoreEvaluator (services.alarm.store_evaluator), which asks their stores on a pool
of its own, and composite alarms to the CompositeEvaluator
(services.alarm.composite_evaluator), which reads the states of the alarms they name.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from opentelemetry.context import Context

from autoscale import telemetry
from autoscale.errors import PeerError
from autoscale.timeutil import Clock
from services.alarm.composite_evaluator import CompositeEvaluator
from services.alarm.decision import Decision, decide
from services.alarm.domain import Alarm, AlarmKey, CompositeRule, ThresholdRule, alarm_name, describe_alarm
from services.alarm.evaluation import Datapoint, query_window, window_periods
from services.alarm.index import AlarmIndex
from services.alarm.store_evaluator import StoreEvaluator
from services.alarm.unit_of_work import AlarmWrites

log = logging.getLogger(__name__)

CHUNK = 500
"""Alarms whose statistics one call asks for."""

STATISTICS_FAILURE_LOG_INTERVAL = 30.0
"""Seconds between two warnings that the metrics service cannot be asked (one per outage, not one per alarm)."""


class StatisticsSource(Protocol):
    """Where the evaluator gets its rules' datapoints."""

    def batch_datapoints(self, project: str, windows: Sequence[tuple[ThresholdRule, float, float]]) -> list[list[Datapoint]]:
        """The rule's statistic per period in [start, end) of each (rule, start, end) over the series of `project`, in order;
        PeerError when they cannot be had."""


class AlarmEvaluator:
    """Evaluates alarms held in the index: statistics, decisions, and the unit of work that applies them."""

    def __init__(
        self, index: AlarmIndex, statistics: StatisticsSource, writes: AlarmWrites, clock: Clock, *, threads: int = 4,
        stores: StoreEvaluator | None = None, composites: CompositeEvaluator | None = None,
    ) -> None:
        self._index = index
        self._stores = stores
        """Evaluates the alarms over external stores (None: they are left alone)."""
        self._composites = composites
        """Judges the composite alarms (None: they are left alone)."""
        self._statistics = statistics
        self._writes = writes
        self._clock = clock
        self._prefetch = ThreadPoolExecutor(max_workers=threads + 1, thread_name_prefix="alarm-statistics")
        """Asks the statistics of a batch's next chunk (one at a time per batch; a sweep and each scheduler thread may batch)."""
        self._last_failure_log = 0.0

    def start(self) -> None:
        """Nothing to start (a Worker: the pool asking statistics ahead starts with the first batch)."""

    def stop(self) -> None:
        """Stop asking statistics ahead (a batch still running asks them itself)."""
        self._prefetch.shutdown(wait=True)

    def evaluate(
        self, keys: Sequence[AlarmKey], trace_contexts: Sequence[Context | None] | None = None, *,
        between_chunks: Callable[[], None] | None = None,
    ) -> int:
        """Evaluate these alarms (of any projects) with one statistics call per CHUNK of them of one project; returns how
        many were evaluated.

        Each alarm's transition and actions run in its own trace context when one is given.
        `between_chunks` runs before each chunk (the sweep yields to urgent work there).
        """
        contexts = dict(zip(keys, trace_contexts, strict=True)) if trace_contexts is not None else {}
        alarms: list[Alarm] = []
        over_stores: list[Alarm] = []
        composites: list[Alarm] = []
        for alarm in map(self._index.get, keys):
            if alarm is not None and not alarm.disabled:
                rule = alarm.rule
                kind = alarms if isinstance(rule, ThresholdRule) else composites if isinstance(rule, CompositeRule) else over_stores
                kind.append(alarm)
        # The alarms over the metrics service first: a slow store must not hold up those taken with its alarms.
        evaluated = self._evaluate_builtin(alarms, contexts, between_chunks) if alarms else 0
        if composites and self._composites is not None:
            evaluated += self._composites.evaluate(composites)
        if over_stores and self._stores is not None:
            evaluated += self._stores.evaluate(over_stores)
        return evaluated

    def _evaluate_builtin(
        self, alarms: list[Alarm], contexts: dict[AlarmKey, Context | None], between_chunks: Callable[[], None] | None
    ) -> int:
        """Evaluate alarms over the metrics service (ThresholdRule), one statistics call per CHUNK of them of one project."""
        if len(alarms) == 1:
            alarm = alarms[0]
            with telemetry.attached(contexts.get(alarm.key)), telemetry.tracer.start_as_current_span(
                "evaluate alarm", attributes={"alarm": alarm_name(alarm.id), "project": alarm.project}
            ):
                return self._evaluate_chunks([alarms], contexts, between_chunks)
        # Alarms over one metric with one window side by side: the metrics service answers each such run in one pass.
        alarms.sort(key=_by_series_and_window)
        chunks: list[list[Alarm]] = []
        for _, of_project in itertools.groupby(alarms, key=lambda alarm: alarm.project):
            project_alarms = list(of_project)
            chunks.extend(project_alarms[begin : begin + CHUNK] for begin in range(0, len(project_alarms), CHUNK))
        return self._evaluate_chunks(chunks, contexts, between_chunks)

    def _evaluate_chunks(
        self, chunks: list[list[Alarm]], contexts: dict[AlarmKey, Context | None], between_chunks: Callable[[], None] | None
    ) -> int:
        # NOTE: the next chunk's statistics are asked while this one is judged and its transitions stored:
        # both wait on something else (the metrics service, the database) much of the time. One chunk
        # ahead, not two: two asked at once only made the metrics service answer them side by side,
        # holding up everything else it does (a sample's notification among them) the while.
        asked: Future[tuple[float, list[list[Datapoint]]]] | None = None
        evaluated = 0
        for number, chunk in enumerate(chunks):
            if between_chunks is not None:
                between_chunks()
            try:
                now, answers = asked.result() if asked is not None else self._ask(chunk, contexts)
            except PeerError as error:
                self._log_statistics_failure(chunk[0].key, error)
                answers = None
            asked = self._ask_later(chunks[number + 1], contexts) if number + 1 < len(chunks) else None
            if answers is None:
                continue
            decisions: list[Decision] = []
            for alarm, datapoints in zip(chunk, answers, strict=True):
                try:
                    decisions.append(decide(alarm, datapoints, now))
                except Exception:
                    log.exception("evaluating %s failed", describe_alarm(alarm.key))
                evaluated += 1
            self._writes.apply(decisions, now, contexts)
        return evaluated

    def _ask(self, chunk: Sequence[Alarm], contexts: dict[AlarmKey, Context | None]) -> tuple[float, list[list[Datapoint]]]:
        """The clock reading the chunk (of one project) is judged at, and the datapoints of each alarm's window then
        (PeerError if unreachable)."""
        now = self._clock()
        with telemetry.attached(contexts.get(chunk[0].key)):
            windows = [(rule, *query_window(rule, now)) for rule in _threshold_rules(chunk)]
            return now, self._statistics.batch_datapoints(chunk[0].project, windows)

    def _ask_later(
        self, chunk: Sequence[Alarm], contexts: dict[AlarmKey, Context | None]
    ) -> Future[tuple[float, list[list[Datapoint]]]] | None:
        """`_ask` on another thread; None once the evaluator stopped (a call still being answered then asks itself)."""
        try:
            return self._prefetch.submit(self._ask, chunk, contexts)
        except RuntimeError:
            return None

    def _log_statistics_failure(self, key: AlarmKey, error: PeerError) -> None:
        moment = time.monotonic()
        if moment - self._last_failure_log >= STATISTICS_FAILURE_LOG_INTERVAL:
            self._last_failure_log = moment
            log.warning("cannot evaluate %s (and maybe others): statistics unavailable: %s", describe_alarm(key), error)


def _threshold_rules(alarms: Sequence[Alarm]) -> list[ThresholdRule]:
    """The rules of alarms over the metrics service (the only ones that reach the statistics)."""
    rules = []
    for alarm in alarms:
        assert isinstance(alarm.rule, ThresholdRule)
        rules.append(alarm.rule)
    return rules


def _by_series_and_window(alarm: Alarm) -> tuple[str, str, float, int]:
    rule = alarm.rule
    assert isinstance(rule, ThresholdRule)
    return alarm.project, rule.metric, rule.period, window_periods(rule)
