"""The faults a test plans for the fake cloud while it runs: what goes wrong, on which requests, how often.

Every fault is either counted ("the next N") or a rate drawn from a random generator seeded by the test, so a test
that asks for determinism gets it. All methods are thread-safe: the HTTP server's threads take faults while the test
sets them.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."
"""Nova's fault message when the scheduler finds no host for a server."""

CLOSE = "close"
"""A lost response: the connection is closed without an answer (what a crashed API worker or a cut network does)."""
GATEWAY_TIMEOUT = "504"
"""A lost response: a proxy in front of the API answers 504 Gateway Timeout."""


@dataclass
class _Planned:
    """How often a fault happens: `remaining` times (None: without end), each time with probability `rate`."""

    remaining: int | None
    rate: float

    def take(self, draw: random.Random) -> bool:
        if self.remaining == 0 or draw.random() >= self.rate:
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True


@dataclass
class _HttpFault:
    method: str
    path: re.Pattern[str]
    status: int
    message: str
    plan: _Planned


@dataclass
class _SlowAnswer:
    method: str
    path: re.Pattern[str]
    seconds: float
    plan: _Planned


@dataclass
class BootOutcome:
    """What becomes of a server Nova accepted: ACTIVE, ERROR (with `fault`) or BUILD without end."""

    status: str
    fault: str = ""


class Faults:
    """The fault plan of one fake cloud. Counts are "the next N"; `rate` draws from the generator seeded with `seed`."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._http: list[_HttpFault] = []
        self._slow: list[_SlowAnswer] = []
        self._boot_errors: list[tuple[_Planned, str]] = []
        self._build_forever: list[_Planned] = []
        self._quota: list[_Planned] = []
        self._lost: list[tuple[_Planned, str]] = []
        self._delete_seconds = 0.0

    def seed(self, seed: int) -> None:
        """Restart the generator behind every `rate` from `seed`."""
        with self._lock:
            self._random.seed(seed)

    def fail_requests(
        self, status: int = 500, *, method: str = "*", path: str = ".*", count: int | None = 1, rate: float = 1.0, message: str = ""
    ) -> None:
        """Answer `status` to requests of `method` ("*": any) whose path (from the API's prefix on, e.g.
        "/compute/v2.1/servers") matches the regular expression `path`, `count` times (None: always) at `rate`."""
        with self._lock:
            self._http.append(_HttpFault(method.upper(), re.compile(path), status, message, _Planned(count, rate)))

    def slow_answers(self, seconds: float, *, method: str = "*", path: str = ".*", count: int | None = 1, rate: float = 1.0) -> None:
        """Serve requests of `method` whose path matches `path` (as fail_requests), then hold the answer `seconds`: a
        client whose timeout is shorter gives up on a request that was applied (a server create made)."""
        with self._lock:
            self._slow.append(_SlowAnswer(method.upper(), re.compile(path), seconds, _Planned(count, rate)))

    def boot_errors(self, count: int | None = 1, *, rate: float = 1.0, message: str = NO_VALID_HOST) -> None:
        """The next servers Nova accepts end in ERROR with `message` as their fault."""
        with self._lock:
            self._boot_errors.append((_Planned(count, rate), message))

    def build_forever(self, count: int | None = 1, *, rate: float = 1.0) -> None:
        """The next servers Nova accepts stay in BUILD."""
        with self._lock:
            self._build_forever.append(_Planned(count, rate))

    def quota_exceeded(self, count: int | None = 1, *, rate: float = 1.0) -> None:
        """The next server creates are refused with Nova's 403 quota message, whatever the quota (see also
        CloudState.instance_quota, the quota itself)."""
        with self._lock:
            self._quota.append(_Planned(count, rate))

    def lose_responses(self, count: int | None = 1, *, rate: float = 1.0, how: str = CLOSE) -> None:
        """The next server creates are applied (the server exists) and their answer is lost: `how` is CLOSE or
        GATEWAY_TIMEOUT."""
        if how not in (CLOSE, GATEWAY_TIMEOUT):
            raise ValueError(f"a lost response is {CLOSE!r} or {GATEWAY_TIMEOUT!r}, not {how!r}")
        with self._lock:
            self._lost.append((_Planned(count, rate), how))

    def slow_deletes(self, seconds: float) -> None:
        """Deleted servers stay listed (ACTIVE, task state `deleting`) for `seconds` before they are gone (0: at once)."""
        with self._lock:
            self._delete_seconds = seconds

    def clear(self) -> None:
        """No fault from now on."""
        with self._lock:
            self._http.clear()
            self._slow.clear()
            self._boot_errors.clear()
            self._build_forever.clear()
            self._quota.clear()
            self._lost.clear()
            self._delete_seconds = 0.0

    # What the cloud takes, request by request.

    def http_fault(self, method: str, path: str) -> tuple[int, str] | None:
        """The status and message to answer this request with instead of serving it, if a planned fault takes it."""
        with self._lock:
            for fault in self._http:
                if fault.method in ("*", method) and fault.path.search(path) and fault.plan.take(self._random):
                    return fault.status, fault.message or f"Injected fault: {fault.status} on {method} {path}"
        return None

    def answer_delay(self, method: str, path: str) -> float:
        """Seconds to hold the answer to this request (0: none)."""
        with self._lock:
            for slow in self._slow:
                if slow.method in ("*", method) and slow.path.search(path) and slow.plan.take(self._random):
                    return slow.seconds
        return 0.0

    def boot_outcome(self) -> BootOutcome:
        """What the server just accepted will become."""
        with self._lock:
            for plan, message in self._boot_errors:
                if plan.take(self._random):
                    return BootOutcome("ERROR", message)
            if any(plan.take(self._random) for plan in self._build_forever):
                return BootOutcome("BUILD")
        return BootOutcome("ACTIVE")

    def quota_refused(self) -> bool:
        with self._lock:
            return any(plan.take(self._random) for plan in self._quota)

    def lost_response(self) -> str | None:
        """How the answer to the server create just applied is lost, if it is."""
        with self._lock:
            for plan, how in self._lost:
                if plan.take(self._random):
                    return how
        return None

    @property
    def delete_seconds(self) -> float:
        with self._lock:
            return self._delete_seconds
