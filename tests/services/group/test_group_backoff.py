"""Launch backoff: the waits double from the base to the cap, a stable instance ends the run, time is an input."""

from __future__ import annotations

import pytest

from services.group.backoff import (
    BASE_DELAY,
    MAX_DELAY,
    MAX_REASON,
    RESET,
    STABLE_AFTER,
    LaunchBackoff,
    failed_early,
    interrupted,
    ran_long_enough,
)

NOW = 1_000_000.0


@pytest.mark.parametrize(("failures", "delay"), [(1, 2.0), (2, 4.0), (3, 8.0), (8, 256.0), (9, MAX_DELAY), (40, MAX_DELAY)])
def test_each_failure_in_a_row_doubles_the_wait_up_to_the_cap(failures, delay):
    backoff = RESET
    for _ in range(failures):
        backoff = backoff.failed("exited with status 1", NOW)
    assert backoff.failures == failures
    assert backoff.retry_time == NOW + delay
    assert backoff.degraded


def test_the_group_may_launch_again_once_the_wait_is_over():
    backoff = RESET.failed("quota exceeded", NOW)
    assert RESET.may_launch(NOW) and not RESET.degraded
    assert not backoff.may_launch(NOW + BASE_DELAY - 0.001)
    assert backoff.may_launch(NOW + BASE_DELAY)


def test_the_last_failure_is_kept_bounded():
    backoff = RESET.failed("first", NOW).failed("x" * 5000, NOW)
    assert len(backoff.last_failure) == MAX_REASON and backoff.last_failure.endswith("…")
    assert RESET.failed("second", NOW).last_failure == "second"


@pytest.mark.parametrize(("ran", "early"), [(0.0, True), (STABLE_AFTER - 0.1, True), (STABLE_AFTER, False), (3600.0, False)])
def test_an_instance_failing_before_it_ran_stable_after_seconds_is_a_failed_launch(ran, early):
    assert failed_early(NOW, NOW + ran) is early
    assert ran_long_enough(NOW, NOW + ran) is not early


def test_failures_of_instances_launched_together_count_as_one_failed_attempt():
    first = RESET.failed("server web-i-1 went to ERROR", 1010.0, launched_at=1000.0)
    assert (first.failures, first.retry_time) == (1, 1012.0)
    # Launched in the same burst as the first: its failure changes the reason only.
    same_burst = first.failed("server web-i-2 went to ERROR", 1011.0, launched_at=1000.0)
    assert (same_burst.failures, same_burst.retry_time, same_burst.last_failure) == (1, 1012.0, "server web-i-2 went to ERROR")
    # Launched once the wait was over: a failed retry doubles it.
    retried = same_burst.failed("server web-i-3 went to ERROR", 1015.0, launched_at=1012.0)
    assert (retried.failures, retried.retry_time) == (2, 1019.0)


def test_a_launch_failing_after_others_of_its_pass_succeeded_waits_the_base_delay_without_growing_the_run():
    waiting = interrupted(LaunchBackoff(3, 990.0, "earlier"), "launching web-i-9 failed: connection closed", 1000.0)
    assert (waiting.failures, waiting.retry_time, waiting.last_failure) == (3, 1002.0, "launching web-i-9 failed: connection closed")
    assert interrupted(RESET, "lost", 1000.0).failures == 1
