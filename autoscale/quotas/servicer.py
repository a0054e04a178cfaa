"""QuotaService over gRPC: any caller reads its own project's quota; operators read and set every project's."""

from __future__ import annotations

import grpc

from autoscale.errors import NotFound, PermissionDenied
from autoscale.identity.api_keys import parse_project_name
from autoscale.identity.caller import current_caller
from autoscale.quotas.limits import MAX_LIMIT, RESOURCES, Limits
from autoscale.quotas.store import QuotaStore
from autoscale.v1 import quota_pb2, quota_pb2_grpc
from autoscale.validation import Violations, check_update_mask

OUTPUT_ONLY = ("name", "defaulted")


def parse_quota_name(field_path: str, name: str) -> str:
    """The project of `projects/{project}/quota`; InvalidArgument naming the field otherwise."""
    return parse_project_name(field_path, name, suffix="/quota")


def quota_message(limits: Limits) -> quota_pb2.Quota:
    """The quota of a project as the API shows it: every limit, and which of them are defaults."""
    message = quota_pb2.Quota(name=f"projects/{limits.project}/quota", defaulted=limits.defaulted())
    for resource in RESOURCES:
        setattr(message, resource, limits.of(resource))
    return message


class QuotaServicer(quota_pb2_grpc.QuotaServiceServicer):
    """GetQuota and UpdateQuota."""

    def __init__(self, store: QuotaStore, admin_project: str) -> None:
        self._store = store
        self._admin_project = admin_project

    def GetQuota(self, request: quota_pb2.GetQuotaRequest, context: grpc.ServicerContext) -> quota_pb2.GetQuotaResponse:
        project = parse_quota_name("name", request.name)
        caller = current_caller()
        if project != caller.project and not caller.is_operator(self._admin_project):
            raise NotFound(request.name)
        return quota_pb2.GetQuotaResponse(quota=quota_message(self._store.limits(project)))

    def UpdateQuota(self, request: quota_pb2.UpdateQuotaRequest, context: grpc.ServicerContext) -> quota_pb2.UpdateQuotaResponse:
        project = parse_quota_name("quota.name", request.quota.name)
        caller = current_caller()
        if not caller.is_operator(self._admin_project):
            raise PermissionDenied(
                f"quotas are set by the deployment's operators (a service key, or an admin of project {self._admin_project})"
            )
        violations = Violations()
        fields = check_update_mask(violations, request.update_mask.paths, RESOURCES, OUTPUT_ONLY)
        changes: dict[str, int | None] = {}
        for resource in sorted(fields):
            if not request.quota.HasField(resource):
                changes[resource] = None
                continue
            value = getattr(request.quota, resource)
            if violations.check(0 <= value <= MAX_LIMIT, f"quota.{resource}", f"must be from 0 to {MAX_LIMIT}"):
                changes[resource] = value
        violations.raise_if_any()
        limits = self._store.update(project, changes, updated_by=f"{caller.principal} ({caller.project or 'service'})")
        return quota_pb2.UpdateQuotaResponse(quota=quota_message(limits))
