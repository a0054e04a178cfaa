"""A fake PolicyService for the group service's tests: ListPolicies of a group and DeletePolicy over policies in memory.

Each policy is one project's: a call sees those of the project it acts in (the group service's peer calls carry it).
"""

from __future__ import annotations

import threading
from typing import Any

import grpc

from autoscale.identity import current_project
from autoscale.server import BuildContext, ServiceRegistration
from autoscale.v1 import policy_pb2, policy_pb2_grpc


class FakePolicyService(policy_pb2_grpc.PolicyServiceServicer):
    """Policies by name with their group; ListPolicies answers `page_size` at a time (the page token is an offset)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.policies: dict[str, policy_pb2.Policy] = {}
        self.projects: dict[str, str] = {}
        """Policy name -> its project."""
        self.kept: dict[str, str] = {}
        """Policy name -> the FAILED_PRECONDITION message DeletePolicy refuses it with (as when alarms name it)."""
        self.resolved_by: dict[str, str] = {}
        """Policy name -> the policy whose receiver names it as its resolved policy: DeletePolicy refuses it while that one is."""
        self.failure: grpc.StatusCode | None = None
        """The code every call fails with, when set."""
        self.deleted: list[str] = []

    def registration(self, _context: BuildContext) -> ServiceRegistration:
        """Registers this fake as the `policy` service of a server."""
        return ServiceRegistration(
            name="policy",
            full_name="autoscale.v1.PolicyService",
            add_to_server=lambda server: policy_pb2_grpc.add_PolicyServiceServicer_to_server(self, server),
        )

    def add_policy(self, policy_id: str, group_id: str, project: str = "default") -> None:
        with self._lock:
            self.policies[f"policies/{policy_id}"] = policy_pb2.Policy(name=f"policies/{policy_id}", group=f"groups/{group_id}")
            self.projects[f"policies/{policy_id}"] = project

    def ListPolicies(self, request: policy_pb2.ListPoliciesRequest, context: grpc.ServicerContext) -> Any:
        if self.failure is not None:
            context.abort(self.failure, "the fake policy service fails")
        project = current_project()
        with self._lock:
            found = [
                policy for name, policy in sorted(self.policies.items())
                if request.group in ("", policy.group) and self.projects[name] == project
            ]
        start = int(request.page_token or 0)
        end = start + (request.page_size or 100)
        return policy_pb2.ListPoliciesResponse(policies=found[start:end], next_page_token=str(end) if end < len(found) else "")

    def DeletePolicy(self, request: policy_pb2.DeletePolicyRequest, context: grpc.ServicerContext) -> Any:
        if self.failure is not None:
            context.abort(self.failure, "the fake policy service fails")
        if request.name in self.kept:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, self.kept[request.name])
        if self.resolved_by.get(request.name) in self.policies:
            receiver = f"{self.resolved_by[request.name]}/receivers/r"
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{request.name} is used by 1 receiver ({receiver})")
        with self._lock:
            if self.projects.get(request.name) != current_project() or self.policies.pop(request.name, None) is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"{request.name} not found")
            self.deleted.append(request.name)
        return policy_pb2.DeletePolicyResponse()
