"""Receivers over a real in-process server: their RPCs, and signals POSTed to their URLs on the HTTP listener, with a
fake GroupService beside the policy service (tests/services/policy/fake_group.py) and a clock moved by hand."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import grpc
import pytest

from autoscale import signing
from autoscale.config import Settings
from autoscale.errors import field_violations
from autoscale.v1 import common_pb2, policy_pb2, policy_pb2_grpc
from services.policy.receivers.repository import MAX_RECEIVERS_PER_POLICY
from services.policy.server import build
from tests.services.policy.fake_alarm import FakeAlarmService
from tests.services.policy.fake_group import FakeGroupService
from tests.support import FakeClock, running_server

PLAIN = policy_pb2.RECEIVER_FORMAT_PLAIN
ALERTMANAGER = policy_pb2.RECEIVER_FORMAT_ALERTMANAGER
AODH = policy_pb2.RECEIVER_FORMAT_AODH
SECRET = "s" * 40


@dataclass
class Reply:
    status: int
    body: dict[str, Any]


@dataclass
class Mesh:
    """The policy service under test with its HTTP listener, the fake group service beside it, and their clock."""

    policy: Any
    group: FakeGroupService
    clock: FakeClock
    http_port: int

    def create_policy(self, policy_id: str, adjustment: int = 1) -> None:
        policy = policy_pb2.Policy(group="groups/web", adjustment_type=common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY,
                                   scaling_adjustment=adjustment)
        self.policy.CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id=policy_id, policy=policy), timeout=5)

    def create_receiver(
        self, policy_id: str, receiver_id: str, receiver_format: int = PLAIN, **fields: Any
    ) -> policy_pb2.CreateReceiverResponse:
        request = policy_pb2.CreateReceiverRequest(
            parent=f"policies/{policy_id}", receiver_id=receiver_id, receiver=policy_pb2.Receiver(format=receiver_format, **fields)
        )
        return self.policy.CreateReceiver(request, timeout=5)

    def post(self, url_or_path: str, body: bytes = b"", headers: dict[str, str] | None = None, method: str = "POST") -> Reply:
        path = urlsplit(url_or_path).path
        connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=5)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        return Reply(response.status, json.loads(raw) if raw.startswith(b"{") else {"text": raw.decode()})

    def adjusts(self) -> int:
        return len(self.group.adjust_requests)


@pytest.fixture
def mesh(sqlite_url) -> Iterator[Mesh]:
    clock = FakeClock()
    group = FakeGroupService(clock)
    group.add_group("web", min_size=1, max_size=50, desired=1)
    settings = Settings(database_url=sqlite_url, http_listen="127.0.0.1:0")
    services = [("policy", build), ("group", group.registration), ("alarm", FakeAlarmService().registration)]
    with running_server(services, settings, clock=clock) as (server, channel):
        assert server.http_listener is not None
        mesh = Mesh(policy_pb2_grpc.PolicyServiceStub(channel), group, clock, server.http_listener.port)
        mesh.create_policy("up")
        yield mesh


def _failure(method, request) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as raised:
        method(request, timeout=5)
    return raised.value


def _alertmanager(*fingerprints: str, status: str = "firing") -> bytes:
    alerts = [{"status": status, "labels": {"alertname": "HighLoad"}, "annotations": {}, "startsAt": "2026-12-06T10:00:00Z",
               "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": fingerprint} for fingerprint in fingerprints]
    return json.dumps({"version": "4", "groupKey": "{}:{alertname=\"HighLoad\"}", "truncatedAlerts": 0, "status": status,
                       "receiver": "autoscale", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                       "externalURL": "http://am:9093", "alerts": alerts}).encode()


# The RPCs


def test_create_answers_the_url_once_and_reads_never_show_it(mesh):
    created = mesh.create_receiver("up", "script", hmac_secret=SECRET)
    assert created.url.startswith(f"http://127.0.0.1:{mesh.http_port}/v1/signals/rcv_")
    assert created.receiver.name == "policies/up/receivers/script"
    assert created.receiver.hmac_secret_set and not created.receiver.hmac_secret
    token = created.url.rsplit("/", 1)[1]
    shown = mesh.policy.GetReceiver(policy_pb2.GetReceiverRequest(name="policies/up/receivers/script"), timeout=5)
    listed = mesh.policy.ListReceivers(policy_pb2.ListReceiversRequest(parent="policies/up"), timeout=5)
    assert shown.receiver == created.receiver
    assert list(listed.receivers) == [created.receiver]
    assert token not in str(shown) + str(listed)
    assert mesh.create_receiver("up", "other").url != created.url


def test_list_pages_through_a_policys_receivers(mesh):
    for index in range(3):
        mesh.create_receiver("up", f"r{index}")
    first = mesh.policy.ListReceivers(policy_pb2.ListReceiversRequest(parent="policies/up", page_size=2), timeout=5)
    rest = mesh.policy.ListReceivers(
        policy_pb2.ListReceiversRequest(parent="policies/up", page_size=2, page_token=first.next_page_token), timeout=5
    )
    assert [receiver.name.rsplit("/", 1)[1] for receiver in [*first.receivers, *rest.receivers]] == ["r0", "r1", "r2"]
    assert rest.next_page_token == ""


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"parent": "policy/up"}, "parent"),
        ({"receiver_id": "Bad_Id"}, "receiver_id"),
        ({"receiver": policy_pb2.Receiver()}, "receiver.format"),
        ({"receiver": policy_pb2.Receiver(format=99)}, "receiver.format"),
        ({"receiver": policy_pb2.Receiver(format=PLAIN, resolved_policy="policies/down")}, "receiver.resolved_policy"),
        ({"receiver": policy_pb2.Receiver(format=ALERTMANAGER, resolved_policy="policies/up")}, "receiver.resolved_policy"),
        ({"receiver": policy_pb2.Receiver(format=ALERTMANAGER, resolved_policy="down")}, "receiver.resolved_policy"),
        ({"receiver": policy_pb2.Receiver(format=PLAIN, hmac_secret="short")}, "receiver.hmac_secret"),
        ({"receiver": policy_pb2.Receiver(format=PLAIN, hmac_secret="x" * 257)}, "receiver.hmac_secret"),
        ({"receiver": policy_pb2.Receiver(format=PLAIN, hmac_secret="\n" * 40)}, "receiver.hmac_secret"),
    ],
)
def test_create_refuses_bad_fields_naming_them(mesh, request_fields, field):
    request = policy_pb2.CreateReceiverRequest(parent="policies/up", receiver_id="r", receiver=policy_pb2.Receiver(format=PLAIN))
    for name, value in request_fields.items():
        if isinstance(value, policy_pb2.Receiver):
            request.receiver.CopyFrom(value)
        else:
            setattr(request, name, value)
    error = _failure(mesh.policy.CreateReceiver, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in [violation.field for violation in field_violations(error)]


def test_create_names_what_is_missing_or_taken(mesh):
    missing_policy = _failure(mesh.policy.CreateReceiver, policy_pb2.CreateReceiverRequest(
        parent="policies/nope", receiver_id="r", receiver=policy_pb2.Receiver(format=PLAIN)))
    missing_resolved = _failure(mesh.policy.CreateReceiver, policy_pb2.CreateReceiverRequest(
        parent="policies/up", receiver_id="r", receiver=policy_pb2.Receiver(format=ALERTMANAGER, resolved_policy="policies/gone")))
    mesh.create_receiver("up", "r")
    taken = _failure(mesh.policy.CreateReceiver, policy_pb2.CreateReceiverRequest(
        parent="policies/up", receiver_id="r", receiver=policy_pb2.Receiver(format=PLAIN)))
    assert (missing_policy.code(), missing_policy.details()) == (grpc.StatusCode.NOT_FOUND, "policies/nope not found")
    assert (missing_resolved.code(), missing_resolved.details()) == (
        grpc.StatusCode.NOT_FOUND, "receiver.resolved_policy: policies/gone not found"
    )
    assert taken.code() == grpc.StatusCode.ALREADY_EXISTS


def test_a_policy_has_a_bounded_number_of_receivers(mesh):
    for index in range(MAX_RECEIVERS_PER_POLICY):
        mesh.create_receiver("up", f"r{index}")
    error = _failure(mesh.policy.CreateReceiver, policy_pb2.CreateReceiverRequest(
        parent="policies/up", receiver_id="one-more", receiver=policy_pb2.Receiver(format=PLAIN)))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.mark.parametrize("name", ["policies/up", "policies/up/receivers/", "policies/up/things/r", "policies/UP/receivers/r"])
def test_get_and_delete_refuse_a_malformed_name(mesh, name):
    for method, request_type in ((mesh.policy.GetReceiver, policy_pb2.GetReceiverRequest),
                                 (mesh.policy.DeleteReceiver, policy_pb2.DeleteReceiverRequest)):
        error = _failure(method, request_type(name=name))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [violation.field for violation in field_violations(error)] == ["name"]


def test_a_deleted_receivers_url_is_refused(mesh):
    url = mesh.create_receiver("up", "r").url
    mesh.policy.DeleteReceiver(policy_pb2.DeleteReceiverRequest(name="policies/up/receivers/r"), timeout=5)
    assert mesh.post(url).status == 404
    assert mesh.adjusts() == 0
    error = _failure(mesh.policy.GetReceiver, policy_pb2.GetReceiverRequest(name="policies/up/receivers/r"))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_deleting_a_policy_deletes_its_receivers(mesh):
    url = mesh.create_receiver("up", "r").url
    mesh.policy.DeletePolicy(policy_pb2.DeletePolicyRequest(name="policies/up"), timeout=5)
    assert mesh.post(url).status == 404


def test_a_policy_that_a_receiver_resolves_to_cannot_be_deleted(mesh):
    mesh.create_policy("down", adjustment=-1)
    mesh.create_receiver("up", "am", ALERTMANAGER, resolved_policy="policies/down")
    error = _failure(mesh.policy.DeletePolicy, policy_pb2.DeletePolicyRequest(name="policies/down"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "policies/up/receivers/am" in error.details()


# Signals


def test_a_plain_post_executes_the_policy_and_its_history_names_the_receiver(mesh):
    url = mesh.create_receiver("up", "script").url
    reply = mesh.post(url, b"deploy finished")
    assert reply.status == 200
    assert reply.body["executions"][0]["adjusted"] is True
    assert mesh.group.adjust_requests[0].cause == "policies/up (signal to policies/up/receivers/script: deploy finished)"
    executions = mesh.policy.ListPolicyExecutions(policy_pb2.ListPolicyExecutionsRequest(name="policies/up"), timeout=5).executions
    assert [execution.cause for execution in executions] == ["signal to policies/up/receivers/script: deploy finished"]


def test_a_signal_of_a_step_policy_carries_no_metric_value_so_it_is_a_409_recorded_with_why(mesh):
    step = policy_pb2.StepAdjustment(metric_interval_lower_bound=0, scaling_adjustment=1)
    policy = policy_pb2.Policy(
        group="groups/web", adjustment_type=common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY, step_adjustments=[step]
    )
    mesh.policy.CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id="steps", policy=policy), timeout=5)
    reply = mesh.post(mesh.create_receiver("steps", "script").url, b"busy")
    assert reply.status == 409 and "step policy and the signal carries no metric value" in reply.body["error"]
    (execution,) = mesh.policy.ListPolicyExecutions(policy_pb2.ListPolicyExecutionsRequest(name="policies/steps"), timeout=5).executions
    assert execution.failed and execution.reason == reply.body["error"]
    assert mesh.adjusts() == 0


def test_a_plain_post_retried_with_its_idempotency_key_executes_once(mesh):
    url = mesh.create_receiver("up", "script").url
    first = mesh.post(url, headers={"Idempotency-Key": "deploy-42"})
    again = mesh.post(url, headers={"Idempotency-Key": "deploy-42"})
    assert first.status == again.status == 200
    assert again.body["executions"] == first.body["executions"]
    assert mesh.adjusts() == 1
    mesh.post(url)
    mesh.post(url)
    assert mesh.adjusts() == 3


def test_alertmanager_repeats_of_a_notification_adjust_once_and_new_alerts_again(mesh):
    url = mesh.create_receiver("up", "am", ALERTMANAGER).url
    for _ in range(3):
        assert mesh.post(url, _alertmanager("a1")).status == 200
    assert mesh.adjusts() == 1
    assert mesh.post(url, _alertmanager("a1", "b2")).status == 200
    assert mesh.adjusts() == 2


def test_alertmanager_resolved_alerts_execute_the_resolved_policy(mesh):
    mesh.create_policy("down", adjustment=-1)
    url = mesh.create_receiver("up", "am", ALERTMANAGER, resolved_policy="policies/down").url
    mesh.post(url, _alertmanager("a1"))
    reply = mesh.post(url, _alertmanager("a1", status="resolved"))
    assert reply.status == 200 and reply.body["executions"][0]["policy"] == "policies/down"
    assert [request.adjustment for request in mesh.group.adjust_requests] == [1, -1]


def test_alertmanager_resolved_alerts_without_resolved_policy_are_answered_with_why(mesh):
    url = mesh.create_receiver("up", "am", ALERTMANAGER).url
    reply = mesh.post(url, _alertmanager("a1", status="resolved"))
    assert reply == Reply(200, {"receiver": "policies/up/receivers/am", "executions": [],
                                "ignored": "no firing alerts, and no resolved policy for the resolved ones"})
    assert mesh.adjusts() == 0


def test_aodh_transition_into_alarm_executes_and_a_repeated_alarm_does_not(mesh):
    url = mesh.create_receiver("up", "aodh", AODH).url

    def notification(current: str, previous: str) -> bytes:
        return json.dumps({"alarm_id": "b8e17f58", "alarm_name": "cpu_high", "severity": "low", "previous": previous,
                           "current": current, "reason": "threshold crossed", "reason_data": {"type": "threshold"}}).encode()

    assert mesh.post(url, notification("alarm", "ok"), {"X-OpenStack-Request-Id": "req-1"}).status == 200
    assert mesh.post(url, notification("alarm", "ok"), {"X-OpenStack-Request-Id": "req-1"}).status == 200  # Aodh's retry
    repeated = mesh.post(url, notification("alarm", "alarm"), {"X-OpenStack-Request-Id": "req-2"})
    assert repeated.status == 200 and "only a transition into alarm executes" in repeated.body["ignored"]
    assert mesh.adjusts() == 1


def test_a_bad_payload_is_a_400_naming_the_field_and_executes_nothing(mesh):
    url = mesh.create_receiver("up", "am", ALERTMANAGER).url
    reply = mesh.post(url, b'{"version": "4", "groupKey": "k", "alerts": [{"status": "pending"}]}')
    assert reply.status == 400
    assert reply.body["field"] == "alerts[0].status"
    assert mesh.adjusts() == 0


def test_a_signed_receiver_refuses_unsigned_stale_and_forged_signals(mesh):
    url = mesh.create_receiver("up", "signed", hmac_secret=SECRET).url
    body = b"scale please"
    now = int(mesh.clock.now)
    unsigned = mesh.post(url, body)
    stale = mesh.post(url, body, signing.signature_headers(SECRET, now - 301, body))
    forged = mesh.post(url, body, signing.signature_headers("f" * 40, now, body))
    other_body = mesh.post(url, b"another body", signing.signature_headers(SECRET, now, body))
    assert [reply.status for reply in (unsigned, stale, forged, other_body)] == [401, 401, 401, 401]
    assert "X-Autoscale-Signature" in unsigned.body["error"]
    assert mesh.adjusts() == 0
    assert mesh.post(url, body, signing.signature_headers(SECRET, now, body)).status == 200
    assert mesh.adjusts() == 1


def test_a_gone_group_is_a_409_and_an_unreachable_one_a_503_whose_retry_executes_once(mesh):
    url = mesh.create_receiver("up", "am", ALERTMANAGER).url
    mesh.group.failures["Adjust"] = grpc.StatusCode.UNAVAILABLE
    unavailable = mesh.post(url, _alertmanager("a1"))
    assert unavailable.status == 503 and "retry" in unavailable.body["error"]
    del mesh.group.failures["Adjust"]
    assert mesh.post(url, _alertmanager("a1")).status == 200
    assert mesh.post(url, _alertmanager("a1")).status == 200
    assert mesh.adjusts() == 1
    mesh.group.delete_group("web")
    gone = mesh.post(url, _alertmanager("b2"))
    assert gone.status == 409 and "groups/web no longer exists" in gone.body["error"]


@pytest.mark.parametrize("path", ["/v1/signals/", "/v1/signals/rcv_short", "/v1/signals/" + "rcv_" + "A" * 43, "/v1/signals/../x"])
def test_unknown_or_malformed_tokens_are_404(mesh, path):
    assert mesh.post(path).status == 404


# The listener


def test_the_listener_answers_wrong_methods_paths_and_sizes_with_json_errors(mesh):
    url = mesh.create_receiver("up", "r").url
    assert mesh.post(url, method="GET").status == 405
    assert mesh.post("/nothing/here").status == 404
    assert mesh.post("/healthz", method="GET") == Reply(200, {"text": "ok\n"})
    too_big = mesh.post(url, b"x" * ((1 << 20) + 1))
    assert too_big.status == 413
    assert mesh.adjusts() == 0


def test_the_listener_refuses_chunked_bodies(mesh):
    url = mesh.create_receiver("up", "r").url
    connection = http.client.HTTPConnection("127.0.0.1", mesh.http_port, timeout=5)
    connection.request("POST", urlsplit(url).path, body=iter([b"chunk"]), encode_chunked=True)
    assert connection.getresponse().status == 411
    connection.close()
    assert mesh.adjusts() == 0


def test_a_silent_connection_does_not_hold_up_others(mesh):
    url = mesh.create_receiver("up", "r").url
    with socket.create_connection(("127.0.0.1", mesh.http_port)) as silent:
        silent.sendall(b"POST " + urlsplit(url).path.encode() + b" HTTP/1.1\r\nContent-Length: 100\r\n\r\npartial")
        assert mesh.post(url).status == 200
