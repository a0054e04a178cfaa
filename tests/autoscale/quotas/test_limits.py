"""A project's limits: set ones win over defaults; a create beyond one is RESOURCE_EXHAUSTED naming the quota."""

from __future__ import annotations

import pytest

from autoscale.errors import ResourceExhausted
from autoscale.quotas.limits import DEFAULTS, Limits, SampleRate, default_limits


def test_a_limit_set_for_the_project_wins_over_the_default() -> None:
    limits = Limits("p1", {"groups": 3}, DEFAULTS)
    assert limits.of("groups") == 3 and limits.of("alarms") == DEFAULTS["alarms"]
    assert "groups" not in limits.defaulted() and "alarms" in limits.defaulted()


def test_the_series_default_is_the_deployments_series_limit() -> None:
    assert default_limits(42)["series"] == 42


def test_holding_up_to_the_limit_is_allowed_and_beyond_it_names_the_quota_and_the_project() -> None:
    limits = Limits("p1", {"groups": 2}, DEFAULTS)
    limits.require_room("groups", held=1)
    with pytest.raises(ResourceExhausted, match=r"quota groups of project p1 is 2: it holds 2 and this would add 1"):
        limits.require_room("groups", held=2)


def test_shrinking_is_never_refused_even_above_the_limit() -> None:
    Limits("p1", {"instances": 2}, DEFAULTS).require_room("instances", held=5, adding=-1)


def test_a_zero_limit_refuses_every_create() -> None:
    with pytest.raises(ResourceExhausted):
        Limits("p1", {"alarms": 0}, DEFAULTS).require_room("alarms", held=0)


def test_samples_beyond_the_rate_in_one_second_are_refused_and_the_next_second_starts_afresh() -> None:
    rate, limits = SampleRate(), Limits("p1", {"samples_per_second": 100}, DEFAULTS)
    rate.admit(limits, 60, now=10.0)
    rate.admit(limits, 40, now=10.5)
    with pytest.raises(ResourceExhausted, match="quota samples_per_second of project p1 is 100"):
        rate.admit(limits, 1, now=10.9)
    rate.admit(limits, 100, now=11.0)


def test_refused_samples_do_not_use_up_the_window() -> None:
    rate, limits = SampleRate(), Limits("p1", {"samples_per_second": 100}, DEFAULTS)
    with pytest.raises(ResourceExhausted):
        rate.admit(limits, 101, now=10.0)
    rate.admit(limits, 100, now=10.1)


def test_each_project_has_its_own_window() -> None:
    rate = SampleRate()
    rate.admit(Limits("p1", {"samples_per_second": 10}, DEFAULTS), 10, now=5.0)
    rate.admit(Limits("p2", {"samples_per_second": 10}, DEFAULTS), 10, now=5.0)
