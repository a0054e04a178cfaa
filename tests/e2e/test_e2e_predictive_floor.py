"""A target tracking policy's predictive floor through the public API of `autoscale up`: yesterday's load, put with
past times, holds the group up though today's metric is low (FORECAST_AND_SCALE); forecast only, the group scales in
and the CLI shows the forecast beside what was decided."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.harness import (
    GROUP,
    METRICS,
    POLICY,
    autoscale,
    cli,
    free_port,
    grpcurl,
    running_instances,
    sleeper_group,
    up_args,
    wait_until,
)

pytestmark = pytest.mark.e2e

YESTERDAY_SECONDS = 240
"""Seconds of yesterday's history put, from the same time a day ago on: longer than the test runs."""

SAMPLE_INTERVAL = 15
"""Seconds between two samples of an instance's CPU, as the group service measures it by default (the floor's default for
the predefined CPU): a window of 15 s around each moment holds one sample of each instance."""

FLOOR_OPTIONS = ("--target-tracking", "cpu=100", "--period", "1s", "--scale-down-window", "0s", "--warmup", "0s",
                 "--forecast-season", "24h", "--forecast-buffer", "0s")
"""A policy keeping the average CPU at 100 %, reading it every second, with a floor from the same time yesterday."""


def _desired(address: str) -> int:
    group = grpcurl(address, f"{GROUP}/GetGroup", {"name": "groups/web"})["group"]
    return int(group.get("desired_capacity", 0))


def _busy_yesterday(address: str) -> None:
    """Four instances at 90 % CPU every 15 s from the same time a day ago on: a load of 360, a floor of 4 at 100 %."""
    start = datetime.now(UTC) - timedelta(days=1) - timedelta(seconds=SAMPLE_INTERVAL)
    points = [
        {"value": 90, "time": (start + timedelta(seconds=second)).isoformat()}
        for second in range(0, YESTERDAY_SECONDS, SAMPLE_INTERVAL)
    ]
    grpcurl(address, f"{METRICS}/PutSamples", {"series": [
        {"metric": "cpu_utilization", "dimensions": {"group": "web", "instance": f"i-old-{index}"}, "points": points}
        for index in range(4)
    ]})


def test_yesterdays_load_holds_the_group_up_and_forecast_only_shows_it_beside_the_scale_in(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    # The test reports the CPU itself: the group service's measure of its idle instances would be summed in.
    with autoscale([*up_args(tmp_path, address), "--cpu-report-interval", "0"], tmp_path / "up.log", address):
        sleeper_group(address, min_size=1, max_size=5)
        _busy_yesterday(address)
        # The CLI too can put yesterday's samples: one more instance's, at a time the floor never reads.
        cli(address, "metrics", "put", "cpu_utilization", "90", "--dimension", "group=web", "--dimension", "instance=i-old-4",
            "--time", (datetime.now(UTC) - timedelta(days=2)).isoformat())
        cli(address, "policy", "create", "web-cpu", "--group", "web", *FLOOR_OPTIONS, "--predictive-floor", "forecast-and-scale")

        def reporting(cpu: float, wanted: int) -> bool:
            """Report today's average CPU, as the workload would; whether `wanted` instances run and are desired."""
            grpcurl(address, f"{METRICS}/PutSamples", {
                "series": [{"metric": "cpu_utilization", "dimensions": {"group": "web", "instance": "i-now"}, "points": [{"value": cpu}]}],
            })
            return running_instances(address) == wanted and _desired(address) == wanted

        # 10 % against 100 % asks one instance, but yesterday's 360 asks ceil(360 / 100) = 4.
        wait_until(lambda: reporting(10, 4), 60, "four instances held up by yesterday's load")
        executions = grpcurl(address, f"{POLICY}/ListPolicyExecutions", {"name": "policies/web-cpu"})["executions"]
        held = next(e for e in executions if e.get("forecast", {}).get("applied"))
        assert (held["recommended_capacity"], held["desired_capacity"]) == (1, 4)
        assert (held["forecast"]["floor_capacity"], held["forecast"]["load"]) == (4, 360)
        assert "held up at 4 by the predictive floor" in held["reason"]
        shown = cli(address, "policy", "show", "web-cpu")
        assert "forecast-and-scale, seasons 24h, buffer 0s, max" in shown
        assert re.search(r"last forecast +floor 4 \(load 360\), applied", shown)

        cli(address, "policy", "update", "web-cpu", *FLOOR_OPTIONS, "--predictive-floor", "forecast-only")
        wait_until(lambda: reporting(10, 1), 60, "one instance once the floor is only shown")
        assert re.search(r"last forecast +floor 4 \(load 360\), not applied", cli(address, "policy", "show", "web-cpu"))
        table = cli(address, "policy", "forecast", "web-cpu", "--hours", "1")
        assert "floor 4 (load 360), not applied" in table and "floor 4 (load 360), applied" in table
        assert "24h: 360" in table
