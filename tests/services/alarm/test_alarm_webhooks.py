"""Webhook actions through a real alarm service: the secret that signs them."""

from __future__ import annotations

import re

from google.protobuf import field_mask_pb2

from autoscale.v1 import alarm_pb2
from tests.services.alarm.test_alarm_service import mesh_with


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
