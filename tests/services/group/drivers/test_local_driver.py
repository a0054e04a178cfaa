"""The local process driver, with real child processes."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.group.drivers.base import DriverError, FoundServer, LaunchRequest, ProcessSpec, ServerStatus
from services.group.drivers.local import LocalProcessDriver

GRACE = 0.3
"""A short SIGTERM grace period, so a test of SIGKILL does not wait 5 s."""

SLEEP_FOREVER = "import time; time.sleep(60)"


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `condition` until it holds, failing the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def pid_of(server_id: str) -> int:
    return int(server_id.split("-")[0])


def is_running(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def python(code: str, *args: str) -> ProcessSpec:
    return ProcessSpec(command=[sys.executable, "-c", code, *args])


def request(spec: ProcessSpec | None, instance_id: str = "i-1", project: str = "p1") -> LaunchRequest:
    return LaunchRequest(project=project, group_id="web", instance_id=instance_id, metrics_addr="127.0.0.1:50051", process=spec)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def driver(log_dir: Path) -> Iterator[LocalProcessDriver]:
    """A driver whose every launched process is killed after the test."""
    driver = LocalProcessDriver(log_dir, terminate_grace=GRACE)
    launched: list[str] = []
    launch = driver.launch

    def launch_and_remember(launch_request: LaunchRequest) -> str:
        server_id = launch(launch_request)
        launched.append(server_id)
        return server_id

    driver.launch = launch_and_remember  # type: ignore[method-assign]
    yield driver
    for server_id in launched:
        driver.terminate(server_id)


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the tests read /proc (Linux)")


def test_instance_gets_the_spec_env_and_the_autoscale_variables_which_win(driver: LocalProcessDriver, tmp_path: Path) -> None:
    env_file = tmp_path / "env.json"
    # Written aside and renamed, so the test never reads a half-written file.
    code = (
        "import json, os, sys\n"
        "open(sys.argv[1] + '.tmp', 'w').write(json.dumps(dict(os.environ)))\n"
        "os.rename(sys.argv[1] + '.tmp', sys.argv[1])"
    )
    spec = ProcessSpec(
        command=[sys.executable, "-c", code, str(env_file)],
        env={"WORKLOAD_MODE": "busy", "AUTOSCALE_PROJECT": "forged", "AUTOSCALE_GROUP": "forged", "AUTOSCALE_INSTANCE": "forged"},
    )

    driver.launch(request(spec, "i-7"))

    wait_for(env_file.exists)
    env = json.loads(env_file.read_text())
    assert env["WORKLOAD_MODE"] == "busy"
    assert env["AUTOSCALE_PROJECT"] == "p1"
    assert env["AUTOSCALE_GROUP"] == "web"
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == (
        "autoscale.project=p1,autoscale.group=web,autoscale.instance=i-7,service.instance.id=i-7"
    )
    assert env["AUTOSCALE_INSTANCE"] == "i-7"
    assert env["AUTOSCALE_METRICS_ADDR"] == "127.0.0.1:50051"
    assert env["PATH"] == os.environ["PATH"]


def test_each_instance_gets_a_free_loopback_port_it_serves_on_and_its_state_gives_that_address(
    driver: LocalProcessDriver, log_dir: Path
) -> None:
    serve = (
        "import os, socket, time\n"
        "listener = socket.create_server(('127.0.0.1', int(os.environ['AUTOSCALE_PORT'])))\n"
        "time.sleep(60)"
    )
    first, second = (driver.launch(request(python(serve), instance_id)) for instance_id in ("i-1", "i-2"))
    addresses = [driver.state(server_id).address for server_id in (first, second)]
    assert addresses[0] != addresses[1] and all(address.startswith("127.0.0.1:") for address in addresses)
    port = int(addresses[0].rsplit(":", 1)[1])

    def accepts() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    wait_for(accepts)
    # A restarted service reads the port back from the process's environment.
    assert LocalProcessDriver(log_dir).state(first).address == addresses[0]


def test_output_and_errors_are_appended_to_the_instance_log_under_its_project_and_group(driver: LocalProcessDriver, log_dir: Path) -> None:
    code = "import sys; print('out', sys.argv[1], flush=True); print('err', sys.argv[1], file=sys.stderr)"
    for run, project in (("first", "p1"), ("second", "p1"), ("other", "p2")):
        server_id = driver.launch(request(python(code, run), project=project))
        wait_for(lambda server_id=server_id: driver.state(server_id).status is ServerStatus.FAILED)

    assert (log_dir / "p1" / "web" / "i-1.log").read_text().splitlines() == ["out first", "err first", "out second", "err second"]
    assert (log_dir / "p2" / "web" / "i-1.log").read_text().splitlines() == ["out other", "err other"]


def test_instance_runs_in_a_session_of_its_own_so_a_ctrl_c_does_not_reach_it(driver: LocalProcessDriver) -> None:
    server_id = driver.launch(request(python(SLEEP_FOREVER)))

    assert os.getsid(pid_of(server_id)) == pid_of(server_id)


def test_state_is_running_then_failed_with_the_exit_status(driver: LocalProcessDriver, tmp_path: Path) -> None:
    go = tmp_path / "go"
    code = "import os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.01)\nsys.exit(3)"
    server_id = driver.launch(request(python(code, str(go))))

    assert driver.state(server_id).status is ServerStatus.RUNNING
    go.touch()
    wait_for(lambda: driver.state(server_id).status is ServerStatus.FAILED)
    assert driver.state(server_id).reason == "exited with status 3"


def test_the_reason_of_an_exit_quotes_the_last_lines_of_the_output_on_one_line(driver: LocalProcessDriver) -> None:
    code = "import sys\nprint('starting')\nprint('loading config')\nprint('\\x1b[31merror:\\tno such file: /etc/app.conf')\nsys.exit(2)"
    server_id = driver.launch(request(python(code)))
    wait_for(lambda: driver.state(server_id).status is ServerStatus.FAILED)
    assert driver.state(server_id).reason == (
        "exited with status 2; last output: starting | loading config | [31merror: no such file: /etc/app.conf"
    )


def test_terminate_stops_a_running_process_and_is_idempotent(driver: LocalProcessDriver) -> None:
    server_id = driver.launch(request(python(SLEEP_FOREVER)))

    driver.terminate(server_id)

    assert not is_running(pid_of(server_id))
    assert driver.state(server_id).status in {ServerStatus.FAILED, ServerStatus.GONE}
    driver.terminate(server_id)


def test_terminate_kills_a_process_that_ignores_sigterm_after_the_grace(driver: LocalProcessDriver, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    code = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); open(sys.argv[1], 'w').close(); time.sleep(60)"
    server_id = driver.launch(request(python(code, str(ready))))
    wait_for(ready.exists)

    started = time.monotonic()
    driver.terminate(server_id)

    assert time.monotonic() - started >= GRACE
    assert not is_running(pid_of(server_id))


def test_a_restarted_driver_sees_the_running_instance_and_can_terminate_it(driver: LocalProcessDriver, log_dir: Path) -> None:
    server_id = driver.launch(request(python(SLEEP_FOREVER)))
    restarted = LocalProcessDriver(log_dir, terminate_grace=GRACE)

    assert restarted.state(server_id).status is ServerStatus.RUNNING
    restarted.terminate(server_id)

    assert not is_running(pid_of(server_id))
    assert restarted.state(server_id).status is ServerStatus.FAILED
    assert restarted.state(server_id).reason == "process is gone"


def test_a_restarted_driver_sees_an_instance_that_exited_as_failed(driver: LocalProcessDriver, log_dir: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    code = "import os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.01)"
    server_id = driver.launch(request(python(code, str(go))))
    restarted = LocalProcessDriver(log_dir, terminate_grace=GRACE)

    go.touch()

    wait_for(lambda: restarted.state(server_id).status is ServerStatus.FAILED)
    assert restarted.state(server_id).reason == "process is gone"


def test_an_id_whose_start_time_differs_is_not_the_process_and_is_never_killed(driver: LocalProcessDriver, log_dir: Path) -> None:
    server_id = driver.launch(request(python(SLEEP_FOREVER)))
    pid, start_time = server_id.split("-")
    reused_id = f"{pid}-{int(start_time) + 1}"
    restarted = LocalProcessDriver(log_dir, terminate_grace=GRACE)

    assert restarted.state(reused_id).status in {ServerStatus.FAILED, ServerStatus.GONE}
    restarted.terminate(reused_id)
    driver.terminate(reused_id)

    assert is_running(int(pid))
    assert driver.state(server_id).status is ServerStatus.RUNNING


@pytest.mark.parametrize("server_id", ["", "abc", "0", "12-ab", "6f1c2a3e-0d1b-4f7a-9a55-0c1d2e3f4a5b"])
def test_an_id_the_driver_cannot_have_made_is_gone(driver: LocalProcessDriver, server_id: str) -> None:
    assert driver.state(server_id).status is ServerStatus.GONE
    driver.terminate(server_id)


def test_a_missing_executable_is_a_driver_error(driver: LocalProcessDriver, tmp_path: Path) -> None:
    with pytest.raises(DriverError, match=r"cannot start .*no-such-program.*No such file"):
        driver.launch(request(ProcessSpec(command=[str(tmp_path / "no-such-program")])))


def test_a_file_that_is_not_executable_is_a_driver_error(driver: LocalProcessDriver, tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)

    with pytest.raises(DriverError, match=r"cannot start .*script\.sh.*Permission denied"):
        driver.launch(request(ProcessSpec(command=[str(script)])))


@pytest.mark.parametrize(
    ("spec", "message"),
    [(None, "has no process to run"), (ProcessSpec(command=[]), "command is empty")],
)
def test_a_request_without_a_command_is_a_driver_error(driver: LocalProcessDriver, spec: ProcessSpec | None, message: str) -> None:
    with pytest.raises(DriverError, match=message):
        driver.launch(request(spec))


def test_an_instance_id_or_a_project_that_cannot_name_a_log_file_is_a_driver_error(driver: LocalProcessDriver) -> None:
    with pytest.raises(DriverError, match="the instance id '../escape' cannot name a log file"):
        driver.launch(request(python(SLEEP_FOREVER), instance_id="../escape"))
    with pytest.raises(DriverError, match="the project '..' cannot name a log file"):
        driver.launch(request(python(SLEEP_FOREVER), project=".."))


def test_find_servers_finds_the_groups_instances_by_their_marks_not_their_children_nor_other_groups_or_log_dirs(
    driver: LocalProcessDriver, log_dir: Path, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    # The workload starts a child of its own, which inherits the marks but is no instance.
    code = (
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "open(sys.argv[1], 'w').close()\n"
        "time.sleep(60)"
    )
    web = driver.launch(request(python(code, str(ready)), "i-1"))
    # NOTE: the kernel lets a launch return before the new program's environment is readable: each says when it runs.
    running = "import sys, time\nopen(sys.argv[1], 'w').close()\ntime.sleep(60)"
    api_ready, theirs_ready = tmp_path / "api-ready", tmp_path / "theirs-ready"
    api = driver.launch(
        LaunchRequest(project="p1", group_id="api", instance_id="i-2", metrics_addr="", process=python(running, str(api_ready)))
    )
    other_dir = LocalProcessDriver(tmp_path / "other-logs", terminate_grace=GRACE)
    theirs = other_dir.launch(request(python(running, str(theirs_ready)), "i-3"))
    wait_for(lambda: ready.exists() and api_ready.exists() and theirs_ready.exists())
    try:
        assert driver.find_servers("p1", "web") == [FoundServer("i-1", web)]
        assert driver.find_servers("p1", "api") == [FoundServer("i-2", api)]
        assert other_dir.find_servers("p1", "web") == [FoundServer("i-3", theirs)]
        assert LocalProcessDriver(log_dir).find_servers("p1", "web") == [FoundServer("i-1", web)], "a restarted driver finds it too"
    finally:
        other_dir.terminate(theirs)


def test_find_servers_never_finds_the_instance_of_another_projects_group_of_the_same_id(
    driver: LocalProcessDriver, tmp_path: Path
) -> None:
    # NOTE: the kernel lets the launch return before the new program's environment is readable: each says when it runs.
    code = "import sys, time\nopen(sys.argv[1], 'w').close()\ntime.sleep(60)"
    mine = driver.launch(request(python(code, str(tmp_path / "mine")), "i-1", project="p1"))
    theirs = driver.launch(request(python(code, str(tmp_path / "theirs")), "i-1", project="p2"))
    wait_for(lambda: (tmp_path / "mine").exists() and (tmp_path / "theirs").exists())

    assert driver.find_servers("p1", "web") == [FoundServer("i-1", mine)]
    assert driver.find_servers("p2", "web") == [FoundServer("i-1", theirs)]
    assert driver.find_servers("p3", "web") == []


def test_find_servers_leaves_out_an_instance_that_exited(driver: LocalProcessDriver) -> None:
    server_id = driver.launch(request(python("pass")))
    wait_for(lambda: driver.state(server_id).status is ServerStatus.FAILED)

    assert driver.find_servers("p1", "web") == []


def test_the_otel_resource_attributes_of_the_launch_config_come_first_and_ours_last_so_they_win() -> None:
    from services.group.drivers.local import otel_resource_attributes

    request = LaunchRequest(project="p1", group_id="web", instance_id="i-1", metrics_addr="", process=python(SLEEP_FOREVER))
    given = "deployment.environment=prod,autoscale.group=forged"
    assert otel_resource_attributes(given, request) == (
        "deployment.environment=prod,autoscale.group=forged,"
        "autoscale.project=p1,autoscale.group=web,autoscale.instance=i-1,service.instance.id=i-1"
    )


def test_the_cpu_seconds_of_an_instance_grow_while_it_computes_and_are_unknown_for_another_process(
    driver: LocalProcessDriver,
) -> None:
    server_id = driver.launch(request(python("import time\nend = time.time() + 60\nwhile time.time() < end: pass")))
    first = driver.cpu_readings([server_id])[server_id]
    wait_for(lambda: _cpu_seconds(driver, server_id) > first.cpu_seconds + 0.05)
    assert driver.cpu_readings([server_id])[server_id].time > first.time
    pid, start_time = server_id.split("-")
    assert driver.cpu_readings([f"{pid}-{int(start_time) + 1}", "abc"]) == {}


def test_the_cpu_seconds_of_an_instance_count_the_children_it_runs(driver: LocalProcessDriver) -> None:
    """A shell that runs the busy work as a child (a wrapper script, a pre-fork server's workers) is measured too."""
    busy = f"{sys.executable} -c 'import time\nend = time.time() + 60\nwhile time.time() < end: pass'"
    server_id = driver.launch(request(ProcessSpec(command=["/bin/sh", "-c", f"{busy}; true"])))
    first = driver.cpu_readings([server_id])[server_id].cpu_seconds
    wait_for(lambda: _cpu_seconds(driver, server_id) > first + 0.05)


def _cpu_seconds(driver: LocalProcessDriver, server_id: str) -> float:
    reading = driver.cpu_readings([server_id]).get(server_id)
    return reading.cpu_seconds if reading is not None else 0.0
