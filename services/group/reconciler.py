"""The reconcile loop's work: converge each group's instances to its desired capacity.

Each pass asks the drivers how every instance is, stores what changed, plans
(`plan.plan_reconcile`), removes failed and surplus instances, launches missing
ones, and ends the group's IN_PROGRESS activity when the group got there (or when
the driver failed). Nothing is kept in memory between passes (but which groups had
their servers looked for): after a restart the first pass finds the instances
through `driver.state` and adopts or replaces them.

An instance is recorded (PENDING, with its id) before its driver launches it, and
the driver marks the server with that id, so a launch that never returned (the
service killed meanwhile, a lost reply) leaves nothing untracked: a group's first
pass since start, and any pass that finds an instance without a server id, asks the
drivers for the group's servers (`driver.find_servers`), adopts those of recorded
instances and stops the others. DeleteGroup stops every server found too.

Health: a RUNNING instance whose launch config has a health check is judged by its
results once the group's grace period has passed since it first ran (`HealthMonitor`
runs the checks beside the passes, never in them); an UNHEALTHY one becomes FAILED
with the reason, and is replaced as any failed instance, in an activity naming it.

One group's pass at a time: passes and DeleteGroup hold the group's lock, so
DeleteGroup never races a pass that is launching.

Every pass covers every project's groups. A group is its project's: a pass reads
and writes through that project's repository, acts for that project (`acting_for`:
what it asks of a peer is that project's), and asks the drivers for the servers
marked with that project and group only, so two projects' `web` groups never share
an instance, a server or an activity.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from autoscale import telemetry
from autoscale.errors import FailedPrecondition, Unavailable
from autoscale.identity import acting_for
from autoscale.quotas.limits import Limits
from autoscale.timeutil import Clock, format_time
from services.group import capacity
from services.group.backoff import RESET, LaunchBackoff, failed_early, interrupted, ran_long_enough
from services.group.domain import (
    LIVE_STATES,
    PROCESS,
    ActivityStatus,
    Group,
    GroupKey,
    Instance,
    InstancesChange,
    InstanceState,
    LaunchConfig,
    group_name,
    instance_name,
    instance_refresh_name,
    new_activity_id,
    new_instance_id,
)
from services.group.drivers.base import ComputeDriver, DriverError, FoundServer, LaunchRequest, ServerState, ServerStatus
from services.group.health import HealthCheck, HealthStatus, grace_period_over
from services.group.health_monitor import HealthMonitor, InstanceKey, probe_target
from services.group.hooks import WAITING_FOR_HOOKS, Transition, WaitOutcome, start_action, wait_state
from services.group.load_balancers import PoolSync, drain_delay
from services.group.plan import ReconcilePlan, is_converged, plan_reconcile
from services.group.processes import ScalingProcess
from services.group.refresh import refresh_step
from services.group.repository import GroupRepositories, GroupRepository, ReconcileSnapshot

log = logging.getLogger(__name__)

STOPPED = frozenset({ServerStatus.GONE, ServerStatus.FAILED})
"""What a driver reports of a server that no longer runs."""

HOOKED_ON_TERMINATION = frozenset({InstanceState.RUNNING, InstanceState.PENDING_WAIT, InstanceState.STANDBY, InstanceState.TERMINATING})
"""States of an instance still running when chosen for removal (TERMINATING: by TerminateInstance), whose removal waits
for the group's termination hooks; a failed instance, or one not yet running, is removed at once."""


class GroupLocks:
    """One lock per group of a project, created on first use."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[GroupKey, threading.Lock] = {}

    @contextmanager
    def hold(self, key: GroupKey) -> Iterator[None]:
        """Hold the group's lock for the block."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield


@dataclass
class _PassResult:
    """What a pass did to a group's instances, and what went wrong."""

    instances: list[Instance]
    """The group's instances after the pass."""
    failures: list[str] = field(default_factory=list)
    """Driver errors and failed launches, for people."""
    backoff: LaunchBackoff = RESET
    """The group's launch backoff after the pass."""


class Reconciler:
    """Converges every project's groups to their desired capacity through the compute drivers (one per launch-config kind)."""

    def __init__(
        self,
        repositories: GroupRepositories,
        drivers: Mapping[str, ComputeDriver],
        clock: Clock,
        metrics_addr: str,
        *,
        delete_timeout: float = 30.0,
        launch_timeout: float = 600.0,
        poll_interval: float = 0.1,
        sleep: Callable[[float], None] = time.sleep,
        health: HealthMonitor | None = None,
        pools: PoolSync | None = None,
    ) -> None:
        self._repositories = repositories
        self._drivers = drivers
        self._clock = clock
        self._metrics_addr = metrics_addr
        self._delete_timeout = delete_timeout
        self._launch_timeout = launch_timeout
        self._poll_interval = poll_interval
        self._sleep = sleep
        self._health = health or HealthMonitor()
        self._pools = pools or PoolSync({})
        self._locks = GroupLocks()
        self._recovered: set[GroupKey] = set()
        """Groups whose servers were looked for since this process started (see _recover)."""

    def reconcile_all(self) -> None:
        """One pass over every group of every project; a group whose pass fails is logged and the others go on."""
        for key in self._repositories.every_group():
            try:
                self.reconcile_group(key.project, key.group_id)
            except Exception:
                log.exception("reconciling %s failed", _named(key))

    def reconcile_group(self, project: str, group_id: str) -> None:
        """One pass over one group of `project` (nothing if it is gone), acting for that project."""
        key = GroupKey(project, group_id)
        span = telemetry.tracer.start_as_current_span("reconcile", attributes={"autoscale.project": project, "autoscale.group": group_id})
        with self._locks.hold(key), acting_for(project), span:
            repository = self._repositories.of(project)
            snapshot = repository.snapshot(group_id)
            if snapshot is None:
                return
            try:
                instances = self._recover(repository, snapshot)
            except DriverError as error:
                # Until the group's servers can be listed, launching or forgetting an instance could leave one untracked.
                log.warning("cannot look for the servers of %s: %s", _named(key), error)
                failure = _PassResult(list(snapshot.instances), [f"cannot look for the group's servers: {error}"])
                self._settle_activity(repository, snapshot, failure)
                return
            now = self._clock()
            observed, failed = self._observe(repository, snapshot, instances, now)
            group = snapshot.group
            if snapshot.refresh is not None and not group.deleting and not group.suspended(ScalingProcess.INSTANCE_REFRESH):
                refreshed = self._refresh(repository, snapshot, observed, now)
                if refreshed is None:
                    return  # it starts to roll back: the group's launch config went back, the next pass launches from it
                snapshot, observed = refreshed
            target = group.target_capacity
            plan = plan_reconcile(observed, target, group.termination_policies, group.launch_config_id)
            doomed = plan.remove
            if group.suspended(ScalingProcess.TERMINATE) and not group.deleting:
                # Only the stops already asked for go on (a caller's TerminateInstance, a stop under way).
                doomed = tuple(i for i in doomed if i.state is InstanceState.TERMINATING)
            removed = {instance.id for instance in doomed}
            result = _PassResult([i for i in observed if i.id not in removed], backoff=group.launch_backoff)
            _count_launch_outcomes(result, observed, failed, now)
            self._remove(repository, doomed, f"scaling to {target}", result, snapshot, now)
            if result.backoff.may_launch(now) and not group.suspended(ScalingProcess.LAUNCH):
                snapshot = self._record_replacement(repository, snapshot, plan, now)
                self._launch(repository, snapshot, plan.launch_count, result)
            if result.backoff != group.launch_backoff:
                repository.set_launch_backoff(group_id, result.backoff)
            if not group.suspended(ScalingProcess.ADD_TO_LOAD_BALANCER):
                result.failures.extend(self._pools.apply(project, group_id, group.load_balancer_pools, result.instances))
            self._settle_activity(repository, snapshot, result)

    @contextmanager
    def between_passes(self, project: str, group_id: str) -> Iterator[None]:
        """Hold the group's lock for the block, so that no pass of it runs meanwhile: a change to its instances (their
        protection, one terminated by a caller) is seen whole by the next pass, never half-way through one that had read
        them before."""
        with self._locks.hold(GroupKey(project, group_id)):
            yield

    def attach(
        self, project: str, group_id: str, server_ids: Sequence[str], *, activity_id: str, caller: str, now: float,
        limits: Limits | None = None,
    ) -> InstancesChange:
        """Attach servers a group of the project detached to this group, once their drivers say they run (between its
        passes). NotFound for a server the project never detached or the group; FailedPrecondition for one not running,
        in a group already, or beyond max_size; Unavailable when a driver cannot tell."""
        repository = self._repositories.of(project)
        servers = repository.detached_servers(server_ids)
        for server in servers:
            try:
                state = self._driver(server.kind).state(server.server_id)
            except DriverError as error:
                raise Unavailable(f"cannot tell whether server {server.server_id!r} runs: {error}") from error
            if state.status is not ServerStatus.RUNNING:
                raise FailedPrecondition(
                    f"server {server.server_id!r} is {state.status.value}" + (f" ({state.reason})" if state.reason else "") +
                    ": only a running server is attached"
                )
        with self._locks.hold(GroupKey(project, group_id)):
            return repository.attach_instances(group_id, servers, activity_id=activity_id, caller=caller, now=now, limits=limits)

    def delete_group(self, project: str, group_id: str) -> None:
        """Terminate the group's instances and any server of the group found unrecorded, wait until they are gone
        (bounded), then delete the group.

        NotFound if `project` has no such group; Unavailable if instances outlive the bound or the
        group's servers cannot be looked for (the group stays, wanting no instances, and
        DeleteGroup may be called again).
        """
        key = GroupKey(project, group_id)
        repository = self._repositories.of(project)
        with self._locks.hold(key):
            doomed = repository.begin_delete(group_id, "the group is being deleted")
            snapshot = repository.snapshot(group_id)
            servers = [(i.kind, i.server_id, instance_name(group_id, i.id)) for i in doomed if i.server_id]
            search_failure = ""
            try:
                # Servers whose launch never returned are stopped too: nothing of the group may outlive it.
                kinds = {i.kind for i in doomed} | ({snapshot.launch_config.kind} if snapshot is not None else set())
                recorded = {server_id for _, server_id, _ in servers} | repository.detached_server_ids(group_id)
                servers += [
                    (kind, found.server_id, f"the unrecorded server {found.server_id}")
                    for kind, found in self._find_servers(key, kinds) if found.server_id not in recorded
                ]
            except DriverError as error:
                search_failure = f"cannot look for the group's servers: {error}"
            errors: list[str] = []
            for kind, server_id, name in servers:
                try:
                    self._driver(kind).terminate(server_id)
                except DriverError as error:
                    errors.append(f"{name}: {error}")
        deadline = time.monotonic() + self._delete_timeout
        remaining = servers
        while remaining:
            remaining = [(kind, server_id, name) for kind, server_id, name in remaining if not self._stopped(kind, server_id)]
            if remaining and time.monotonic() >= deadline:
                names = ", ".join(name for _, _, name in remaining)
                details = f" ({'; '.join(errors)})" if errors else ""
                raise Unavailable(
                    f"{group_name(group_id)}: instances still terminating after {self._delete_timeout:g}s: {names}{details}; "
                    "the group keeps terminating them, call DeleteGroup again"
                )
            if remaining:
                self._sleep(self._poll_interval)
        if search_failure:
            raise Unavailable(f"{group_name(group_id)}: {search_failure}; the group wants no instances now, call DeleteGroup again")
        with self._locks.hold(key):
            if snapshot is not None:
                self._pools.remove_group(project, group_id, snapshot.group.load_balancer_pools)
            repository.delete_group(group_id)
            self._recovered.discard(key)
            self._health.forget(project, group_id)

    def _driver(self, kind: str) -> ComputeDriver:
        driver = self._drivers.get(kind)
        if driver is None and kind == PROCESS:
            raise DriverError("local processes are off in this deployment (an operator turns them on with --enable-process-driver)")
        if driver is None:
            raise DriverError(f"no compute driver for {kind} instances in this process")
        return driver

    def _observe(
        self, repository: GroupRepository, snapshot: ReconcileSnapshot, instances: Sequence[Instance], now: float
    ) -> tuple[list[Instance], list[Instance]]:
        """The instances as their drivers, lifecycle hooks and health checks see them now, and those whose launch failed
        since the last pass (they failed before they ran long enough, or were not running by the launch timeout); changes
        are stored.

        An instance still PENDING after the launch timeout has failed (its server is stopped with it)."""
        group, checks = snapshot.group, snapshot.health_checks
        observed = []
        changed = []
        failed = []
        for instance in instances:
            seen = self._observe_one(repository.project, instance)
            # Only a launch times out: a server that ran and is rebooting or migrating now is not a failed launch.
            timed_out = (
                seen.state is InstanceState.PENDING and seen.in_service_time is None and now - seen.create_time >= self._launch_timeout
            )
            if timed_out:
                seen = replace(seen, state=InstanceState.FAILED, state_reason=f"not running {self._launch_timeout:g}s after its launch")
            seen = self._through_hooks(repository, snapshot, instance, seen, now)
            # An instance that passed its health check and fails it later has launched well: its failure is no failed launch.
            became_unhealthy = False
            if seen.state is InstanceState.RUNNING:
                seen = self._checked(repository.project, group, seen, checks.get(seen.launch_config_id), now)
                became_unhealthy = seen.state is InstanceState.FAILED and instance.health_status is HealthStatus.HEALTHY
            observed.append(seen)
            if seen != instance:
                changed.append(seen)
                if seen.state is InstanceState.FAILED:
                    if timed_out or (failed_early(seen.create_time, now) and not became_unhealthy):
                        failed.append(seen)
                    log.warning("%s of project %s failed: %s", instance_name(seen.group_id, seen.id), repository.project, seen.state_reason)
        if changed:
            repository.update_instances(changed)
        checked = [i.id for i in observed if i.state is InstanceState.RUNNING and i.launch_config_id in checks]
        self._health.forget(repository.project, group.id, keep=checked)
        return observed, failed

    def _refresh(
        self, repository: GroupRepository, snapshot: ReconcileSnapshot, observed: list[Instance], now: float
    ) -> tuple[ReconcileSnapshot, list[Instance]] | None:
        """The group's active instance refresh moved on (services.group.refresh): a batch of outdated instances marked
        TERMINATING (the plan then replaces them from the group's launch config), in an activity naming them; the snapshot
        and instances after it, or None when it starts to roll back."""
        refresh = snapshot.refresh
        assert refresh is not None
        group = snapshot.group
        step = refresh_step(refresh, observed, group.desired_capacity, group.launch_backoff, now)
        if step.refresh != refresh:
            repository.store_instance_refresh(step.refresh, rolled_back=step.rollback)
        if step.rollback:
            log.warning("%s: instance refresh %s rolls back: %s", _named(GroupKey(repository.project, group.id)), refresh.id,
                        step.refresh.status_reason)
            return None
        if not step.replace:
            return snapshot, observed
        name = instance_refresh_name(group.id, refresh.id)
        target = step.refresh.target_launch_config_id
        marked = {
            i.id: replace(
                i, state=InstanceState.TERMINATING, state_reason=f"{name}: replacing its launch config {i.launch_config_id} with {target}"
            )
            for i in step.replace
        }
        repository.update_instances(marked.values())
        activity = capacity.refresh_activity(new_activity_id(), group, name, list(marked.values()), now)
        repository.record_activity(activity)
        return replace(snapshot, activity_in_progress=activity), [marked.get(i.id, i) for i in observed]

    def _through_hooks(
        self, repository: GroupRepository, snapshot: ReconcileSnapshot, before: Instance, seen: Instance, now: float
    ) -> Instance:
        """The instance as its lifecycle hooks have it: one that runs now and was not in service yet waits for the launch
        hooks (PENDING_WAIT) and goes into service once they CONTINUE, or fails if one ABANDONs; one waiting for its
        termination hooks is TERMINATING once they are over."""
        if before.state is InstanceState.TERMINATING_WAIT:
            state = wait_state(snapshot.actions_of(before.id, Transition.TERMINATING), now)
            if state.outcome is WaitOutcome.WAITING:
                return replace(before, state_reason=state.reason)
            cause = before.state_reason.partition(f"; {WAITING_FOR_HOOKS}")[0]
            return replace(before, state=InstanceState.TERMINATING, state_reason=f"{cause}; {state.reason}")
        if seen.state is not InstanceState.RUNNING or before.state not in (InstanceState.PENDING, InstanceState.PENDING_WAIT):
            return seen
        actions = snapshot.actions_of(before.id, Transition.LAUNCHING)
        if not actions and before.state is InstanceState.PENDING:
            hooks = snapshot.hooks_of(Transition.LAUNCHING)
            actions = [start_action(hook, before.id, now) for hook in hooks]
            if actions:
                repository.start_lifecycle_actions(actions, before.group_id)
        if not actions:
            return seen
        state = wait_state(actions, now)
        if state.outcome is WaitOutcome.WAITING:
            return replace(seen, state=InstanceState.PENDING_WAIT, state_reason=state.reason)
        if state.outcome is WaitOutcome.ABANDON:
            return replace(seen, state=InstanceState.FAILED, state_reason=f"launch abandoned: {state.reason}")
        return replace(seen, state_reason="")

    def _checked(self, project: str, group: Group, instance: Instance, check: HealthCheck | None, now: float) -> Instance:
        """A RUNNING instance with its health: FAILED once its check finds it UNHEALTHY past the grace period."""
        in_service_time = instance.in_service_time if instance.in_service_time is not None else now
        instance = replace(instance, in_service_time=in_service_time)
        if check is None:
            return replace(instance, health_status=HealthStatus.HEALTHY, health_reason="running (no health check)")
        if group.suspended(ScalingProcess.HEALTH_CHECK):
            return instance  # its health stays what it was
        if not grace_period_over(in_service_time, group.grace_period, now):
            return replace(
                instance, health_status=HealthStatus.UNKNOWN,
                health_reason=f"in its grace period: checks count {group.grace_period:g}s after it first ran",
            )
        target = probe_target(check, instance.address, project, group.id, instance.id)
        verdict = self._health.verdict(InstanceKey(project, group.id, instance.id), check, target, now)
        if verdict.status is HealthStatus.UNHEALTHY and group.suspended(ScalingProcess.REPLACE_UNHEALTHY):
            kept = f"{verdict.reason}; not replaced: ReplaceUnhealthy is suspended"
            return replace(instance, health_status=HealthStatus.UNHEALTHY, health_reason=kept)
        if verdict.status is HealthStatus.UNHEALTHY:
            return replace(
                instance, state=InstanceState.FAILED, state_reason=f"unhealthy: {verdict.reason}",
                health_status=HealthStatus.UNHEALTHY, health_reason=verdict.reason,
            )
        return replace(instance, health_status=verdict.status, health_reason=verdict.reason)

    def _observe_one(self, project: str, instance: Instance) -> Instance:
        if instance.state not in LIVE_STATES and instance.state is not InstanceState.STANDBY:
            return instance
        if not instance.server_id:
            # Only a pass inserts rows, and it stores the server id right after the
            # launch: a live row without one is a launch that never returned.
            return replace(instance, state=InstanceState.FAILED, state_reason="its launch did not complete")
        try:
            state = self._driver(instance.kind).state(instance.server_id)
        except DriverError as error:
            # The cloud may be briefly unreachable: keep what is known and ask again next pass.
            log.warning("cannot read the state of %s of project %s: %s", instance_name(instance.group_id, instance.id), project, error)
            return instance
        seen = _with_server_state(instance, state)
        if instance.state is InstanceState.STANDBY and seen.state is not InstanceState.FAILED:
            # In standby it keeps running out of service (a server still booting stays in standby too).
            return replace(seen, state=InstanceState.STANDBY, state_reason=instance.state_reason)
        return seen

    def _stopped(self, kind: str, server_id: str) -> bool:
        try:
            return self._driver(kind).state(server_id).status in STOPPED
        except DriverError:
            return False

    def _recover(self, repository: GroupRepository, snapshot: ReconcileSnapshot) -> list[Instance]:
        """The group's instances, those whose launch never returned given the server found for them; servers of the
        group that no instance records are stopped. DriverError when the servers cannot be listed.

        The drivers are asked on a group's first pass since start (the service may have been killed
        in the middle of a launch) and when an instance has no server id (its launch did not return).
        """
        key = GroupKey(repository.project, snapshot.group.id)
        instances = snapshot.instances
        if key in self._recovered and all(instance.server_id for instance in instances):
            return instances
        found = self._find_servers(key, {i.kind for i in instances} | {snapshot.launch_config.kind})
        if found:
            detached = repository.detached_server_ids(key.group_id)
            found = [(kind, server) for kind, server in found if server.server_id not in detached]
        by_id = {instance.id: instance for instance in instances}
        recorded = {instance.server_id for instance in instances if instance.server_id}
        adopted: dict[str, Instance] = {}
        stopped_all = True
        for kind, server in found:
            if server.server_id in recorded:
                continue
            instance = adopted.get(server.instance_id) or by_id.get(server.instance_id)
            if instance is not None and not instance.server_id and self._drivers.get(instance.kind) is self._drivers[kind]:
                recorded.add(server.server_id)
                adopted[instance.id] = _adopted(instance, server.server_id)
                log.warning("%s of project %s: adopted its server %s, found after its launch did not return",
                            instance_name(key.group_id, instance.id), key.project, server.server_id)
                continue
            stopped_all &= self._stop_unrecorded(key, kind, server)
        if adopted:
            repository.update_instances(adopted.values())
        if stopped_all:
            self._recovered.add(key)
        return [adopted.get(instance.id, instance) for instance in instances]

    def _find_servers(self, key: GroupKey, kinds: set[str]) -> list[tuple[str, FoundServer]]:
        """The servers of the project's group that the drivers of these kinds find, each with its kind (a driver of several
        kinds is asked once); DriverError if one cannot tell."""
        found: list[tuple[str, FoundServer]] = []
        asked: list[ComputeDriver] = []
        for kind in sorted(kinds):
            driver = self._drivers.get(kind)
            if driver is None or any(driver is other for other in asked):
                continue
            asked.append(driver)
            found.extend((kind, server) for server in driver.find_servers(key.project, key.group_id))
        return found

    def _stop_unrecorded(self, key: GroupKey, kind: str, server: FoundServer) -> bool:
        """Stop a server of the group that no instance records (its launch never returned, or it was forgotten); whether it
        could be asked to stop."""
        log.warning("%s: stopping the %s server %s, launched for instance %s, which is not recorded",
                    _named(key), kind, server.server_id, server.instance_id)
        try:
            self._driver(kind).terminate(server.server_id)
        except DriverError as error:
            log.warning("stopping the unrecorded server %s of %s failed: %s", server.server_id, _named(key), error)
            return False
        return True

    def _remove(
        self, repository: GroupRepository, doomed: Sequence[Instance], reason: str, result: _PassResult, snapshot: ReconcileSnapshot,
        now: float,
    ) -> None:
        """Terminate and forget each instance; those not yet stopped stay TERMINATING for the next pass. A running instance
        is first held (`_held_before_stop`) by its group's termination hooks and its pools' drain delay."""
        for instance in doomed:
            held = self._held_before_stop(repository, snapshot, instance, reason, now)
            if held is not None:
                result.instances.append(held)
                continue
            terminating = instance
            if instance.state is not InstanceState.TERMINATING or instance.drain_until is None:
                # drain_until: told to stop now, so that no later pass holds it again (see _held_before_stop).
                stopping = instance.state is InstanceState.TERMINATING
                terminating = replace(
                    instance, state=InstanceState.TERMINATING,
                    drain_until=instance.drain_until if instance.drain_until is not None else now,
                    state_reason=instance.state_reason if stopping else _removal_reason(instance, reason),
                )
                repository.update_instances([terminating])
            try:
                if terminating.server_id:
                    driver = self._driver(terminating.kind)
                    driver.terminate(terminating.server_id)
                    if driver.state(terminating.server_id).status not in STOPPED:
                        result.instances.append(terminating)
                        continue
            except DriverError as error:
                name = instance_name(instance.group_id, instance.id)
                log.warning("terminating %s of project %s failed: %s", name, repository.project, error)
                result.failures.append(f"terminating {name} failed: {error}")
                result.instances.append(terminating)
                continue
            repository.remove_instance(terminating)

    def _held_before_stop(
        self, repository: GroupRepository, snapshot: ReconcileSnapshot, instance: Instance, reason: str, now: float
    ) -> Instance | None:
        """A running instance chosen for removal, held (and stored so) while its group's termination hooks wait for
        answers (TERMINATING_WAIT, once) or its pools drain it (TERMINATING until `drain_until`); None when it may stop
        now. Nothing holds a failed instance, one not running yet, one already told to stop, or the instances of a
        group being deleted.

        `drain_until` marks an instance whose removal was considered: set then (to now when nothing drains it), it
        keeps a later pass from starting the hooks again for an instance whose server is stopping."""
        group = snapshot.group
        if group.deleting:
            return None
        if instance.drain_until is not None:
            if now >= instance.drain_until:
                return None
            draining = f"draining until {format_time(instance.drain_until)}"
            if instance.state is InstanceState.TERMINATING and draining in instance.state_reason:
                return instance
            held = replace(instance, state=InstanceState.TERMINATING, state_reason=f"{instance.state_reason}; {draining}")
            repository.update_instances([held])
            return held
        if instance.state not in HOOKED_ON_TERMINATION:
            return None
        cause = instance.state_reason if instance.state is InstanceState.TERMINATING else _removal_reason(instance, reason)
        # Only an instance in service was a member of the pools: it drains; one in standby or still waiting to start was not.
        delay = drain_delay(group.load_balancer_pools) if instance.state in (InstanceState.RUNNING, InstanceState.TERMINATING) else 0.0
        held = replace(instance, drain_until=now + delay)
        hooks = snapshot.hooks_of(Transition.TERMINATING)
        if hooks:
            actions = [start_action(hook, instance.id, now) for hook in hooks]
            repository.start_lifecycle_actions(actions, instance.group_id)
            held = replace(held, state=InstanceState.TERMINATING_WAIT, state_reason=f"{cause}; {wait_state(actions, now).reason}")
        elif delay:
            held = replace(held, state=InstanceState.TERMINATING, state_reason=f"{cause}; draining until {format_time(now + delay)}")
        else:
            held = replace(held, state=InstanceState.TERMINATING, state_reason=cause)
            repository.update_instances([held])
            return None
        repository.update_instances([held])
        return held

    def _launch(self, repository: GroupRepository, snapshot: ReconcileSnapshot, count: int, result: _PassResult) -> None:
        """Launch `count` instances; the first driver error stops this pass's launches (the next pass tries again)."""
        group = snapshot.group
        config = snapshot.launch_config
        for launched_before in range(count):
            instance = Instance(
                id=new_instance_id(), group_id=group.id, kind=config.kind, launch_config_id=config.id,
                state=InstanceState.PENDING, create_time=self._clock(),
                protected_from_scale_in=group.new_instances_protected_from_scale_in,
            )
            repository.add_instance(instance)
            try:
                server_id = self._driver(config.kind).launch(self._launch_request(repository.project, instance, config))
            except DriverError as error:
                name = instance_name(group.id, instance.id)
                log.warning("launching %s of project %s failed: %s", name, repository.project, error)
                failed = replace(instance, state=InstanceState.FAILED, state_reason=f"launch failed: {error}")
                repository.update_instances([failed])
                result.instances.append(failed)
                result.failures.append(f"launching {name} failed: {error}")
                reason = f"launching {name} failed: {error}"
                if launched_before:
                    result.backoff = interrupted(result.backoff, reason, self._clock())
                else:
                    result.backoff = result.backoff.failed(reason, self._clock())
                return
            launched = replace(instance, server_id=server_id)
            repository.update_instances([launched])
            result.instances.append(launched)

    def _launch_request(self, project: str, instance: Instance, config: LaunchConfig) -> LaunchRequest:
        return LaunchRequest(
            project=project, group_id=instance.group_id, instance_id=instance.id, metrics_addr=self._metrics_addr,
            process=config.process, openstack_server=config.openstack_server,
        )

    def _record_replacement(
        self, repository: GroupRepository, snapshot: ReconcileSnapshot, plan: ReconcilePlan, now: float
    ) -> ReconcileSnapshot:
        """When the pass launches in place of failed instances and no activity is under way, an activity saying which and
        why (settled as any: SUCCEEDED once they run, FAILED with the reason if they fail); the snapshot that holds it."""
        replaced = [instance for instance in plan.remove if instance.state is InstanceState.FAILED]
        group = snapshot.group
        if not replaced or not plan.launch_count or snapshot.activity_in_progress is not None or group.deleting:
            return snapshot
        activity = capacity.replacement_activity(new_activity_id(), group, replaced, now)
        repository.record_activity(activity)
        return replace(snapshot, activity_in_progress=activity)

    def _settle_activity(self, repository: GroupRepository, snapshot: ReconcileSnapshot, result: _PassResult) -> None:
        """End the IN_PROGRESS activity: FAILED on a driver error, SUCCEEDED once the group is at its capacity."""
        activity = snapshot.activity_in_progress
        group = snapshot.group
        # An activity for another capacity was superseded meanwhile; its successor is the next pass's.
        if activity is None or group.deleting or activity.to_capacity != group.desired_capacity:
            return
        now = self._clock()
        if result.failures:
            repository.finish_activity(capacity.finish(activity, ActivityStatus.FAILED, now, "; ".join(result.failures)))
        elif is_converged(result.instances, group.desired_capacity):
            in_service = sum(1 for i in result.instances if i.state is InstanceState.RUNNING)
            message = f"{group.desired_capacity} instances running"
            if in_service > group.desired_capacity:
                message = f"{group.desired_capacity} instances wanted; {in_service} stay running: protected from scale-in"
            repository.finish_activity(capacity.finish(activity, ActivityStatus.SUCCEEDED, now, message))


def _count_launch_outcomes(result: _PassResult, observed: Sequence[Instance], failed: Sequence[Instance], now: float) -> None:
    """The pass's failed launches (`failed`: see Reconciler._observe) into its backoff and failures; an instance launched
    after the last failure's wait that has run long enough ends the run of failures."""
    for instance in failed:
        reason = f"{instance_name(instance.group_id, instance.id)} {instance.state_reason}"
        result.backoff = result.backoff.failed(reason, now, launched_at=instance.create_time)
        result.failures.append(reason)
    retry_time = result.backoff.retry_time
    if result.backoff.degraded and retry_time is not None and any(
        instance.state is InstanceState.RUNNING and instance.create_time >= retry_time and ran_long_enough(instance.create_time, now)
        for instance in observed
    ):
        result.backoff = RESET


def _named(key: GroupKey) -> str:
    """A group for people, in the log: `groups/web of project p1`."""
    return f"{group_name(key.group_id)} of project {key.project}"


def _with_server_state(instance: Instance, state: ServerState) -> Instance:
    """The instance in the state its driver reports."""
    if state.status is ServerStatus.PENDING:
        return replace(instance, state=InstanceState.PENDING, state_reason=state.reason)
    if state.status is ServerStatus.RUNNING:
        return replace(instance, state=InstanceState.RUNNING, state_reason=state.reason, address=state.address or instance.address)
    reason = state.reason or ("the server is gone" if state.status is ServerStatus.GONE else "the server failed")
    return replace(instance, state=InstanceState.FAILED, state_reason=reason, health_status=HealthStatus.UNHEALTHY, health_reason=reason)


def _adopted(instance: Instance, server_id: str) -> Instance:
    """An instance whose launch did not return, with the server found for it (still to be terminated if it was)."""
    state = instance.state if instance.state is InstanceState.TERMINATING else InstanceState.PENDING
    return replace(instance, server_id=server_id, state=state, state_reason="its server was found after its launch did not return")


def _removal_reason(instance: Instance, reason: str) -> str:
    if instance.state is InstanceState.FAILED:
        return f"replacing it: {instance.state_reason}"
    return reason
