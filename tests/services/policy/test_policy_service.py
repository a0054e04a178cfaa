"""PolicyService over a real in-process server, with a fake GroupService in the same server and a clock moved by hand."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2, timestamp_pb2

from autoscale.config import Settings
from autoscale.errors import field_violations
from autoscale.timeutil import to_duration
from autoscale.v1 import alarm_pb2, common_pb2, group_pb2, policy_pb2, policy_pb2_grpc
from autoscale.validation import MAX_CAUSE_LENGTH
from services.policy.server import build
from tests.services.policy.fake_alarm import FakeAlarmService
from tests.services.policy.fake_group import FakeGroupService
from tests.support import FakeClock, running_server

CHANGE = common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY
EXACT = common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY
PERCENT = common_pb2.ADJUSTMENT_TYPE_PERCENT_CHANGE_IN_CAPACITY
INVALID = grpc.StatusCode.INVALID_ARGUMENT


@dataclass
class Mesh:
    """The policy service under test, the fake group and alarm services beside it, and their clock."""

    policy: Any
    group: FakeGroupService
    alarm: FakeAlarmService
    clock: FakeClock

    def create(self, policy_id: str, **fields) -> policy_pb2.Policy:  # type: ignore[no-untyped-def]
        fields = {"group": "groups/web", "adjustment_type": CHANGE, "scaling_adjustment": 1, **fields}
        request = policy_pb2.CreatePolicyRequest(policy_id=policy_id, policy=policy_pb2.Policy(**fields))
        return self.policy.CreatePolicy(request, timeout=5).policy

    def execute(self, policy_id: str, cause: str = "", request_id: str = "") -> policy_pb2.ExecutePolicyResponse:
        request = policy_pb2.ExecutePolicyRequest(name=f"policies/{policy_id}", cause=cause, request_id=request_id)
        return self.policy.ExecutePolicy(request, timeout=5)

    def executions(self, policy_id: str) -> list[policy_pb2.PolicyExecution]:
        request = policy_pb2.ListPolicyExecutionsRequest(name=f"policies/{policy_id}")
        return list(self.policy.ListPolicyExecutions(request, timeout=5).executions)


@pytest.fixture
def mesh(sqlite_url) -> Iterator[Mesh]:
    clock = FakeClock()
    group = FakeGroupService(clock)
    group.add_group("web", min_size=1, max_size=5, desired=1, cooldown=120)
    alarm = FakeAlarmService()
    settings = Settings(database_url=sqlite_url)
    services = [("policy", build), ("group", group.registration), ("alarm", alarm.registration)]
    with running_server(services, settings, clock=clock) as (_, channel):
        yield Mesh(policy_pb2_grpc.PolicyServiceStub(channel), group, alarm, clock)


def _failure(method, request) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    """The error of an RPC that must fail."""
    with pytest.raises(grpc.RpcError) as raised:
        method(request, timeout=5)
    return raised.value


# Standard methods


def test_policies_are_created_read_listed_updated_and_deleted(mesh):
    created = mesh.create("up", cooldown=duration_pb2.Duration(seconds=0))
    mesh.create("down", scaling_adjustment=-1)
    assert created.name == "policies/up"
    assert created.HasField("cooldown") and created.cooldown.seconds == 0
    assert created.create_time.seconds == int(mesh.clock.now)
    stub = mesh.policy
    down = stub.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/down"), timeout=5).policy
    assert (down.group, down.scaling_adjustment, down.HasField("cooldown")) == ("groups/web", -1, False)

    first = stub.ListPolicies(policy_pb2.ListPoliciesRequest(page_size=1), timeout=5)
    second = stub.ListPolicies(policy_pb2.ListPoliciesRequest(page_size=1, page_token=first.next_page_token), timeout=5)
    assert [p.name for p in (*first.policies, *second.policies)] == ["policies/down", "policies/up"]
    assert second.next_page_token == ""

    # Naming cooldown in the mask without a value unsets it: the policy takes its group's cooldown again.
    updated = stub.UpdatePolicy(policy_pb2.UpdatePolicyRequest(
        policy=policy_pb2.Policy(name="policies/up", scaling_adjustment=3, adjustment_type=EXACT),
        update_mask=field_mask_pb2.FieldMask(paths=["scaling_adjustment", "cooldown", "create_time"]),
    ), timeout=5).policy
    assert (updated.adjustment_type, updated.scaling_adjustment, updated.HasField("cooldown")) == (CHANGE, 3, False)
    assert updated.create_time == created.create_time
    mesh.group.add_group("api")
    replaced = stub.UpdatePolicy(policy_pb2.UpdatePolicyRequest(policy=policy_pb2.Policy(
        name="policies/up", group="groups/api", adjustment_type=PERCENT, scaling_adjustment=50, min_adjustment_step=2,
        cooldown=to_duration(30),
    )), timeout=5).policy
    assert stub.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/up"), timeout=5).policy == replaced
    assert (replaced.group, replaced.min_adjustment_step, replaced.cooldown.seconds) == ("groups/api", 2, 30)

    stub.DeletePolicy(policy_pb2.DeletePolicyRequest(name="policies/up"), timeout=5)
    assert _failure(stub.GetPolicy, policy_pb2.GetPolicyRequest(name="policies/up")).code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("policy_id", "fields", "violations"),
    [
        ("", {}, ["policy_id"]),
        ("Bad_Id", {}, ["policy_id"]),
        ("p", {"group": ""}, ["policy.group"]),
        ("p", {"group": "web"}, ["policy.group"]),
        ("p", {"adjustment_type": 0}, ["policy.adjustment_type"]),
        ("p", {"adjustment_type": 42}, ["policy.adjustment_type"]),
        ("p", {"adjustment_type": EXACT, "scaling_adjustment": -1}, ["policy.scaling_adjustment"]),
        ("p", {"scaling_adjustment": 0}, ["policy.scaling_adjustment"]),
        ("p", {"adjustment_type": PERCENT, "scaling_adjustment": 0}, ["policy.scaling_adjustment"]),
        ("p", {"min_adjustment_step": -1}, ["policy.min_adjustment_step"]),
        ("p", {"cooldown": duration_pb2.Duration(seconds=-5)}, ["policy.cooldown"]),
        ("p", {"cooldown": duration_pb2.Duration(seconds=86_401)}, ["policy.cooldown"]),
        ("p", {"cooldown": duration_pb2.Duration(seconds=10**12)}, ["policy.cooldown"]),
        ("p", {"cooldown": duration_pb2.Duration(seconds=2**63 - 1)}, ["policy.cooldown"]),
        (
            "-",
            {"group": "", "scaling_adjustment": 0, "min_adjustment_step": -1, "cooldown": duration_pb2.Duration(seconds=-1)},
            ["policy_id", "policy.group", "policy.scaling_adjustment", "policy.min_adjustment_step", "policy.cooldown"],
        ),
    ],
)
def test_bad_create_input_is_invalid_argument_naming_every_field(mesh, policy_id, fields, violations):
    fields = {"group": "groups/web", "adjustment_type": CHANGE, "scaling_adjustment": 1, **fields}
    request = policy_pb2.CreatePolicyRequest(policy_id=policy_id, policy=policy_pb2.Policy(**fields))
    error = _failure(mesh.policy.CreatePolicy, request)
    assert error.code() == INVALID
    assert sorted(v.field for v in field_violations(error)) == sorted(violations)


def test_a_policy_of_an_unknown_group_is_not_found_on_policy_group(mesh):
    error = _failure(mesh.policy.CreatePolicy, policy_pb2.CreatePolicyRequest(
        policy_id="p", policy=policy_pb2.Policy(group="groups/nope", adjustment_type=CHANGE, scaling_adjustment=1)))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "policy.group: groups/nope not found"


def test_a_taken_policy_id_already_exists(mesh):
    mesh.create("up")
    with pytest.raises(grpc.RpcError) as raised:
        mesh.create("up")
    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_the_group_services_failure_on_create_passes_its_code_on(mesh):
    # (Not a refusal of credentials: those are the service's own, not the caller's; see autoscale.errors.)
    mesh.group.failures["GetGroup"] = grpc.StatusCode.RESOURCE_EXHAUSTED
    with pytest.raises(grpc.RpcError) as raised:
        mesh.create("up")
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_policies_are_listed_for_one_group_when_asked(mesh):
    mesh.group.add_group("api")
    mesh.create("web-out")
    mesh.create("api-out", group="groups/api")
    mesh.create("web-in", scaling_adjustment=-1)
    web = mesh.policy.ListPolicies(policy_pb2.ListPoliciesRequest(group="groups/web", page_size=1), timeout=5)
    rest = mesh.policy.ListPolicies(
        policy_pb2.ListPoliciesRequest(group="groups/web", page_size=1, page_token=web.next_page_token), timeout=5)
    assert [p.name for p in (*web.policies, *rest.policies)] == ["policies/web-in", "policies/web-out"]
    assert rest.next_page_token == ""
    assert mesh.policy.ListPolicies(policy_pb2.ListPoliciesRequest(group="groups/none"), timeout=5).policies == []


def test_deleting_a_policy_that_alarms_name_in_any_of_their_actions_is_refused_naming_them(mesh):
    mesh.create("up")
    mesh.alarm.add_alarm("busy", alarm_actions=("policies/up",))
    mesh.alarm.add_alarm("calm", ok_actions=("https://example.com/hook", "policies/up"))
    mesh.alarm.add_alarm("blind", insufficient_data_actions=("policies/up",))
    mesh.alarm.add_alarm("other", alarm_actions=("policies/upper",))
    error = _failure(mesh.policy.DeletePolicy, policy_pb2.DeletePolicyRequest(name="policies/up"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == (
        "policies/up is used by 3 alarms (alarms/blind, alarms/busy, alarms/calm); take it out of their actions, or delete them, first"
    )
    assert mesh.policy.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/up"), timeout=5).policy.name == "policies/up"

    for alarm in ("busy", "calm", "blind"):
        mesh.alarm.delete_alarm(alarm)
    mesh.policy.DeletePolicy(policy_pb2.DeletePolicyRequest(name="policies/up"), timeout=5)
    assert _failure(mesh.policy.GetPolicy, policy_pb2.GetPolicyRequest(name="policies/up")).code() == grpc.StatusCode.NOT_FOUND


def test_the_alarms_that_name_a_policy_are_found_on_every_page_and_the_first_five_named(mesh):
    mesh.create("up")
    for number in range(1200):
        mesh.alarm.add_alarm(f"a{number:04}", alarm_actions=("policies/up",) if number % 100 == 0 else ())
    error = _failure(mesh.policy.DeletePolicy, policy_pb2.DeletePolicyRequest(name="policies/up"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "is used by 12 alarms (alarms/a0000, alarms/a0100, alarms/a0200, alarms/a0300, alarms/a0400 and 7 more)" in error.details()
    assert len(mesh.alarm.list_requests) == 2


def test_a_policy_is_not_deleted_while_the_alarm_service_cannot_say_whether_alarms_name_it(mesh):
    mesh.create("up")
    mesh.alarm.failure = grpc.StatusCode.UNAVAILABLE
    error = _failure(mesh.policy.DeletePolicy, policy_pb2.DeletePolicyRequest(name="policies/up"))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "cannot tell whether alarms name policies/up, so it is kept" in error.details()
    assert mesh.policy.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/up"), timeout=5).policy.name == "policies/up"


def test_a_policy_is_not_deleted_by_a_policy_service_that_has_no_alarm_service_address(sqlite_url):
    clock = FakeClock()
    group = FakeGroupService(clock)
    group.add_group("web")
    with running_server([("policy", build), ("group", group.registration)], Settings(database_url=sqlite_url), clock=clock) as (_, channel):
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        stub.CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id="up", policy=policy_pb2.Policy(
            group="groups/web", adjustment_type=CHANGE, scaling_adjustment=1)), timeout=5)
        error = _failure(stub.DeletePolicy, policy_pb2.DeletePolicyRequest(name="policies/up"))
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert "--alarm-addr" in error.details()
        assert stub.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/up"), timeout=5).policy.name == "policies/up"


@pytest.mark.parametrize(
    ("policy", "paths", "code", "violations"),
    [
        ({"name": "up"}, ["cooldown"], INVALID, ["policy.name"]),
        ({"name": "policies/up"}, ["size", "cooldown"], INVALID, ["update_mask"]),
        ({"name": "policies/up", "scaling_adjustment": 0}, ["scaling_adjustment"], INVALID, ["policy.scaling_adjustment"]),
        # The result is judged: an exact capacity cannot keep the change of -1.
        ({"name": "policies/up", "adjustment_type": EXACT}, ["adjustment_type"], INVALID, ["policy.scaling_adjustment"]),
        ({"name": "policies/up", "adjustment_type": 0}, ["adjustment_type"], INVALID, ["policy.adjustment_type"]),
        ({"name": "policies/up", "group": "web"}, ["group"], INVALID, ["policy.group"]),
        ({"name": "policies/up", "cooldown": duration_pb2.Duration(seconds=-1)}, ["cooldown"], INVALID, ["policy.cooldown"]),
        ({"name": "policies/up", "cooldown": duration_pb2.Duration(seconds=2**63 - 1)}, ["cooldown"], INVALID, ["policy.cooldown"]),
        ({"name": "policies/up", "min_adjustment_step": -1}, [], INVALID,
         ["policy.group", "policy.adjustment_type", "policy.scaling_adjustment", "policy.min_adjustment_step"]),
        ({"name": "policies/up", "group": "groups/nope"}, ["group"], grpc.StatusCode.NOT_FOUND, []),
        ({"name": "policies/missing"}, ["cooldown"], grpc.StatusCode.NOT_FOUND, []),
    ],
)
def test_bad_update_input_is_refused_naming_the_field(mesh, policy, paths, code, violations):
    mesh.create("up", scaling_adjustment=-1)
    request = policy_pb2.UpdatePolicyRequest(policy=policy_pb2.Policy(**policy), update_mask=field_mask_pb2.FieldMask(paths=paths))
    error = _failure(mesh.policy.UpdatePolicy, request)
    assert error.code() == code
    assert sorted(v.field for v in field_violations(error)) == sorted(violations)


@pytest.mark.parametrize(
    ("method", "request_message", "code", "violation"),
    [
        ("GetPolicy", policy_pb2.GetPolicyRequest(name="up"), INVALID, "name"),
        ("GetPolicy", policy_pb2.GetPolicyRequest(name="policies/missing"), grpc.StatusCode.NOT_FOUND, None),
        ("DeletePolicy", policy_pb2.DeletePolicyRequest(name=""), INVALID, "name"),
        ("DeletePolicy", policy_pb2.DeletePolicyRequest(name="policies/missing"), grpc.StatusCode.NOT_FOUND, None),
        ("ListPolicies", policy_pb2.ListPoliciesRequest(page_size=-1), INVALID, "page_size"),
        ("ListPolicies", policy_pb2.ListPoliciesRequest(page_token="garbage"), INVALID, "page_token"),
        ("ListPolicies", policy_pb2.ListPoliciesRequest(group="web"), INVALID, "group"),
        ("ExecutePolicy", policy_pb2.ExecutePolicyRequest(name="groups/web"), INVALID, "name"),
        ("ExecutePolicy", policy_pb2.ExecutePolicyRequest(name="policies/up", request_id="r" * 256), INVALID, "request_id"),
        ("ExecutePolicy", policy_pb2.ExecutePolicyRequest(name="policies/up", cause="c" * 3_000_000), INVALID, "cause"),
        ("ExecutePolicy", policy_pb2.ExecutePolicyRequest(name="policies/missing"), grpc.StatusCode.NOT_FOUND, None),
        ("ListPolicyExecutions", policy_pb2.ListPolicyExecutionsRequest(name="up"), INVALID, "name"),
        ("ListPolicyExecutions", policy_pb2.ListPolicyExecutionsRequest(name="policies/missing"), grpc.StatusCode.NOT_FOUND, None),
        ("ListPolicyExecutions", policy_pb2.ListPolicyExecutionsRequest(name="policies/up", page_token="eyJhZnRlciI6ICJ4In0="),
         INVALID, "page_token"),
    ],
)
def test_bad_names_and_pages_are_refused(mesh, method, request_message, code, violation):
    mesh.create("up")
    error = _failure(getattr(mesh.policy, method), request_message)
    assert error.code() == code
    assert [v.field for v in field_violations(error)] == ([violation] if violation else [])


# Executions


def test_a_cause_of_the_longest_length_reaches_adjust_shortened_to_fit_its_cause(mesh):
    mesh.create("up")
    assert mesh.execute("up", cause="c" * MAX_CAUSE_LENGTH).adjusted
    (sent,) = mesh.group.adjust_requests
    assert len(sent.cause) == MAX_CAUSE_LENGTH and sent.cause.startswith("policies/up (ccc") and sent.cause.endswith("c…")
    assert mesh.executions("up")[0].cause == "c" * MAX_CAUSE_LENGTH


def test_executing_adjusts_the_group_and_answers_its_activity(mesh):
    mesh.create("up", scaling_adjustment=2)
    response = mesh.execute("up", cause="alarms/high-cpu")
    assert response.adjusted
    assert response.reason == "desired capacity 1 → 3"
    assert response.activity == mesh.group.activities[response.activity.name]
    assert response.refusal == group_pb2.ADJUST_REFUSAL_UNSPECIFIED and not response.HasField("cooldown_end_time")
    (adjust,) = mesh.group.adjust_requests
    assert (adjust.name, adjust.adjustment_type, adjust.adjustment) == ("groups/web", CHANGE, 2)
    assert adjust.cause == "policies/up (alarms/high-cpu)"
    assert adjust.request_id
    (execution,) = mesh.executions("up")
    assert (execution.adjusted, execution.activity, execution.cause, execution.failed) == (
        True, response.activity.name, "alarms/high-cpu", False)
    assert execution.time.seconds == int(mesh.clock.now)


def _alarm_payload(**fields: Any) -> policy_pb2.AlarmPayload:
    """An alarm payload as the alarm service sends it, with `fields` changed."""
    values: dict[str, Any] = {
        "alarm": "alarms/high-cpu", "previous_state": alarm_pb2.ALARM_STATE_OK, "state": alarm_pb2.ALARM_STATE_ALARM,
        "reason": "average(cpu) > 50: 62, 71 (newest last)", "datapoints": [62.0, 71.0], "threshold": 50.0,
        "comparison_operator": alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, **fields,
    }
    return policy_pb2.AlarmPayload(**values)


def test_an_alarms_payload_is_recorded_with_its_execution(mesh: Mesh) -> None:
    mesh.create("up")
    request = policy_pb2.ExecutePolicyRequest(
        name="policies/up", cause="alarms/high-cpu entered ALARM", alarm="alarms/high-cpu", alarm_payload=_alarm_payload()
    )
    assert mesh.policy.ExecutePolicy(request, timeout=5).adjusted
    mesh.execute("up", cause="by hand")
    by_hand, by_alarm = mesh.executions("up")
    assert by_alarm.alarm_payload == _alarm_payload()
    assert not by_hand.HasField("alarm_payload")


@pytest.mark.parametrize(
    ("fields", "violations"),
    [
        ({"alarm": ""}, ["alarm_payload.alarm"]),
        ({"alarm": "policies/up"}, ["alarm_payload.alarm"]),
        ({"previous_state": 0, "state": 9}, ["alarm_payload.previous_state", "alarm_payload.state"]),
        ({"reason": "r" * 4097}, ["alarm_payload.reason"]),
        ({"datapoints": [1.0] * 1441}, ["alarm_payload.datapoints"]),
        ({"datapoints": [1.0, math.nan, math.inf]}, ["alarm_payload.datapoints[1]", "alarm_payload.datapoints[2]"]),
        ({"threshold": math.inf}, ["alarm_payload.threshold"]),
        ({"comparison_operator": 17}, ["alarm_payload.comparison_operator"]),
        ({"alarm": "alarms/other"}, ["alarm_payload.alarm"]),  # not the alarm whose action this is
        ({"time": timestamp_pb2.Timestamp(seconds=5, nanos=-1)}, ["alarm_payload.time"]),
        ({"time": timestamp_pb2.Timestamp(seconds=2**62)}, ["alarm_payload.time"]),
    ],
)
def test_a_bad_alarm_payload_is_invalid_argument_naming_its_field(mesh: Mesh, fields: dict[str, Any], violations: list[str]) -> None:
    mesh.create("up")
    request = policy_pb2.ExecutePolicyRequest(name="policies/up", alarm="alarms/high-cpu", alarm_payload=_alarm_payload(**fields))
    error = _failure(mesh.policy.ExecutePolicy, request)
    assert error.code() == INVALID
    assert sorted(v.field for v in field_violations(error)) == sorted(violations)
    assert mesh.group.adjust_requests == []


def test_an_alarm_that_is_not_an_alarms_name_is_invalid_argument(mesh: Mesh) -> None:
    mesh.create("up")
    error = _failure(mesh.policy.ExecutePolicy, policy_pb2.ExecutePolicyRequest(name="policies/up", alarm="../../x"))
    assert error.code() == INVALID and [v.field for v in field_violations(error)] == ["alarm"]


@pytest.mark.parametrize(("cooldown", "sent"), [(None, None), (to_duration(0), 0.0), (to_duration(90), 90.0)])
def test_an_execution_is_one_adjust_honouring_the_cooldown_with_the_policys_own(
    mesh: Mesh, cooldown: duration_pb2.Duration | None, sent: float | None
) -> None:
    mesh.create("up", **({"cooldown": cooldown} if cooldown is not None else {}))
    mesh.execute("up")
    (adjust,) = mesh.group.adjust_requests
    assert adjust.honor_cooldown
    assert (adjust.cooldown.seconds if adjust.HasField("cooldown") else None) == sent
    # Nothing else is asked of the group: no GetGroup before, no GetActivity after.
    assert mesh.group.calls == ["GetGroup", "Adjust"]  # GetGroup: CreatePolicy's check that the group exists


def test_an_execution_without_a_cause_says_the_caller_executed_it(mesh):
    mesh.create("up")
    mesh.execute("up")
    assert mesh.group.adjust_requests[0].cause == "policies/up (executed by caller)"


@pytest.mark.parametrize(
    ("refusal", "reason", "cooldown_end"),
    [
        (group_pb2.ADJUST_REFUSAL_SCALING_IN_PROGRESS, "group groups/web is resizing (activity groups/web/activities/a-1)", None),
        (group_pb2.ADJUST_REFUSAL_COOLDOWN, "group groups/web is in cooldown until 2023-11-14T22:14:20Z (60s left)", 1_700_000_060.0),
    ],
)
def test_a_refusal_of_the_group_is_relayed_and_recorded(
    mesh: Mesh, refusal: group_pb2.AdjustRefusal, reason: str, cooldown_end: float | None
) -> None:
    mesh.create("up")
    mesh.group.refusal = (refusal, reason, cooldown_end)
    refused = mesh.execute("up", cause="alarms/high")
    assert (refused.adjusted, refused.reason, refused.refusal) == (False, reason, refusal)
    assert not refused.HasField("activity")
    assert refused.HasField("cooldown_end_time") == (cooldown_end is not None)
    if cooldown_end is not None:
        assert refused.cooldown_end_time.seconds == int(cooldown_end)
    (execution,) = mesh.executions("up")
    assert (execution.adjusted, execution.reason, execution.activity, execution.failed) == (False, reason, "", False)


def test_the_policy_service_keeps_no_cooldown_of_its_own(mesh: Mesh) -> None:
    # Whatever the group answered before, each signal asks it again, and its answer alone decides.
    mesh.create("up", cooldown=to_duration(3600))
    assert mesh.execute("up").adjusted
    mesh.group.refusal = (group_pb2.ADJUST_REFUSAL_COOLDOWN, "group groups/web is in cooldown until later", 1_700_003_600.0)
    assert not mesh.execute("up").adjusted
    mesh.group.refusal = None
    again = mesh.execute("up")
    assert (again.adjusted, again.reason) == (True, "desired capacity 2 → 3")
    assert len(mesh.group.adjust_requests) == 3
    assert mesh.group.calls.count("Adjust") == 3 and "GetActivity" not in mesh.group.calls


def test_a_policy_moved_to_another_group_adjusts_that_group(mesh: Mesh) -> None:
    mesh.group.add_group("api", cooldown=0)
    mesh.create("up")
    mesh.execute("up")
    mesh.policy.UpdatePolicy(policy_pb2.UpdatePolicyRequest(
        policy=policy_pb2.Policy(name="policies/up", group="groups/api"), update_mask=field_mask_pb2.FieldMask(paths=["group"]),
    ), timeout=5)
    assert mesh.execute("up").adjusted
    assert [request.name for request in mesh.group.adjust_requests] == ["groups/web", "groups/api"]


def test_a_capacity_that_stays_is_not_adjusted_and_says_why(mesh: Mesh) -> None:
    mesh.group.add_group("full", min_size=1, max_size=3, desired=3)
    mesh.create("up", group="groups/full")
    stays = mesh.execute("up")
    assert (stays.adjusted, stays.reason) == (False, "capacity stays at 3 (already at max_size 3)")
    assert not stays.HasField("activity")
    assert stays.refusal == group_pb2.ADJUST_REFUSAL_UNSPECIFIED


def test_a_repeated_request_id_answers_the_first_call_and_adjusts_once(mesh):
    mesh.create("up")
    first = mesh.execute("up", cause="alarms/high", request_id="r-1")
    mesh.clock.advance(1000)
    assert mesh.execute("up", cause="alarms/high", request_id="r-1") == first
    assert len(mesh.group.adjust_requests) == 1
    assert len(mesh.executions("up")) == 1
    # Another request id is another signal.
    assert mesh.execute("up", request_id="r-2").adjusted


def test_a_repeated_request_id_answers_a_refusal_again(mesh: Mesh) -> None:
    mesh.create("up")
    mesh.group.refusal = (group_pb2.ADJUST_REFUSAL_SCALING_IN_PROGRESS, "group groups/web is resizing (activity a)", None)
    first = mesh.execute("up", request_id="r-1")
    mesh.group.refusal = None
    assert mesh.execute("up", request_id="r-1") == first
    assert len(mesh.group.adjust_requests) == 1


def test_a_policy_whose_group_is_gone_fails_and_says_so_in_its_executions(mesh):
    mesh.group.add_group("old")
    mesh.create("up", group="groups/old")
    mesh.group.delete_group("old")
    error = _failure(mesh.policy.ExecutePolicy, policy_pb2.ExecutePolicyRequest(name="policies/up"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == "its group groups/old no longer exists"
    (execution,) = mesh.executions("up")
    assert (execution.failed, execution.adjusted, execution.reason) == (True, False, "its group groups/old no longer exists")


def test_a_failing_group_service_passes_its_code_on_and_blocks_nothing_afterwards(mesh: Mesh) -> None:
    mesh.create("up", cooldown=to_duration(10))
    mesh.group.failures["Adjust"] = grpc.StatusCode.UNAVAILABLE
    error = _failure(mesh.policy.ExecutePolicy, policy_pb2.ExecutePolicyRequest(name="policies/up", request_id="r-1"))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    execution = mesh.executions("up")[0]
    assert execution.failed and execution.reason.startswith("the group service failed: UNAVAILABLE")
    del mesh.group.failures["Adjust"]
    # A failed execution answered nothing, so a retry with its request id runs again.
    assert mesh.execute("up", request_id="r-1").adjusted


def test_executions_are_listed_newest_first_in_pages_and_deleted_with_their_policy(mesh):
    mesh.create("up", cooldown=to_duration(0))
    for cause in ("first", "second", "third"):
        mesh.execute("up", cause=cause)
        mesh.clock.advance(1)
    first = mesh.policy.ListPolicyExecutions(policy_pb2.ListPolicyExecutionsRequest(name="policies/up", page_size=2), timeout=5)
    rest = mesh.policy.ListPolicyExecutions(
        policy_pb2.ListPolicyExecutionsRequest(name="policies/up", page_size=2, page_token=first.next_page_token), timeout=5)
    assert [e.cause for e in (*first.executions, *rest.executions)] == ["third", "second", "first"]
    assert rest.next_page_token == ""
    mesh.policy.DeletePolicy(policy_pb2.DeletePolicyRequest(name="policies/up"), timeout=5)
    mesh.create("up")
    assert mesh.executions("up") == []


# Step policies


def _step(lower: float | None, upper: float | None, adjustment: int, adjustment_type: int = 0) -> policy_pb2.StepAdjustment:
    step = policy_pb2.StepAdjustment(scaling_adjustment=adjustment, adjustment_type=adjustment_type)
    if lower is not None:
        step.metric_interval_lower_bound = lower
    if upper is not None:
        step.metric_interval_upper_bound = upper
    return step


AWS_SCALE_OUT = [_step(0, 10, 0), _step(10, 20, 10), _step(20, None, 30)]
"""AWS's documented scale-out policy over a threshold of 50 (PercentChangeInCapacity: 0, +10 %, +30 %)."""


def _create_step_policy(mesh: Mesh, policy_id: str = "steps", **fields: Any) -> policy_pb2.Policy:
    return mesh.create(
        policy_id, adjustment_type=PERCENT, scaling_adjustment=0, step_adjustments=AWS_SCALE_OUT,
        estimated_instance_warmup=to_duration(120), **fields,
    )


def test_a_step_policy_is_stored_and_shown_with_its_steps(mesh: Mesh) -> None:
    created = _create_step_policy(mesh, metric_aggregation_type=policy_pb2.METRIC_AGGREGATION_TYPE_MAXIMUM)
    assert list(created.step_adjustments) == AWS_SCALE_OUT
    fetched = mesh.policy.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/steps"), timeout=5).policy
    assert fetched == created
    assert (fetched.metric_aggregation_type, fetched.estimated_instance_warmup.seconds) == (policy_pb2.METRIC_AGGREGATION_TYPE_MAXIMUM, 120)
    assert not fetched.HasField("cooldown")


@pytest.mark.parametrize(
    ("fields", "violations"),
    [
        ({"scaling_adjustment": 2, "cooldown": to_duration(60)}, ["policy.scaling_adjustment", "policy.cooldown"]),
        ({"step_adjustments": [_step(0, 10, 1), _step(20, None, 2)]}, ["policy.step_adjustments[1].metric_interval_lower_bound"]),
        ({"step_adjustments": [_step(None, None, 1)]}, ["policy.step_adjustments[0]"]),
        ({"step_adjustments": [_step(0, None, 1, 9)]}, ["policy.step_adjustments[0].adjustment_type"]),
        ({"metric_aggregation_type": 7}, ["policy.metric_aggregation_type"]),
        ({"estimated_instance_warmup": to_duration(86_401)}, ["policy.estimated_instance_warmup"]),
    ],
)
def test_bad_step_policy_input_is_invalid_argument_naming_the_field(mesh: Mesh, fields: dict[str, Any], violations: list[str]) -> None:
    values: dict[str, Any] = {
        "group": "groups/web", "adjustment_type": PERCENT, "step_adjustments": AWS_SCALE_OUT, **fields,
    }
    request = policy_pb2.CreatePolicyRequest(policy_id="steps", policy=policy_pb2.Policy(**values))
    error = _failure(mesh.policy.CreatePolicy, request)
    assert error.code() == INVALID
    assert sorted(v.field for v in field_violations(error)) == sorted(violations)


def test_a_simple_policy_refuses_the_fields_of_step_policies(mesh: Mesh) -> None:
    request = policy_pb2.CreatePolicyRequest(policy_id="up", policy=policy_pb2.Policy(
        group="groups/web", adjustment_type=CHANGE, scaling_adjustment=1, estimated_instance_warmup=to_duration(60)))
    assert [v.field for v in field_violations(_failure(mesh.policy.CreatePolicy, request))] == ["policy.estimated_instance_warmup"]


def test_a_simple_policy_becomes_a_step_policy_by_update(mesh: Mesh) -> None:
    mesh.create("up")
    mask = field_mask_pb2.FieldMask(paths=["step_adjustments", "scaling_adjustment"])
    changed = mesh.policy.UpdatePolicy(policy_pb2.UpdatePolicyRequest(
        policy=policy_pb2.Policy(name="policies/up", step_adjustments=AWS_SCALE_OUT), update_mask=mask), timeout=5).policy
    assert list(changed.step_adjustments) == AWS_SCALE_OUT and changed.scaling_adjustment == 0


def test_an_alarms_datapoints_pick_the_step_and_the_group_counts_warmup_instead_of_a_cooldown(mesh: Mesh) -> None:
    _create_step_policy(mesh)
    request = policy_pb2.ExecutePolicyRequest(
        name="policies/steps", cause="alarms/high-cpu entered ALARM", alarm="alarms/high-cpu",
        alarm_payload=_alarm_payload(datapoints=[62.0, 64.0]),  # average 63: breach 13, the second step
    )
    response = mesh.policy.ExecutePolicy(request, timeout=5)
    assert response.adjusted and response.step_adjustment == AWS_SCALE_OUT[1]
    assert response.reason.startswith("breach 13 (metric value 63, threshold 50) in step 10 .. 20: ")
    (adjust,) = mesh.group.adjust_requests
    assert (adjust.adjustment_type, adjust.adjustment, adjust.step_scaling, adjust.estimated_instance_warmup.seconds) == (
        PERCENT, 10, True, 120)
    assert not adjust.honor_cooldown and not adjust.HasField("cooldown") and adjust.alarm_notification
    (execution,) = mesh.executions("steps")
    assert (execution.metric_value, execution.breach_threshold, execution.step_adjustment) == (63.0, 50.0, AWS_SCALE_OUT[1])


def test_an_operator_passes_the_metric_value_and_breach_threshold_as_aws_names_them(mesh: Mesh) -> None:
    _create_step_policy(mesh)
    request = policy_pb2.ExecutePolicyRequest(name="policies/steps", metric_value=75, breach_threshold=50)
    assert mesh.policy.ExecutePolicy(request, timeout=5).step_adjustment == AWS_SCALE_OUT[2]
    assert mesh.group.adjust_requests[0].adjustment == 30


def test_a_breach_no_step_holds_or_a_step_of_zero_asks_the_group_nothing_and_says_so(mesh: Mesh) -> None:
    _create_step_policy(mesh)
    execute = mesh.policy.ExecutePolicy
    below = execute(policy_pb2.ExecutePolicyRequest(name="policies/steps", metric_value=45, breach_threshold=50), timeout=5)
    assert (below.adjusted, below.reason) == (False, "no step holds the breach -5 (metric value 45, threshold 50): nothing to do")
    zero = execute(policy_pb2.ExecutePolicyRequest(name="policies/steps", metric_value=55, breach_threshold=50), timeout=5)
    assert not zero.adjusted and zero.reason.startswith("the step 0 .. 10 that holds the breach 5 ")
    assert mesh.group.adjust_requests == []
    assert [e.failed for e in mesh.executions("steps")] == [False, False]


@pytest.mark.parametrize(
    ("request_fields", "said"),
    [
        ({}, "the signal carries no metric value"),
        ({"alarm": "alarms/high-cpu", "alarm_payload": _alarm_payload(datapoints=[], state=alarm_pb2.ALARM_STATE_INSUFFICIENT_DATA)},
         "the action of alarms/high-cpu carries no datapoints"),
    ],
)
def test_a_step_policy_without_a_value_is_refused_naming_the_fields_and_recorded(
    mesh: Mesh, request_fields: dict[str, Any], said: str
) -> None:
    _create_step_policy(mesh)
    error = _failure(mesh.policy.ExecutePolicy, policy_pb2.ExecutePolicyRequest(name="policies/steps", **request_fields))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert said in error.details() and "metric_value and breach_threshold" in error.details()
    (execution,) = mesh.executions("steps")
    assert execution.failed and said in execution.reason
    assert mesh.group.adjust_requests == []


def test_an_alarm_in_alarm_without_datapoints_takes_the_step_next_to_the_threshold(mesh: Mesh) -> None:
    # Missing periods counted as breaching (or a state set by hand): a breach on the alarm's side, of no known size.
    _create_step_policy(mesh)
    request = policy_pb2.ExecutePolicyRequest(
        name="policies/steps", alarm="alarms/high-cpu", alarm_payload=_alarm_payload(datapoints=[])
    )
    response = mesh.policy.ExecutePolicy(request, timeout=5)
    assert response.step_adjustment == AWS_SCALE_OUT[0]
    assert response.reason.startswith("the step 0 .. 10 that holds the breach 0 ")


def test_a_simple_policy_refuses_a_metric_value(mesh: Mesh) -> None:
    mesh.create("up")
    error = _failure(mesh.policy.ExecutePolicy, policy_pb2.ExecutePolicyRequest(name="policies/up", metric_value=1, breach_threshold=0))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "simple policy" in error.details()


def test_a_metric_value_without_its_threshold_is_invalid_argument(mesh: Mesh) -> None:
    _create_step_policy(mesh)
    error = _failure(mesh.policy.ExecutePolicy, policy_pb2.ExecutePolicyRequest(name="policies/steps", metric_value=70))
    assert [v.field for v in field_violations(error)] == ["breach_threshold"]
