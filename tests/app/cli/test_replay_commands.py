"""`autoscale replay`: a group's alarms and policies over its stored metrics or a CSV file, printed and drawn, against
the real services in-process; the group itself untouched."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from autoscale.timeutil import format_time
from tests.app.cli.cli_support import Invoke

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def web(invoke: Invoke) -> Invoke:
    """A group web of 1..4 sleepers with a 0 s cooldown, a policy web-out (+1) and an alarm cpu{group=web} > 80 over 1 minute."""
    for args in (
        ("launch-config", "create", "sleeper", "--arg", "sleep", "--arg", "600"),
        ("group", "create", "web", "--launch-config", "sleeper", "--min", "0", "--max", "4", "--desired", "0", "--cooldown", "0s"),
        ("policy", "create", "web-out", "--group", "web", "--type", "change", "--adjustment", "1"),
        ("alarm", "create", "web-busy", "--metric", "cpu", "--dimension", "group=web", "--statistic", "avg", "--comparison", "gt",
         "--threshold", "80", "--period", "60s", "--alarm-action", "policies/web-out", "--alarm-action", "https://example.com/hook"),
    ):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
    return invoke


def test_replay_of_stored_metrics_prints_and_draws_the_capacity_without_touching_the_group(web: Invoke, tmp_path: Path) -> None:
    hour_ago = (time.time() // 3600 - 1) * 3600
    for minute, value in enumerate([50, 90, 95, 90, 40]):
        stamp = format_time(hour_ago + minute * 60 + 5)
        put = web("metrics", "put", "cpu", str(value), "--dimension", "group=web", "--time", stamp)
        assert put.exit_code == 0, put.output
    png = tmp_path / "web.png"
    result = web("replay", "web", "--start", format_time(hour_ago), "--end", format_time(hour_ago + 300), "--png", str(png))
    assert result.exit_code == 0, result.output
    assert "policies/web-out: desired capacity 0 -> 1" in result.stdout
    assert "policies/web-out: desired capacity 2 -> 3" in result.stdout
    assert "desired capacity 0 -> 3 (lowest 0, highest 3)" in result.stdout
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    group = json.loads(web("group", "show", "web", "--json").stdout)["group"]
    assert group.get("desiredCapacity", 0) == 0


def test_replay_of_a_csv_file_reads_its_window_from_the_samples(web: Invoke, tmp_path: Path) -> None:
    samples = tmp_path / "load.csv"
    rows = [f"2026-12-01T10:{minute:02d}:05Z,cpu,{value},group=web;instance=i-1" for minute, value in enumerate([85, 85, 20])]
    samples.write_text("time,metric,value,dimensions\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = web("replay", "web", "--csv", str(samples), "--json")
    assert result.exit_code == 0, result.output
    moments = json.loads(result.stdout)
    assert [moment["desired_capacity"] for moment in moments] == [1, 2, 2]
    assert moments[0]["values"] == {"web-busy": 85.0}


def test_a_bad_csv_file_names_the_line(web: Invoke, tmp_path: Path) -> None:
    samples = tmp_path / "bad.csv"
    samples.write_text("time,metric,value\n2026-12-01T10:00:00Z,cpu,lots\n", encoding="utf-8")
    result = web("replay", "web", "--csv", str(samples))
    assert result.exit_code == 2 and "bad.csv:2: value 'lots' is not a number" in result.output


def test_replaying_a_group_no_alarm_signals_is_a_usage_error(invoke: Invoke) -> None:
    assert invoke("launch-config", "create", "sleeper", "--arg", "sleep", "--arg", "600").exit_code == 0
    assert invoke("group", "create", "quiet", "--launch-config", "sleeper", "--min", "0", "--max", "1").exit_code == 0
    result = invoke("replay", "quiet")
    assert result.exit_code == 2 and "nothing to replay" in result.output


@pytest.mark.parametrize("time_text", ["inf", "nan", "1e300", "-5"])
def test_a_csv_time_out_of_range_is_refused_naming_the_line(web: Invoke, tmp_path: Path, time_text: str) -> None:
    samples = tmp_path / "bad.csv"
    samples.write_text(f"time,metric,value\n2026-12-01T10:00:00Z,cpu,1\n{time_text},cpu,2\n", encoding="utf-8")
    result = web("replay", "web", "--csv", str(samples))
    assert result.exit_code == 2 and "bad.csv:3: time" in result.output and "Traceback" not in result.output


def test_replay_of_a_predictive_floor_forecasts_from_the_stored_metrics_a_season_before(web: Invoke) -> None:
    created = web(
        "policy", "create", "web-cpu", "--group", "web", "--target-tracking", "cpu=50", "--period", "60s",
        "--predictive-floor", "forecast-and-scale", "--forecast-season", "1h", "--forecast-buffer", "0s",
        "--forecast-sample-interval", "60s",
    )
    assert created.exit_code == 0, created.output
    hour_ago = (time.time() // 3600 - 1) * 3600
    # An hour before the window the group's CPU totalled 150 a minute (a floor of 3 at 50 each); in it, 20.
    for minute in range(5):
        for start, value in ((hour_ago - 3600, 150), (hour_ago, 20)):
            put = web("metrics", "put", "cpu_utilization", str(value), "--dimension", "group=web", "--dimension", "instance=i-1",
                      "--time", format_time(start + minute * 60 + 5))
            assert put.exit_code == 0, put.output
    result = web("replay", "web", "--start", format_time(hour_ago + 60), "--end", format_time(hour_ago + 240), "--json")
    assert result.exit_code == 0, result.output
    moments = json.loads(result.stdout)
    assert {moment["desired_capacity"] for moment in moments} == {3}
    assert "held up at 3 by the predictive floor (forecast load 150)" in " ".join(moments[0]["events"])


def test_a_png_that_cannot_be_written_is_an_error_naming_the_file(web: Invoke, tmp_path: Path) -> None:
    samples = tmp_path / "load.csv"
    rows = [f"2026-12-01T10:0{minute}:05Z,cpu,85,group=web" for minute in range(2)]
    samples.write_text("time,metric,value,dimensions\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = web("replay", "web", "--csv", str(samples), "--png", str(tmp_path / "missing" / "web.png"))
    assert result.exit_code == 1 and "Could not open file" in result.output and "web.png" in result.output
