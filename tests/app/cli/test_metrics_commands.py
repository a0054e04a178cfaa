"""`autoscale metrics ...` against the real services, all on one in-process server."""

from __future__ import annotations

import json

from tests.app.cli.cli_support import Invoke


def test_metrics_put_then_stats_aggregates_the_values(mesh_invoke: Invoke) -> None:
    put = mesh_invoke("metrics", "put", "cpu", "50", "70", "--dimension", "group=web", "--time", "2024-05-01T12:00:10Z")
    assert put.exit_code == 0, put.output
    assert "accepted 2 point(s) of cpu" in put.stdout

    stats = mesh_invoke("metrics", "stats", "cpu", "--statistic", "avg", "--period", "1m", "--dimension", "group=web", "--json")
    assert stats.exit_code == 0, stats.output
    # The window defaults to the last day: a point of 2024 lies outside it.
    assert json.loads(stats.stdout)["datapoints"] == []


def test_metrics_stats_over_recent_points_shows_one_row_a_period(mesh_invoke: Invoke) -> None:
    assert mesh_invoke("metrics", "put", "cpu", "50", "70", "--dimension", "group=web").exit_code == 0
    stats = mesh_invoke("metrics", "stats", "cpu", "--statistic", "max", "--period", "1h", "--since", "2h")
    assert stats.exit_code == 0, stats.output
    rows = stats.stdout.splitlines()[1:]
    assert len(rows) == 1 and rows[0].split()[1:] == ["70", "2"]


def test_metrics_put_accepts_negative_values(mesh_invoke: Invoke) -> None:
    result = mesh_invoke("metrics", "put", "temperature", "-3.5", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"acceptedPoints": "1"}


def test_metrics_list_shows_each_series_and_filters_by_metric(mesh_invoke: Invoke) -> None:
    mesh_invoke("metrics", "put", "cpu", "1", "--dimension", "group=web", "--dimension", "instance=i-1")
    mesh_invoke("metrics", "put", "mem", "2")
    listed = mesh_invoke("metrics", "list")
    assert listed.exit_code == 0
    assert "group=web,instance=i-1" in listed.stdout and "mem" in listed.stdout

    only_cpu = json.loads(mesh_invoke("metrics", "list", "--metric", "cpu", "--json").stdout)["metrics"]
    assert [series["metric"] for series in only_cpu] == ["cpu"]


def test_metrics_stats_needs_a_statistic_and_a_period(mesh_invoke: Invoke) -> None:
    result = mesh_invoke("metrics", "stats", "cpu", "--period", "1m")
    assert result.exit_code == 2
    assert "--statistic" in result.stderr


def test_metrics_put_of_a_non_finite_value_is_an_invalid_argument(mesh_invoke: Invoke) -> None:
    result = mesh_invoke("metrics", "put", "cpu", "nan")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: INVALID_ARGUMENT: ")
