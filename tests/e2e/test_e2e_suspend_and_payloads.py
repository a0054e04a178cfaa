"""Items 5 and 10 through the public API of `autoscale up`: a group's suspended alarm notifications and launches hold
what an alarm asks until resumed, and every action of the alarm (the policy's execution, a webhook) carries its payload."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import (
    ALARM,
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
    wait_for_first_instance,
    wait_until,
)

pytestmark = pytest.mark.e2e


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, queue.Queue[dict[str, Any]]]]:
    """An HTTP server on loopback that answers 200 to every POST and queues its JSON body; its URL and the queue."""
    bodies: queue.Queue[dict[str, Any]] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the base class's name
            bodies.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", bodies
    finally:
        server.shutdown()
        server.server_close()


def put_cpu(address: str, *values: float) -> None:
    """Samples of cpu_util for the group web, one series per value (the alarm averages them over its period)."""
    grpcurl(address, f"{METRICS}/PutSamples", {"series": [
        {"metric": "cpu_util", "dimensions": {"group": "web", "instance": f"i-{number}"}, "points": [{"value": value}]}
        for number, value in enumerate(values)
    ]})


def test_suspended_processes_hold_an_alarms_scale_out_until_resumed_and_each_action_carries_the_alarm_payload(
    tmp_path: Path,
) -> None:
    address = f"127.0.0.1:{free_port()}"
    with webhook_receiver() as (hook, bodies), autoscale(
        [*up_args(tmp_path, address), "--webhook-allow", "127.0.0.1/32"], tmp_path / "up.log", address,
    ):
        sleeper_group(address, min_size=1, max_size=3, policy="scale-out")
        grpcurl(address, f"{ALARM}/CreateAlarm", {"alarmId": "busy", "alarm": {
            "thresholdRule": {
                "metric": "cpu_util", "dimensions": {"group": "web"}, "statistic": "STATISTIC_AVERAGE",
                "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN", "threshold": 80, "period": "60s",
            },
            "alarmActions": ["policies/scale-out", hook],
        }})
        wait_for_first_instance(address)
        shown = cli(address, "group", "suspend", "web", "alarm-notification", "launch")
        assert "launch" in shown and "alarm-notification" in shown

        put_cpu(address, 95)
        webhook = bodies.get(timeout=30)
        assert (webhook["alarm_name"], webhook["previous"], webhook["current"]) == ("alarms/busy", "INSUFFICIENT_DATA", "ALARM")
        assert webhook["reason_data"]["datapoints"] == [95] and webhook["reason_data"]["threshold"] == 80

        def first_execution() -> dict[str, Any] | None:
            found = grpcurl(address, f"{POLICY}/ListPolicyExecutions", {"name": "policies/scale-out"}).get("executions", [])
            return found[0] if found else None

        refused = wait_until(first_execution, 30, "the alarm's execution of the policy")
        assert not refused.get("adjusted") and "alarm notifications suspended" in refused["reason"], refused
        payload = refused["alarm_payload"]
        assert (payload["alarm"], payload["state"], payload["datapoints"], payload["threshold"]) == (
            "alarms/busy", "ALARM_STATE_ALARM", [95], 80,
        )
        assert payload["comparison_operator"] == "COMPARISON_OPERATOR_GREATER_THAN"
        assert "suspended" in cli(address, "group", "explain", "web")
        group = grpcurl(address, f"{GROUP}/GetGroup", {"name": "groups/web"})["group"]
        assert group["desired_capacity"] == 1

        # Alarm notifications back, launches still held: the next breach raises the desired capacity, no server starts.
        cli(address, "group", "resume", "web", "alarm-notification")
        put_cpu(address, *([0] * 20))  # the period's average falls under 80: OK
        wait_until(lambda: bodies.qsize() == 0 and _state(address) == "ALARM_STATE_OK", 30, "the alarm back to OK")
        put_cpu(address, *([300] * 40))  # and rises over it again: ALARM, the policy runs
        assert bodies.get(timeout=30)["current"] == "ALARM"
        wait_until(lambda: _desired(address) == 2, 30, "the desired capacity raised by the alarm")
        assert running_instances(address) == 1
        cli(address, "group", "resume", "web")
        wait_until(lambda: running_instances(address) == 2, 30, "the second instance once launches resume")


def _state(address: str) -> str:
    return str(grpcurl(address, f"{ALARM}/GetAlarm", {"name": "alarms/busy"})["alarm"]["state"])


def _desired(address: str) -> int:
    return int(grpcurl(address, f"{GROUP}/GetGroup", {"name": "groups/web"})["group"].get("desired_capacity", 0))
