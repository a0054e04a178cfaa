"""AlarmService over gRPC: validates requests, turns them into domain calls, and answers.

Every call acts in its caller's project (read once, here, and passed on): another
project's alarm is NOT_FOUND exactly as a missing one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace

import grpc

from autoscale import signing as webhook_signing
from autoscale import telemetry
from autoscale.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from autoscale.identity import current_caller, current_project
from autoscale.netguard import AddressGuard
from autoscale.pagination import page_request, paginate
from autoscale.quotas.limits import QuotaSource
from autoscale.timeutil import Clock
from autoscale.v1 import alarm_pb2, alarm_pb2_grpc
from autoscale.validation import Violations, check_enum, check_id, parse_name, try_parse_name
from services.alarm import composite, messages, rules, update
from services.alarm.domain import (
    Alarm,
    AlarmState,
    CompositeRule,
    GnocchiRule,
    HistoryEntry,
    HistoryType,
    PrometheusRule,
    Rule,
    alarm_name,
)
from services.alarm.index import AlarmIndex
from services.alarm.repository import AlarmRepository, DefinitionsCheck, StoredDefinitions
from services.alarm.scheduler import EvaluationScheduler
from services.alarm.unit_of_work import AlarmWrites


class AlarmServicer(alarm_pb2_grpc.AlarmServiceServicer):
    """The AlarmService RPCs, each in the project of its call."""

    def __init__(
        self,
        repository: AlarmRepository,
        writes: AlarmWrites,
        index: AlarmIndex,
        scheduler: EvaluationScheduler,
        quotas: QuotaSource,
        clock: Clock,
        guard: AddressGuard,
        new_secret: Callable[[], str] = webhook_signing.new_secret,
        *,
        stores: Collection[str] = (),
    ) -> None:
        self._quotas = quotas
        self._repository = repository
        """Read only: every write goes through `writes`."""
        self._writes = writes
        self._index = index
        self._scheduler = scheduler
        self._clock = clock
        self._guard = guard
        """What webhook URLs written as IP addresses may name."""
        self._new_secret = new_secret
        self._stores = stores
        """The external stores this service can read (services.alarm.stores): rules over others are refused."""

    def CreateAlarm(self, request: alarm_pb2.CreateAlarmRequest, context: grpc.ServicerContext) -> alarm_pb2.CreateAlarmResponse:
        violations = Violations()
        check_id(violations, "alarm_id", request.alarm_id)
        definition = rules.check_alarm(violations, request.alarm, self._guard)
        rules.check_owner(violations, "alarm.owner", request.alarm.owner)
        violations.raise_if_any()
        _require_service_naming_owner("alarm.owner", request.alarm.owner)
        assert definition is not None
        project = current_project()
        self._require_store(definition.rule)
        # NOTE: counted before the insert, not with it: two creates at once may both pass at the limit (as AWS's quotas,
        # it bounds what a project holds, not to the unit).
        self._quotas.limits(project).require_room("alarms", held=self._repository.count_alarms(project))
        now = self._clock()
        alarm = Alarm(
            project=project, id=request.alarm_id, rule=definition.rule, description=definition.description,
            alarm_actions=definition.alarm_actions, ok_actions=definition.ok_actions,
            insufficient_data_actions=definition.insufficient_data_actions, repeat_actions=definition.repeat_actions,
            disabled=definition.disabled, state=AlarmState.INSUFFICIENT_DATA, state_reason="Not evaluated yet",
            state_time=now, create_time=now, webhook_secret=self._new_secret(), owner=request.alarm.owner,
        )
        created = HistoryEntry(alarm.id, now, HistoryType.CREATION, f"created: {_rule_text(alarm.rule)}", state=alarm.state,
                               caller=current_caller().principal)
        self._writes.create(alarm, created, _composite_check(alarm.id, alarm.rule))
        self._scheduler.submit(alarm.key, telemetry.capture_context())
        return alarm_pb2.CreateAlarmResponse(alarm=messages.alarm_to_message(alarm, with_webhook_secret=True))

    def GetAlarm(self, request: alarm_pb2.GetAlarmRequest, context: grpc.ServicerContext) -> alarm_pb2.GetAlarmResponse:
        alarm = self._repository.get_alarm(current_project(), parse_name("name", request.name, "alarms"))
        return alarm_pb2.GetAlarmResponse(alarm=messages.alarm_to_message(self._with_evaluate_time(alarm)))

    def ListAlarms(self, request: alarm_pb2.ListAlarmsRequest, context: grpc.ServicerContext) -> alarm_pb2.ListAlarmsResponse:
        page = page_request(request.page_size, request.page_token)
        found = self._repository.list_alarms(current_project(), page.after_id(), page.size + 1)
        alarms, token = paginate(found, page.size, lambda alarm: alarm.id)
        return alarm_pb2.ListAlarmsResponse(
            alarms=[messages.alarm_to_message(self._with_evaluate_time(a)) for a in alarms], next_page_token=token
        )

    def UpdateAlarm(self, request: alarm_pb2.UpdateAlarmRequest, context: grpc.ServicerContext) -> alarm_pb2.UpdateAlarmResponse:
        alarm_id = parse_name("alarm.name", request.alarm.name, "alarms")
        violations = Violations()
        paths = update.mask_paths(violations, request.update_mask.paths)
        violations.raise_if_any()
        current = self._repository.get_alarm(current_project(), alarm_id)
        _require_owner(current, request.owner, "changed")
        definition = rules.check_alarm(violations, update.merged(messages.alarm_to_message(current), request.alarm, paths), self._guard)
        violations.raise_if_any()
        assert definition is not None
        if definition.rule != current.rule:
            self._require_store(definition.rule)
        new_secret = update.NEW_SECRET_PATH in paths
        changed = replace(
            current, rule=definition.rule, description=definition.description, alarm_actions=definition.alarm_actions,
            ok_actions=definition.ok_actions, insufficient_data_actions=definition.insufficient_data_actions,
            repeat_actions=definition.repeat_actions, disabled=definition.disabled,
            webhook_secret=self._new_secret() if new_secret else current.webhook_secret,
        )
        entry = HistoryEntry(
            alarm_id, self._clock(), HistoryType.RULE_CHANGE, f"changed: {', '.join(paths)}", state=current.state,
            caller=current_caller().principal,
        )
        stored = self._writes.update(changed, entry, new_webhook_secret=new_secret, check=_composite_check(alarm_id, changed.rule))
        self._scheduler.submit(stored.key, telemetry.capture_context())
        return alarm_pb2.UpdateAlarmResponse(alarm=messages.alarm_to_message(stored, with_webhook_secret=new_secret))

    def DeleteAlarm(self, request: alarm_pb2.DeleteAlarmRequest, context: grpc.ServicerContext) -> alarm_pb2.DeleteAlarmResponse:
        alarm_id = parse_name("name", request.name, "alarms")
        project = current_project()
        _require_owner(self._repository.get_alarm(project, alarm_id), request.owner, "deleted")
        self._writes.delete(project, alarm_id, _unnamed_check(alarm_id))
        return alarm_pb2.DeleteAlarmResponse()

    def ListAlarmHistory(
        self, request: alarm_pb2.ListAlarmHistoryRequest, context: grpc.ServicerContext
    ) -> alarm_pb2.ListAlarmHistoryResponse:
        alarm_id = parse_name("name", request.name, "alarms")
        page = page_request(request.page_size, request.page_token)
        found = self._repository.list_history(current_project(), alarm_id, page.after_time_and(int), page.size + 1)
        entries, token = paginate(found, page.size, lambda entry: [entry.time, entry.sequence])
        return alarm_pb2.ListAlarmHistoryResponse(entries=[messages.history_to_message(e) for e in entries], next_page_token=token)

    def SetAlarmState(self, request: alarm_pb2.SetAlarmStateRequest, context: grpc.ServicerContext) -> alarm_pb2.SetAlarmStateResponse:
        violations = Violations()
        alarm_id = try_parse_name(violations, "name", request.name, "alarms")
        check_enum(violations, "state", request.state, alarm_pb2.AlarmState)
        reason = rules.check_reason(violations, "reason", request.reason)
        violations.raise_if_any()
        assert alarm_id is not None
        caller = current_caller()
        alarm = self._writes.force_state(
            caller.project, alarm_id, messages.STATES[request.state], f"set by an operator: {reason or 'no reason given'}", self._clock(),
            caller.principal,
        )
        return alarm_pb2.SetAlarmStateResponse(alarm=messages.alarm_to_message(alarm))

    def _require_store(self, rule: Rule) -> None:
        """FailedPrecondition when `rule` reads an external store this service has no address of."""
        if isinstance(rule, (PrometheusRule, GnocchiRule)) and rule.store not in self._stores:
            also = " or --gnocchi-cloud (a clouds.yaml entry)" if rule.store == "gnocchi" else ""
            raise FailedPrecondition(
                f"this alarm service reads no {rule.store.capitalize()}: its operator must start it with "
                f"--{rule.store}-url (or AUTOSCALE_{rule.store.upper()}_URL){also} for alarms with a {rule.store}_rule"
            )

    def _with_evaluate_time(self, alarm: Alarm) -> Alarm:
        """The alarm with the newest evaluation time known to this process (kept in memory, see AlarmIndex)."""
        evaluated = self._index.evaluate_time(alarm.key)
        if evaluated is not None and (alarm.evaluate_time or 0) < evaluated:
            return replace(alarm, evaluate_time=evaluated)
        return alarm


def _composite_check(alarm_id: str, rule: Rule) -> DefinitionsCheck | None:
    """For a composite `rule` of alarm `alarm_id`, the check run where it is stored (under the project's definitions lock,
    so that a delete or a change on another replica at the same time cannot leave a name dangling or close a cycle): what
    it names must be there and must not come back to it. InvalidArgument for itself or a cycle, NotFound for an alarm the
    project has not. None for any other rule."""
    if not isinstance(rule, CompositeRule):
        return None
    own = composite.references(composite.parse(rule.expression))
    if alarm_id in own:
        raise InvalidArgument.field("alarm.composite_rule.expression", f"names {alarm_name(alarm_id)} itself")

    def check(stored: StoredDefinitions) -> None:
        missing = sorted(own - stored.existing(own))
        if missing:
            raise NotFound(alarm_name(missing[0]), f"alarm.composite_rule.expression: {alarm_name(missing[0])} not found")

        def named_by(named: str) -> frozenset[str]:
            if named == alarm_id:
                return own
            expression = stored.composite_expressions.get(named)
            return composite.references(composite.parse(expression)) if expression is not None else frozenset()

        cycle = composite.find_cycle(alarm_id, named_by)
        if cycle is not None:
            raise InvalidArgument.field(
                "alarm.composite_rule.expression", f"makes a cycle: {' -> '.join(alarm_name(step) for step in cycle)}"
            )

    return check


def _unnamed_check(alarm_id: str) -> DefinitionsCheck:
    """The check run where alarm `alarm_id` is deleted: FailedPrecondition while composite alarms name it."""

    def check(stored: StoredDefinitions) -> None:
        naming = sorted(
            composite_id for composite_id, expression in stored.composite_expressions.items()
            if alarm_id in composite.references(composite.parse(expression))
        )
        if naming:
            raise FailedPrecondition.in_use(
                alarm_name(alarm_id), [alarm_name(composite_id) for composite_id in naming], ("composite alarm", "composite alarms"),
                "change their composite_rule or delete them first",
            )

    return check


def _rule_text(rule: Rule) -> str:
    """A rule for the history, e.g. `average(cpu_util{group=web}) > 80` or a composite rule's expression."""
    if isinstance(rule, CompositeRule):
        return rule.describe()
    return f"{rule.describe()} {rule.comparison.value} {rule.threshold:g}"


def _require_service_naming_owner(field_path: str, owner: str) -> None:
    """PermissionDenied when a caller other than the mesh's own services names an owner: an owned alarm is its owner's
    (a target tracking policy's), made, changed and deleted by the policy service alone. With authentication off every
    caller is trusted as the mesh is."""
    caller = current_caller()
    if owner and not caller.service:
        raise PermissionDenied(
            f"{field_path}: only autoscale's own services name an alarm's owner (the policy service, for the alarm a target "
            f"tracking policy makes); {caller.principal} may not: change or delete {owner} instead"
        )


def _require_owner(alarm: Alarm, owner: str, done: str) -> None:
    """FailedPrecondition naming the alarm's owner unless the request names it (its owner's service does), so that an
    owned alarm is `done` with its owner only; PermissionDenied when a caller other than a service names it."""
    _require_service_naming_owner("owner", owner)
    if alarm.owner and owner != alarm.owner:
        raise FailedPrecondition(
            f"{alarm_name(alarm.id)} belongs to {alarm.owner}, which made it: it is {done} with {alarm.owner} "
            f"(change or delete {alarm.owner} instead)"
        )
