"""The calls this service makes to PolicyService: the policies that name a group, and their deletion with it.

DeleteGroup asks before it deletes, so that no policy is left adjusting a group that is
gone (each signal of its alarms would fail). Without the policy service's answer nothing
is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from autoscale.errors import FailedPrecondition, Unavailable
from autoscale.peers import as_peer_error, every_page
from autoscale.v1 import policy_pb2

POLICIES_PAGE_SIZE = 1000
"""Policies read per ListPolicies call (the most the policy service answers)."""


class PolicyClient:
    """ListPolicies and DeletePolicy over the peer stub of the policy service."""

    def __init__(self, stub: Callable[[], Any]) -> None:
        self._stub = stub

    def policies_of(self, group_name: str) -> list[str]:
        """The policies whose group is `group_name`, in name order; Unavailable if the policy service could not answer."""

        def read_page(page_token: str) -> tuple[list[str], str]:
            # NOTE: the stub is fetched per page: the peers raise PeerError at once when no address is configured.
            request = policy_pb2.ListPoliciesRequest(group=group_name, page_size=POLICIES_PAGE_SIZE, page_token=page_token)
            response = self._stub().ListPolicies(request)
            return [policy.name for policy in response.policies], response.next_page_token

        return every_page(read_page, lambda failure: Unavailable(
            f"cannot tell whether policies name {group_name}, so it is kept: the policy service failed ({failure}); try again"
        ))

    def release_group(self, group_name: str, *, force: bool) -> None:
        """Leave no policy naming `group_name` before it is deleted: FailedPrecondition naming them, or, with `force`,
        delete them (as AWS deletes a group's policies with the group).

        A policy that alarms name is not deleted (the policy service refuses, and its reason is passed
        on), and the group is kept with it; the policies deleted before it stay deleted, as asked, and
        DeleteGroup may be called again once the alarms no longer name it. A policy refused only because a
        receiver of another of the group's policies names it (as its resolved policy) goes once that one is
        deleted: refused policies are tried again while a pass deletes any.
        """
        policies = self.policies_of(group_name)
        if not policies:
            return
        if not force:
            raise FailedPrecondition.in_use(
                group_name, policies, ("policy", "policies"), "delete them first, or delete the group with force to delete them with it"
            )
        while policies:
            refused = [(name, reason) for name in policies if (reason := self._delete_policy(group_name, name)) is not None]
            if len(refused) == len(policies):
                raise FailedPrecondition(f"{group_name} is kept, since one of its policies is: {refused[0][1]}")
            policies = [name for name, _ in refused]

    def _delete_policy(self, group_name: str, policy_name: str) -> str | None:
        """Delete a policy; the policy service's reason when it refuses (FAILED_PRECONDITION), None once it is gone."""
        try:
            self._stub().DeletePolicy(policy_pb2.DeletePolicyRequest(name=policy_name))
        except grpc.RpcError as error:
            failure = as_peer_error(error)
            if failure.code == grpc.StatusCode.NOT_FOUND:
                return None  # deleted meanwhile: as wanted
            if failure.code == grpc.StatusCode.FAILED_PRECONDITION:
                return failure.details
            raise Unavailable(f"{group_name} is kept: the policy service failed to delete {policy_name} ({failure}); try again") from None
        return None
