"""Which alarms to evaluate next: two queues and the threads that take from them; nothing else.

Arriving samples queue the alarms they may move in an urgent lane (served first, and
by a thread of its own, so that a long batch never holds it up) and those whose actions
are due to repeat in a normal lane. A thread takes what is queued, up to CHUNK alarms,
and hands them to the evaluation together (one statistics call for all). An alarm is
queued at most once at a time and never evaluated by two threads at once; one queued
again while it is being evaluated runs again after.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from opentelemetry.context import Context

from services.alarm.domain import alarm_name

log = logging.getLogger(__name__)

CHUNK = 500
"""Alarms a thread takes from the queues at once."""

YIELD_LIMIT = 0.1
"""Seconds a sweep waits at most, before each chunk, for the urgent evaluations and the actions under way to end."""

EvaluateBatch = Callable[[list[str], list[Context | None]], object]
"""Evaluates alarms (their ids), each in its trace context."""


class EvaluationScheduler:
    """A Worker: queues of alarms to evaluate, served by `threads` threads calling `evaluate`."""

    def __init__(self, evaluate: EvaluateBatch, *, threads: int = 4) -> None:
        self._evaluate = evaluate
        self._threads = threads
        self._urgent: OrderedDict[str, Context | None] = OrderedDict()
        self._pending: OrderedDict[str, Context | None] = OrderedDict()
        self._running: set[str] = set()
        self._urgent_running = 0
        """Alarms taken from the urgent lane whose evaluation has not ended."""
        self._condition = threading.Condition()
        self._stopping = False
        self._workers: list[threading.Thread] = []

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

    def start(self) -> None:
        """Start the threads."""
        for number in range(self._threads):
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

    def queued(self) -> int:
        """How many alarms wait or are being evaluated."""
        with self._condition:
            return len(self._urgent) + len(self._pending) + len(self._running)

    def yield_to_urgent(self, busy: Callable[[], bool]) -> None:
        """Wait, at most YIELD_LIMIT, while urgent alarms are queued or evaluated, or `busy()` (actions run).

        NOTE: a sweep chunk holds the GIL for milliseconds (judging 500 alarms; in `autoscale up`, the
        metrics service answering their statistics too), and a firing that met a sweep waited for all
        of it, one switch interval at a time: 10-47 ms from sample to Adjust instead of 2-3. The wait
        is bounded so that a steady stream of arrivals slows the sweep down but never stops it.
        """
        deadline = time.monotonic() + YIELD_LIMIT
        with self._condition:
            while not self._stopping and (self._urgent or self._urgent_running or busy()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                # Actions end on threads of their own, which do not notify this condition: look again soon.
                self._condition.wait(min(left, 0.002))

    def _take(self, urgent_only: bool) -> tuple[list[tuple[str, Context | None]], bool] | None:
        """Up to CHUNK queued alarms that no other thread is evaluating, urgent ones first, and whether they are urgent
        (None when stopping)."""
        with self._condition:
            while not self._stopping:
                for lane in (self._urgent,) if urgent_only else (self._urgent, self._pending):
                    taken = []
                    for alarm_id in lane:
                        if alarm_id not in self._running:
                            taken.append(alarm_id)
                            if len(taken) == CHUNK:
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
        # far less than a call each, so a thread takes what is queued (up to CHUNK) together.
        while (took := self._take(urgent_only)) is not None:
            taken, urgent = took
            alarm_ids = [alarm_id for alarm_id, _ in taken]
            try:
                self._evaluate(alarm_ids, [trace_context for _, trace_context in taken])
            except Exception:
                log.exception("evaluating %s failed", ", ".join(alarm_name(alarm_id) for alarm_id in alarm_ids[:5]))
            finally:
                self._done(alarm_ids, urgent)
