"""The calls this service makes to GroupService, with their failures translated at this boundary.

A NOT_FOUND from the group service becomes `GroupGone` (the caller decides what a
missing group means); any other failure becomes a `PeerError` carrying the peer's
code on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from autoscale.errors import PeerError
from autoscale.peers import as_peer_error
from autoscale.timeutil import from_duration, from_timestamp
from autoscale.v1 import group_pb2
from services.policy.domain import ActivityStatus, ActivityView, AdjustmentType, GroupView
from services.policy.messages import ADJUSTMENT_TYPE_MESSAGES

ACTIVITY_STATUSES = {
    group_pb2.ACTIVITY_STATUS_IN_PROGRESS: ActivityStatus.IN_PROGRESS,
    group_pb2.ACTIVITY_STATUS_SUCCEEDED: ActivityStatus.SUCCEEDED,
    group_pb2.ACTIVITY_STATUS_FAILED: ActivityStatus.FAILED,
    group_pb2.ACTIVITY_STATUS_CANCELLED: ActivityStatus.CANCELLED,
    group_pb2.ACTIVITY_STATUS_UNCHANGED: ActivityStatus.UNCHANGED,
}


class GroupGone(Exception):
    """The group service has no such group or activity (NOT_FOUND)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} not found")
        self.name = name


@dataclass(frozen=True)
class Adjusted:
    """GroupService.Adjust's answer: the capacities, the activity and the group as the group service answered them."""

    previous_capacity: int
    desired_capacity: int
    activity: group_pb2.Activity | None
    """None when the group was left as it was because it is resizing."""
    group: GroupView | None
    """None from a group service that does not answer it (older than the field) and for a repeated request id."""

    @property
    def activity_view(self) -> ActivityView:
        """The activity as far as the cooldown is concerned."""
        assert self.activity is not None
        return activity_view(self.activity)


def group_view(group: group_pb2.Group) -> GroupView:
    """What an execution needs of a Group message."""
    return GroupView(
        name=group.name,
        min_size=group.min_size,
        max_size=group.max_size,
        desired_capacity=group.desired_capacity,
        cooldown=from_duration(group.cooldown) if group.HasField("cooldown") else None,
        scaling_in_progress=group.scaling_in_progress,
    )


def activity_view(activity: group_pb2.Activity) -> ActivityView:
    """What the cooldown needs of an Activity message."""
    return ActivityView(
        name=activity.name,
        status=ACTIVITY_STATUSES.get(activity.status, ActivityStatus.UNSPECIFIED),
        end_time=from_timestamp(activity.end_time) if activity.HasField("end_time") else None,
    )


class GroupClient:
    """GetGroup, GetActivity and Adjust over the peer stub of the group service."""

    def __init__(self, stub: Callable[[], Any]) -> None:
        self._stub = stub

    def get_group(self, name: str) -> GroupView:
        """The group; GroupGone if it does not exist."""
        return group_view(self._call(name, lambda stub: stub.GetGroup(group_pb2.GetGroupRequest(name=name))).group)

    def get_activity(self, name: str) -> ActivityView:
        """One activity; GroupGone if the group service has no such activity."""
        response = self._call(name, lambda stub: stub.GetActivity(group_pb2.GetActivityRequest(name=name)))
        return activity_view(response.activity)

    def adjust(
        self, name: str, adjustment_type: AdjustmentType, adjustment: int, min_adjustment_step: int, cause: str, request_id: str
    ) -> Adjusted:
        """Adjust the group's desired capacity unless it is resizing; GroupGone if the group does not exist."""
        request = group_pb2.AdjustRequest(
            name=name,
            adjustment_type=ADJUSTMENT_TYPE_MESSAGES[adjustment_type],
            adjustment=adjustment,
            min_adjustment_step=min_adjustment_step,
            cause=cause,
            request_id=request_id,
            refuse_while_scaling=True,
        )
        response = self._call(name, lambda stub: stub.Adjust(request))
        return Adjusted(
            response.previous_capacity,
            response.desired_capacity,
            response.activity if response.HasField("activity") else None,
            group_view(response.group) if response.HasField("group") else None,
        )

    def _call(self, name: str, call: Callable[[Any], Any]) -> Any:
        # NOTE: the stub is fetched per call: the peers raise PeerError at once when
        # no address of the group service is configured.
        stub = self._stub()
        try:
            return call(stub)
        except grpc.RpcError as error:
            raise _failure(name, error) from None


def _failure(name: str, error: grpc.RpcError) -> GroupGone | PeerError:
    if error.code() == grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
        return GroupGone(name)
    return as_peer_error(error)
