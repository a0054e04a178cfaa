"""Parsing of command-line values (no server: bad values are usage errors before any call)."""

from __future__ import annotations

import pytest

from app.cli.output import enum_label
from app.cli.params import format_duration, parse_duration, resource_name
from autoscale.v1 import alarm_pb2, group_pb2
from tests.app.cli.cli_support import run

UNREACHABLE = "127.0.0.1:1"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("90d", 90 * 86400.0),
        ("1d12h", 129600.0),
        ("1m30s", 90.0),
        ("0s", 0.0),
        ("0", 0.0),
        ("45", 45.0),
        ("1.5s", 1.5),
        ("2.5", 2.5),
        (" 10s ", 10.0),
    ],
)
def test_parse_duration_reads_units_and_bare_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "5x", "m5", "1w", "1h1d", "5 m", "-5", "-1s", "nan", "inf", "1h-30m", "30s5m"])
def test_parse_duration_rejects_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (30, "30s"), (300, "5m"), (3600, "1h"), (5400, "1h30m"), (3661, "1h1m1s"), (1.5, "1.5s")],
)
def test_format_duration_writes_what_parse_duration_reads(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


def test_a_bad_duration_is_a_usage_error_naming_the_option() -> None:
    result = run("policy", "create", "p", "--group", "g", "--type", "change", "--adjustment", "1", "--cooldown", "5 minutes",
                 "--addr", UNREACHABLE)
    assert result.exit_code == 2
    assert "--cooldown" in result.stderr
    assert "not a duration" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("metrics", "put", "cpu", "1", "--dimension", "group"),
        ("group", "create", "web", "--launch-config", "lc", "--min", "0", "--max", "1", "--tag", "=web"),
        ("launch-config", "create", "lc", "--command", "sleep 1", "--env", "MODE"),
    ],
)
def test_a_key_value_option_without_equals_is_a_usage_error_naming_the_option(args: tuple[str, ...]) -> None:
    result = run(*args, "--addr", UNREACHABLE)
    assert result.exit_code == 2
    assert "expected KEY=VALUE" in result.stderr
    assert args[-2] in result.stderr


def test_a_value_may_itself_contain_equals() -> None:
    from app.cli.params import KEY_VALUE

    assert KEY_VALUE.convert("query=a=b", None, None) == ("query", "a=b")
    assert KEY_VALUE.convert("empty=", None, None) == ("empty", "")


def test_a_bad_time_is_a_usage_error_naming_the_option() -> None:
    result = run("metrics", "put", "cpu", "1", "--time", "yesterday", "--addr", UNREACHABLE)
    assert result.exit_code == 2
    assert "--time" in result.stderr


def test_launch_config_create_wants_exactly_one_kind_of_instance() -> None:
    neither = run("launch-config", "create", "lc", "--addr", UNREACHABLE)
    both = run("launch-config", "create", "lc", "--command", "sleep 1", "--image", "ubuntu", "--addr", UNREACHABLE)
    assert neither.exit_code == 2 and "give either a local process" in neither.stderr
    assert both.exit_code == 2 and "not both" in both.stderr


def test_an_update_without_any_field_option_is_a_usage_error_not_a_reset() -> None:
    result = run("group", "update", "web", "--addr", UNREACHABLE)
    assert result.exit_code == 2
    assert "nothing to update" in result.stderr


def test_resource_name_accepts_an_id_or_a_full_name() -> None:
    assert resource_name("groups", "web") == "groups/web"
    assert resource_name("groups", "groups/web") == "groups/web"


def test_enum_label_drops_the_enum_prefix_for_people() -> None:
    assert enum_label(alarm_pb2.AlarmState.DESCRIPTOR, alarm_pb2.ALARM_STATE_INSUFFICIENT_DATA) == "insufficient-data"
    assert enum_label(group_pb2.InstanceState.DESCRIPTOR, group_pb2.INSTANCE_STATE_RUNNING) == "running"
    assert enum_label(group_pb2.InstanceState.DESCRIPTOR, 99) == "99"
