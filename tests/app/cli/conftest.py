"""Fixtures of the command-line tests: a server with the four services, a launch config, a group."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.app.cli.cli_support import SLEEPER_COMMAND, Invoke, invoker, serving
from tests.fake_cloud import FakeCloud


@pytest.fixture
def group_addr(sqlite_url, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Address of a server with the four services (deleting a policy asks the alarm service, a group the policy service)."""
    with serving(("metrics", "alarm", "policy", "group"), sqlite_url, str(tmp_path)) as addr:
        yield addr


@pytest.fixture
def invoke(group_addr: str) -> Invoke:
    """Runs `autoscale ...` against the four services."""
    return invoker(group_addr)


@pytest.fixture
def cloud_invoke(sqlite_url, tmp_path, fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:  # type: ignore[no-untyped-def]
    """Runs `autoscale ...` against the four services, whose OpenStack driver boots into the fake cloud (`--openstack-cloud
    fake` of a clouds.yaml)."""
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(fake_cloud.clouds_yaml(tmp_path / "clouds.yaml", cloud="fake")))
    with serving(("metrics", "alarm", "policy", "group"), sqlite_url, str(tmp_path), openstack_cloud="fake") as addr:
        yield invoker(addr)


@pytest.fixture
def mesh_invoke(sqlite_url, tmp_path) -> Iterator[Invoke]:  # type: ignore[no-untyped-def]
    """Runs `autoscale ...` against all four services on one server, as `autoscale up` serves them."""
    with serving(("metrics", "alarm", "policy", "group"), sqlite_url, str(tmp_path)) as addr:
        yield invoker(addr)


@pytest.fixture
def launch_config(invoke: Invoke) -> Iterator[str]:
    """A launch config `sleeper` whose process waits; deleted afterwards."""
    # --arg keeps each word verbatim, whatever the interpreter's path holds.
    arguments = [word for argument in SLEEPER_COMMAND for word in ("--arg", argument)]
    result = invoke("launch-config", "create", "sleeper", *arguments)
    assert result.exit_code == 0, result.output
    yield "sleeper"
    invoke("launch-config", "delete", "sleeper")


@pytest.fixture
def web_group(invoke: Invoke, launch_config: str) -> Iterator[str]:
    """A group `web` of min 0 and max 5 (nothing starts); deleted afterwards."""
    result = invoke("group", "create", "web", "--launch-config", launch_config, "--min", "0", "--max", "5")
    assert result.exit_code == 0, result.output
    yield "web"
    invoke("group", "delete", "web")
