"""AlarmService over a real in-process server, with fake metrics and policy services beside it."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from autoscale.errors import field_violations
from autoscale.internal.v1 import sample_feed_pb2
from autoscale.timeutil import to_duration
from autoscale.v1 import alarm_pb2, common_pb2
from tests.services.alarm.mesh import ACTION, Mesh, mesh_with, wait_for
from tests.support import FakeClock

ALARM = alarm_pb2.ALARM_STATE_ALARM
OK = alarm_pb2.ALARM_STATE_OK
INSUFFICIENT = alarm_pb2.ALARM_STATE_INSUFFICIENT_DATA
TRANSITION = alarm_pb2.ALARM_HISTORY_TYPE_STATE_TRANSITION
INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture
def mesh(sqlite_url) -> Iterator[Mesh]:
    with mesh_with(sqlite_url) as mesh:
        yield mesh


def _failure(call: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def test_a_new_alarm_starts_with_insufficient_data_and_records_its_creation(mesh):
    alarm = mesh.create()
    assert (alarm.name, alarm.state, alarm.disabled) == ("alarms/high-cpu", INSUFFICIENT, False)
    assert alarm.create_time.seconds > 0
    assert mesh.history()[-1].type == alarm_pb2.ALARM_HISTORY_TYPE_CREATION


def test_arriving_samples_move_the_alarm_and_execute_its_policy(mesh):
    mesh.create()
    mesh.metrics.values["cpu_util"] = [95.0]
    assert mesh.notify() == 1
    assert mesh.policy.called.wait(5)
    request = mesh.policy.requests[0]
    assert request.name == "policies/scale-out"
    assert request.cause.startswith("alarms/high-cpu entered ALARM: average(cpu_util{group=web}) > 80")
    assert request.request_id
    assert mesh.get().state == ALARM
    wait_for(lambda: mesh.actions(1))
    history = mesh.history()
    transition = next(e for e in history if e.type == TRANSITION)
    assert (transition.previous_state, transition.state) == (INSUFFICIENT, ALARM)
    assert "95" in transition.reason
    action = next(e for e in history if e.type == ACTION)
    assert (action.action, action.action_succeeded, action.attempt) == ("policies/scale-out", True, 1)
    assert action.reason == "adjusted: capacity 1 -> 2 (groups/web/activities/a1)"


def test_a_policy_action_carries_the_alarms_transition_its_datapoints_and_threshold(mesh):
    mesh.create()
    mesh.metrics.values["cpu_util"] = [95.0]
    mesh.notify()
    (request,) = mesh.policy.wait_for_requests(1)
    payload = request.alarm_payload
    assert (payload.alarm, payload.previous_state, payload.state, payload.repeat) == ("alarms/high-cpu", INSUFFICIENT, ALARM, False)
    assert list(payload.datapoints) == [95.0]
    assert (payload.threshold, payload.comparison_operator) == (80.0, alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN)
    assert payload.reason.startswith("average(cpu_util{group=web}) > 80") and payload.time.seconds > 0


def test_a_policy_action_of_a_state_set_by_hand_carries_no_datapoints_but_the_rules_threshold(mesh):
    mesh.create()
    mesh.settle()  # its first evaluation done: it cannot undo the state set next
    mesh.alarms.SetAlarmState(alarm_pb2.SetAlarmStateRequest(name="alarms/high-cpu", state=ALARM, reason="drill"), timeout=5)
    (request,) = mesh.policy.wait_for_requests(1)
    payload = request.alarm_payload
    assert (payload.state, payload.reason, list(payload.datapoints)) == (ALARM, "set by an operator: drill", [])
    assert payload.HasField("threshold") and payload.threshold == 80.0


def test_statistics_are_asked_for_the_rule_and_its_aligned_window(mesh):
    mesh.create(period=60, evaluation_periods=3)
    wait_for(lambda: mesh.metrics.requests)
    query = mesh.metrics.requests[-1]
    assert (query.metric, query.dimensions, query.statistic) == ("cpu_util", {"group": "web"}, common_pb2.STATISTIC_AVERAGE)
    assert query.period == 60
    assert query.start % 60 == 0 and query.end % 60 == 0
    assert query.end - query.start == 4 * 60


def test_samples_of_other_series_do_not_match(mesh):
    mesh.create()
    assert mesh.notify(group="db") == 0
    assert mesh.notify("mem_util", group="web") == 0


def test_a_transition_runs_its_actions_once_within_a_period(mesh):
    mesh.create()
    mesh.metrics.values["cpu_util"] = [95.0]
    mesh.notify()
    wait_for(lambda: mesh.get().state == ALARM)
    mesh.notify()
    mesh.notify()
    mesh.settle()
    assert len(mesh.policy.requests) == 1


def test_repeat_actions_run_again_while_in_the_state_at_most_once_per_period(sqlite_url):
    clock = FakeClock()
    with mesh_with(sqlite_url, clock) as mesh:
        mesh.create(period=1, repeat_actions=True)
        mesh.metrics.values["cpu_util"] = [95.0]
        mesh.notify()
        mesh.policy.wait_for_requests(1)
        wait_for(lambda: mesh.actions(1))  # done: a repeat never runs beside the invocation before it
        mesh.notify()  # within the period: not repeated yet
        clock.advance(1)
        mesh.notify()
        first, repeated = mesh.policy.wait_for_requests(2)
        assert repeated.cause.startswith("alarms/high-cpu is still in ALARM")
        assert repeated.request_id != first.request_id


def test_a_signal_the_policy_refused_is_sent_again_a_period_later_while_the_alarm_stays_in_alarm(sqlite_url):
    # The group was still booting its first instance: the policy refused the alarm's one signal.
    clock = FakeClock()
    with mesh_with(sqlite_url, clock) as mesh:
        mesh.policy.refusals = ["group groups/web is resizing"]
        mesh.create(period=60)
        mesh.metrics.values["cpu_util"] = [95.0]
        mesh.notify()
        (first,) = mesh.policy.wait_for_requests(1)
        wait_for(lambda: mesh.actions(1))
        mesh.notify()  # more samples within the period: not sent again yet
        clock.advance(60)
        mesh.notify()
        first, second = mesh.policy.wait_for_requests(2)
        assert first.cause.startswith("alarms/high-cpu entered ALARM") and second.cause.startswith("alarms/high-cpu is still in ALARM")
        assert first.request_id != second.request_id
        refused, adjusted = sorted(wait_for(lambda: mesh.actions(2)), key=lambda entry: entry.time.ToNanoseconds())
        assert refused.reason == "not adjusted: group groups/web is resizing (runs again every 60s while the alarm stays in ALARM)"
        assert adjusted.reason == "still in ALARM, run again: adjusted: capacity 1 -> 2 (groups/web/activities/a1)"
        assert (adjusted.action, adjusted.action_succeeded, adjusted.state) == ("policies/scale-out", True, ALARM)
        assert mesh.get().state == ALARM
        clock.advance(60)
        mesh.notify()  # under sustained load the group keeps scaling after each cooldown
        assert len(mesh.policy.wait_for_requests(3)) == 3


def test_the_sweep_sends_again_a_signal_the_policy_refused(sqlite_url):
    clock = FakeClock()
    with mesh_with(sqlite_url, clock, alarm_sweep_interval=0.05) as mesh:
        mesh.policy.refusals = ["group groups/web is resizing"]
        mesh.metrics.values["cpu_util"] = [95.0]
        mesh.create(period=60)
        mesh.policy.wait_for_requests(1)
        wait_for(lambda: mesh.actions(1))
        clock.advance(60)
        requests = mesh.policy.wait_for_requests(2)
        assert requests[1].cause.startswith("alarms/high-cpu is still in ALARM")
        assert [entry.action_succeeded for entry in wait_for(lambda: mesh.actions(2))] == [True, True]


def test_what_set_alarm_state_sent_while_the_group_was_resizing_is_sent_again_while_the_alarm_stays_in_alarm(sqlite_url):
    clock = FakeClock()
    with mesh_with(sqlite_url, clock) as mesh:
        mesh.policy.refusals = ["group groups/web is resizing"]
        mesh.create(period=60)
        mesh.settle()  # its first evaluation (no data yet) done, so that it cannot undo the state set next
        mesh.alarms.SetAlarmState(alarm_pb2.SetAlarmStateRequest(name="alarms/high-cpu", state=ALARM, reason="testing"), timeout=5)
        mesh.policy.wait_for_requests(1)
        wait_for(lambda: mesh.actions(1))
        mesh.metrics.values["cpu_util"] = [95.0]  # the load the alarm watches keeps it in ALARM
        clock.advance(60)
        mesh.notify()
        requests = mesh.policy.wait_for_requests(2)
        assert requests[0].cause == "alarms/high-cpu entered ALARM: set by an operator: testing"
        assert requests[1].cause.startswith("alarms/high-cpu is still in ALARM")


def test_a_failed_action_is_retried_with_the_same_request_id_and_every_attempt_recorded(mesh):
    # (UNAVAILABLE is retried by the channel itself before the dispatcher sees it.)
    mesh.policy.failures = [grpc.StatusCode.INTERNAL, grpc.StatusCode.RESOURCE_EXHAUSTED]
    mesh.create()
    mesh.metrics.values["cpu_util"] = [95.0]
    mesh.notify()
    wait_for(lambda: len(mesh.policy.requests) == 3)
    assert len({r.request_id for r in mesh.policy.requests}) == 1
    actions = wait_for(lambda: mesh.actions(3))
    assert sorted((e.attempt, e.action_succeeded) for e in actions) == [(1, False), (2, False), (3, True)]
    assert any("retrying in" in e.reason for e in actions)


def test_an_action_whose_policy_is_gone_is_recorded_and_not_retried(mesh):
    mesh.policy.failures = [grpc.StatusCode.NOT_FOUND]
    mesh.create()
    mesh.metrics.values["cpu_util"] = [95.0]
    mesh.notify()
    actions = wait_for(lambda: mesh.actions(1))
    mesh.settle()
    assert len(mesh.policy.requests) == 1
    assert not actions[0].action_succeeded and "NOT_FOUND" in actions[0].reason and "not retried" in actions[0].reason


def test_a_failing_metrics_service_leaves_the_state_as_it_was(mesh):
    mesh.create()
    mesh.metrics.values["cpu_util"] = [95.0]
    mesh.notify()
    wait_for(lambda: mesh.get().state == ALARM)
    mesh.metrics.failure = grpc.StatusCode.UNAVAILABLE
    mesh.metrics.values["cpu_util"] = [10.0]
    requests = len(mesh.metrics.requests)
    mesh.notify()
    wait_for(lambda: len(mesh.metrics.requests) > requests)
    mesh.settle()
    assert mesh.get().state == ALARM


def test_set_alarm_state_forces_the_state_runs_its_actions_and_says_who(mesh):
    mesh.create(ok_actions=["policies/scale-in"])
    response = mesh.alarms.SetAlarmState(alarm_pb2.SetAlarmStateRequest(name="alarms/high-cpu", state=OK, reason="testing"), timeout=5)
    assert response.alarm.state == OK
    assert response.alarm.state_reason == "set by an operator: testing"
    wait_for(lambda: mesh.policy.requests)
    assert mesh.policy.requests[0].name == "policies/scale-in"


def test_set_alarm_state_of_a_missing_alarm_is_not_found(mesh):
    error = _failure(lambda: mesh.alarms.SetAlarmState(alarm_pb2.SetAlarmStateRequest(name="alarms/missing", state=OK), timeout=5))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "alarms/missing" in error.details()


def test_set_alarm_state_requires_a_state(mesh):
    mesh.create()
    error = _failure(lambda: mesh.alarms.SetAlarmState(alarm_pb2.SetAlarmStateRequest(name="alarms/high-cpu"), timeout=5))
    assert error.code() == INVALID
    assert [v.field for v in field_violations(error)] == ["state"]


def test_the_sweep_notices_missing_data(sqlite_url):
    with mesh_with(sqlite_url, alarm_sweep_interval=0.2) as mesh:
        mesh.create()
        mesh.metrics.values["cpu_util"] = [95.0]
        wait_for(lambda: mesh.get().state == ALARM)
        mesh.metrics.values["cpu_util"] = []
        wait_for(lambda: mesh.get().state == INSUFFICIENT)
        assert mesh.get().evaluate_time.seconds > 0
        assert mesh.metrics.batches > 0


def test_update_with_a_mask_changes_only_the_named_rule_field_and_records_it(mesh):
    mesh.create(description="hot")
    change = alarm_pb2.Alarm(name="alarms/high-cpu", threshold_rule=alarm_pb2.ThresholdRule(threshold=50))
    updated = mesh.alarms.UpdateAlarm(
        alarm_pb2.UpdateAlarmRequest(alarm=change, update_mask=field_mask_pb2.FieldMask(paths=["threshold_rule.threshold"])), timeout=5
    ).alarm
    assert updated.threshold_rule.threshold == 50
    assert (updated.threshold_rule.metric, updated.description, list(updated.alarm_actions)) == ("cpu_util", "hot", ["policies/scale-out"])
    assert mesh.history()[0].type == alarm_pb2.ALARM_HISTORY_TYPE_RULE_CHANGE


def test_update_without_a_mask_replaces_every_field(mesh):
    mesh.create(description="hot")
    current = mesh.get()
    current.ClearField("alarm_actions")
    current.description = ""
    updated = mesh.alarms.UpdateAlarm(alarm_pb2.UpdateAlarmRequest(alarm=current), timeout=5).alarm
    assert (updated.description, list(updated.alarm_actions)) == ("", [])


def test_update_with_an_unknown_mask_path_is_invalid(mesh):
    mesh.create()
    mask = field_mask_pb2.FieldMask(paths=["colour"])
    request = alarm_pb2.UpdateAlarmRequest(alarm=alarm_pb2.Alarm(name="alarms/high-cpu"), update_mask=mask)
    error = _failure(lambda: mesh.alarms.UpdateAlarm(request, timeout=5))
    assert error.code() == INVALID and [v.field for v in field_violations(error)] == ["update_mask"]


def test_a_disabled_alarm_is_not_evaluated(mesh):
    mesh.create(disabled=True)
    mesh.metrics.values["cpu_util"] = [95.0]
    assert mesh.notify() == 0
    mesh.settle()
    assert mesh.get().state == INSUFFICIENT and not mesh.policy.requests


def test_delete_removes_the_alarm_and_its_history(mesh):
    mesh.create()
    mesh.alarms.DeleteAlarm(alarm_pb2.DeleteAlarmRequest(name="alarms/high-cpu"), timeout=5)
    for call in (lambda: mesh.get(), lambda: mesh.history()):
        assert _failure(call).code() == grpc.StatusCode.NOT_FOUND
    assert mesh.notify() == 0
    mesh.create()
    assert len(mesh.history()) == 1


def test_list_alarms_pages_in_name_order(mesh):
    for alarm_id in ("c", "a", "b"):
        mesh.create(alarm_id)
    first = mesh.alarms.ListAlarms(alarm_pb2.ListAlarmsRequest(page_size=2), timeout=5)
    second = mesh.alarms.ListAlarms(alarm_pb2.ListAlarmsRequest(page_size=2, page_token=first.next_page_token), timeout=5)
    assert [a.name for a in first.alarms] + [a.name for a in second.alarms] == ["alarms/a", "alarms/b", "alarms/c"]
    assert second.next_page_token == ""
    error = _failure(lambda: mesh.alarms.ListAlarms(alarm_pb2.ListAlarmsRequest(page_token="junk"), timeout=5))
    assert [v.field for v in field_violations(error)] == ["page_token"]


def test_creating_an_alarm_twice_is_already_exists(mesh):
    mesh.create()
    assert _failure(lambda: mesh.create()).code() == grpc.StatusCode.ALREADY_EXISTS


def _rule(**changes: Any) -> alarm_pb2.ThresholdRule:
    fields = {"metric": "cpu", "statistic": common_pb2.STATISTIC_AVERAGE, "comparison_operator": alarm_pb2.COMPARISON_OPERATOR_LESS_THAN,
              "threshold": 1.0, "period": to_duration(60)}
    fields.update(changes)
    return alarm_pb2.ThresholdRule(**{k: v for k, v in fields.items() if v is not None})


@pytest.mark.parametrize(
    ("alarm_id", "alarm", "field"),
    [
        ("Bad", alarm_pb2.Alarm(threshold_rule=_rule()), "alarm_id"),
        ("a", alarm_pb2.Alarm(), "alarm.threshold_rule"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(metric="")), "alarm.threshold_rule.metric"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(statistic=0)), "alarm.threshold_rule.statistic"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(statistic=42)), "alarm.threshold_rule.statistic"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(comparison_operator=0)), "alarm.threshold_rule.comparison_operator"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(threshold=float("nan"))), "alarm.threshold_rule.threshold"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(period=None)), "alarm.threshold_rule.period"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(period=to_duration(0))), "alarm.threshold_rule.period"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(period=to_duration(-5))), "alarm.threshold_rule.period"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(period=to_duration(86_401))), "alarm.threshold_rule.period"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(period=duration_pb2.Duration(seconds=2**63 - 1))), "alarm.threshold_rule.period"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(period=duration_pb2.Duration(seconds=60, nanos=-1))), "alarm.threshold_rule.period"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(evaluation_periods=-1)), "alarm.threshold_rule.evaluation_periods"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(), alarm_actions=["groups/web"]), "alarm.alarm_actions[0]"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(), ok_actions=["policies/ok", "ftp://x"]), "alarm.ok_actions[1]"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(), insufficient_data_actions=["http://"]), "alarm.insufficient_data_actions[0]"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(), alarm_actions=["policies/p"] * 11), "alarm.alarm_actions"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(), ok_actions=["https://x.example/" + "p" * 3_000_000]), "alarm.ok_actions[0]"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(dimensions={f"d{n}": "v" for n in range(31)})), "alarm.threshold_rule.dimensions"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(), description="d" * 3_000_000), "alarm.description"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(evaluation_periods=3), datapoints_to_alarm=4), "alarm.datapoints_to_alarm"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(), datapoints_to_alarm=2), "alarm.datapoints_to_alarm"),  # 0 periods: 1
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(), datapoints_to_alarm=-1), "alarm.datapoints_to_alarm"),
        ("a", alarm_pb2.Alarm(threshold_rule=_rule(), treat_missing_data=42), "alarm.treat_missing_data"),  # type: ignore[arg-type]
    ],
)
def test_create_rejects_bad_fields_naming_the_field(mesh, alarm_id, alarm, field):
    error = _failure(lambda: mesh.alarms.CreateAlarm(alarm_pb2.CreateAlarmRequest(alarm_id=alarm_id, alarm=alarm), timeout=5))
    assert error.code() == INVALID
    assert field in [v.field for v in field_violations(error)]
    assert field in error.details()


@pytest.mark.parametrize(
    ("columns", "fields"),
    [
        ({"metrics": ["cpu", ""]}, ["metrics[1]"]),
        ({"minimums": [1.0, 5.0]}, ["minimums[1]"]),
        ({"maximums": [1.0, math.nan]}, ["minimums[1]"]),
        ({"maximums": [1.0]}, ["maximums"]),
        ({"dimensions": ["{}"]}, ["dimensions"]),
        ({"dimensions": ["{}", "group=web"]}, ["dimensions[1]"]),
        ({"series_ids": [1]}, ["series_ids"]),
    ],
)
def test_notify_samples_names_the_column_that_breaks_a_rule(mesh, columns, fields):
    request = {"metrics": ["cpu", "mem"], "dimensions": ['{"group":"web"}', "{}"], "minimums": [1.0, 2.0], "maximums": [1.0, 3.0],
               "series_ids": [1, 2], "catalogue": "bad-requests", **columns}
    error = _failure(lambda: mesh.feed.NotifySamples(sample_feed_pb2.NotifySamplesRequest(**request), timeout=5))
    assert error.code() == INVALID
    assert [v.field for v in field_violations(error)] == fields


def test_samples_that_cannot_move_the_alarm_are_left_to_the_sweep(mesh):
    mesh.create()
    mesh.metrics.values["cpu_util"] = [10.0]
    mesh.notify()
    wait_for(lambda: mesh.get().state == OK)
    mesh.settle()  # the evaluations CreateAlarm and the first notification queued are over
    asked = len(mesh.metrics.requests)
    assert mesh.notify(values=(20.0, 20.0), group="web") == 1
    mesh.settle()
    assert len(mesh.metrics.requests) == asked
    mesh.metrics.values["cpu_util"] = [95.0]
    mesh.notify(values=(20.0, 90.0), group="web")
    wait_for(lambda: mesh.get().state == ALARM)


def test_an_action_waiting_for_its_retry_runs_after_a_restart_with_the_same_request_id(sqlite_url):
    with mesh_with(sqlite_url, alarm_action_backoff=60) as before:
        before.policy.failures = [grpc.StatusCode.INTERNAL] * 5
        before.create()
        before.metrics.values["cpu_util"] = [95.0]
        before.notify()
        wait_for(lambda: before.actions(1))
        first_request_id = before.policy.requests[0].request_id
    with mesh_with(sqlite_url) as after:
        actions = wait_for(lambda: after.actions(2))
        assert sorted((e.attempt, e.action_succeeded) for e in actions) == [(1, False), (2, True)]
        assert [r.request_id for r in after.policy.requests] == [first_request_id]
        assert after.policy.requests[0].cause.startswith("alarms/high-cpu entered ALARM")


def test_notify_samples_queues_only_the_alarms_the_values_may_move_out_of_their_state(mesh):
    mesh.create()  # cpu_util{group=web} average > 80
    mesh.settle()  # its first evaluation done: it cannot undo the state set next
    mesh.alarms.SetAlarmState(alarm_pb2.SetAlarmStateRequest(name="alarms/high-cpu", state=OK), timeout=5)
    request = sample_feed_pb2.NotifySamplesRequest(
        metrics=["cpu_util"], dimensions=['{"group":"web"}'], minimums=[10.0], maximums=[80.0], series_ids=[1], catalogue="metrics"
    )
    quiet = mesh.feed.NotifySamples(request, timeout=5)
    assert (quiet.matched_alarms, quiet.queued_alarms) == (1, 0)
    request.maximums[0] = 80.5
    loud = mesh.feed.NotifySamples(request, timeout=5)
    assert (loud.matched_alarms, loud.queued_alarms) == (1, 1)


def test_m_of_n_and_missing_data_settings_are_kept_and_judge_the_alarm(sqlite_url):
    with mesh_with(sqlite_url, alarm_sweep_interval=0.2) as mesh:
        created = mesh.create(
            evaluation_periods=3, datapoints_to_alarm=2, treat_missing_data=alarm_pb2.TREAT_MISSING_DATA_BREACHING
        )
        assert (created.datapoints_to_alarm, created.treat_missing_data) == (2, alarm_pb2.TREAT_MISSING_DATA_BREACHING)
        # No datapoints at all: the three missing periods count as breaching.
        wait_for(lambda: mesh.get().state == ALARM)
        assert "3 missing periods counted as breaching" in mesh.get().state_reason
        mesh.metrics.values["cpu_util"] = [50.0, 50.0, 50.0]
        wait_for(lambda: mesh.get().state == OK)


def test_an_update_that_leaves_datapoints_to_alarm_above_evaluation_periods_is_invalid(mesh):
    mesh.create(evaluation_periods=3, datapoints_to_alarm=3)
    change = alarm_pb2.Alarm(name="alarms/high-cpu", threshold_rule=alarm_pb2.ThresholdRule(evaluation_periods=2))
    mask = field_mask_pb2.FieldMask(paths=["threshold_rule.evaluation_periods"])
    error = _failure(lambda: mesh.alarms.UpdateAlarm(alarm_pb2.UpdateAlarmRequest(alarm=change, update_mask=mask), timeout=5))
    assert error.code() == INVALID and [v.field for v in field_violations(error)] == ["alarm.datapoints_to_alarm"]
    cleared = alarm_pb2.Alarm(name="alarms/high-cpu")
    mask = field_mask_pb2.FieldMask(paths=["datapoints_to_alarm", "treat_missing_data"])
    updated = mesh.alarms.UpdateAlarm(alarm_pb2.UpdateAlarmRequest(alarm=cleared, update_mask=mask), timeout=5).alarm
    assert (updated.datapoints_to_alarm, updated.treat_missing_data) == (0, alarm_pb2.TREAT_MISSING_DATA_UNSPECIFIED)
