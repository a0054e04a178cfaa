"""Adversarial: two projects, and callers without credentials, with expired, revoked or forged keys, with a reader's
key for writes, and with another project's key. Every RPC of every service is tried; nothing is read or written
across projects, and each refusal carries the right code.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message

from autoscale.config import Settings
from autoscale.database import Database
from autoscale.identity.caller import Role
from autoscale.identity.key_store import KeyStore
from autoscale.identity.permissions import Access, required_access
from autoscale.internal.v1 import batch_statistics_pb2, sample_feed_pb2
from autoscale.timeutil import system_clock, to_duration
from autoscale.v1 import (
    alarm_pb2,
    audit_pb2,
    common_pb2,
    group_pb2,
    metrics_pb2,
    policy_pb2,
    quota_pb2,
)
from services.registry import builders
from tests.support import running_server, stored_key

pytestmark = pytest.mark.e2e

SERVICE_FILES = (alarm_pb2, group_pb2, metrics_pb2, policy_pb2, quota_pb2, audit_pb2, batch_statistics_pb2, sample_feed_pb2)
SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def every_method() -> list[str]:
    """Every RPC the mesh serves, as /package.Service/Method."""
    return [
        f"/{service.full_name}/{method.name}"
        for module in SERVICE_FILES
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    ]


def call(channel: grpc.Channel, method: str, request: Message, token: str | None) -> Message:
    """Call `method` with `request`, as the holder of `token` (None: no credentials)."""
    descriptor = descriptor_pool.Default().FindMethodByName(method.strip("/").replace("/", "."))
    response_class = message_factory.GetMessageClass(descriptor.output_type)
    stub = channel.unary_unary(method, request_serializer=lambda m: m.SerializeToString(), response_deserializer=response_class.FromString)
    metadata = (("authorization", f"Bearer {token}"),) if token is not None else None
    return stub(request, metadata=metadata, timeout=10)  # type: ignore[no-any-return]


def refusal(channel: grpc.Channel, method: str, request: Message, token: str | None) -> tuple[grpc.StatusCode, str]:
    """The code and message of a call that must fail."""
    with pytest.raises(grpc.RpcError) as failure:
        call(channel, method, request, token)
    return failure.value.code(), failure.value.details() or ""


def empty_request(method: str) -> Message:
    descriptor = descriptor_pool.Default().FindMethodByName(method.strip("/").replace("/", "."))
    return message_factory.GetMessageClass(descriptor.input_type)()


@dataclass
class Tokens:
    """Keys of both projects, and keys that must not work."""

    p1: dict[Role, str]
    p2: dict[Role, str]
    expired: str
    revoked: str
    forged: str


def _keys(database_url: str) -> Tokens:
    p1 = {role: stored_key(database_url, "p1", role).token for role in Role}
    p2 = {role: stored_key(database_url, "p2", role).token for role in Role}
    expired = stored_key(database_url, "p1", Role.ADMIN, expire_time=system_clock() - 1).token
    revoked = stored_key(database_url, "p1", Role.ADMIN)
    database = Database(database_url)
    try:
        KeyStore(database).revoke(revoked.id, system_clock())
    finally:
        database.dispose()
    forged = f"ask_{p1[Role.ADMIN].split('_')[1]}_{'A' * 43}"  # a real key's id with a made-up secret
    return Tokens(p1, p2, expired, revoked.token, forged)


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[grpc.Channel, Tokens]]:
    folder = tmp_path_factory.mktemp("adversarial")
    database_url = f"sqlite:///{folder / 'autoscale.db'}"
    tokens = _keys(database_url)
    settings = Settings(
        database_url=database_url, auth="keys", enable_process_driver=True, instance_log_dir=str(folder / "logs"),
        reconcile_interval=0.2, alarm_sweep_interval=1.0, alarm_action_backoff=0.05, alarm_action_attempts=1,
    )
    with running_server(builders(), settings) as (_, channel):
        _make_project_resources(channel, tokens.p1[Role.ADMIN])
        yield channel, tokens
        # The group's instance is a process of this machine: deleting the group stops it.
        call(channel, "/autoscale.v1.AlarmService/DeleteAlarm", alarm_pb2.DeleteAlarmRequest(name="alarms/high"), tokens.p1[Role.ADMIN])
        call(channel, "/autoscale.v1.GroupService/DeleteGroup", group_pb2.DeleteGroupRequest(name="groups/web", force=True),
             tokens.p1[Role.ADMIN])


def _make_project_resources(channel: grpc.Channel, admin: str) -> None:
    """p1's launch config, group (one instance), policy and its receiver, alarm and series."""
    group = "/autoscale.v1.GroupService/"
    call(channel, group + "CreateLaunchConfig", group_pb2.CreateLaunchConfigRequest(
        launch_config_id="lc", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=SLEEPER)),
    ), admin)
    call(channel, group + "CreateGroup", group_pb2.CreateGroupRequest(
        group_id="web", group=group_pb2.Group(launch_config="launchConfigs/lc", min_size=1, max_size=3, cooldown=to_duration(0)),
    ), admin)
    call(channel, "/autoscale.v1.PolicyService/CreatePolicy", policy_pb2.CreatePolicyRequest(
        policy_id="up", policy=policy_pb2.Policy(
            group="groups/web", adjustment_type=common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY, scaling_adjustment=1,
        ),
    ), admin)
    call(channel, "/autoscale.v1.PolicyService/CreateReceiver", policy_pb2.CreateReceiverRequest(
        parent="policies/up", receiver_id="am", receiver=policy_pb2.Receiver(format=policy_pb2.RECEIVER_FORMAT_ALERTMANAGER),
    ), admin)
    call(channel, "/autoscale.v1.AlarmService/CreateAlarm", alarm_pb2.CreateAlarmRequest(
        alarm_id="high", alarm=alarm_pb2.Alarm(
            threshold_rule=alarm_pb2.ThresholdRule(
                metric="cpu", dimensions={"group": "web"}, statistic=common_pb2.STATISTIC_AVERAGE,
                comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, threshold=1000, period=to_duration(60),
                evaluation_periods=1,
            ),
            alarm_actions=["policies/up"],
        ),
    ), admin)
    call(channel, "/autoscale.v1.MetricsService/PutSamples", metrics_pb2.PutSamplesRequest(
        series=[metrics_pb2.TimeSeries(metric="cpu", dimensions={"group": "web"}, points=[metrics_pb2.Point(value=5)])],
    ), admin)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        instances = call(channel, group + "ListInstances", group_pb2.ListInstancesRequest(parent="groups/web"), admin)
        if any(instance.state == group_pb2.INSTANCE_STATE_RUNNING for instance in instances.instances):  # type: ignore[attr-defined]
            return
        time.sleep(0.1)
    raise AssertionError("p1's group did not start its instance")


def _p1_state(channel: grpc.Channel, admin: str) -> dict[str, Any]:
    """What p1 holds, to compare before and after the attacks."""
    group = call(channel, "/autoscale.v1.GroupService/GetGroup", group_pb2.GetGroupRequest(name="groups/web"), admin)
    alarm = call(channel, "/autoscale.v1.AlarmService/GetAlarm", alarm_pb2.GetAlarmRequest(name="alarms/high"), admin)
    policy = call(channel, "/autoscale.v1.PolicyService/GetPolicy", policy_pb2.GetPolicyRequest(name="policies/up"), admin)
    history = call(channel, "/autoscale.v1.AlarmService/ListAlarmHistory", alarm_pb2.ListAlarmHistoryRequest(name="alarms/high"), admin)
    activities = call(channel, "/autoscale.v1.GroupService/ListActivities", group_pb2.ListActivitiesRequest(parent="groups/web"), admin)
    executions = call(
        channel, "/autoscale.v1.PolicyService/ListPolicyExecutions", policy_pb2.ListPolicyExecutionsRequest(name="policies/up"), admin
    )
    series = call(channel, "/autoscale.v1.MetricsService/ListMetrics", metrics_pb2.ListMetricsRequest(), admin)
    config = call(channel, "/autoscale.v1.GroupService/GetLaunchConfig", group_pb2.GetLaunchConfigRequest(name="launchConfigs/lc"), admin)
    quota = call(channel, "/autoscale.v1.QuotaService/GetQuota", quota_pb2.GetQuotaRequest(name="projects/p1/quota"), admin)
    receivers = call(channel, "/autoscale.v1.PolicyService/ListReceivers", policy_pb2.ListReceiversRequest(parent="policies/up"), admin)
    return {
        "group": (group.group.desired_capacity, group.group.min_size, group.group.max_size),  # type: ignore[attr-defined]
        "alarm": (alarm.alarm.state, alarm.alarm.threshold_rule.threshold, list(alarm.alarm.alarm_actions)),  # type: ignore[attr-defined]
        "policy": policy.policy.scaling_adjustment,  # type: ignore[attr-defined]
        "history": len(history.entries),  # type: ignore[attr-defined]
        "activities": len(activities.activities),  # type: ignore[attr-defined]
        "executions": len(executions.executions),  # type: ignore[attr-defined]
        "series": [m.metric for m in series.metrics],  # type: ignore[attr-defined]
        "config": list(config.launch_config.process.command),  # type: ignore[attr-defined]
        "quota": quota.quota.SerializeToString(deterministic=True),  # type: ignore[attr-defined]
        "receivers": [receiver.name for receiver in receivers.receivers],  # type: ignore[attr-defined]
    }


# Every method, with a request naming p1's resource (or another project's name where it names none).
def _requests_naming_p1() -> dict[str, Callable[[str], Message]]:
    """For each method, a request naming the resource called `id` (p1's resources are lc, web, up, high)."""
    return {
        "GetLaunchConfig": lambda i: group_pb2.GetLaunchConfigRequest(name=f"launchConfigs/{i}"),
        "DeleteLaunchConfig": lambda i: group_pb2.DeleteLaunchConfigRequest(name=f"launchConfigs/{i}"),
        "GetGroup": lambda i: group_pb2.GetGroupRequest(name=f"groups/{i}"),
        "UpdateGroup": lambda i: _update_group(i),
        "DeleteGroup": lambda i: group_pb2.DeleteGroupRequest(name=f"groups/{i}", force=True),
        "Adjust": lambda i: group_pb2.AdjustRequest(
            name=f"groups/{i}", adjustment_type=common_pb2.ADJUSTMENT_TYPE_EXACT_CAPACITY, adjustment=3
        ),
        "ListInstances": lambda i: group_pb2.ListInstancesRequest(parent=f"groups/{i}"),
        "TerminateInstance": lambda i: group_pb2.TerminateInstanceRequest(
            name=f"groups/{i}/instances/i-x", should_decrement_desired_capacity=True
        ),
        "SetInstanceProtection": lambda i: group_pb2.SetInstanceProtectionRequest(
            group=f"groups/{i}", instances=[f"groups/{i}/instances/i-x"], protected_from_scale_in=True
        ),
        "ListActivities": lambda i: group_pb2.ListActivitiesRequest(parent=f"groups/{i}"),
        "GetActivity": lambda i: group_pb2.GetActivityRequest(name=f"groups/{i}/activities/x"),
        "GetPolicy": lambda i: policy_pb2.GetPolicyRequest(name=f"policies/{i}"),
        "UpdatePolicy": lambda i: _update_policy(i),
        "DeletePolicy": lambda i: policy_pb2.DeletePolicyRequest(name=f"policies/{i}"),
        "ExecutePolicy": lambda i: policy_pb2.ExecutePolicyRequest(name=f"policies/{i}"),
        "ListPolicyExecutions": lambda i: policy_pb2.ListPolicyExecutionsRequest(name=f"policies/{i}"),
        "GetAlarm": lambda i: alarm_pb2.GetAlarmRequest(name=f"alarms/{i}"),
        "UpdateAlarm": lambda i: _update_alarm(i),
        "DeleteAlarm": lambda i: alarm_pb2.DeleteAlarmRequest(name=f"alarms/{i}"),
        "ListAlarmHistory": lambda i: alarm_pb2.ListAlarmHistoryRequest(name=f"alarms/{i}"),
        "SetAlarmState": lambda i: alarm_pb2.SetAlarmStateRequest(name=f"alarms/{i}", state=alarm_pb2.ALARM_STATE_ALARM, reason="x"),
        "CreateReceiver": lambda i: policy_pb2.CreateReceiverRequest(
            parent=f"policies/{i}", receiver_id="steal", receiver=policy_pb2.Receiver(format=policy_pb2.RECEIVER_FORMAT_PLAIN)
        ),
        "GetReceiver": lambda i: policy_pb2.GetReceiverRequest(name=f"policies/{i}/receivers/am"),
        "ListReceivers": lambda i: policy_pb2.ListReceiversRequest(parent=f"policies/{i}"),
        "DeleteReceiver": lambda i: policy_pb2.DeleteReceiverRequest(name=f"policies/{i}/receivers/am"),
    }


def _update_group(group_id: str) -> Message:
    request = group_pb2.UpdateGroupRequest(group=group_pb2.Group(name=f"groups/{group_id}", max_size=9))
    request.update_mask.paths.append("max_size")
    return request


def _update_policy(policy_id: str) -> Message:
    request = policy_pb2.UpdatePolicyRequest(policy=policy_pb2.Policy(name=f"policies/{policy_id}", scaling_adjustment=5))
    request.update_mask.paths.append("scaling_adjustment")
    return request


def _update_alarm(alarm_id: str) -> Message:
    request = alarm_pb2.UpdateAlarmRequest(alarm=alarm_pb2.Alarm(name=f"alarms/{alarm_id}", description="mine now"))
    request.update_mask.paths.append("description")
    return request


P1_IDS = {
    "LaunchConfig": "lc", "Group": "web", "InstanceProtection": "web", "Instance": "web",
    "Adjust": "web", "Instances": "web", "Activities": "web", "Activity": "web",
    "Policy": "up", "PolicyExecutions": "up", "Receiver": "up", "Receivers": "up",
    "Alarm": "high", "AlarmHistory": "high", "AlarmState": "high",
}


def _p1_id(method_name: str) -> str:
    for suffix, resource_id in sorted(P1_IDS.items(), key=lambda item: -len(item[0])):
        if method_name.endswith(suffix):
            return resource_id
    raise KeyError(method_name)


@pytest.mark.parametrize("method", every_method())
def test_every_method_refuses_a_call_without_credentials_or_with_a_bad_key(mesh, method: str) -> None:  # type: ignore[no-untyped-def]
    channel, tokens = mesh
    for token in (None, tokens.expired, tokens.revoked, tokens.forged, "not-a-key", "ask_000000000000_unknown"):
        code, _ = refusal(channel, method, empty_request(method), token)
        assert code == grpc.StatusCode.UNAUTHENTICATED, (method, token)


@pytest.mark.parametrize("method", [m for m in every_method() if required_access(m) == Role.MEMBER])
def test_every_method_that_changes_something_is_denied_to_a_reader(mesh, method: str) -> None:  # type: ignore[no-untyped-def]
    channel, tokens = mesh
    code, message = refusal(channel, method, empty_request(method), tokens.p1[Role.READER])
    assert code == grpc.StatusCode.PERMISSION_DENIED and "member role" in message


@pytest.mark.parametrize("method", [m for m in every_method() if required_access(m) == Access.SERVICE])
def test_the_internal_methods_are_denied_to_every_user_even_an_admin(mesh, method: str) -> None:  # type: ignore[no-untyped-def]
    channel, tokens = mesh
    code, _ = refusal(channel, method, empty_request(method), tokens.p1[Role.ADMIN])
    assert code == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("name", sorted(_requests_naming_p1()))
def test_another_projects_resource_is_not_found_exactly_as_a_missing_one(mesh, name: str) -> None:  # type: ignore[no-untyped-def]
    channel, tokens = mesh
    method = next(m for m in every_method() if m.endswith("/" + name))
    request_for = _requests_naming_p1()[name]
    before = _p1_state(channel, tokens.p1[Role.ADMIN])
    p1_id = _p1_id(name)
    code, message = refusal(channel, method, request_for(p1_id), tokens.p2[Role.ADMIN])
    missing_code, missing_message = refusal(channel, method, request_for("nowhere"), tokens.p2[Role.ADMIN])
    assert code == grpc.StatusCode.NOT_FOUND
    assert (code, message.replace(p1_id, "ID")) == (missing_code, missing_message.replace("nowhere", "ID"))
    assert _p1_state(channel, tokens.p1[Role.ADMIN]) == before


def test_lists_show_only_the_callers_projects_resources(mesh) -> None:  # type: ignore[no-untyped-def]
    channel, tokens = mesh
    other = tokens.p2[Role.READER]
    lists = {
        "/autoscale.v1.GroupService/ListLaunchConfigs": "launch_configs", "/autoscale.v1.GroupService/ListGroups": "groups",
        "/autoscale.v1.PolicyService/ListPolicies": "policies", "/autoscale.v1.AlarmService/ListAlarms": "alarms",
        "/autoscale.v1.MetricsService/ListMetrics": "metrics",
    }
    for method, field in lists.items():
        assert list(getattr(call(channel, method, empty_request(method), other), field)) == [], method
        assert list(getattr(call(channel, method, empty_request(method), tokens.p1[Role.READER]), field)), method


def test_another_projects_samples_of_the_same_metric_never_reach_this_projects_statistics_or_alarms(mesh) -> None:  # type: ignore[no-untyped-def]
    channel, tokens = mesh
    before = _p1_state(channel, tokens.p1[Role.ADMIN])
    other = tokens.p2[Role.ADMIN]
    call(channel, "/autoscale.v1.AlarmService/CreateAlarm", alarm_pb2.CreateAlarmRequest(
        alarm_id="watching-the-same-series", alarm=alarm_pb2.Alarm(threshold_rule=alarm_pb2.ThresholdRule(
            metric="cpu", dimensions={"group": "web"}, statistic=common_pb2.STATISTIC_AVERAGE, threshold=1000,
            comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, period=to_duration(60), evaluation_periods=1,
        )),
    ), other)
    call(channel, "/autoscale.v1.MetricsService/PutSamples", metrics_pb2.PutSamplesRequest(
        series=[metrics_pb2.TimeSeries(metric="cpu", dimensions={"group": "web"}, points=[metrics_pb2.Point(value=99999)])],
    ), other)
    # p2's namesake alarm sees p2's sample; p1's must not.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        alarm = call(
            channel, "/autoscale.v1.AlarmService/GetAlarm", alarm_pb2.GetAlarmRequest(name="alarms/watching-the-same-series"), other
        )
        if alarm.alarm.state == alarm_pb2.ALARM_STATE_ALARM:  # type: ignore[attr-defined]
            break
        time.sleep(0.05)
    else:
        raise AssertionError("p2's alarm never saw p2's sample")
    statistics = metrics_pb2.GetStatisticsRequest(
        metric="cpu", dimensions={"group": "web"}, statistic=common_pb2.STATISTIC_MAXIMUM, period=to_duration(86400),
    )
    p1 = call(channel, "/autoscale.v1.MetricsService/GetStatistics", statistics, tokens.p1[Role.READER])
    assert [point.value for point in p1.datapoints] == [5]  # type: ignore[attr-defined]
    assert _p1_state(channel, tokens.p1[Role.ADMIN]) == before


def test_a_policy_cannot_name_another_projects_group_nor_a_group_another_projects_launch_config(mesh) -> None:  # type: ignore[no-untyped-def]
    channel, tokens = mesh
    other = tokens.p2[Role.ADMIN]

    def create_policy(group_id: str) -> tuple[grpc.StatusCode, str]:
        return refusal(channel, "/autoscale.v1.PolicyService/CreatePolicy", policy_pb2.CreatePolicyRequest(
            policy_id="steal", policy=policy_pb2.Policy(
                group=f"groups/{group_id}", adjustment_type=common_pb2.ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY, scaling_adjustment=1,
            ),
        ), other)

    code, message = create_policy("web")
    missing_code, missing_message = create_policy("nowhere")
    assert code == missing_code and message.replace("web", "ID") == missing_message.replace("nowhere", "ID")

    def create_group(config_id: str) -> tuple[grpc.StatusCode, str]:
        return refusal(channel, "/autoscale.v1.GroupService/CreateGroup", group_pb2.CreateGroupRequest(
            group_id="steal", group=group_pb2.Group(launch_config=f"launchConfigs/{config_id}", min_size=0, max_size=1),
        ), other)

    code, message = create_group("lc")
    missing_code, missing_message = create_group("nowhere")
    assert code == missing_code and message.replace("lc", "ID") == missing_message.replace("nowhere", "ID")


def test_an_alarm_naming_another_projects_policy_runs_its_own_projects_and_fails_as_missing(mesh) -> None:  # type: ignore[no-untyped-def]
    channel, tokens = mesh
    other = tokens.p2[Role.ADMIN]
    before = _p1_state(channel, tokens.p1[Role.ADMIN])
    call(channel, "/autoscale.v1.AlarmService/CreateAlarm", alarm_pb2.CreateAlarmRequest(
        alarm_id="hijack", alarm=alarm_pb2.Alarm(
            threshold_rule=alarm_pb2.ThresholdRule(
                metric="cpu", statistic=common_pb2.STATISTIC_AVERAGE, threshold=1,
                comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN, period=to_duration(60), evaluation_periods=1,
            ),
            alarm_actions=["policies/up"],
        ),
    ), other)
    call(channel, "/autoscale.v1.AlarmService/SetAlarmState", alarm_pb2.SetAlarmStateRequest(
        name="alarms/hijack", state=alarm_pb2.ALARM_STATE_ALARM, reason="attack",
    ), other)
    deadline = time.monotonic() + 20
    action: Any = None
    while action is None and time.monotonic() < deadline:
        request = alarm_pb2.ListAlarmHistoryRequest(name="alarms/hijack")
        history: Any = call(channel, "/autoscale.v1.AlarmService/ListAlarmHistory", request, other)
        action = next((e for e in history.entries if e.type == alarm_pb2.ALARM_HISTORY_TYPE_ACTION), None)
        time.sleep(0.05)
    assert action is not None and not action.action_succeeded and "not found" in action.reason.lower()
    assert _p1_state(channel, tokens.p1[Role.ADMIN]) == before
