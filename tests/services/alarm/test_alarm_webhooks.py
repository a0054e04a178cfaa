"""Webhook actions through a real alarm service: URLs refused on create, the secret, signed POSTs, their own threads."""

from __future__ import annotations

import json
import re
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from autoscale.errors import field_violations
from autoscale.v1 import alarm_pb2
from services.alarm.webhook_pool import PER_HOST, THREADS
from tests.services.alarm.receivers import Receiver, running_receiver
from tests.services.alarm.test_alarm_service import ALARM, INVALID, Mesh, mesh_with, wait_for

LOOPBACK = ("127.0.0.0/8",)
README = Path(__file__).parents[3] / "README.md"


def _failure(call: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def _fire(mesh: Mesh, alarm_id: str) -> None:
    mesh.alarms.SetAlarmState(alarm_pb2.SetAlarmStateRequest(name=f"alarms/{alarm_id}", state=ALARM), timeout=5)


def _verify_as_the_readme_shows() -> Any:
    """The `verify` function of README.md's "Webhook signatures", as a receiver would paste it."""
    section = README.read_text().split("### Webhook signatures", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)  # noqa: S102 (the README's own example)
    return namespace["verify"]


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://127.0.0.1:8080/hook", "names 127.0.0.1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "names 169.254.169.254, a link-local address"),
        ("http://2130706433/", "names 127.0.0.1, a loopback address"),
        ("http://0x7f.1/", "names 127.0.0.1, a loopback address"),
        ("http://0251.0376.0251.0376/", "names 169.254.169.254, a link-local address"),
        ("http://[::1]:8080/", "names ::1, a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "a loopback (IPv4 127.0.0.1 inside IPv6) address"),
        ("http://[fe80::1%25eth0]/", "a link-local address"),
        ("http://10.0.0.1/", "a private address"),
        ("http://user:secret@hooks.example/", "must not carry credentials"),
        ("http://hooks.example/a\r\nX-Injected: 1", "control characters (CR, LF, tab)"),
        ("http://hooks.example/a b", "without spaces"),
        ("ftp://hooks.example/", "must be an http or https URL"),
        ("gopher://hooks.example:25/", "must be an http or https URL"),
    ],
)
def test_create_refuses_a_webhook_that_could_reach_what_only_the_service_reaches_naming_the_field_and_the_rule(sqlite_url, url, rule):
    with mesh_with(sqlite_url) as mesh:
        error = _failure(lambda: mesh.create(ok_actions=["policies/calm", url]))
        assert error.code() == INVALID
        [violation] = field_violations(error)
        assert violation.field == "alarm.ok_actions[1]"
        assert rule in violation.description and rule in error.details()
        mask = field_mask_pb2.FieldMask(paths=["alarm_actions"])
        update = alarm_pb2.UpdateAlarmRequest(alarm=alarm_pb2.Alarm(name="alarms/high-cpu", alarm_actions=[url]), update_mask=mask)
        mesh.create()
        error = _failure(lambda: mesh.alarms.UpdateAlarm(update, timeout=5))
        assert error.code() == INVALID and [v.field for v in field_violations(error)] == ["alarm.alarm_actions[0]"]


def test_the_webhook_secret_is_shown_by_the_answer_that_makes_it_and_nowhere_else(sqlite_url):
    with mesh_with(sqlite_url) as mesh:
        created = mesh.create()
        assert re.fullmatch(r"[0-9a-f]{64}", created.webhook_secret)
        assert mesh.get().webhook_secret == ""
        listed = mesh.alarms.ListAlarms(alarm_pb2.ListAlarmsRequest(), timeout=5).alarms
        assert [alarm.webhook_secret for alarm in listed] == [""]
        change = alarm_pb2.Alarm(name="alarms/high-cpu", description="hot")
        described = field_mask_pb2.FieldMask(paths=["description"])
        unchanged = mesh.alarms.UpdateAlarm(alarm_pb2.UpdateAlarmRequest(alarm=change, update_mask=described), timeout=5).alarm
        assert unchanged.webhook_secret == ""
        current = mesh.get()
        assert mesh.alarms.UpdateAlarm(alarm_pb2.UpdateAlarmRequest(alarm=current), timeout=5).alarm.webhook_secret == ""  # all fields
        mask = field_mask_pb2.FieldMask(paths=["webhook_secret"])
        renewed = mesh.alarms.UpdateAlarm(alarm_pb2.UpdateAlarmRequest(alarm=change, update_mask=mask), timeout=5).alarm
        assert re.fullmatch(r"[0-9a-f]{64}", renewed.webhook_secret) and renewed.webhook_secret != created.webhook_secret
        assert renewed.description == "hot"  # a mask naming only the secret changes nothing else
        assert renewed.threshold_rule == current.threshold_rule
        assert mesh.history()[0].reason == "changed: webhook_secret"


def test_a_webhook_posts_the_transition_signed_so_that_the_readme_s_receiver_verifies_it(sqlite_url):
    verify = _verify_as_the_readme_shows()
    with mesh_with(sqlite_url, webhook_allowed_networks=LOOPBACK) as mesh, running_receiver() as receiver:
        receiver.statuses = [503]
        secret = mesh.create(alarm_actions=[receiver.url()], description="web is hot").webhook_secret
        mesh.metrics.values["cpu_util"] = [95.0]
        mesh.notify()
        failed, delivered = receiver.wait_for(2)
        body = json.loads(delivered.body)
        assert (body["alarm_name"], body["previous"], body["current"], body["description"]) == (
            "alarms/high-cpu", "INSUFFICIENT_DATA", "ALARM", "web is hot")
        assert "95" in body["reason"] and body["reason_data"]["most_recent"] == 95.0
        # What a policy's ExecutePolicy carries in its AlarmPayload, under Aodh's names.
        assert (body["reason_data"]["datapoints"], body["reason_data"]["threshold"]) == ([95.0], 80.0)
        assert (body["threshold_rule"]["metric"], body["threshold_rule"]["comparison_operator"]) == ("cpu_util", ">")
        assert verify(secret, delivered.headers, delivered.body)
        assert not verify(secret, delivered.headers, delivered.body.replace(b"95", b"15"))
        assert not verify("0" * 64, delivered.headers, delivered.body)
        actions = wait_for(lambda: mesh.actions(2))
        assert sorted((e.attempt, e.action_succeeded, e.reason.split(";")[0]) for e in actions) == [
            (1, False, "HTTP 503"), (2, True, "HTTP 204")]


def test_a_new_secret_signs_every_post_from_then_on(sqlite_url):
    verify = _verify_as_the_readme_shows()
    with mesh_with(sqlite_url, webhook_allowed_networks=LOOPBACK) as mesh, running_receiver() as receiver:
        first = mesh.create(alarm_actions=[receiver.url()]).webhook_secret
        mask = field_mask_pb2.FieldMask(paths=["webhook_secret"])
        request = alarm_pb2.UpdateAlarmRequest(alarm=alarm_pb2.Alarm(name="alarms/high-cpu"), update_mask=mask)
        second = mesh.alarms.UpdateAlarm(request, timeout=5).alarm.webhook_secret
        _fire(mesh, "high-cpu")
        [post] = receiver.wait_for(1)
        assert verify(second, post.headers, post.body) and not verify(first, post.headers, post.body)


def test_a_webhook_to_a_loopback_address_without_the_operator_s_allowance_fails_as_every_unanswered_post_does(sqlite_url):
    with running_receiver() as receiver:
        with mesh_with(sqlite_url, webhook_allowed_networks=LOOPBACK) as allowed:
            allowed.create(alarm_actions=[receiver.url()])  # stored while the operator allowed loopback
        with mesh_with(sqlite_url, alarm_action_attempts=1) as strict:
            _fire(strict, "high-cpu")
            [entry] = wait_for(lambda: strict.actions(1))
    assert (entry.action_succeeded, entry.reason) == (False, "delivery failed; giving up")
    assert receiver.received == []


def test_slow_webhooks_do_not_delay_a_policy_action(sqlite_url):
    """Webhooks to 8 hosts that hold every POST (more than every webhook thread can take) against an alarm's policy."""
    hosts = [f"127.0.0.{number}" for number in range(1, 9)]
    with ExitStack() as stack:
        receivers = [stack.enter_context(running_receiver(host)) for host in hosts]
        mesh = stack.enter_context(mesh_with(sqlite_url, webhook_allowed_networks=LOOPBACK, alarm_action_timeout=60))
        mesh.create("scale")  # its action: policies/scale-out
        baseline = _policy_latency(mesh, "scale")
        mesh.alarms.SetAlarmState(alarm_pb2.SetAlarmStateRequest(name="alarms/scale", state=alarm_pb2.ALARM_STATE_OK), timeout=5)
        for receiver in receivers:
            receiver.holding = True
            for number in range(PER_HOST + 1):
                alarm_id = f"hook-{receiver.address[0].replace('.', '-')}-{number}"
                mesh.create(alarm_id, alarm_actions=[receiver.url()])
                _fire(mesh, alarm_id)
        held = wait_for(lambda: _held(receivers) if _held(receivers) == THREADS else None)
        latency = _policy_latency(mesh, "scale")
        still_held = _held(receivers)
        print(f"\npolicy action latency: {latency * 1000:.1f} ms with {held} webhooks held by slow receivers "
              f"({len(hosts) * (PER_HOST + 1)} due), {baseline * 1000:.1f} ms with none")
        assert still_held == THREADS  # every webhook thread was held the whole time
        assert latency < 1.0
        for receiver in receivers:
            receiver.release.set()


def _held(receivers: list[Receiver]) -> int:
    return sum(len(receiver.received) for receiver in receivers)


def _policy_latency(mesh: Mesh, alarm_id: str) -> float:
    """Seconds from SetAlarmState(ALARM) to the policy's ExecutePolicy call."""
    asked = len(mesh.policy.requests)
    started = time.monotonic()
    _fire(mesh, alarm_id)
    mesh.policy.wait_for_requests(asked + 1)
    return time.monotonic() - started
