"""Which alarms to evaluate next: two queues and the threads that take from them; nothing else.

Arriving samples queue the alarms they may move in an urgent lane (served first, and
by a thread of its own, so that a long batch never holds it up) and those whose actions
are due to repeat in a normal lane. A thread takes what is queued, up to CHUNK alarms,
and hands them to the evaluation together (one statistics call for all). An alarm is
queued at most once at a time and never evaluated by two threads at once; one queued
again while it is being evaluated runs again after. Alarms go by key (project and id),
every project's in the same queues and threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from opentelemetry.context import Context

from services.alarm.domain import AlarmKey, describe_alarm

log = logging.getLogger(__name__)

CHUNK = 500
"""Alarms a thread takes from the queues at once."""

YIELD_LIMIT = 0.1
"""Seconds a sweep waits at most, before each chunk, for the urgent evaluations and the actions under way to end."""

EvaluateBatch = Callable[[list[AlarmKey], list[Context | None]], object]
"""Evaluates alarms (their keys), each in its trace context."""

BatchObserver = Callable[[bool, float, float], None]
"""Told of each batch evaluated: whether it was urgent, the seconds since its longest-queued alarm was queued (until
its evaluation ended), and the seconds its evaluation took."""


def _ignore_batch(urgent: bool, since_queued: float, evaluating: float) -> None:
    """No observer."""


class EvaluationScheduler:
    """A Worker: queues of alarms to evaluate, served by `threads` threads calling `evaluate`."""

    def __init__(self, evaluate: EvaluateBatch, *, threads: int = 4, observe: BatchObserver = _ignore_batch) -> None:
        self._evaluate = evaluate
        self._observe = observe
        self._threads = threads
        self._queued_since: dict[AlarmKey, float] = {}
        """When each queued alarm was queued (its first submit since it was last taken)."""
        self._urgent: OrderedDict[AlarmKey, Context | None] = OrderedDict()
        self._pending: OrderedDict[AlarmKey, Context | None] = OrderedDict()
        self._running: set[AlarmKey] = set()
        self._urgent_running = 0
        """Alarms taken from the urgent lane whose evaluation has not ended."""
        self._condition = threading.Condition()
        self._stopping = False
        self._workers: list[threading.Thread] = []

    def submit(self, key: AlarmKey, trace_context: Context | None = None, *, urgent: bool = False) -> None:
        """Queue an alarm for evaluation, `urgent` ones first; one queued already joins the newer trace (and lane)."""
        with self._condition:
            queued = key in self._urgent or key in self._pending
            if not queued:
                self._queued_since[key] = time.monotonic()
            if urgent and key in self._pending:
                previous = self._pending.pop(key)
                self._urgent[key] = trace_context if trace_context is not None else previous
            else:
                lane = self._urgent if urgent or key in self._urgent else self._pending
                if key not in lane or trace_context is not None:
                    # The newest arrival is what the evaluation will see, so it is the one to trace.
                    lane[key] = trace_context
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

    def _take(self, urgent_only: bool) -> tuple[list[tuple[AlarmKey, Context | None]], bool, float] | None:
        """Up to CHUNK queued alarms that no other thread is evaluating, urgent ones first, whether they are urgent, and
        when the longest-queued of them was queued (None when stopping)."""
        with self._condition:
            while not self._stopping:
                for lane in (self._urgent,) if urgent_only else (self._urgent, self._pending):
                    taken = []
                    for key in lane:
                        if key not in self._running:
                            taken.append(key)
                            if len(taken) == CHUNK:
                                break
                    if taken:
                        self._running.update(taken)
                        urgent = lane is self._urgent
                        if urgent:
                            self._urgent_running += len(taken)
                        since = min(self._queued_since.pop(key) for key in taken)
                        return [(key, lane.pop(key)) for key in taken], urgent, since
                self._condition.wait()
            return None

    def _done(self, keys: list[AlarmKey], urgent: bool) -> None:
        with self._condition:
            self._running.difference_update(keys)
            if urgent:
                self._urgent_running -= len(keys)
            # Threads waiting for these alarms to be free, and a sweep waiting for the urgent ones to end.
            if urgent or any(key in self._pending or key in self._urgent for key in keys):
                self._condition.notify_all()

    def _work(self, urgent_only: bool) -> None:
        # NOTE: under load, samples queue many alarms at once; one statistics call for all of them costs
        # far less than a call each, so a thread takes what is queued (up to CHUNK) together.
        while (took := self._take(urgent_only)) is not None:
            taken, urgent, since = took
            keys = [key for key, _ in taken]
            started = time.monotonic()
            try:
                self._evaluate(keys, [trace_context for _, trace_context in taken])
            except Exception:
                log.exception("evaluating %s failed", ", ".join(describe_alarm(key) for key in keys[:5]))
            finally:
                self._done(keys, urgent)
                ended = time.monotonic()
                self._observe(urgent, ended - since, ended - started)
