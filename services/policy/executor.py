"""ExecutePolicy: decide with Heat's cooldown semantics whether a signal adjusts the group, adjust it, record it.

Executions of one group run one at a time in this process (a lock per group), and
across replicas an execution claims the group's cooldown state by compare-and-set
before it calls Adjust, so two signals never both adjust a group. Adjust itself
refuses while the group resizes and answers the group; the group service is asked
first only when an activity is pending or the group cools down. The decision
itself is pure (services.policy.decision, services.policy.cooldown).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from autoscale.errors import FailedPrecondition, PeerError
from autoscale.timeutil import Clock
from autoscale.v1 import group_pb2, policy_pb2
from autoscale.validation import within_cause_limit
from services.policy import cooldown as cooldowns
from services.policy.cooldown import GroupCooldown
from services.policy.decision import Decision, adjustment_outcome, decide
from services.policy.domain import ActivityView, AdjustmentType, Execution, GroupView, Policy, group_name, policy_name
from services.policy.group_client import GroupClient, GroupGone
from services.policy.locks import GroupLocks
from services.policy.repository import CooldownChange, PolicyRepository

log = logging.getLogger(__name__)

DEFAULT_CAUSE = "executed by caller"
"""What the activity's cause says when the caller gave none."""

T = TypeVar("T")


class PolicyExecutor:
    """Runs the executions of the policies of one project."""

    def __init__(self, repository: PolicyRepository, group_client: GroupClient, clock: Clock, claim_lease: float) -> None:
        self._repository = repository
        self._groups = group_client
        self._clock = clock
        self._claim_lease = claim_lease
        self._locks = GroupLocks()

    def execute(self, policy_id: str, cause: str, request_id: str) -> policy_pb2.ExecutePolicyResponse:
        """Signal a policy; NotFound for the policy, FailedPrecondition when its group is gone, PeerError when unreachable."""
        # NOTE: the first read goes before the group's lock (the group is known only once the policy is read). Every
        # change of a group's state in this process happens under its lock, so if no hold ended since just before the
        # read (and none is under way, or taking the lock would wait for it to end), what was read is still current.
        ended = self._locks.ended()
        policy, answered, state = self._repository.execution_start(policy_id, request_id)
        with self._locks.hold(policy.group_id):
            if self._locks.ended() != ended:
                # Another execution ended meanwhile (maybe of this group): read again what it may have left.
                answered, state = self._repository.answered_and_cooldown(policy_id, request_id, policy.group_id)
            if answered is not None:
                return policy_pb2.ExecutePolicyResponse.FromString(answered)
            record = Execution(policy_id, self._clock(), cause, request_id, adjusted=False, reason="")
            return self._run(policy, record, state)

    def _run(self, policy: Policy, record: Execution, state: GroupCooldown) -> policy_pb2.ExecutePolicyResponse:
        group_ref = group_name(policy.group_id)
        if state.pending_activity is None and self._decide(group_ref, state, record, scaling_in_progress=False).allowed:
            # NOTE: the common case asks nothing of the group first: Adjust itself refuses while the group
            # resizes (under the group's lock, where no GetGroup could look) and answers the group with the
            # outcome, so a signal reaches the group in one round trip (GetGroup cost the reaction a fifth).
            claimed = self._repository.change_cooldown(CooldownChange(state, cooldowns.claimed(state, record.time)))
            if claimed is None:
                return self._answer(record, f"group {group_ref} is being adjusted by another signal", None)
            return self._adjust(policy, record, state, claimed, None)
        # An activity is pending or the group cools down: what the group says decides whether the state settles.
        group = self._call(record, lambda: self._groups.get_group(group_ref))
        settled = state
        if state.pending_activity is not None and not group.scaling_in_progress:
            settled = cooldowns.settle(state, self._pending_activity(record, state.pending_activity))
        decision = self._decide(group_ref, settled, record, scaling_in_progress=group.scaling_in_progress)
        if not decision.allowed:
            return self._answer(record, decision.reason, CooldownChange(state, settled) if settled != state else None)
        claimed = self._repository.change_cooldown(CooldownChange(state, cooldowns.claimed(settled, record.time)))
        if claimed is None:
            return self._answer(record, f"group {group_ref} is being adjusted by another signal", None)
        return self._adjust(policy, record, settled, claimed, group)

    def _decide(self, group_ref: str, state: GroupCooldown, record: Execution, *, scaling_in_progress: bool) -> Decision:
        return decide(group_ref, state, scaling_in_progress=scaling_in_progress, now=record.time, claim_lease=self._claim_lease)

    def _pending_activity(self, record: Execution, name: str) -> ActivityView | None:
        """The pending activity as the group service sees it; None if it has no such activity any more."""
        try:
            return self._groups.get_activity(name)
        except GroupGone:
            # The group was deleted and made again: there is nothing left to wait for.
            return None
        except PeerError as error:
            self._fail(record, f"the group service failed: {error}", None)
            raise

    def _adjust(
        self, policy: Policy, record: Execution, before: GroupCooldown, claimed: GroupCooldown, asked: GroupView | None
    ) -> policy_pb2.ExecutePolicyResponse:
        """Adjust the group under the claim taken from `before`; `asked` is the group if it was asked before."""
        group_ref = group_name(policy.group_id)
        release = CooldownChange(claimed, cooldowns.released(claimed))
        percent = policy.adjustment_type is AdjustmentType.PERCENT_CHANGE_IN_CAPACITY
        adjusted = self._call(
            record,
            lambda: self._groups.adjust(
                group_ref,
                policy.adjustment_type,
                policy.scaling_adjustment,
                policy.min_adjustment_step if percent else 0,
                within_cause_limit(f"{policy_name(policy.id)} ({record.cause or DEFAULT_CAUSE})"),
                _adjust_request_id(policy, record),
            ),
            release,
        )
        if adjusted.activity is None:
            return self._answer(record, self._decide(group_ref, before, record, scaling_in_progress=True).reason, release)
        # A group service that does not answer the group (older than the field, or a repeated request id) is asked.
        group = adjusted.group or asked or self._call(record, lambda: self._groups.get_group(group_ref), release)
        outcome = adjustment_outcome(adjusted.previous_capacity, adjusted.desired_capacity, group.min_size, group.max_size)
        if not outcome.adjusted:
            return self._answer(record, outcome.reason, release)
        cooldown = cooldowns.effective_cooldown(policy.cooldown, group.cooldown)
        after = CooldownChange(claimed, cooldowns.after_adjustment(claimed, adjusted.activity_view, cooldown))
        log.info("%s adjusted %s: %s (%s)", policy_name(policy.id), group_ref, outcome.reason, adjusted.activity.name)
        return self._answer(record, outcome.reason, after, adjusted.activity)

    def _answer(
        self, record: Execution, reason: str, cooldown: CooldownChange | None, activity: group_pb2.Activity | None = None
    ) -> policy_pb2.ExecutePolicyResponse:
        """Record the execution (and the group's new cooldown state) and return its answer."""
        response = policy_pb2.ExecutePolicyResponse(adjusted=activity is not None, reason=reason, activity=activity)
        answered = replace(
            record, adjusted=response.adjusted, reason=reason, activity=activity.name if activity is not None else "",
            response=response.SerializeToString(),
        )
        if not self._repository.record(answered, cooldown) and cooldown is not None and cooldown.before.adjusting_since is not None:
            log.warning("%s: another execution took over the claim on its group before this one ended", policy_name(record.policy_id))
        return response

    def _call(self, record: Execution, call: Callable[[], T], release: CooldownChange | None = None) -> T:
        """Call the group service; when that fails, record a failed execution (releasing the claim) and raise."""
        try:
            return call()
        except GroupGone as gone:
            reason = f"its group {gone.name} no longer exists"
            self._fail(record, reason, release)
            raise FailedPrecondition(reason) from None
        except PeerError as error:
            self._fail(record, f"the group service failed: {error}", release)
            raise

    def _fail(self, record: Execution, reason: str, release: CooldownChange | None) -> None:
        self._repository.record(replace(record, adjusted=False, reason=reason, failed=True), release)


def _adjust_request_id(policy: Policy, record: Execution) -> str:
    """Adjust's request_id: derived from the caller's, so a retried execution adjusts at most once; else fresh."""
    if not record.request_id:
        return f"policy-{uuid.uuid4().hex}"
    return "policy-" + hashlib.sha256(f"{policy_name(policy.id)}\n{record.request_id}".encode()).hexdigest()
