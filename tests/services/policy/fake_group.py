"""A fake GroupService for the policy service's tests: groups in memory, and Adjust answering what the test says.

The real group decides whether it is resizing or cooling down (services.group.cooldown,
tested there); this fake adjusts (change in capacity or exact capacity, clamped) unless
the test set `refusal`, which it then answers, as the group would, with the group left
as it is. Every call is recorded by method name, so a test sees what the policy asked.
Groups belong to projects, and each call sees only the groups of the project it acts in
(autoscale.identity, set from the call's metadata by the server it is registered on), as
the real service's do.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import grpc

from autoscale.identity import current_project
from autoscale.server import BuildContext, ServiceRegistration
from autoscale.timeutil import Clock, to_duration, to_timestamp
from autoscale.v1 import common_pb2, group_pb2, group_pb2_grpc

IN_PROGRESS = group_pb2.ACTIVITY_STATUS_IN_PROGRESS
DEFAULT_PROJECT = "default"
"""The project of a call that names none (authentication is off in these tests)."""


class FakeGroupService(group_pb2_grpc.GroupServiceServicer):
    """GetGroup, ListInstances and Adjust over in-memory groups of every project."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.groups: dict[tuple[str, str], group_pb2.Group] = {}
        """(project, group name) -> the group."""
        self.activities: dict[str, group_pb2.Activity] = {}
        self.adjust_requests: list[group_pb2.AdjustRequest] = []
        self.adjust_projects: list[str] = []
        """The project each of `adjust_requests` acted in."""
        self.calls: list[str] = []
        """Method names, in the order they were called."""
        self._answers: dict[tuple[str, str, str], group_pb2.AdjustResponse] = {}
        self.failures: dict[str, grpc.StatusCode] = {}
        """Method name -> the code it fails with."""
        self.in_service_since: dict[tuple[str, str], list[float]] = {}
        """(project, group name) -> when each instance in service went in service; unset: the group's current_capacity
        instances, in service long since."""
        self.refusal: tuple[group_pb2.AdjustRefusal, str, float | None] | None = None
        """When set, Adjust leaves the group as it is and answers (AdjustRefusal, reason, cooldown end or None)."""

    def registration(self, _context: BuildContext) -> ServiceRegistration:
        """Registers this fake as the `group` service of a server."""
        return ServiceRegistration(
            name="group",
            full_name="autoscale.v1.GroupService",
            add_to_server=lambda server: group_pb2_grpc.add_GroupServiceServicer_to_server(self, server),
        )

    def add_group(
        self, group_id: str, *, project: str = DEFAULT_PROJECT, min_size: int = 1, max_size: int = 5, desired: int = 1,
        cooldown: float | None = None,
    ) -> None:
        group = group_pb2.Group(name=f"groups/{group_id}", launch_config="launchConfigs/lc", min_size=min_size, max_size=max_size,
                                desired_capacity=desired)
        if cooldown is not None:
            group.cooldown.CopyFrom(to_duration(cooldown))
        self.groups[(project, group.name)] = group

    def delete_group(self, group_id: str, project: str = DEFAULT_PROJECT) -> None:
        del self.groups[(project, f"groups/{group_id}")]

    def _called(self, method: str, context: grpc.ServicerContext) -> None:
        self.calls.append(method)
        if method in self.failures:
            context.abort(self.failures[method], f"{method} made to fail by the test")

    def _group(self, name: str, context: grpc.ServicerContext) -> group_pb2.Group:
        key = (current_project(), name)
        if key not in self.groups:
            context.abort(grpc.StatusCode.NOT_FOUND, f"{name} not found")
        return self.groups[key]

    def GetGroup(self, request: group_pb2.GetGroupRequest, context: grpc.ServicerContext) -> Any:
        self._called("GetGroup", context)
        with self._lock:
            return group_pb2.GetGroupResponse(group=self._group(request.name, context))

    def ListInstances(self, request: group_pb2.ListInstancesRequest, context: grpc.ServicerContext) -> Any:
        self._called("ListInstances", context)
        with self._lock:
            group = self._group(request.parent, context)
            since = self.in_service_since.get((current_project(), request.parent), [0.0] * group.current_capacity)
            return group_pb2.ListInstancesResponse(instances=[
                group_pb2.Instance(name=f"{request.parent}/instances/i-{n}", state=group_pb2.INSTANCE_STATE_RUNNING,
                                   in_service_time=to_timestamp(time))
                for n, time in enumerate(since)
            ])

    def Adjust(self, request: group_pb2.AdjustRequest, context: grpc.ServicerContext) -> Any:
        self._called("Adjust", context)
        with self._lock:
            group = self._group(request.name, context)
            key = (current_project(), request.name, request.request_id)
            if request.request_id and key in self._answers:
                return self._answers[key]
            self.adjust_requests.append(request)
            self.adjust_projects.append(current_project())
            previous = group.desired_capacity
            if self.refusal is not None:
                refusal, reason, cooldown_end = self.refusal
                return group_pb2.AdjustResponse(
                    previous_capacity=previous, desired_capacity=previous, group=group, adjusted=False, reason=reason,
                    refusal=refusal, cooldown_end_time=to_timestamp(cooldown_end),
                )
            if request.adjustment_type == common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY:
                wanted = request.adjustment
            else:
                wanted = previous + request.adjustment
            desired = max(group.min_size, min(group.max_size, wanted))
            activity = group_pb2.Activity(
                name=f"{request.name}/activities/{uuid.uuid4().hex[:8]}", cause=request.cause, from_capacity=previous,
                to_capacity=desired, start_time=to_timestamp(self._clock()), status=IN_PROGRESS,
            )
            reason = f"desired capacity {previous} → {desired}"
            if desired == previous:
                activity.status = group_pb2.ACTIVITY_STATUS_UNCHANGED
                activity.end_time.CopyFrom(activity.start_time)
                reason = f"capacity stays at {desired} (already at max_size {group.max_size})"
            group.desired_capacity = desired
            self.activities[activity.name] = activity
            answer = group_pb2.AdjustResponse(
                previous_capacity=previous, desired_capacity=desired, activity=activity, group=group,
                adjusted=desired != previous, reason=reason,
            )
            if request.request_id:
                self._answers[key] = answer
            return answer
