"""Running alarm actions in the background: every attempt recorded, failures retried with backoff.

Evaluation only queues actions, so a slow webhook or an unreachable policy
service never holds up the evaluation of other alarms. A failed attempt is
retried after `backoff`, doubling each time, up to `attempts` attempts, unless the
runner says retrying cannot help. Retries of one action carry the same
request_id, so the policy service adjusts a group at most once for it. Every project's
actions share the queue and the threads; each is recorded in its alarm's project.

An action whose target has a pool (webhooks: services.alarm.webhook_pool) is handed
to it when due, so that however long it takes, it never holds up the dispatcher's
threads, which run the others (policy actions) at once.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from opentelemetry.context import Context

from autoscale import telemetry
from autoscale.timeutil import Clock
from services.alarm.action_runners import STATE_WORDS, ActionOutcome, ActionRequest
from services.alarm.domain import HistoryEntry, HistoryType, alarm_name, describe_alarm, is_policy_action
from services.alarm.exposition import AlarmMetrics

log = logging.getLogger(__name__)


class ActionRunner(Protocol):
    """Runs one action target once."""

    def run(self, action: ActionRequest) -> ActionOutcome:
        """Try the action; never raises."""


class ActionPool(Protocol):
    """Threads of their own for some actions."""

    def submit(self, target: str, job: Callable[[], None]) -> bool:
        """Queue a job that runs an action on `target` (returns at once); False when the pool takes no more now."""


POOL_FULL = "not sent: too many webhooks wait already"
"""What the history says of an attempt its pool did not take (retried like any failure)."""


def _no_pool(target: str) -> ActionPool | None:
    return None


@dataclass(frozen=True)
class _Attempt:
    action: ActionRequest
    number: int
    trace_context: Context | None


class ActionDispatcher:
    """A queue of actions with worker threads, retries and a history entry per attempt."""

    def __init__(
        self,
        record: Callable[[str, HistoryEntry, int | None, bool], bool],
        runner_for: Callable[[str], ActionRunner],
        clock: Clock,
        *,
        attempts: int,
        backoff: float,
        threads: int = 4,
        pool_for: Callable[[str], ActionPool | None] = _no_pool,
        metrics: AlarmMetrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._record = record
        self._runner_for = runner_for
        self._clock = clock
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._threads = threads
        self._pool_for = pool_for
        self._due: list[tuple[float, int, _Attempt]] = []
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._stopping = False
        self._workers: list[threading.Thread] = []
        self._running = 0
        """Attempts running on the dispatcher's threads."""
        self._handed_over = 0
        """Attempts handed to a pool, not ended yet."""

    def dispatch(self, action: ActionRequest, first_attempt: int = 1) -> None:
        """Queue an attempt of an action (returns at once), in the caller's trace; `first_attempt` > 1 after a restart."""
        if not action.request_id:
            action = replace(action, request_id=_request_id(action))
        self._schedule(_Attempt(action, first_attempt, telemetry.capture_context()), delay=0.0)

    def busy(self) -> bool:
        """Whether an attempt runs on the dispatcher's threads, or is due to run, now (those handed to a pool mostly wait
        for the network)."""
        with self._condition:
            return self._running > 0 or (bool(self._due) and self._due[0][0] <= time.monotonic())

    def outstanding(self) -> int:
        """How many attempts run or wait, retries not yet due included (0: the dispatcher is idle; tests wait for it)."""
        with self._condition:
            return self._running + self._handed_over + len(self._due)

    def start(self) -> None:
        """Start the worker threads."""
        for number in range(self._threads):
            worker = threading.Thread(target=self._work, name=f"alarm-actions-{number}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> None:
        """Finish the attempts running now; queued attempts and retries stay stored as pending, to run after a restart."""
        with self._condition:
            self._stopping = True
            dropped = len(self._due)
            self._condition.notify_all()
        for worker in self._workers:
            worker.join()
        if dropped:
            log.info("stopping with %d alarm actions waiting; they run again on start", dropped)

    def _schedule(self, attempt: _Attempt, delay: float) -> None:
        with self._condition:
            heapq.heappush(self._due, (time.monotonic() + delay, next(self._order), attempt))
            self._condition.notify()

    def _next(self) -> _Attempt | None:
        with self._condition:
            while not self._stopping:
                if self._due:
                    due, _, attempt = self._due[0]
                    wait = due - time.monotonic()
                    if wait <= 0:
                        heapq.heappop(self._due)
                        self._running += 1
                        return attempt
                    self._condition.wait(wait)
                else:
                    self._condition.wait()
            return None

    def _work(self) -> None:
        while (attempt := self._next()) is not None:
            target = attempt.action.pending.target
            pool = self._pool_for(target)
            if pool is None:
                self._attempt(attempt, self._run)
                continue
            with self._condition:
                self._running -= 1
                self._handed_over += 1
            if not pool.submit(target, functools.partial(self._attempt, attempt, self._run, handed_over=True)):
                self._attempt(attempt, self._refused, handed_over=True)

    def _attempt(self, attempt: _Attempt, run: Callable[[_Attempt], None], handed_over: bool = False) -> None:
        """Run `run(attempt)`, then count the attempt as ended."""
        try:
            run(attempt)
        except Exception:
            action = attempt.action
            log.exception("alarm action %s of %s failed unexpectedly", action.pending.target, describe_alarm(action.alarm.key))
        finally:
            with self._condition:
                if handed_over:
                    self._handed_over -= 1
                else:
                    self._running -= 1

    def _run(self, attempt: _Attempt) -> None:
        action = attempt.action
        with telemetry.attached(attempt.trace_context), telemetry.tracer.start_as_current_span(
            "alarm action",
            attributes={
                "alarm": alarm_name(action.alarm.id), "project": action.alarm.project, "target": action.pending.target,
                "attempt": attempt.number,
            },
        ):
            started = time.monotonic()
            outcome = self._runner_for(action.pending.target).run(action)
        if self._metrics is not None:
            self._metrics.action_seconds.labels(_kind(action.pending.target)).observe(time.monotonic() - started)
        self._conclude(attempt, outcome)

    def _refused(self, attempt: _Attempt) -> None:
        self._conclude(attempt, ActionOutcome(False, POOL_FULL, retryable=True))

    def _conclude(self, attempt: _Attempt, outcome: ActionOutcome) -> None:
        """Record how an attempt went, and schedule its retry when one is due."""
        action = attempt.action
        description = outcome.description
        if action.pending.repeat:
            description = f"still in {STATE_WORDS[action.pending.state]}, run again: {description}"
        retry = not outcome.succeeded and outcome.retryable and attempt.number < self._attempts
        if retry:
            delay = self._backoff * 2 ** (attempt.number - 1)
            description += f"; retrying in {delay:g}s (attempt {attempt.number + 1} of {self._attempts})"
        elif not outcome.succeeded:
            description += "; giving up" if outcome.retryable else "; not retried: retrying cannot mend this"
        if self._metrics is not None:
            outcome_label = "succeeded" if outcome.succeeded else "retrying" if retry else "failed"
            self._metrics.actions.labels(action.alarm.project, _kind(action.pending.target), outcome_label).inc()
        entry = HistoryEntry(
            alarm_id=action.alarm.id, time=self._clock(), type=HistoryType.ACTION, reason=description, state=action.pending.state,
            action=action.pending.target, action_succeeded=outcome.succeeded, attempt=attempt.number,
        )
        if not self._record(action.alarm.project, entry, action.pending.id, not retry):
            return  # the alarm was deleted meanwhile: its actions end with it
        if outcome.succeeded:
            log.info("%s: %s: %s", describe_alarm(action.alarm.key), action.pending.target, description)
        else:
            log.warning("%s: %s: %s", describe_alarm(action.alarm.key), action.pending.target, description)
        if retry:
            self._schedule(replace(attempt, number=attempt.number + 1), delay=self._backoff * 2 ** (attempt.number - 1))


def _kind(target: str) -> str:
    """An action's kind, as the metrics label it."""
    return "policy" if is_policy_action(target) else "webhook"


def _request_id(action: ActionRequest) -> str:
    """Stable for one firing of one action: the alarm (its project too: ids repeat across projects), the target, the state and
    the time it fired."""
    key = (
        f"{action.alarm.project}\n{alarm_name(action.alarm.id)}\n{action.pending.target}\n{action.pending.state.value}\n"
        f"{action.pending.time!r}"
    )
    return "alarm-" + hashlib.sha256(key.encode()).hexdigest()[:32]
