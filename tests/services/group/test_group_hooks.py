"""The rules of lifecycle hooks' waits (pure: answers and times are inputs)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.group.hooks import (
    MAX_WAIT,
    HookResult,
    LifecycleHook,
    Transition,
    WaitOutcome,
    heartbeat,
    start_action,
    wait_state,
)

WARM_UP = LifecycleHook("warm-up", "web", Transition.LAUNCHING, heartbeat_timeout=60.0, default_result=HookResult.CONTINUE)
REGISTER = LifecycleHook("register", "web", Transition.LAUNCHING, heartbeat_timeout=300.0, default_result=HookResult.ABANDON)


def _actions(*answers: HookResult | None) -> list:  # type: ignore[type-arg]
    hooks = (WARM_UP, REGISTER)
    return [replace(start_action(hook, "i-1", 1000.0), result=answer) for hook, answer in zip(hooks, answers, strict=False)]


@pytest.mark.parametrize(
    ("answers", "now", "outcome", "reason"),
    [
        ((None, None), 1000.0, WaitOutcome.WAITING, "waiting for lifecycle hook register (ABANDON at"),
        ((HookResult.CONTINUE, None), 1010.0, WaitOutcome.WAITING, "waiting for lifecycle hook register"),
        ((HookResult.CONTINUE, HookResult.CONTINUE), 1010.0, WaitOutcome.CONTINUE, "lifecycle hooks: CONTINUE"),
        ((None, HookResult.ABANDON), 1010.0, WaitOutcome.ABANDON, "lifecycle hook register: ABANDON (answered)"),
        # warm-up times out with its default CONTINUE; register still waits
        ((None, None), 1060.0, WaitOutcome.WAITING, "waiting for lifecycle hook register"),
        ((None, HookResult.CONTINUE), 1060.0, WaitOutcome.CONTINUE, "lifecycle hooks: CONTINUE"),
        # register times out with its default ABANDON: the whole wait is abandoned
        ((HookResult.CONTINUE, None), 1300.0, WaitOutcome.ABANDON,
         "lifecycle hook register: ABANDON (its default after 300s without an answer)"),
    ],
)
def test_a_wait_ends_when_every_hook_continues_or_any_abandons_answered_or_by_its_default(answers, now, outcome, reason):
    state = wait_state(_actions(*answers), now)
    assert state.outcome is outcome and state.reason.startswith(reason)


def test_a_heartbeat_extends_the_wait_by_one_timeout_from_now_but_never_past_a_hundred_timeouts():
    action = start_action(WARM_UP, "i-1", 1000.0)
    assert heartbeat(action, 1030.0).timeout_time == 1090.0
    assert heartbeat(action, 1000.0 + 100 * 60.0).timeout_time == 1000.0 + 100 * 60.0


def test_a_heartbeat_never_extends_the_wait_past_48_hours():
    long_hook = replace(WARM_UP, heartbeat_timeout=7200.0)
    action = start_action(long_hook, "i-1", 0.0)
    assert heartbeat(action, MAX_WAIT - 10.0).timeout_time == MAX_WAIT
