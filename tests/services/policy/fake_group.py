"""A fake GroupService for the policy service's tests: groups in memory, activities that end when the test says."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import grpc

from autoscale.server import BuildContext, ServiceRegistration
from autoscale.timeutil import Clock, to_duration, to_timestamp
from autoscale.v1 import common_pb2, group_pb2, group_pb2_grpc

IN_PROGRESS = group_pb2.ACTIVITY_STATUS_IN_PROGRESS


class FakeGroupService(group_pb2_grpc.GroupServiceServicer):
    """GetGroup, Adjust (change in capacity and exact capacity, clamped; refusing while scaling) and GetActivity over in-memory groups."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.groups: dict[str, group_pb2.Group] = {}
        self.activities: dict[str, group_pb2.Activity] = {}
        self.adjust_requests: list[group_pb2.AdjustRequest] = []
        self._answers: dict[tuple[str, str], group_pb2.AdjustResponse] = {}
        self.adjust_delay = 0.0
        """Seconds Adjust takes, to widen the window of concurrent executions."""
        self.failures: dict[str, grpc.StatusCode] = {}
        """Method name -> the code it fails with."""
        self.answers_group = True
        """Whether Adjust answers the group and honours refuse_while_scaling (False: a group service older than both)."""

    def registration(self, _context: BuildContext) -> ServiceRegistration:
        """Registers this fake as the `group` service of a server."""
        return ServiceRegistration(
            name="group",
            full_name="autoscale.v1.GroupService",
            add_to_server=lambda server: group_pb2_grpc.add_GroupServiceServicer_to_server(self, server),
        )

    def add_group(self, group_id: str, *, min_size: int = 1, max_size: int = 5, desired: int = 1, cooldown: float | None = None) -> None:
        group = group_pb2.Group(name=f"groups/{group_id}", launch_config="launchConfigs/lc", min_size=min_size, max_size=max_size,
                                desired_capacity=desired)
        if cooldown is not None:
            group.cooldown.CopyFrom(to_duration(cooldown))
        self.groups[group.name] = group

    def delete_group(self, group_id: str) -> None:
        del self.groups[f"groups/{group_id}"]

    def finish(self, activity_name: str, status: int = group_pb2.ACTIVITY_STATUS_SUCCEEDED) -> None:
        """End an activity now."""
        activity = self.activities[activity_name]
        activity.status = status
        activity.end_time.CopyFrom(to_timestamp(self._clock()))

    def _fail_if_asked(self, method: str, context: grpc.ServicerContext) -> None:
        if method in self.failures:
            context.abort(self.failures[method], f"{method} made to fail by the test")

    def _group(self, name: str, context: grpc.ServicerContext) -> group_pb2.Group:
        if name not in self.groups:
            context.abort(grpc.StatusCode.NOT_FOUND, f"{name} not found")
        return self.groups[name]

    def _status(self, name: str, context: grpc.ServicerContext) -> group_pb2.Group:
        """The group as GetGroup answers it (with scaling_in_progress); the caller holds the lock."""
        group = group_pb2.Group()
        group.CopyFrom(self._group(name, context))
        group.scaling_in_progress = any(a.status == IN_PROGRESS for n, a in self.activities.items() if n.startswith(name + "/"))
        return group

    def GetGroup(self, request: group_pb2.GetGroupRequest, context: grpc.ServicerContext) -> Any:
        self._fail_if_asked("GetGroup", context)
        with self._lock:
            return group_pb2.GetGroupResponse(group=self._status(request.name, context))

    def Adjust(self, request: group_pb2.AdjustRequest, context: grpc.ServicerContext) -> Any:
        self._fail_if_asked("Adjust", context)
        time.sleep(self.adjust_delay)
        with self._lock:
            group = self._group(request.name, context)
            key = (request.name, request.request_id)
            if request.request_id and key in self._answers:
                return self._answers[key]
            self.adjust_requests.append(request)
            previous = group.desired_capacity
            if self.answers_group and request.refuse_while_scaling and self._status(request.name, context).scaling_in_progress:
                return group_pb2.AdjustResponse(
                    previous_capacity=previous, desired_capacity=previous, group=self._status(request.name, context)
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
            if desired == previous:
                activity.status = group_pb2.ACTIVITY_STATUS_UNCHANGED
                activity.end_time.CopyFrom(activity.start_time)
            group.desired_capacity = desired
            self.activities[activity.name] = activity
            answer = group_pb2.AdjustResponse(previous_capacity=previous, desired_capacity=desired, activity=activity)
            if self.answers_group:
                answer.group.CopyFrom(self._status(request.name, context))
            if request.request_id:
                self._answers[key] = answer
            return answer

    def GetActivity(self, request: group_pb2.GetActivityRequest, context: grpc.ServicerContext) -> Any:
        self._fail_if_asked("GetActivity", context)
        with self._lock:
            if request.name not in self.activities:
                context.abort(grpc.StatusCode.NOT_FOUND, f"{request.name} not found")
            return group_pb2.GetActivityResponse(activity=self.activities[request.name])
