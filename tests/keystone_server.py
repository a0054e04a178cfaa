"""A real Keystone for the tests: installed once per machine in a virtualenv of its own, served by uWSGI on loopback.

`keystone_venv` makes (or reuses) the virtualenv under the user's cache directory
(`$XDG_CACHE_HOME/autoscale-tests/`, a folder per pinned set of requirements, made under a file lock so that
concurrent test runs install it once). `started_keystone` configures a Keystone in a folder of its own (SQLite, Fernet
and credential keys), bootstraps it, serves it, and fills it with two projects and their users. What cannot be done
raises KeystoneUnavailable, naming the step that failed: the fixtures turn it into a skip.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keystoneauth1 import session
from keystoneauth1.identity import v3

from tests.peer_support import PeerUnavailable, await_answer, cached_venv, free_port, run_step, stop_process

KEYSTONE_REQUIREMENTS = ("keystone==30.0.0", "uwsgi==2.0.31")
"""What the virtualenv holds: releases that serve on Python 3.11 here (keystone 30.0.0 is 2026.1 "Gazpacho")."""

INSTALL_TIMEOUT = 900.0
"""Seconds pip may take (about 50 s without pip's cache, uWSGI being compiled)."""

START_TIMEOUT = 60.0
"""Seconds a uWSGI process may take to answer /v3."""

ADMIN = "admin"
DOMAIN = "default"

PROJECTS = ("p1", "p2")
USERS = {
    "p1-reader": ("p1", "reader"),
    "p1-member": ("p1", "member"),
    "p1-admin": ("p1", "admin"),
    "p1-observer": ("p1", "observer"),
    "p2-member": ("p2", "member"),
}
"""Each user and its one role assignment. `observer` is a role of the deployment's own, none of Keystone's defaults."""

DOMAIN_READER = "domain-reader"
"""A user whose only role is on the domain: its tokens can be scoped to the domain, never to a project."""


class KeystoneUnavailable(PeerUnavailable):
    """Keystone could not be installed or started here; the message says which step failed."""


def _run(step: str, command: list[str], timeout: float, env: dict[str, str] | None = None) -> None:
    run_step(step, command, timeout, KeystoneUnavailable, env)


def keystone_venv(root: Path) -> Path:
    """The virtualenv holding KEYSTONE_REQUIREMENTS under `root`, made the first time and reused after."""
    return cached_venv(root, "keystone", KEYSTONE_REQUIREMENTS, INSTALL_TIMEOUT, KeystoneUnavailable)


@dataclass
class KeystoneUser:
    name: str
    id: str
    password: str


@dataclass
class KeystoneServer:
    """A running Keystone and what the tests find in it."""

    url: str
    """Its v3 endpoint."""
    venv: Path
    folder: Path
    projects: dict[str, str] = field(default_factory=dict)
    """Project ids by name."""
    users: dict[str, KeystoneUser] = field(default_factory=dict)
    admin: KeystoneUser | None = None
    _session: session.Session = field(default_factory=session.Session)

    def _issue(self, user: str, scope: dict[str, Any] | str | None) -> str:
        account = self.admin if user == ADMIN and self.admin else self.users[user]
        identity = {"methods": ["password"], "password": {"user": {"id": account.id, "password": account.password}}}
        body: dict[str, Any] = {"auth": {"identity": identity}}
        if scope is not None:
            body["auth"]["scope"] = scope
        response = self._session.post(f"{self.url}/auth/tokens?nocatalog", json=body, authenticated=False)
        token: str = response.headers["X-Subject-Token"]
        return token

    def project_token(self, user: str, project: str | None = None) -> str:
        """A token of `user` scoped to `project` (by default the project its role is on)."""
        return self._issue(user, {"project": {"id": self.projects[project or USERS[user][0]]}})

    def unscoped_token(self, user: str) -> str:
        return self._issue(user, "unscoped")

    def domain_token(self, user: str) -> str:
        return self._issue(user, {"domain": {"id": DOMAIN}})

    def system_token(self) -> str:
        """A token of the bootstrap admin scoped to the whole deployment (`keystone-manage bootstrap` grants that)."""
        return self._issue(ADMIN, {"system": {"all": True}})

    def validate(self, token: str) -> dict[str, Any]:
        """What Keystone says of `token` (GET /v3/auth/tokens, the token validating itself): its user, project, roles."""
        response = self._session.get(
            f"{self.url}/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token}, authenticated=False
        )
        validated: dict[str, Any] = response.json()["token"]
        return validated

    def revoke(self, token: str) -> None:
        """Revoke `token` (DELETE /v3/auth/tokens): Keystone lets a token revoke itself."""
        self._session.delete(f"{self.url}/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token}, authenticated=False)

    @contextmanager
    def another_process(self) -> Iterator[str]:
        """A second uWSGI process serving the same Keystone (same database and keys), to be stopped by a test:
        yields its v3 URL, and stops it at the end if the test has not."""
        with _served(self.venv, self.folder) as url:
            yield url


def _environment(folder: Path) -> dict[str, str]:
    return {**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(folder / "keystone.conf")}


@contextmanager
def _served(venv: Path, folder: Path) -> Iterator[str]:
    """Keystone served by uWSGI on a free loopback port until the block ends; yields its v3 URL."""
    port = free_port()
    log_path = folder / f"uwsgi-{port}.log"
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            [
                str(venv / "bin" / "uwsgi"),
                "--http-socket",
                f"127.0.0.1:{port}",
                "--module",
                "keystone.wsgi.api:application",
                "--master",
                "--processes",
                "1",
                "--threads",
                "4",
                "--need-app",
                "--die-on-term",
                # NOTE: uWSGI's --http-socket closes each connection after its answer without saying so: a client
                # that sends its next request on it at once is reset.
                "--add-header",
                "Connection: close",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=_environment(folder),
            cwd=folder,
        )
    url = f"http://127.0.0.1:{port}/v3"
    try:
        await_answer(url, process, log_path, what="uwsgi serving Keystone", timeout=START_TIMEOUT, unavailable=KeystoneUnavailable)
        yield url
    finally:
        stop_process(process)


def _configure(venv: Path, folder: Path, admin_password: str) -> None:
    (folder / "fernet-keys").mkdir()
    (folder / "credential-keys").mkdir()
    (folder / "keystone.conf").write_text(
        "[DEFAULT]\n"
        f"log_dir = {folder}\n"
        "log_file = keystone.log\n"
        "[database]\n"
        f"connection = sqlite:///{folder / 'keystone.db'}\n"
        "[fernet_tokens]\n"
        f"key_repository = {folder / 'fernet-keys'}\n"
        "[credential]\n"
        f"key_repository = {folder / 'credential-keys'}\n"
        # bcrypt's least work: every user made and every token issued hashes a password.
        "[identity]\n"
        "password_hash_rounds = 4\n"
    )
    manage = [str(venv / "bin" / "keystone-manage"), "--config-file", str(folder / "keystone.conf")]
    owner = ["--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid())]
    env = _environment(folder)
    # Each step starts by importing Keystone (seconds); these three touch different files, so they run side by side.
    with ThreadPoolExecutor(3) as pool:
        steps = [
            pool.submit(_run, "keystone-manage db_sync", [*manage, "db_sync"], 120, env),
            pool.submit(_run, "keystone-manage fernet_setup", [*manage, "fernet_setup", *owner], 60, env),
            pool.submit(_run, "keystone-manage credential_setup", [*manage, "credential_setup", *owner], 60, env),
        ]
        for step in steps:
            step.result()
    # The password goes through the environment, not the command line that `ps` shows.
    _run(
        "keystone-manage bootstrap",
        [*manage, "bootstrap", "--bootstrap-username", ADMIN, "--bootstrap-project-name", ADMIN],
        60,
        {**env, "OS_BOOTSTRAP_PASSWORD": admin_password},
    )


def _populate(server: KeystoneServer, admin_password: str) -> None:
    """Two projects, a user per role of USERS, and DOMAIN_READER, made through Keystone's API as its admin."""
    admin_auth = v3.Password(
        auth_url=server.url,
        username=ADMIN,
        password=admin_password,
        project_name=ADMIN,
        user_domain_id=DOMAIN,
        project_domain_id=DOMAIN,
    )
    admin = session.Session(auth=admin_auth)
    server.admin = KeystoneUser(ADMIN, admin.get_user_id() or "", admin_password)

    def created(collection: str, kind: str, body: dict[str, Any]) -> str:
        identifier: str = admin.post(f"{server.url}/{collection}", json={kind: body}).json()[kind]["id"]
        return identifier

    roles = {role["name"]: role["id"] for role in admin.get(f"{server.url}/roles").json()["roles"]}
    roles["observer"] = created("roles", "role", {"name": "observer"})
    for project in PROJECTS:
        server.projects[project] = created("projects", "project", {"name": project, "domain_id": DOMAIN})
    for name, (project, role) in USERS.items():
        password = secrets.token_urlsafe(16)
        user_id = created("users", "user", {"name": name, "domain_id": DOMAIN, "password": password})
        server.users[name] = KeystoneUser(name, user_id, password)
        admin.put(f"{server.url}/projects/{server.projects[project]}/users/{user_id}/roles/{roles[role]}")
    password = secrets.token_urlsafe(16)
    user_id = created("users", "user", {"name": DOMAIN_READER, "domain_id": DOMAIN, "password": password})
    server.users[DOMAIN_READER] = KeystoneUser(DOMAIN_READER, user_id, password)
    admin.put(f"{server.url}/domains/{DOMAIN}/users/{user_id}/roles/{roles['reader']}")


@contextmanager
def started_keystone(venv: Path, folder: Path) -> Iterator[KeystoneServer]:
    """A Keystone configured in `folder` (empty), served until the block ends, with PROJECTS and USERS in it."""
    admin_password = secrets.token_urlsafe(16)
    _configure(venv, folder, admin_password)
    with _served(venv, folder) as url:
        server = KeystoneServer(url=url, venv=venv, folder=folder)
        try:
            _populate(server, admin_password)
        except Exception as error:  # any failure to fill it means: this Keystone is unusable, say why
            raise KeystoneUnavailable(f"filling Keystone with projects and users failed: {error}") from error
        yield server
