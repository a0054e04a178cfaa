"""The webhook pool's limits and turns, with jobs the test holds (no network)."""

from __future__ import annotations

import threading
import time
from collections import Counter

from services.alarm.webhook_pool import WebhookPool, host_of


class HeldJobs:
    """Jobs that note when they run and end only once the test releases them; the most of each host that ran at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started: list[str] = []
        self.running: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.changed = threading.Condition()

    def job(self, name: str, host: str, held: bool = True):  # type: ignore[no-untyped-def]
        def run() -> None:
            with self.changed:
                self.started.append(name)
                self.running[host] += 1
                self.most[host] = max(self.most[host], self.running[host])
                self.changed.notify_all()
            if held:
                self.release.wait(10)
            with self.changed:
                self.running[host] -= 1
                self.changed.notify_all()

        return run

    def wait_until(self, condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
        """Wait until `condition()` holds; it is looked at on each change of a job, and every 10 ms for the pool's own."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not condition():
                assert time.monotonic() < deadline, "condition not met in time"
                self.changed.wait(0.01)


def test_the_host_of_a_target_is_its_host_however_it_is_written():
    assert host_of("https://Hooks.Example:8443/a?b") == "hooks.example"
    assert host_of("http://0x7f.1/") == "127.0.0.1"
    assert host_of("not a url") == "not a url"


def test_at_most_per_host_jobs_run_against_one_host_while_other_hosts_are_served():
    pool, jobs = WebhookPool(threads=6, per_host=2), HeldJobs()
    for number in range(5):
        assert pool.submit("http://slow.example/hook", jobs.job(f"slow-{number}", "slow"))
    pool.start()
    try:
        jobs.wait_until(lambda: jobs.running["slow"] == 2)
        assert pool.submit("http://fast.example/hook", jobs.job("fast", "fast", held=False))
        jobs.wait_until(lambda: "fast" in jobs.started)  # while the slow host's jobs are held
        jobs.release.set()
        jobs.wait_until(lambda: len(jobs.started) == 6 and not +jobs.running)
        assert jobs.most["slow"] == 2
    finally:
        jobs.release.set()
        pool.stop()


def test_hosts_take_turns():
    pool, jobs = WebhookPool(threads=1, per_host=1), HeldJobs()
    for name, host in [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("c1", "c")]:
        pool.submit(f"http://{host}.example/", jobs.job(name, host, held=False))
    pool.start()
    try:
        jobs.wait_until(lambda: len(jobs.started) == 5)
        assert jobs.started == ["a1", "b1", "c1", "a2", "a3"]
    finally:
        pool.stop()


def test_a_job_beyond_the_queue_of_its_host_or_of_the_pool_is_refused():
    pool, jobs = WebhookPool(threads=0, queue_limit=3, host_queue_limit=2), HeldJobs()
    assert pool.submit("http://a.example/", jobs.job("a1", "a"))
    assert pool.submit("http://a.example/", jobs.job("a2", "a"))
    assert not pool.submit("http://a.example/", jobs.job("a3", "a"))
    assert pool.submit("http://b.example/", jobs.job("b1", "b"))
    assert not pool.submit("http://c.example/", jobs.job("c1", "c"))
    pool.stop()
    assert jobs.started == []


def test_stopping_finishes_the_running_jobs_and_drops_the_waiting_ones():
    pool, jobs = WebhookPool(threads=1), HeldJobs()
    pool.submit("http://a.example/", jobs.job("running", "a"))
    pool.submit("http://a.example/", jobs.job("waiting", "a"))
    pool.start()
    jobs.wait_until(lambda: jobs.started == ["running"])
    stopper = threading.Thread(target=pool.stop)
    stopper.start()
    jobs.wait_until(lambda: pool.waiting() == 0)  # dropped by stop (the one thread is held)
    jobs.release.set()
    stopper.join(5)
    assert not stopper.is_alive()
    assert jobs.started == ["running"] and not +jobs.running
