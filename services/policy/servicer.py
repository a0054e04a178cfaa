"""PolicyService over gRPC: validates requests, turns them into domain calls, and answers.

Every RPC acts in the project of its call (autoscale.identity), read once and handed on: another project's policy is
NotFound exactly as a missing one. The group and alarm services are asked within the call, so those peer calls carry
the same project (autoscale.peers) and a policy names, adjusts and is checked against its own project's resources only.
"""

from __future__ import annotations

import contextlib

import grpc

from autoscale.errors import FailedPrecondition, NotFound, PeerError
from autoscale.identity import current_project
from autoscale.pagination import page_request, paginate
from autoscale.quotas.limits import QuotaSource
from autoscale.timeutil import Clock, check_duration
from autoscale.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from autoscale.validation import Violations, check_enum, check_id, check_request_id, check_update_mask, parse_name, try_parse_name
from services.policy import messages, rules, update
from services.policy.alarm_client import AlarmClient
from services.policy.domain import AdjustmentType, Policy, group_name, policy_name
from services.policy.executor import PolicyExecutor
from services.policy.group_client import GroupClient, GroupGone
from services.policy.receivers import messages as receiver_messages
from services.policy.receivers.domain import SIGNALS_PATH, Receiver, ReceiverFormat, new_token, token_hash
from services.policy.receivers.repository import ReceiverRepository
from services.policy.repository import PolicyRepository

UNKNOWN_OUTCOMES = frozenset({grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN})
"""A peer's answers that leave it unknown whether the call was done."""


class PolicyServicer(policy_pb2_grpc.PolicyServiceServicer):
    """The PolicyService RPCs."""

    def __init__(
        self,
        repository: PolicyRepository,
        executor: PolicyExecutor,
        group_client: GroupClient,
        alarm_client: AlarmClient,
        quotas: QuotaSource,
        clock: Clock,
        receivers: ReceiverRepository,
        signals_url: str,
    ) -> None:
        self._receivers = receivers
        self._signals_url = signals_url
        self._quotas = quotas
        self._repository = repository
        self._executor = executor
        self._groups = group_client
        self._alarms = alarm_client
        self._clock = clock

    def CreatePolicy(self, request: policy_pb2.CreatePolicyRequest, context: grpc.ServicerContext) -> policy_pb2.CreatePolicyResponse:
        project = current_project()
        violations = Violations()
        check_id(violations, "policy_id", request.policy_id)
        proposed = _proposed_fields(violations, request.policy, frozenset(update.UPDATABLE_FIELDS))
        _check_policy(violations, proposed, request.policy_id)
        violations.raise_if_any()
        adjustment_type = proposed.adjustment_type
        if proposed.target_tracking is not None:
            adjustment_type = AdjustmentType.EXACT_CAPACITY  # what it asks of its group
        assert proposed.group_id is not None and adjustment_type is not None
        policy = Policy(
            id=request.policy_id,
            group_id=proposed.group_id,
            adjustment_type=adjustment_type,
            scaling_adjustment=proposed.scaling_adjustment,
            min_adjustment_step=proposed.min_adjustment_step,
            cooldown=proposed.cooldown,
            create_time=self._clock(),
            step_adjustments=proposed.step_adjustments,
            metric_aggregation_type=proposed.metric_aggregation_type,
            estimated_instance_warmup=proposed.estimated_instance_warmup,
            target_tracking=proposed.target_tracking,
        )
        self._require_group(policy.group_id)
        # NOTE: counted before the insert, not with it: two creates at once may both pass at the limit.
        self._quotas.limits(project).require_room("policies", held=self._repository.count_policies(project))
        created = self._repository.create_policy(project, policy)
        if created.target_tracking is not None:
            # The policy first, so that its alarm's first action finds it; undone if the alarm cannot be made.
            try:
                self._alarms.create_target_alarm(created)
            except BaseException as error:
                self._repository.delete_policy(project, created.id)
                if isinstance(error, PeerError) and error.code in UNKNOWN_OUTCOMES:
                    # The alarm may have been made: not left to execute a policy that is gone.
                    with contextlib.suppress(PeerError):
                        self._alarms.delete_target_alarm(created.id)
                raise
        return policy_pb2.CreatePolicyResponse(policy=messages.policy_to_message(created))

    def GetPolicy(self, request: policy_pb2.GetPolicyRequest, context: grpc.ServicerContext) -> policy_pb2.GetPolicyResponse:
        policy = self._repository.get_policy(current_project(), parse_name("name", request.name, "policies"))
        return policy_pb2.GetPolicyResponse(policy=messages.policy_to_message(policy))

    def ListPolicies(self, request: policy_pb2.ListPoliciesRequest, context: grpc.ServicerContext) -> policy_pb2.ListPoliciesResponse:
        group_id = parse_name("group", request.group, "groups") if request.group else None
        page = page_request(request.page_size, request.page_token)
        found = self._repository.list_policies(current_project(), page.after_id(), page.size + 1, group_id)
        policies, token = paginate(found, page.size, lambda policy: policy.id, messages.policy_to_message)
        return policy_pb2.ListPoliciesResponse(policies=policies, next_page_token=token)

    def UpdatePolicy(self, request: policy_pb2.UpdatePolicyRequest, context: grpc.ServicerContext) -> policy_pb2.UpdatePolicyResponse:
        project = current_project()
        policy_id = parse_name("policy.name", request.policy.name, "policies")
        violations = Violations()
        fields = check_update_mask(violations, request.update_mask.paths, update.UPDATABLE_FIELDS, update.OUTPUT_ONLY_FIELDS)
        proposed = _proposed_fields(violations, request.policy, fields)
        current = self._repository.get_policy(project, policy_id)
        changed = update.apply_update(current, proposed, fields)
        violations.check(
            (changed.target_tracking is None) == (current.target_tracking is None), "policy.target_tracking",
            "cannot be added to or removed from a policy (a target tracking policy owns an alarm): make a new policy instead",
        )
        _check_policy(violations, changed, policy_id)
        violations.raise_if_any()
        if changed.group_id != current.group_id:
            self._require_group(changed.group_id)
        alarm_changes = (changed.target_tracking, changed.group_id) != (current.target_tracking, current.group_id)
        if changed.target_tracking is not None and alarm_changes:
            self._alarms.update_target_alarm(changed)  # first: a refused alarm leaves the policy as it was
        return policy_pb2.UpdatePolicyResponse(policy=messages.policy_to_message(self._repository.update_policy(project, changed)))

    def DeletePolicy(self, request: policy_pb2.DeletePolicyRequest, context: grpc.ServicerContext) -> policy_pb2.DeletePolicyResponse:
        project = current_project()
        policy_id = parse_name("name", request.name, "policies")
        policy = self._repository.get_policy(project, policy_id)  # NOT_FOUND before asking the alarm service
        naming = self._receivers.naming_as_resolved(project, policy_id)
        if naming:
            raise FailedPrecondition.in_use(
                policy_name(policy_id), naming, ("receiver", "receivers"),
                "delete those receivers first (their resolved alerts execute this policy)",
            )
        self._alarms.refuse_if_named(policy_name(policy_id), policy.owned_alarms)
        if policy.target_tracking is not None:
            self._alarms.delete_target_alarm(policy_id)  # first: no alarm is left signalling a policy that is gone
        self._repository.delete_policy(project, policy_id)
        return policy_pb2.DeletePolicyResponse()

    def ExecutePolicy(self, request: policy_pb2.ExecutePolicyRequest, context: grpc.ServicerContext) -> policy_pb2.ExecutePolicyResponse:
        violations = Violations()
        policy_id = try_parse_name(violations, "name", request.name, "policies")
        rules.check_cause(violations, request.cause)
        check_request_id(violations, request.request_id)
        if request.alarm:
            try_parse_name(violations, "alarm", request.alarm, "alarms")
        alarm_payload = request.alarm_payload if request.HasField("alarm_payload") else None
        if alarm_payload is not None:
            rules.check_alarm_payload(violations, alarm_payload, signalled_by=request.alarm)
        breach = rules.check_breach(
            violations,
            request.metric_value if request.HasField("metric_value") else None,
            request.breach_threshold if request.HasField("breach_threshold") else None,
        )
        violations.raise_if_any()
        assert policy_id is not None
        return self._executor.execute(
            current_project(), policy_id, request.cause, request.request_id, alarm_notification=bool(request.alarm),
            alarm_payload=alarm_payload, breach=breach,
        )

    def ListPolicyExecutions(
        self, request: policy_pb2.ListPolicyExecutionsRequest, context: grpc.ServicerContext,
    ) -> policy_pb2.ListPolicyExecutionsResponse:
        policy_id = parse_name("name", request.name, "policies")
        page = page_request(request.page_size, request.page_token)
        found = self._repository.list_executions(current_project(), policy_id, page.after_time_and(int), page.size + 1)
        executions, token = paginate(
            found, page.size, lambda execution: [execution.time, execution.sequence], messages.execution_to_message
        )
        return policy_pb2.ListPolicyExecutionsResponse(executions=executions, next_page_token=token)

    def CreateReceiver(
        self, request: policy_pb2.CreateReceiverRequest, context: grpc.ServicerContext,
    ) -> policy_pb2.CreateReceiverResponse:
        violations = Violations()
        policy_id = try_parse_name(violations, "parent", request.parent, "policies")
        check_id(violations, "receiver_id", request.receiver_id)
        given = request.receiver
        check_enum(violations, "receiver.format", given.format, policy_pb2.ReceiverFormat)
        receiver_format = receiver_messages.FORMATS.get(given.format)
        resolved_policy_id = ""
        if given.resolved_policy:
            resolved_policy_id = try_parse_name(violations, "receiver.resolved_policy", given.resolved_policy, "policies") or ""
            violations.check(
                receiver_format in (None, ReceiverFormat.ALERTMANAGER), "receiver.resolved_policy",
                "is for the alertmanager format only (resolved alerts); leave it empty",
            )
            violations.check(
                resolved_policy_id != policy_id, "receiver.resolved_policy", "must be another policy than the receiver's"
            )
        if given.hmac_secret:
            receiver_messages.check_hmac_secret(violations, given.hmac_secret)
        violations.raise_if_any()
        assert policy_id is not None and receiver_format is not None
        token = new_token()
        receiver = Receiver(
            policy_id=policy_id,
            id=request.receiver_id,
            format=receiver_format,
            resolved_policy_id=resolved_policy_id,
            hmac_secret=given.hmac_secret or None,
            create_time=self._clock(),
        )
        self._receivers.create(current_project(), receiver, token_hash(token))
        return policy_pb2.CreateReceiverResponse(
            receiver=receiver_messages.receiver_to_message(receiver), url=f"{self._signals_url}{SIGNALS_PATH}{token}"
        )

    def GetReceiver(self, request: policy_pb2.GetReceiverRequest, context: grpc.ServicerContext) -> policy_pb2.GetReceiverResponse:
        policy_id, receiver_id = receiver_messages.parse_receiver_name("name", request.name)
        receiver = self._receivers.get(current_project(), policy_id, receiver_id)
        return policy_pb2.GetReceiverResponse(receiver=receiver_messages.receiver_to_message(receiver))

    def ListReceivers(self, request: policy_pb2.ListReceiversRequest, context: grpc.ServicerContext) -> policy_pb2.ListReceiversResponse:
        policy_id = parse_name("parent", request.parent, "policies")
        page = page_request(request.page_size, request.page_token)
        found = self._receivers.list_receivers(current_project(), policy_id, page.after_id(), page.size + 1)
        receivers, token = paginate(found, page.size, lambda receiver: receiver.id, receiver_messages.receiver_to_message)
        return policy_pb2.ListReceiversResponse(receivers=receivers, next_page_token=token)

    def DeleteReceiver(
        self, request: policy_pb2.DeleteReceiverRequest, context: grpc.ServicerContext,
    ) -> policy_pb2.DeleteReceiverResponse:
        policy_id, receiver_id = receiver_messages.parse_receiver_name("name", request.name)
        self._receivers.delete(current_project(), policy_id, receiver_id)
        return policy_pb2.DeleteReceiverResponse()

    def _require_group(self, group_id: str) -> None:
        """NotFound on `policy.group` unless the group service knows the group (its other failures pass on)."""
        name = group_name(group_id)
        try:
            self._groups.require_group(name)
        except GroupGone:
            raise NotFound(name, f"policy.group: {name} not found") from None


def _proposed_fields(violations: Violations, message: policy_pb2.Policy, fields: frozenset[str]) -> update.ProposedFields:
    """The policy fields a request gives, each validated when it is among `fields`."""
    group_id = try_parse_name(violations, "policy.group", message.group, "groups") if "group" in fields else None
    target_tracking = None
    if message.HasField("target_tracking") and "target_tracking" in fields:
        target_tracking = rules.check_target_tracking(violations, message.target_tracking)
    if "adjustment_type" in fields and (message.adjustment_type or target_tracking is None):
        check_enum(violations, "policy.adjustment_type", message.adjustment_type, common_pb2.AdjustmentType)
    cooldown = None
    if message.HasField("cooldown") and "cooldown" in fields:
        cooldown = check_duration(violations, "policy.cooldown", message.cooldown, allow_zero=True, maximum=rules.MAX_COOLDOWN)
    if "step_adjustments" in fields:
        for index, step in enumerate(message.step_adjustments):
            if step.adjustment_type:
                check_enum(violations, f"policy.step_adjustments[{index}].adjustment_type", step.adjustment_type, common_pb2.AdjustmentType)
    if message.metric_aggregation_type and "metric_aggregation_type" in fields:
        check_enum(violations, "policy.metric_aggregation_type", message.metric_aggregation_type, policy_pb2.MetricAggregationType)
    warmup = None
    if message.HasField("estimated_instance_warmup") and "estimated_instance_warmup" in fields:
        warmup = check_duration(
            violations, "policy.estimated_instance_warmup", message.estimated_instance_warmup, allow_zero=True,
            maximum=rules.MAX_INSTANCE_WARMUP,
        )
    return update.ProposedFields(
        group_id=group_id,
        adjustment_type=messages.ADJUSTMENT_TYPES.get(message.adjustment_type),
        scaling_adjustment=message.scaling_adjustment,
        min_adjustment_step=message.min_adjustment_step,
        cooldown=cooldown,
        step_adjustments=tuple(messages.step_from_message(step) for step in message.step_adjustments),
        metric_aggregation_type=messages.METRIC_AGGREGATION_TYPES.get(message.metric_aggregation_type),
        estimated_instance_warmup=warmup,
        target_tracking=target_tracking,
    )


def _check_policy(violations: Violations, policy: Policy | update.ProposedFields, policy_id: str) -> None:
    """The rules of a policy as it would be stored (a created one: as proposed): of its kind, then of its adjustment or its
    steps."""
    if policy.target_tracking is not None:
        rules.check_target_tracking_kind(
            violations, policy_id, policy.adjustment_type, policy.scaling_adjustment, policy.cooldown, policy.step_adjustments,
            policy.metric_aggregation_type is not None,
        )
        violations.check(
            policy.min_adjustment_step == 0, "policy.min_adjustment_step",
            "is not read by a target tracking policy (it asks an exact capacity): leave it unset",
        )
        return
    is_step = rules.check_policy_kind(
        violations, policy.step_adjustments, policy.scaling_adjustment, policy.cooldown,
        policy.metric_aggregation_type is not None, policy.estimated_instance_warmup,
    )
    if is_step:
        rules.check_min_adjustment_step(violations, policy.min_adjustment_step)
        rules.check_step_adjustments(violations, policy.step_adjustments, policy.adjustment_type)
    else:
        rules.check_policy(violations, policy.adjustment_type, policy.scaling_adjustment, policy.min_adjustment_step)
