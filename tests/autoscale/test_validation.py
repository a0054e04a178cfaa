"""Field rules shared by the services."""

import math

import pytest

from autoscale.errors import InvalidArgument
from autoscale.netguard import AddressGuard, parse_networks
from autoscale.v1 import common_pb2
from autoscale.validation import (
    MAX_CAUSE_LENGTH,
    Violations,
    check_action_target,
    check_enum,
    check_finite,
    check_id,
    check_text,
    check_text_list,
    check_text_map,
    parse_name,
    within_cause_limit,
)


@pytest.mark.parametrize("value", ["web", "a", "web-2", "a" + "b" * 62])
def test_valid_ids_pass(value):
    violations = Violations()
    check_id(violations, "group_id", value)
    assert not violations


@pytest.mark.parametrize("value", ["", "Web", "2web", "web_2", "-web", "a" + "b" * 63, "web/x"])
def test_invalid_ids_name_the_field_and_the_rule(value):
    violations = Violations()
    check_id(violations, "group_id", value)
    assert violations.items[0].field == "group_id"
    assert "^[a-z][a-z0-9-]{0,62}$" in violations.items[0].description


def test_parse_name_returns_the_id():
    assert parse_name("name", "groups/web", "groups") == "web"


@pytest.mark.parametrize("name", ["", "web", "groups/", "policies/web", "groups/Web", "groups/web/x"])
def test_parse_name_rejects_malformed_names_naming_the_field(name):
    with pytest.raises(InvalidArgument) as raised:
        parse_name("policy.group", name, "groups")
    assert raised.value.violations[0].field == "policy.group"


@pytest.mark.parametrize(("value", "ok"), [(0, False), (1, True), (5, True), (99, False)])
def test_enums_must_be_set_and_known(value, ok):
    violations = Violations()
    check_enum(violations, "statistic", value, common_pb2.Statistic)
    assert (not violations) is ok


@pytest.mark.parametrize(("value", "ok"), [(1.5, True), (math.nan, False), (math.inf, False), (-math.inf, False)])
def test_numbers_must_be_finite(value, ok):
    violations = Violations()
    check_finite(violations, "series[0].points[0].value", value)
    assert (not violations) is ok


@pytest.mark.parametrize(
    ("target", "ok"),
    [
        ("policies/scale-out", True),
        ("https://hooks.example.com/alarm", True),
        ("http://93.184.216.34:8080/x", True),
        ("policies/Scale", False),
        ("groups/web", False),
        ("ftp://example.com", False),
        ("http://", False),
        ("", False),
    ],
)
def test_action_targets_are_policies_or_http_urls(target, ok):
    violations = Violations()
    check_action_target(violations, "alarm.alarm_actions[0]", target, AddressGuard())
    assert (not violations) is ok


@pytest.mark.parametrize(
    ("target", "rule"),
    [
        ("http://127.0.0.1:8080/x", "names 127.0.0.1, a loopback address"),
        ("http://localhost.:8080/x", None),  # a name: judged by what it resolves to, when called
        ("http://169.254.169.254/latest/meta-data/", "names 169.254.169.254, a link-local"),
        ("http://2130706433/", "names 127.0.0.1, a loopback address"),
        ("http://0x7f.1/", "names 127.0.0.1, a loopback address"),
        ("http://0177.0.0.1/", "names 127.0.0.1, a loopback address"),
        ("http://127.1/", "names 127.0.0.1, a loopback address"),
        ("http://0xa9fea9fe/", "names 169.254.169.254, a link-local"),
        ("http://[::1]/", "names ::1, a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "names ::ffff:7f00:1, a loopback (IPv4 127.0.0.1 inside IPv6) address"),
        ("http://[::ffff:a9fe:a9fe]/", "link-local (IPv4 169.254.169.254 inside IPv6)"),
        ("http://[fe80::1%25eth0]/", "names fe80::1%eth0, a link-local"),
        ("http://10.0.0.8/", "a private address"),
        ("http://100.64.1.1/", "a shared (carrier-grade NAT) address"),
        ("http://0.0.0.0:22/", "an unspecified address"),
        ("http://user:pw@hooks.example/", "must not carry credentials"),
        ("http://hooks.example/\r\nHost: evil", "control characters"),
        ("http://hooks.example/ a", "without spaces"),
        ("gopher://hooks.example/", "http or https"),
    ],
)
def test_webhook_urls_that_could_reach_what_only_the_service_reaches_are_refused_naming_the_rule(target, rule):
    violations = Violations()
    check_action_target(violations, "alarm.alarm_actions[0]", target, AddressGuard())
    if rule is None:
        assert not violations
        return
    [violation] = violations.items
    assert violation.field == "alarm.alarm_actions[0]"
    assert rule in violation.description


def test_an_operator_allowed_network_lets_a_webhook_name_its_addresses():
    guard = AddressGuard(parse_networks(["127.0.0.0/8"], "--webhook-allow"))
    violations = Violations()
    check_action_target(violations, "ok_actions[0]", "http://127.0.0.1:8080/hook", guard)
    check_action_target(violations, "ok_actions[1]", "http://0x7f.1:8080/hook", guard)
    check_action_target(violations, "ok_actions[2]", "http://169.254.169.254/", guard)
    assert [v.field for v in violations.items] == ["ok_actions[2]"]


def test_violations_raise_all_at_once():
    violations = Violations()
    violations.add("a", "bad")
    violations.add("b", "worse")
    with pytest.raises(InvalidArgument) as raised:
        violations.raise_if_any()
    assert [v.field for v in raised.value.violations] == ["a", "b"]


def _violations(check, *args, **limits) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    violations = Violations()
    check(violations, *args, **limits)
    return [(v.field, v.description) for v in violations.items]


def test_text_beyond_its_limit_names_the_field_the_limit_and_the_length():
    assert _violations(check_text, "cause", "x" * 1024, 1024) == []
    assert _violations(check_text, "cause", "x" * 3_000_000, 1024) == [("cause", "must be at most 1024 characters long, got 3000000")]


def test_a_text_map_is_bounded_in_entries_in_each_key_and_value_and_in_all():
    limits = {"max_entries": 2, "max_key_length": 3, "max_value_length": 4, "max_total_length": 9}
    assert _violations(check_text_map, "group.tags", {"abc": "1234", "d": "1"}, **limits) == []
    assert [field for field, _ in _violations(check_text_map, "group.tags", {"a": "1", "b": "2", "c": "3"}, **limits)] == ["group.tags"]
    assert _violations(check_text_map, "group.tags", {"abcd": "1", "a": "12345"}, **limits) == [
        ("group.tags", "key 'abcd' must be at most 3 characters long"),
        ("group.tags", "the value of 'a' must be at most 4 characters long"),
        ("group.tags", "must take at most 9 characters in all (keys and values), got 11"),
    ]


def test_a_text_list_is_bounded_in_items_in_each_item_and_in_all():
    limits = {"max_items": 2, "max_item_length": 3, "max_total_length": 5}
    assert _violations(check_text_list, "command", ["abc", "de"], **limits) == []
    assert [field for field, _ in _violations(check_text_list, "command", ["abcd", "e", "f"], **limits)] == [
        "command", "command[0]", "command"
    ]


def test_a_cause_written_from_longer_text_is_cut_to_the_limit():
    assert within_cause_limit("short") == "short"
    cut = within_cause_limit("x" * 5000)
    assert len(cut) == MAX_CAUSE_LENGTH and cut.endswith("x…")
