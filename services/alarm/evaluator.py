"""Evaluating alarms: queued by arriving samples, swept periodically, judged in batches.

Arriving samples queue the alarms they may move in an urgent lane (served first,
and by a thread of its own) and those whose actions are due to repeat in a normal lane. A
thread takes what is queued, up to SWEEP_CHUNK alarms, and asks their statistics
in one call; the sweep evaluates every alarm the same way, chunk by chunk, and
stores each chunk's transitions in one transaction with the actions they decide.
An alarm is queued at most once at a time and never evaluated by two threads at
once; one queued again while it is being evaluated runs again after. A failed
statistics query leaves the alarm's state as it was (as Aodh does): missing data
is noticed from datapoints, not from an unreachable metrics service.

An alarm that stays in its state runs the repeated actions of that state again
once per period of its rule (see Alarm.repeated_actions): the sweep and arriving
samples both repeat them when due, each chunk's repeats stored in one transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from opentelemetry.context import Context

from autoscale import telemetry
from autoscale.errors import NotFound, PeerError, Unavailable
from autoscale.timeutil import Clock
from services.alarm.action_runners import ActionRequest
from services.alarm.domain import Alarm, AlarmState, PendingAction, ThresholdRule, alarm_name
from services.alarm.evaluation import Datapoint, Evaluation, evaluate_threshold_rule, query_window
from services.alarm.index import AlarmIndex
from services.alarm.repository import AlarmRepository, Repeat, StateChange

log = logging.getLogger(__name__)

FORCE_STATE_ATTEMPTS = 5
"""Reads of an alarm SetAlarmState makes at most while evaluations keep moving it between the read and the change."""

SWEEP_CHUNK = 500
"""Alarms whose statistics one call asks for (the sweep's chunks, and what a thread takes from the queue at once)."""

TRANSITIONS_LOGGED_ONE_BY_ONE = 10
"""Transitions stored together that are logged one line each at INFO; more are summed up in one line (each at DEBUG)."""

SWEEP_YIELD_LIMIT = 0.1
"""Seconds a sweep waits at most, before each chunk, for the urgent evaluations and the actions under way to end."""

STATISTICS_FAILURE_LOG_INTERVAL = 30.0
"""Seconds between two warnings that the metrics service cannot be asked (one per outage, not one per alarm)."""


class StatisticsSource(Protocol):
    """Where the evaluator gets a rule's datapoints."""

    def batch_datapoints(self, windows: Sequence[tuple[ThresholdRule, float, float]]) -> list[list[Datapoint]]:
        """The rule's statistic per period in [start, end) of each (rule, start, end), in order; PeerError when they cannot be had."""


class Dispatch(Protocol):
    """Where the evaluator hands the actions to run."""

    def dispatch(self, action: ActionRequest) -> None:
        """Queue an action (returns at once)."""

    def busy(self) -> bool:
        """Whether an action runs, or is due to run, now."""


class AlarmEvaluator:
    """Evaluates queued alarms on worker threads, records transitions and dispatches actions."""

    def __init__(
        self,
        index: AlarmIndex,
        repository: AlarmRepository,
        statistics: StatisticsSource,
        actions: Dispatch,
        clock: Clock,
        *,
        threads: int = 4,
    ) -> None:
        self._index = index
        self._repository = repository
        self._statistics = statistics
        self._actions = actions
        self._clock = clock
        self._threads = threads
        # Two lanes: alarms the samples may move are evaluated before those they cannot (see could_change_state).
        self._urgent: OrderedDict[str, Context | None] = OrderedDict()
        self._pending: OrderedDict[str, Context | None] = OrderedDict()
        self._running: set[str] = set()
        self._urgent_running = 0
        """Alarms taken from the urgent lane whose evaluation has not ended."""
        self._condition = threading.Condition()
        self._stopping = False
        self._workers: list[threading.Thread] = []
        self._prefetch = ThreadPoolExecutor(max_workers=threads + 1, thread_name_prefix="alarm-statistics")
        """Asks the statistics of a batch's next chunk (one at a time per batch; a sweep and each worker may batch)."""
        self._last_failure_log = 0.0

    # Queue

    def submit(self, alarm_id: str, trace_context: Context | None = None, *, urgent: bool = False) -> None:
        """Queue an alarm for evaluation, `urgent` ones first; one queued already joins the newer trace (and lane)."""
        with self._condition:
            queued = alarm_id in self._urgent or alarm_id in self._pending
            if urgent and alarm_id in self._pending:
                previous = self._pending.pop(alarm_id)
                self._urgent[alarm_id] = trace_context if trace_context is not None else previous
            else:
                lane = self._urgent if urgent or alarm_id in self._urgent else self._pending
                if alarm_id not in lane or trace_context is not None:
                    # The newest arrival is what the evaluation will see, so it is the one to trace.
                    lane[alarm_id] = trace_context
            if urgent:
                # One thread: every thread serves the urgent lane. Waking them all (three of them only to find
                # nothing to do) cost the evaluation that matters the GIL and the wakeups it waits behind.
                self._condition.notify()
            elif not queued:
                # Every thread: one of them serves the urgent lane only, and must not be the only one woken.
                self._condition.notify_all()

    def submit_if_repeat_due(self, alarm_id: str, trace_context: Context | None = None) -> None:
        """Queue an alarm (in the normal lane) if the actions of its state are due to repeat (see Alarm.repeat_due)."""
        alarm = self._index.get(alarm_id)
        if alarm is not None and alarm.repeat_due(self._clock()):
            self.submit(alarm_id, trace_context)

    def start(self) -> None:
        """Start the worker threads."""
        for number in range(self._threads):
            # The first thread serves the urgent lane only, so a long batch of the others never holds it up.
            worker = threading.Thread(target=self._work, args=(number == 0,), name=f"alarm-evaluator-{number}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> None:
        """Finish the evaluations running now and return (queued ones are dropped: the next sweep redoes them)."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        for worker in self._workers:
            worker.join()
        self._prefetch.shutdown(wait=True)

    def queued(self) -> int:
        """How many alarms wait or are being evaluated."""
        with self._condition:
            return len(self._urgent) + len(self._pending) + len(self._running)

    def _take(self, urgent_only: bool) -> tuple[list[tuple[str, Context | None]], bool] | None:
        """Up to SWEEP_CHUNK queued alarms that no other thread is evaluating, urgent ones first, and whether they are
        urgent (None when stopping)."""
        with self._condition:
            while not self._stopping:
                for lane in (self._urgent,) if urgent_only else (self._urgent, self._pending):
                    taken = []
                    for alarm_id in lane:
                        if alarm_id not in self._running:
                            taken.append(alarm_id)
                            if len(taken) == SWEEP_CHUNK:
                                break
                    if taken:
                        self._running.update(taken)
                        urgent = lane is self._urgent
                        if urgent:
                            self._urgent_running += len(taken)
                        return [(alarm_id, lane.pop(alarm_id)) for alarm_id in taken], urgent
                self._condition.wait()
            return None

    def _done(self, alarm_ids: list[str], urgent: bool) -> None:
        with self._condition:
            self._running.difference_update(alarm_ids)
            if urgent:
                self._urgent_running -= len(alarm_ids)
            # Threads waiting for these alarms to be free, and a sweep waiting for the urgent ones to end.
            if urgent or any(alarm_id in self._pending or alarm_id in self._urgent for alarm_id in alarm_ids):
                self._condition.notify_all()

    def _work(self, urgent_only: bool) -> None:
        # NOTE: under load, samples queue many alarms at once; one statistics call for all of them costs
        # far less than a call each, so a thread takes what is queued (up to SWEEP_CHUNK) together.
        while (took := self._take(urgent_only)) is not None:
            taken, urgent = took
            alarm_ids = [alarm_id for alarm_id, _ in taken]
            try:
                if len(taken) == 1:
                    with telemetry.attached(taken[0][1]):
                        self.evaluate(alarm_ids[0])
                else:
                    self.evaluate_many(alarm_ids, [trace_context for _, trace_context in taken])
            except Exception:
                log.exception("evaluating %s failed", ", ".join(alarm_name(alarm_id) for alarm_id in alarm_ids[:5]))
            finally:
                self._done(alarm_ids, urgent)

    # Evaluation

    def evaluate(self, alarm_id: str) -> Evaluation | None:
        """Evaluate one alarm now: record a transition and dispatch the actions due. None when it was not evaluated."""
        alarm = self._index.get(alarm_id)
        if alarm is None or alarm.disabled:
            return None
        with telemetry.tracer.start_as_current_span("evaluate alarm", attributes={"alarm": alarm_name(alarm_id)}):
            now = self._clock()
            start, end = query_window(alarm.rule, now)
            try:
                [datapoints] = self._statistics.batch_datapoints([(alarm.rule, start, end)])
            except PeerError as error:
                self._log_statistics_failure(alarm_id, error)
                return None
            return self._apply(alarm, datapoints, now)

    def evaluate_many(
        self, alarm_ids: Sequence[str], trace_contexts: Sequence[Context | None] | None = None, *, yield_to_urgent: bool = False
    ) -> int:
        """Evaluate these alarms with one statistics call per SWEEP_CHUNK of them; returns how many were evaluated.

        Each alarm's transition and actions run in its own trace context when one is given. With
        `yield_to_urgent` (the sweep), each chunk first waits for the urgent evaluations and the
        actions under way (see _yield_to_urgent_work).
        """
        contexts = dict(zip(alarm_ids, trace_contexts, strict=True)) if trace_contexts is not None else {}
        alarms = [alarm for alarm in map(self._index.get, alarm_ids) if alarm is not None and not alarm.disabled]
        # Alarms over one metric with one window side by side: the metrics service answers each such run in one pass.
        alarms.sort(key=lambda alarm: (alarm.rule.metric, alarm.rule.period, alarm.rule.evaluation_periods))
        chunks = [alarms[begin : begin + SWEEP_CHUNK] for begin in range(0, len(alarms), SWEEP_CHUNK)]
        # NOTE: the next chunk's statistics are asked while this one is judged and its transitions stored:
        # both wait on something else (the metrics service, the database) much of the time. One chunk
        # ahead, not two: two asked at once only made the metrics service answer them side by side,
        # holding up everything else it does (a sample's notification among them) the while.
        asked: Future[tuple[float, list[list[Datapoint]]]] | None = None
        evaluated = 0
        for number, chunk in enumerate(chunks):
            if yield_to_urgent:
                self._yield_to_urgent_work()
            failure: PeerError | None = None
            try:
                now, answers = asked.result() if asked is not None else self._ask(chunk, contexts)
            except PeerError as error:
                failure = error
            asked = self._ask_later(chunks[number + 1], contexts) if number + 1 < len(chunks) else None
            if failure is not None:
                self._log_statistics_failure(chunk[0].id, failure)
                continue
            moving: list[tuple[Alarm, Evaluation]] = []
            staying: list[tuple[Alarm, Evaluation]] = []
            for alarm, datapoints in zip(chunk, answers, strict=True):
                try:
                    result = self._judge(alarm, datapoints, now)
                    if result.state is not alarm.state:
                        moving.append((alarm, result))
                    elif alarm.repeat_due(now):
                        staying.append((alarm, result))
                except Exception:
                    log.exception("evaluating %s failed", alarm_name(alarm.id))
                evaluated += 1
            # The chunk's transitions are stored in one transaction (a first sweep may move every alarm), its repeats in another.
            self._transition_many(moving, now, contexts)
            self._repeat_many(staying, now, contexts)
        return evaluated

    def _yield_to_urgent_work(self) -> None:
        """Wait, at most SWEEP_YIELD_LIMIT, while urgent alarms are queued or evaluated or actions run.

        NOTE: a sweep chunk holds the GIL for milliseconds (judging 500 alarms; in `autoscale up`, the
        metrics service answering their statistics too), and a firing that met a sweep waited for all
        of it, one switch interval at a time: 10-47 ms from sample to Adjust instead of 2-3. The wait
        is bounded so that a steady stream of arrivals slows the sweep down but never stops it.
        """
        deadline = time.monotonic() + SWEEP_YIELD_LIMIT
        with self._condition:
            while not self._stopping and (self._urgent or self._urgent_running or self._actions.busy()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                # Actions end on threads of their own, which do not notify this condition: look again soon.
                self._condition.wait(min(left, 0.002))

    def _ask(self, chunk: Sequence[Alarm], contexts: dict[str, Context | None]) -> tuple[float, list[list[Datapoint]]]:
        """The clock reading the chunk is judged at, and the datapoints of each alarm's window then (PeerError if unreachable)."""
        now = self._clock()
        with telemetry.attached(contexts.get(chunk[0].id)):
            return now, self._statistics.batch_datapoints([(alarm.rule, *query_window(alarm.rule, now)) for alarm in chunk])

    def _ask_later(self, chunk: Sequence[Alarm], contexts: dict[str, Context | None]) -> Future[tuple[float, list[list[Datapoint]]]] | None:
        """`_ask` on another thread; None once the evaluator stopped (a call still being answered then asks itself)."""
        try:
            return self._prefetch.submit(self._ask, chunk, contexts)
        except RuntimeError:
            return None

    def _apply(self, alarm: Alarm, datapoints: list[Datapoint], now: float) -> Evaluation:
        """Decide the alarm's state from its datapoints; record a transition and dispatch the actions due."""
        result = self._judge(alarm, datapoints, now)
        if result.state is not alarm.state:
            self._transition_many([(alarm, result)], now, {})
        elif alarm.repeat_due(now):
            self._repeat_many([(alarm, result)], now, {})
        return result

    def _judge(self, alarm: Alarm, datapoints: list[Datapoint], now: float) -> Evaluation:
        """The state the datapoints put the alarm in."""
        result = evaluate_threshold_rule(alarm.rule, alarm.state, datapoints, now)
        self._index.note_evaluated(alarm.id, now)
        return result

    def force_state(self, alarm_id: str, state: AlarmState, reason: str) -> Alarm:
        """An operator's SetAlarmState: move the alarm into `state` and run that state's actions; NotFound if there is none."""
        now = self._clock()
        # The alarm as stored now, then the change from it; an evaluation that stored a transition in between makes the
        # compare-and-set miss, and the operator's state is set from the newer one.
        for _ in range(FORCE_STATE_ATTEMPTS):
            try:
                alarm = self._repository.get_alarm(alarm_id)
            except NotFound:
                self._index.remove(alarm_id)
                raise
            [transition] = self._repository.change_states([StateChange(alarm, state, reason, now, {"type": "set by operator"})])
            if transition is not None:
                break
        else:
            raise Unavailable(f"{alarm_name(alarm_id)} kept changing while its state was set; try again")
        self._index.put(transition.alarm)
        self._dispatch(transition.alarm, transition.actions)
        return transition.alarm

    def _transition_many(self, moving: list[tuple[Alarm, Evaluation]], now: float, contexts: dict[str, Context | None]) -> None:
        """Store the transitions (each only from the state it was judged in) with their actions, then dispatch those."""
        changes = [
            StateChange(alarm, result.state, result.reason, now, result.reason_data)
            for alarm, result in moving
        ]
        # NOTE: a first sweep or the end of a metrics outage moves thousands of alarms at once: one line each
        # would flood the log (and cost a fifth of the sweep); their history keeps every transition.
        one_by_one = logging.INFO if len(moving) <= TRANSITIONS_LOGGED_ONE_BY_ONE else logging.DEBUG
        moved: Counter[tuple[AlarmState, AlarmState]] = Counter()
        transitions = self._repository.change_states(changes)
        self._index.put_many([transition.alarm for transition in transitions if transition is not None])
        logged = log.isEnabledFor(one_by_one)
        for (alarm, result), transition in zip(moving, transitions, strict=True):
            if transition is None:
                # The state moved meanwhile (SetAlarmState, another replica) or the alarm is gone: read it again;
                # the next evaluation starts from the state stored.
                self._reload(alarm.id)
                continue
            moved[(transition.previous, result.state)] += 1
            if logged:
                log.log(one_by_one, "%s: %s -> %s: %s", alarm_name(alarm.id), transition.previous.value, result.state.value, result.reason)
            if transition.actions:
                with telemetry.attached(contexts.get(alarm.id)):
                    self._dispatch(transition.alarm, transition.actions)
        if one_by_one != logging.INFO and moved:
            counted = sorted((previous.value, state.value, count) for (previous, state), count in moved.items())
            summary = ", ".join(f"{count} {previous} -> {state}" for previous, state, count in counted)
            log.info("%d alarms changed state (%s); ListAlarmHistory has each one's reason", sum(moved.values()), summary)

    def _repeat_many(self, staying: list[tuple[Alarm, Evaluation]], now: float, contexts: dict[str, Context | None]) -> None:
        """Run again the repeated actions of alarms that stay in their state and are due (see AlarmRepository.add_repeated_actions).

        NOTE: samples arrive far more often than periods pass; repeating on every arrival would flood
        the targets, so a state's actions repeat at most once per period of the rule.
        """
        if not staying:
            return
        repeats = [Repeat(alarm, result.reason, result.reason_data, now) for alarm, result in staying]
        repeated = self._repository.add_repeated_actions(repeats)
        self._index.put_many([alarm for alarm, _ in repeated])
        for alarm, actions in repeated:
            if actions:
                with telemetry.attached(contexts.get(alarm.id)):
                    self._dispatch(alarm, actions)

    def _dispatch(self, alarm: Alarm, actions: list[PendingAction]) -> None:
        for pending in actions:
            self._actions.dispatch(ActionRequest(alarm, pending))

    def _reload(self, alarm_id: str) -> None:
        try:
            self._index.put(self._repository.get_alarm(alarm_id))
        except NotFound:
            self._index.remove(alarm_id)

    def _log_statistics_failure(self, alarm_id: str, error: PeerError) -> None:
        moment = time.monotonic()
        if moment - self._last_failure_log >= STATISTICS_FAILURE_LOG_INTERVAL:
            self._last_failure_log = moment
            log.warning("cannot evaluate %s (and maybe others): statistics unavailable: %s", alarm_name(alarm_id), error)
