"""The calls this service makes to GroupService, with their failures translated at this boundary.

A NOT_FOUND from the group service becomes `GroupGone` (the caller decides what a
missing group means); any other failure becomes a `PeerError` carrying the peer's
code on.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import grpc

from autoscale.errors import PeerError
from autoscale.pagination import MAX_PAGE_SIZE
from autoscale.peers import as_peer_error
from autoscale.timeutil import from_timestamp, to_duration
from autoscale.v1 import group_pb2
from services.policy.domain import AdjustmentType
from services.policy.messages import ADJUSTMENT_TYPE_MESSAGES


class GroupGone(Exception):
    """The group service has no such group (NOT_FOUND)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} not found")
        self.name = name


class GroupClient:
    """GetGroup, ListInstances and Adjust over the peer stub of the group service."""

    def __init__(self, stub: Callable[[], Any]) -> None:
        self._stub = stub

    def require_group(self, name: str) -> None:
        """Nothing if the group exists; GroupGone if it does not."""
        self.get_group(name)

    def get_group(self, name: str) -> group_pb2.Group:
        """The group as it is now (its sizes and the instances in service); GroupGone if it does not exist."""
        response: group_pb2.GetGroupResponse = self._call(name, lambda stub: stub.GetGroup(group_pb2.GetGroupRequest(name=name)))
        return response.group

    def in_service_times(self, name: str) -> list[float]:
        """When each running instance of the group went in service (infinity for one not counted in service yet, which
        warms up as long as that lasts); GroupGone if the group does not exist."""
        times: list[float] = []
        page_token, seen = "", set()
        while True:
            response: group_pb2.ListInstancesResponse = self._call(name, functools.partial(_list_instances, name, page_token))
            times.extend(
                from_timestamp(instance.in_service_time) if instance.HasField("in_service_time") else math.inf
                for instance in response.instances if instance.state == group_pb2.INSTANCE_STATE_RUNNING
            )
            seen.add(page_token)
            page_token = response.next_page_token
            if not page_token or page_token in seen:  # (a token given twice would list forever)
                return times

    def adjust(
        self,
        name: str,
        adjustment_type: AdjustmentType,
        adjustment: int,
        min_adjustment_step: int,
        cooldown: float | None,
        cause: str,
        request_id: str,
        alarm_notification: bool = False,
        *,
        step_scaling: bool = False,
        estimated_instance_warmup: float | None = None,
        trigger: group_pb2.ScalingTrigger | None = None,
        expected_desired_capacity: int | None = None,
    ) -> group_pb2.AdjustResponse:
        """Adjust the group honouring its cooldown (the group decides), starting `cooldown` (None: the group's) if it adjusts;
        `alarm_notification`: an alarm or a receiver caused it (a group may have those suspended). With `step_scaling` (a
        step policy's), by AWS's warm-up rule instead, instances warming up for `estimated_instance_warmup` (None: the
        group's cooldown); `cooldown` is then not read. `trigger`: what set the policy off, recorded with the group's
        scaling decision. `expected_desired_capacity`: the desired capacity this was decided from (the group refuses when
        its own is another by then).

        The group's answer, whether it adjusted or not and why; GroupGone if the group does not exist.
        """
        request = group_pb2.AdjustRequest(
            name=name,
            adjustment_type=ADJUSTMENT_TYPE_MESSAGES[adjustment_type],
            adjustment=adjustment,
            min_adjustment_step=min_adjustment_step,
            cause=cause,
            request_id=request_id,
            alarm_notification=alarm_notification,
            expected_desired_capacity=expected_desired_capacity,
            trigger=trigger,
        )
        if step_scaling:
            request.step_scaling = True
            if estimated_instance_warmup is not None:
                request.estimated_instance_warmup.CopyFrom(to_duration(estimated_instance_warmup))
        else:
            request.honor_cooldown = True
            if cooldown is not None:
                request.cooldown.CopyFrom(to_duration(cooldown))
        response: group_pb2.AdjustResponse = self._call(name, lambda stub: stub.Adjust(request))
        return response

    def _call(self, name: str, call: Callable[[Any], Any]) -> Any:
        # NOTE: the stub is fetched per call: the peers raise PeerError at once when
        # no address of the group service is configured.
        stub = self._stub()
        try:
            return call(stub)
        except grpc.RpcError as error:
            raise _failure(name, error) from None


def _list_instances(name: str, page_token: str, stub: Any) -> Any:
    return stub.ListInstances(group_pb2.ListInstancesRequest(parent=name, page_size=MAX_PAGE_SIZE, page_token=page_token))


def _failure(name: str, error: grpc.RpcError) -> GroupGone | PeerError:
    if error.code() == grpc.StatusCode.NOT_FOUND:
        return GroupGone(name)
    return as_peer_error(error)
