"""Composition root of the policy service: storage, the group, alarm and metrics service clients, the executor, the servicer."""

from __future__ import annotations

from pathlib import Path

from autoscale import server as bootstrap
from autoscale.config import Settings
from autoscale.handlers import add_servicer
from autoscale.server import BuildContext, ServiceRegistration
from autoscale.v1 import policy_pb2_grpc
from services.policy.alarm_client import AlarmClient
from services.policy.executor import PolicyExecutor
from services.policy.exposition import PolicyMetrics
from services.policy.group_client import GroupClient
from services.policy.metrics_client import MetricsClient
from services.policy.receivers.repository import ReceiverRepository
from services.policy.receivers.signals import SignalReceiver, signal_route
from services.policy.repository import PolicyRepository
from services.policy.servicer import PolicyServicer

SERVICE_NAME = "autoscale.v1.PolicyService"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def build(context: BuildContext) -> ServiceRegistration:
    """The policy service's registration: its RPCs, and its receivers' URLs on the HTTP listener (no background workers)."""
    context.database.migrate(MIGRATIONS_DIR, "policy")
    repository = PolicyRepository(context.database)
    group_client = GroupClient(lambda: context.peers.group)
    metrics = PolicyMetrics(context.metrics_registry)
    executor = PolicyExecutor(repository, group_client, MetricsClient(lambda: context.peers.metrics), context.clock, metrics)
    receivers = ReceiverRepository(context.database)
    servicer = PolicyServicer(
        repository, executor, group_client, AlarmClient(lambda: context.peers.alarm), context.quotas, context.clock,
        receivers, context.http_url,
    )
    signals = SignalReceiver(receivers, executor, context.clock, metrics)
    return ServiceRegistration(
        name="policy",
        full_name=SERVICE_NAME,
        add_to_server=lambda server: add_servicer(policy_pb2_grpc.add_PolicyServiceServicer_to_server, servicer, server),
        http_routes=[signal_route(signals)],
    )


def create_server(settings: Settings) -> tuple[bootstrap.Server, int]:
    """A server of the policy service alone."""
    return bootstrap.create_server(settings, [("policy", build)], database_file="policy.db")
