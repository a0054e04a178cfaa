"""Evaluating alarms over external stores (services.alarm.stores): each rule's datapoints asked of its store, decided,
applied.

Such alarms are evaluated by a sweep of their own every --alarm-sweep-interval (they
receive no samples to be woken by), on create and on update; never by the sweep of
the alarms over the metrics service, so that a slow store never delays those. The
queries of one pass run side by side on a pool of `concurrency` threads of this
evaluator's own, each bounded by the store's timeout, and identical queries (same
store, query, period and periods) are asked once. A store that cannot answer puts
the alarms that read it in INSUFFICIENT_DATA with the reason (unlike the metrics
service, whose failure leaves states as they are): the store is the alarm's only
source, and its owner must learn why it cannot be judged. Once `concurrency`
queries of a pass in a row timed out, the store hangs: the rest of the pass is not
asked (each of those alarms says so), so that a hung store costs a pass two
timeouts, not one per alarm.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import replace

from autoscale.timeutil import Clock
from services.alarm.decision import Decision, decide, decide_unavailable
from services.alarm.domain import Alarm, ComparisonOperator, GnocchiRule, PrometheusRule, StoreRule, describe_alarm
from services.alarm.evaluation import Datapoint, store_window
from services.alarm.stores import MetricStore, StoreError

log = logging.getLogger(__name__)

CONCURRENCY = 16
"""Queries a pass asks at once (and connections per store)."""

CHUNK = 500
"""Decisions stored in one transaction."""

FAILURE_LOG_INTERVAL = 30.0
"""Seconds between two warnings that a store cannot be read (one per outage, not one per alarm)."""


class _Pass:
    """What the queries of one pass share: how many timed out in a row."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.timeouts_in_a_row = 0
        self.lock = threading.Lock()

    def hung(self) -> bool:
        return self.timeouts_in_a_row >= self.limit

    def note(self, timed_out: bool) -> None:
        with self.lock:
            self.timeouts_in_a_row = self.timeouts_in_a_row + 1 if timed_out else 0


Apply = Callable[[Sequence[Decision], float], None]
"""Stores what decisions at a time change (services.alarm.unit_of_work.AlarmWrites.apply)."""


class StoreEvaluator:
    """A Worker: evaluates alarms over external stores on a pool of its own."""

    def __init__(self, stores: Mapping[str, MetricStore], apply: Apply, clock: Clock, *, concurrency: int = CONCURRENCY) -> None:
        self._stores = stores
        self._apply = apply
        self._clock = clock
        self._concurrency = concurrency
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="alarm-store")
        self._last_failure_log: dict[str, float] = {}

    def start(self) -> None:
        """Nothing to start (the pool's threads start with the first queries)."""

    def stop(self) -> None:
        """Wait for the queries under way (each bounded by its store's timeout) and close the stores."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        for store in self._stores.values():
            store.close()

    def evaluate(self, alarms: Sequence[Alarm]) -> int:
        """Evaluate these alarms over external stores (others are ignored) at one clock reading; returns how many were
        decided. Returns when every decision is stored."""
        now = self._clock()
        this_pass = _Pass(self._concurrency)
        asked: dict[StoreRule, Future[list[Datapoint]]] = {}
        judged: list[tuple[Alarm, StoreRule]] = []
        try:
            for alarm in alarms:
                rule = alarm.rule
                if not isinstance(rule, (PrometheusRule, GnocchiRule)):
                    continue
                query = _query_of(rule)
                if query not in asked:
                    asked[query] = self._pool.submit(self._ask, rule, now, this_pass)
                judged.append((alarm, query))
        except RuntimeError:
            return 0  # stopping: the pool takes no more queries
        decisions: list[Decision] = []
        for alarm, query in judged:
            try:
                try:
                    decisions.append(decide(alarm, asked[query].result(), now))
                except StoreError as error:
                    self._log_failure(alarm, error)
                    decisions.append(decide_unavailable(alarm, str(error), now))
            except CancelledError:
                continue  # stopping: the next start evaluates it
            except Exception:
                log.exception("evaluating %s failed", describe_alarm(alarm.key))
        for begin in range(0, len(decisions), CHUNK):
            self._apply(decisions[begin : begin + CHUNK], now)
        return len(decisions)

    def _ask(self, rule: StoreRule, now: float, this_pass: _Pass) -> list[Datapoint]:
        store = self._stores.get(rule.store)
        if store is None:
            raise StoreError(
                f"this alarm service reads no {rule.store.capitalize()}: it was started without --{rule.store}-url"
            )
        if this_pass.hung():
            raise StoreError(
                f"{store.name} was not asked: its last {this_pass.limit} queries of this evaluation timed out", timed_out=True
            )
        start, end = store_window(rule, now)
        try:
            datapoints = store.datapoints(rule, start, end)
        except StoreError as error:
            this_pass.note(error.timed_out)
            raise
        this_pass.note(False)
        return datapoints

    def _log_failure(self, alarm: Alarm, error: StoreError) -> None:
        store = alarm.rule.store if isinstance(alarm.rule, (PrometheusRule, GnocchiRule)) else ""
        moment = time.monotonic()
        if moment - self._last_failure_log.get(store, -FAILURE_LOG_INTERVAL) >= FAILURE_LOG_INTERVAL:
            self._last_failure_log[store] = moment
            log.warning("%s (and maybe others) cannot be evaluated: %s", describe_alarm(alarm.key), error)


def _query_of(rule: StoreRule) -> StoreRule:
    """What a store is asked for a rule: all of it but what only the judging reads (rules that differ only there share it)."""
    return replace(rule, comparison=ComparisonOperator.GREATER_THAN, threshold=0.0)
