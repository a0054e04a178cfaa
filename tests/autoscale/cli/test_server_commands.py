"""`autoscale up` and `autoscale serve SERVICE` as the real binary runs them."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.harness import AUTOSCALE, free_port, wait_healthy

COMMANDS = [pytest.param(["up"], id="up"), pytest.param(["serve", "metrics"], id="serve")]


@pytest.mark.parametrize("command", COMMANDS)
def test_log_level_is_taken_after_the_subcommand_too(command, tmp_path: Path):
    address = f"127.0.0.1:{free_port()}"
    log_path = tmp_path / "autoscale.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [AUTOSCALE, *command, "--log-level", "INFO", "--listen", address, "--database-url", f"sqlite:///{tmp_path}/a.db"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy(address)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0, log_path.read_text()
    assert " INFO autoscale: serving " in log_path.read_text()
