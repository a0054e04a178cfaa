"""AuditService over gRPC: a project's events for its own callers, every project's for operators."""

from __future__ import annotations

import grpc

from autoscale.audit.events import AuditEvent
from autoscale.audit.store import AuditLog
from autoscale.errors import NotFound
from autoscale.identity.api_keys import parse_project_name
from autoscale.identity.caller import current_caller
from autoscale.pagination import page_request, paginate
from autoscale.timeutil import to_timestamp
from autoscale.v1 import audit_pb2, audit_pb2_grpc


def event_message(event: AuditEvent) -> audit_pb2.AuditEvent:
    """An event as the API shows it."""
    return audit_pb2.AuditEvent(
        time=to_timestamp(event.time), project=event.project, principal=event.principal, method=event.method,
        resource=event.resource, code=event.code,
    )


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    """ListAuditEvents."""

    def __init__(self, log: AuditLog, admin_project: str) -> None:
        self._log = log
        self._admin_project = admin_project

    def ListAuditEvents(
        self, request: audit_pb2.ListAuditEventsRequest, context: grpc.ServicerContext
    ) -> audit_pb2.ListAuditEventsResponse:
        project = parse_project_name("parent", request.parent)
        caller = current_caller()
        if project != caller.project and not caller.is_operator(self._admin_project):
            raise NotFound(request.parent)
        page = page_request(request.page_size, request.page_token)
        found = self._log.list(project, page.after_time_and(int), page.size + 1)
        events, token = paginate(found, page.size, lambda event: [event.time, event.id], event_message)
        return audit_pb2.ListAuditEventsResponse(events=events, next_page_token=token)
