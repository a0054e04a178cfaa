"""Instance health: what a launch config's health check asks, and the rules that judge an instance by its results.

An instance's process or server running is the driver's to tell (`drivers.base.ServerStatus`); a
health check asks more of it: that a command exits 0, a TCP port accepts, or an HTTP path answers
2xx or 3xx. Its results are judged here, with no I/O and time passed in:

- none counts within the group's grace period, which starts when the instance first runs (AWS's
  rule since instances have lifecycle hooks: the time it takes to boot is the launch timeout's);
- an instance is UNHEALTHY after `unhealthy_threshold` failed checks in a row, HEALTHY once one
  passes, and UNKNOWN before its first result (a single slow answer is not a failure);
- an UNHEALTHY instance is replaced, as one whose process exited.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_GRACE_PERIOD = 300.0
"""Seconds a group's instances run before their health checks count, when the group does not say (AWS console's)."""
MAX_GRACE_PERIOD = 86400.0
DEFAULT_INTERVAL = 10.0
DEFAULT_TIMEOUT = 5.0
DEFAULT_UNHEALTHY_THRESHOLD = 3
MIN_INTERVAL = 1.0
MAX_INTERVAL = 300.0
MAX_UNHEALTHY_THRESHOLD = 10


class ProbeKind(enum.Enum):
    """What a health check asks of an instance."""

    COMMAND = "command"
    """A program run on the service's host exits 0 (it is given the instance's address)."""
    TCP = "tcp"
    """A TCP connection to the instance's port is accepted."""
    HTTP = "http"
    """An HTTP GET of a path on the instance's port answers 2xx or 3xx."""


@dataclass(frozen=True)
class HealthCheck:
    """A launch config's health check (validated by rules.check_health_check)."""

    kind: ProbeKind
    command: tuple[str, ...] = ()
    """COMMAND: the program and its arguments."""
    port: int = 0
    """TCP and HTTP: the port; 0 means the instance's own (a local process's AUTOSCALE_PORT)."""
    path: str = "/"
    """HTTP: the path asked."""
    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    unhealthy_threshold: int = DEFAULT_UNHEALTHY_THRESHOLD


class HealthStatus(enum.Enum):
    """What the health check says of an instance."""

    UNKNOWN = "unknown"
    """No check, in its grace period, or no result yet."""
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"


@dataclass(frozen=True)
class ProbeResult:
    """One check's outcome; `detail` says what answered, or why it failed, for people."""

    healthy: bool
    detail: str


@dataclass(frozen=True)
class HealthVerdict:
    """An instance's health status and, for people, why."""

    status: HealthStatus
    reason: str = ""


def grace_period_over(in_service_time: float | None, grace_period: float, now: float) -> bool:
    """Whether an instance's checks count now: it has run (since `in_service_time`) for the whole grace period."""
    return in_service_time is not None and now - in_service_time >= grace_period


def judge(results: Sequence[ProbeResult], check: HealthCheck) -> HealthVerdict:
    """The verdict of an instance's results since its grace period ended, oldest first.

    UNHEALTHY once the last `unhealthy_threshold` all failed; HEALTHY if the last passed, or failed
    fewer times in a row than the threshold after a pass; UNKNOWN before any result, or while the
    failures in a row since the first result are fewer than the threshold.
    """
    if not results:
        return HealthVerdict(HealthStatus.UNKNOWN, "not checked yet")
    failures = 0
    for result in reversed(results):
        if result.healthy:
            break
        failures += 1
    last = results[-1]
    if failures >= check.unhealthy_threshold:
        return HealthVerdict(HealthStatus.UNHEALTHY, f"{failures} health checks in a row failed: {last.detail}")
    if failures == 0:
        return HealthVerdict(HealthStatus.HEALTHY, last.detail)
    count = f"{failures} of {check.unhealthy_threshold} health checks in a row failed: {last.detail}"
    if failures == len(results):
        return HealthVerdict(HealthStatus.UNKNOWN, count)
    return HealthVerdict(HealthStatus.HEALTHY, count)
