"""`autoscale metrics ...`: put samples, read statistics, list the known series."""

from __future__ import annotations

import time

import click

from app.cli.choices import STATISTIC
from app.cli.client import METRICS, Client, client_command
from app.cli.output import pairs_text, print_table, time_text
from app.cli.params import DURATION, KEY_VALUE, TIMESTAMP, as_dict, duration_or_none, timestamp_or_none
from autoscale.v1 import metrics_pb2

DIMENSION_HELP = "A dimension KEY=VALUE of the series (repeatable)."


@click.group("metrics")
def metrics() -> None:
    """Metrics: time series of samples, and statistics over periods."""


# NOTE: ignore_unknown_options lets a negative VALUE such as -3 through as an argument instead of an unknown option.
@metrics.command("put", context_settings={"ignore_unknown_options": True})
@click.argument("metric")
@click.argument("values", metavar="VALUE...", nargs=-1, required=True, type=float)
@click.option("--dimension", "dimensions", multiple=True, type=KEY_VALUE, help=DIMENSION_HELP)
@click.option("--time", "sample_time", type=TIMESTAMP, help="When the values were measured, ISO 8601  [default: when received]")
@client_command(METRICS)
def put(client: Client, metric: str, values: tuple[float, ...], dimensions: tuple[tuple[str, str], ...], sample_time: float | None) -> None:
    """Store one or more VALUEs of METRIC in the series its dimensions name.

    \b
    autoscale metrics put cpu 71.5 --dimension group=web --dimension instance=i-1
    """
    points = [metrics_pb2.Point(value=value, time=timestamp_or_none(sample_time)) for value in values]
    series = metrics_pb2.TimeSeries(metric=metric, dimensions=as_dict(dimensions), points=points)
    response = client.call("PutSamples", metrics_pb2.PutSamplesRequest(series=[series]))
    client.emit(response, lambda: click.echo(f"accepted {response.accepted_points} point(s) of {metric}"))


@metrics.command("stats")
@click.argument("metric")
@click.option("--statistic", type=STATISTIC, required=True, help="Statistic of each period.")
@click.option("--period", type=DURATION, required=True, help="Length of each period, e.g. 60s.")
@click.option("--dimension", "dimensions", multiple=True, type=KEY_VALUE, help="Only series with this dimension (repeatable).")
@click.option("--since", type=DURATION, help="How far back the window starts, e.g. 1h  [default: 1 day]")
@client_command(METRICS)
def stats(client: Client, metric: str, statistic: int, period: float, dimensions: tuple[tuple[str, str], ...], since: float | None) -> None:
    """Show STATISTIC of METRIC per period, oldest first (empty periods are left out)."""
    request = metrics_pb2.GetStatisticsRequest(
        metric=metric,
        dimensions=as_dict(dimensions),
        statistic=statistic,
        period=duration_or_none(period),
        # The end stays unset (the server's now); only the start is relative to this machine's clock.
        start_time=timestamp_or_none(time.time() - since if since is not None else None),
    )
    response = client.call("GetStatistics", request)
    rows = ([time_text(point, "start_time"), f"{point.value:g}", str(point.sample_count)] for point in response.datapoints)
    client.emit(response, lambda: print_table(("PERIOD START", "VALUE", "SAMPLES"), rows, empty="no datapoints"))


@metrics.command("list")
@click.option("--metric", help="Only series of this metric.")
@client_command(METRICS)
def list_metrics(client: Client, metric: str | None) -> None:
    """List the known series: metric, dimensions and newest point."""
    response = client.list_all("ListMetrics", metrics_pb2.ListMetricsRequest(metric=metric or ""), "metrics")
    rows = ([series.metric, pairs_text(series.dimensions), time_text(series, "last_point_time")] for series in response.metrics)
    client.emit(response, lambda: print_table(("METRIC", "DIMENSIONS", "LAST POINT"), rows, empty="no metrics"))
