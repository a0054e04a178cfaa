"""The chain sample → alarm → policy → group.Adjust, through grpcurl, against real processes.

Once against `autoscale up`, once against four `autoscale serve` processes with
databases of their own, as operators deploy them, and once more so with mutual TLS.
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

import pytest

from tests.e2e.harness import (
    ALARM,
    FAST,
    GROUP,
    PLAINTEXT,
    POLICY,
    AutoscaleProcess,
    GrpcurlError,
    autoscale,
    free_port,
    grpcurl,
    grpcurl_list,
    scale_out_through_the_chain,
    wait_healthy,
)

pytestmark = pytest.mark.e2e


def drive_chain(addr: dict[str, str], tmp_path, transport: Sequence[str] = PLAINTEXT) -> None:
    """Create a group, a policy and an alarm; a high sample must scale the group out (grpcurl with the `transport` flags);
    then what uses what holds deletions back."""
    scale_out_through_the_chain(addr, transport=transport)
    call = functools.partial(grpcurl, transport=transport)
    refused = pytest.raises(GrpcurlError, match="FAILED_PRECONDITION: groups/web is used by 1 policy")
    with refused:
        call(addr["group"], f"{GROUP}/DeleteGroup", {"name": "groups/web"})
    call(addr["alarm"], f"{ALARM}/DeleteAlarm", {"name": "alarms/high-cpu"})
    call(addr["group"], f"{GROUP}/DeleteGroup", {"name": "groups/web", "force": True})
    with pytest.raises(GrpcurlError, match="NOT_FOUND"):
        call(addr["policy"], f"{POLICY}/GetPolicy", {"name": "policies/scale-out"})


def test_chain_runs_through_grpcurl_against_autoscale_up(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}",
            "--instance-log-dir", str(tmp_path / "instances"), *FAST]
    with autoscale(args, tmp_path / "up.log", address) as process:
        services = grpcurl_list(address)
        assert {f"autoscale.v1.{s}Service" for s in ("Metrics", "Alarm", "Policy", "Group")} <= services
        assert "grpc.health.v1.Health" in services
        drive_chain(dict.fromkeys(("metrics", "alarm", "policy", "group"), address), tmp_path)
    assert process.process.returncode == 0, process.log()


def test_chain_runs_across_four_serve_processes_with_their_own_databases(tmp_path):
    addr = {name: f"127.0.0.1:{free_port()}" for name in ("metrics", "alarm", "policy", "group")}
    peers = [f"--{name}-addr={address}" for name, address in addr.items()]
    processes: list[AutoscaleProcess] = []
    try:
        for name, address in addr.items():
            args = ["serve", name, "--listen", address, "--database-url", f"sqlite:///{tmp_path / name}.db",
                    "--instance-log-dir", str(tmp_path / "instances"), *peers, *FAST]
            processes.append(AutoscaleProcess(args, tmp_path / f"{name}.log"))
        for address in addr.values():
            wait_healthy(address)
        drive_chain(addr, tmp_path)
    finally:
        codes = [p.stop() for p in processes]
    assert codes == [0, 0, 0, 0], "\n".join(p.log() for p in processes)


def test_chain_runs_across_four_serve_processes_with_mutual_tls_between_them(tmp_path, tls_files):
    # Each service serves its certificate, asks its callers for one its CA signed, and presents it to its peers.
    addr = {name: f"127.0.0.1:{free_port()}" for name in ("metrics", "alarm", "policy", "group")}
    health = {name: f"127.0.0.1:{free_port()}" for name in addr}
    peers = [f"--{name}-addr={address}" for name, address in addr.items()]
    tls = ["--tls-cert", str(tls_files.server_cert), "--tls-key", str(tls_files.server_key), "--tls-client-ca", str(tls_files.ca),
           "--peer-tls-ca", str(tls_files.ca), "--peer-tls-cert", str(tls_files.server_cert), "--peer-tls-key", str(tls_files.server_key)]
    processes: list[AutoscaleProcess] = []
    try:
        for name, address in addr.items():
            args = ["serve", name, "--listen", address, "--health-listen", health[name], "--database-url",
                    f"sqlite:///{tmp_path / name}.db", "--instance-log-dir", str(tmp_path / "instances"), *peers, *tls, *FAST]
            processes.append(AutoscaleProcess(args, tmp_path / f"{name}.log"))
        for address in health.values():
            wait_healthy(address)
        operator = ("-cacert", str(tls_files.ca), "-cert", str(tls_files.client_cert), "-key", str(tls_files.client_key))
        drive_chain(addr, tmp_path, operator)

        check = ("grpc.health.v1.Health/Check", {"service": "autoscale.v1.GroupService"})
        assert grpcurl(health["group"], *check)["status"] == "SERVING"
        assert grpcurl(addr["group"], *check, transport=operator)["status"] == "SERVING"
        for refused in (PLAINTEXT, ("-cacert", str(tls_files.ca))):  # no TLS; TLS without a client certificate
            with pytest.raises(GrpcurlError):
                grpcurl(addr["group"], *check, transport=refused)
    finally:
        codes = [p.stop() for p in processes]
    assert codes == [0, 0, 0, 0], "\n".join(p.log() for p in processes)


def test_sigint_stops_autoscale_up_cleanly(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    process = AutoscaleProcess(["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}"], tmp_path / "up.log")
    wait_healthy(address)
    assert process.stop(signal.SIGINT) == 0, process.log()



def _tgkill() -> Any:
    libc = ctypes.CDLL(None, use_errno=True)
    return getattr(libc, "tgkill", None)


@pytest.mark.skipif(not sys.platform.startswith("linux") or _tgkill() is None, reason="needs Linux's tgkill to aim a signal at one thread")
def test_a_sigterm_the_kernel_hands_to_another_thread_than_the_main_one_still_stops_autoscale(tmp_path):
    # The kernel may deliver a process's signal to any of its threads; Python runs the handler in the main thread.
    address = f"127.0.0.1:{free_port()}"
    process = AutoscaleProcess(["up", "--listen", address, "--database-url", f"sqlite:///{tmp_path / 'up.db'}"], tmp_path / "up.log")
    wait_healthy(address)
    pid = process.process.pid
    other = next(int(tid) for tid in os.listdir(f"/proc/{pid}/task") if int(tid) != pid)
    try:
        assert _tgkill()(pid, other, signal.SIGTERM) == 0, ctypes.get_errno()
        assert process.process.wait(15) == 0, process.log()
    finally:
        if process.process.poll() is None:  # it hung: the test failed, the process must not outlive it
            process.process.kill()
            process.process.wait()
