"""The rules that judge an instance by its health checks' results (pure: results and times are inputs)."""

from __future__ import annotations

import pytest

from services.group.health import HealthCheck, HealthStatus, HealthVerdict, ProbeKind, ProbeResult, grace_period_over, judge

CHECK = HealthCheck(ProbeKind.HTTP, port=8080, path="/healthz", unhealthy_threshold=3)
PASS = ProbeResult(True, "HTTP 200 from http://10.0.0.1:8080/healthz")
FAIL = ProbeResult(False, "HTTP 503 from http://10.0.0.1:8080/healthz")


@pytest.mark.parametrize(
    ("results", "status", "reason"),
    [
        ([], HealthStatus.UNKNOWN, "not checked yet"),
        ([PASS], HealthStatus.HEALTHY, PASS.detail),
        ([FAIL], HealthStatus.UNKNOWN, f"1 of 3 health checks in a row failed: {FAIL.detail}"),
        ([FAIL, FAIL], HealthStatus.UNKNOWN, f"2 of 3 health checks in a row failed: {FAIL.detail}"),
        ([FAIL, FAIL, FAIL], HealthStatus.UNHEALTHY, f"3 health checks in a row failed: {FAIL.detail}"),
        ([PASS, FAIL, FAIL], HealthStatus.HEALTHY, f"2 of 3 health checks in a row failed: {FAIL.detail}"),
        ([PASS, FAIL, FAIL, FAIL], HealthStatus.UNHEALTHY, f"3 health checks in a row failed: {FAIL.detail}"),
        ([FAIL, FAIL, PASS], HealthStatus.HEALTHY, PASS.detail),
    ],
)
def test_an_instance_is_unhealthy_only_after_the_threshold_of_failures_in_a_row(results, status, reason):
    assert judge(results, CHECK) == HealthVerdict(status, reason)


def test_a_threshold_of_one_makes_a_single_failure_unhealthy():
    verdict = judge([PASS, FAIL], HealthCheck(ProbeKind.TCP, unhealthy_threshold=1))
    assert verdict.status is HealthStatus.UNHEALTHY


@pytest.mark.parametrize(
    ("in_service_time", "grace_period", "now", "over"),
    [
        (None, 0.0, 1000.0, False),  # not running yet
        (1000.0, 0.0, 1000.0, True),
        (1000.0, 300.0, 1299.9, False),
        (1000.0, 300.0, 1300.0, True),
    ],
)
def test_checks_count_once_the_grace_period_has_passed_since_the_instance_first_ran(in_service_time, grace_period, now, over):
    assert grace_period_over(in_service_time, grace_period, now) is over
