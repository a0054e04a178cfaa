"""A webhook POST against real receivers on loopback addresses (allowed as an operator would), no alarm service around it."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from autoscale.netguard import AddressGuard, parse_networks
from autoscale.series import Statistic
from services.alarm.action_runners import ActionOutcome, ActionRequest
from services.alarm.domain import Alarm, AlarmState, ComparisonOperator, PendingAction, ThresholdRule
from services.alarm.webhook_delivery import DELIVERY_FAILED, WebhookActionRunner
from tests.services.alarm.receivers import raw_listener, running_receiver, self_signed, trickling_listener
from tests.support import FakeClock

RULE = ThresholdRule("cpu", (("group", "web"),), Statistic.AVERAGE, ComparisonOperator.GREATER_THAN, 80.0, 60.0, 1)
SECRET = "5e" * 32
LOOPBACK = AddressGuard(parse_networks(["127.0.0.0/8"], "--webhook-allow"))
NOW = 1_767_225_600.0


def _action(target: str) -> ActionRequest:
    pending = PendingAction(
        7, "hot", target, AlarmState.OK, AlarmState.ALARM, "average(cpu) > 80: 95", {"most_recent": 95.0}, NOW, False, project="p"
    )
    return ActionRequest(Alarm("hot", RULE, alarm_actions=(target,), project="p"), pending, request_id="alarm-1")


def _runner(guard: AddressGuard = LOOPBACK, timeout: float = 5.0, **options: Any) -> WebhookActionRunner:
    secrets = {("p", "hot"): SECRET}
    return WebhookActionRunner(guard, timeout, FakeClock(NOW), lambda project, alarm_id: secrets.get((project, alarm_id)), **options)


def _resolving(answers: dict[str, list[str]], asked: list[str] | None = None) -> Callable[..., Any]:
    """A resolver that answers `answers[host]` (each answer once, in turn, when there are several lists) and notes each
    host asked."""

    def resolve(host: str, port: int, type: int = 0) -> list[tuple[Any, ...]]:
        if asked is not None:
            asked.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in answers[host]]

    return resolve


def test_a_webhook_posts_the_alarm_as_json_signed_with_its_secret_and_the_time_it_was_sent():
    with running_receiver() as receiver:
        outcome = _runner().run(_action(receiver.url("/hook?team=web")))
        [post] = receiver.wait_for(1)
    assert outcome == ActionOutcome(True, "HTTP 204")
    assert post.path == "/hook?team=web"
    body = json.loads(post.body)
    assert (body["alarm_name"], body["project"], body["previous"], body["current"], body["request_id"]) == (
        "alarms/hot", "p", "OK", "ALARM", "alarm-1"
    )
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["X-Autoscale-Timestamp"] == str(int(NOW))
    expected = hmac.new(SECRET.encode(), f"{int(NOW)}.".encode() + post.body, hashlib.sha256).hexdigest()
    assert post.headers["X-Autoscale-Signature"] == f"sha256={expected}"


def test_the_post_goes_to_the_address_the_name_resolved_to_once_and_keeps_the_name_in_the_host_header():
    asked: list[str] = []
    with running_receiver() as receiver:
        # A second resolution would answer a metadata address (DNS rebinding): there is none.
        resolver = _resolving({"hooks.test": ["127.0.0.1"]}, asked)
        outcome = _runner(resolver=resolver).run(_action(receiver.url(host="hooks.test")))
        [post] = receiver.wait_for(1)
    assert outcome.succeeded
    assert asked == ["hooks.test"]
    assert post.headers["Host"] == f"hooks.test:{receiver.address[1]}"


def test_https_checks_the_certificate_against_the_name_while_connecting_to_the_resolved_address(tmp_path):
    server_tls, client_tls = self_signed(tmp_path, "hooks.test")
    resolver = _resolving({"hooks.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    with running_receiver(tls=server_tls) as receiver:
        runner = _runner(resolver=resolver, tls=client_tls)
        assert runner.run(_action(receiver.url(host="hooks.test"))) == ActionOutcome(True, "HTTP 204")
        assert runner.run(_action(receiver.url(host="other.test"))) == ActionOutcome(False, DELIVERY_FAILED, retryable=True)
        [post] = receiver.wait_for(1)
    assert post.headers["Host"] == f"hooks.test:{receiver.address[1]}"


def test_a_redirect_is_not_followed_and_reads_as_its_status():
    with running_receiver() as elsewhere, running_receiver() as receiver:
        receiver.statuses = [302]
        receiver.extra_headers = {"Location": elsewhere.url("/internal")}
        outcome = _runner().run(_action(receiver.url()))
        receiver.wait_for(1)
    assert outcome == ActionOutcome(False, "HTTP 302", retryable=False)
    assert elsewhere.received == []


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (408, True), (429, True), (400, False), (404, False), (410, False)]
)
def test_an_answer_that_is_no_success_reads_as_its_status_and_is_retried_only_when_it_may_mend(status, retryable):
    with running_receiver() as receiver:
        receiver.statuses = [status]
        assert _runner().run(_action(receiver.url())) == ActionOutcome(False, f"HTTP {status}", retryable=retryable)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_every_failure_to_be_answered_reads_the_same_in_the_history_and_the_log_has_the_detail(caplog):
    caplog.set_level(logging.WARNING, logger="services.alarm.webhook_delivery")
    resolver = _resolving({"meta.test": ["169.254.169.254"], "lo.test": ["127.0.0.1"]})
    strict = _runner(AddressGuard(), resolver=resolver)
    with raw_listener(None) as (reset_port, _), raw_listener(b"HTTP/1.1 2") as (silent_port, _):
        cases = {
            "refused": (_runner(), f"http://127.0.0.1:{_closed_port()}/"),
            "reset": (_runner(), f"http://127.0.0.1:{reset_port}/"),
            "timeout": (_runner(timeout=0.3), f"http://127.0.0.1:{silent_port}/"),
            "no such name": (_runner(resolver=resolver), "http://nowhere.test/"),
            "loopback not allowed": (strict, "http://127.0.0.1:9/"),
            "name resolving to loopback": (strict, "http://lo.test:9/"),
            "metadata address": (_runner(resolver=resolver), "http://meta.test/latest/meta-data/"),
            "stored before the rules": (_runner(), "http://user:pw@127.0.0.1:9/"),
        }
        outcomes = {case: runner.run(_action(target)) for case, (runner, target) in cases.items()}
    assert set(outcomes.values()) == {ActionOutcome(False, DELIVERY_FAILED, retryable=True)}
    log = caplog.text
    for detail in ("ConnectionRefusedError", "ConnectionResetError", "TimeoutError", "gaierror", "127.0.0.1, a loopback address",
                   "lo.test resolves to 127.0.0.1", "169.254.169.254, a link-local address", "credentials"):
        assert detail in log


def test_an_answer_trickled_a_byte_at_a_time_is_cut_at_the_timeout():
    slow = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10_000
    with trickling_listener(slow) as port:
        started = time.monotonic()
        outcome = _runner(timeout=0.5).run(_action(f"http://127.0.0.1:{port}/"))
        elapsed = time.monotonic() - started
    assert outcome == ActionOutcome(False, DELIVERY_FAILED, retryable=True)
    assert elapsed < 2.0, f"the POST took {elapsed:.2f}s with a timeout of 0.5s"


def test_the_answer_s_body_is_not_read():
    huge = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n" + b"x" * 65536
    with raw_listener(huge) as (port, _):
        started = time.monotonic()
        outcome = _runner(timeout=5.0).run(_action(f"http://127.0.0.1:{port}/"))
    assert outcome == ActionOutcome(True, "HTTP 200")
    assert time.monotonic() - started < 2.0


def test_a_webhook_of_an_alarm_deleted_meanwhile_is_not_sent():
    with running_receiver() as receiver:
        runner = WebhookActionRunner(LOOPBACK, 5.0, FakeClock(NOW), lambda project, alarm_id: None)
        assert runner.run(_action(receiver.url())) == ActionOutcome(False, "not sent: the alarm is gone")
    assert receiver.received == []
