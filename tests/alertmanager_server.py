"""A real Prometheus Alertmanager for the tests (Debian's `prometheus-alertmanager`), on loopback, in a folder of its own.

`started_alertmanager(folder, webhook_url)` writes a configuration that sends every alert to one webhook (grouped by
alertname, with short waits so a test sees notifications within seconds), starts the binary with clustering off,
waits until it is ready, and stops it afterwards. What cannot be done raises AlertmanagerUnavailable, naming the step:
the test turns it into a skip. scripts/install_test_peers.sh installs the package where it is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.peer_support import PeerUnavailable, await_answer, free_port, stop_process

BINARY_NAMES = ("prometheus-alertmanager", "alertmanager")
START_TIMEOUT = 30.0


class AlertmanagerUnavailable(PeerUnavailable):
    """Alertmanager cannot run here; the message says why."""


def alertmanager_binary() -> str:
    """The Alertmanager binary; AlertmanagerUnavailable when none is installed."""
    for name in BINARY_NAMES:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return found
    raise AlertmanagerUnavailable(
        "Alertmanager is not installed (Debian package prometheus-alertmanager; scripts/install_test_peers.sh installs it)"
    )


@dataclass
class Alertmanager:
    """A running Alertmanager: its URL, and what the tests ask of its API."""

    url: str

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """POST /api/v2/alerts, as Prometheus does."""
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts", data=json.dumps(alerts).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()

    def webhook_notifications(self) -> tuple[int, int]:
        """(sent, failed) webhook notifications so far, from its own /metrics."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:
            text = response.read().decode()
        counts = {"alertmanager_notifications_total": 0, "alertmanager_notifications_failed_total": 0}
        for line in text.splitlines():
            for name in counts:
                if line.startswith(name + "{") and 'integration="webhook"' in line:
                    counts[name] += int(float(line.rsplit(" ", 1)[1]))
        return counts["alertmanager_notifications_total"], counts["alertmanager_notifications_failed_total"]


CONFIG = """\
route:
  receiver: autoscale
  group_by: [alertname]
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: {repeat_interval}
receivers:
  - name: autoscale
    webhook_configs:
      - url: {webhook_url}
        send_resolved: true
"""


@contextmanager
def started_alertmanager(folder: Path, webhook_url: str, *, repeat_interval: str = "2s") -> Iterator[Alertmanager]:
    """An Alertmanager on a free loopback port that sends every alert group to `webhook_url` (and repeats every
    `repeat_interval` while it fires)."""
    binary = alertmanager_binary()
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "alertmanager.yml"
    config.write_text(CONFIG.format(webhook_url=webhook_url, repeat_interval=repeat_interval))
    port = free_port()
    log_path = folder / "alertmanager.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address=", "--log.level=debug"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await_answer(f"{url}/-/ready", process, log_path, what="Alertmanager", timeout=START_TIMEOUT, unavailable=AlertmanagerUnavailable)
        yield Alertmanager(url)
    finally:
        stop_process(process, timeout=10)
        log.close()
