"""AlarmService over gRPC: validates requests, turns them into domain calls, and answers."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import grpc

from autoscale import telemetry
from autoscale.pagination import page_request, paginate
from autoscale.timeutil import Clock
from autoscale.v1 import alarm_pb2, alarm_pb2_grpc
from autoscale.validation import Violations, check_enum, check_id, parse_name, try_parse_name
from services.alarm import messages, rules, update
from services.alarm.domain import Alarm, AlarmState, HistoryEntry, HistoryType
from services.alarm.evaluation import could_change_state
from services.alarm.evaluator import AlarmEvaluator
from services.alarm.index import AlarmIndex, WatchList
from services.alarm.notified import read_notify_samples
from services.alarm.repository import AlarmRepository


class AlarmServicer(alarm_pb2_grpc.AlarmServiceServicer):
    """The AlarmService RPCs."""

    def __init__(self, repository: AlarmRepository, index: AlarmIndex, evaluator: AlarmEvaluator, clock: Clock) -> None:
        self._repository = repository
        self._index = index
        self._evaluator = evaluator
        self._clock = clock
        self._watch_list_answer: alarm_pb2.NotifySamplesResponse | None = None

    def CreateAlarm(self, request: alarm_pb2.CreateAlarmRequest, context: grpc.ServicerContext) -> Any:
        violations = Violations()
        check_id(violations, "alarm_id", request.alarm_id)
        definition = rules.check_alarm(violations, request.alarm)
        violations.raise_if_any()
        assert definition is not None
        now = self._clock()
        alarm = Alarm(
            id=request.alarm_id, rule=definition.rule, description=definition.description,
            alarm_actions=definition.alarm_actions, ok_actions=definition.ok_actions,
            insufficient_data_actions=definition.insufficient_data_actions, repeat_actions=definition.repeat_actions,
            disabled=definition.disabled, state=AlarmState.INSUFFICIENT_DATA, state_reason="Not evaluated yet",
            state_time=now, create_time=now,
        )
        created = HistoryEntry(alarm.id, now, HistoryType.CREATION, f"created: {alarm.rule.describe()} "
                               f"{alarm.rule.comparison.value} {alarm.rule.threshold:g}", state=alarm.state)
        self._repository.create_alarm(alarm, created)
        self._index.put(alarm)
        self._evaluator.submit(alarm.id, telemetry.capture_context())
        return alarm_pb2.CreateAlarmResponse(alarm=messages.alarm_to_message(alarm))

    def GetAlarm(self, request: alarm_pb2.GetAlarmRequest, context: grpc.ServicerContext) -> Any:
        alarm = self._repository.get_alarm(parse_name("name", request.name, "alarms"))
        return alarm_pb2.GetAlarmResponse(alarm=messages.alarm_to_message(self._with_evaluate_time(alarm)))

    def ListAlarms(self, request: alarm_pb2.ListAlarmsRequest, context: grpc.ServicerContext) -> Any:
        page = page_request(request.page_size, request.page_token)
        found = self._repository.list_alarms(page.after_id(), page.size + 1)
        alarms, token = paginate(found, page.size, lambda alarm: alarm.id)
        return alarm_pb2.ListAlarmsResponse(
            alarms=[messages.alarm_to_message(self._with_evaluate_time(a)) for a in alarms], next_page_token=token
        )

    def UpdateAlarm(self, request: alarm_pb2.UpdateAlarmRequest, context: grpc.ServicerContext) -> Any:
        alarm_id = parse_name("alarm.name", request.alarm.name, "alarms")
        violations = Violations()
        paths = update.mask_paths(violations, request.update_mask.paths)
        violations.raise_if_any()
        current = self._repository.get_alarm(alarm_id)
        definition = rules.check_alarm(violations, update.merged(messages.alarm_to_message(current), request.alarm, paths))
        violations.raise_if_any()
        assert definition is not None
        changed = replace(
            current, rule=definition.rule, description=definition.description, alarm_actions=definition.alarm_actions,
            ok_actions=definition.ok_actions, insufficient_data_actions=definition.insufficient_data_actions,
            repeat_actions=definition.repeat_actions, disabled=definition.disabled,
        )
        entry = HistoryEntry(alarm_id, self._clock(), HistoryType.RULE_CHANGE, f"changed: {', '.join(paths)}", state=current.state)
        stored = self._repository.update_alarm(changed, entry)
        self._index.put(stored)
        self._evaluator.submit(alarm_id, telemetry.capture_context())
        return alarm_pb2.UpdateAlarmResponse(alarm=messages.alarm_to_message(stored))

    def DeleteAlarm(self, request: alarm_pb2.DeleteAlarmRequest, context: grpc.ServicerContext) -> Any:
        alarm_id = parse_name("name", request.name, "alarms")
        self._repository.delete_alarm(alarm_id)
        self._index.remove(alarm_id)
        self._evaluator.forget(alarm_id)
        return alarm_pb2.DeleteAlarmResponse()

    def ListAlarmHistory(self, request: alarm_pb2.ListAlarmHistoryRequest, context: grpc.ServicerContext) -> Any:
        alarm_id = parse_name("name", request.name, "alarms")
        page = page_request(request.page_size, request.page_token)
        found = self._repository.list_history(alarm_id, page.after_time_and(int), page.size + 1)
        entries, token = paginate(found, page.size, lambda entry: [entry.time, entry.sequence])
        return alarm_pb2.ListAlarmHistoryResponse(entries=[messages.history_to_message(e) for e in entries], next_page_token=token)

    def SetAlarmState(self, request: alarm_pb2.SetAlarmStateRequest, context: grpc.ServicerContext) -> Any:
        violations = Violations()
        alarm_id = try_parse_name(violations, "name", request.name, "alarms")
        check_enum(violations, "state", request.state, alarm_pb2.AlarmState)
        reason = rules.check_reason(violations, "reason", request.reason)
        violations.raise_if_any()
        assert alarm_id is not None
        alarm = self._evaluator.force_state(alarm_id, messages.STATES[request.state], f"set by an operator: {reason or 'no reason given'}")
        return alarm_pb2.SetAlarmStateResponse(alarm=messages.alarm_to_message(alarm))

    def NotifySamples(self, request: bytes, context: grpc.ServicerContext) -> Any:
        """Takes the request's bytes (see server.py): reading them through protobuf's objects cost more than the rest of the call."""
        violations = Violations()
        notification = read_notify_samples(violations, request)
        violations.raise_if_any()
        # Per alarm: the lowest and highest value of the series it watches (None: a series came without points).
        extremes: dict[str, tuple[float, float] | None] = {}
        watching = self._index.watching
        for (metric, dimensions), values in notification.series:
            low, high = (min(values), max(values)) if values else (None, None)
            for alarm_id in watching(metric, dimensions):
                if alarm_id in extremes and extremes[alarm_id] is None:
                    continue  # already unknown: it stays so
                known = extremes.get(alarm_id)
                if low is None or high is None:
                    extremes[alarm_id] = None
                else:
                    extremes[alarm_id] = (low, high) if known is None else (min(low, known[0]), max(high, known[1]))
        trace_context = telemetry.capture_context()
        for alarm_id, bounds in extremes.items():
            alarm = self._index.get(alarm_id)
            if alarm is None:
                continue
            if bounds is None or could_change_state(alarm.rule, alarm.state, *bounds):
                self._evaluator.submit(alarm_id, trace_context, urgent=True)
            elif alarm.repeat_actions:
                # Its state cannot move, but its actions may be due again.
                self._evaluator.submit(alarm_id, trace_context)
            # Otherwise evaluating would only confirm the state: the sweep evaluates it in its turn.
        changed = self._index.watch_changes(notification.watch_version) if notification.changes_accepted else None
        if changed is not None:
            return messages.watch_list_changes(len(extremes), *changed)
        version, watch_list = self._index.watch_list()
        if notification.watch_version == version:
            return alarm_pb2.NotifySamplesResponse(matched_alarms=len(extremes), watch_version=version)
        answer = alarm_pb2.NotifySamplesResponse()
        answer.CopyFrom(self._complete_watch_list(version, watch_list))
        answer.matched_alarms = len(extremes)
        return answer

    def _complete_watch_list(self, version: int, watch_list: WatchList) -> alarm_pb2.NotifySamplesResponse:
        """The answer's whole watch list, made once per version (for callers that take no changes, or hold a version too old)."""
        made = self._watch_list_answer
        if made is None or made.watch_version != version:
            made = self._watch_list_answer = messages.complete_watch_list(version, watch_list)
        return made

    def _with_evaluate_time(self, alarm: Alarm) -> Alarm:
        """The alarm with the newest evaluation time known to this process (kept in memory, see AlarmIndex)."""
        evaluated = self._index.evaluate_time(alarm.id)
        if evaluated is not None and (alarm.evaluate_time or 0) < evaluated:
            return replace(alarm, evaluate_time=evaluated)
        return alarm
