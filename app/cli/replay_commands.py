"""`autoscale replay GROUP`: what a group's policies and alarms would have done over a window of its metrics, without
touching the group (app.replay)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from app.cli.client import ALARM, GROUP, METRICS, POLICY, Client, client_command
from app.cli.output import print_table
from app.cli.params import DURATION, TIMESTAMP
from app.replay import samples as csv_samples
from app.replay.definitions import Clients, Definitions, read_datapoints, read_definitions, stored_window_sums
from app.replay.plot import draw
from app.replay.simulation import Moment, Scenario, replay
from autoscale.timeutil import format_time
from services.alarm.domain import CompositeRule, ThresholdRule
from services.alarm.evaluation import Datapoint
from services.policy.domain import metrics_service_series
from services.policy.forecast import WindowSum

DEFAULT_WINDOW = 3600.0
"""Seconds replayed when neither --start nor a CSV file says where to start."""

REPLAY_HELP = """Replay group GROUP's alarms and policies over a window of its metrics, without touching the group.

\b
Prints the desired capacity the policies would have given, tick by tick where something
happened, and with --png draws it beside the metrics and thresholds. The metrics are the
Metrics service's (by default the last hour) or a CSV file's samples (columns time, metric,
value and optionally dimensions as key=value;key=value), so thresholds can be tuned before
going live:

\b
autoscale replay web --start 2026-12-01T00:00:00Z --end 2026-12-02T00:00:00Z --png web.png
autoscale replay web --csv load-test.csv --launch-time 45s --png web.png

\b
A scaling activity is taken to end at the tick it starts and an instance to be in service
--launch-time after it was asked for; webhooks are not called; alarms over Prometheus or
Gnocchi are not replayed (the output says so). A predictive floor forecasts from the
metric's samples a season before each tick: stored ones, or the CSV file's (give it the
days before the window, and --start, for the floor to act).
"""


@click.command("replay", help=REPLAY_HELP)
@click.argument("group_id", metavar="GROUP")
@click.option("--start", type=TIMESTAMP, help="Start of the window  [default: an hour before --end, or the CSV's first sample]")
@click.option("--end", type=TIMESTAMP, help="End of the window  [default: now, or the CSV's last sample]")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Samples to replay instead of the stored metrics.")
@click.option("--tick", type=DURATION, help="Time between two evaluations  [default: the shortest period of the alarms]")
@click.option("--launch-time", type=DURATION, default=0.0, help="Seconds an instance takes to be in service  [default: 0s]")
@click.option("--png", "png_path", type=click.Path(dir_okay=False, path_type=Path), help="Draw the replay into this PNG file.")
@client_command(GROUP)
def replay_command(
    client: Client, group_id: str, start: float | None, end: float | None, csv_path: Path | None, tick: float | None,
    launch_time: float, png_path: Path | None,
) -> None:
    clients = Clients(client, client.sibling(POLICY), client.sibling(ALARM), client.sibling(METRICS))
    now = time.time()
    definitions = read_definitions(clients, group_id, now)
    replayed = [alarm for alarm in definitions.alarms if isinstance(alarm.rule, ThresholdRule)]
    if not replayed:
        raise click.UsageError(f"no alarm over metrics signals a policy of groups/{group_id}: there is nothing to replay")
    sampled = _read_csv(csv_path) if csv_path is not None else None
    window = sampled and csv_samples.span(sampled)
    end = end if end is not None else window[1] if window else now
    start = start if start is not None else window[0] if window else end - DEFAULT_WINDOW
    if not start < end:
        raise click.UsageError(f"--start ({format_time(start)}) must be before --end ({format_time(end)})")
    step = tick if tick is not None else min(alarm.rule.period for alarm in replayed)
    if step <= 0:
        raise click.UsageError("--tick must be more than 0s")
    datapoints: dict[str, list[Datapoint]] = {}
    for alarm in replayed:
        assert isinstance(alarm.rule, ThresholdRule)
        datapoints[alarm.id] = (
            csv_samples.datapoints(alarm.rule, sampled) if sampled is not None else read_datapoints(clients.metrics, alarm, start, end)
        )
    history: dict[str, WindowSum] = {}
    for policy in definitions.policies:
        if policy.target_tracking is not None and policy.target_tracking.predictive_floor is not None:
            if sampled is None:
                history[policy.id] = stored_window_sums(clients.metrics, policy.group_id, policy.target_tracking.metric)
            else:
                metric, dimensions, _ = metrics_service_series(policy.group_id, policy.target_tracking.metric)
                history[policy.id] = csv_samples.WindowSums(metric, dict(dimensions), sampled)
    scenario = Scenario(
        group=definitions.group, alarms=definitions.alarms, policies=definitions.policies, datapoints=datapoints,
        start=start, end=end, tick=step, scheduled_actions=definitions.scheduled_actions, launch_seconds=launch_time,
        history=history,
    )
    try:
        moments = replay(scenario)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    if png_path is not None:
        try:
            draw(moments, definitions.alarms, f"replay of groups/{group_id}", png_path)
        except OSError as error:
            raise click.FileError(str(png_path), error.strerror or str(error)) from None
    if client.json_output:
        click.echo(json.dumps(_as_json(moments), indent=2))
    else:
        _print(moments, definitions, png_path)


def _read_csv(path: Path) -> list[csv_samples.Sample]:
    try:
        return csv_samples.read_csv(path)
    except csv_samples.SamplesError as error:
        raise click.BadParameter(str(error), param_hint="--csv") from None


def _print(moments: list[Moment], definitions: Definitions, png_path: Path | None) -> None:
    for line in definitions.skipped:
        click.echo(f"not replayed: {line}", err=True)
    alarm_ids = [alarm.id for alarm in definitions.alarms if not isinstance(alarm.rule, CompositeRule)]
    rows = []
    previous: Moment | None = None
    for moment in moments:
        if moment.events or previous is None or moment.desired_capacity != previous.desired_capacity:
            values = " ".join(f"{alarm_id}={_value(moment.values.get(alarm_id))}" for alarm_id in alarm_ids)
            rows.append([format_time(moment.time), str(moment.desired_capacity), values, "; ".join(moment.events) or "-"])
        previous = moment
    print_table(("TIME", "DESIRED", "VALUES", "WHAT HAPPENED"), rows, empty="nothing happened")
    capacities = [moment.desired_capacity for moment in moments]
    click.echo(
        f"{len(moments)} ticks from {format_time(moments[0].time)} to {format_time(moments[-1].time)}: desired capacity "
        f"{capacities[0]} -> {capacities[-1]} (lowest {min(capacities)}, highest {max(capacities)})"
        + (f"; drawn in {png_path}" if png_path is not None else "")
    )


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _as_json(moments: list[Moment]) -> list[dict[str, Any]]:
    return [
        {
            "time": format_time(moment.time), "desired_capacity": moment.desired_capacity, "min_size": moment.min_size,
            "max_size": moment.max_size, "states": {key: state.value for key, state in moment.states.items()},
            "values": dict(moment.values), "events": list(moment.events),
        }
        for moment in moments
    ]
