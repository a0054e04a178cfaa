"""Runs the demo: starts the mesh, drives the load, shows the group react, cleans up."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from rich.console import Console
from rich.live import Live
from rich.table import Table

from app.demo import scenario
from autoscale.config import Settings
from autoscale.server import Server, create_server
from autoscale.timeutil import format_time, from_timestamp, to_duration, to_timestamp
from autoscale.v1 import (
    alarm_pb2,
    alarm_pb2_grpc,
    common_pb2,
    group_pb2,
    group_pb2_grpc,
    metrics_pb2,
    metrics_pb2_grpc,
    policy_pb2,
    policy_pb2_grpc,
)
from services.registry import builders

TICK = 1.0
TIMEOUT = 10.0


@dataclass(frozen=True)
class Snapshot:
    """What the live view shows each second."""

    elapsed: float
    phase: str
    demand: float
    average_cpu: float | None
    high_alarm: str
    low_alarm: str
    desired: int
    running: int


class Clients:
    """Stubs of the four services over one channel to the demo's own mesh."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.metrics = metrics_pb2_grpc.MetricsServiceStub(channel)
        self.alarm = alarm_pb2_grpc.AlarmServiceStub(channel)
        self.policy = policy_pb2_grpc.PolicyServiceStub(channel)
        self.group = group_pb2_grpc.GroupServiceStub(channel)


def _state_name(state: int) -> str:
    return alarm_pb2.AlarmState.Name(state).removeprefix("ALARM_STATE_").lower()


def create_resources(clients: Clients, demo_dir: Path) -> None:
    """Launch config, group, policies and alarms of the scenario."""
    clients.group.CreateLaunchConfig(
        group_pb2.CreateLaunchConfigRequest(launch_config_id="demo-worker", launch_config=scenario.launch_config(str(demo_dir))),
        timeout=TIMEOUT,
    )
    clients.group.CreateGroup(group_pb2.CreateGroupRequest(group_id=scenario.GROUP_ID, group=scenario.group()), timeout=TIMEOUT)
    for policy_id, policy in scenario.policies().items():
        clients.policy.CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id=policy_id, policy=policy), timeout=TIMEOUT)
    for alarm_id, alarm in scenario.alarms().items():
        clients.alarm.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id=alarm_id, alarm=alarm), timeout=TIMEOUT)


def clean_up(clients: Clients, console: Console) -> None:
    """Delete the alarms, then the group with its policies (the alarms name the policies, which name the group)."""
    try:
        for alarm_id in scenario.alarms():
            try:
                clients.alarm.DeleteAlarm(alarm_pb2.DeleteAlarmRequest(name=f"alarms/{alarm_id}"), timeout=TIMEOUT)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    raise
        clients.group.DeleteGroup(group_pb2.DeleteGroupRequest(name=f"groups/{scenario.GROUP_ID}", force=True), timeout=60)
    except grpc.RpcError as error:
        console.print(f"could not delete the demo's resources: {error.code().name}: {error.details()}")


def take_snapshot(clients: Clients, elapsed: float, phase: scenario.Phase) -> Snapshot:
    """Read the load, the alarms and the group as they are now."""
    now = time.time()
    stats = clients.metrics.GetStatistics(
        metrics_pb2.GetStatisticsRequest(
            metric="cpu_util",
            dimensions={"group": scenario.GROUP_ID},
            statistic=common_pb2.STATISTIC_AVERAGE,
            period=to_duration(scenario.PERIOD_SECONDS),
            start_time=to_timestamp(now - 2 * scenario.PERIOD_SECONDS),
            end_time=to_timestamp(now),
        ),
        timeout=TIMEOUT,
    )
    group = clients.group.GetGroup(group_pb2.GetGroupRequest(name=f"groups/{scenario.GROUP_ID}"), timeout=TIMEOUT).group
    high = clients.alarm.GetAlarm(alarm_pb2.GetAlarmRequest(name="alarms/high-cpu"), timeout=TIMEOUT).alarm
    low = clients.alarm.GetAlarm(alarm_pb2.GetAlarmRequest(name="alarms/low-cpu"), timeout=TIMEOUT).alarm
    return Snapshot(
        elapsed=elapsed,
        phase=phase.label,
        demand=phase.demand,
        average_cpu=stats.datapoints[-1].value if stats.datapoints else None,
        high_alarm=_state_name(high.state),
        low_alarm=_state_name(low.state),
        desired=group.desired_capacity,
        running=group.current_capacity,
    )


def timeline_table(snapshots: list[Snapshot], rows: int = 18) -> Table:
    """The last `rows` snapshots as a table, with a bar of the running instances."""
    table = Table(title="autoscale demo: group 'demo' (1..4 local processes)", expand=False)
    for column in ("t", "phase", "demand", "avg cpu", "high-cpu", "low-cpu", "desired", "running"):
        table.add_column(column, justify="right" if column not in ("phase", "high-cpu", "low-cpu", "running") else "left")
    for snap in snapshots[-rows:]:
        cpu = "-" if snap.average_cpu is None else f"{snap.average_cpu:5.1f}%"
        table.add_row(
            f"{snap.elapsed:4.0f}s",
            snap.phase,
            f"{snap.demand:.0f}%",
            cpu,
            _colour(snap.high_alarm),
            _colour(snap.low_alarm),
            str(snap.desired),
            "█" * snap.running + f" {snap.running}",
        )
    return table


def _colour(state: str) -> str:
    return {"alarm": "[bold red]alarm[/]", "ok": "[green]ok[/]"}.get(state, f"[yellow]{state}[/]")


def activities_table(clients: Clients) -> Table:
    """Every scaling activity of the demo group, oldest first, with its cause."""
    response = clients.group.ListActivities(
        group_pb2.ListActivitiesRequest(parent=f"groups/{scenario.GROUP_ID}", page_size=1000), timeout=TIMEOUT
    )
    table = Table(title="scaling activities", expand=False)
    for column in ("start", "capacity", "status", "cause"):
        table.add_column(column, overflow="fold")
    for activity in reversed(response.activities):
        status = group_pb2.ActivityStatus.Name(activity.status).removeprefix("ACTIVITY_STATUS_").lower()
        table.add_row(
            format_time(from_timestamp(activity.start_time)),
            f"{activity.from_capacity} → {activity.to_capacity}",
            status,
            activity.cause,
        )
    return table


def drive(clients: Clients, demo_dir: Path, console: Console) -> list[Snapshot]:
    """Set the demand phase by phase and record a snapshot each second."""
    snapshots: list[Snapshot] = []
    demand_file = demo_dir / "demand"
    started = time.monotonic()

    def step() -> Snapshot:
        elapsed = time.monotonic() - started
        phase = scenario.phase_at(elapsed)
        demand_file.write_text(str(phase.demand))
        snapshot = take_snapshot(clients, elapsed, phase)
        snapshots.append(snapshot)
        return snapshot

    def finished(snapshot: Snapshot) -> bool:
        back_at_min = snapshot.desired == scenario.MIN_SIZE and snapshot.running == scenario.MIN_SIZE
        return snapshot.elapsed >= scenario.MAX_RUNTIME or (snapshot.elapsed >= scenario.MIN_RUNTIME and back_at_min)

    if console.is_terminal:
        with Live(timeline_table(snapshots), console=console, refresh_per_second=4) as live:
            while not finished(snapshot := step()):
                live.update(timeline_table(snapshots))
                time.sleep(TICK)
            live.update(timeline_table(snapshots))
    else:
        # NOTE: rich wraps at 80 columns when the output is not a terminal; these lines are meant to stay whole.
        console.print("   t  phase        demand  avg cpu  high-cpu           low-cpu            desired  running", soft_wrap=True)
        while True:
            snapshot = step()
            cpu = "    -  " if snapshot.average_cpu is None else f"{snapshot.average_cpu:5.1f}% "
            console.print(
                f"{snapshot.elapsed:4.0f}s {snapshot.phase:<12} {snapshot.demand:5.0f}%  {cpu} {snapshot.high_alarm:<18} "
                f"{snapshot.low_alarm:<18} {snapshot.desired:>7}  {snapshot.running:>7}",
                highlight=False,
                soft_wrap=True,
            )
            if finished(snapshot):
                break
            time.sleep(TICK)
    return snapshots


def start_mesh(work_dir: Path) -> tuple[Server, int]:
    """The four services in this process on a free port, with a throw-away database."""
    settings = Settings(
        listen="127.0.0.1:0",
        database_url=f"sqlite:///{work_dir / 'demo.db'}",
        alarm_sweep_interval=1.0,
        reconcile_interval=0.5,
        instance_log_dir=str(work_dir / "logs"),
    )
    server, port = create_server(settings, builders())
    server.start()
    return server, port


def run_demo(console: Console) -> int:
    """Run the whole demo; returns the exit status (0 when the group scaled out and back in)."""
    work_dir = Path(tempfile.mkdtemp(prefix="autoscale-demo-"))
    demo_dir = work_dir / "load"
    demo_dir.mkdir()
    server, port = start_mesh(work_dir)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    clients = Clients(channel)
    console.print(f"autoscale mesh running on 127.0.0.1:{port} (try: grpcurl -plaintext 127.0.0.1:{port} list)", soft_wrap=True)
    try:
        create_resources(clients, demo_dir)
        snapshots = drive(clients, demo_dir, console)
        console.print(activities_table(clients))
        peak = max(s.desired for s in snapshots)
        scaled_back = snapshots[-1].desired == scenario.MIN_SIZE
        console.print(f"peak capacity {peak}, final capacity {snapshots[-1].desired}")
        return 0 if peak > scenario.MIN_SIZE and scaled_back else 1
    finally:
        console.print("cleaning up: deleting the alarms, the group with its policies (terminates its instances), and stopping the mesh")
        clean_up(clients, console)
        channel.close()
        server.stop()
        shutil.rmtree(work_dir, ignore_errors=True)
