"""How one action target is run: a `policies/{id}` target calls ExecutePolicy (a URL gets a webhook POST, in
services.alarm.webhook_delivery).

A runner returns an `ActionOutcome`; whether a failure is worth retrying is
decided here, where the failure is understood (a missing policy will not appear
by retrying, an unreachable one may).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from autoscale.errors import shortened
from autoscale.identity import acting_for
from autoscale.timeutil import to_timestamp
from autoscale.v1 import policy_pb2, policy_pb2_grpc
from autoscale.validation import within_cause_limit
from services.alarm.domain import Alarm, AlarmState, CompositeRule, PendingAction, alarm_name
from services.alarm.messages import COMPARISON_MESSAGES, STATE_MESSAGES

PERMANENT_CODES = frozenset(
    {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS}
)
"""Failures of ExecutePolicy that retrying cannot mend."""

STATE_WORDS = {AlarmState.OK: "OK", AlarmState.ALARM: "ALARM", AlarmState.INSUFFICIENT_DATA: "INSUFFICIENT_DATA"}

MAX_PAYLOAD_REASON_BYTES = 4096
"""UTF-8 bytes of the reason an alarm payload carries at most (a reason lists every datapoint, and may be longer)."""

MAX_PAYLOAD_DATAPOINTS = 1440
"""Datapoints an alarm payload carries at most: as many periods as an alarm may evaluate."""


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

    def datapoints(self) -> list[float]:
        """The values the evaluation read, newest last, from the pending action's reason data; empty when none decided
        (insufficient data, a store that failed, SetAlarmState), or when what is stored is not a list of finite numbers."""
        values = self.pending.reason_data.get("datapoints")
        if not isinstance(values, list) or not all(
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) for value in values
        ):
            return []
        return [float(value) for value in values[-MAX_PAYLOAD_DATAPOINTS:]]

    def payload(self) -> policy_pb2.AlarmPayload:
        """What the action tells the policy it runs: the alarm's transition, the datapoints that decided it, the rule's
        threshold and comparison."""
        payload = policy_pb2.AlarmPayload(
            alarm=alarm_name(self.alarm.id),
            previous_state=STATE_MESSAGES[self.pending.previous_state],
            state=STATE_MESSAGES[self.pending.state],
            reason=shortened(self.pending.reason, MAX_PAYLOAD_REASON_BYTES),
            datapoints=self.datapoints(),
            repeat=self.pending.repeat,
            time=to_timestamp(self.pending.time),
        )
        rule = self.alarm.rule
        if isinstance(rule, CompositeRule):
            return payload  # no threshold: its reason names the states that decided
        payload.comparison_operator = COMPARISON_MESSAGES[rule.comparison]
        if math.isfinite(rule.threshold):
            payload.threshold = rule.threshold
        return payload


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
            name=action.pending.target, cause=action.cause(), request_id=action.request_id, alarm=alarm_name(action.alarm.id),
            alarm_payload=action.payload(),
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
