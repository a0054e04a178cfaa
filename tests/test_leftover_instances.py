"""The test suite's own guard: a module's local instances do not outlive it, and nothing else is touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.group.drivers.local import DRIVER_MARK_VARIABLE
from tests.leftover_instances import MODULE_MARK_VARIABLE, instances_stopped_afterwards, marked_instances
from tests.support import wait_for

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="no /proc: other processes' environments cannot be read")
def test_a_local_instance_started_within_is_killed_afterwards_and_other_processes_are_left_alone():
    with instances_stopped_afterwards():
        marker = os.environ[MODULE_MARK_VARIABLE]
        instance = subprocess.Popen(SLEEP, env={**os.environ, DRIVER_MARK_VARIABLE: "/tmp/instances"})
        helper = subprocess.Popen(SLEEP, env=dict(os.environ))  # a peer server a fixture started: no driver mark
        wait_for(lambda: marked_instances(marker) == [instance.pid])
    try:
        assert instance.wait(timeout=10) != 0
        assert helper.poll() is None
    finally:
        helper.kill()
        helper.wait()
