"""`autoscale keys create|list|revoke` on the deployment's database, and `--token` on the client commands."""

from __future__ import annotations

import json
from dataclasses import replace

from autoscale.config import Settings
from services.registry import builders
from tests.app.cli.cli_support import run
from tests.support import running_server


def _created(database_url: str, *args: str) -> str:
    result = run("keys", "create", *args, "--database-url", database_url)
    assert result.exit_code == 0, result.output
    assert "shown this once" in result.stderr
    return result.stdout.strip()


def test_create_prints_the_key_alone_on_stdout_and_list_never_shows_it(sqlite_url: str) -> None:
    token = _created(sqlite_url, "--project", "p1", "--role", "reader", "--expires", "30d", "--description", "dashboards")
    assert token.startswith("ask_") and "\n" not in token
    listed = run("keys", "list", "--database-url", sqlite_url)
    assert listed.exit_code == 0
    assert token.split("_")[1] in listed.stdout and "dashboards" in listed.stdout and "active" in listed.stdout
    assert token.split("_", 2)[2] not in listed.stdout


def test_list_filters_by_project_and_prints_json(sqlite_url: str) -> None:
    _created(sqlite_url, "--project", "p1", "--role", "member")
    _created(sqlite_url, "--project", "p2", "--role", "admin")
    _created(sqlite_url, "--service")
    keys = json.loads(run("keys", "list", "--project", "p2", "--json", "--database-url", sqlite_url).stdout)
    assert [(key["project"], key["role"], key["state"]) for key in keys] == [("p2", "admin", "active")]
    every = json.loads(run("keys", "list", "--json", "--database-url", sqlite_url).stdout)
    assert sorted(key["role"] for key in every) == ["admin", "member", "service"]


def test_revoke_marks_the_key_revoked_and_an_unknown_id_is_named(sqlite_url: str) -> None:
    token = _created(sqlite_url, "--project", "p1", "--role", "member")
    key_id = token.split("_")[1]
    assert run("keys", "revoke", key_id, "--database-url", sqlite_url).exit_code == 0
    keys = json.loads(run("keys", "list", "--json", "--database-url", sqlite_url).stdout)
    assert keys[0]["state"] == "revoked" and keys[0]["revokeTime"]
    missing = run("keys", "revoke", "000000000000", "--database-url", sqlite_url)
    assert missing.exit_code == 1 and "no key 000000000000" in missing.stderr


def test_create_refuses_incomplete_or_contradictory_options(sqlite_url: str) -> None:
    assert "give --project and --role" in run("keys", "create", "--project", "p1", "--database-url", sqlite_url).stderr
    assert "neither --project nor --role" in run("keys", "create", "--service", "--role", "admin", "--database-url", sqlite_url).stderr
    bad = run("keys", "create", "--project", "a/b", "--role", "reader", "--database-url", sqlite_url)
    assert bad.exit_code == 2 and "is not a project" in bad.stderr
    assert run("keys", "create", "--project", "p1", "--role", "owner", "--database-url", sqlite_url).exit_code == 2


def test_client_commands_send_the_token_from_the_flag_or_the_environment(sqlite_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    token = _created(sqlite_url, "--project", "p1", "--role", "reader")
    settings = Settings(database_url=sqlite_url, auth="keys", instance_log_dir=str(tmp_path))
    with running_server(builders(), replace(settings)) as (server, _):
        addr = f"127.0.0.1:{server.port}"
        refused = run("group", "list", "--addr", addr)
        assert refused.exit_code == 1
        assert "UNAUTHENTICATED" in refused.stderr and "--token" in refused.stderr
        assert run("group", "list", "--addr", addr, "--token", token).exit_code == 0
        assert run("group", "list", "--addr", addr, env={"AUTOSCALE_TOKEN": token}).exit_code == 0
        denied = run("group", "adjust", "web", "--type", "change", "--adjustment", "1", "--addr", addr, "--token", token)
        assert denied.exit_code == 1 and "PERMISSION_DENIED" in denied.stderr


def test_a_database_that_cannot_be_reached_is_told_in_one_line() -> None:
    result = run("keys", "list", "--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert result.exit_code == 1
    assert "cannot use the database postgresql+psycopg://nobody@127.0.0.1:1/x" in result.stderr and "Traceback" not in result.output
