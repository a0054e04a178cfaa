"""Composition root of the group service: storage, compute drivers, reconcile loop, the policy service client, servicer."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

from autoscale import server as bootstrap
from autoscale.config import Settings, default_state_dir
from autoscale.handlers import add_servicer
from autoscale.server import BuildContext, ServiceBuilder, ServiceRegistration
from autoscale.timeutil import Clock
from autoscale.v1 import group_pb2_grpc
from autoscale.workers import PeriodicWorker, Worker
from services.group.cpu_report import CLAIM_INTERVALS, CpuMeter, CpuReporter
from services.group.domain import OPENSTACK_SERVER, PROCESS
from services.group.drivers.base import ComputeDriver, ServerSpecValidator
from services.group.exposition import GroupCollector
from services.group.health_monitor import HealthMonitor
from services.group.load_balancers import PoolDriver, PoolFiles, PoolSync
from services.group.policy_client import PolicyClient
from services.group.pools import PoolKind
from services.group.reconciler import Reconciler
from services.group.repository import GroupRepositories
from services.group.scheduler import POLL_INTERVAL, ScheduledActionRunner
from services.group.servicer import GroupServicer

SERVICE_NAME = "autoscale.v1.GroupService"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

DriverFactory = Callable[[Settings], Mapping[str, ComputeDriver]]
"""Builds the compute drivers by launch-config kind (PROCESS, OPENSTACK_SERVER)."""


def instance_log_dir(settings: Settings) -> Path:
    """Where the local driver writes each instance's output."""
    return Path(settings.instance_log_dir) if settings.instance_log_dir else default_state_dir() / "instances"


def pool_dir(settings: Settings) -> Path:
    """Where groups' pool files are written."""
    return Path(settings.pool_dir) if settings.pool_dir else default_state_dir() / "pools"


def production_drivers(settings: Settings) -> Mapping[str, ComputeDriver]:
    """The local-process driver and the OpenStack driver (which connects on first use)."""
    from services.group.drivers.local import LocalProcessDriver
    from services.group.drivers.openstack import OpenStackDriver

    return {
        PROCESS: LocalProcessDriver(log_dir=instance_log_dir(settings)),
        OPENSTACK_SERVER: OpenStackDriver(cloud=settings.openstack_cloud, timeout=settings.openstack_timeout),
    }


def pool_drivers(settings: Settings, openstack: ComputeDriver | None) -> dict[PoolKind, PoolDriver]:
    """Pool files always; Octavia pools through the OpenStack driver's connection, where there is one."""
    from services.group.drivers.octavia import OctaviaPools
    from services.group.drivers.openstack import OpenStackDriver

    found: dict[PoolKind, PoolDriver] = {PoolKind.FILE: PoolFiles(pool_dir(settings))}
    if isinstance(openstack, OpenStackDriver):
        found[PoolKind.OCTAVIA] = OctaviaPools(openstack.connection)
    return found


def make_build(drivers: DriverFactory = production_drivers) -> ServiceBuilder:
    """A builder of the group service whose compute drivers come from `drivers` (tests pass fakes)."""

    def build(context: BuildContext) -> ServiceRegistration:
        context.database.migrate(MIGRATIONS_DIR, "group")
        context.metrics_registry.register(GroupCollector(context.database))
        # Every project's resources: a call acts in its caller's project, a reconcile pass covers every project's groups.
        repositories = GroupRepositories(context.database)
        # Without the local-process driver, a group of process instances cannot launch: its activity says so.
        allowed = {kind: driver for kind, driver in drivers(context.settings).items() if kind != PROCESS or context.process_driver}
        health = HealthMonitor(commands=context.process_driver)
        pools = PoolSync(pool_drivers(context.settings, allowed.get(OPENSTACK_SERVER)))
        reconciler = Reconciler(
            repositories, allowed, context.clock, context.peers.address("metrics"), launch_timeout=context.settings.launch_timeout,
            health=health, pools=pools,
        )
        # The first pass runs at start, so a restarted service converges again at once.
        loop = PeriodicWorker("group-reconcile", context.settings.reconcile_interval, reconciler.reconcile_all)
        # Its first pass at start runs what was missed while the service was down (services.group.schedule).
        runner = ScheduledActionRunner(repositories, context.clock, context.quotas, loop.wake)
        schedule_loop = PeriodicWorker("group-schedule", POLL_INTERVAL, runner.run_pass)
        openstack = allowed.get(OPENSTACK_SERVER)
        workers: list[Worker] = [schedule_loop, loop, health]
        interval = context.settings.cpu_report_interval
        for kind, driver in allowed.items():
            # One worker per driver: a slow cloud does not hold up the local processes' measure.
            if isinstance(driver, CpuMeter) and interval > 0:
                name = f"group-cpu-report-{kind}"
                claim = partial(claim_for, repositories, name, uuid.uuid4().hex, context.clock, interval)
                reporter = CpuReporter(
                    partial(repositories.running_instances, kind), driver, lambda: context.peers.metrics, context.clock, claim,
                )
                workers.append(PeriodicWorker(name, interval, reporter.report))
        servicer = GroupServicer(
            repositories, reconciler, loop.wake, PolicyClient(lambda: context.peers.policy), context.quotas, context.process_driver,
            context.clock, server_validator=openstack if isinstance(openstack, ServerSpecValidator) else None,
        )
        return ServiceRegistration(
            name="group",
            full_name=SERVICE_NAME,
            add_to_server=lambda server: add_servicer(group_pb2_grpc.add_GroupServiceServicer_to_server, servicer, server),
            # Stopped in order: no run changes a group once its passes stop, and no pass asks for a check once the monitor stops.
            workers=workers,
        )

    return build


def claim_for(repositories: GroupRepositories, name: str, holder: str, clock: Clock, interval: float) -> bool:
    """Whether this process (`holder`) does the periodic work `name` this pass: its claim lasts CLAIM_INTERVALS
    intervals, renewed by every pass it does."""
    now = clock()
    return repositories.claim_work(name, holder, now, now + CLAIM_INTERVALS * interval)


build = make_build()
"""The group service's builder with the real compute drivers."""


def create_server(settings: Settings) -> tuple[bootstrap.Server, int]:
    """A server of the group service alone."""
    return bootstrap.create_server(settings, [("group", build)], database_file="group.db")
