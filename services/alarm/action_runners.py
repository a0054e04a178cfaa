"""How one action target is run: a `policies/{id}` target calls ExecutePolicy (a URL gets a webhook POST, in
services.alarm.webhook_delivery).

A runner returns an `ActionOutcome`; whether a failure is worth retrying is
decided here, where the failure is understood (a missing policy will not appear
by retrying, an unreachable one may).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from autoscale.identity import acting_for
from autoscale.v1 import policy_pb2, policy_pb2_grpc
from autoscale.validation import within_cause_limit
from services.alarm.domain import Alarm, AlarmState, PendingAction, alarm_name

PERMANENT_CODES = frozenset(
    {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS}
)
"""Failures of ExecutePolicy that retrying cannot mend."""

STATE_WORDS = {AlarmState.OK: "OK", AlarmState.ALARM: "ALARM", AlarmState.INSUFFICIENT_DATA: "INSUFFICIENT_DATA"}


@dataclass(frozen=True)
class ActionRequest:
    """One stored pending action to run, with the alarm it belongs to."""

    alarm: Alarm
    pending: PendingAction
    request_id: str = field(default="")
    """Stable across the retries of this action, so that the policy adjusts at most once."""

    def cause(self) -> str:
        """The cause handed to the policy, naming the alarm and why it fired (the reason shortened to fit a cause)."""
        verb = "is still in" if self.pending.repeat else "entered"
        return within_cause_limit(f"{alarm_name(self.alarm.id)} {verb} {STATE_WORDS[self.pending.state]}: {self.pending.reason}")


@dataclass(frozen=True)
class ActionOutcome:
    """How one attempt went, in words for the alarm's history."""

    succeeded: bool
    description: str
    retryable: bool = False


class PolicyActionRunner:
    """Runs `policies/{id}` targets through PolicyService.ExecutePolicy, acting for the alarm's project: the name is looked up
    there, so an alarm reaches only its own project's policies."""

    def __init__(self, policy_stub: Callable[[], policy_pb2_grpc.PolicyServiceStub]) -> None:
        self._stub = policy_stub

    def run(self, action: ActionRequest) -> ActionOutcome:
        """Execute the policy; adjusted=false (cooldown, at a bound) is a success: the policy decided."""
        request = policy_pb2.ExecutePolicyRequest(
            name=action.pending.target, cause=action.cause(), request_id=action.request_id, alarm=alarm_name(action.alarm.id)
        )
        try:
            with acting_for(action.alarm.project):
                response = self._stub().ExecutePolicy(request)
        except grpc.RpcError as error:
            code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNAVAILABLE
            details = error.details() if hasattr(error, "details") else str(error)
            return ActionOutcome(False, f"ExecutePolicy failed: {code.name}: {details}", retryable=code not in PERMANENT_CODES)
        if response.adjusted:
            return ActionOutcome(True, f"adjusted: {response.reason} ({response.activity.name})")
        # A refusal (the group resizing or cooling down) is the policy's answer, not a failure to retry: the
        # policy runs again once per period while the alarm stays in the state (see Alarm.repeated_actions).
        state = STATE_WORDS[action.pending.state]
        return ActionOutcome(
            True, f"not adjusted: {response.reason} (runs again every {action.alarm.rule.period:g}s while the alarm stays in {state})"
        )
