"""Composition root of the alarm service: storage, the index, the evaluator, actions, the sweep, the servicer.

One of each serves every project: the index, the queues and the pending actions hold
alarms by project and id, and each call, statistics query and action acts in its own.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import grpc

from autoscale import server as bootstrap
from autoscale.config import Settings
from autoscale.handlers import add_servicer
from autoscale.internal.v1 import batch_statistics_pb2_grpc, sample_feed_pb2, sample_feed_pb2_grpc
from autoscale.netguard import AddressGuard, parse_networks
from autoscale.server import BuildContext, ServiceRegistration
from autoscale.v1 import alarm_pb2_grpc
from autoscale.workers import PeriodicWorker
from services.alarm.action_runners import ActionRequest, PolicyActionRunner
from services.alarm.actions import ActionDispatcher, ActionPool, ActionRunner
from services.alarm.composite_evaluator import CompositeEvaluator
from services.alarm.domain import is_policy_action
from services.alarm.evaluator import AlarmEvaluator
from services.alarm.exposition import AlarmMetrics, AlarmStateCollector
from services.alarm.feed import SampleFeedServicer
from services.alarm.index import AlarmIndex
from services.alarm.repository import AlarmRepository
from services.alarm.scheduler import EvaluationScheduler
from services.alarm.servicer import AlarmServicer
from services.alarm.statistics_client import StatisticsClient
from services.alarm.store_evaluator import CONCURRENCY, StoreEvaluator
from services.alarm.stores import open_stores
from services.alarm.unit_of_work import AlarmWrites
from services.alarm.webhook_delivery import WebhookActionRunner
from services.alarm.webhook_pool import WebhookPool

SERVICE_NAME = "autoscale.v1.AlarmService"
SAMPLE_FEED_NAME = sample_feed_pb2.DESCRIPTOR.services_by_name["SampleFeedService"].full_name
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

INDEX_REFRESH_INTERVAL = 60.0
"""Seconds between two reloads of the alarm index from the database (for changes made through other replicas)."""

log = logging.getLogger(__name__)


def build(context: BuildContext) -> ServiceRegistration:
    """The alarm service's registration, with its evaluator, action dispatcher and sweep as workers."""
    context.database.migrate(MIGRATIONS_DIR, "alarm")
    settings = context.settings
    repository = AlarmRepository(context.database)
    index = AlarmIndex()
    index.replace_all(repository.every_alarm())
    guard = AddressGuard(parse_networks(settings.webhook_allowed_networks, "--webhook-allow"))
    policy_runner = PolicyActionRunner(lambda: context.peers.policy)
    webhook_runner = WebhookActionRunner(guard, settings.alarm_action_timeout, context.clock, repository.webhook_secret)
    webhooks = WebhookPool()

    def runner_for(target: str) -> ActionRunner:
        return policy_runner if is_policy_action(target) else webhook_runner

    def pool_for(target: str) -> ActionPool | None:
        return None if is_policy_action(target) else webhooks

    metrics = AlarmMetrics(context.metrics_registry)
    context.metrics_registry.register(AlarmStateCollector(context.database))
    actions = ActionDispatcher(
        repository.record_attempt, runner_for, context.clock,
        attempts=settings.alarm_action_attempts, backoff=settings.alarm_action_backoff, pool_for=pool_for, metrics=metrics,
    )
    # Actions decided before the last stop (or crash) run now; their request_id makes a repeat harmless.
    for pending in repository.pending_actions():
        alarm = index.get((pending.project, pending.alarm_id))
        if alarm is not None:
            actions.dispatch(ActionRequest(alarm, pending), first_attempt=pending.attempts + 1)
    statistics = StatisticsClient(lambda: context.peers.stub("metrics", batch_statistics_pb2_grpc.BatchStatisticsServiceStub))
    writes = AlarmWrites(repository, index, actions)
    stores = open_stores(settings, connections=CONCURRENCY)
    store_evaluator = StoreEvaluator(stores, writes.apply, context.clock)
    composite_evaluator = CompositeEvaluator(index, context.clock)
    composite_evaluator.applying_through(writes.apply)
    writes.tell_transitions_to(composite_evaluator.states_changed)
    evaluator = AlarmEvaluator(index, statistics, writes, context.clock, stores=store_evaluator, composites=composite_evaluator)
    scheduler = EvaluationScheduler(evaluator.evaluate, observe=metrics.batch_evaluated)

    def sweep() -> None:
        # Evaluating every alarm (of every project), not only those whose series received points, notices missing data.
        started = time.monotonic()
        evaluated = evaluator.evaluate(index.builtin_keys(), between_chunks=lambda: scheduler.yield_to_urgent(actions.busy))
        # Composite alarms too: a transition another replica stored reaches them so (and their repeated actions run).
        evaluated += composite_evaluator.evaluate([alarm for alarm in map(index.get, index.composite_keys()) if alarm])
        took = time.monotonic() - started
        metrics.evaluation_seconds.labels("sweep").observe(took)
        log.info("sweep evaluated %d alarms in %.3fs", evaluated, took)

    def store_sweep() -> None:
        # Alarms over external stores receive no samples: this pass is what evaluates them (apart from create and update).
        keys = index.store_keys()
        if not keys:
            return
        started = time.monotonic()
        evaluated = store_evaluator.evaluate([alarm for alarm in map(index.get, keys) if alarm is not None])
        took = time.monotonic() - started
        metrics.evaluation_seconds.labels("store_sweep").observe(took)
        log.info("swept %d alarms over external stores in %.3fs", evaluated, took)

    servicer = AlarmServicer(repository, writes, index, scheduler, context.quotas, context.clock, guard, stores=stores.keys())
    feed = SampleFeedServicer(index, scheduler, context.clock)

    def add_to_server(server: grpc.Server) -> None:
        add_servicer(alarm_pb2_grpc.add_AlarmServiceServicer_to_server, servicer, server)
        add_servicer(sample_feed_pb2_grpc.add_SampleFeedServiceServicer_to_server, feed, server)

    return ServiceRegistration(
        name="alarm",
        full_name=SERVICE_NAME,
        add_to_server=add_to_server,
        internal_names=[SAMPLE_FEED_NAME],
        # Stopped in this order: the sweep and the scheduler stop evaluating before the evaluator stops asking
        # statistics ahead, it before the actions, and they before the webhooks they hand over. (Started in it too,
        # which is safe: work queued before a worker starts waits for it.)
        workers=[
            # The index was just loaded: the first reload waits an interval (not to compete with the first sweep);
            # alarms changed through another replica reach this one's index within an interval.
            PeriodicWorker("alarm-index-refresh", INDEX_REFRESH_INTERVAL, writes.reload_all, first_after=INDEX_REFRESH_INTERVAL),
            PeriodicWorker("alarm-sweep", settings.alarm_sweep_interval, sweep),
            # Its own thread (and the evaluator its own pool): a slow or hung store never holds up the sweep above.
            PeriodicWorker("alarm-store-sweep", settings.alarm_sweep_interval, store_sweep),
            scheduler,
            evaluator,
            store_evaluator,
            actions,
            webhooks,
        ],
    )


def create_server(settings: Settings) -> tuple[bootstrap.Server, int]:
    """A server of the alarm service alone."""
    return bootstrap.create_server(settings, [("alarm", build)], database_file="alarm.db")
