"""Issue 15 end to end: the chain sample → alarm → policy → group under authentication, against real processes and grpcurl.

Once under Keystone tokens (`autoscale up --auth keystone` and the real Keystone of tests/keystone_server.py), once
under API keys across four `autoscale serve` processes sharing one PostgreSQL database, as the README's "Securing a
deployment" tells operators to deploy them: projects kept apart, roles held, no anonymous caller, peers trusted only
with a service key, and a revoked service key refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import postgres_schema_url, postgres_skip_reason
from tests.e2e.harness import (
    ALARM,
    AUTOSCALE,
    FAST,
    GROUP,
    METRICS,
    POLICY,
    AutoscaleProcess,
    GrpcurlError,
    autoscale,
    bearer,
    free_port,
    grpcurl,
    scale_out_through_the_chain,
    wait_healthy,
    wait_until,
)
from tests.keystone_server import KeystoneServer

pytestmark = pytest.mark.e2e

SERVICES = ("metrics", "alarm", "policy", "group")

LISTS = {
    "metrics": (f"{METRICS}/ListMetrics", "metrics"),
    "alarm": (f"{ALARM}/ListAlarms", "alarms"),
    "policy": (f"{POLICY}/ListPolicies", "policies"),
    "group": (f"{GROUP}/ListGroups", "groups"),
}
"""Per service, a List method and the field of its answer that lists the project's resources."""

GETS = {
    "alarm": (f"{ALARM}/GetAlarm", {"name": "alarms/high-cpu"}),
    "policy": (f"{POLICY}/GetPolicy", {"name": "policies/scale-out"}),
    "group": (f"{GROUP}/GetGroup", {"name": "groups/web"}),
}
"""Per service, a Get of the resource scale_out_through_the_chain made."""

ADJUST = (f"{GROUP}/Adjust", {"name": "groups/web", "adjustmentType": "ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY", "adjustment": 1})


def refusal(address: str, method: str, body: dict[str, Any], headers: Sequence[str]) -> GrpcurlError:
    """The error of a call that must fail."""
    with pytest.raises(GrpcurlError) as failure:
        grpcurl(address, method, body, headers=headers)
    return failure.value


def assert_sees_nothing_of_the_chain(addr: dict[str, str], headers: Sequence[str]) -> None:
    """The caller of `headers` lists nothing, and each resource the chain made is NOT_FOUND to it, as a missing one."""
    for service, (method, field) in LISTS.items():
        assert grpcurl(addr[service], method, {}, headers=headers).get(field, []) == [], method
    for service, (method, body) in GETS.items():
        assert refusal(addr[service], method, body, headers).code == "NOT_FOUND", method


def remove_the_chain(addr: dict[str, str], headers: Sequence[str]) -> None:
    """Delete what scale_out_through_the_chain made, so that no instance outlives the test (a deleted group's stop)."""
    grpcurl(addr["alarm"], f"{ALARM}/DeleteAlarm", {"name": "alarms/high-cpu"}, headers=headers)
    grpcurl(addr["group"], f"{GROUP}/DeleteGroup", {"name": "groups/web", "force": True}, headers=headers)


# Keystone: `autoscale up --auth keystone`.


@dataclass(frozen=True)
class KeystoneMesh:
    """`autoscale up` under Keystone tokens, with the chain of p1 made and scaled out by a p1 admin's token."""

    address: str
    keystone: KeystoneServer
    admin: str
    """The p1 admin's project-scoped token."""

    @property
    def addr(self) -> dict[str, str]:
        """Every service's address: the one process's."""
        return dict.fromkeys(SERVICES, self.address)


@pytest.fixture(scope="module")
def keystone_mesh(keystone: KeystoneServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeystoneMesh]:
    folder = tmp_path_factory.mktemp("keystone-up")
    address = f"127.0.0.1:{free_port()}"
    args = ["up", "--listen", address, "--database-url", f"sqlite:///{folder / 'up.db'}", "--instance-log-dir",
            str(folder / "instances"), "--auth", "keystone", "--keystone-url", keystone.url, "--enable-process-driver", *FAST]
    with autoscale(args, folder / "up.log", address):
        mesh = KeystoneMesh(address, keystone, keystone.project_token("p1-admin"))
        scale_out_through_the_chain(mesh.addr, headers=bearer(mesh.admin))
        yield mesh
        remove_the_chain(mesh.addr, bearer(mesh.admin))


def test_a_p1_admins_keystone_token_scales_p1s_group_out_through_the_chain(keystone_mesh: KeystoneMesh) -> None:
    # The fixture ran the chain (sample → alarm → policy → Adjust) with the admin's token; the group holds its outcome.
    group = grpcurl(keystone_mesh.address, *GETS["group"], headers=bearer(keystone_mesh.admin))["group"]
    assert group["desired_capacity"] == 2


def test_a_p2_users_keystone_token_sees_nothing_of_p1(keystone_mesh: KeystoneMesh) -> None:
    assert_sees_nothing_of_the_chain(keystone_mesh.addr, bearer(keystone_mesh.keystone.project_token("p2-member")))


def test_a_p1_readers_keystone_token_reads_p1_but_is_denied_adjust(keystone_mesh: KeystoneMesh) -> None:
    reader = bearer(keystone_mesh.keystone.project_token("p1-reader"))
    groups = grpcurl(keystone_mesh.address, f"{GROUP}/ListGroups", {}, headers=reader)["groups"]
    assert [group["name"] for group in groups] == ["groups/web"]
    denied = refusal(keystone_mesh.address, *ADJUST, reader)
    assert denied.code == "PERMISSION_DENIED" and "member role" in denied.message


def test_a_call_without_a_token_is_unauthenticated(keystone_mesh: KeystoneMesh) -> None:
    for service, (method, _) in LISTS.items():
        assert refusal(keystone_mesh.address, method, {}, headers=()).code == "UNAUTHENTICATED", service
    assert refusal(keystone_mesh.address, *ADJUST, headers=()).code == "UNAUTHENTICATED"


def test_the_audit_names_keystone_users_by_their_user_id_allowed_or_denied(keystone_mesh: KeystoneMesh) -> None:
    keystone = keystone_mesh.keystone
    p1 = keystone.projects["p1"]
    refusal(keystone_mesh.address, *ADJUST, bearer(keystone.project_token("p1-reader")))
    events = grpcurl(keystone_mesh.address, "autoscale.v1.AuditService/ListAuditEvents", {"parent": f"projects/{p1}"},
                     headers=bearer(keystone_mesh.admin))["events"]
    seen = {(e["principal"], e["method"], e.get("resource", ""), e["code"]) for e in events}
    admin, reader = f"user:{keystone.users['p1-admin'].id}", f"user:{keystone.users['p1-reader'].id}"
    assert {
        (admin, f"/{GROUP}/CreateLaunchConfig", "launchConfigs/sleeper", "OK"),
        (admin, f"/{GROUP}/CreateGroup", "groups/web", "OK"),
        (admin, f"/{POLICY}/CreatePolicy", "policies/scale-out", "OK"),
        (admin, f"/{ALARM}/CreateAlarm", "alarms/high-cpu", "OK"),
        (reader, f"/{GROUP}/Adjust", "groups/web", "PERMISSION_DENIED"),
    } <= seen
    assert {e["project"] for e in events} == {p1}
    # The chain's own Adjust is the mesh's (a peer's), not a user's call: it is no audit event.
    assert not [e for e in events if e["method"] == f"/{GROUP}/Adjust" and e["code"] == "OK"]


# API keys: four `autoscale serve` processes on one PostgreSQL database.


def keys_command(*args: str, database_url: str) -> str:
    """Run `autoscale keys ARGS` on the deployment's database; what it printed on stdout (a new key's token)."""
    completed = subprocess.run([AUTOSCALE, "keys", *args, "--database-url", database_url], capture_output=True, text=True,
                               timeout=60)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def key_id(token: str) -> str:
    """The public id of an API key (`ask_<id>_<secret>`), which `autoscale keys revoke` takes."""
    return token.split("_")[1]


@pytest.fixture(scope="module")
def shared_database() -> Iterator[str]:
    """One PostgreSQL schema for the deployment's processes and its keys (the README's advice for services deployed apart)."""
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    with postgres_schema_url() as url:
        yield url


@contextmanager
def four_serve_processes(database_url: str, peer_token: str, folder: Path) -> Iterator[dict[str, str]]:
    """Metrics, alarm, policy and group, each an `autoscale serve --auth keys --peer-token` process on `database_url`,
    started together; yields their addresses, and checks at the end that each stopped cleanly."""
    addr = {name: f"127.0.0.1:{free_port()}" for name in SERVICES}
    peers = [f"--{name}-addr={address}" for name, address in addr.items()]
    processes: list[AutoscaleProcess] = []
    try:
        for name, address in addr.items():
            driver = ["--enable-process-driver"] if name == "group" else []
            args = ["serve", name, "--listen", address, "--database-url", database_url, "--auth", "keys", "--peer-token", peer_token,
                    "--instance-log-dir", str(folder / "instances"), *peers, *driver, *FAST]
            processes.append(AutoscaleProcess(args, folder / f"{name}.log"))
        for address in addr.values():
            wait_healthy(address)
        yield addr
    finally:
        codes = [process.stop() for process in processes]
    assert codes == [0, 0, 0, 0], "\n".join(process.log() for process in processes)


@dataclass(frozen=True)
class KeysMesh:
    """Four `serve` processes under API keys, with the chain of p1 made and scaled out by a p1 admin's key."""

    addr: dict[str, str]
    keys: dict[str, str]
    """Tokens: `service` (every process's --peer-token), `p1-admin`, `p2-admin`."""


@pytest.fixture(scope="module")
def keys_mesh(shared_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeysMesh]:
    keys = {
        "service": keys_command("create", "--service", database_url=shared_database),
        "p1-admin": keys_command("create", "--project", "p1", "--role", "admin", database_url=shared_database),
        "p2-admin": keys_command("create", "--project", "p2", "--role", "admin", database_url=shared_database),
    }
    with four_serve_processes(shared_database, keys["service"], tmp_path_factory.mktemp("keys-serve")) as addr:
        scale_out_through_the_chain(addr, headers=bearer(keys["p1-admin"]))
        yield KeysMesh(addr, keys)
        remove_the_chain(addr, bearer(keys["p1-admin"]))


@pytest.mark.postgres
def test_a_p1_admins_api_key_scales_p1s_group_out_across_four_serve_processes(keys_mesh: KeysMesh) -> None:
    # The fixture ran the chain with the admin's key; each hop was a peer call with the service key, in p1.
    group = grpcurl(keys_mesh.addr["group"], *GETS["group"], headers=bearer(keys_mesh.keys["p1-admin"]))["group"]
    assert group["desired_capacity"] == 2


@pytest.mark.postgres
def test_a_p2_api_key_sees_nothing_of_p1_in_any_of_the_four_processes(keys_mesh: KeysMesh) -> None:
    assert_sees_nothing_of_the_chain(keys_mesh.addr, bearer(keys_mesh.keys["p2-admin"]))


@pytest.mark.postgres
def test_a_users_api_key_even_an_admins_is_denied_the_internal_sample_feed(keys_mesh: KeysMesh) -> None:
    feed = "autoscale.internal.v1.SampleFeedService/NotifySamples"
    denied = refusal(keys_mesh.addr["alarm"], feed, {}, bearer(keys_mesh.keys["p1-admin"]))
    assert denied.code == "PERMISSION_DENIED" and "only by autoscale's own services" in denied.message
    # The same call with the service key is let in: the refusal is the key's, not the call's.
    assert grpcurl(keys_mesh.addr["alarm"], feed, {}, headers=bearer(keys_mesh.keys["service"])) == {}


def test_serve_with_api_keys_and_peers_elsewhere_but_no_peer_token_exits_2_naming_the_flag(tmp_path: Path) -> None:
    args = ["serve", "alarm", "--listen", f"127.0.0.1:{free_port()}", "--auth", "keys", "--database-url",
            f"sqlite:///{tmp_path / 'alarm.db'}", "--metrics-addr", f"127.0.0.1:{free_port()}", "--policy-addr",
            f"127.0.0.1:{free_port()}"]
    # An AUTOSCALE_PEER_TOKEN of the environment running the tests would stand in for the missing flag.
    environment = {name: value for name, value in os.environ.items() if name != "AUTOSCALE_PEER_TOKEN"}
    completed = subprocess.run([AUTOSCALE, *args], capture_output=True, text=True, timeout=60, env=environment)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "--peer-token" in lines[0], completed.stderr


@pytest.mark.postgres
def test_a_revoked_peer_token_is_refused_by_every_process_within_a_second_and_the_chain_fails_saying_so(
    postgres_url: str, tmp_path: Path,
) -> None:
    # A mesh of its own: once its service key is revoked, no peer call of it works any more.
    service = keys_command("create", "--service", database_url=postgres_url)
    admin = bearer(keys_command("create", "--project", "p1", "--role", "admin", database_url=postgres_url))
    with four_serve_processes(postgres_url, service, tmp_path) as addr:
        _make_an_idle_chain(addr, admin)
        as_a_peer_in_p1 = (*bearer(service), "x-autoscale-project: p1")
        for name, (method, _) in LISTS.items():  # the key works before: each process lets its peers in
            grpcurl(addr[name], method, {}, headers=as_a_peer_in_p1)

        keys_command("revoke", key_id(service), database_url=postgres_url)
        revoked_at = time.monotonic()

        rounds: list[float] = []

        def refused_by_every_process() -> bool:
            began = time.monotonic()
            refused = _refuses_every_peer_call(addr, as_a_peer_in_p1)
            rounds.append(time.monotonic() - began)
            return refused

        wait_until(refused_by_every_process, 15, "every process to refuse the revoked service key")
        # Each process reads the usable keys every second; the refusal is seen at most a round of grpcurl calls (and the
        # pause between two) later, however long a round takes on this machine.
        assert time.monotonic() - revoked_at < 1.5 + 2 * max(rounds), rounds

        # Users' calls still answer; the alarm's ExecutePolicy, a peer call with the revoked key, is refused by the policy
        # service, and the alarm's history says so.
        accepted = grpcurl(addr["metrics"], f"{METRICS}/PutSamples", {
            "series": [{"metric": "cpu_util", "dimensions": {"group": "web"}, "points": [{"value": 95}]}],
        }, headers=admin)
        assert accepted["accepted_points"] == "1"
        grpcurl(addr["alarm"], f"{ALARM}/SetAlarmState", {"name": "alarms/high-cpu", "state": "ALARM_STATE_ALARM", "reason": "test"},
                headers=admin)

        def failed_action() -> dict[str, Any] | None:
            entries = grpcurl(addr["alarm"], f"{ALARM}/ListAlarmHistory", {"name": "alarms/high-cpu"}, headers=admin)["entries"]
            return next((e for e in entries if e["type"] == "ALARM_HISTORY_TYPE_ACTION"), None)

        action = wait_until(failed_action, 10, "the alarm's action to be recorded")
        assert not action.get("action_succeeded")
        assert "ExecutePolicy failed: UNAUTHENTICATED" in action["reason"] and "revoked" in action["reason"]
        group = grpcurl(addr["group"], *GETS["group"], headers=admin)["group"]
        assert group.get("desired_capacity", 0) == 0
        # A user's ExecutePolicy is let in, and its Adjust, a peer call, refused: the user learns it is the service's key.
        failed = refusal(addr["policy"], f"{POLICY}/ExecutePolicy", {"name": "policies/scale-out"}, admin)
        assert failed.code == "INTERNAL" and "--peer-token" in failed.message and "revoked" in failed.message


def _refuses_every_peer_call(addr: dict[str, str], headers: Sequence[str]) -> bool:
    for name, (method, _) in LISTS.items():
        try:
            grpcurl(addr[name], method, {}, headers=headers)
        except GrpcurlError as error:
            if error.code != "UNAUTHENTICATED":
                raise
            continue
        return False
    return True


def _make_an_idle_chain(addr: dict[str, str], headers: Sequence[str]) -> None:
    """p1's group web of no instance (nothing to stop once peers are refused), policy scale-out and alarm high-cpu."""
    grpcurl(addr["group"], f"{GROUP}/CreateLaunchConfig", {
        "launchConfigId": "sleeper", "launchConfig": {"process": {"command": [sys.executable, "-c", "import time; time.sleep(600)"]}},
    }, headers=headers)
    grpcurl(addr["group"], f"{GROUP}/CreateGroup", {
        "groupId": "web", "group": {"launchConfig": "launchConfigs/sleeper", "minSize": 0, "maxSize": 3, "cooldown": "0s"},
    }, headers=headers)
    grpcurl(addr["policy"], f"{POLICY}/CreatePolicy", {
        "policyId": "scale-out",
        "policy": {"group": "groups/web", "adjustmentType": "ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY", "scalingAdjustment": 1},
    }, headers=headers)
    grpcurl(addr["alarm"], f"{ALARM}/CreateAlarm", {
        "alarmId": "high-cpu",
        "alarm": {
            "thresholdRule": {
                "metric": "cpu_util", "dimensions": {"group": "web"}, "statistic": "STATISTIC_AVERAGE",
                "comparisonOperator": "COMPARISON_OPERATOR_GREATER_THAN", "threshold": 80, "period": "60s",
                "evaluationPeriods": 1,
            },
            "alarmActions": ["policies/scale-out"],
        },
    }, headers=headers)
