"""The threads webhooks run on: their own, bounded, and shared fairly between the hosts they call.

A webhook's receiver may hold a POST until its timeout. On threads of their own,
webhooks never keep a policy action (run on the action dispatcher's threads) waiting,
however many are slow; at most `per_host` run against one host at a time, so that a
slow host holds only so many of the threads, and the others serve the other hosts,
taken in turn. What waits is bounded, per host and in all: a webhook beyond it is
refused at once, and the dispatcher records that and retries it later, so a flood
costs neither memory nor silence.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable

from autoscale.outbound_url import UnsafeUrl, parse_outbound_url

log = logging.getLogger(__name__)

THREADS = 16
"""Webhooks running at once (each mostly waits for the network)."""

PER_HOST = 4
"""Webhooks running at once against one host."""

QUEUE_LIMIT = 1000
"""Webhooks waiting for a thread, in all."""

HOST_QUEUE_LIMIT = 100
"""Webhooks waiting for a thread, per host (so that one slow host cannot fill the whole queue)."""


def host_of(target: str) -> str:
    """The host a webhook target calls, as the limits count hosts (an unusable URL counts as a host of its own)."""
    try:
        return parse_outbound_url(target).host
    except UnsafeUrl:
        return target


class WebhookPool:
    """Runs jobs (webhook attempts) on threads of its own, at most `per_host` at a time per host, hosts in turn."""

    def __init__(
        self, *, threads: int = THREADS, per_host: int = PER_HOST, queue_limit: int = QUEUE_LIMIT,
        host_queue_limit: int = HOST_QUEUE_LIMIT,
    ) -> None:
        self._threads = threads
        self._per_host = per_host
        self._queue_limit = queue_limit
        self._host_queue_limit = host_queue_limit
        self._waiting: dict[str, deque[Callable[[], None]]] = {}
        """Jobs waiting, per host; the hosts in the order they are served next."""
        self._waiting_count = 0
        self._running: Counter[str] = Counter()
        self._condition = threading.Condition()
        self._stopping = False
        self._workers: list[threading.Thread] = []

    def submit(self, target: str, job: Callable[[], None]) -> bool:
        """Queue `job`, a call to `target`'s host (returns at once); False, queuing nothing, when as many jobs wait
        already, for that host or in all, as the limits allow."""
        host = host_of(target)
        with self._condition:
            queue = self._waiting.get(host)
            if self._waiting_count >= self._queue_limit or (queue is not None and len(queue) >= self._host_queue_limit):
                return False
            if queue is None:
                queue = self._waiting[host] = deque()
            queue.append(job)
            self._waiting_count += 1
            self._condition.notify()
            return True

    def waiting(self) -> int:
        """How many jobs wait for a thread (none once stopped: tests watch it)."""
        with self._condition:
            return self._waiting_count

    def start(self) -> None:
        """Start the threads."""
        for number in range(self._threads):
            worker = threading.Thread(target=self._work, name=f"alarm-webhooks-{number}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> None:
        """Finish the jobs running now; the waiting ones are dropped (their actions stay stored as pending, to run after a
        restart)."""
        with self._condition:
            self._stopping = True
            dropped = self._waiting_count
            self._waiting.clear()
            self._waiting_count = 0
            self._condition.notify_all()
        for worker in self._workers:
            worker.join()
        if dropped:
            log.info("stopping with %d webhooks waiting; they run again on start", dropped)

    def _take(self) -> tuple[str, Callable[[], None]] | None:
        """The next job of the first host in turn that runs fewer than per_host (None when stopping)."""
        with self._condition:
            while not self._stopping:
                for host, queue in self._waiting.items():
                    if self._running[host] < self._per_host:
                        job = queue.popleft()
                        del self._waiting[host]
                        if queue:
                            self._waiting[host] = queue  # to the end of the turn
                        self._waiting_count -= 1
                        self._running[host] += 1
                        return host, job
                self._condition.wait()
            return None

    def _work(self) -> None:
        while (taken := self._take()) is not None:
            host, job = taken
            try:
                job()
            except Exception:
                log.exception("a webhook to %s failed unexpectedly", host)
            finally:
                with self._condition:
                    self._running[host] -= 1
                    if not self._running[host]:
                        del self._running[host]
                    # A host back under its limit may have jobs that every thread passed over.
                    self._condition.notify_all()
