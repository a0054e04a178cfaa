"""Lifecycle hooks: an instance waits at a transition until callers answer for each hook, or its heartbeat times out.

AWS's rules (Amazon EC2 Auto Scaling lifecycle hooks), with time an input:

- a LAUNCHING hook holds an instance once it runs, before it is in service (PENDING_WAIT); a
  TERMINATING hook holds a running instance chosen for removal before it is stopped
  (TERMINATING_WAIT), e.g. to drain it;
- each wait ends with the caller's answer (CONTINUE or ABANDON), or with the hook's default
  result once its heartbeat timeout passes without an answer or a heartbeat; a heartbeat
  extends the wait by one timeout, never beyond 100 timeouts or 48 hours from its start;
- an instance waits for every hook of its transition; one ABANDON ends the whole wait: a
  launch abandoned is terminated and replaced, a termination abandoned goes on at once.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace

from autoscale.timeutil import format_time

DEFAULT_HEARTBEAT_TIMEOUT = 3600.0
MIN_HEARTBEAT_TIMEOUT = 30.0
MAX_HEARTBEAT_TIMEOUT = 7200.0
MAX_WAIT = 48 * 3600.0
"""A wait never lasts longer than this, whatever its heartbeats (nor 100 timeouts)."""
MAX_HOOKS_PER_GROUP = 50
MAX_METADATA_LENGTH = 1023


class Transition(enum.Enum):
    """When a hook holds an instance."""

    LAUNCHING = "launching"
    TERMINATING = "terminating"


class HookResult(enum.Enum):
    """How a wait for a hook ends."""

    CONTINUE = "continue"
    ABANDON = "abandon"


@dataclass(frozen=True)
class LifecycleHook:
    """A hook of a group."""

    id: str
    group_id: str
    transition: Transition
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT
    default_result: HookResult = HookResult.ABANDON
    notification_metadata: str = ""
    create_time: float = 0.0


@dataclass(frozen=True)
class LifecycleAction:
    """An instance's wait for one hook."""

    instance_id: str
    hook_id: str
    transition: Transition
    start_time: float
    timeout_time: float
    """When the hook's default result applies, unless answered or extended by a heartbeat."""
    default_result: HookResult
    heartbeat_timeout: float
    result: HookResult | None = None
    """The caller's answer; None while it waits."""


def start_action(hook: LifecycleHook, instance_id: str, now: float) -> LifecycleAction:
    """The wait of an instance for a hook, starting now."""
    return LifecycleAction(
        instance_id=instance_id, hook_id=hook.id, transition=hook.transition, start_time=now,
        timeout_time=now + hook.heartbeat_timeout, default_result=hook.default_result, heartbeat_timeout=hook.heartbeat_timeout,
    )


def heartbeat(action: LifecycleAction, now: float) -> LifecycleAction:
    """The wait extended by one heartbeat timeout from now, within its longest (100 timeouts or MAX_WAIT from its start)."""
    longest = action.start_time + min(100 * action.heartbeat_timeout, MAX_WAIT)
    return replace(action, timeout_time=min(now + action.heartbeat_timeout, longest))


WAITING_FOR_HOOKS = "waiting for lifecycle hook"
"""How the reason of a waiting instance begins."""


class WaitOutcome(enum.Enum):
    """Where an instance's wait at a transition stands."""

    WAITING = "waiting"
    CONTINUE = "continue"
    ABANDON = "abandon"


@dataclass(frozen=True)
class WaitState:
    """Where a wait stands and, for people, why."""

    outcome: WaitOutcome
    reason: str


def wait_state(actions: Sequence[LifecycleAction], now: float) -> WaitState:
    """Whether an instance's waits for the hooks of one transition are over: ABANDON once any ended so (answered, or timed
    out with that default), CONTINUE once all ended so, else WAITING for those that have not."""
    waiting = []
    for action in sorted(actions, key=lambda a: a.hook_id):
        result = action.result
        how = "answered"
        if result is None and now >= action.timeout_time:
            result, how = action.default_result, f"its default after {action.heartbeat_timeout:g}s without an answer"
        if result is HookResult.ABANDON:
            return WaitState(WaitOutcome.ABANDON, f"lifecycle hook {action.hook_id}: ABANDON ({how})")
        if result is None:
            waiting.append(action)
    if waiting:
        hooks = ", ".join(f"{a.hook_id} ({a.default_result.name} at {format_time(a.timeout_time)} unless answered)" for a in waiting)
        return WaitState(WaitOutcome.WAITING, f"{WAITING_FOR_HOOKS} {hooks}")
    return WaitState(WaitOutcome.CONTINUE, "lifecycle hooks: CONTINUE")
