"""The calls this service makes to AlarmService: whether alarms name a policy in their actions.

DeletePolicy asks before it deletes, so that no alarm is left with an action whose target
is gone (it would fail each time the alarm fires, and nothing would scale). The alarm
service cannot be asked whether it names one policy, so its alarms are read page by
page (a delete is rare; a ListAlarms filter would spare the reading).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autoscale.errors import FailedPrecondition, Unavailable
from autoscale.peers import every_page
from autoscale.v1 import alarm_pb2

ALARMS_PAGE_SIZE = 1000
"""Alarms read per ListAlarms call (the most the alarm service answers)."""


class AlarmClient:
    """ListAlarms over the peer stub of the alarm service, to find the alarms that name a policy."""

    def __init__(self, stub: Callable[[], Any]) -> None:
        self._stub = stub

    def alarms_naming(self, policy_name: str) -> list[str]:
        """The alarms whose alarm, OK or insufficient-data actions include `policy_name`, in name order.

        Unavailable if the alarm service could not answer (no address, unreachable, or failing).
        """

        def read_page(page_token: str) -> tuple[list[str], str]:
            # NOTE: the stub is fetched per page: the peers raise PeerError at once when no address is configured.
            response = self._stub().ListAlarms(alarm_pb2.ListAlarmsRequest(page_size=ALARMS_PAGE_SIZE, page_token=page_token))
            return [alarm.name for alarm in response.alarms if _names(alarm, policy_name)], response.next_page_token

        return every_page(read_page, lambda failure: Unavailable(
            f"cannot tell whether alarms name {policy_name}, so it is kept: the alarm service failed ({failure}); try again"
        ))

    def refuse_if_named(self, policy_name: str) -> None:
        """FailedPrecondition naming the alarms whose actions name `policy_name`, if any (Unavailable if unknown).

        No `force` is offered that would take the policy out of their actions. AWS does let a policy go
        from under its alarms, and Heat refuses; we refuse: the alarms belong to another service, which
        this one cannot change in the same transaction, and an alarm quietly left without its action
        stops scaling anything, the very failure this check is there to prevent. The caller edits or
        deletes the alarms (their owner's API), then deletes the policy.
        """
        alarms = self.alarms_naming(policy_name)
        if alarms:
            raise FailedPrecondition.in_use(
                policy_name, alarms, ("alarm", "alarms"), "take it out of their actions, or delete them, first"
            )


def _names(alarm: alarm_pb2.Alarm, policy_name: str) -> bool:
    """Whether one of the alarm's actions (of any state) is `policy_name`."""
    return policy_name in alarm.alarm_actions or policy_name in alarm.ok_actions or policy_name in alarm.insufficient_data_actions
