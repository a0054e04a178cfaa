"""A fake AlarmService for the policy service's tests: ListAlarms over alarms held in memory, in pages, and the
create, update and delete of owned alarms (a target tracking policy's) with the real service's owner rule.

Alarms belong to projects, and a call lists only those of the project it acts in (autoscale.identity, set from the
call's metadata by the server this fake is registered on), as the real service's do.
"""

from __future__ import annotations

from typing import Any

import grpc

from autoscale.identity import current_project
from autoscale.server import BuildContext, ServiceRegistration
from autoscale.v1 import alarm_pb2, alarm_pb2_grpc

DEFAULT_PROJECT = "default"
"""The project of a call that names none (authentication is off in these tests)."""


class FakeAlarmService(alarm_pb2_grpc.AlarmServiceServicer):
    """ListAlarms: the project's alarms of `alarms`, in name order, `page_size` at a time (the page token is an offset);
    GetAlarm, CreateAlarm, UpdateAlarm and DeleteAlarm of the project's alarms (ALREADY_EXISTS, NOT_FOUND, and FAILED_PRECONDITION
    for an owned alarm asked without its owner, as the real service answers)."""

    def __init__(self) -> None:
        self.alarms: dict[tuple[str, str], alarm_pb2.Alarm] = {}
        """(project, alarm name) -> the alarm."""
        self.failure: grpc.StatusCode | None = None
        """The code ListAlarms fails with, when set."""
        self.list_requests: list[alarm_pb2.ListAlarmsRequest] = []
        self.create_failure: grpc.StatusCode | None = None
        """The code CreateAlarm fails with, when set."""

    def registration(self, _context: BuildContext) -> ServiceRegistration:
        """Registers this fake as the `alarm` service of a server."""
        return ServiceRegistration(
            name="alarm",
            full_name="autoscale.v1.AlarmService",
            add_to_server=lambda server: alarm_pb2_grpc.add_AlarmServiceServicer_to_server(self, server),
        )

    def add_alarm(self, alarm_id: str, *, project: str = DEFAULT_PROJECT, alarm_actions: tuple[str, ...] = (),
                  ok_actions: tuple[str, ...] = (), insufficient_data_actions: tuple[str, ...] = ()) -> None:
        self.alarms[(project, f"alarms/{alarm_id}")] = alarm_pb2.Alarm(
            name=f"alarms/{alarm_id}",
            alarm_actions=alarm_actions,
            ok_actions=ok_actions,
            insufficient_data_actions=insufficient_data_actions,
        )

    def delete_alarm(self, alarm_id: str, project: str = DEFAULT_PROJECT) -> None:
        del self.alarms[(project, f"alarms/{alarm_id}")]

    def ListAlarms(self, request: alarm_pb2.ListAlarmsRequest, context: grpc.ServicerContext) -> Any:
        self.list_requests.append(request)
        if self.failure is not None:
            context.abort(self.failure, "the fake alarm service fails")
        start = int(request.page_token or 0)
        size = request.page_size or 100
        project = current_project()
        names = sorted(name for owner, name in self.alarms if owner == project)
        end = start + size
        return alarm_pb2.ListAlarmsResponse(
            alarms=[self.alarms[(project, name)] for name in names[start:end]], next_page_token=str(end) if end < len(names) else ""
        )

    def GetAlarm(self, request: alarm_pb2.GetAlarmRequest, context: grpc.ServicerContext) -> Any:
        alarm = self.alarms.get((current_project(), request.name))
        if alarm is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"{request.name} not found")
        return alarm_pb2.GetAlarmResponse(alarm=alarm)

    def CreateAlarm(self, request: alarm_pb2.CreateAlarmRequest, context: grpc.ServicerContext) -> Any:
        if self.create_failure is not None:
            context.abort(self.create_failure, "the fake alarm service refuses the alarm")
        key = (current_project(), f"alarms/{request.alarm_id}")
        if key in self.alarms:
            context.abort(grpc.StatusCode.ALREADY_EXISTS, f"{key[1]} already exists")
        alarm = alarm_pb2.Alarm()
        alarm.CopyFrom(request.alarm)
        alarm.name = key[1]
        self.alarms[key] = alarm
        return alarm_pb2.CreateAlarmResponse(alarm=alarm)

    def UpdateAlarm(self, request: alarm_pb2.UpdateAlarmRequest, context: grpc.ServicerContext) -> Any:
        stored = self._owned(request.alarm.name, request.owner, context)
        alarm = alarm_pb2.Alarm()
        alarm.CopyFrom(request.alarm)
        alarm.owner = stored.owner
        self.alarms[(current_project(), request.alarm.name)] = alarm
        return alarm_pb2.UpdateAlarmResponse(alarm=alarm)

    def DeleteAlarm(self, request: alarm_pb2.DeleteAlarmRequest, context: grpc.ServicerContext) -> Any:
        self._owned(request.name, request.owner, context)
        del self.alarms[(current_project(), request.name)]
        return alarm_pb2.DeleteAlarmResponse()

    def _owned(self, name: str, owner: str, context: grpc.ServicerContext) -> alarm_pb2.Alarm:
        key = (current_project(), name)
        if key not in self.alarms:
            context.abort(grpc.StatusCode.NOT_FOUND, f"{name} not found")
        alarm = self.alarms[key]
        if alarm.owner and alarm.owner != owner:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{name} belongs to {alarm.owner}")
        return alarm
