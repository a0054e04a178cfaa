"""When a group may launch again after launches failed: exponential backoff, capped, kept on the group. Pure.

A launch fails when the driver refuses it, when its instance does not become running within the launch timeout, or
when its instance fails before it has run for STABLE_AFTER seconds (a workload that crashes on start). Each failure in
a row doubles the wait before the group launches again, from BASE_DELAY up to MAX_DELAY; an instance of the group that
has run for STABLE_AFTER seconds ends the run of failures. "In a row" counts attempts, not instances: an instance
launched before the wait now running began was part of the attempt whose failure started it, so its own failure
doubles nothing (of 500 servers launched at once, the 25 that end in ERROR cost one wait, not 2**25 seconds). While
failures are counted the group is degraded, and says why with the last one. Time is an input (seconds since the
epoch); nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

BASE_DELAY = 2.0
"""Seconds before the first retry (the reconcile loop's default interval: one failure costs nothing more)."""
MAX_DELAY = 300.0
"""Seconds between two attempts at most (5 minutes, as AWS's launch retries reach)."""
STABLE_AFTER = 60.0
"""Seconds an instance must have run for its launch to count as a success."""
MAX_REASON = 1024
"""Characters of the last failure kept."""


@dataclass(frozen=True)
class LaunchBackoff:
    """A group's launch failures in a row, when it may launch next, and why the last one failed."""

    failures: int = 0
    retry_time: float | None = None
    """Before this time the group launches nothing; None: whenever it needs to."""
    last_failure: str = ""

    @property
    def degraded(self) -> bool:
        """Whether launches are failing (the group cannot keep its capacity)."""
        return self.failures > 0

    def may_launch(self, now: float) -> bool:
        """Whether the group may launch at `now`."""
        return self.retry_time is None or now >= self.retry_time

    def failed(self, reason: str, now: float, launched_at: float | None = None) -> LaunchBackoff:
        """After one more launch failure at `now` (of an instance launched at `launched_at`; None: now): the wait
        doubles, from BASE_DELAY up to MAX_DELAY, unless the instance was launched before the wait now running began
        (then only the reason changes)."""
        text = reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"
        if launched_at is not None and self.retry_time is not None and launched_at < self.retry_time - _delay(self.failures):
            return replace(self, last_failure=text)
        failures = self.failures + 1
        return LaunchBackoff(failures, now + _delay(failures), text)


def interrupted(backoff: LaunchBackoff, reason: str, now: float) -> LaunchBackoff:
    """After a launch failed in a pass whose launches before it succeeded (the cloud lost one answer among many): the
    group waits BASE_DELAY, and the run of failures does not grow (they were not in a row)."""
    text = reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"
    return LaunchBackoff(max(backoff.failures, 1), now + BASE_DELAY, text)


def _delay(failures: int) -> float:
    """The wait after `failures` failed attempts in a row."""
    exponent: int = min(max(failures, 1) - 1, 16)
    return min(MAX_DELAY, BASE_DELAY * 2.0**exponent)


RESET = LaunchBackoff()
"""No failure in a row: launch whenever needed."""


def failed_early(create_time: float, failed_at: float) -> bool:
    """Whether an instance made at `create_time` that failed at `failed_at` failed before it could count as a success."""
    return failed_at - create_time < STABLE_AFTER


def ran_long_enough(create_time: float, now: float) -> bool:
    """Whether a running instance made at `create_time` counts as a successful launch at `now`."""
    return now - create_time >= STABLE_AFTER
