"""Local instances a test module started are stopped when it ends.

`autoscale up` stopped leaves its local instances running by design (the next start adopts
them), and so does a test's LocalProcessDriver; most tests delete their groups, but one that
does not leaves processes behind, and a busy one slows every test after it. Each module runs
with a marker of its own in the environment, which the instances inherit through the
processes that start them; when the module ends, every local instance (a process that
carries the local driver's mark) with that marker is killed. Other runs' instances (another
checkout's tests at the same time) carry another marker and are left alone.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.group.drivers.local import DRIVER_MARK_VARIABLE

MODULE_MARK_VARIABLE = "AUTOSCALE_TEST_MODULE"


@contextmanager
def instances_stopped_afterwards() -> Iterator[None]:
    """Mark the processes started meanwhile (through os.environ); kill the local instances among them afterwards."""
    marker = uuid.uuid4().hex
    previous = os.environ.get(MODULE_MARK_VARIABLE)
    os.environ[MODULE_MARK_VARIABLE] = marker
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(MODULE_MARK_VARIABLE, None)
        else:
            os.environ[MODULE_MARK_VARIABLE] = previous
        for pid in marked_instances(marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:  # gone meanwhile
                pass


def marked_instances(marker: str) -> list[int]:
    """Pids of the local instances whose environment carries `marker`."""
    wanted = f"{MODULE_MARK_VARIABLE}={marker}".encode()
    driver_mark = f"{DRIVER_MARK_VARIABLE}=".encode()
    found: list[int] = []
    if not Path("/proc").is_dir():  # no way to read another process's environment: nothing is found (nor killed)
        return found
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            variables = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # gone, or another user's
            continue
        if wanted in variables and any(variable.startswith(driver_mark) for variable in variables):
            found.append(int(entry.name))
    return found
