"""What the fixtures of real peers share (tests/keystone_server.py, gnocchi_server.py, prometheus_server.py,
alertmanager_server.py): a virtualenv per pinned set of requirements kept under the user's cache, install steps that
say which one failed, free loopback ports, and stopping a peer's process."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import platformdirs


class PeerUnavailable(Exception):
    """A peer could not be installed or started here; the message says which step failed (the fixture skips with it)."""


def cache_root() -> Path:
    """Where virtualenvs are kept, outside the repository: `$XDG_CACHE_HOME/autoscale-tests` (or the platform's)."""
    return Path(platformdirs.user_cache_dir("autoscale-tests"))


def run_step(
    step: str, command: list[str], timeout: float, unavailable: type[PeerUnavailable], env: dict[str, str] | None = None
) -> None:
    """Run `command`; `unavailable` naming `step` and the last lines of its output when it fails."""
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise unavailable(f"{step} failed: {error}") from error
    if completed.returncode != 0:
        output = [line for line in (completed.stderr + completed.stdout).splitlines() if not line.startswith("WARNING: Location")]
        raise unavailable(f"{step} failed (exit status {completed.returncode}): {' | '.join(output[-5:])}")


def cached_venv(
    root: Path, name: str, requirements: tuple[str, ...], install_timeout: float, unavailable: type[PeerUnavailable]
) -> Path:
    """The virtualenv `name` holding `requirements` under `root`: made the first time (under a file lock, so that
    concurrent test runs install it once) and reused after; a folder per pinned set."""
    pins = "\n".join(requirements) + "\n"
    venv = root / f"{name}-venv-{hashlib.sha256(pins.encode()).hexdigest()[:8]}"
    # Written last: a folder without it is what an interrupted install left, and is made again.
    installed = venv / "autoscale-installed.txt"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{name}-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed.exists() and installed.read_text() == pins:
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        run_step(f"python -m venv {venv}", [sys.executable, "-m", "venv", str(venv)], 120, unavailable)
        run_step(
            f"pip install {' '.join(requirements)}",
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *requirements],
            install_timeout,
            unavailable,
        )
        installed.write_text(pins)
    return venv


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def await_answer(
    url: str, process: subprocess.Popen[bytes], log_path: Path, *, what: str, timeout: float, unavailable: type[PeerUnavailable]
) -> None:
    """Return once `url` answers 200; `unavailable` (naming `what` and the log's last lines) when `process` ends first or
    `timeout` passes. The process's end is waited on 0.1 s at a time: a peer that cannot start is reported at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        try:
            status = process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        tail = " | ".join(log_path.read_text().splitlines()[-5:])
        raise unavailable(f"{what} exited with status {status}: {tail}")
    raise unavailable(f"{what} at {url} did not answer within {timeout:.0f} s (see {log_path})")


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15.0, *, session: bool = False) -> None:
    """SIGTERM, then SIGKILL when it has not ended within `timeout` (its whole session with `session`: a process started
    with start_new_session=True whose children must go with it)."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if session:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait()
