"""UpdateAlarm's mask: whole fields or one field of the rule, copied onto the stored alarm."""

from __future__ import annotations

from autoscale.timeutil import to_duration
from autoscale.v1 import alarm_pb2
from autoscale.validation import Violations
from services.alarm.update import NEW_SECRET_PATH, UPDATABLE_FIELDS, mask_paths, merged

STORED = alarm_pb2.Alarm(
    name="alarms/a", description="old",
    threshold_rule=alarm_pb2.ThresholdRule(metric="cpu", dimensions={"group": "web"}, threshold=80, period=to_duration(60)),
    alarm_actions=["policies/up"],
)


def test_an_empty_mask_names_every_updatable_field():
    assert mask_paths(Violations(), []) == list(UPDATABLE_FIELDS)


def test_only_a_mask_naming_the_webhook_secret_asks_for_a_new_one_and_nothing_is_copied_for_it():
    assert NEW_SECRET_PATH not in mask_paths(Violations(), [])
    assert mask_paths(Violations(), ["webhook_secret"]) == [NEW_SECRET_PATH]
    assert merged(STORED, alarm_pb2.Alarm(webhook_secret="chosen by the caller"), [NEW_SECRET_PATH]) == STORED


def test_output_only_paths_are_accepted_and_ignored_and_unknown_ones_are_violations():
    violations = Violations()
    assert mask_paths(violations, ["state", "threshold_rule.threshold", "threshold_rule.colour"]) == ["threshold_rule.threshold"]
    assert [v.field for v in violations.items] == ["update_mask"]


def test_a_rule_field_path_replaces_only_that_field_of_the_rule():
    request = alarm_pb2.Alarm(threshold_rule=alarm_pb2.ThresholdRule(dimensions={"group": "db"}, threshold=1))
    result = merged(STORED, request, ["threshold_rule.dimensions"])
    assert dict(result.threshold_rule.dimensions) == {"group": "db"}
    assert (result.threshold_rule.threshold, result.threshold_rule.metric) == (80, "cpu")


def test_a_repeated_field_is_replaced_not_appended():
    result = merged(STORED, alarm_pb2.Alarm(alarm_actions=["policies/other"]), ["alarm_actions"])
    assert list(result.alarm_actions) == ["policies/other"]


def test_a_message_field_missing_from_the_request_is_cleared():
    result = merged(STORED, alarm_pb2.Alarm(), ["threshold_rule", "description"])
    assert not result.HasField("threshold_rule") and result.description == ""
